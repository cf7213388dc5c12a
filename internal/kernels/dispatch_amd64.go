//go:build !purego

package kernels

import "golang.org/x/sys/cpu"

// avx2 uses the 6×16 AVX2+FMA micro-kernel.
var avx2 = &impl{
	name: "avx2",
	mr:   6, nr: 16, mc: 96, kc: 256, nc: 2048,
	kernel:     kernelAVX2,
	dotRows:    dotRowsAVX2,
	dotX4:      dotX4AVX2,
	transpose8: transpose8Asm,
	widenQ8:    widenQ8AVX2Go,
	widenF16:   widenF16F16CGo,
	dot:        dotAVX2Go,
	axpy:       axpyAVX2Go,
	dotHeads:   dotHeadsAVX2Go,
	axpyHeads:  axpyHeadsAVX2Go,
	add:        addAVX2Go,
	scale:      scaleAVX2Go,
	sum:        sumAVX2Go,
	max:        maxAVX2Go,
	expSub:     expSubAVX2Go,
	silu:       func(out, x []float32) { siluWith(out, x, expSubAVX2Go) },
	maxExpSum:  maxExpSumAVX2Go,
	i8Kernel:   i8Kernel8x32AVX2Go,
	maxAbs:     maxAbsGeneric,
	quantRow:   quantRowGeneric,
	quantPanel: quantPanelGeneric,
}

// avx512 uses the 14×32 AVX-512F micro-kernel, AVX-512 matrix-vector and
// exp kernels, and the AVX2 versions of the other vector kernels.
var avx512 = &impl{
	name: "avx512",
	mr:   14, nr: 32, mc: 112, kc: 256, nc: 2048,
	kernel:     kernelAVX512,
	dotRows:    dotRowsAVX512,
	dotX4:      dotX4AVX512,
	transpose8: transpose8Asm,
	widenQ8:    widenQ8AVX512Go,
	widenF16:   widenF16AVX512Go,
	dotRowsQ8:  dotRowsQ8AVX512,
	dotRowsF16: dotRowsF16AVX512,
	dot:        dotAVX2Go,
	axpy:       axpyAVX2Go,
	dotHeads:   dotHeadsAVX2Go,
	axpyHeads:  axpyHeadsAVX2Go,
	add:        addAVX2Go,
	scale:      scaleAVX2Go,
	sum:        sumAVX2Go,
	max:        maxAVX2Go,
	expSub:     expSubAVX512Go,
	silu:       siluAVX512Go,
	maxExpSum:  maxExpSumAVX512Go,
	i8Kernel:   i8Kernel8x32AVX2Go, // i8Kernel8x32VNNIGo with AVX-512 VNNI
	maxAbs:     maxAbsAVX512Go,
	quantRow:   quantRowAVX512Go,
	quantPanel: quantPanelAVX512Go,
}

// available lists the implementations this CPU can run, best last.
func available() []*impl {
	return implsFor(features{avx2: cpu.X86.HasAVX2, fma: cpu.X86.HasFMA, f16c: cpu.X86.HasF16C,
		avx512f: cpu.X86.HasAVX512F, vnni: cpu.X86.HasAVX512VNNI})
}

// features are the CPU features the dispatch reads.
type features struct{ avx2, fma, f16c, avx512f, vnni bool }

// implsFor lists the implementations a CPU with features f runs, best last
// (copies of avx2 and avx512 completed for f). Tests call it with features
// switched off to run the paths of other CPUs, e.g. the AVX2 int8 kernel of
// an AVX-512 CPU without VNNI.
func implsFor(f features) []*impl {
	list := []*impl{generic}
	if !f.avx2 || !f.fma {
		return list
	}
	a2, a512 := *avx2, *avx512
	if !f.f16c { // every AVX2 CPU we know of has it, but check
		a2.widenF16 = widenF16Generic
	}
	list = append(list, &a2)
	if f.avx512f {
		if f.vnni {
			a512.i8Kernel = i8Kernel8x32VNNIGo
		}
		list = append(list, &a512)
	}
	return list
}

