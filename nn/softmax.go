package nn

import (
	"math"

	"github.com/deen-mt/deen/internal/kernels"
)

// SoftmaxRow replaces x by softmax(x), subtracting the maximum first.
func SoftmaxRow(x []float32) {
	m := kernels.Max(x)
	s := kernels.ExpSub(x, m)
	kernels.Scale(1/s, x)
}

// Softmax applies SoftmaxRow to the n rows of width cols of x, in place.
func Softmax(x []float32, n, cols int) {
	need("Softmax", "x", x, n*cols)
	for i := 0; i < n; i++ {
		SoftmaxRow(x[i*cols : (i+1)*cols])
	}
}

// SoftmaxBackward adds dx += y ⊙ (dy − rowsum(dy ⊙ y)) for n rows of width
// cols, y being the softmax output.
func SoftmaxBackward(dx, dy, y []float32, n, cols int) {
	need("SoftmaxBackward", "dx", dx, n*cols)
	for i := 0; i < n; i++ {
		yr, gr, dr := y[i*cols:(i+1)*cols], dy[i*cols:(i+1)*cols], dx[i*cols:(i+1)*cols]
		s := kernels.Dot(yr, gr)
		for j := range yr {
			dr[j] += yr[j] * (gr[j] - s)
		}
	}
}

// LogSumExp returns log Σ exp(x) computed stably, using scratch (len(x))
// for the exponentials.
func LogSumExp(x, scratch []float32) float32 {
	m := kernels.Max(x)
	s := scratch[:len(x)]
	copy(s, x)
	return m + float32(math.Log(float64(kernels.ExpSub(s, m))))
}

// LogSoftmax sets out = x − logsumexp(x) for each of the n rows of width
// cols (out may not be x).
func LogSoftmax(out, x []float32, n, cols int) {
	need("LogSoftmax", "out", out, n*cols)
	need("LogSoftmax", "x", x, n*cols)
	for i := 0; i < n; i++ {
		xr, o := x[i*cols:(i+1)*cols], out[i*cols:(i+1)*cols]
		lse := LogSumExp(xr, o)
		for j, v := range xr {
			o[j] = v - lse
		}
	}
}

// LogSoftmaxBackward adds dx += dout − exp(out)·rowsum(dout), out being the
// log-softmax output.
func LogSoftmaxBackward(dx, dout, out []float32, n, cols int) {
	need("LogSoftmaxBackward", "dx", dx, n*cols)
	for i := 0; i < n; i++ {
		g, o, dr := dout[i*cols:(i+1)*cols], out[i*cols:(i+1)*cols], dx[i*cols:(i+1)*cols]
		s := kernels.Sum(g)
		for j := range g {
			dr[j] += g[j] - float32(math.Exp(float64(o[j])))*s
		}
	}
}
