package decoder

import (
	"math"
	"testing"
)

// Alignment rows are distributions over the real source tokens, and a
// sentence's rows are the same batched (padded) as alone.
func TestAlignment(t *testing.T) {
	for name, c := range shapes() {
		t.Run(name, func(t *testing.T) {
			f := newFixture(t, c, 5)
			tgtLen, tgtLens := 5, []int{5, 2, 4}
			ids := f.ids(3 * tgtLen)
			al := f.dec.Alignment(f.memory, ids, 3, tgtLen, tgtLens)
			if len(al) != 3*tgtLen*f.seqLen {
				t.Fatalf("len %d, want %d", len(al), 3*tgtLen*f.seqLen)
			}
			for b, n := range tgtLens {
				mem := f.dec.CrossAttn().Memory(f.sentenceMemory(b), 1, f.lengths[b], nil)
				alone := f.dec.Alignment(mem, ids[b*tgtLen:b*tgtLen+n], 1, n, nil)
				for i := range n {
					row := al[(b*tgtLen+i)*f.seqLen : (b*tgtLen+i+1)*f.seqLen]
					sum := 0.0
					for k, p := range row {
						if k >= f.lengths[b] && p != 0 {
							t.Fatalf("sentence %d row %d: weight %g on padding key %d", b, i, p, k)
						}
						if p < 0 || p > 1 {
							t.Fatalf("sentence %d row %d: weight %g", b, i, p)
						}
						sum += float64(p)
					}
					if math.Abs(sum-1) > 1e-5 {
						t.Errorf("sentence %d row %d sums to %g", b, i, sum)
					}
					if d := maxAbs(row[:f.lengths[b]], alone[i*f.lengths[b]:(i+1)*f.lengths[b]]); d > 1e-5 {
						t.Errorf("sentence %d row %d: batched vs alone max |Δ| %g", b, i, d)
					}
				}
			}
		})
	}
}
