package marian

import (
	"bytes"
	"encoding/binary"
	"encoding/json"
	"math"
	"os"
	"path/filepath"
	"reflect"
	"slices"
	"sort"
	"strings"
	"testing"

	"github.com/deen-mt/deen/modelfile"
)

// oracleDir is the reference checkpoint (random weights, HF layout).
const oracleDir = "../testdata/oracle/tiny-marian-A"

func TestLoadBothFormatsAgree(t *testing.T) {
	st, err := load(oracleDir, fileSafetensors)
	if err != nil {
		t.Fatal(err)
	}
	pt, err := load(oracleDir, fileTorch)
	if err != nil {
		t.Fatal(err)
	}
	if !reflect.DeepEqual(st.Config, pt.Config) {
		t.Fatalf("configs differ:\n%+v\n%+v", st.Config, pt.Config)
	}
	if len(st.Tensors) != len(pt.Tensors) {
		t.Fatalf("%d vs %d tensors", len(st.Tensors), len(pt.Tensors))
	}
	for name, a := range st.Tensors {
		b := pt.Tensors[name]
		if b == nil || !slices.Equal(a.Shape, b.Shape) || !equalData(a.Data, b.Data) {
			t.Fatalf("tensor %s differs between safetensors and pytorch_model.bin", name)
		}
	}
	for _, blob := range []string{modelfile.BlobSourceSPM, modelfile.BlobTargetSPM, modelfile.BlobVocab} {
		want, _ := os.ReadFile(filepath.Join(oracleDir, blob))
		if len(want) == 0 || !bytes.Equal(st.Blobs[blob], want) {
			t.Errorf("blob %s not stored verbatim", blob)
		}
	}
}

// readJSON decodes a JSON file of the oracle.
func readJSON(t *testing.T, path string, v any) {
	t.Helper()
	b, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	if err := json.Unmarshal(b, v); err != nil {
		t.Fatal(err)
	}
}

// TestConfigValues compares the mapped config with the checkpoint's own
// JSON files and the oracle's metadata.
func TestConfigValues(t *testing.T) {
	m, err := Load(oracleDir)
	if err != nil {
		t.Fatal(err)
	}
	var hc map[string]any
	var gc map[string]any
	var vocab map[string]int
	var refs struct {
		Meta struct {
			EOS   int `json:"eos_token_id"`
			Pad   int `json:"pad_token_id"`
			Start int `json:"decoder_start_token_id"`
		}
	}
	readJSON(t, filepath.Join(oracleDir, "config.json"), &hc)
	readJSON(t, filepath.Join(oracleDir, "generation_config.json"), &gc)
	readJSON(t, filepath.Join(oracleDir, "vocab.json"), &vocab)
	readJSON(t, "../testdata/oracle/refs_A.json", &refs)
	c := m.Config
	num := func(v any) int { return int(v.(float64)) }
	act := map[string]string{"swish": "swish", "silu": "swish", "relu": "relu", "gelu": "gelu"}[hc["activation_function"].(string)]
	checks := []struct {
		name      string
		got, want any
	}{
		{"vocab", c.VocabSize, num(hc["vocab_size"])},
		{"d", c.DModel, num(hc["d_model"])},
		{"enc layers", c.EncoderLayers, num(hc["encoder_layers"])},
		{"dec layers", c.DecoderLayers, num(hc["decoder_layers"])},
		{"enc heads", c.EncoderHeads, num(hc["encoder_attention_heads"])},
		{"dec heads", c.DecoderHeads, num(hc["decoder_attention_heads"])},
		{"enc ffn", c.EncoderFFN, num(hc["encoder_ffn_dim"])},
		{"dec ffn", c.DecoderFFN, num(hc["decoder_ffn_dim"])},
		{"activation", c.Activation, act},
		{"scale", c.ScaleEmbedding, hc["scale_embedding"].(bool)},
		{"max positions", c.MaxPositions, num(hc["max_position_embeddings"])},
		{"positions", c.Positions, modelfile.PositionsMarian},
		{"prenorm", c.PreNorm, false},
		{"final ln", c.FinalLayerNorm, false},
		{"eps", c.LayerNormEps, float32(1e-5)},
		{"pad", c.PadID, refs.Meta.Pad},
		{"eos", c.EOSID, refs.Meta.EOS},
		{"start", c.DecoderStartID, refs.Meta.Start},
		{"unk", c.UnkID, vocab["<unk>"]},
		{"beams", c.Generation.NumBeams, num(gc["num_beams"])},
		{"max length", c.Generation.MaxLength, num(gc["max_length"])},
		{"length penalty", c.Generation.LengthPenalty, float32(1)},
		{"forced eos", c.Generation.ForcedEOS, num(gc["forced_eos_token_id"]) == refs.Meta.EOS},
		{"bad words", c.Generation.BadWordsIDs, []int{num(gc["bad_words_ids"].([]any)[0].([]any)[0])}},
	}
	for _, ch := range checks {
		if !reflect.DeepEqual(ch.got, ch.want) {
			t.Errorf("%s = %v, want %v", ch.name, ch.got, ch.want)
		}
	}
	if _, ok := m.Tensors["final_logits_bias"]; !ok {
		t.Error("final_logits_bias not imported")
	}
}

