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
	for pos := 0; pos < n; pos++ {
		row := p[pos*d : (pos+1)*d]
		for c := 0; c < h; c++ {
			row[c] = float32(math.Sin(angle(pos, c, d)))
		}
		for c := 0; h+c < d; c++ {
			row[h+c] = float32(math.Cos(angle(pos, c, d)))
		}
	}
	return p
}

// SinusoidalInterleaved returns the [n·d] position table of "Attention is
// all you need": P[pos][2i] = sin(pos/10000^(2i/d)), P[pos][2i+1] =
// cos(pos/10000^(2i/d)), computed in float64 and stored as float32.
func SinusoidalInterleaved(n, d int) []float32 {
	p := make([]float32, n*d)
	for pos := 0; pos < n; pos++ {
		row := p[pos*d : (pos+1)*d]
		for c := range row {
			a := angle(pos, c/2, d)
			if c%2 == 0 {
				row[c] = float32(math.Sin(a))
			} else {
				row[c] = float32(math.Cos(a))
			}
		}
	}
	return p
}

// angle is pos/10000^(2i/d) in float64.
func angle(pos, i, d int) float64 {
	return float64(pos) / math.Pow(10000, float64(2*i)/float64(d))
}
