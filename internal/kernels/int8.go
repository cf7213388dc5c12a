package kernels

import (
	"fmt"
	"math"
	"sync"
)

// int8 × int8 products for inference (MulI8T): y = x·Wᵀ with W an int8
// matrix with a float32 scale per row (from a Q8) and x quantised to int8
// per row on the fly, multiplied with integer dot-product instructions
// (AVX-512 VNNI VPDPBUSD: 64 byte products per instruction, summed in
// int32) where the CPU has them, with AVX2 VPMADDUBSW on CPUs without VNNI
// (see i8Kernel8x32AVX2Go), and in generic Go elsewhere.
//
// The scheme:
//
//   - x, row by row (dynamic, symmetric): sx = max|x_i|/127 and
//     xq = x·(127/max|x_i|) (a float32 product) rounded to nearest even, in
//     [−127, 127]; an all-zero row has sx = 0, a row with a NaN or an
//     infinity gives NaN outputs.
//   - W (once, PackI8): the Q8's int8 values plus 128 as unsigned bytes,
//     because VPDPBUSD multiplies unsigned bytes (W) by signed bytes (x, so
//     that four bytes of one row of x can be broadcast to all lanes).
//     Σ xq·(w+128) = Σ xq·w + 128·Σ xq: the compensation 128·Σ xq is a
//     per-row sum of x, computed while quantising.
//   - y_ij = (float32(acc_ij − 128·Σ xq_i)·sw_j)·sx_i: the int32 sums are
//     exact (|acc| < 2³¹ for k < 65000), so every implementation gives the
//     same bits, and a row's result does not depend on the other rows.
//   - AVX2 has no byte dot product into int32: VPMADDUBSW multiplies
//     unsigned by signed bytes and adds pairs into int16 with saturation,
//     and (w+128)·x pairs reach 2·255·127 > 32767. The AVX2 kernel
//     therefore takes W back to signed bytes (xor 0x80), multiplies |w|
//     (≤ 128, unsigned) by x carrying w's sign (VPSIGNB, |x| ≤ 127:
//     quantisation never gives −128), so a pair is at most 2·128·127 =
//     32512 and never saturates, and adds pairs of pairs into int32 with
//     VPMADDWD by ones: Σ xq·w exactly, the same integer as acc − 128·Σ xq,
//     with the full 8 bits of x and W (no 7-bit limit).
//
// Layout (the micro-kernel is 8 rows of x × 32 rows of W): W is packed in
// panels of 32 rows; in a panel, for each group of four columns, 128 bytes
// hold the four bytes of row 0, then row 1, …, row 31 (the VPDPBUSD layout:
// one zmm per 16 rows). x is packed the same way in panels of 8 rows, 32
// bytes per group of four columns. k is padded to a multiple of 4 with
// zeros in x, n to a multiple of 32 (outputs dropped), m to a multiple of 8.

const (
	i8MR = 8  // rows of x per micro-tile
	i8NR = 32 // rows of W per micro-tile (a panel)
)

// I8 is a Q8 matrix packed for MulI8T.
type I8 struct {
	Rows, Cols int       // as in the Q8: n rows (outputs), k columns (inputs)
	Data       []uint8   // panels of 32 rows, value + 128, see the layout above
	Scales     []float32 // one per row, padded with zeros to whole panels
}

// i8Groups returns the number of four-column groups for k columns.
func i8Groups(k int) int { return (k + 3) / 4 }

