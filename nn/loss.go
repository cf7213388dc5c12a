package nn

import (
	"math"

	"github.com/deen-mt/deen/internal/kernels"
)

// CrossEntropyForward computes, for each of the n rows of logits [n·V], the
// label-smoothed cross-entropy
//
//	loss = (1−ε)·(−log p[target]) + ε·mean_j(−log p[j])
//
// (PyTorch's CrossEntropyLoss(label_smoothing=ε)) into losses [n], and the
// softmax p into probs [n·V] for the backward pass. Rows whose target is
// ignore (e.g. padding) get loss 0. It returns the sum of the losses
// (float64) and the number of rows counted.
func CrossEntropyForward(losses, probs, logits []float32, targets []int32, n, v int, smoothing float32, ignore int32) (sum float64, count int) {
	need("CrossEntropyForward", "logits", logits, n*v)
	need("CrossEntropyForward", "probs", probs, n*v)
	need("CrossEntropyForward", "losses", losses, n)
	eps := float64(smoothing)
	for i := 0; i < n; i++ {
		x, p := logits[i*v:(i+1)*v], probs[i*v:(i+1)*v]
		copy(p, x)
		m := kernels.Max(p)
		s := kernels.ExpSub(p, m)
		kernels.Scale(1/s, p)
		if targets[i] == ignore {
			losses[i] = 0
			continue
		}
		lse := float64(m) + math.Log(float64(s))
		var total float64
		for _, xv := range x {
			total += float64(xv)
		}
		l := (1-eps)*(lse-float64(x[targets[i]])) + eps*(lse-total/float64(v))
		losses[i] = float32(l)
		sum += l
		count++
	}
	return sum, count
}

// CrossEntropyBackward adds to dlogits [n·V] the gradient of
// scale·Σ losses (scale is e.g. 1/count): for each counted row,
// scale·(p − (1−ε)·onehot(target) − ε/V).
func CrossEntropyBackward(dlogits, probs []float32, targets []int32, n, v int, smoothing float32, ignore int32, scale float32) {
	need("CrossEntropyBackward", "dlogits", dlogits, n*v)
	u := smoothing / float32(v)
	for i := 0; i < n; i++ {
		if targets[i] == ignore {
			continue
		}
		p, g := probs[i*v:(i+1)*v], dlogits[i*v:(i+1)*v]
		for j := range p {
			g[j] += scale * (p[j] - u)
		}
		g[targets[i]] -= scale * (1 - smoothing)
	}
}
