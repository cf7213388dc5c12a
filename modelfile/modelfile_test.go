package modelfile

import (
	"bytes"
	"encoding/binary"
	"encoding/json"
	"errors"
	"hash/crc32"
	"io"
	"math"
	"math/rand/v2"
	"os"
	"path/filepath"
	"runtime"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/klauspost/compress/zstd"
)

// tinyConfig is a small valid config for tests.
func tinyConfig() Config {
	return Config{
		Arch: "transformer", VocabSize: 11, DModel: 8,
		EncoderLayers: 1, DecoderLayers: 2, EncoderHeads: 2, DecoderHeads: 4,
		EncoderFFN: 12, DecoderFFN: 6, Activation: "swish",
		ScaleEmbedding: true, Positions: PositionsMarian, MaxPositions: 16, LayerNormEps: 1e-5,
		PadID: 10, EOSID: 0, UnkID: 1, DecoderStartID: 10,
		Generation: Generation{NumBeams: 4, LengthPenalty: 1, MaxLength: 20, ForcedEOS: true, BadWordsIDs: []int{10}},
	}
}

// randomModel fills every tensor c implies with normal random values
// (one row of the embedding zero, to exercise zero int8 scales).
func randomModel(c Config, seed uint64) *Model {
	rng := rand.New(rand.NewPCG(seed, 1))
	m := &Model{Config: c, Tensors: map[string]*Tensor{}, Blobs: map[string][]byte{
		BlobSourceSPM: []byte("source model bytes"),
		BlobTargetSPM: {},
		BlobVocab:     []byte(`{"</s>": 0}`),
	}}
	for _, s := range c.Tensors() {
		n, _ := numElements(s.Shape)
		data := make([]float32, n)
		for i := range data {
			data[i] = float32(rng.NormFloat64()) * 0.5
		}
		m.Tensors[s.Name] = &Tensor{Name: s.Name, Shape: s.Shape, Data: data}
	}
	clear(m.Tensors["embed.weight"].Data[:c.DModel])
	return m
}

// encode writes m with opt, failing the test on error.
func encode(t testing.TB, m *Model, opt WriteOptions) []byte {
	t.Helper()
	var buf bytes.Buffer
	if err := Write(&buf, m, opt); err != nil {
		t.Fatal(err)
	}
	return buf.Bytes()
}

// sameModel reports the first difference between two models, comparing
// tensor values with tol(want, got) (nil for bit equality).
func sameModel(t *testing.T, want, got *Model, tol func(name string, row int, w, g float32) bool) {
	t.Helper()
	wc, _ := json.Marshal(want.Config)
	gc, _ := json.Marshal(got.Config)
	if !bytes.Equal(wc, gc) {
		t.Fatalf("config differs:\n got %s\nwant %s", gc, wc)
	}
	if len(want.Blobs) != len(got.Blobs) {
		t.Fatalf("%d blobs, want %d", len(got.Blobs), len(want.Blobs))
	}
	for k, v := range want.Blobs {
		if !bytes.Equal(got.Blobs[k], v) {
			t.Fatalf("blob %q differs", k)
		}
	}
	if len(want.Tensors) != len(got.Tensors) {
		t.Fatalf("%d tensors, want %d", len(got.Tensors), len(want.Tensors))
	}
	for name, w := range want.Tensors {
		g := got.Tensors[name]
		if g == nil || !slices.Equal(g.Shape, w.Shape) || len(g.Data) != len(w.Data) {
			t.Fatalf("tensor %q missing or wrong shape", name)
		}
		cols := w.Shape[len(w.Shape)-1]
		for i := range w.Data {
			ok := math.Float32bits(w.Data[i]) == math.Float32bits(g.Data[i])
			if tol != nil {
				ok = tol(name, i/cols, w.Data[i], g.Data[i])
			}
			if !ok {
				t.Fatalf("tensor %q[%d] = %g, want %g", name, i, g.Data[i], w.Data[i])
			}
		}
	}
}