//go:noescape
func kernel6x16AVX2(k int, a, b, c *float32, ldc int, beta float32)

//go:noescape
func kernel14x32AVX512(k int, a, b, c *float32, ldc int, beta float32)

func kernelAVX2(k int, ap, bp, c []float32, ldc int, beta float32) {
	kernel6x16AVX2(k, &ap[0], &bp[0], &c[0], ldc, beta)
}

func kernelAVX512(k int, ap, bp, c []float32, ldc int, beta float32) {
	kernel14x32AVX512(k, &ap[0], &bp[0], &c[0], ldc, beta)
}

// The vector kernels below run the assembly on the largest multiple of 8
// elements and the generic code on the rest.

//go:noescape
func sumAVX2(x *float32, n int) float32

//go:noescape
func maxAVX2(x *float32, n int) float32

//go:noescape
func addAVX2(dst, x *float32, n int)

//go:noescape
func scaleAVX2(alpha float32, x *float32, n int)

//go:noescape
func expSubAVX2(x *float32, n int, m float32) float32

//go:noescape
func dotRows4AVX2(k int, x, m *float32, ld int, out *float32)

func dotAVX2Go(x, y []float32) float32 {
	n := len(x) &^ 7
	if n == 0 {
		return dotGeneric(x, y)
	}
	var d float32
	dotHeadsAVX2(&x[0], &y[0], n, 1, &d)
	return d + dotGeneric(x[n:], y[n:len(x)])
}

//go:noescape
func dotHeadsAVX2(x, y *float32, hd, heads int, out *float32)

//go:noescape
func axpyHeadsAVX2(alpha, x, y *float32, hd, heads int)

// dotHeadsAVX2Go runs the assembly on all heads in one call when hd is a
// multiple of 8 (no Go tail per head), else dotAVX2Go per head.
func dotHeadsAVX2Go(x, y []float32, hd int, out []float32) {
	if hd%8 != 0 || hd == 0 || len(out) == 0 {
		dotHeadsWith(dotAVX2Go, x, y, hd, out)
		return
	}
	_, _ = x[len(out)*hd-1], y[len(out)*hd-1]
	dotHeadsAVX2(&x[0], &y[0], hd, len(out), &out[0])
	for h := range out {
		out[h] += 0 // as dotAVX2Go adds its empty tail: −0 becomes +0
	}
}

// axpyHeadsAVX2Go is dotHeadsAVX2Go for axpy.
func axpyHeadsAVX2Go(alpha, x []float32, hd int, y []float32) {
	if hd%8 != 0 || hd == 0 || len(alpha) == 0 {
		axpyHeadsWith(axpyAVX2Go, alpha, x, hd, y)
		return
	}
	_, _ = x[len(alpha)*hd-1], y[len(alpha)*hd-1]
	axpyHeadsAVX2(&alpha[0], &x[0], &y[0], hd, len(alpha))
}

func sumAVX2Go(x []float32) float32 {
	n := len(x) &^ 7
	if n == 0 {
		return sumGeneric(x)
	}
	return sumAVX2(&x[0], n) + sumGeneric(x[n:])
}

func maxAVX2Go(x []float32) float32 {
	n := len(x) &^ 7
	if n == 0 {
		return maxGeneric(x)
	}
	m := maxAVX2(&x[0], n)
	if n < len(x) {
		m = max(m, maxGeneric(x[n:]))
	}
	return m
}

func axpyAVX2Go(alpha float32, x, y []float32) {
	n := len(x) &^ 7
	if n > 0 {
		axpyHeadsAVX2(&alpha, &x[0], &y[0], n, 1)
	}
	axpyGeneric(alpha, x[n:], y[n:len(x)])
}

func addAVX2Go(dst, x []float32) {
	n := len(dst) &^ 7
	if n > 0 {
		addAVX2(&dst[0], &x[0], n)
	}
	addGeneric(dst[n:], x[n:len(dst)])
}

