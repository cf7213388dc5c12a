package kernels

import (
	"fmt"
	"math"
)

// Reduced-precision weights for inference: x·Wᵀ with W stored as int8 with
// one float32 scale per row (Q8) or as IEEE half floats (F16), a quarter or
// half of the float32 bytes. A decoder step at small batch is bound by
// reading W, so fewer bytes per weight is time saved. x and y stay float32.
// For one row of x the AVX-512 kernels convert W in registers; otherwise
// chunks of W are widened to float32 in a cache-resident buffer that every
// group of four rows of x passes over, with the float32 dot kernels of
// Gemm's x·Wᵀ path.

// Q8 is a row-major [Rows×Cols] matrix stored as int8 with one float32 scale
// per row: W[r][c] ≈ Scales[r]·Data[r·Cols+c].
type Q8 struct {
	Rows   int       // number of rows (outputs of x·Wᵀ)
	Cols   int       // number of columns (inputs of x·Wᵀ)
	Data   []int8    // Rows·Cols values, row-major
	Scales []float32 // Rows scales
}

// F16 is a row-major [Rows×Cols] matrix of IEEE 754 binary16 values, stored
// as their bits.
type F16 struct {
	Rows int      // number of rows (outputs of x·Wᵀ)
	Cols int      // number of columns (inputs of x·Wᵀ)
	Data []uint16 // Rows·Cols values, row-major
}

// QuantizeQ8 quantises the row-major rows×cols matrix w symmetrically per
// row: Scales[r] = max|w[r][·]|/127 and Data[r·cols+c] = w[r][c]·(127/max)
// (a float32 product) rounded to the nearest integer, ties to even (the row
// quantisation of MulI8T, AVX-512 where available), so every value is
// within Scales[r]/2 (plus a float32 rounding, 2⁻¹⁷ of the scale at most) of
// its original. An all-zero row has scale 0. w must hold at least rows·cols
// finite values.
func QuantizeQ8(w []float32, rows, cols int) Q8 {
	checkSource("QuantizeQ8", w, rows, cols)
	q := Q8{Rows: rows, Cols: cols, Data: make([]int8, rows*cols), Scales: make([]float32, rows)}
	for r := range rows {
		row := w[r*cols : (r+1)*cols]
		amax := cur.maxAbs(row)
		if amax != amax || math.IsInf(float64(amax), 0) {
			for c, v := range row {
				if math.IsNaN(float64(v)) || math.IsInf(float64(v), 0) {
					panic(fmt.Sprintf("kernels: QuantizeQ8: w[%d] is %v; weights must be finite", r*cols+c, v))
				}
			}
		}
		if amax == 0 {
			continue
		}
		q.Scales[r] = amax / 127
		dst := q.Data[r*cols : (r+1)*cols]
		if inv := 127 / amax; math.IsInf(float64(inv), 0) {
			quantRowWide(dst, row, amax)
		} else {
			cur.quantRow(dst, row, inv)
		}
	}
	return q
}

// ToF16 converts the row-major rows×cols matrix w to half floats, rounding
// to nearest even: values beyond ±65504 become ±Inf, below 2⁻²⁴ in magnitude
// ±0, and NaN stays NaN. w must hold at least rows·cols values.
func ToF16(w []float32, rows, cols int) F16 {
	checkSource("ToF16", w, rows, cols)
	h := F16{Rows: rows, Cols: cols, Data: make([]uint16, rows*cols)}
	for i, v := range w[:rows*cols] {
		h.Data[i] = f32ToF16(v)
	}
	return h
}