func TestRoundTripF32(t *testing.T) {
	for _, c := range []Config{tinyConfig(), func() Config {
		c := tinyConfig()
		c.Positions, c.FinalLayerNorm, c.PreNorm, c.Activation = PositionsLearned, true, true, "gelu"
		return c
	}()} {
		m := randomModel(c, 1)
		got, err := Read(bytes.NewReader(encode(t, m, WriteOptions{})))
		if err != nil {
			t.Fatal(err)
		}
		sameModel(t, m, got, nil)
	}
}

// TestRoundTripLarge uses an embedding larger than the reader's first
// allocation, so the tensor slice has to grow as data arrives.
func TestRoundTripLarge(t *testing.T) {
	c := tinyConfig()
	c.VocabSize, c.DModel = allocFloor/64+1000, 64
	m := randomModel(c, 13)
	for i, data := 0, m.Tensors["embed.weight"].Data; i < len(data); i++ {
		data[i] = float32(i%1001) / 1000
	}
	file := encode(t, m, WriteOptions{ZstdLevel: 1})
	// With the input size known the embedding is allocated once; through a
	// plain io.Reader it grows as data arrives. Both give the same model.
	for _, r := range []io.Reader{bytes.NewReader(file), io.MultiReader(bytes.NewReader(file))} {
		got, err := Read(r)
		if err != nil {
			t.Fatal(err)
		}
		sameModel(t, m, got, nil)
	}
}

func TestRoundTripF16(t *testing.T) {
	m := randomModel(tinyConfig(), 2)
	got, err := Read(bytes.NewReader(encode(t, m, WriteOptions{DType: F16, ZstdLevel: 19})))
	if err != nil {
		t.Fatal(err)
	}
	// Round to nearest: relative error at most 2^-11 for normal halves,
	// absolute error at most 2^-25 in the subnormal range.
	sameModel(t, m, got, func(_ string, _ int, w, g float32) bool {
		return math.Abs(float64(w-g)) <= math.Max(math.Abs(float64(w))/2048, 1.0/(1<<25))
	})
}

func TestRoundTripInt8(t *testing.T) {
	m := randomModel(tinyConfig(), 3)
	got, err := Read(bytes.NewReader(encode(t, m, WriteOptions{DType: Int8})))
	if err != nil {
		t.Fatal(err)
	}
	sameModel(t, m, got, func(name string, row int, w, g float32) bool {
		tt := m.Tensors[name]
		if len(tt.Shape) != 2 {
			return w == g // stored as f32
		}
		cols := tt.Shape[1]
		var scale float64
		for _, v := range tt.Data[row*cols : (row+1)*cols] {
			scale = math.Max(scale, math.Abs(float64(v))/127)
		}
		return math.Abs(float64(w-g)) <= scale*0.5001
	})
	if row := got.Tensors["embed.weight"].Data[:8]; row[0] != 0 || row[7] != 0 {
		t.Errorf("zero row came back as %v", row)
	}
}