func scaleAVX2Go(alpha float32, x []float32) {
	n := len(x) &^ 7
	if n > 0 {
		scaleAVX2(alpha, &x[0], n)
	}
	scaleGeneric(alpha, x[n:])
}

//go:noescape
func siluAVX512(out, x *float32, n int)

// siluAVX512Go runs the assembly on the largest multiple of 16 values and
// the AVX2 and generic exps on the rest, as ExpSub's tail does.
func siluAVX512Go(out, x []float32) {
	n := len(x) &^ 15
	if n > 0 {
		_ = out[n-1]
		siluAVX512(&out[0], &x[0], n)
	}
	siluWith(out[n:len(x)], x[n:], expSubAVX2Go)
}

func expSubAVX2Go(x []float32, m float32) float32 {
	n := len(x) &^ 7
	var s float32
	if n > 0 {
		s = expSubAVX2(&x[0], n, m)
	}
	return s + expSubGeneric(x[n:], m)
}

//go:noescape
func dotRows8AVX512(k int, x, m *float32, ld int, out *float32)

func dotRowsAVX2(x, m []float32, ld int, out []float32) {
	dotRowBlocks(x, m, ld, out, 8, 4, dotRows4AVX2)
}

func dotRowsAVX512(x, m []float32, ld int, out []float32) {
	dotRowBlocks(x, m, ld, out, 16, 8, dotRows8AVX512)
}

// dotRowBlocks runs an assembly kernel computing nr dot products at a time
// on k rounded down to a multiple of kstep, then adds the k tail. The last
// len(out)%nr rows run through the kernel too, copied into zero-padded
// scratch, so that every row gets the same arithmetic: a row's result does
// not depend on where it sits (see dotX4Blocks, which matches it).
func dotRowBlocks(x, m []float32, ld int, out []float32, kstep, nr int,
	kern func(k int, x, m *float32, ld int, out *float32)) {
	k := len(x)
	kb := k - k%kstep
	if kb == 0 {
		for j := range out {
			out[j] = dotAVX2Go(x, m[j*ld:j*ld+k])
		}
		return
	}
	full := len(out) - len(out)%nr
	for j := 0; j < full; j += nr {
		kern(kb, &x[0], &m[j*ld], ld, &out[j])
	}
	if full < len(out) {
		buf := getBuf(nr * (kb + 1))
		t, pad := (*buf)[:nr], (*buf)[nr:]
		padRows(pad, m[full*ld:], ld, len(out)-full, kb, nr)
		kern(kb, &x[0], &pad[0], kb, &t[0])
		copy(out[full:], t)
		putBuf(buf)
	}
	if kb < k {
		for j := range out {
			out[j] += dotGeneric(x[kb:], m[j*ld+kb:j*ld+k])
		}
	}
}

// padRows copies rows rows of kb values (stride ld) into pad (stride kb)
// and zeroes pad's rows up to nr.
func padRows(pad, src []float32, ld, rows, kb, nr int) {
	for r := range rows {
		copy(pad[r*kb:(r+1)*kb], src[r*ld:r*ld+kb])
	}
	clear(pad[rows*kb : nr*kb])
}

//go:noescape
func transpose8AVX2(src *float32, lds int, dst *float32, ldd int, n int)

func transpose8Asm(src []float32, lds int, dst []float32, ldd, n int) {
	transpose8AVX2(&src[0], lds, &dst[0], ldd, n)
}

//go:noescape
func dot4x4AVX512(k int, x *float32, ldx int, w *float32, ldw int, out *float32)

//go:noescape
func dot4x2AVX2(k int, x *float32, ldx int, w *float32, ldw int, out *float32)

func dotX4AVX512(k int, x []float32, ldx int, w []float32, ldw, n int, out []float32, ldo int) {
	dotX4Blocks(k, x, ldx, w, ldw, n, out, ldo, 16, 4, dot4x4AVX512)
}

func dotX4AVX2(k int, x []float32, ldx int, w []float32, ldw, n int, out []float32, ldo int) {
	dotX4Blocks(k, x, ldx, w, ldw, n, out, ldo, 8, 2, dot4x2AVX2)
}