// TestEmbeddingTrace checks the imported embedding and the sinusoid
// against PyTorch's encoder input: embed[ids]·sqrt(d) + positions.
func TestEmbeddingTrace(t *testing.T) {
	m, err := Load(oracleDir)
	if err != nil {
		t.Fatal(err)
	}
	var refs struct {
		Sentences []struct {
			InputIDs []int                  `json:"input_ids"`
			Trace    map[string][][]float32 `json:"trace"`
		}
	}
	readJSON(t, "../testdata/oracle/refs_A.json", &refs)
	s := refs.Sentences[1]
	want := s.Trace["encoder.embeddings"]
	if len(want) != len(s.InputIDs) {
		t.Fatal("trace missing from refs_A.json")
	}
	c := m.Config
	scale := float32(1)
	if c.ScaleEmbedding {
		scale = float32(math.Sqrt(float64(c.DModel)))
	}
	emb := m.Tensors["embed.weight"].Data
	pos := sinusoidMarian(len(want), c.DModel)
	var worst float64
	for p, id := range s.InputIDs {
		for i := 0; i < c.DModel; i++ {
			got := emb[id*c.DModel+i]*scale + pos[p*c.DModel+i]
			worst = math.Max(worst, math.Abs(float64(got-want[p][i])))
		}
	}
	if worst > 2e-4 {
		t.Fatalf("embedding+positions differ from PyTorch by %g", worst)
	}
}

// copyOracle copies the checkpoint into a temporary directory.
func copyOracle(t *testing.T) string {
	t.Helper()
	dir := t.TempDir()
	entries, err := os.ReadDir(oracleDir)
	if err != nil {
		t.Fatal(err)
	}
	for _, e := range entries {
		b, err := os.ReadFile(filepath.Join(oracleDir, e.Name()))
		if err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(filepath.Join(dir, e.Name()), b, 0o644); err != nil {
			t.Fatal(err)
		}
	}
	return dir
}

// writeSafetensors writes tensors in the safetensors layout with the given
// dtype (F32, F16 or BF16 by truncation).
func writeSafetensors(t *testing.T, path string, tensors map[string]*hfTensor, dtype string) {
	t.Helper()
	names := make([]string, 0, len(tensors))
	for n := range tensors {
		names = append(names, n)
	}
	sort.Strings(names)
	header := map[string]any{"__metadata__": map[string]string{"format": "pt"}}
	var data []byte
	for _, n := range names {
		start := len(data)
		for _, v := range tensors[n].data {
			switch dtype {
			case "F32":
				data = binary.LittleEndian.AppendUint32(data, math.Float32bits(v))
			case "F16":
				h, _ := modelfile.Float32ToHalf(v)
				data = binary.LittleEndian.AppendUint16(data, h)
			case "BF16":
				data = binary.LittleEndian.AppendUint16(data, uint16(math.Float32bits(v)>>16))
			}
		}
		header[n] = map[string]any{"dtype": dtype, "shape": tensors[n].shape, "data_offsets": []int{start, len(data)}}
	}
	js, _ := json.Marshal(header)
	for len(js)%8 != 0 {
		js = append(js, ' ')
	}
	out := binary.LittleEndian.AppendUint64(nil, uint64(len(js)))
	out = append(append(out, js...), data...)
	if err := os.WriteFile(path, out, 0o644); err != nil {
		t.Fatal(err)
	}
}