func TestHalfExhaustive(t *testing.T) {
	for h := 0; h < 1<<16; h++ {
		f := HalfToFloat32(uint16(h))
		back, ok := Float32ToHalf(f)
		if math.IsNaN(float64(f)) {
			if back&0x7c00 != 0x7c00 || back&0x3ff == 0 {
				t.Fatalf("NaN %#04x came back as %#04x", h, back)
			}
			continue
		}
		if !ok || back != uint16(h) {
			t.Fatalf("%#04x → %g → %#04x (ok %v)", h, f, back, ok)
		}
		// The midpoint to the next half (same sign, larger magnitude) rounds
		// to whichever of the two is even; just above it rounds up.
		if h&0x7fff >= 0x7bff {
			continue
		}
		next := HalfToFloat32(uint16(h + 1))
		mid := float32((float64(f) + float64(next)) / 2)
		want := uint16(h)
		if h&1 == 1 {
			want = uint16(h + 1)
		}
		if got, _ := Float32ToHalf(mid); got != want {
			t.Fatalf("midpoint of %#04x,%#04x (%g) → %#04x, want %#04x", h, h+1, mid, got, want)
		}
		above := math.Nextafter32(mid, next)
		if got, _ := Float32ToHalf(above); got != uint16(h+1) {
			t.Fatalf("just above midpoint of %#04x → %#04x", h, got)
		}
	}
	if _, ok := Float32ToHalf(65520); ok { // rounds past 65504
		t.Error("65520 should overflow float16")
	}
	if h, ok := Float32ToHalf(65519); !ok || h != 0x7bff {
		t.Errorf("65519 → %#04x %v, want 0x7bff", h, ok)
	}
	if h, _ := Float32ToHalf(1e-30); h != 0 {
		t.Errorf("1e-30 → %#04x, want 0", h)
	}
	if BFloat16ToFloat32(0x3f80) != 1 || BFloat16ToFloat32(0xc040) != -3 {
		t.Error("bfloat16 conversion")
	}
}

func TestWriteFileAtomic(t *testing.T) {
	dir := t.TempDir()
	path := filepath.Join(dir, "m.deen")
	m := randomModel(tinyConfig(), 4)
	if err := os.WriteFile(path, []byte("old"), 0o644); err != nil {
		t.Fatal(err)
	}
	if err := WriteFile(path, m, WriteOptions{DType: F16}); err != nil {
		t.Fatal(err)
	}
	got, err := ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	if len(got.Tensors) != len(m.Tensors) {
		t.Fatal("tensors lost")
	}
	// A failing write leaves the old file and no temporary behind.
	delete(m.Tensors, "enc.0.fc1.bias")
	if err := WriteFile(path, m, WriteOptions{}); err == nil || !strings.Contains(err.Error(), "enc.0.fc1.bias") {
		t.Fatalf("write of incomplete model: %v", err)
	}
	entries, _ := os.ReadDir(dir)
	if len(entries) != 1 {
		t.Fatalf("directory holds %d entries after a failed write, want 1", len(entries))
	}
	if _, err := ReadFile(path); err != nil {
		t.Fatalf("old file damaged: %v", err)
	}
}

func TestWriteRejects(t *testing.T) {
	cases := map[string]struct {
		edit func(m *Model)
		opt  WriteOptions
		want string
	}{
		"missing":   {func(m *Model) { delete(m.Tensors, "dec.1.cross.k.weight") }, WriteOptions{}, `missing tensor "dec.1.cross.k.weight"`},
		"unknown":   {func(m *Model) { m.Tensors["extra"] = &Tensor{Name: "extra", Shape: []int{1}, Data: []float32{0}} }, WriteOptions{}, `unknown tensor "extra"`},
		"shape":     {func(m *Model) { m.Tensors["enc.0.fc1.weight"].Shape = []int{8, 12} }, WriteOptions{}, `"enc.0.fc1.weight" has shape [8 12], the config implies [12 8]`},
		"length":    {func(m *Model) { m.Tensors["enc.0.fc1.bias"].Data = nil }, WriteOptions{}, `"enc.0.fc1.bias" has shape [12] but 0 values`},
		"config":    {func(m *Model) { m.Config.EncoderHeads = 3 }, WriteOptions{}, "not divisible by encoder_heads 3"},
		"f16 range": {func(m *Model) { m.Tensors["embed.weight"].Data[5] = 1e6 }, WriteOptions{DType: F16}, "does not fit float16"},
		"int8 nan":  {func(m *Model) { m.Tensors["embed.weight"].Data[9] = float32(math.NaN()) }, WriteOptions{DType: Int8}, "int8 needs finite values"},
		"level":     {func(*Model) {}, WriteOptions{ZstdLevel: 40}, "zstd level 40"},
	}
	for name, tc := range cases {
		m := randomModel(tinyConfig(), 5)
		tc.edit(m)
		err := Write(io.Discard, m, tc.opt)
		if err == nil || !strings.Contains(err.Error(), tc.want) {
			t.Errorf("%s: got %v, want error containing %q", name, err, tc.want)
		}
	}
}

