//go:build !purego

package kernels

import (
	"math/rand/v2"
	"reflect"
	"testing"

	"golang.org/x/sys/cpu"
)

// TestMulI8TWithoutVNNI runs the int8 tests with the implementations an
// AVX-512 CPU without VNNI gets from the dispatch (implsFor with vnni off),
// so that the AVX2 int8 kernel is exercised inside the avx512
// implementation on this machine too (the avx2 implementation runs it in
// every other int8 test).
func TestMulI8TWithoutVNNI(t *testing.T) {
	if !cpu.X86.HasAVX512F || !cpu.X86.HasAVX2 || !cpu.X86.HasFMA {
		t.Skip("the CPU has no AVX-512F: the avx2 implementation's tests run the AVX2 int8 kernel")
	}
	list := implsFor(features{avx2: true, fma: true, f16c: cpu.X86.HasF16C, avx512f: true})
	top := list[len(list)-1]
	if top.name != "avx512" || reflect.ValueOf(top.i8Kernel).Pointer() != reflect.ValueOf(i8Kernel8x32AVX2Go).Pointer() {
		t.Fatalf("without VNNI the dispatch picks %s with another int8 kernel, want avx512 with i8Kernel8x32AVX2Go", top.name)
	}
	saved := impls
	defer func() { impls = saved }()
	impls = list
	r := rand.New(rand.NewPCG(41, 42))
	for _, s := range []struct{ m, n, k int }{{1, 31, 17}, {7, 33, 65}, {9, 513, 7}, {17, 65, 513}, {64, 300, 2048}} {
		checkMulI8T(t, r, s.m, s.n, s.k)
	}
	TestMulI8TExtremes(t)
	TestMulI8TEdges(t)
}
