package kernels

import (
	"math/rand"
	"reflect"
	"testing"
)

// Gathering rows of a packed matrix equals packing the gathered rows, and
// its products are the gathered columns of the full product, bit for bit.
func TestGatherRows(t *testing.T) {
	rng := rand.New(rand.NewSource(3))
	for _, sh := range []struct{ rows, cols, n int }{{5, 3, 2}, {70, 17, 40}, {33, 64, 33}, {100, 9, 1}} {
		w := make([]float32, sh.rows*sh.cols)
		for i := range w {
			w[i] = float32(rng.NormFloat64())
		}
		ids := make([]int32, sh.n)
		for i := range ids {
			ids[i] = int32(rng.Intn(sh.rows))
		}
		sub := make([]float32, 0, sh.n*sh.cols)
		for _, r := range ids {
			sub = append(sub, w[int(r)*sh.cols:(int(r)+1)*sh.cols]...)
		}
		q := QuantizeQ8(w, sh.rows, sh.cols)
		if got, want := GatherI8Rows(PackI8(q), ids), PackI8(QuantizeQ8(sub, sh.n, sh.cols)); !reflect.DeepEqual(got, want) {
			t.Fatalf("%v: GatherI8Rows differs from packing the rows", sh)
		}
		if got, want := GatherF16Rows(ToF16(w, sh.rows, sh.cols), ids), ToF16(sub, sh.n, sh.cols); !reflect.DeepEqual(got, want) {
			t.Fatalf("%v: GatherF16Rows differs from converting the rows", sh)
		}
		const m = 3
		x := make([]float32, m*sh.cols)
		for i := range x {
			x[i] = float32(rng.NormFloat64())
		}
		full, part := make([]float32, m*sh.rows), make([]float32, m*sh.n)
		MulI8T(m, x, sh.cols, PackI8(q), full, sh.rows, false)
		MulI8T(m, x, sh.cols, GatherI8Rows(PackI8(q), ids), part, sh.n, false)
		for i := range m {
			for j, r := range ids {
				if part[i*sh.n+j] != full[i*sh.rows+int(r)] {
					t.Fatalf("%v: product [%d,%d] = %v, full product's column %d = %v", sh, i, j, part[i*sh.n+j], r, full[i*sh.rows+int(r)])
				}
			}
		}
	}
}