func TestGet(t *testing.T) {
	m := randomModel(tinyConfig(), 6)
	if d, err := m.Get("enc.0.fc1.weight", 12, 8); err != nil || len(d) != 96 {
		t.Fatalf("Get: %v", err)
	}
	if _, err := m.Get("enc.0.fc1.weight", 8, 12); err == nil || !strings.Contains(err.Error(), `"enc.0.fc1.weight" has shape [12 8], want [8 12]`) {
		t.Errorf("shape mismatch: %v", err)
	}
	if _, err := m.Get("nope", 3); err == nil || !strings.Contains(err.Error(), `no tensor "nope" (want shape [3])`) {
		t.Errorf("absent: %v", err)
	}
}

func TestValidateConfig(t *testing.T) {
	if err := tinyConfig().Validate(); err != nil {
		t.Fatal(err)
	}
	cases := map[string]func(c *Config){
		"arch":                 func(c *Config) { c.Arch = "rnn" },
		"vocab_size":           func(c *Config) { c.VocabSize = 0 },
		"d_model = -8":         func(c *Config) { c.DModel = -8 },
		"encoder_layers":       func(c *Config) { c.EncoderLayers = 0 },
		"decoder_layers = 999": func(c *Config) { c.DecoderLayers = 999 },
		"decoder_heads 3":      func(c *Config) { c.DecoderHeads = 3 },
		"encoder_ffn":          func(c *Config) { c.EncoderFFN = 0 },
		"activation \"tanh\"":  func(c *Config) { c.Activation = "tanh" },
		"positions \"rope\"":   func(c *Config) { c.Positions = "rope" },
		"max_positions":        func(c *Config) { c.MaxPositions = 0 },
		"layer_norm_eps":       func(c *Config) { c.LayerNormEps = 0 },
		"pad_id = 11":          func(c *Config) { c.PadID = 11 },
		"unk_id = -1":          func(c *Config) { c.UnkID = -1 },
		"eos_id":               func(c *Config) { c.EOSID = 99 },
		"decoder_start_id":     func(c *Config) { c.DecoderStartID = 12 },
		"num_beams":            func(c *Config) { c.Generation.NumBeams = 0 },
		"max_length":           func(c *Config) { c.Generation.MaxLength = 1 },
		"length_penalty":       func(c *Config) { c.Generation.LengthPenalty = float32(math.Inf(1)) },
		"bad_words_ids":        func(c *Config) { c.Generation.BadWordsIDs = []int{50} },
		"must be even":         func(c *Config) { c.DModel, c.EncoderHeads, c.DecoderHeads = 7, 7, 7 },
	}
	for want, edit := range cases {
		c := tinyConfig()
		edit(&c)
		if err := c.Validate(); err == nil || !strings.Contains(err.Error(), want) {
			t.Errorf("got %v, want error containing %q", err, want)
		}
	}
}

// gptConfig is a small decoder-only language model (arch gpt).
func gptConfig(noBias bool) Config {
	c := tinyConfig()
	c.Arch, c.EncoderLayers, c.EncoderHeads, c.EncoderFFN = ArchGPT, 0, 0, 0
	c.PreNorm, c.FinalLayerNorm, c.Positions, c.ScaleEmbedding, c.Activation = true, true, PositionsLearned, false, "gelu"
	c.NoBias = noBias
	return c
}

