package gpt

import (
	"encoding/binary"
	"encoding/json"
	"math"
	"os"
	"path/filepath"
	"testing"

	"github.com/deen-mt/deen/internal/modelfile"
	"github.com/deen-mt/deen/internal/nn"
)

// parityRef is the ref.json of a case made by testdata/gpt/make_ref.py,
// an independent PyTorch reference of nanoGPT's model semantics.
type parityRef struct {
	Config struct {
		Vocab     int  `json:"vocab"`
		BlockSize int  `json:"block_size"`
		D         int  `json:"d"`
		Layers    int  `json:"layers"`
		Heads     int  `json:"heads"`
		Bias      bool `json:"bias"`
	} `json:"config"`
	Tensors []struct {
		Name  string `json:"name"`
		Shape []int  `json:"shape"`
	} `json:"tensors"`
	Batch   int       `json:"batch"`
	SeqLen  int       `json:"seq_len"`
	Idx     []int32   `json:"idx"`
	Targets []int32   `json:"targets"`
	Logits  []float32 `json:"logits"`
	Loss    float64   `json:"loss"`
}

// loadParity reads a reference case into a model file and its references.
func loadParity(t *testing.T, dir string) (*modelfile.Model, *parityRef) {
	t.Helper()
	js, err := os.ReadFile(filepath.Join(dir, "ref.json"))
	if err != nil {
		t.Fatal(err)
	}
	var ref parityRef
	if err := json.Unmarshal(js, &ref); err != nil {
		t.Fatal(err)
	}
	raw, err := os.ReadFile(filepath.Join(dir, "weights.bin"))
	if err != nil {
		t.Fatal(err)
	}
	c := ref.Config
	m := &modelfile.Model{Config: NewConfig(c.Vocab, c.D, c.Layers, c.Heads, c.BlockSize, !c.Bias), Tensors: map[string]*modelfile.Tensor{}}
	for _, tn := range ref.Tensors {
		n := 1
		for _, s := range tn.Shape {
			n *= s
		}
		if len(raw) < 4*n {
			t.Fatalf("weights.bin ends inside %s", tn.Name)
		}
		data := make([]float32, n)
		for i := range data {
			data[i] = math.Float32frombits(binary.LittleEndian.Uint32(raw[4*i:]))
		}
		raw = raw[4*n:]
		m.Tensors[tn.Name] = &modelfile.Tensor{Name: tn.Name, Shape: tn.Shape, Data: data}
	}
	if len(raw) != 0 {
		t.Fatalf("weights.bin has %d bytes after the last tensor", len(raw))
	}
	if err := modelfile.ValidateTensors(m); err != nil {
		t.Fatal(err)
	}
	return m, &ref
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
