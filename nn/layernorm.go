package nn

import "math"

// LayerNorm normalises each row of width D to zero mean and unit variance,
// then scales by W and shifts by B (both [D]).
type LayerNorm struct {
	// W is the scale (gamma) [D].
	W []float32
	// B is the shift (beta) [D].
	B []float32
	// D is the row width.
	D int
	// Eps is added to the variance before the square root.
	Eps float32
}

// LoadLayerNorm reads prefix.weight and prefix.bias [d] from g.
func LoadLayerNorm(g Getter, prefix string, d int, eps float32) (LayerNorm, error) {
	w, err := g.Get(prefix+".weight", d)
	if err != nil {
		return LayerNorm{}, err
	}
	b, err := g.Get(prefix+".bias", d)
	if err != nil {
		return LayerNorm{}, err
	}
	return LayerNorm{W: w, B: b, D: d, Eps: eps}, nil
}

// Forward normalises n rows of x into out (out may be x).
func (ln *LayerNorm) Forward(out, x []float32, n int) {
	LayerNormForward(out, nil, nil, x, ln.W, ln.B, n, ln.D, ln.Eps)
}

// LayerNormForward sets out[i] = (x[i]-mean)/sqrt(var+eps)·w + b for each of
// the n rows of width d (biased variance, as PyTorch). The statistics are
// accumulated in float64. mean and rstd [n] receive the row mean and
// 1/sqrt(var+eps) for the backward pass when not nil. out may be x.
func LayerNormForward(out, mean, rstd, x, w, b []float32, n, d int, eps float32) {
	need("LayerNormForward", "x", x, n*d)
	need("LayerNormForward", "out", out, n*d)
	need("LayerNormForward", "w", w, d)
	need("LayerNormForward", "b", b, d)
	for i := 0; i < n; i++ {
		row := x[i*d : (i+1)*d]
		var s float64
		for _, v := range row {
			s += float64(v)
		}
		m := s / float64(d)
		var ss float64
		for _, v := range row {
			dv := float64(v) - m
			ss += dv * dv
		}
		r := 1 / math.Sqrt(ss/float64(d)+float64(eps))
		m32, r32 := float32(m), float32(r)
		o := out[i*d : (i+1)*d]
		for j, v := range row {
			o[j] = (v-m32)*r32*w[j] + b[j]
		}
		if mean != nil {
			mean[i] = m32
		}
		if rstd != nil {
			rstd[i] = r32
		}
	}
}

// LayerNormBackward adds the gradients of LayerNormForward given its saved
// mean and rstd: dx, dw, db (any may be nil) from dout.
func LayerNormBackward(dx, dw, db, dout, x, mean, rstd, w []float32, n, d int) {
	need("LayerNormBackward", "dout", dout, n*d)
	for i := 0; i < n; i++ {
		xr, g := x[i*d:(i+1)*d], dout[i*d:(i+1)*d]
		m, r := mean[i], rstd[i]
		var gMean, gNormMean float64 // means of dnorm and dnorm·norm
		for j := range g {
			norm := (xr[j] - m) * r
			dnorm := g[j] * w[j]
			gMean += float64(dnorm)
			gNormMean += float64(dnorm * norm)
			if dw != nil {
				dw[j] += g[j] * norm
			}
			if db != nil {
				db[j] += g[j]
			}
		}
		if dx == nil {
			continue
		}
		a, c := float32(gMean/float64(d)), float32(gNormMean/float64(d))
		dxr := dx[i*d : (i+1)*d]
		for j := range g {
			norm := (xr[j] - m) * r
			dxr[j] += (g[j]*w[j] - a - norm*c) * r
		}
	}
}