// oracleTensors reads the oracle's safetensors file.
func oracleTensors(t *testing.T) map[string]*hfTensor {
	t.Helper()
	ts, err := readWeights(filepath.Join(oracleDir, fileSafetensors))
	if err != nil {
		t.Fatal(err)
	}
	return ts
}

// TestAliasKeySets loads checkpoints with other key sets than the oracle's:
// each must give the same model.
func TestAliasKeySets(t *testing.T) {
	want, err := Load(oracleDir)
	if err != nil {
		t.Fatal(err)
	}
	c := want.Config
	shared := oracleTensors(t)["model.shared.weight"]
	table := &hfTensor{shape: []int{c.MaxPositions, c.DModel}, data: sinusoidMarian(c.MaxPositions, c.DModel)}
	cases := map[string]func(ts map[string]*hfTensor){
		"encoder embed_tokens only": func(ts map[string]*hfTensor) {
			delete(ts, "model.shared.weight")
			ts["model.encoder.embed_tokens.weight"] = shared
		},
		"all aliases + positions, no bias": func(ts map[string]*hfTensor) {
			for _, a := range embedAliases {
				ts[a] = shared
			}
			for _, p := range positionNames {
				ts[p] = table
			}
			delete(ts, "final_logits_bias")
		},
		"lm_head only, no model. prefix": func(ts map[string]*hfTensor) {
			for k, v := range ts {
				if strings.HasPrefix(k, "model.") {
					delete(ts, k)
					ts[strings.TrimPrefix(k, "model.")] = v
				}
			}
			delete(ts, "shared.weight")
			ts["lm_head.weight"] = shared
		},
	}
	for name, edit := range cases {
		dir := copyOracle(t)
		ts := oracleTensors(t)
		edit(ts)
		writeSafetensors(t, filepath.Join(dir, fileSafetensors), ts, "F32")
		got, err := Load(dir)
		if err != nil {
			t.Errorf("%s: %v", name, err)
			continue
		}
		for tn, wt := range want.Tensors {
			gt := got.Tensors[tn]
			if tn == "final_logits_bias" && gt == nil && name == "all aliases + positions, no bias" {
				continue
			}
			if gt == nil || !equalData(gt.Data, wt.Data) {
				t.Errorf("%s: tensor %s differs", name, tn)
			}
		}
	}
}

// TestHalfPrecisionCheckpoints loads F16 and BF16 safetensors.
func TestHalfPrecisionCheckpoints(t *testing.T) {
	want, err := Load(oracleDir)
	if err != nil {
		t.Fatal(err)
	}
	for dtype, relTol := range map[string]float64{"F16": 1.0 / 2048, "BF16": 1.0 / 128} {
		dir := copyOracle(t)
		writeSafetensors(t, filepath.Join(dir, fileSafetensors), oracleTensors(t), dtype)
		got, err := Load(dir)
		if err != nil {
			t.Fatalf("%s: %v", dtype, err)
		}
		for name, wt := range want.Tensors {
			for i, w := range wt.Data {
				g := got.Tensors[name].Data[i]
				if math.Abs(float64(g-w)) > math.Abs(float64(w))*relTol+1e-7 {
					t.Fatalf("%s: %s[%d] = %g, want %g", dtype, name, i, g, w)
				}
			}
		}
	}
}

