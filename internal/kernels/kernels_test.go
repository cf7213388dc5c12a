package kernels

import (
	"fmt"
	"math"
	"math/rand/v2"
	"slices"
	"strings"
	"testing"

	"gonum.org/v1/gonum/blas"
	"gonum.org/v1/gonum/blas/blas32"
)

// forEachImpl runs f with every implementation this machine has switched in.
func forEachImpl(t *testing.T, f func(t *testing.T)) {
	t.Helper()
	saved := cur
	defer func() { cur = saved }()
	for _, im := range impls {
		cur = im
		t.Run(im.name, f)
	}
}

func randSlice(r *rand.Rand, n int) []float32 {
	x := make([]float32, n)
	for i := range x {
		x[i] = r.Float32()*2 - 1
	}
	return x
}

type gemmCase struct {
	m, n, k     int
	alpha, beta float32
}

// refGemm computes the product with gonum's pure-Go BLAS.
func refGemm(tA, tB bool, m, n, k int, alpha float32, a []float32, lda int, b []float32, ldb int, beta float32, c []float32, ldc int) {
	ga := blas32.General{Rows: m, Cols: k, Stride: lda, Data: a}
	ta := blas.NoTrans
	if tA {
		ga.Rows, ga.Cols, ta = k, m, blas.Trans
	}
	gb := blas32.General{Rows: k, Cols: n, Stride: ldb, Data: b}
	tb := blas.NoTrans
	if tB {
		gb.Rows, gb.Cols, tb = n, k, blas.Trans
	}
	blas32.Gemm(ta, tb, alpha, ga, gb, beta, blas32.General{Rows: m, Cols: n, Stride: ldc, Data: c})
}

func checkGemm(t *testing.T, r *rand.Rand, tA, tB bool, tc gemmCase, pad int) {
	t.Helper()
	m, n, k := tc.m, tc.n, tc.k
	ar, ac := m, k
	if tA {
		ar, ac = k, m
	}
	br, bc := k, n
	if tB {
		br, bc = n, k
	}
	lda, ldb, ldc := ac+pad, bc+pad, n+pad
	// Slices exactly as long as the shapes need: no slack past the last row.
	a := randSlice(r, (ar-1)*lda+ac)
	b := randSlice(r, (br-1)*ldb+bc)
	c := randSlice(r, (m-1)*ldc+n)
	if tc.beta == 0 {
		for i := range c {
			c[i] = float32(math.NaN())
		}
	}
	want := slices.Clone(c)
	if tc.beta == 0 {
		// The reference starts from zeros: only our result can see the NaNs.
		for i := range m {
			clear(want[i*ldc : i*ldc+n])
		}
	}
	refGemm(tA, tB, m, n, k, tc.alpha, a, lda, b, ldb, tc.beta, want, ldc)
	tol := 2e-6 * float64(k+4) * (math.Abs(float64(tc.alpha)) + math.Abs(float64(tc.beta)) + 1)
	forEachConfig(func(config string) {
		got := slices.Clone(c)
		Gemm(tA, tB, m, n, k, tc.alpha, a, lda, b, ldb, tc.beta, got, ldc)
		for i := range got {
			row, col := i/ldc, i%ldc
			if col >= n || row >= m {
				if math.Float32bits(got[i]) != math.Float32bits(c[i]) {
					t.Fatalf("%s: transA=%v transB=%v %+v: wrote outside C at row %d col %d", config, tA, tB, tc, row, col)
				}
				continue
			}
			if d := math.Abs(float64(got[i] - want[i])); !(d <= tol) {
				t.Fatalf("%s: transA=%v transB=%v %+v pad=%d: C[%d,%d] = %v, gonum %v", config, tA, tB, tc, pad, row, col, got[i], want[i])
			}
		}
	})
}