// PackI8 packs a Q8 matrix for MulI8T (the same values and scales). It
// writes the packed bytes in order, four columns of one row at a time (a
// model's matrices are packed at load, so this is on the load path).
func PackI8(q Q8) I8 {
	if q.Rows < 0 || q.Cols < 0 || len(q.Data) < q.Rows*q.Cols || len(q.Scales) < q.Rows {
		panic(fmt.Sprintf("kernels: PackI8: Q8 of %d×%d has %d values and %d scales", q.Rows, q.Cols, len(q.Data), len(q.Scales)))
	}
	panels, kg := ceilDiv(q.Rows, i8NR), i8Groups(q.Cols)
	p := I8{Rows: q.Rows, Cols: q.Cols, Data: make([]uint8, panels*kg*4*i8NR), Scales: make([]float32, panels*i8NR)}
	copy(p.Scales, q.Scales[:q.Rows])
	full := q.Cols / 4 // groups with four real columns
	i := 0
	for pn := range panels {
		for g := range kg {
			for r := pn * i8NR; r < (pn+1)*i8NR; r++ {
				dst := p.Data[i : i+4 : i+4]
				i += 4
				switch {
				case r < q.Rows && g < full:
					src := q.Data[r*q.Cols+4*g : r*q.Cols+4*g+4 : r*q.Cols+4*g+4]
					dst[0], dst[1], dst[2], dst[3] = uint8(int(src[0])+128), uint8(int(src[1])+128), uint8(int(src[2])+128), uint8(int(src[3])+128)
				default: // padding (w = 0) beyond the last row or column
					for c := range 4 {
						dst[c] = 128
						if r < q.Rows && 4*g+c < q.Cols {
							dst[c] = uint8(int(q.Data[r*q.Cols+4*g+c]) + 128)
						}
					}
				}
			}
		}
	}
	return p
}

// MulI8T computes y = x·Wᵀ (y += x·Wᵀ when accumulate) for the m×k matrix
// x (row stride ldx), the packed int8 matrix W of n = w.Rows rows and
// k = w.Cols columns, and the m×n matrix y (row stride ldy), quantising x
// per row to int8 (see the scheme above). Without accumulate y is
// overwritten without being read. Each output is within
// Σ_c (|x_c|·sw/2 + |w_c|·sx/2 + sx·sw/4) plus float32 rounding of the
// float64 product of x with the dequantised W (sx = max|x_i|/127, sw the
// row's scale); the bits do not depend on the other rows, on the thread
// count or on the implementation. The work is split across Threads() cores
// by panels of 32 rows of W.
func MulI8T(m int, x []float32, ldx int, w I8, y []float32, ldy int, accumulate bool) {
	mulI8T("MulI8T", m, x, ldx, w, nil, y, ldy, accumulate)
}

// MulI8TBias is MulI8T without accumulate, plus a bias: y = x·Wᵀ + bias,
// bias holding w.Rows values (nil: none), added to each product in the
// micro-kernel rather than in a second pass over y; the same bits as
// MulI8T followed by adding bias to every row.
func MulI8TBias(m int, x []float32, ldx int, w I8, bias []float32, y []float32, ldy int) {
	if bias != nil && len(bias) < w.Rows {
		panic(fmt.Sprintf("kernels: MulI8TBias: bias has %d values for %d rows of W", len(bias), w.Rows))
	}
	mulI8T("MulI8TBias", m, x, ldx, w, bias, y, ldy, false)
}

func mulI8T(fn string, m int, x []float32, ldx int, w I8, bias []float32, y []float32, ldy int, accumulate bool) {
	panels, kg := ceilDiv(w.Rows, i8NR), i8Groups(w.Cols)
	if w.Rows < 0 || w.Cols < 0 || len(w.Data) < panels*kg*4*i8NR || len(w.Scales) < panels*i8NR {
		panic(fmt.Sprintf("kernels: %s: I8 of %d×%d has %d values and %d scales", fn, w.Rows, w.Cols, len(w.Data), len(w.Scales)))
	}
	j := lowpJob(fn, m, x, ldx, w.Rows, w.Cols, y, ldy, accumulate)
	if j == nil {
		if w.Cols == 0 && bias != nil { // y = 0 + bias
			for i := range m {
				copy(y[i*ldy:i*ldy+w.Rows], bias)
			}
		}
		return
	}
	j.bias = bias
	sc := i8Pool.Get().(*i8Scratch)
	sc.resize(ceilDiv(m, i8MR), kg)
	j.kind, j.units = kindI8, panels
	j.i8, j.i8s = w, sc
	quantizeRows(cur, m, x, ldx, w.Cols, sc.x, sc.scale, sc.comp)
	j.do()
	i8Pool.Put(sc)
	putJob(j)
}

