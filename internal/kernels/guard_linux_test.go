package kernels

import (
	"math/rand/v2"
	"syscall"
	"testing"
	"unsafe"
)

// guarded returns n float32s that end right before an inaccessible page, so
// that a kernel reading or writing past the end of a slice crashes the test.
func guarded(t *testing.T, n int) []float32 {
	t.Helper()
	page := syscall.Getpagesize()
	size := (n*4+page-1)/page*page + page
	mem, err := syscall.Mmap(-1, 0, size, syscall.PROT_READ|syscall.PROT_WRITE, syscall.MAP_ANON|syscall.MAP_PRIVATE)
	if err != nil {
		t.Fatalf("mmap: %v", err)
	}
	t.Cleanup(func() { syscall.Munmap(mem) })
	if err := syscall.Mprotect(mem[size-page:], syscall.PROT_NONE); err != nil {
		t.Fatalf("mprotect: %v", err)
	}
	x := unsafe.Slice((*float32)(unsafe.Pointer(&mem[size-page-n*4])), n)
	return x
}

// guardedOf returns a copy of v that ends right before an inaccessible page.
func guardedOf[T int8 | uint8 | uint16](t *testing.T, v []T) []T {
	t.Helper()
	size := int(unsafe.Sizeof(v[0]))
	mem := guarded(t, (len(v)*size+3)/4)
	all := unsafe.Slice((*T)(unsafe.Pointer(&mem[0])), len(mem)*4/size)
	g := all[len(all)-len(v):]
	copy(g, v)
	return g
}

// TestGuardPages runs every kernel on slices that end at an inaccessible
// page: assembly that touches memory past a slice's end faults here.
func TestGuardPages(t *testing.T) {
	r := rand.New(rand.NewPCG(19, 20))
	fill := func(x []float32) []float32 {
		for i := range x {
			x[i] = r.Float32()
		}
		return x
	}
	forEachConfig(func(config string) {
		for _, s := range []struct{ m, n, k int }{{1, 300, 67}, {5, 37, 129}, {70, 33, 40}, {17, 65, 300}, {40, 1, 31}} {
			for tr := range 4 {
				tA, tB := tr&1 != 0, tr&2 != 0
				ar, ac, br, bc := s.m, s.k, s.k, s.n
				if tA {
					ar, ac = ac, ar
				}
				if tB {
					br, bc = bc, br
				}
				a, b, c := fill(guarded(t, ar*ac)), fill(guarded(t, br*bc)), guarded(t, s.m*s.n)
				Gemm(tA, tB, s.m, s.n, s.k, 1, a, ac, b, bc, 0, c, s.n)
				Gemm(tA, tB, s.m, s.n, s.k, 0.5, a, ac, b, bc, 2, c, s.n)
			}
		}
		for _, s := range []struct{ m, n, k int }{{1, 9, 33}, {1, 17, 16}, {3, 5, 47}, {6, 3, 64}} {
			x, y := fill(guarded(t, s.m*s.k)), guarded(t, s.m*s.n)
			wf := fill(make([]float32, s.n*s.k))
			q, h := QuantizeQ8(wf, s.n, s.k), ToF16(wf, s.n, s.k)
			q.Data = guardedOf[int8](t, q.Data)
			h.Data = guardedOf[uint16](t, h.Data)
			MulQ8T(s.m, x, s.k, q, y, s.n, false)
			MulF16T(s.m, x, s.k, h, y, s.n, true)
			p := PackI8(QuantizeQ8(wf, s.n, s.k))
			p.Data = guardedOf[uint8](t, p.Data)
			gs := guarded(t, len(p.Scales))
			copy(gs, p.Scales)
			p.Scales = gs
			MulI8T(s.m, x, s.k, p, y, s.n, true)
		}
		for n := range 70 {
			x, y := fill(guarded(t, n)), fill(guarded(t, n))
			Dot(x, y)
			Axpy(2, x, y)
			Add(y, x)
			Scale(0.5, x)
			Sum(x)
			ExpSub(x, 1)
			SiLU(y, x)
			DotHeads(x, y, 8, make([]float32, n/8))
			AxpyHeads(make([]float32, n/16), x, 16, y)
			if n > 0 {
				Max(x)
				ArgMax(x)
				SoftmaxTopK(x, make([]int32, min(n, 3)))
			}
		}
	})
}