// TestLoadErrors breaks copies of the checkpoint in one way each and
// checks the error names the problem.
func TestLoadErrors(t *testing.T) {
	editConfig := func(edit func(map[string]any)) func(t *testing.T, dir string) {
		return func(t *testing.T, dir string) {
			var c map[string]any
			readJSON(t, filepath.Join(dir, fileConfig), &c)
			edit(c)
			b, _ := json.Marshal(c)
			os.WriteFile(filepath.Join(dir, fileConfig), b, 0o644)
		}
	}
	editTensors := func(edit func(map[string]*hfTensor)) func(t *testing.T, dir string) {
		return func(t *testing.T, dir string) {
			ts := oracleTensors(t)
			edit(ts)
			writeSafetensors(t, filepath.Join(dir, fileSafetensors), ts, "F32")
		}
	}
	remove := func(names ...string) func(t *testing.T, dir string) {
		return func(t *testing.T, dir string) {
			for _, n := range names {
				os.Remove(filepath.Join(dir, n))
			}
		}
	}
	cases := []struct {
		name    string
		breakIt func(t *testing.T, dir string)
		want    string
	}{
		{"no config", remove(fileConfig), "has no config.json"},
		{"no source.spm", remove("source.spm"), "has no source.spm"},
		{"no vocab", remove("vocab.json"), "has no vocab.json"},
		{"no weights", remove(fileSafetensors, fileTorch), "neither model.safetensors nor pytorch_model.bin"},
		{"bad json", func(t *testing.T, dir string) { os.WriteFile(filepath.Join(dir, fileConfig), []byte("{"), 0o644) }, "config.json"},
		{"model type", editConfig(func(c map[string]any) { c["model_type"] = "bart" }), `model_type "bart" is not "marian"`},
		{"architecture", editConfig(func(c map[string]any) { c["architectures"] = []string{"BartForConditionalGeneration"} }), `architecture "BartForConditionalGeneration"`},
		{"gelu_new", editConfig(func(c map[string]any) { c["activation_function"] = "gelu_new" }), `activation_function "gelu_new" is not supported`},
		{"no d_model", editConfig(func(c map[string]any) { delete(c, "d_model") }), "d_model is missing"},
		{"heads", editConfig(func(c map[string]any) { c["encoder_attention_heads"] = 5 }), "not divisible by encoder_heads 5"},
		{"ffn vs weights", editConfig(func(c map[string]any) { c["encoder_ffn_dim"] = 96 }), "model.encoder.layers.0.fc1.weight has shape [128 64], config.json implies [96 64]"},
		{"separate vocab", editConfig(func(c map[string]any) { c["decoder_vocab_size"] = 100 }), "separate vocabularies"},
		{"unk", func(t *testing.T, dir string) {
			os.WriteFile(filepath.Join(dir, "vocab.json"), []byte(`{"</s>": 0}`), 0o644)
		}, `no "<unk>"`},
		{"missing tensor", editTensors(func(ts map[string]*hfTensor) { delete(ts, "model.decoder.layers.1.fc1.bias") }), "missing model.decoder.layers.1.fc1.bias [128]"},
		{"no embedding", editTensors(func(ts map[string]*hfTensor) { delete(ts, "model.shared.weight") }), "no embedding: none of model.shared.weight"},
		{"unknown tensor", editTensors(func(ts map[string]*hfTensor) {
			ts["model.encoder.layernorm_embedding.weight"] = &hfTensor{shape: []int{64}, data: make([]float32, 64)}
		}), "unexpected tensor model.encoder.layernorm_embedding.weight"},
		{"untied", editTensors(func(ts map[string]*hfTensor) {
			s := ts["model.shared.weight"]
			other := &hfTensor{shape: s.shape, data: append([]float32(nil), s.data...)}
			other.data[7] += 1
			ts["lm_head.weight"] = other
		}), "lm_head.weight differs from model.shared.weight"},
		{"learned positions", editTensors(func(ts map[string]*hfTensor) {
			ts["model.decoder.embed_positions.weight"] = &hfTensor{shape: []int{256, 64}, data: make([]float32, 256*64)}
		}), "is not Marian's sinusoid"},
		{"truncated safetensors", func(t *testing.T, dir string) {
			p := filepath.Join(dir, fileSafetensors)
			b, _ := os.ReadFile(p)
			os.WriteFile(p, b[:len(b)-100], 0o644)
		}, "disagree with each other or the file size"},
		{"truncated bin", func(t *testing.T, dir string) {
			os.Remove(filepath.Join(dir, fileSafetensors))
			p := filepath.Join(dir, fileTorch)
			b, _ := os.ReadFile(p)
			os.WriteFile(p, b[:len(b)/2], 0o644)
		}, "pytorch_model.bin: not a zip archive"},
	}
	for _, tc := range cases {
		dir := copyOracle(t)
		tc.breakIt(t, dir)
		_, err := Load(dir)
		if err == nil || !strings.Contains(err.Error(), tc.want) {
			t.Errorf("%s: got %v\nwant error containing %q", tc.name, err, tc.want)
		}
	}
	if _, err := Load(filepath.Join(oracleDir, "config.json")); err == nil || !strings.Contains(err.Error(), "is not a directory") {
		t.Errorf("file as dir: %v", err)
	}
	if _, err := Load(filepath.Join(t.TempDir(), "absent")); err == nil || !strings.Contains(err.Error(), "config.json") {
		t.Errorf("absent dir: %v", err)
	}
}