// dotX4Blocks runs an assembly kernel computing 4×nw dot products on k
// rounded down to a multiple of kstep and adds the k tail, with the same
// arithmetic per output as dotRowBlocks: the last n%nw rows go through the
// kernel from zero-padded scratch too.
func dotX4Blocks(k int, x []float32, ldx int, w []float32, ldw, n int, out []float32, ldo int,
	kstep, nw int, kern func(k int, x *float32, ldx int, w *float32, ldw int, out *float32)) {
	kb := k - k%kstep
	if kb == 0 {
		for i := range 4 {
			for j := range n {
				out[i*ldo+j] = dotAVX2Go(x[i*ldx:i*ldx+k], w[j*ldw:j*ldw+k])
			}
		}
		return
	}
	buf := getBuf(4*nw + nw*kb)
	t, pad := (*buf)[:4*nw], (*buf)[4*nw:]
	for j := 0; j < n; j += nw {
		cols := min(nw, n-j)
		if cols == nw {
			kern(kb, &x[0], ldx, &w[j*ldw], ldw, &t[0])
		} else {
			padRows(pad, w[j*ldw:], ldw, cols, kb, nw)
			kern(kb, &x[0], ldx, &pad[0], kb, &t[0])
		}
		for i := range 4 {
			for jj := range cols {
				v := t[i*nw+jj]
				if kb < k {
					v += dotGeneric(x[i*ldx+kb:i*ldx+k], w[(j+jj)*ldw+kb:(j+jj)*ldw+k])
				}
				out[i*ldo+j+jj] = v
			}
		}
	}
	putBuf(buf)
}

//go:noescape
func expSubAVX512(x *float32, n int, m float32) float32

func expSubAVX512Go(x []float32, m float32) float32 {
	n := len(x) &^ 15
	var s float32
	if n > 0 {
		s = expSubAVX512(&x[0], n, m)
	}
	return s + expSubAVX2Go(x[n:], m)
}

//go:noescape
func widenQ8AVX512(dst *float32, src *int8, n int)

//go:noescape
func widenF16AVX512(dst *float32, src *uint16, n int)

//go:noescape
func widenQ8AVX2(dst *float32, src *int8, n int)

//go:noescape
func widenF16F16C(dst *float32, src *uint16, n int)

func widenQ8AVX512Go(dst []float32, src []int8) {
	widenBlocks(dst, src, 16, widenQ8AVX512, widenQ8Generic)
}

func widenF16AVX512Go(dst []float32, src []uint16) {
	widenBlocks(dst, src, 16, widenF16AVX512, widenF16Generic)
}

func widenQ8AVX2Go(dst []float32, src []int8) {
	widenBlocks(dst, src, 8, widenQ8AVX2, widenQ8Generic)
}

func widenF16F16CGo(dst []float32, src []uint16) {
	widenBlocks(dst, src, 8, widenF16F16C, widenF16Generic)
}

// widenBlocks runs the assembly kernel kern on the largest multiple of
// lanes values of src and the generic code tail on the rest.
func widenBlocks[T int8 | uint16](dst []float32, src []T, lanes int,
	kern func(dst *float32, src *T, n int), tail func([]float32, []T)) {
	dst = dst[:len(src)]
	n := len(src) - len(src)%lanes
	if n > 0 {
		kern(&dst[0], &src[0], n)
	}
	tail(dst[n:], src[n:])
}

//go:noescape
func dotRows8Q8AVX512(k int, x *float32, w *int8, ld int, out *float32)

//go:noescape
func dotRows8F16AVX512(k int, x *float32, w *uint16, ld int, out *float32)

func dotRowsQ8AVX512(x []float32, w []int8, ld int, out []float32) {
	dotRowsFused(x, w, ld, out, dotRows8Q8AVX512, widenQ8AVX512Go)
}

func dotRowsF16AVX512(x []float32, w []uint16, ld int, out []float32) {
	dotRowsFused(x, w, ld, out, dotRows8F16AVX512, widenF16AVX512Go)
}

