package nn

import (
	"math/rand/v2"
	"testing"
)

// Rows(ids).Forward gives exactly the outputs ids of Forward, at every
// precision, with and without a bias.
func TestLowLinearRows(t *testing.T) {
	rng := rand.New(rand.NewPCG(6, 7))
	for _, p := range []Precision{Float32, Float16, Int8} {
		for _, sz := range []struct{ n, in, out, rows int }{{1, 64, 300, 40}, {5, 17, 40, 40}, {70, 33, 9, 3}} {
			l := Linear{W: make([]float32, sz.out*sz.in), In: sz.in, Out: sz.out}
			for i := range l.W {
				l.W[i] = float32(rng.NormFloat64())
			}
			if sz.n > 1 {
				l.B = make([]float32, sz.out)
				for i := range l.B {
					l.B[i] = float32(rng.NormFloat64())
				}
			}
			low, err := NewLowLinear(&l, p, "w")
			if err != nil {
				t.Fatal(err)
			}
			ids := make([]int32, sz.rows)
			for i := range ids {
				ids[i] = int32(rng.IntN(sz.out))
			}
			x := make([]float32, sz.n*sz.in)
			for i := range x {
				x[i] = float32(rng.NormFloat64())
			}
			full, part := make([]float32, sz.n*sz.out), make([]float32, sz.n*sz.rows)
			low.Forward(full, x, sz.n)
			sub := low.Rows(ids)
			sub.Forward(part, x, sz.n)
			for i := range sz.n {
				for j, r := range ids {
					if got, want := part[i*sz.rows+j], full[i*sz.out+int(r)]; got != want {
						t.Fatalf("%v %+v: output [%d,%d] = %v, want output %d of the full layer, %v", p, sz, i, j, got, r, want)
					}
				}
			}
		}
	}
}
