package decoder

import (
	"fmt"

	"github.com/deen-mt/deen/nn"
)

// Precision is how the weights that Step multiplies are stored: the tied
// output projection (embed.weight) and every decoder layer's Linear weights
// (self-attention, cross-attention queries and output, feed-forward).
// Reduced precision reads fewer bytes per step, which is what a decoder step
// at small batch is bound by. Forward (teacher forcing: scoring, training,
// tests) always reads float32.
type Precision = nn.Precision

// The weight precisions of WithWeights.
const (
	// Float32 multiplies the model's own weights (the default).
	Float32 = nn.Float32
	// Float16 multiplies half-float copies (kernels.F16), half the bytes.
	Float16 = nn.Float16
	// Int8 multiplies int8 copies with one float32 scale per row
	// (kernels.Q8), a quarter of the bytes.
	Int8 = nn.Int8
)

// ParsePrecision returns the Precision named s ("f32", "f16" or "int8").
func ParsePrecision(s string) (Precision, error) { return nn.ParsePrecision(s) }

// Option changes how New builds a Decoder.
type Option func(*options)

type options struct{ weights Precision }

// WithWeights sets the precision of the weights Step multiplies (default
// Float32). A matrix the model keeps at that precision (read with
// nn.StoredReadOptions) is multiplied as stored, and a kept embedding is
// looked up a row at a time: no float32 copy is made until Forward or
// Alignment first needs one. Otherwise reduced precision keeps the float32
// weights too and adds the copies.
func WithWeights(p Precision) Option {
	return func(o *options) { o.weights = p }
}

// stepWeights sets up the weights Step multiplies at precision p: the
// output projection and each layer's self-attention and feed-forward
// Linears (plain float32 wrappers for Float32), and the cross-attention's.
func (d *Decoder) stepWeights(p Precision) error {
	d.outLinear = nn.Linear{W: d.embed.Table, In: d.d, Out: d.vocab}
	var err error
	if d.out, err = d.w.Low(&d.outLinear, p, "embed.weight"); err != nil {
		return err
	}
	for i := range d.layers {
		l := &d.layers[i]
		for _, w := range []struct {
			name string
			l    *nn.Linear
			low  *nn.LowLinear
		}{
			{"self.q", &l.self.Q, &l.q}, {"self.k", &l.self.K, &l.k}, {"self.v", &l.self.V, &l.v}, {"self.o", &l.self.O, &l.o},
			{"fc1", &l.ffn.FC1, &l.fc1}, {"fc2", &l.ffn.FC2, &l.fc2},
		} {
			if *w.low, err = d.w.Low(w.l, p, fmt.Sprintf("dec.%d.%s.weight", i, w.name)); err != nil {
				return err
			}
		}
	}
	d.crossStep, err = d.cross.WithWeights(p)
	return err
}
