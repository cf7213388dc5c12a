package nn

import (
	"math"
	"math/rand/v2"
	"strings"
	"testing"

	"github.com/deen-mt/deen/modelfile"
)

// mapGetter is a Getter over a map of tensors.
type mapGetter map[string]*modelfile.Tensor

func (g mapGetter) Get(name string, shape ...int) ([]float32, error) {
	m := &modelfile.Model{Tensors: g}
	return m.Get(name, shape...)
}

func (g mapGetter) put(rng *rand.Rand, name string, shape ...int) {
	n := 1
	for _, s := range shape {
		n *= s
	}
	g[name] = &modelfile.Tensor{Name: name, Shape: shape, Data: randVec(rng, n, 1)}
}

func TestLoadEmbedder(t *testing.T) {
	rng := rand.New(rand.NewPCG(1, 2))
	g := mapGetter{}
	g.put(rng, "embed.weight", 10, 4)
	g.put(rng, "dec.pos.weight", 6, 4)
	c := modelfile.Config{VocabSize: 10, DModel: 4, MaxPositions: 6, Positions: modelfile.PositionsLearned, ScaleEmbedding: true}
	e, err := LoadEmbedder(g, c, "dec.pos.weight")
	if err != nil {
		t.Fatal(err)
	}
	out := make([]float32, 2*4)
	e.Forward(out, []int32{3, 7}, 1, 5) // both at position 5
	for i, id := range []int{3, 7} {
		for j := 0; j < 4; j++ {
			want := g["embed.weight"].Data[id*4+j]*2 + g["dec.pos.weight"].Data[5*4+j]
			if out[i*4+j] != want {
				t.Fatalf("row %d col %d: %g, want %g", i, j, out[i*4+j], want)
			}
		}
	}
	c.Positions = modelfile.PositionsMarian
	c.MaxPositions = 1 << 20 // a lying header must not allocate a huge table
	if e, err = LoadEmbedder(g, c, "dec.pos.weight"); err != nil || e.MaxPos != maxSinusoidal || len(e.Pos) != maxSinusoidal*4 {
		t.Errorf("sinusoidal table: err %v, MaxPos %d", err, e.MaxPos)
	}
	for _, tc := range []struct {
		edit func(*modelfile.Config)
		want string
	}{
		{func(c *modelfile.Config) { c.Positions = "alibi" }, `"alibi"`},
		{func(c *modelfile.Config) { c.Positions, c.MaxPositions = modelfile.PositionsLearned, 7 }, `"dec.pos.weight" has shape [6 4], want [7 4]`},
		{func(c *modelfile.Config) { c.VocabSize = 11 }, `"embed.weight"`},
	} {
		c2 := c
		tc.edit(&c2)
		if _, err := LoadEmbedder(g, c2, "dec.pos.weight"); err == nil || !strings.Contains(err.Error(), tc.want) {
			t.Errorf("error %v, want one mentioning %s", err, tc.want)
		}
	}
}

func TestSublayerPreAndPostNorm(t *testing.T) {
	rng := rand.New(rand.NewPCG(3, 4))
	n, d := 3, 5
	ln := LayerNorm{W: randVec(rng, d, 1), B: randVec(rng, d, 1), D: d, Eps: 1e-5}
	x, y := randVec(rng, n*d, 2), randVec(rng, n*d, 2)
	tmp := make([]float32, n*d)

	// post-norm: input is x itself, output LN(x + y)
	post := append([]float32(nil), x...)
	if in := ln.SublayerInput(post, tmp, n, false); &in[0] != &post[0] {
		t.Error("post-norm input is not x")
	}
	ln.SublayerOutput(post, y, n, false)
	want := make([]float32, n*d)
	Residual(want, x, y)
	ln.Forward(want, want, n)
	if maxDiff(post, want) != 0 {
		t.Error("post-norm output is not LN(x+y)")
	}
	// pre-norm: input LN(x), output x + y
	pre := append([]float32(nil), x...)
	in := ln.SublayerInput(pre, tmp, n, true)
	ln.Forward(want, x, n)
	if maxDiff(in, want) != 0 || maxDiff(pre, x) != 0 {
		t.Error("pre-norm input is not LN(x), or x changed")
	}
	ln.SublayerOutput(pre, y, n, true)
	Residual(want, x, y)
	if maxDiff(pre, want) != 0 {
		t.Error("pre-norm output is not x+y")
	}
}

func maxDiff(a, b []float32) float64 {
	var m float64
	for i := range a {
		m = math.Max(m, math.Abs(float64(a[i]-b[i])))
	}
	return m
}

// SelfAttention over a padded batch equals, per sequence, the projections
// and AttentionForward over its real rows; padded rows give O's bias.
func TestSelfAttentionPadded(t *testing.T) {
	rng := rand.New(rand.NewPCG(5, 6))
	d, heads, batch, seqLen := 8, 2, 2, 5
	lengths := []int{5, 2}
	g := mapGetter{}
	for _, p := range []string{"q", "k", "v", "o"} {
		g.put(rng, "a."+p+".weight", d, d)
		g.put(rng, "a."+p+".bias", d)
	}
	a, err := LoadMultiHeadAttention(g, "a", d, heads)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := LoadMultiHeadAttention(g, "a", d, 3); err == nil {
		t.Error("3 heads of width 8 gave no error")
	}
	x := randVec(rng, batch*seqLen*d, 1)
	for _, causal := range []bool{false, true} {
		out := make([]float32, batch*seqLen*d)
		var s AttnScratch
		a.SelfAttention(out, x, batch, seqLen, lengths, causal, &s)
		for b, l := range lengths {
			xb := x[b*seqLen*d : (b*seqLen+l)*d]
			q, k, v, att := make([]float32, l*d), make([]float32, l*d), make([]float32, l*d), make([]float32, l*d)
			a.Q.Forward(q, xb, l)
			a.K.Forward(k, xb, l)
			a.V.Forward(v, xb, l)
			AttentionForward(att, make([]float32, heads*l*l), q, k, v, l, l, d, heads, l, causal)
			want := make([]float32, l*d)
			a.O.Forward(want, att, l)
			if diff := maxDiff(out[b*seqLen*d:(b*seqLen+l)*d], want); diff > 1e-6 {
				t.Errorf("causal %v sequence %d: max |Δ| %g", causal, b, diff)
			}
			for r := l; r < seqLen; r++ {
				if diff := maxDiff(out[(b*seqLen+r)*d:(b*seqLen+r+1)*d], a.O.B); diff > 1e-6 {
					t.Errorf("padded row %d of sequence %d is not O's bias", r, b)
				}
			}
		}
	}
}
