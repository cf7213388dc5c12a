package nntest

// CentralDiff returns the numeric derivative of loss with respect to x[i]
// by central differences, (loss(x[i]+h) − loss(x[i]−h)) / 2h, with the
// steps taken in float32 and x[i] restored; gradient tests compare the
// analytic gradients of the layers against it.
func CentralDiff(x []float32, i int, h float64, loss func() float64) float64 {
	old := x[i]
	x[i] = old + float32(h)
	lp := loss()
	x[i] = old - float32(h)
	lm := loss()
	x[i] = old
	return (lp - lm) / (2 * h)
}