// dotRowsFused runs a kernel that converts eight low-precision rows in
// registers on k rounded down to a multiple of 16 and adds the k tail from
// widened values, and widens the last len(out)%8 rows for dotRowsAVX512:
// the same arithmetic per row as dotRowBlocks on the widened matrix, so the
// results are the bits of Gemm's x·Wᵀ on the widened weights.
func dotRowsFused[T int8 | uint16](x []float32, w []T, ld int, out []float32,
	kern func(k int, x *float32, w *T, ld int, out *float32), widen func([]float32, []T)) {
	k := len(x)
	kb := k - k%16
	full := len(out) - len(out)%8
	if kb == 0 {
		full = 0
	}
	buf := getBuf(max(16, (len(out)-full)*k))
	wide := *buf
	for j := 0; j < full; j += 8 {
		kern(kb, &x[0], &w[j*ld], ld, &out[j])
		for r := j; r < j+8 && kb < k; r++ {
			widen(wide[:k-kb], w[r*ld+kb:r*ld+k])
			out[r] += dotGeneric(x[kb:], wide[:k-kb])
		}
	}
	if full < len(out) {
		rows := len(out) - full
		for r := range rows {
			widen(wide[r*k:(r+1)*k], w[(full+r)*ld:(full+r)*ld+k])
		}
		dotRowsAVX512(x, wide[:rows*k], k, out[full:])
	}
	putBuf(buf)
}

//go:noescape
func maxExpSumAVX512(x *float32, n int, st *softmaxState) float32

// maxExpSumAVX512Go folds the largest multiple of 16 values of x into the
// 16 lanes of st with the assembly and the rest into lane 0.
func maxExpSumAVX512Go(x []float32, st *softmaxState) float32 {
	n := len(x) &^ 15
	if n == 0 {
		return maxExpSumAVX2Go(x, st)
	}
	m := maxExpSumAVX512(&x[0], n, st)
	if n < len(x) {
		m = max(m, maxExpSumAVX2Go(x[n:], st))
	}
	return m
}

func maxExpSumAVX2Go(x []float32, st *softmaxState) float32 {
	return maxExpSumLane0(x, st, maxAVX2Go, expSubAVX2Go)
}

//go:noescape
func i8Kernel8x32VNNI(kg int, a *int8, b *uint8, out *float32, ldo int, scale *float32, comp *int32, ws, bias *float32)

//go:noescape
func i8Kernel1x32VNNI(kg int, a *int8, b *uint8, out *float32, scale *float32, comp *int32, ws, bias *float32)

//go:noescape
func i8Kernel4x32VNNI(kg int, a *int8, b *uint8, out *float32, ldo int, scale *float32, comp *int32, ws, bias *float32)

// i8Kernel8x32VNNIGo runs the 8×32 VNNI kernel, or for a single row of x
// (greedy search of one sentence) the 1×32 one and for two to four rows
// (beam 4 of one sentence) the 4×32 one, which do not multiply rows of
// zeros: the same int32 sums, the same bits.
func i8Kernel8x32VNNIGo(kg int, a []int8, b []uint8, out []float32, ldo int, scale []float32, comp []int32, ws, bias []float32, rows int) {
	_, _, _ = a[kg*4*i8MR-1], b[kg*4*i8NR-1], out[(rows-1)*ldo+i8NR-1] // bounds: the kernels read and write this much
	_, _, _, _ = scale[i8MR-1], comp[i8MR-1], ws[i8NR-1], bias[i8NR-1]
	if rows == 1 {
		i8Kernel1x32VNNI(kg, &a[0], &b[0], &out[0], &scale[0], &comp[0], &ws[0], &bias[0])
		return
	}
	if rows <= 4 {
		_ = out[3*ldo+i8NR-1]
		i8Kernel4x32VNNI(kg, &a[0], &b[0], &out[0], ldo, &scale[0], &comp[0], &ws[0], &bias[0])
		return
	}
	_ = out[(i8MR-1)*ldo+i8NR-1]
	i8Kernel8x32VNNI(kg, &a[0], &b[0], &out[0], ldo, &scale[0], &comp[0], &ws[0], &bias[0])
}

