// Package kernels holds the numeric ground floor of the engine: the matrix
// product Gemm (with a dedicated matrix-vector path) and the vector primitives
// that the ops package builds softmax, layer norm, activations and residuals
// from, and x·Wᵀ with int8 or half-float weights for inference (MulQ8T,
// MulF16T).
//
// Every kernel has a generic Go implementation, used on every platform other
// than amd64 and when built with -tags purego. On amd64 the package picks,
// once at start-up, Go-assembly versions for AVX-512F or AVX2+FMA from the
// CPU's features. Matrices are row-major []float32 with explicit row strides.
//
// Invalid arguments (negative sizes, strides smaller than a row, slices too
// short for the given shape, mismatched vector lengths) are programmer errors
// and panic with a message naming the argument.
package kernels

import (
	"fmt"
	"runtime"
	"sync/atomic"
)

// impl is one complete set of kernels: a Gemm micro-kernel with its tile and
// blocking sizes, the matrix-vector kernel and the vector primitives.
type impl struct {
	name string
	// mr×nr is the micro-tile; mc, kc, nc are the cache blocks over m, k, n.
	mr, nr, mc, kc, nc int
	// kernel computes the mr×nr tile c = Ap·Bp + beta·c from packed panels
	// (Ap: k steps of mr values, Bp: k steps of nr values); beta == 0 means
	// c is overwritten without being read.
	kernel func(k int, ap, bp, c []float32, ldc int, beta float32)
	// dotRows sets out[j] = x·m[j*ld : j*ld+len(x)] for j < len(out).
	dotRows func(x, m []float32, ld int, out []float32)
	// dotX4 sets out[i*ldo+j] = x_i·w_j for i < 4, j < n, where
	// x_i = x[i*ldx : i*ldx+k] and w_j = w[j*ldw : j*ldw+k]: reads each w_j
	// once for four vectors.
	dotX4 func(k int, x []float32, ldx int, w []float32, ldw, n int, out []float32, ldo int)
	// transpose8 sets dst[c*ldd+r] = src[r*lds+c] for r < 8, c < n (n a
	// multiple of 8): packing of transposed panels.
	transpose8 func(src []float32, lds int, dst []float32, ldd, n int)
	// widenQ8 and widenF16 set dst[i] = float32(src[i]) for i < len(src):
	// int8 values, and binary16 values given by their bits.
	widenQ8  func(dst []float32, src []int8)
	widenF16 func(dst []float32, src []uint16)
	// dotRowsQ8 and dotRowsF16, where not nil, are dotRows on low-precision
	// rows converted in registers (x·Wᵀ for one row of x): out[j] =
	// x·float32(w[j*ld : j*ld+len(x)]), the same bits as dotRows on the
	// widened rows.
	dotRowsQ8  func(x []float32, w []int8, ld int, out []float32)
	dotRowsF16 func(x []float32, w []uint16, ld int, out []float32)

	dot  func(x, y []float32) float32
	axpy func(alpha float32, x, y []float32)
	// dotHeads and axpyHeads are dot and axpy head by head (DotHeads,
	// AxpyHeads), the bits of one call per head.
	dotHeads  func(x, y []float32, hd int, out []float32)
	axpyHeads func(alpha, x []float32, hd int, y []float32)
	add       func(dst, x []float32)
	scale     func(alpha float32, x []float32)
	sum       func(x []float32) float32
	max       func(x []float32) float32
	expSub    func(x []float32, m float32) float32
	// silu sets out[i] = x[i]·sigmoid(x[i]), len(out) == len(x).
	silu func(out, x []float32)
	// maxExpSum folds a block of at most softmaxBlock values into the
	// running max and exp sums of SoftmaxTopK and returns the block's max.
	maxExpSum func(x []float32, st *softmaxState) float32
	// maxAbs returns max|x|; quantRow quantises a row of x for MulI8T
	// (see quantRowGeneric).
	maxAbs   func(x []float32) float32
	quantRow func(dst []int8, x []float32, inv float32) int32
	// quantPanel is quantRow into a row of MulI8T's packed x panel (see
	// quantPanelGeneric).
	quantPanel func(dst []int8, x []float32, inv float32) int32
	// i8Kernel computes an 8×32 tile of MulI8T (see i8KernelGeneric), of
	// which only the first rows rows (1..8) are needed: the others may
	// hold anything.
	i8Kernel func(kg int, a []int8, b []uint8, out []float32, ldo int, scale []float32, comp []int32, ws, bias []float32, rows int)
}

// impls lists the implementations this machine can run, best last; cur is
// the one in use. Both are set by init (see dispatch_*.go); tests switch cur.
var (
	impls []*impl
	cur   *impl
)

var threads atomic.Int32

func init() {
	threads.Store(int32(runtime.GOMAXPROCS(0)))
	impls = available()
	cur = impls[len(impls)-1]
}

// Impl names the implementation in use: "avx512", "avx2" or "generic".
func Impl() string { return cur.name }