func TestTensorView(t *testing.T) {
	st := &storageRef{dtype: "F32", key: "0", numel: 12}
	storage := make([]float32, 12)
	for i := range storage {
		storage[i] = float32(i)
	}
	v, err := tensorView(&torchTensor{storage: st, offset: 2, size: []int64{2, 5}, stride: []int64{5, 1}}, storage)
	if err != nil || v.data[0] != 2 || len(v.data) != 10 {
		t.Fatalf("view: %v %v", v, err)
	}
	if _, err := tensorView(&torchTensor{storage: st, size: []int64{3, 4}, stride: []int64{1, 3}}, storage); err == nil || !strings.Contains(err.Error(), "not contiguous") {
		t.Errorf("transposed: %v", err)
	}
	if _, err := tensorView(&torchTensor{storage: st, offset: 3, size: []int64{3, 4}, stride: []int64{4, 1}}, storage); err == nil || !strings.Contains(err.Error(), "outside its storage") {
		t.Errorf("overrun: %v", err)
	}
	if _, err := tensorView(&torchTensor{storage: st, size: []int64{1, 12}, stride: []int64{99, 1}}, storage); err != nil {
		t.Errorf("size-1 dims may have any stride: %v", err)
	}
}

// TestTorchSavedHalfCheckpoint loads tiny-B (testdata/marian/tiny-B/make.py):
// another shape, relu, no generation_config.json, float16 written by
// torch.save itself, embedding only under embed_tokens/lm_head (one storage),
// stored position tables, no final_logits_bias. Its tensors must equal the
// float32 safetensors copy written beside it.
func TestTorchSavedHalfCheckpoint(t *testing.T) {
	const dir = "../testdata/marian/tiny-B"
	got, err := Load(dir)
	if err != nil {
		t.Fatal(err)
	}
	want, err := load(dir, "expected_f32.safetensors")
	if err != nil {
		t.Fatal(err)
	}
	if len(got.Tensors) != len(want.Tensors) {
		t.Fatalf("%d tensors, want %d", len(got.Tensors), len(want.Tensors))
	}
	for name, w := range want.Tensors {
		if g := got.Tensors[name]; g == nil || !slices.Equal(g.Shape, w.Shape) || !equalData(g.Data, w.Data) {
			t.Fatalf("tensor %s differs between the torch.save f16 file and its f32 copy", name)
		}
	}
	var hc map[string]any
	readJSON(t, filepath.Join(dir, "config.json"), &hc)
	c := got.Config
	if c.Activation != "relu" || c.ScaleEmbedding || c.EncoderLayers != int(hc["encoder_layers"].(float64)) ||
		c.Generation.NumBeams != int(hc["num_beams"].(float64)) || c.Generation.MaxLength != int(hc["max_length"].(float64)) ||
		!c.Generation.ForcedEOS || c.PadID != int(hc["pad_token_id"].(float64)) {
		t.Errorf("config %+v does not match %v", c, hc)
	}
	if _, ok := got.Tensors["final_logits_bias"]; ok {
		t.Error("final_logits_bias appeared from nowhere")
	}
}
