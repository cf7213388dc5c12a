package train

import (
	"encoding/binary"
	"encoding/json"
	"flag"
	"math"
	"math/rand/v2"
	"os"
	"path/filepath"
	"slices"
	"testing"

	"github.com/deen-mt/deen/gpt"
	"github.com/deen-mt/deen/modelfile"
	"github.com/deen-mt/deen/nn/nntest"
)

var updateTrained = flag.Bool("update-trained", false, "retrain the model of TestLMTrainedParity and rewrite testdata/gpt/trained (then run testdata/gpt/make_ref.py trained)")

// trainedDir holds a small GPT trained here and its PyTorch loss.
const trainedDir = "../testdata/gpt/trained"

// parityText is a short made-up English text (not corpus text): the
// training lines, then the held-out lines.
var parityTrain = []string{
	"the cat sat on the mat.", "the dog sat on the log.", "a cat saw a dog.", "the dog saw the cat.",
	"a bird sat on a log.", "the cat ran to the dog.", "a dog ran to a cat.", "the bird saw the mat.",
}
var parityHeldOut = []string{"the bird sat on the mat.", "a dog saw the bird.", "the cat ran to a log."}

// charIDs maps the characters of the training text to ids 1..n (0 is the
// end id, n+1 the start id).
func charIDs() map[rune]int32 {
	ids := map[rune]int32{}
	for _, l := range parityTrain {
		for _, r := range l {
			if _, ok := ids[r]; !ok {
				ids[r] = int32(len(ids) + 1)
			}
		}
	}
	return ids
}

func encodeChars(ids map[rune]int32, s string) []int32 {
	var out []int32
	for _, r := range s {
		out = append(out, ids[r])
	}
	return out
}

// TestLMTrainedParity checks that a GPT trained by this trainer has, on
// held-out text, the loss the PyTorch reference (testdata/gpt/make_ref.py,
// nanoGPT's semantics) computes for the same weights. The model (a
// character-level GPT trained 300 steps on eight made-up lines) and the
// reference loss are checked in; -update-trained retrains and rewrites it.
func TestLMTrainedParity(t *testing.T) {
	chars := charIDs()
	v := len(chars) + 2
	cfg := gpt.NewConfig(v, 32, 2, 4, 32, false)
	if *updateTrained {
		writeTrained(t, cfg, chars)
	}
	_, tensors := nntest.LoadGPTRef(t, trainedDir, "model.json")
	m := &modelfile.Model{Config: cfg, Tensors: tensors}
	g, err := gpt.New(m)
	if err != nil {
		t.Fatal(err)
	}
	var seqs [][]int32
	tokens := 0
	for _, l := range parityHeldOut {
		seqs = append(seqs, encodeChars(chars, l))
		tokens += len(seqs[len(seqs)-1]) + 1
	}
	var sc gpt.Scratch
	lps, err := g.Score(seqs, &sc)
	if err != nil {
		t.Fatal(err)
	}
	var sum float64
	for _, lp := range lps {
		sum -= lp
	}
	loss := sum / float64(tokens)
	js, err := os.ReadFile(filepath.Join(trainedDir, "torch.json"))
	if err != nil {
		t.Fatalf("%v (run /usr/bin/python3 testdata/gpt/make_ref.py trained)", err)
	}
	var ref struct {
		Loss float64 `json:"loss"`
	}
	if err := json.Unmarshal(js, &ref); err != nil {
		t.Fatal(err)
	}
	if math.Abs(loss-ref.Loss) > 1e-5*ref.Loss {
		t.Errorf("held-out loss %.7f, PyTorch %.7f for the same weights", loss, ref.Loss)
	}
	t.Logf("held-out loss per character %.7f (PyTorch %.7f), uniform would be %.3f", loss, ref.Loss, math.Log(float64(v)))
}

// writeTrained trains the parity model and writes model.json and
// weights.bin (the held-out lines as a right-padded batch in nanoGPT's
// form: inputs start id first, targets −1 past the end id).
func writeTrained(t *testing.T, cfg modelfile.Config, chars map[rune]int32) {
	var ex []Example
	for _, l := range parityTrain {
		ex = append(ex, Example{Tgt: append(encodeChars(chars, l), 0)})
	}
	m, err := NewLM(cfg, 5)
	if err != nil {
		t.Fatal(err)
	}
	m.Dropout = 0.1
	adam := NewAdamW(len(m.Params.W), 0.9, 0.95, 1e-8, 0.1)
	rng := rand.New(rand.NewPCG(5, 5))
	idx := make([]int, len(ex))
	for i := range idx {
		idx[i] = i
	}
	const steps = 300
	for step := 1; step <= steps; step++ {
		if _, _, err := m.Step(ex, idx, rng); err != nil {
			t.Fatal(err)
		}
		m.Params.ClipGrad(1)
		adam.Step(m.Params, CosineLearningRate(step, 20, steps, 3e-3, 3e-4))
	}
	tm := nntest.GPTRef{Batch: len(parityHeldOut)}
	tm.Config.Vocab, tm.Config.BlockSize, tm.Config.D, tm.Config.Layers, tm.Config.Heads, tm.Config.Bias = cfg.VocabSize, cfg.MaxPositions, cfg.DModel, cfg.DecoderLayers, cfg.DecoderHeads, !cfg.NoBias
	var w []byte
	for _, p := range m.Params.List {
		tm.Tensors = append(tm.Tensors, nntest.GPTRefTensor{Name: p.Name, Shape: p.Shape})
		for _, x := range p.W {
			w = binary.LittleEndian.AppendUint32(w, math.Float32bits(x))
		}
	}
	for _, l := range parityHeldOut {
		tm.SeqLen = max(tm.SeqLen, len([]rune(l))+1)
	}
	start := int32(cfg.DecoderStartID)
	for _, l := range parityHeldOut {
		ids := encodeChars(chars, l)
		in := append([]int32{start}, ids...)
		tg := append(slices.Clone(ids), 0)
		for len(in) < tm.SeqLen {
			in, tg = append(in, start), append(tg, -1)
		}
		tm.Idx, tm.Targets = append(tm.Idx, in...), append(tm.Targets, tg...)
	}
	js, err := json.Marshal(tm)
	if err != nil {
		t.Fatal(err)
	}
	if err := os.MkdirAll(trainedDir, 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(trainedDir, "model.json"), js, 0o644); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(trainedDir, "weights.bin"), w, 0o644); err != nil {
		t.Fatal(err)
	}
	t.Logf("wrote %s; now run /usr/bin/python3 testdata/gpt/make_ref.py trained", trainedDir)
}