// forEachConfig runs f under every implementation this machine has, with 1
// and 2 threads; with 2 threads even small products are split, to test the
// split.
func forEachConfig(f func(config string)) {
	savedImpl, savedThreads, sg, sv := cur, Threads(), minParallelGemm, minParallelGemv
	defer func() {
		cur = savedImpl
		SetThreads(savedThreads)
		minParallelGemm, minParallelGemv = sg, sv
	}()
	minParallelGemm, minParallelGemv = 1, 1
	for _, im := range impls {
		for _, n := range []int{1, 2} {
			cur = im
			SetThreads(n)
			f(fmt.Sprintf("%s/threads=%d", im.name, n))
		}
	}
}

var small = []int{1, 2, 3, 7, 17, 63, 64, 65}

var alphaBeta = [][2]float32{{1, 0}, {0.5, 1}, {-1.5, 0.25}}

func TestGemmSmall(t *testing.T) {
	r := rand.New(rand.NewPCG(1, 2))
	for _, m := range small {
		for _, n := range small {
			for _, k := range small {
				for tr := range 4 {
					ab := alphaBeta[(m+n+k+tr)%len(alphaBeta)]
					checkGemm(t, r, tr&1 != 0, tr&2 != 0, gemmCase{m, n, k, ab[0], ab[1]}, (m+k)%3)
				}
			}
		}
	}
}

func TestGemmLarge(t *testing.T) {
	shapes := []gemmCase{
		{127, 513, 65, 1, 0}, {513, 127, 300, 0.5, 1}, {65, 1100, 600, 1, 0},
		{300, 257, 513, -1.5, 0.25}, {513, 513, 513, 1, 0}, {1, 58101 / 7, 512, 1, 0},
		{1, 2048, 513, 0.5, 1}, {700, 1, 333, 1, 0}, {1, 1, 513, 2, 0.5},
		{2, 1300, 127, 1, 0}, {1300, 2, 127, 1, 1}, {16, 300, 129, 1, 0}, {13, 517, 64, 0.5, 2}, {32, 257, 40, 1, 0}, {64, 300, 2100, 1, 0.5}, {65, 100, 33, 1, 0}, {70, 2100, 40, 1, 0.5},
	}
	r := rand.New(rand.NewPCG(3, 4))
	for i, tc := range shapes {
		for tr := range 4 {
			checkGemm(t, r, tr&1 != 0, tr&2 != 0, tc, i%3)
		}
	}
}

// TestGemmAlphaZero checks that alpha == 0 or k == 0 only scales C.
func TestGemmAlphaZero(t *testing.T) {
	r := rand.New(rand.NewPCG(5, 6))
	for _, tc := range []gemmCase{{5, 7, 3, 0, 0}, {5, 7, 3, 0, 2}, {5, 7, 0, 1, 0.5}, {5, 7, 0, 1, 0}} {
		checkGemm(t, r, false, true, tc, 1)
	}
}

// panicCase is a call that must panic with a message containing msg.
type panicCase struct {
	name string
	call func()
	msg  string
}

// checkPanics runs each case as a subtest and checks its panic message.
func checkPanics(t *testing.T, cases []panicCase) {
	t.Helper()
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			defer func() {
				r := recover()
				if s, _ := r.(string); !strings.Contains(s, tc.msg) {
					t.Fatalf("panic %v, want one containing %q", r, tc.msg)
				}
			}()
			tc.call()
		})
	}
}

func TestGemmPanics(t *testing.T) {
	x := make([]float32, 12)
	checkPanics(t, []panicCase{
		{"negative", func() { Gemm(false, false, -1, 2, 2, 1, x, 2, x, 2, 0, x, 2) }, "negative size"},
		{"short A", func() { Gemm(false, false, 4, 2, 4, 1, x, 4, x, 2, 0, x, 2) }, "A has 12 elements"},
		{"small ldb", func() { Gemm(false, true, 2, 2, 3, 1, x, 3, x, 2, 0, x, 2) }, "ldB=2"},
		{"short C", func() { Gemm(false, false, 3, 3, 1, 1, x, 1, x, 3, 0, x, 5) }, "C has 12 elements"},
		{"Dot", func() { Dot(x, x[1:]) }, "different lengths"},
		{"Max", func() { Max(nil) }, "empty"},
		{"TopK", func() { TopK(x, 3, make([]int32, 2)) }, "len(idx)=2"},
	})
}