// TestGPTConfig checks the tensors of arch gpt (no encoder, no
// cross-attention, learned positions, a final norm; with no_bias no bias
// at all), that such models round-trip through the file, and that the
// combinations the architecture does not have are refused.
func TestGPTConfig(t *testing.T) {
	for _, noBias := range []bool{false, true} {
		c := gptConfig(noBias)
		if err := c.Validate(); err != nil {
			t.Fatal(err)
		}
		var names []string
		for _, s := range c.Tensors() {
			names = append(names, s.Name)
			if strings.HasPrefix(s.Name, "enc.") || strings.Contains(s.Name, "cross") || s.Name == "final_logits_bias" ||
				noBias && strings.HasSuffix(s.Name, ".bias") {
				t.Errorf("no_bias=%v: unexpected tensor %s", noBias, s.Name)
			}
		}
		for _, want := range []string{"embed.weight", "dec.pos.weight", "dec.1.self_ln.weight", "dec.0.self.q.weight", "dec.1.fc2.weight", "dec.ln.weight"} {
			if !slices.Contains(names, want) {
				t.Errorf("no_bias=%v: no tensor %s in %v", noBias, want, names)
			}
		}
		if got := slices.Contains(names, "dec.0.self.q.bias"); got == noBias {
			t.Errorf("no_bias=%v: dec.0.self.q.bias present = %v", noBias, got)
		}
		m := randomModel(c, 3)
		got, err := Read(bytes.NewReader(encode(t, m, WriteOptions{})))
		if err != nil {
			t.Fatal(err)
		}
		sameModel(t, m, got, nil)
	}
	for want, edit := range map[string]func(c *Config){
		"has no encoder":                 func(c *Config) { c.EncoderLayers = 1 },
		"learned positions":              func(c *Config) { c.Positions = PositionsMarian },
		"pre_norm":                       func(c *Config) { c.PreNorm = false },
		"no_bias is only supported with": func(c *Config) { *c = tinyConfig(); c.NoBias = true },
	} {
		c := gptConfig(false)
		edit(&c)
		if err := c.Validate(); err == nil || !strings.Contains(err.Error(), want) {
			t.Errorf("got %v, want error containing %q", err, want)
		}
	}
}

// expectErr checks that Read fails on data with target and a message
// containing want.
func expectErr(t *testing.T, name string, data []byte, target error, want string) {
	t.Helper()
	_, err := Read(bytes.NewReader(data))
	if err == nil || !errors.Is(err, target) || !strings.Contains(err.Error(), want) {
		t.Errorf("%s: got %v, want %v containing %q", name, err, target, want)
	}
}

func TestReadForeign(t *testing.T) {
	valid := encode(t, randomModel(tinyConfig(), 7), WriteOptions{})
	st, _ := os.ReadFile("../testdata/oracle/tiny-marian-A/model.safetensors")
	pt, _ := os.ReadFile("../testdata/oracle/tiny-marian-A/pytorch_model.bin")
	cfg, _ := os.ReadFile("../testdata/oracle/tiny-marian-A/config.json")
	if len(st) == 0 || len(pt) == 0 || len(cfg) == 0 {
		t.Fatal("oracle files missing under ../testdata/oracle/tiny-marian-A")
	}
	newer := bytes.Clone(valid)
	binary.LittleEndian.PutUint32(newer[8:], FormatVersion+1)
	zeroV := bytes.Clone(valid)
	binary.LittleEndian.PutUint32(zeroV[8:], 0)
	expectErr(t, "empty", nil, ErrNotModel, "empty file")
	expectErr(t, "safetensors", st, ErrNotModel, "looks like a safetensors file")
	expectErr(t, "zip", pt, ErrNotModel, "looks like a zip archive")
	expectErr(t, "json", cfg, ErrNotModel, "JSON text")
	expectErr(t, "text", []byte("hello world, this is text\n"), ErrNotModel, `text starting "hello`)
	expectErr(t, "zstd", valid[12:], ErrNotModel, "bare zstd stream")
	expectErr(t, "binary", []byte{0, 1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12}, ErrNotModel, "unknown data starting 00 01 02")
	expectErr(t, "newer", newer, ErrNewerVersion, "upgrade deen")
	expectErr(t, "version 0", zeroV, ErrCorrupt, "version 0")
	expectErr(t, "magic only", valid[:6], ErrCorrupt, "truncated")
	expectErr(t, "trailing", append(bytes.Clone(valid), 1, 2, 3, 4, 5, 6), ErrCorrupt, "damaged")

	dir := t.TempDir()
	if _, err := ReadFile(dir); err == nil || !strings.Contains(err.Error(), "is a directory") || !errors.Is(err, ErrNotModel) {
		t.Errorf("directory: %v", err)
	}
	if _, err := ReadFile(filepath.Join(dir, "absent")); err == nil || !errors.Is(err, os.ErrNotExist) {
		t.Errorf("absent file: %v", err)
	}
}