// MulQ8T computes y = x·Wᵀ (y += x·Wᵀ when accumulate) for the m×k matrix
// x (row stride ldx), the Q8 matrix W of n rows and k = w.Cols columns, and
// the m×n matrix y (row stride ldy). Without accumulate y is overwritten
// without being read. Each output is Scales[j] times the float32 dot product
// of x's row with W's int8 row: for m up to 64 exactly the bits of Gemm's
// x·Wᵀ on the int8 values as float32, times the scale, so a row's result
// does not depend on the other rows. W is read from memory once per call
// (cache-sized chunks of it serve every group of four rows of x), and the
// work is split across Threads() cores by rows of W; results do not depend
// on the thread count.
func MulQ8T(m int, x []float32, ldx int, w Q8, y []float32, ldy int, accumulate bool) {
	if len(w.Data) < w.Rows*w.Cols || len(w.Scales) < w.Rows {
		panic(fmt.Sprintf("kernels: MulQ8T: Q8 of %d×%d has %d values and %d scales", w.Rows, w.Cols, len(w.Data), len(w.Scales)))
	}
	j := lowpJob("MulQ8T", m, x, ldx, w.Rows, w.Cols, y, ldy, accumulate)
	if j == nil {
		return
	}
	j.q8, j.scales = w.Data, w.Scales
	j.do()
	putJob(j)
}

// MulF16T is MulQ8T for half-float weights: y = x·Wᵀ (y += x·Wᵀ when
// accumulate), W of n rows and k = w.Cols columns; for m up to 64 the bits
// of Gemm's x·Wᵀ on W converted to float32.
func MulF16T(m int, x []float32, ldx int, w F16, y []float32, ldy int, accumulate bool) {
	if len(w.Data) < w.Rows*w.Cols {
		panic(fmt.Sprintf("kernels: MulF16T: F16 of %d×%d has %d values", w.Rows, w.Cols, len(w.Data)))
	}
	j := lowpJob("MulF16T", m, x, ldx, w.Rows, w.Cols, y, ldy, accumulate)
	if j == nil {
		return
	}
	j.f16 = w.Data
	j.do()
	putJob(j)
}

// lowpJob checks the shapes of a low-precision product and returns its job,
// or nil when there is nothing to multiply (y is then cleared unless
// accumulating).
func lowpJob(fn string, m int, x []float32, ldx, n, k int, y []float32, ldy int, accumulate bool) *job {
	if m < 0 || n < 0 || k < 0 {
		panic(fmt.Sprintf("kernels: %s with negative size m=%d n=%d k=%d", fn, m, n, k))
	}
	checkMatrix(fn, "x", m, k, x, ldx)
	checkMatrix(fn, "y", m, n, y, ldy)
	if m == 0 || n == 0 {
		return nil
	}
	beta := float32(0)
	if accumulate {
		beta = 1
	}
	if k == 0 {
		scaleMatrix(m, n, beta, y, ldy)
		return nil
	}
	j := getJob()
	*j = job{im: cur, kind: kindLowp, m: m, n: n, k: k, alpha: 1, beta: beta,
		a: x, lda: ldx, c: y, ldc: ldy, incy: 1, units: n}
	return j
}

// checkSource panics unless w holds a rows×cols matrix.
func checkSource(fn string, w []float32, rows, cols int) {
	if rows < 0 || cols < 0 || len(w) < rows*cols {
		panic(fmt.Sprintf("kernels: %s of a %d×%d matrix from %d values", fn, rows, cols, len(w)))
	}
}

// lowpChunkFloats bounds the widened chunk of W when a single group of up
// to four rows of x passes over it: small enough to stay in L1.
const lowpChunkFloats = 1 << 13

