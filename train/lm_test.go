package train

import (
	"bytes"
	"context"
	"math"
	"math/rand/v2"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"github.com/deen-mt/deen/bpe"
	"github.com/deen-mt/deen/gpt"
	"github.com/deen-mt/deen/modelfile"
)

// TestLMMemorises trains a tiny character-level GPT on one short line with
// the trainer's pieces (Step, clipping, AdamW, cosine schedule) until it
// knows the text: the loss per character must fall below 0.05 nats and
// greedy generation must reproduce the line.
func TestLMMemorises(t *testing.T) {
	const text = "the quick brown fox jumps over the lazy dog."
	var chars []rune
	for _, r := range text {
		if !slices.Contains(chars, r) {
			chars = append(chars, r)
		}
	}
	v := len(chars) + 2 // </s> 0, characters 1.., start = pad = v-1
	ids := []int32{}
	for _, r := range text {
		ids = append(ids, int32(2+slices.Index(chars, r)-1))
	}
	ex := []Example{{Tgt: append(slices.Clone(ids), 0)}}
	cfg := gpt.NewConfig(v, 32, 2, 4, 64, false)
	m, err := NewLM(cfg, 1)
	if err != nil {
		t.Fatal(err)
	}
	adam := NewAdamW(len(m.Params.W), 0.9, 0.95, 1e-8, 0)
	const steps = 150
	var loss float64
	rng := rand.New(rand.NewPCG(1, 1)) // dropout is 0: unused
	for step := 1; step <= steps; step++ {
		l, n, err := m.Step(ex, []int{0}, rng)
		if err != nil {
			t.Fatal(err)
		}
		loss = l / float64(n)
		m.Params.ClipGrad(1)
		adam.Step(m.Params, CosineLearningRate(step, 10, steps, 1e-2, 1e-3))
	}
	if loss > 0.05 {
		t.Fatalf("loss per character %.4f after %d steps, want < 0.05", loss, steps)
	}
	g, err := gpt.New(m.Params.modelFile(cfg, nil))
	if err != nil {
		t.Fatal(err)
	}
	got, err := g.Generate(context.Background(), nil, gpt.SampleOptions{MaxNew: 60}, nil)
	if err != nil {
		t.Fatal(err)
	}
	if !slices.Equal(got, ids) {
		t.Errorf("greedy generation %v, want the text %v", got, ids)
	}
	t.Logf("loss per character %.4f after %d steps", loss, steps)
}

// TestCosineLearningRate checks nanoGPT's schedule at its landmarks.
func TestCosineLearningRate(t *testing.T) {
	const peak, low = 1e-3, 1e-4
	for _, c := range []struct {
		step int
		want float64
	}{{5, peak / 2}, {10, peak}, {60, (peak + low) / 2}, {110, low}, {500, low}} {
		if got := CosineLearningRate(c.step, 10, 110, peak, low); math.Abs(got-c.want) > 1e-12 {
			t.Errorf("step %d: %g, want %g", c.step, got, c.want)
		}
	}
}

// TestRunLM runs the language-model trainer end to end on a toy English
// text: held-out sentences (a translator's dev English and one more) are
// never trained on, a run stopped
// halfway and resumed ends with the same weights as a straight run, and
// the model file loads and scores.
func TestRunLM(t *testing.T) {
	dir := t.TempDir()
	de, en := writeToyCorpus(t, dir, 300)
	lines, err := readLines(en)
	if err != nil {
		t.Fatal(err)
	}
	spm, err := bpe.Train(lines, bpe.TrainConfig{VocabSize: 60})
	if err != nil {
		t.Fatal(err)
	}
	blobs, err := bpe.MarianBlobs(spm)
	if err != nil {
		t.Fatal(err)
	}
	holdout, err := TranslatorDev(de, en, 5) // a translator's dev English
	if err != nil || len(holdout) == 0 {
		t.Fatalf("TranslatorDev: %d sentences, %v", len(holdout), err)
	}
	holdout = append(holdout, lines[0])
	o := DefaultLMOptions()
	o.DModel, o.DecoderLayers, o.Heads, o.MaxLen = 16, 1, 2, 24
	o.BatchTokens, o.Warmup, o.LogEvery, o.DevEvery, o.DevK, o.Replicas = 120, 4, 5, 0, 7, 2
	o.Hours, o.DType, o.DecaySteps = 0, "f32", 30
	run := func(out string, steps int) (*Checkpoint, string) {
		o.MaxSteps = steps
		var log bytes.Buffer
		if err := RunLM(context.Background(), o, en, holdout, blobs, out, &log); err != nil {
			t.Fatalf("%v\n%s", err, log.String())
		}
		ck, err := ReadCheckpoint(filepath.Join(out, CheckpointName))
		if err != nil {
			t.Fatal(err)
		}
		return ck, log.String()
	}
	const n = 30
	straight, log := run(filepath.Join(dir, "a"), n)
	run(filepath.Join(dir, "b"), n/2)
	resumed, _ := run(filepath.Join(dir, "b"), n)
	if straight.State.Epoch < 1 {
		t.Fatalf("the run stayed in epoch 0; make the test cross an epoch boundary")
	}
	if !slices.Equal(straight.Params.W, resumed.Params.W) || !slices.Equal(straight.Adam.V, resumed.Adam.V) {
		t.Fatal("resumed run ended with different weights than the straight run")
	}
	trained, err := os.ReadFile(filepath.Join(dir, "a", LMTrainText))
	if err != nil {
		t.Fatal(err)
	}
	for _, l := range strings.Split(string(trained), "\n") {
		for _, h := range holdout {
			if Normalize(l) == Normalize(h) {
				t.Fatalf("the held-out sentence %q is in the training text", l)
			}
		}
	}
	if !strings.Contains(log, "ppl") {
		t.Errorf("the log reports no dev perplexity:\n%s", log)
	}
	mf, err := modelfile.ReadFile(filepath.Join(dir, "a", LMName))
	if err != nil {
		t.Fatal(err)
	}
	g, err := gpt.New(mf)
	if err != nil {
		t.Fatal(err)
	}
	tok, err := bpe.NewMarianFromBlobs(mf.Blobs)
	if err != nil {
		t.Fatal(err)
	}
	ids, err := tok.EncodeTarget("I see two.")
	if err != nil {
		t.Fatal(err)
	}
	var sc gpt.Scratch
	lp, err := g.Score([][]int32{ids[:len(ids)-1]}, &sc)
	if err != nil {
		t.Fatal(err)
	}
	if uniform := -float64(len(ids)) * math.Log(float64(g.VocabSize())); !(lp[0] > uniform) {
		t.Errorf("log-probability %g of a training-like sentence is not above uniform %g", lp[0], uniform)
	}
}
