package kernels

import (
	"math"
	"sync"
)

// generic is the pure-Go implementation, available everywhere.
var generic = &impl{
	name: "generic",
	mr:   4, nr: 4, mc: 128, kc: 256, nc: 1024,
	kernel:     kernelGeneric,
	dotRows:    dotRowsGeneric,
	dotX4:      dotX4Generic,
	transpose8: transpose8Generic,
	widenQ8:    widenQ8Generic,
	widenF16:   widenF16Generic,
	dot:        dotGeneric,
	axpy:       axpyGeneric,
	dotHeads:   func(x, y []float32, hd int, out []float32) { dotHeadsWith(dotGeneric, x, y, hd, out) },
	axpyHeads:  func(alpha, x []float32, hd int, y []float32) { axpyHeadsWith(axpyGeneric, alpha, x, hd, y) },
	add:        addGeneric,
	scale:      scaleGeneric,
	sum:        sumGeneric,
	max:        maxGeneric,
	expSub:     expSubGeneric,
	silu:       siluGeneric,
	maxExpSum:  maxExpSumGeneric,
	i8Kernel:   i8KernelGeneric,
	maxAbs:     maxAbsGeneric,
	quantRow:   quantRowGeneric,
	quantPanel: quantPanelGeneric,
}

// kernelGeneric is the 4×4 micro-kernel in Go.
func kernelGeneric(k int, ap, bp, c []float32, ldc int, beta float32) {
	var c00, c01, c02, c03, c10, c11, c12, c13, c20, c21, c22, c23, c30, c31, c32, c33 float32
	ap, bp = ap[:4*k], bp[:4*k]
	for p := 0; p < 4*k; p += 4 {
		a := ap[p : p+4 : p+4]
		b := bp[p : p+4 : p+4]
		a0, a1, a2, a3 := a[0], a[1], a[2], a[3]
		b0, b1, b2, b3 := b[0], b[1], b[2], b[3]
		c00 += a0 * b0
		c01 += a0 * b1
		c02 += a0 * b2
		c03 += a0 * b3
		c10 += a1 * b0
		c11 += a1 * b1
		c12 += a1 * b2
		c13 += a1 * b3
		c20 += a2 * b0
		c21 += a2 * b1
		c22 += a2 * b2
		c23 += a2 * b3
		c30 += a3 * b0
		c31 += a3 * b1
		c32 += a3 * b2
		c33 += a3 * b3
	}
	acc := [4][4]float32{{c00, c01, c02, c03}, {c10, c11, c12, c13}, {c20, c21, c22, c23}, {c30, c31, c32, c33}}
	for i := range 4 {
		row := c[i*ldc : i*ldc+4]
		for t, v := range acc[i] {
			if beta == 0 {
				row[t] = v
			} else {
				row[t] = v + beta*row[t]
			}
		}
	}
}

func transpose8Generic(src []float32, lds int, dst []float32, ldd, n int) {
	for r := range 8 {
		for c, v := range src[r*lds : r*lds+n] {
			dst[c*ldd+r] = v
		}
	}
}

func dotRowsGeneric(x, m []float32, ld int, out []float32) {
	for j := range out {
		out[j] = dotGeneric(x, m[j*ld:j*ld+len(x)])
	}
}

func dotX4Generic(k int, x []float32, ldx int, w []float32, ldw, n int, out []float32, ldo int) {
	for i := range 4 {
		dotRowsGeneric(x[i*ldx:i*ldx+k], w, ldw, out[i*ldo:i*ldo+n])
	}
}

func dotGeneric(x, y []float32) float32 {
	var s0, s1, s2, s3 float32
	y = y[:len(x)]
	i := 0
	for ; i+4 <= len(x); i += 4 {
		s0 += x[i] * y[i]
		s1 += x[i+1] * y[i+1]
		s2 += x[i+2] * y[i+2]
		s3 += x[i+3] * y[i+3]
	}
	for ; i < len(x); i++ {
		s0 += x[i] * y[i]
	}
	return (s0 + s1) + (s2 + s3)
}

func axpyGeneric(alpha float32, x, y []float32) {
	y = y[:len(x)]
	for i, v := range x {
		y[i] += alpha * v
	}
}

// dotHeadsWith is DotHeads by one dot call per head.
func dotHeadsWith(dot func(x, y []float32) float32, x, y []float32, hd int, out []float32) {
	for h := range out {
		out[h] = dot(x[h*hd:(h+1)*hd], y[h*hd:(h+1)*hd])
	}
}

// axpyHeadsWith is AxpyHeads by one axpy call per head.
func axpyHeadsWith(axpy func(float32, []float32, []float32), alpha, x []float32, hd int, y []float32) {
	for h, a := range alpha {
		axpy(a, x[h*hd:(h+1)*hd], y[h*hd:(h+1)*hd])
	}
}