// i8Scratch holds x quantised and packed for one MulI8T call.
type i8Scratch struct {
	x     []int8    // panels of 8 rows
	scale []float32 // sx per row (padded to whole panels)
	comp  []int32   // 128·Σ xq per row
}

var i8Pool = sync.Pool{New: func() any { return new(i8Scratch) }}

// resize sizes the scratch for panels panels of kg groups.
func (s *i8Scratch) resize(panels, kg int) {
	if n := panels * kg * 4 * i8MR; cap(s.x) < n {
		s.x = make([]int8, n)
	} else {
		s.x = s.x[:n]
	}
	if n := panels * i8MR; cap(s.scale) < n {
		s.scale, s.comp = make([]float32, n), make([]int32, n)
	} else {
		s.scale, s.comp = s.scale[:n], s.comp[:n]
	}
}

// quantizeRows quantises the m rows of x (k values each, stride ldx) into
// the packed panels xp (zero-filled first), and sets scale[i] = sx_i and
// comp[i] = 128·Σ xq_i for every row of the padded panels (0 for padding
// rows). im.quantPanel writes a row's groups of four bytes straight into
// its panel; a subnormal row is quantised contiguously first.
func quantizeRows(im *impl, m int, x []float32, ldx, k int, xp []int8, scale []float32, comp []int32) {
	clear(xp)
	clear(scale)
	clear(comp)
	kg := i8Groups(k)
	for i := range m {
		xr := x[i*ldx : i*ldx+k]
		amax := im.maxAbs(xr)
		if amax != amax || math.IsInf(float64(amax), 0) {
			scale[i] = float32(math.NaN())
			continue
		}
		if amax == 0 {
			continue
		}
		scale[i] = amax / 127
		dst := xp[i/i8MR*kg*4*i8MR+i%i8MR*4:] // group 0 of row i in its panel
		if inv := 127 / amax; math.IsInf(float64(inv), 0) {
			buf := getI8Row(4 * kg)
			row := *buf
			clear(row[k:])
			comp[i] = 128 * quantRowWide(row, xr, amax) // subnormal row
			spreadGroups(dst, row)
			putI8Row(buf)
		} else {
			comp[i] = 128 * im.quantPanel(dst, xr, inv)
		}
	}
}

// quantPanelGeneric is quantRowGeneric into a row of a packed x panel: the
// values' groups of four bytes go to dst, dst[32:], dst[64:], … (the last
// group padded with zeros, which dst holds already).
func quantPanelGeneric(dst []int8, x []float32, inv float32) int32 {
	buf := getI8Row(4 * i8Groups(len(x)))
	row := *buf
	clear(row[len(x):])
	s := quantRowGeneric(row, x, inv)
	spreadGroups(dst, row)
	putI8Row(buf)
	return s
}

// spreadGroups copies the groups of four bytes of row to dst, dst[32:], ….
func spreadGroups(dst, row []int8) {
	for g, o := 0, 0; g < len(row)/4; g, o = g+1, o+4*i8MR {
		d, q := dst[o:o+4:o+4], row[g*4:g*4+4:g*4+4]
		d[0], d[1], d[2], d[3] = q[0], q[1], q[2], q[3] // one 4-byte move
	}
}

var i8RowPool sync.Pool

func getI8Row(n int) *[]int8 {
	if p, ok := i8RowPool.Get().(*[]int8); ok && cap(*p) >= n {
		*p = (*p)[:n]
		return p
	}
	s := make([]int8, n)
	return &s
}

func putI8Row(p *[]int8) { i8RowPool.Put(p) }

// maxAbsGeneric returns max|x| (NaN when x holds one, 0 for no values).
func maxAbsGeneric(x []float32) float32 {
	var m float32
	for _, v := range x {
		a := float32(math.Abs(float64(v)))
		if a > m || a != a {
			m = a
			if a != a {
				return a
			}
		}
	}
	return m
}

// quantRowGeneric sets dst[c] = x[c]·inv rounded to nearest even (float32
// product), clamped to [−127, 127], and returns the sum of the dst values.
func quantRowGeneric(dst []int8, x []float32, inv float32) int32 {
	var sum int32
	for c, v := range x {
		q := int32(max(-127, min(127, math.RoundToEven(float64(v*inv)))))
		dst[c] = int8(q)
		sum += q
	}
	return sum
}

