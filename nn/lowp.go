package nn

import (
	"fmt"
	"math"

	"github.com/deen-mt/deen/internal/kernels"
)

// Precision is how inference stores the weight of a Linear: float32, or a
// reduced-precision copy that reads fewer bytes per product (which is what
// a decoder step at small batch is bound by). Training never uses it.
type Precision int

// The weight precisions of LowLinear.
const (
	// Float32 multiplies the Linear's own weights.
	Float32 Precision = iota
	// Float16 multiplies a half-float copy (kernels.F16), half the bytes.
	Float16
	// Int8 holds an int8 copy with one float32 scale per row, a quarter of
	// the bytes, and multiplies it with x quantised to int8 per row on the
	// fly: integer products (kernels.MulI8T; AVX-512 VNNI where the CPU has
	// it), which is what makes batched steps, bound by arithmetic, faster.
	Int8
)

// String returns the name ParsePrecision reads: "f32", "f16" or "int8".
func (p Precision) String() string {
	switch p {
	case Float32:
		return "f32"
	case Float16:
		return "f16"
	case Int8:
		return "int8"
	}
	return fmt.Sprintf("Precision(%d)", int(p))
}

// ParsePrecision returns the Precision named s ("f32", "f16" or "int8").
func ParsePrecision(s string) (Precision, error) {
	for _, p := range []Precision{Float32, Float16, Int8} {
		if s == p.String() {
			return p, nil
		}
	}
	return 0, fmt.Errorf("weight precision %q: want f32, f16 or int8", s)
}

// LowLinear is a Linear for inference whose weight may also be held at
// reduced precision; Forward multiplies that copy. The Linear itself (and so
// every training path) is unchanged. The zero value is not usable.
type LowLinear struct {
	// L is the float32 layer; its bias is used as is.
	L   *Linear
	i8  *kernels.I8
	f16 *kernels.F16
	// lazy, when not nil, reads L.W (Weights.Float32) before a float32
	// product: a weight the model keeps at reduced precision.
	lazy *Weights
}

// NewLowLinear returns l with its weight copied to precision p (none for
// Float32). The error names the weight, as name[index], that p cannot hold
// (NaN, ±Inf, or beyond ±65504 for Float16).
func NewLowLinear(l *Linear, p Precision, name string) (LowLinear, error) {
	ll := LowLinear{L: l}
	need("NewLowLinear", "w", l.W, l.Out*l.In)
	limit := math.MaxFloat32
	switch p {
	case Float32:
		return ll, nil
	case Float16:
		limit = 65504 // the largest finite half float
	case Int8:
	default:
		return ll, fmt.Errorf("weight precision %v: want f32, f16 or int8", p)
	}
	if w := l.W[:l.Out*l.In]; !(float64(kernels.MaxAbs(w)) <= limit) { // then find the culprit
		for i, v := range w {
			if !(math.Abs(float64(v)) <= limit) {
				return ll, fmt.Errorf("%s[%d] is %v, which %v weights cannot hold; use f32 weights", name, i, v, p)
			}
		}
	}
	if p == Int8 {
		q := kernels.PackI8(kernels.QuantizeQ8(l.W, l.Out, l.In))
		ll.i8 = &q
	} else {
		h := kernels.ToF16(l.W, l.Out, l.In)
		ll.f16 = &h
	}
	return ll, nil
}

// Forward sets y [n·Out] = x [n·In]·Wᵀ + b with the weight at the
// layer's precision; for Float32 exactly Linear.Forward.
func (l *LowLinear) Forward(y, x []float32, n int) {
	in, out := l.L.In, l.L.Out
	switch {
	case l.i8 != nil:
		kernels.MulI8TBias(n, x, in, *l.i8, l.L.B, y, out) // the bias added in the kernel
		return
	case l.f16 != nil:
		kernels.MulF16T(n, x, in, *l.f16, y, out, false)
	default:
		if l.lazy != nil {
			l.lazy.Float32()
		}
		l.L.Forward(y, x, n)
		return
	}
	if l.L.B != nil {
		for i := 0; i < n; i++ {
			kernels.Add(y[i*out:(i+1)*out], l.L.B[:out])
		}
	}
}
