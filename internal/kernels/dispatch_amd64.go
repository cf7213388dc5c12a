//go:build !purego

package kernels

import "golang.org/x/sys/cpu"

// avx2 uses the 6×16 AVX2+FMA micro-kernel.
var avx2 = &impl{
	name: "avx2",
	mr:   6, nr: 16, mc: 96, kc: 256, nc: 2048,
	kernel:  kernelAVX2,
	dotRows: dotRowsGeneric,
	dot:     dotGeneric,
	axpy:    axpyGeneric,
	add:     addGeneric,
	scale:   scaleGeneric,
	sum:     sumGeneric,
	max:     maxGeneric,
	expSub:  expSubGeneric,
}

// avx512 uses the 14×32 AVX-512F micro-kernel and AVX2 vector kernels.
var avx512 = &impl{
	name: "avx512",
	mr:   14, nr: 32, mc: 112, kc: 256, nc: 2048,
	kernel:  kernelAVX512,
	dotRows: dotRowsGeneric,
	dot:     dotGeneric,
	axpy:    axpyGeneric,
	add:     addGeneric,
	scale:   scaleGeneric,
	sum:     sumGeneric,
	max:     maxGeneric,
	expSub:  expSubGeneric,
}

// available lists the implementations this CPU can run, best last.
func available() []*impl {
	list := []*impl{generic}
	if cpu.X86.HasAVX2 && cpu.X86.HasFMA {
		list = append(list, avx2)
		if cpu.X86.HasAVX512F {
			list = append(list, avx512)
		}
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
