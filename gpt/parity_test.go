package gpt

import (
	"math"
	"path/filepath"
	"testing"

	"github.com/deen-mt/deen/modelfile"
	"github.com/deen-mt/deen/nn"
	"github.com/deen-mt/deen/nn/nntest"
)

// loadParity reads a reference case of testdata/gpt (made by
// testdata/gpt/make_ref.py) into a model file and its references.
func loadParity(t *testing.T, dir string) (*modelfile.Model, *nntest.GPTRef) {
	t.Helper()
	ref, tensors := nntest.LoadGPTRef(t, dir, "ref.json")
	c := ref.Config
	m := &modelfile.Model{Config: NewConfig(c.Vocab, c.D, c.Layers, c.Heads, c.BlockSize, !c.Bias), Tensors: tensors}
	if err := modelfile.ValidateTensors(m); err != nil {
		t.Fatal(err)
	}
	return m, ref
}

// TestPyTorchParity checks the logits of Forward and the loss of the
// Trainer (the mean cross-entropy over counted targets, ignore_index −1)
// against the PyTorch reference, with and without biases.
func TestPyTorchParity(t *testing.T) {
	for _, name := range []string{"bias-d24", "nobias-d32"} {
		t.Run(name, func(t *testing.T) {
			m, ref := loadParity(t, filepath.Join("../testdata/gpt", name))
			g, err := New(m)
			if err != nil {
				t.Fatal(err)
			}
			var sc Scratch
			logits := g.Forward(ref.Idx, ref.Batch, ref.SeqLen, nil, &sc)
			if len(logits) != len(ref.Logits) {
				t.Fatalf("%d logits, reference %d", len(logits), len(ref.Logits))
			}
			worst := 0.0
			for i, want := range ref.Logits {
				worst = max(worst, math.Abs(float64(logits[i]-want))/(1+math.Abs(float64(want))))
			}
			if worst > 1e-5 {
				t.Errorf("logits differ from PyTorch by up to %.3g (relative)", worst)
			}
			tr, err := NewTrainer(m, zeros(m), m.Config)
			if err != nil {
				t.Fatal(err)
			}
			s := nn.Seqs{}
			for b := 0; b < ref.Batch; b++ {
				s.Off, s.Len = append(s.Off, b*ref.SeqLen), append(s.Len, ref.SeqLen)
			}
			sum, n := tr.Forward(ref.Idx, ref.Targets, s, 0, nil)
			if loss := sum / float64(n); math.Abs(loss-ref.Loss) > 1e-5*ref.Loss {
				t.Errorf("loss %.7f, PyTorch %.7f", loss, ref.Loss)
			}
			t.Logf("max relative logit difference %.2g, loss %.7f (PyTorch %.7f)", worst, sum/float64(n), ref.Loss)
		})
	}
}