func TestSetThreads(t *testing.T) {
	saved := Threads()
	defer SetThreads(saved)
	SetThreads(0)
	if Threads() != 1 {
		t.Fatalf("SetThreads(0) gave %d threads, want 1", Threads())
	}
	SetThreads(3)
	if Threads() != 3 {
		t.Fatalf("SetThreads(3) gave %d threads", Threads())
	}
}

// TestGemmConcurrent runs split products from several goroutines at once:
// the shared worker pool must keep their parts apart.
func TestGemmConcurrent(t *testing.T) {
	saved, sg := Threads(), minParallelGemm
	defer func() { SetThreads(saved); minParallelGemm = sg }()
	SetThreads(2)
	minParallelGemm = 1
	r := rand.New(rand.NewPCG(13, 14))
	const m, n, k = 70, 90, 50
	a, b := randSlice(r, m*k), randSlice(r, k*n)
	want := make([]float32, m*n)
	Gemm(false, false, m, n, k, 1, a, k, b, n, 0, want, n)
	errs := make(chan string, 4)
	for range 4 {
		go func() {
			c := make([]float32, m*n)
			for range 50 {
				Gemm(false, false, m, n, k, 1, a, k, b, n, 0, c, n)
				if !slices.Equal(c, want) {
					errs <- "concurrent Gemm gave a different result"
					return
				}
			}
			errs <- ""
		}()
	}
	for range 4 {
		if e := <-errs; e != "" {
			t.Fatal(e)
		}
	}
}

// TestGemmThreadsDeterministic checks that splitting a product across cores
// does not change a single bit of the result.
func TestGemmThreadsDeterministic(t *testing.T) {
	saved, sg, sv := Threads(), minParallelGemm, minParallelGemv
	defer func() { SetThreads(saved); minParallelGemm, minParallelGemv = sg, sv }()
	minParallelGemm, minParallelGemv = 1, 1
	r := rand.New(rand.NewPCG(15, 16))
	for _, s := range []struct{ m, n, k int }{{513, 300, 700}, {300, 513, 70}, {20, 999, 64}, {1, 3000, 100}} {
		a, b := randSlice(r, s.m*s.k), randSlice(r, s.n*s.k)
		var got [2][]float32
		for i, th := range []int{1, 2} {
			SetThreads(th)
			got[i] = make([]float32, s.m*s.n)
			Gemm(false, true, s.m, s.n, s.k, 1, a, s.k, b, s.k, 0, got[i], s.n)
		}
		if !slices.Equal(got[0], got[1]) {
			t.Fatalf("%v: results with 1 and 2 threads differ", s)
		}
	}
}

// TestGemmRowsIndependent checks that in x·Wᵀ with up to maxDotRows rows a
// row's result does not depend on the other rows: a sentence's logits are
// the same bits alone and in a batch.
func TestGemmRowsIndependent(t *testing.T) {
	r := rand.New(rand.NewPCG(17, 18))
	for _, s := range []struct{ n, k int }{{37, 7}, {1000, 100}, {300, 512}, {45, 129}} {
		m := maxDotRows
		x, w := randSlice(r, m*s.k), randSlice(r, s.n*s.k)
		forEachConfig(func(config string) {
			all := make([]float32, m*s.n)
			Gemm(false, true, m, s.n, s.k, 1, x, s.k, w, s.k, 0, all, s.n)
			for _, rows := range []int{1, 2, 5, 13} {
				for i0 := 0; i0+rows <= m; i0 += 7 {
					part := make([]float32, rows*s.n)
					Gemm(false, true, rows, s.n, s.k, 1, x[i0*s.k:], s.k, w, s.k, 0, part, s.n)
					if !slices.Equal(part, all[i0*s.n:(i0+rows)*s.n]) {
						t.Fatalf("%s: n=%d k=%d: rows %d..%d alone differ from the same rows in a batch of %d", config, s.n, s.k, i0, i0+rows, m)
					}
				}
			}
		})
	}
}