//go:noescape
func i8Kernel8x8AVX2(kg int, a *int8, b *uint8, out *float32, ldo int, scale, ws, bias *float32)

//go:noescape
func i8Kernel4x16AVX2(kg int, a *int8, b *uint8, out *float32, ldo int, scale, ws, bias *float32)

//go:noescape
func i8Kernel1x32AVX2(kg int, a *int8, b *uint8, out *float32, scale, ws, bias *float32)

// i8Kernel8x32AVX2Go is the 8×32 int8 micro-kernel for CPUs without AVX-512
// VNNI: the AVX2 8×8 kernel (VPMADDUBSW with W's signs moved onto x, so no
// int16 sum saturates) on each quarter of the W panel, or for a single row
// of x (greedy search of one sentence) the 1×32 kernel and for two to four
// rows (beam 4) the 4×16 kernel on each half, which do not multiply rows of
// zeros. Both sum Σ x·w themselves, so they need no
// comp: the same int32 as Σ x·(w+128) − comp, hence the same bits as the
// other implementations.
func i8Kernel8x32AVX2Go(kg int, a []int8, b []uint8, out []float32, ldo int, scale []float32, _ []int32, ws, bias []float32, rows int) {
	_, _, _ = a[kg*4*i8MR-1], b[kg*4*i8NR-1], out[(rows-1)*ldo+i8NR-1] // bounds: the kernels read and write this much
	_, _, _ = scale[i8MR-1], ws[i8NR-1], bias[i8NR-1]
	if rows == 1 {
		i8Kernel1x32AVX2(kg, &a[0], &b[0], &out[0], &scale[0], &ws[0], &bias[0])
		return
	}
	if rows <= 4 {
		_ = out[3*ldo+i8NR-1]
		for q := 0; q < i8NR; q += 16 {
			i8Kernel4x16AVX2(kg, &a[0], &b[4*q], &out[q], ldo, &scale[0], &ws[q], &bias[q])
		}
		return
	}
	_ = out[(i8MR-1)*ldo+i8NR-1]
	for q := 0; q < i8NR; q += 8 {
		i8Kernel8x8AVX2(kg, &a[0], &b[4*q], &out[q], ldo, &scale[0], &ws[q], &bias[q])
	}
}

//go:noescape
func maxAbsAVX512(x *float32, n int) float32

//go:noescape
func quantGroupsAVX512(dst *int8, stride int, x *float32, n int, inv float32) int32

// quantPanelAVX512Go runs the assembly on the largest multiple of 16 values
// (four groups a step) and quantPanelGeneric on the rest.
func quantPanelAVX512Go(dst []int8, x []float32, inv float32) int32 {
	n := len(x) &^ 15
	var s int32
	if n > 0 {
		_ = dst[(n/4-1)*4*i8MR+3]
		s = quantGroupsAVX512(&dst[0], 4*i8MR, &x[0], n, inv)
	}
	if n < len(x) {
		s += quantPanelGeneric(dst[n/4*4*i8MR:], x[n:], inv)
	}
	return s
}

// maxAbsAVX512Go runs the assembly on the largest multiple of 16 values.
func maxAbsAVX512Go(x []float32) float32 {
	n := len(x) &^ 15
	if n == 0 {
		return maxAbsGeneric(x)
	}
	m := maxAbsAVX512(&x[0], n)
	t := maxAbsGeneric(x[n:])
	if t > m || t != t {
		return t
	}
	return m
}

// quantRowAVX512Go runs the assembly on the largest multiple of 16 values.
func quantRowAVX512Go(dst []int8, x []float32, inv float32) int32 {
	n := len(x) &^ 15
	var s int32
	if n > 0 {
		_ = dst[n-1]
		s = quantGroupsAVX512(&dst[0], 4, &x[0], n, inv)
	}
	return s + quantRowGeneric(dst[n:], x[n:], inv)
}