// quantRowWide is quantRowGeneric for rows whose 127/max overflows float32
// (a subnormal maximum): the product in float64.
func quantRowWide(dst []int8, x []float32, amax float32) int32 {
	inv := 127 / float64(amax)
	var sum int32
	for c, v := range x {
		q := int32(max(-127, min(127, math.RoundToEven(float64(v)*inv))))
		dst[c] = int8(q)
		sum += q
	}
	return sum
}

// mulI8 computes the outputs of the W panels [lo, hi) for every row of x.
func (j *job) mulI8(lo, hi int) {
	kg := i8Groups(j.k)
	buf := getBuf(i8MR*i8NR + i8NR)
	tile, pad := (*buf)[:i8MR*i8NR], (*buf)[i8MR*i8NR:]
	for p := lo; p < hi; p++ {
		wp := j.i8.Data[p*kg*4*i8NR : (p+1)*kg*4*i8NR]
		ws := j.i8.Scales[p*i8NR : (p+1)*i8NR]
		cols := min(i8NR, j.n-p*i8NR)
		bias := pad // zeros, or the panel's bias padded with zeros
		clear(bias)
		if j.bias != nil {
			copy(bias, j.bias[p*i8NR:p*i8NR+cols])
		}
		for i0 := 0; i0 < j.m; i0 += i8MR {
			xp := j.i8s.x[i0/i8MR*kg*4*i8MR : (i0/i8MR+1)*kg*4*i8MR]
			sx, comp := j.i8s.scale[i0:i0+i8MR], j.i8s.comp[i0:i0+i8MR]
			if j.beta == 0 && cols == i8NR && i0+i8MR <= j.m {
				// A whole tile, overwritten: straight into y.
				j.im.i8Kernel(kg, xp, wp, j.c[i0*j.ldc+p*i8NR:], j.ldc, sx, comp, ws, bias, i8MR)
				continue
			}
			j.im.i8Kernel(kg, xp, wp, tile, i8NR, sx, comp, ws, bias, min(i8MR, j.m-i0))
			for r := range min(i8MR, j.m-i0) {
				dst := j.c[(i0+r)*j.ldc+p*i8NR : (i0+r)*j.ldc+p*i8NR+cols]
				if j.beta == 0 {
					copy(dst, tile[r*i8NR:])
				} else {
					j.im.add(dst, tile[r*i8NR:r*i8NR+cols])
				}
			}
		}
	}
	putBuf(buf)
}

// i8KernelGeneric sets the first rows rows of the 8×32 tile out (row
// stride ldo) from kg groups of the packed x panel a and W panel b:
// out[i][j] = (float32(Σ a·b − comp[i])·ws[j])·scale[i] + bias[j] (the
// weight scale first: the row scale of x may be huge).
func i8KernelGeneric(kg int, a []int8, b []uint8, out []float32, ldo int, scale []float32, comp []int32, ws, bias []float32, rows int) {
	var acc [i8MR][i8NR]int32
	for g := range kg {
		ag := a[g*4*i8MR : (g+1)*4*i8MR]
		bg := b[g*4*i8NR : (g+1)*4*i8NR]
		for i := range rows {
			a0, a1, a2, a3 := int32(ag[i*4]), int32(ag[i*4+1]), int32(ag[i*4+2]), int32(ag[i*4+3])
			if a0|a1|a2|a3 == 0 {
				continue
			}
			for jj := range i8NR {
				bj := bg[jj*4 : jj*4+4 : jj*4+4]
				acc[i][jj] += a0*int32(bj[0]) + a1*int32(bj[1]) + a2*int32(bj[2]) + a3*int32(bj[3])
			}
		}
	}
	for i := range rows {
		for jj := range i8NR {
			// float32(…): rounded before the add, never fused into an FMA.
			out[i*ldo+jj] = float32((float32(acc[i][jj]-comp[i])*ws[jj])*scale[i]) + bias[jj]
		}
	}
}