func TestReadTruncated(t *testing.T) {
	for _, dt := range []DType{F32, F16, Int8} {
		valid := encode(t, randomModel(tinyConfig(), 8), WriteOptions{DType: dt})
		step := max(1, len(valid)/300)
		for n := 12; n < len(valid); n += step {
			_, err := Read(bytes.NewReader(valid[:n]))
			if err == nil || !errors.Is(err, ErrCorrupt) {
				t.Fatalf("%v cut at %d of %d: %v", dt, n, len(valid), err)
			}
		}
		_, err := Read(bytes.NewReader(valid[:len(valid)-1]))
		if err == nil {
			t.Fatalf("%v: cut by one byte: no error", dt)
		}
	}
}

// TestReadFlipped flips bytes all over a valid file: every result is an
// error or (where zstd ignores the bits) exactly the original model; never
// silently different weights.
func TestReadFlipped(t *testing.T) {
	m := randomModel(tinyConfig(), 9)
	valid := encode(t, m, WriteOptions{DType: F16})
	want, err := Read(bytes.NewReader(valid))
	if err != nil {
		t.Fatal(err)
	}
	step := max(1, len(valid)/400)
	errorsSeen := 0
	for i := 8; i < len(valid); i += step {
		for _, mask := range []byte{0x01, 0x80, 0xff} {
			bad := bytes.Clone(valid)
			bad[i] ^= mask
			got, err := Read(bytes.NewReader(bad))
			if err != nil {
				errorsSeen++
				continue
			}
			sameModel(t, want, got, nil)
		}
	}
	if errorsSeen == 0 {
		t.Fatal("no flipped byte was detected")
	}
}

// rewrite decodes a valid file, lets edit change its header and data, and
// re-encodes it with correct header checksum, as a forger would.
func rewrite(t *testing.T, file []byte, edit func(h *header, data []byte) []byte) []byte {
	t.Helper()
	zr, err := zstd.NewReader(bytes.NewReader(file[12:]))
	if err != nil {
		t.Fatal(err)
	}
	defer zr.Close()
	body, err := io.ReadAll(zr)
	if err != nil {
		t.Fatal(err)
	}
	n := binary.LittleEndian.Uint32(body)
	var h header
	if err := json.Unmarshal(body[8:8+n], &h); err != nil {
		t.Fatal(err)
	}
	data := edit(&h, body[8+n:])
	js, _ := json.Marshal(h)
	return frame(file[:12], js, data)
}

// frame builds a file from a prefix, a JSON header and data.
func frame(prefix, js, data []byte) []byte {
	var out bytes.Buffer
	out.Write(prefix)
	zw, _ := zstd.NewWriter(&out)
	var hl [8]byte
	binary.LittleEndian.PutUint32(hl[0:], uint32(len(js)))
	binary.LittleEndian.PutUint32(hl[4:], crc32.Checksum(js, castagnoli))
	zw.Write(hl[:])
	zw.Write(js)
	zw.Write(data)
	zw.Close()
	return out.Bytes()
}

