package nn

import (
	"math"
	"math/rand/v2"
	"testing"

	"github.com/deen-mt/deen/modelfile"
)

// gradGetter returns a Getter of zero gradients shaped like every tensor of w.
func gradGetter(w mapGetter) mapGetter {
	g := mapGetter{}
	for name, t := range w {
		g[name] = &modelfile.Tensor{Name: name, Shape: t.Shape, Data: make([]float32, len(t.Data))}
	}
	return g
}

// TestAttentionTrainerGradients checks the gradients of the queries' input
// and of the memory (cross-attention), of the input alone (self-attention,
// causal and not), and of every weight, against finite differences on a
// packed batch of two sentences, with dropout under a fixed mask, for
// post-norm and pre-norm sub-layers.
func TestAttentionTrainerGradients(t *testing.T) {
	const d, heads = 8, 2
	qs := Seqs{Off: []int{0, 3}, Len: []int{3, 2}}
	ks := Seqs{Off: []int{0, 4}, Len: []int{4, 3}}
	for _, tc := range []struct {
		name                   string
		cross, causal, preNorm bool
	}{{"self", false, false, false}, {"causal", false, true, false}, {"cross", true, false, false},
		{"prenorm-causal", false, true, true}, {"prenorm-cross", true, false, true}} {
		t.Run(tc.name, func(t *testing.T) {
			rng := rand.New(rand.NewPCG(1, 2))
			w := mapGetter{}
			for _, p := range []string{"q", "k", "v", "o"} {
				w.put(rng, "a."+p+".weight", d, d)
				w.put(rng, "a."+p+".bias", d)
			}
			w.put(rng, "ln.weight", d)
			w.put(rng, "ln.bias", d)
			g := gradGetter(w)
			a, err := NewAttentionTrainer(w, g, "a", "ln", d, heads, 1e-5, tc.causal)
			if err != nil {
				t.Fatal(err)
			}
			a.PreNorm = tc.preNorm
			x := randVec(rng, qs.Rows()*d, 1)
			mem, mseq := x, qs
			if tc.cross {
				mem, mseq = randVec(rng, ks.Rows()*d, 1), ks
			}
			r := randVec(rng, qs.Rows()*d, 1)
			loss := func() float64 {
				return weighted(a.Forward(x, qs, mem, mseq, 0.2, rand.New(rand.NewPCG(5, 5))), r)
			}
			loss()
			var dmem []float32
			if tc.cross {
				dmem = make([]float32, len(mem))
			}
			dx := append([]float32(nil), a.Backward(r, dmem)...)
			checkGrad(t, "dx", x, dx, loss)
			if tc.cross {
				checkGrad(t, "dmem", mem, dmem, loss)
			}
			for name, tw := range w {
				if name == "a.k.bias" { // softmax ignores a shift of all scores: the gradient is exactly 0
					for i, v := range g[name].Data {
						if math.Abs(float64(v)) > 1e-5 {
							t.Errorf("a.k.bias gradient[%d] = %g, want 0", i, v)
						}
					}
					continue
				}
				checkGrad(t, name, tw.Data, g[name].Data, loss)
			}
		})
	}
}

// TestFeedForwardTrainerGradients checks the input and weight gradients of
// the feed-forward sub-layer for each activation, with dropout, post-norm
// and (GELU, as GPT) pre-norm.
func TestFeedForwardTrainerGradients(t *testing.T) {
	const d, ffn, n = 6, 10, 5
	for _, tc := range []struct {
		act     Activation
		preNorm bool
	}{{ReLU, false}, {SiLU, false}, {GELU, false}, {GELU, true}} {
		act := tc.act
		name := act.String()
		if tc.preNorm {
			name += "-prenorm"
		}
		t.Run(name, func(t *testing.T) {
			rng := rand.New(rand.NewPCG(3, 4))
			w := mapGetter{}
			w.put(rng, "fc1.weight", ffn, d)
			w.put(rng, "fc1.bias", ffn)
			w.put(rng, "fc2.weight", d, ffn)
			w.put(rng, "fc2.bias", d)
			w.put(rng, "ln.weight", d)
			w.put(rng, "ln.bias", d)
			g := gradGetter(w)
			f, err := NewFeedForwardTrainer(w, g, "", "ln", d, ffn, 1e-5, act)
			if err != nil {
				t.Fatal(err)
			}
			f.PreNorm = tc.preNorm
			x, r := randVec(rng, n*d, 1), randVec(rng, n*d, 1)
			loss := func() float64 { return weighted(f.Forward(x, n, 0.2, rand.New(rand.NewPCG(6, 6))), r) }
			loss()
			dx := append([]float32(nil), f.Backward(r)...)
			checkGrad(t, "dx", x, dx, loss)
			for name, tw := range w {
				checkGrad(t, name, tw.Data, g[name].Data, loss)
			}
		})
	}
}

// TestEmbedderTrainerGradients checks the table and learned-position
// gradients of the scaled, position-shifted, dropped-out embedding.
func TestEmbedderTrainerGradients(t *testing.T) {
	const v, d = 7, 4
	rng := rand.New(rand.NewPCG(7, 8))
	e := EmbedderTrainer{W: Embedder{Table: randVec(rng, v*d, 1), Pos: randVec(rng, 8*d, 1), D: d, MaxPos: 8, Scale: 2},
		GTable: make([]float32, v*d), GPos: make([]float32, 8*d)}
	ids := []int32{1, 3, 3, 0, 6}
	s := Seqs{Off: []int{0, 2}, Len: []int{2, 3}}
	r := randVec(rng, len(ids)*d, 1)
	loss := func() float64 { return weighted(e.Forward(ids, s, 0.3, rand.New(rand.NewPCG(1, 1))), r) }
	loss()
	e.Backward(append([]float32(nil), r...))
	checkGrad(t, "table", e.W.Table, e.GTable, loss)
	checkGrad(t, "positions", e.W.Pos, e.GPos, loss)
}
