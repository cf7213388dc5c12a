package nn

import "github.com/deen-mt/deen/internal/kernels"

// Linear is a dense layer y = x·Wᵀ + b with W [Out, In] (PyTorch layout)
// and b [Out] (nil for no bias).
type Linear struct {
	// W is the weight [Out·In], row-major: row o holds the weights of output o.
	W []float32
	// B is the bias [Out], or nil for none.
	B []float32
	// In is the input width.
	In int
	// Out is the output width.
	Out int
}

// LoadLinear reads prefix.weight [out, in] and prefix.bias [out] from g.
func LoadLinear(g Getter, prefix string, out, in int) (Linear, error) {
	w, err := g.Get(prefix+".weight", out, in)
	if err != nil {
		return Linear{}, err
	}
	b, err := g.Get(prefix+".bias", out)
	if err != nil {
		return Linear{}, err
	}
	return Linear{W: w, B: b, In: in, Out: out}, nil
}

// Forward sets y [n·Out] = x [n·In] · Wᵀ + b.
func (l *Linear) Forward(y, x []float32, n int) { LinearForward(y, x, l.W, l.B, n, l.In, l.Out) }

// LinearForward sets out [n·outDim] = x [n·in] · wᵀ + b, w [outDim·in],
// b [outDim] or nil: one Gemm.
func LinearForward(out, x, w, b []float32, n, in, outDim int) {
	need("LinearForward", "out", out, n*outDim)
	need("LinearForward", "x", x, n*in)
	need("LinearForward", "w", w, outDim*in)
	kernels.Gemm(false, true, n, outDim, in, 1, x, in, w, in, 0, out, outDim)
	if b != nil {
		need("LinearForward", "b", b, outDim)
		for i := 0; i < n; i++ {
			kernels.Add(out[i*outDim:(i+1)*outDim], b[:outDim])
		}
	}
}

// LinearBackward adds the gradients of LinearForward: dx [n·in] += dout·w,
// dw [outDim·in] += doutᵀ·x, db [outDim] += column sums of dout. Any of dx,
// dw, db may be nil.
func LinearBackward(dx, dw, db, dout, x, w []float32, n, in, outDim int) {
	need("LinearBackward", "dout", dout, n*outDim)
	if dx != nil {
		need("LinearBackward", "dx", dx, n*in)
		kernels.Gemm(false, false, n, in, outDim, 1, dout, outDim, w, in, 1, dx, in)
	}
	if dw != nil {
		need("LinearBackward", "dw", dw, outDim*in)
		kernels.Gemm(true, false, outDim, in, n, 1, dout, outDim, x, in, 1, dw, in)
	}
	if db != nil {
		need("LinearBackward", "db", db, outDim)
		for i := 0; i < n; i++ {
			kernels.Add(db[:outDim], dout[i*outDim:(i+1)*outDim])
		}
	}
}
