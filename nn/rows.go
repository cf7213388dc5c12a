package nn

import (
	"fmt"

	"github.com/deen-mt/deen/internal/kernels"
)

// Rows returns the layer whose output i is output ids[i] of l: its weight
// rows (at l's precision) and bias entries gathered, so Forward gives
// exactly those outputs of l's Forward. A vocabulary shortlist multiplies
// only the candidate rows of the output projection this way. Only the
// gathered precision's weight is copied (len(ids)·In values); ids must lie
// in 0..Out−1.
func (l *LowLinear) Rows(ids []int32) LowLinear {
	in, out := l.L.In, l.L.Out
	sub := &Linear{In: in, Out: len(ids)}
	for _, r := range ids {
		if r < 0 || int(r) >= out {
			panic(fmt.Sprintf("nn: LowLinear.Rows: row %d of a layer of %d outputs", r, out))
		}
	}
	if l.L.B != nil {
		sub.B = make([]float32, len(ids))
		for i, r := range ids {
			sub.B[i] = l.L.B[r]
		}
	}
	g := LowLinear{L: sub}
	switch {
	case l.i8 != nil:
		q := kernels.GatherI8Rows(*l.i8, ids)
		g.i8 = &q
	case l.f16 != nil:
		h := kernels.GatherF16Rows(*l.f16, ids)
		g.f16 = &h
	default:
		if l.lazy != nil {
			l.lazy.Float32()
		}
		sub.W = make([]float32, len(ids)*in)
		for i, r := range ids {
			copy(sub.W[i*in:(i+1)*in], l.L.W[int(r)*in:(int(r)+1)*in])
		}
	}
	return g
}
