package crossattn

import (
	"fmt"
	"math"
	"math/rand/v2"
	"strings"
	"testing"

	"github.com/deen-mt/deen/nn"
	"github.com/deen-mt/deen/nn/nntest"
)

// naive computes the cross-attention sub-layer of layer l for one query row
// over the first n memory rows, in float64 from the weights.
func naive(t *testing.T, c *CrossAttn, l int, x []float32, mem []float32, n int) []float64 {
	t.Helper()
	a := &c.layers[l]
	d, heads := c.d, a.Heads
	hd := d / heads
	lin := func(w, b []float32, in []float64) []float64 {
		out := make([]float64, d)
		for i := range out {
			out[i] = float64(b[i])
			for j, v := range in {
				out[i] += v * float64(w[i*d+j])
			}
		}
		return out
	}
	f64 := func(s []float32) []float64 {
		o := make([]float64, len(s))
		for i, v := range s {
			o[i] = float64(v)
		}
		return o
	}
	q := lin(a.Q.W, a.Q.B, f64(x))
	att := make([]float64, d)
	for h := 0; h < heads; h++ {
		s := make([]float64, n)
		var z float64
		for j := range s {
			k := lin(a.K.W, a.K.B, f64(mem[j*d:(j+1)*d]))
			for c := h * hd; c < (h+1)*hd; c++ {
				s[j] += q[c] * k[c]
			}
			s[j] = math.Exp(s[j] / math.Sqrt(float64(hd)))
			z += s[j]
		}
		for j := range s {
			v := lin(a.V.W, a.V.B, f64(mem[j*d:(j+1)*d]))
			for c := h * hd; c < (h+1)*hd; c++ {
				att[c] += s[j] / z * v[c]
			}
		}
	}
	return lin(a.O.W, a.O.B, att)
}

func TestAttendAgainstNaive(t *testing.T) {
	cfg := nntest.Config()
	cfg.DModel, cfg.DecoderHeads, cfg.DecoderLayers = 24, 3, 2
	m := nntest.RandomModel(cfg, 1)
	c, err := New(m)
	if err != nil {
		t.Fatal(err)
	}
	rng := rand.New(rand.NewPCG(2, 3))
	d, batch, seqLen := cfg.DModel, 3, 7
	lengths := []int{7, 2, 5}
	mem := make([]float32, batch*seqLen*d)
	for i := range mem {
		mem[i] = rng.Float32()*4 - 2
	}
	// Rows of mixed sentences, some adjacent (grouped), some not.
	sentence := []int{1, 1, 0, 2, 2, 2, 0, 1}
	rows := len(sentence)
	x := make([]float32, rows*d)
	for i := range x {
		x[i] = rng.Float32()*2 - 1
	}
	// With reduced-precision q, k, v and o (the memory made by the copy
	// too) the four products each move their outputs by at most eps of
	// their weights' row scale (relative), int8 also by eps of its input
	// row's scale: to first order 4·eps (int8 8·eps) of the output's scale,
	// bounded here with 2× slack.
	for _, p := range []nn.Precision{nn.Float32, nn.Float16, nn.Int8} {
		cp, err := c.WithWeights(p)
		if err != nil {
			t.Fatal(err)
		}
		eps := map[nn.Precision]float64{nn.Float32: 0, nn.Float16: 1.0 / 2048, nn.Int8: 0.5 / 127}[p]
		orders := map[nn.Precision]float64{nn.Float32: 0, nn.Float16: 4, nn.Int8: 8}
		var s Scratch
		var worst float64
		for l := 0; l < cfg.DecoderLayers; l++ {
			out := make([]float32, rows*d)
			cp.Attend(l, cp.Memory(mem, batch, seqLen, lengths), x, rows, sentence, out, &s)
			want := make([]float64, 0, rows*d)
			var scale float64
			for r, b := range sentence {
				want = append(want, naive(t, c, l, x[r*d:(r+1)*d], mem[b*seqLen*d:], lengths[b])...)
			}
			for _, w := range want {
				scale = max(scale, math.Abs(w))
			}
			for i, w := range want {
				diff := math.Abs(float64(out[i]) - w)
				worst = max(worst, diff/scale)
				if !(diff <= 1e-5+2*orders[p]*eps*scale) {
					t.Fatalf("%v layer %d row %d (sentence %d) col %d: %g, want %g", p, l, i/d, sentence[i/d], i%d, out[i], w)
				}
			}
		}
		t.Logf("%v: max |Δ| %.2g of the output's scale", p, worst)
	}
}

func TestMemoryAccessorsAndErrors(t *testing.T) {
	cfg := nntest.Config()
	m := nntest.RandomModel(cfg, 1)
	c, err := New(m)
	if err != nil {
		t.Fatal(err)
	}
	if c.Layers() != cfg.DecoderLayers {
		t.Errorf("Layers() = %d", c.Layers())
	}
	mem := c.Memory(make([]float32, 2*3*cfg.DModel), 2, 3, nil)
	if mem.Batch() != 2 || mem.SeqLen() != 3 || mem.Length(1) != 3 {
		t.Errorf("memory batch %d seqLen %d length %d", mem.Batch(), mem.SeqLen(), mem.Length(1))
	}
	delete(m.Tensors, fmt.Sprintf("dec.%d.cross.v.bias", cfg.DecoderLayers-1))
	if _, err := New(m); err == nil || !strings.Contains(err.Error(), "cross.v.bias") {
		t.Errorf("missing tensor: error %v", err)
	}
	m.Tensors["dec.0.cross.q.weight"].Data[2] = float32(math.NaN())
	if _, err := c.WithWeights(nn.Int8); err == nil || !strings.Contains(err.Error(), "dec.0.cross.q.weight[2] is NaN") {
		t.Errorf("NaN weight: error %v", err)
	}
}
