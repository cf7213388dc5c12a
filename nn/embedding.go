package nn

import (
	"fmt"
	"math"

	"github.com/deen-mt/deen/internal/kernels"
)

// Embedding gathers rows: out[i] = table[ids[i]]·scale for the len(ids)
// ids, table [V·d]. Ids outside the table panic.
func Embedding(out []float32, ids []int32, table []float32, d int, scale float32) {
	need("Embedding", "out", out, len(ids)*d)
	v := len(table) / d
	for i, id := range ids {
		if id < 0 || int(id) >= v {
			panic(fmt.Sprintf("nn: Embedding: id %d outside the vocabulary 0..%d", id, v-1))
		}
		o := out[i*d : (i+1)*d]
		copy(o, table[int(id)*d:(int(id)+1)*d])
		if scale != 1 {
			kernels.Scale(scale, o)
		}
	}
}

// EmbeddingBackward scatter-adds dtable[ids[i]] += scale·dout[i].
func EmbeddingBackward(dtable, dout []float32, ids []int32, d int, scale float32) {
	need("EmbeddingBackward", "dout", dout, len(ids)*d)
	for i, id := range ids {
		kernels.Axpy(scale, dout[i*d:(i+1)*d], dtable[int(id)*d:(int(id)+1)*d])
	}
}

// Residual sets out = a + b (out may be a or b).
func Residual(out, a, b []float32) {
	need("Residual", "out", out, len(a))
	need("Residual", "b", b, len(a))
	for i := range a {
		out[i] = a[i] + b[i]
	}
}

// ResidualBackward adds dout to both inputs' gradients (either may be nil).
func ResidualBackward(da, db, dout []float32) {
	if da != nil {
		kernels.Add(da[:len(dout)], dout)
	}
	if db != nil {
		kernels.Add(db[:len(dout)], dout)
	}
}

// SinusoidalMarian returns the [n·d] position table of Marian / Hugging
// Face MarianSinusoidalPositionalEmbedding: with h = ceil(d/2), for c < h
// P[pos][c] = sin(pos/10000^(2c/d)) and for c < d−h P[pos][h+c] =
// cos(pos/10000^(2c/d)) (sin half, then cos half), computed in float64 and
// stored as float32.
func SinusoidalMarian(n, d int) []float32 {
	p := make([]float32, n*d)
	h := (d + 1) / 2
	freq := frequencies(h, d)
	for pos := 0; pos < n; pos++ {
		row := p[pos*d : (pos+1)*d]
		for c := 0; c < h; c++ {
			row[c] = float32(math.Sin(float64(pos) / freq[c]))
		}
		for c := 0; h+c < d; c++ {
			row[h+c] = float32(math.Cos(float64(pos) / freq[c]))
		}
	}
	return p
}

// SinusoidalInterleaved returns the [n·d] position table of "Attention is
// all you need": P[pos][2i] = sin(pos/10000^(2i/d)), P[pos][2i+1] =
// cos(pos/10000^(2i/d)), computed in float64 and stored as float32.
func SinusoidalInterleaved(n, d int) []float32 {
	p := make([]float32, n*d)
	freq := frequencies((d+1)/2, d)
	for pos := 0; pos < n; pos++ {
		row := p[pos*d : (pos+1)*d]
		for c := range row {
			a := float64(pos) / freq[c/2]
			if c%2 == 0 {
				row[c] = float32(math.Sin(a))
			} else {
				row[c] = float32(math.Cos(a))
			}
		}
	}
	return p
}

// frequencies returns 10000^(2i/d) for i < h in float64: the angle of
// position pos in column pair i is pos divided by it (computed once per
// column, not per position: a table is built at every load).
func frequencies(h, d int) []float64 {
	f := make([]float64, h)
	for i := range f {
		f[i] = math.Pow(10000, float64(2*i)/float64(d))
	}
	return f
}