// mulLowp computes the outputs [lo, hi) (rows of W) of a low-precision
// product. One row of x runs through kernels that convert W in registers
// where the implementation has them; otherwise chunks of W's rows are
// widened to float32 and multiplied as Gemm's x·Wᵀ does: with dotRows for
// m == 1, with dotChunk (every group of four rows of x) otherwise.
func (j *job) mulLowp(lo, hi int) {
	if j.m == 1 && j.im.dotRowsQ8 != nil {
		buf := getBuf(gemvChunk)
		for o := lo; o < hi; o += gemvChunk {
			t := (*buf)[:min(gemvChunk, hi-o)]
			if j.q8 != nil {
				j.im.dotRowsQ8(j.a[:j.k], j.q8[o*j.k:(o+len(t))*j.k], j.k, t)
			} else {
				j.im.dotRowsF16(j.a[:j.k], j.f16[o*j.k:(o+len(t))*j.k], j.k, t)
			}
			j.store(o, t)
		}
		putBuf(buf)
		return
	}
	limit := lowpChunkFloats
	if j.m > 4 {
		limit = dotChunkFloats // several groups reuse it: keep it in L2
	}
	step := min(gemvChunk, max(8, limit/j.k))
	buf := getBuf(step*j.k + 4*gemvChunk + 4*j.k)
	wf, scratch := (*buf)[:step*j.k], (*buf)[step*j.k:]
	for o := lo; o < hi; o += step {
		rows := min(step, hi-o)
		wc := wf[:rows*j.k]
		if j.q8 != nil {
			j.im.widenQ8(wc, j.q8[o*j.k:(o+rows)*j.k])
		} else {
			j.im.widenF16(wc, j.f16[o*j.k:(o+rows)*j.k])
		}
		if j.m == 1 {
			j.im.dotRows(j.a[:j.k], wc, j.k, scratch[:rows])
			j.store(o, scratch[:rows])
			continue
		}
		j.dotChunk(wc, j.k, o, rows, scratch)
	}
	putBuf(buf)
}

func widenQ8Generic(dst []float32, src []int8) {
	dst = dst[:len(src)]
	for i, v := range src {
		dst[i] = float32(v)
	}
}

func widenF16Generic(dst []float32, src []uint16) {
	dst = dst[:len(src)]
	for i, v := range src {
		dst[i] = f16ToF32(v)
	}
}

// f16ToF32 returns the value of the binary16 bits h (exact).
func f16ToF32(h uint16) float32 {
	sign := uint32(h>>15) << 31
	exp := uint32(h>>10) & 0x1f
	mant := uint32(h) & 0x3ff
	switch {
	case exp == 0x1f: // Inf or NaN (quieted, payload kept)
		if mant != 0 {
			mant |= 0x200
		}
		return math.Float32frombits(sign | 0xff<<23 | mant<<13)
	case exp == 0: // zero or subnormal: mant·2⁻²⁴
		v := float32(mant) * (1.0 / (1 << 24))
		if sign != 0 {
			v = -v
		}
		return v
	}
	return math.Float32frombits(sign | (exp+127-15)<<23 | mant<<13)
}

// f32ToF16 returns the binary16 bits nearest to v, ties to even.
func f32ToF16(v float32) uint16 {
	b := math.Float32bits(v)
	sign := uint16(b>>16) & 0x8000
	exp := int(b>>23) & 0xff
	mant := b & 0x7fffff
	if exp == 0xff {
		if mant != 0 {
			return sign | 0x7e00 | uint16(mant>>13) // quiet NaN, payload kept
		}
		return sign | 0x7c00
	}
	e := exp - 127 + 15
	if e >= 0x1f {
		return sign | 0x7c00
	}
	if e <= 0 {
		// Subnormal half (or zero): shift the full significand, 1 included.
		if e < -10 {
			return sign // below half the smallest subnormal: ±0
		}
		m := mant | 1<<23
		shift := uint(14 - e)
		h := m >> shift
		rem := m & (1<<shift - 1)
		half := uint32(1) << (shift - 1)
		if rem > half || rem == half && h&1 == 1 {
			h++ // may carry into the smallest normal: still right
		}
		return sign | uint16(h)
	}
	h := uint32(e)<<10 | mant>>13
	rem := mant & 0x1fff
	if rem > 0x1000 || rem == 0x1000 && h&1 == 1 {
		h++ // may carry into the exponent, up to Inf: still right
	}
	return sign | uint16(h)
}