func addGeneric(dst, x []float32) {
	x = x[:len(dst)]
	for i := range dst {
		dst[i] += x[i]
	}
}

func scaleGeneric(alpha float32, x []float32) {
	for i := range x {
		x[i] *= alpha
	}
}

func sumGeneric(x []float32) float32 {
	var s0, s1, s2, s3 float32
	i := 0
	for ; i+4 <= len(x); i += 4 {
		s0 += x[i]
		s1 += x[i+1]
		s2 += x[i+2]
		s3 += x[i+3]
	}
	for ; i < len(x); i++ {
		s0 += x[i]
	}
	return (s0 + s1) + (s2 + s3)
}

func maxGeneric(x []float32) float32 {
	m := x[0]
	for _, v := range x[1:] {
		if v > m {
			m = v
		}
	}
	return m
}

// Constants of the float32 exp used by every implementation (Cephes expf):
// exp(x) = 2^n · exp(r), n = round(x·log2(e)), r = x - n·ln2 in two parts,
// exp(r) by a degree-7 polynomial.
const (
	expHi   = 88.3762626647949  // above: clamped (exp overflows past ~88.72)
	expLo   = -87.3365447505531 // below: 0 (2^-126 is the smallest normal)
	log2e   = 1.44269504088896341
	ln2Hi   = 0.693359375
	ln2Lo   = -2.12194440e-4
	expP0   = 1.9875691500e-4
	expP1   = 1.3981999507e-3
	expP2   = 8.3334519073e-3
	expP3   = 4.1665795894e-2
	expP4   = 1.6666665459e-1
	expP5   = 5.0000001201e-1
	expBias = 127
)

// exp32 is the scalar float32 exp the assembly versions vectorise.
func exp32(x float32) float32 {
	if x < expLo {
		return 0
	}
	x = min(x, expHi)
	n := float32(math.Floor(float64(x*log2e + 0.5)))
	r := x - n*ln2Hi
	r -= n * ln2Lo
	p := float32(expP0)
	p = p*r + expP1
	p = p*r + expP2
	p = p*r + expP3
	p = p*r + expP4
	p = p*r + expP5
	p = p*r*r + r + 1
	return p * math.Float32frombits(uint32(int32(n)+expBias)<<23)
}

func expSubGeneric(x []float32, m float32) float32 {
	var s float32
	for i, v := range x {
		e := exp32(v - m)
		x[i] = e
		s += e
	}
	return s
}

func siluGeneric(out, x []float32) { siluWith(out, x, expSubGeneric) }

// siluWith is SiLU with the exps of expSub, over chunks of 256 values (a
// multiple of every vector width, so an element's exp comes from the same
// code as in one ExpSub call over all of x).
func siluWith(out, x []float32, expSub func([]float32, float32) float32) {
	b := siluBufs.Get().(*[256]float32)
	defer siluBufs.Put(b)
	for start := 0; start < len(x); start += len(b) {
		xs := x[start:min(start+len(b), len(x))]
		e := b[:len(xs)]
		for i, v := range xs {
			e[i] = math.Float32frombits(math.Float32bits(v) | 1<<31) // −|v|
		}
		expSub(e, 0)
		o := out[start : start+len(xs)]
		for i, v := range xs {
			if v >= 0 {
				o[i] = v / (1 + e[i])
			} else {
				o[i] = v * e[i] / (1 + e[i])
			}
		}
	}
}

// siluBufs holds siluWith's chunk buffers (a local array would escape to
// the heap through the indirect call of expSub).
var siluBufs = sync.Pool{New: func() any { return new([256]float32) }}

// topK fills idx (len k) with the indices of the k largest values of x,
// descending, ties to the lower index: an insertion into a sorted list
// (a heap for long lists, see heapTopMin).
// Once the list is full, blocks whose maximum (found with the vector
// kernel blockMax) does not beat the current k-th best are skipped whole.
func topK(x []float32, idx []int32, blockMax func([]float32) float32) {
	const block = 64
	k := len(idx)
	if k == 0 {
		return
	}
	n, worst, add := 0, k-1, insertTop // worst: where the k-th best is once full
	if k >= heapTopMin {
		worst, add = 0, heapTop
	}
	for b0 := 0; b0 < len(x); b0 += block {
		blk := x[b0:min(b0+block, len(x))]
		if n == k && !(blockMax(blk) > x[idx[worst]]) {
			continue
		}
		n = add(x, b0, len(blk), idx, n)
	}
	if k >= heapTopMin {
		sortTop(x, idx)
	}
}