func TestReadForgedHeader(t *testing.T) {
	valid := encode(t, randomModel(tinyConfig(), 10), WriteOptions{})
	find := func(h *header, name string) *entry {
		for i := range h.Tensors {
			if h.Tensors[i].Name == name {
				return &h.Tensors[i]
			}
		}
		t.Fatalf("no %s", name)
		return nil
	}
	cases := map[string]struct {
		edit func(h *header, data []byte) []byte
		want string
	}{
		"shape vs config": {func(h *header, d []byte) []byte { h.Config.EncoderFFN = 16; return d },
			`"enc.0.fc1.bias" has shape [12], the config implies [16]`},
		"bad config": {func(h *header, d []byte) []byte { h.Config.Activation = "tanh"; return d }, `activation "tanh" is unknown`},
		"unknown tensor": {func(h *header, d []byte) []byte { find(h, "enc.0.fc1.bias").Name = "enc.0.fc9.bias"; return d },
			`"enc.0.fc9.bias" is not implied by the config`},
		"missing tensor": {func(h *header, d []byte) []byte {
			first := h.Tensors[0]
			h.Tensors = h.Tensors[1:]
			for i := range h.Tensors {
				h.Tensors[i].Offset -= first.Size
			}
			return append(d[:first.Offset:first.Offset], d[first.Offset+first.Size:]...)
		}, `lacks 1 tensors the config implies (first: "dec.0.cross.k.bias")`},
		"dtype":       {func(h *header, d []byte) []byte { find(h, "enc.0.fc1.bias").DType = "f8"; return d }, `unknown dtype "f8"`},
		"int8 1-d":    {func(h *header, d []byte) []byte { find(h, "enc.0.fc1.bias").DType = "int8"; return d }, "int8 needs 2 dimensions"},
		"size":        {func(h *header, d []byte) []byte { find(h, "enc.0.fc1.bias").Size = 1 << 40; return d }, `"enc.0.fc1.bias" has offset`},
		"blob size":   {func(h *header, d []byte) []byte { h.Blobs[0].Size = 1 << 50; return d }, "blob"},
		"blob crc":    {func(h *header, d []byte) []byte { h.Blobs[0].CRC32C++; return d }, "checksum mismatch in blob"},
		"tensor crc":  {func(h *header, d []byte) []byte { d[len(d)-1] ^= 1; return d }, "checksum mismatch in tensor"},
		"trailing":    {func(h *header, d []byte) []byte { return append(d, 0) }, "unexpected data after the last tensor"},
		"short data":  {func(h *header, d []byte) []byte { return d[:len(d)-3] }, "truncated in tensor"},
		"dup blob":    {func(h *header, d []byte) []byte { h.Blobs[1].Name = h.Blobs[0].Name; return d }, "repeated"},
		"null config": {func(h *header, d []byte) []byte { h.Config = Config{}; return d }, "model config"},
	}
	for name, tc := range cases {
		expectErr(t, name, rewrite(t, valid, tc.edit), ErrCorrupt, tc.want)
	}
	bad := frame(valid[:12], []byte("{not json"), nil)
	expectErr(t, "json", bad, ErrCorrupt, "not valid JSON")
}

// TestReadHugeClaims forges a header whose config and shapes are valid but
// huge (a 2M × 16384 embedding: 128 GiB) with no data behind them: Read must
// fail as truncated without allocating more than a few tens of MiB.
func TestReadHugeClaims(t *testing.T) {
	valid := encode(t, randomModel(tinyConfig(), 11), WriteOptions{})
	forged := rewrite(t, valid, func(h *header, d []byte) []byte {
		c := &h.Config
		c.VocabSize, c.DModel, c.EncoderHeads, c.DecoderHeads = MaxVocab, MaxDModel, 1, 1
		off := h.Tensors[0].Offset
		h.Tensors = nil
		for _, s := range c.Tensors() {
			if s.Optional {
				continue
			}
			size := storedSize(F32, s.Shape)
			h.Tensors = append(h.Tensors, entry{Name: s.Name, DType: "f32", Shape: s.Shape, Offset: off, Size: size})
			off += size
		}
		return d
	})
	var before, after runtime.MemStats
	runtime.ReadMemStats(&before)
	expectErr(t, "huge", forged, ErrCorrupt, "truncated in tensor")
	runtime.ReadMemStats(&after)
	if alloc := after.TotalAlloc - before.TotalAlloc; alloc > 100<<20 {
		t.Errorf("Read allocated %d MiB for a forged header", alloc>>20)
	}
}

