package nn

import (
	"fmt"
	"math"

	"github.com/deen-mt/deen/internal/kernels"
)

// Activation is an element-wise non-linearity of the feed-forward blocks.
type Activation int

// The activations. ReLU and GELU are computed in float64 and rounded to
// float32, SiLU in float32 by kernels.SiLU (the vectorised exp, a few ulps).
const (
	// ReLU is max(0, x).
	ReLU Activation = iota
	// SiLU (swish) is x·sigmoid(x).
	SiLU
	// GELU is the exact (erf) GELU x·Φ(x).
	GELU
)

// ParseActivation maps a config name ("relu", "swish" or "silu", "gelu") to
// its Activation.
func ParseActivation(name string) (Activation, error) {
	switch name {
	case "relu":
		return ReLU, nil
	case "swish", "silu":
		return SiLU, nil
	case "gelu":
		return GELU, nil
	}
	return 0, fmt.Errorf("unknown activation %q (want relu, swish or gelu)", name)
}

// String returns the config name of a.
func (a Activation) String() string {
	switch a {
	case ReLU:
		return "relu"
	case SiLU:
		return "swish"
	case GELU:
		return "gelu"
	}
	return fmt.Sprintf("Activation(%d)", int(a))
}

// Forward sets out[i] = a(x[i]); out may be x.
func (a Activation) Forward(out, x []float32) {
	need("Activation.Forward", "out", out, len(x))
	switch a {
	case ReLU:
		for i, v := range x {
			out[i] = max(v, 0)
		}
	case SiLU:
		kernels.SiLU(out, x)
	case GELU:
		for i, v := range x {
			f := float64(v)
			out[i] = float32(0.5 * f * (1 + math.Erf(f/math.Sqrt2)))
		}
	default:
		panic("nn: unknown activation " + a.String())
	}
}

// Backward adds dx[i] += dout[i]·a'(x[i]), x being the forward input.
func (a Activation) Backward(dx, dout, x []float32) {
	need("Activation.Backward", "dout", dout, len(x))
	need("Activation.Backward", "dx", dx, len(x))
	switch a {
	case ReLU:
		for i, v := range x {
			if v > 0 {
				dx[i] += dout[i]
			}
		}
	case SiLU:
		for i, v := range x {
			f := float64(v)
			s := 1 / (1 + math.Exp(-f))
			dx[i] += dout[i] * float32(s*(1+f*(1-s)))
		}
	case GELU:
		for i, v := range x {
			f := float64(v)
			cdf := 0.5 * (1 + math.Erf(f/math.Sqrt2))
			pdf := math.Exp(-0.5*f*f) / math.Sqrt(2*math.Pi)
			dx[i] += dout[i] * float32(cdf+f*pdf)
		}
	default:
		panic("nn: unknown activation " + a.String())
	}
}

// FeedForward is the position-wise block FC2(act(FC1(x))).
type FeedForward struct {
	// FC1 widens the input to the inner width [ffn, d].
	FC1 Linear
	// FC2 narrows the activations back to the model width [d, ffn].
	FC2 Linear
	// Act is the activation between FC1 and FC2.
	Act Activation
}

// LoadFeedForward reads prefix+"fc1" [ffn, d] and prefix+"fc2" [d, ffn].
func LoadFeedForward(g Getter, prefix string, d, ffn int, act Activation) (FeedForward, error) {
	fc1, err := LoadLinear(g, prefix+"fc1", ffn, d)
	if err != nil {
		return FeedForward{}, err
	}
	fc2, err := LoadLinear(g, prefix+"fc2", d, ffn)
	if err != nil {
		return FeedForward{}, err
	}
	return FeedForward{FC1: fc1, FC2: fc2, Act: act}, nil
}

// Forward sets out [n·d] = FC2(act(FC1(x))) using hidden [n·ffn] as scratch.
func (f *FeedForward) Forward(out, x, hidden []float32, n int) {
	f.ForwardWith(&f.FC1, &f.FC2, out, x, hidden, n)
}

// ForwardWith is Forward multiplying with fc1 and fc2 (copies of the
// layer's at another precision) instead of its Linears.
func (f *FeedForward) ForwardWith(fc1, fc2 Projector, out, x, hidden []float32, n int) {
	h := hidden[:n*f.FC1.Out]
	fc1.Forward(h, x, n)
	f.Act.Forward(h, h)
	fc2.Forward(out, h, n)
}
