package decoder

import (
	"fmt"
	"math"

	"github.com/deen-mt/deen/internal/kernels"
	"github.com/deen-mt/deen/internal/nn"
)

// Precision is how the weights that Step multiplies are stored: the tied
// output projection (embed.weight) and every decoder layer's self-attention
// and feed-forward Linear weights. Reduced precision reads fewer bytes per
// step, which is what a decoder step at small batch is bound by. Forward
// (teacher forcing: scoring, training, tests) always reads float32.
type Precision int

// The weight precisions of WithWeights.
const (
	// Float32 multiplies the model's own weights (the default).
	Float32 Precision = iota
	// Float16 multiplies half-float copies (kernels.F16), half the bytes.
	Float16
	// Int8 multiplies int8 copies with one float32 scale per row
	// (kernels.Q8), a quarter of the bytes.
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

// Option changes how New builds a Decoder.
type Option func(*options)

type options struct{ weights Precision }

// WithWeights sets the precision of the weights Step multiplies (default
// Float32). Reduced precision keeps the float32 weights too (the embedding
// lookup and Forward read them) and adds the copies.
func WithWeights(p Precision) Option {
	return func(o *options) { o.weights = p }
}

// matrix is a weight [rows×cols] stored at reduced precision: exactly one of
// q8 and f16 is set.
type matrix struct {
	q8  *kernels.Q8
	f16 *kernels.F16
}

// lowPrecision returns the copy of the weight w [rows×cols] named name at
// precision p, or nil for Float32. The error names a weight that has a
// value p cannot store (NaN, ±Inf, or beyond the half-float range).
func lowPrecision(p Precision, name string, w []float32, rows, cols int) (*matrix, error) {
	limit := math.MaxFloat32
	switch p {
	case Float32:
		return nil, nil
	case Float16:
		limit = 65504 // the largest finite half float
	case Int8:
	default:
		return nil, fmt.Errorf("weight precision %v: want Float32, Float16 or Int8", p)
	}
	for i, v := range w[:rows*cols] {
		if !(math.Abs(float64(v)) <= limit) {
			return nil, fmt.Errorf("%s[%d] is %v, which %v weights cannot hold; use f32 weights", name, i, v, p)
		}
	}
	if p == Int8 {
		q := kernels.QuantizeQ8(w, rows, cols)
		return &matrix{q8: &q}, nil
	}
	h := kernels.ToF16(w, rows, cols)
	return &matrix{f16: &h}, nil
}

// linear sets y [n·l.Out] = x [n·l.In]·Wᵀ + b for the Linear l, reading the
// reduced-precision copy m of its weight when m is not nil.
func linear(l *nn.Linear, m *matrix, y, x []float32, n int) {
	if m == nil {
		l.Forward(y, x, n)
		return
	}
	m.mulT(y[:n*l.Out], x[:n*l.In], n, l.In, l.Out)
	if l.B != nil {
		for r := 0; r < n; r++ {
			kernels.Add(y[r*l.Out:(r+1)*l.Out], l.B)
		}
	}
}

// mulT sets y [n·rows] = x [n·cols]·Wᵀ.
func (m *matrix) mulT(y, x []float32, n, cols, rows int) {
	if m.q8 != nil {
		kernels.MulQ8T(n, x, cols, *m.q8, y, rows, false)
		return
	}
	kernels.MulF16T(n, x, cols, *m.f16, y, rows, false)
}

// lowWeights makes the reduced-precision copies of the weights Step
// multiplies (nothing for Float32).
func (d *Decoder) lowWeights(p Precision) error {
	var err error
	if d.out, err = lowPrecision(p, "embed.weight", d.embed.Table, d.vocab, d.d); err != nil {
		return err
	}
	for i := range d.layers {
		l := &d.layers[i]
		for _, w := range []struct {
			name string
			l    *nn.Linear
			m    **matrix
		}{
			{"self.q", &l.self.Q, &l.q}, {"self.k", &l.self.K, &l.k}, {"self.v", &l.self.V, &l.v}, {"self.o", &l.self.O, &l.o},
			{"fc1", &l.ffn.FC1, &l.fc1}, {"fc2", &l.ffn.FC2, &l.fc2},
		} {
			name := fmt.Sprintf("dec.%d.%s.weight", i, w.name)
			if *w.m, err = lowPrecision(p, name, w.l.W, w.l.Out, w.l.In); err != nil {
				return err
			}
		}
	}
	return nil
}