// BenchmarkWriteRead writes and reads a model of about 13M parameters
// (vocab 32000, d 256, 3+3 layers) and reports the throughput in weight
// megabytes (float32) per second.
func BenchmarkWriteRead(b *testing.B) {
	c := tinyConfig()
	c.VocabSize, c.DModel, c.EncoderLayers, c.DecoderLayers, c.EncoderFFN, c.DecoderFFN = 32000, 256, 3, 3, 1024, 1024
	m := randomModel(c, 14)
	params := 0
	for _, t := range m.Tensors {
		params += len(t.Data)
	}
	for _, dt := range []DType{F32, F16, Int8} {
		b.Run(dt.String(), func(b *testing.B) {
			var file []byte
			var write, read float64
			for i := 0; i < b.N; i++ {
				t0 := time.Now()
				file = encode(b, m, WriteOptions{DType: dt})
				t1 := time.Now()
				if _, err := Read(bytes.NewReader(file)); err != nil {
					b.Fatal(err)
				}
				write += t1.Sub(t0).Seconds()
				read += time.Since(t1).Seconds()
			}
			mb := float64(4*params) / 1e6 * float64(b.N)
			b.ReportMetric(mb/write, "write-MB/s")
			b.ReportMetric(mb/read, "read-MB/s")
			b.ReportMetric(float64(len(file))/1e6, "file-MB")
		})
	}
}

// failingReader fails after its data.
type failingReader struct{ data []byte }

func (f *failingReader) Read(p []byte) (int, error) {
	if len(f.data) == 0 {
		return 0, errors.New("disk on fire")
	}
	n := copy(p, f.data)
	f.data = f.data[n:]
	return n, nil
}

func TestReadPassesReaderErrors(t *testing.T) {
	valid := encode(t, randomModel(tinyConfig(), 15), WriteOptions{})
	for _, n := range []int{0, 5, 200, len(valid) - 10} {
		_, err := Read(&failingReader{data: valid[:n]})
		if err == nil || !strings.Contains(err.Error(), "disk on fire") {
			t.Errorf("failing after %d bytes: %v", n, err)
		}
	}
}

func TestReadRecordsDType(t *testing.T) {
	m := randomModel(tinyConfig(), 4)
	for _, dt := range []DType{F32, F16, Int8} {
		got, err := Read(bytes.NewReader(encode(t, m, WriteOptions{DType: dt})))
		if err != nil {
			t.Fatal(err)
		}
		if got.DType != dt {
			t.Errorf("written as %v, read back DType %v", dt, got.DType)
		}
	}
}

// TestAppendInt8 decodes int8 rows fed in pieces that start and end
// anywhere in a row (as the reader's chunks do) and checks every value is
// its byte times its own row's scale.
func TestAppendInt8(t *testing.T) {
	rng := rand.New(rand.NewPCG(7, 1))
	for _, cols := range []int{1, 3, 8, 37} {
		rows := 11
		p := make([]byte, rows*cols)
		for i := range p {
			p[i] = byte(rng.IntN(256))
		}
		scales := make([]float32, rows)
		for r := range scales {
			scales[r] = rng.Float32()
		}
		scales[2] = 0
		data := make([]float32, 0, len(p))
		for rest := p; len(rest) > 0; {
			k := min(len(rest), 1+rng.IntN(2*cols+1))
			data = appendInt8(data, rest[:k], scales, cols)
			rest = rest[k:]
		}
		if len(data) != len(p) {
			t.Fatalf("cols %d: %d values, want %d", cols, len(data), len(p))
		}
		for i, q := range p {
			if want := float32(int8(q)) * scales[i/cols]; data[i] != want {
				t.Fatalf("cols %d: value %d is %v, want %v", cols, i, data[i], want)
			}
		}
	}
}
