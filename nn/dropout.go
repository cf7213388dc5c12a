package nn

import "math/rand/v2"

// Dropout zeroes each value of x with probability p and scales the others
// by 1/(1−p), recording the factor of each value in mask [len(x)] for the
// backward pass. With p == 0 (inference) it does nothing and mask may be nil.
func Dropout(x, mask []float32, p float32, rng *rand.Rand) {
	if p == 0 {
		return
	}
	need("Dropout", "mask", mask, len(x))
	keep := 1 / (1 - p)
	for i := range x {
		if rng.Float32() < p {
			mask[i] = 0
		} else {
			mask[i] = keep
		}
		x[i] *= mask[i]
	}
}

// DropoutBackward adds dx += dout ⊙ mask; with p == 0 pass mask nil and it
// adds dout.
func DropoutBackward(dx, dout, mask []float32) {
	need("DropoutBackward", "dx", dx, len(dout))
	for i, g := range dout {
		if mask != nil {
			g *= mask[i]
		}
		dx[i] += g
	}
}