// SetThreads sets how many cores Gemm may use; n < 1 means 1. The default
// is GOMAXPROCS at start-up.
func SetThreads(n int) {
	if n < 1 {
		n = 1
	}
	threads.Store(int32(n))
}

// Threads reports how many cores Gemm may use.
func Threads() int { return int(threads.Load()) }

// Dot returns x·y. The slices must have equal length.
func Dot(x, y []float32) float32 {
	sameLen("Dot", len(x), len(y))
	return cur.dot(x, y)
}

// Axpy sets y += alpha·x. The slices must have equal length.
func Axpy(alpha float32, x, y []float32) {
	sameLen("Axpy", len(x), len(y))
	cur.axpy(alpha, x, y)
}

// DotHeads sets out[h] = Dot(x[h·hd:(h+1)·hd], y[h·hd:(h+1)·hd]) for every
// h < len(out), with the bits of those Dot calls, in one call: a query's
// attention scores against one key, head by head. x and y need
// len(out)·hd values.
func DotHeads(x, y []float32, hd int, out []float32) {
	checkHeads("DotHeads", len(x), len(y), hd, len(out))
	cur.dotHeads(x, y, hd, out)
}

// AxpyHeads sets y[h·hd:(h+1)·hd] += alpha[h]·x[h·hd:(h+1)·hd] for every
// h < len(alpha), with the bits of those Axpy calls, in one call: a value
// row added to a query's attention output with each head's probability.
// x and y need len(alpha)·hd values.
func AxpyHeads(alpha, x []float32, hd int, y []float32) {
	checkHeads("AxpyHeads", len(x), len(y), hd, len(alpha))
	cur.axpyHeads(alpha, x, hd, y)
}

func checkHeads(fn string, nx, ny, hd, heads int) {
	if hd < 0 || nx < heads*hd || ny < heads*hd {
		panic(fmt.Sprintf("kernels: %s of %d heads of %d values on slices of %d and %d", fn, heads, hd, nx, ny))
	}
}

// Add sets dst += x. The slices must have equal length.
func Add(dst, x []float32) {
	sameLen("Add", len(dst), len(x))
	cur.add(dst, x)
}

// Scale sets x *= alpha.
func Scale(alpha float32, x []float32) { cur.scale(alpha, x) }

// Sum returns the sum of x (0 for an empty slice).
func Sum(x []float32) float32 { return cur.sum(x) }

// Max returns the largest value of x, which must not be empty.
func Max(x []float32) float32 {
	nonEmpty("Max", x)
	return cur.max(x)
}

// MaxAbs returns the largest |x[i]| (0 for an empty slice), or a NaN when x
// holds one.
func MaxAbs(x []float32) float32 { return cur.maxAbs(x) }

// ArgMax returns the index of the first occurrence of the largest value of
// x, which must not be empty.
func ArgMax(x []float32) int {
	nonEmpty("ArgMax", x)
	m := cur.max(x)
	for i, v := range x {
		if v == m {
			return i
		}
	}
	return 0 // only reachable with NaNs in x
}

// ExpSub sets x[i] = exp(x[i]-m) in place and returns the sum of the new
// values: the numerator and denominator of a softmax with max m. Results
// are within a few ulps of float32 exp for arguments x[i]-m up to 88.37
// (larger ones are clamped there; softmax has x[i]-m <= 0); arguments below
// about -87.3, where exp is no longer a normal float32, and -Inf give 0.
// NaN arguments give unspecified results.
func ExpSub(x []float32, m float32) float32 { return cur.expSub(x, m) }

// SiLU sets out[i] = x[i]·sigmoid(x[i]) (swish) for i < len(x); out may be
// x. With e = exp(−|x|) ∈ [0, 1] as ExpSub computes it (no overflow), it is
// x/(1+e) for x ≥ 0 and x·e/(1+e) otherwise, each operation rounded to
// float32: the bits of that formula over ExpSub's values, made in one pass
// over x by the AVX-512 implementation. It needs len(out) >= len(x).
func SiLU(out, x []float32) {
	if len(out) < len(x) {
		panic(fmt.Sprintf("kernels: SiLU into %d values from %d", len(out), len(x)))
	}
	cur.silu(out[:len(x)], x)
}

// TopK writes to idx[:k] the indices of the k largest values of x in
// descending order of value, ties broken by lower index first.
// It needs 0 <= k <= len(x) and len(idx) >= k.
func TopK(x []float32, k int, idx []int32) {
	if k < 0 || k > len(x) || len(idx) < k {
		panic(fmt.Sprintf("kernels: TopK with k=%d, len(x)=%d, len(idx)=%d; need 0 <= k <= len(x) and len(idx) >= k", k, len(x), len(idx)))
	}
	topK(x, idx[:k], cur.max)
}

func sameLen(fn string, a, b int) {
	if a != b {
		panic(fmt.Sprintf("kernels: %s on slices of different lengths %d and %d", fn, a, b))
	}
}

func nonEmpty(fn string, x []float32) {
	if len(x) == 0 {
		panic("kernels: " + fn + " of an empty slice")
	}
}
