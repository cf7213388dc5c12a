package train

import (
	"math"
	"math/rand/v2"
	"slices"
	"testing"

	"github.com/deen-mt/deen/modelfile"
)

// tinyConfig is a model small enough for finite differences.
func tinyConfig(act string) modelfile.Config {
	o := DefaultOptions()
	o.DModel, o.Heads, o.FFN, o.EncoderLayers, o.DecoderLayers, o.Activation = 8, 2, 12, 2, 2, act
	cfg := o.Config(13)
	cfg.MaxPositions = 16
	return cfg
}

// tinyBatch packs three pairs of different lengths.
func tinyBatch(cfg modelfile.Config) *Batch {
	ex := []Example{
		{Src: []int32{3, 4, 5, 0}, Tgt: []int32{6, 7, 0}},
		{Src: []int32{8, 2, 0}, Tgt: []int32{9, 10, 11, 3, 0}},
		{Src: []int32{5, 5, 6, 7, 9, 0}, Tgt: []int32{0}},
	}
	var b Batch
	MakeBatch(&b, ex, []int{0, 1, 2}, int32(cfg.DecoderStartID))
	return &b
}

// TestGradients compares every parameter tensor's analytic gradient with
// central finite differences (float64 accumulation of float32 losses) on a
// tiny model with dropout (fixed masks: the RNG is reseeded per pass) and
// label smoothing, for each activation.
func TestGradients(t *testing.T) {
	for _, act := range []string{"swish", "gelu"} {
		t.Run(act, func(t *testing.T) {
			cfg := tinyConfig(act)
			m, err := NewModel(cfg, 7)
			if err != nil {
				t.Fatal(err)
			}
			m.Dropout, m.Smoothing = 0.1, 0.1
			// Larger weights than the initialisation make the check sharper.
			r := rand.New(rand.NewPCG(3, 4))
			for i := range m.Params.W {
				m.Params.W[i] += float32(r.NormFloat64() * 0.2)
			}
			b := tinyBatch(cfg)
			loss := func() float64 {
				l, _, err := m.Forward(b, rand.New(rand.NewPCG(9, 9)))
				if err != nil {
					t.Fatal(err)
				}
				return l
			}
			m.Params.ZeroGrad()
			loss()
			m.Backward(b, 1)
			const h = 1e-2
			for _, p := range m.Params.List {
				worst := 0.0
				for k := 0; k < 4; k++ {
					i := r.IntN(len(p.W))
					if p.Name == "embed.weight" && k < 2 { // rows of ids the batch uses
						i = (3+k*5)*cfg.DModel + r.IntN(cfg.DModel)
					}
					w := p.W[i]
					p.W[i] = w + h
					lp := loss()
					p.W[i] = w - h
					lm := loss()
					p.W[i] = w
					num := (lp - lm) / (2 * h)
					got := float64(p.G[i])
					err := math.Abs(num-got) / math.Max(1e-2, math.Abs(num)+math.Abs(got))
					worst = math.Max(worst, err)
					if err > 2e-2 {
						t.Errorf("%s[%d]: analytic %.6g, numeric %.6g", p.Name, i, got, num)
					}
				}
			}
		})
	}
}

// TestBatchSentencesIndependent checks that the packed batch gives each sentence
// the same loss as training on it alone (no leak between sentences).
func TestBatchSentencesIndependent(t *testing.T) {
	cfg := tinyConfig("relu")
	m, err := NewModel(cfg, 1)
	if err != nil {
		t.Fatal(err)
	}
	ex := []Example{
		{Src: []int32{3, 4, 5, 0}, Tgt: []int32{6, 7, 0}},
		{Src: []int32{8, 2, 0}, Tgt: []int32{9, 10, 11, 3, 0}},
	}
	var b Batch
	MakeBatch(&b, ex, []int{0, 1}, int32(cfg.DecoderStartID))
	all, n, err := m.Forward(&b, nil)
	if err != nil {
		t.Fatal(err)
	}
	var sum float64
	var count int
	for i := range ex {
		MakeBatch(&b, ex, []int{i}, int32(cfg.DecoderStartID))
		l, k, err := m.Forward(&b, nil)
		if err != nil {
			t.Fatal(err)
		}
		sum += l
		count += k
	}
	if n != count || math.Abs(all-sum) > 1e-4*math.Abs(sum) {
		t.Fatalf("batched loss %v over %d tokens, one by one %v over %d", all, n, sum, count)
	}
}

// TestReplicasMatchOneModel checks that the data-parallel Step (three
// replicas, dropout off) gives the gradient of one pass over the whole
// batch.
func TestReplicasMatchOneModel(t *testing.T) {
	cfg := tinyConfig("relu")
	m, err := NewModel(cfg, 2)
	if err != nil {
		t.Fatal(err)
	}
	ex := []Example{
		{Src: []int32{3, 4, 5, 0}, Tgt: []int32{6, 7, 0}},
		{Src: []int32{8, 2, 0}, Tgt: []int32{9, 10, 11, 3, 0}},
		{Src: []int32{5, 5, 6, 7, 9, 0}, Tgt: []int32{4, 0}},
		{Src: []int32{7, 0}, Tgt: []int32{8, 8, 0}},
	}
	idx := []int{0, 1, 2, 3}
	var b Batch
	MakeBatch(&b, ex, idx, int32(cfg.DecoderStartID))
	m.Params.ZeroGrad()
	loss1, n1, err := m.Forward(&b, nil)
	if err != nil {
		t.Fatal(err)
	}
	m.Backward(&b, 1/float32(n1))
	want := slices.Clone(m.Params.G)
	if err := m.SetReplicas(3); err != nil {
		t.Fatal(err)
	}
	loss3, n3, err := m.Step(ex, idx, rand.New(rand.NewPCG(1, 1)))
	if err != nil {
		t.Fatal(err)
	}
	if n1 != n3 || math.Abs(loss1-loss3) > 1e-4*loss1 {
		t.Fatalf("one pass: loss %v over %d tokens; replicas: %v over %d", loss1, n1, loss3, n3)
	}
	for i, g := range m.Params.G {
		if math.Abs(float64(g-want[i])) > 1e-5+1e-3*math.Abs(float64(want[i])) {
			t.Fatalf("gradient %d: replicas %g, one pass %g", i, g, want[i])
		}
	}
}
