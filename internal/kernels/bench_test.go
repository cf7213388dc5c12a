package kernels

import (
	"fmt"
	"math/rand/v2"
	"testing"
	"time"

	"gonum.org/v1/gonum/blas"
	"gonum.org/v1/gonum/blas/blas32"
)

// BenchmarkGemm measures C = A·B (matrix-vector shapes: x·Wᵀ with W stored
// [N×K]) for our kernels on one core and on all cores, and for gonum.
func BenchmarkGemm(b *testing.B) {
	for _, s := range []struct{ m, n, k int }{
		{1, 512, 512}, {1, 2048, 512}, {1, 58101, 512},
		{64, 2048, 512}, {512, 512, 512}, {256, 1024, 256},
	} {
		r := rand.New(rand.NewPCG(1, 1))
		transB := s.m == 1
		a, w, c := randSlice(r, s.m*s.k), randSlice(r, s.k*s.n), make([]float32, s.m*s.n)
		ldb := s.n
		if transB {
			ldb = s.k
		}
		report := func(b *testing.B) {
			sec := b.Elapsed().Seconds() / float64(b.N)
			b.ReportMetric(2*float64(s.m*s.n*s.k)/sec/1e9, "GFLOPS")
			if s.m == 1 {
				b.ReportMetric(4*float64(s.n*s.k+s.k+s.n)/sec/1e9, "GB/s")
			}
		}
		name := fmt.Sprintf("%dx%dx%d", s.m, s.n, s.k)
		for _, t := range []struct {
			name    string
			threads int
		}{{"ours-1core", 1}, {"ours-allcores", Threads()}} {
			b.Run(name+"/"+t.name, func(b *testing.B) {
				saved := Threads()
				defer SetThreads(saved)
				SetThreads(t.threads)
				for b.Loop() {
					Gemm(false, transB, s.m, s.n, s.k, 1, a, s.k, w, ldb, 0, c, s.n)
				}
				report(b)
			})
		}
		b.Run(name+"/gonum", func(b *testing.B) {
			tb := blas.NoTrans
			gb := blas32.General{Rows: s.k, Cols: s.n, Stride: s.n, Data: w}
			if transB {
				tb, gb = blas.Trans, blas32.General{Rows: s.n, Cols: s.k, Stride: s.k, Data: w}
			}
			ga := blas32.General{Rows: s.m, Cols: s.k, Stride: s.k, Data: a}
			gc := blas32.General{Rows: s.m, Cols: s.n, Stride: s.n, Data: c}
			for b.Loop() {
				blas32.Gemm(blas.NoTrans, tb, 1, ga, gb, 0, gc)
			}
			report(b)
		})
	}
}

// BenchmarkGemmImpl compares the implementations this machine has on one
// core: the packed path (512³) and the matrix-vector path (x·Wᵀ, W 58101×512).
func BenchmarkGemmImpl(b *testing.B) {
	defer func(saved *impl, threads int) { cur = saved; SetThreads(threads) }(cur, Threads())
	SetThreads(1)
	r := rand.New(rand.NewPCG(3, 3))
	for _, s := range []struct{ m, n, k int }{{512, 512, 512}, {1, 58101, 512}} {
		a, w, c := randSlice(r, s.m*s.k), randSlice(r, s.k*s.n), make([]float32, s.m*s.n)
		transB, ldb := s.m == 1, s.n
		if transB {
			ldb = s.k
		}
		for _, im := range impls {
			b.Run(fmt.Sprintf("%dx%dx%d/%s", s.m, s.n, s.k, im.name), func(b *testing.B) {
				cur = im
				for b.Loop() {
					Gemm(false, transB, s.m, s.n, s.k, 1, a, s.k, w, ldb, 0, c, s.n)
				}
				b.ReportMetric(2*float64(s.m*s.n*s.k)/(b.Elapsed().Seconds()/float64(b.N))/1e9, "GFLOPS")
			})
		}
	}
}

// BenchmarkVector measures the vector kernels the ops build softmax and
// layer norm from, on a model-width row, and TopK on a vocabulary row.
func BenchmarkVector(b *testing.B) {
	r := rand.New(rand.NewPCG(2, 2))
	x, y := randSlice(r, 512), randSlice(r, 512)
	logits := randSlice(r, 58101)
	idx := make([]int32, 8)
	scratch := make([]float32, len(logits))
	for _, bm := range []struct {
		name string
		f    func()
	}{
		{"Dot/512", func() { Dot(x, y) }},
		{"Axpy/512", func() { Axpy(0.5, x, y) }},
		{"Max/512", func() { Max(x) }},
		{"ExpSub/512", func() { copy(y, x); ExpSub(y, 1) }},
		{"Max/58101", func() { Max(logits) }},
		{"TopK8/58101", func() { TopK(logits, 8, idx) }},
		// The log-softmax normaliser and top 8 of a vocabulary row: in two
		// passes (and a copy) as before SoftmaxTopK, and fused.
		{"TwoPassSoftmaxTopK8/58101", func() {
			copy(scratch, logits)
			ExpSub(scratch, Max(logits))
			TopK(logits, 8, idx)
		}},
		{"SoftmaxTopK8/58101", func() { SoftmaxTopK(logits, idx) }},
	} {
		b.Run(bm.name, func(b *testing.B) {
			for b.Loop() {
				bm.f()
			}
		})
	}
}

// BenchmarkMulQ8T measures MulQ8T against the float32 x·Wᵀ (Gemm with
// transB) it replaces, on one core and on all cores.
func BenchmarkMulQ8T(b *testing.B) { benchLowp(b, q8Format) }

// BenchmarkMulF16T is BenchmarkMulQ8T for MulF16T.
func BenchmarkMulF16T(b *testing.B) { benchLowp(b, f16Format) }

// benchLowp times each iteration's low-precision product and float32 Gemm
// on the same x separately, interleaved so that both see the same machine
// load, and reports the weight bytes read per second by each and the time
// ratio f32/low-precision ("x-vs-f32", above 1 when faster). ns/op is the
// sum of both.
func benchLowp(b *testing.B, f lowpFormat) {
	r := rand.New(rand.NewPCG(4, 4))
	for _, s := range []struct{ m, n, k int }{{1, 58101, 512}, {16, 58101, 512}, {1, 2048, 512}} {
		wf, x, y := randSlice(r, s.n*s.k), randSlice(r, s.m*s.k), make([]float32, s.m*s.n)
		w := f.make(wf, s.n, s.k)
		wbytes := float64(f.bytes(s.n, s.k))
		for _, t := range []struct {
			name    string
			threads int
		}{{"1core", 1}, {"allcores", Threads()}} {
			b.Run(fmt.Sprintf("%dx%dx%d/%s", s.m, s.n, s.k, t.name), func(b *testing.B) {
				defer SetThreads(Threads())
				SetThreads(t.threads)
				var tf, tl time.Duration
				for b.Loop() {
					t0 := time.Now()
					Gemm(false, true, s.m, s.n, s.k, 1, x, s.k, wf, s.k, 0, y, s.n)
					t1 := time.Now()
					f.mul(s.m, x, s.k, w, y, s.n, false)
					tl += time.Since(t1)
					tf += t1.Sub(t0)
				}
				n := float64(b.N)
				b.ReportMetric(wbytes/(tl.Seconds()/n)/1e9, "GB/s")
				b.ReportMetric(float64(4*s.n*s.k)/(tf.Seconds()/n)/1e9, "f32-GB/s")
				b.ReportMetric(float64(tl.Microseconds())/n, "us/"+f.name)
				b.ReportMetric(float64(tf.Microseconds())/n, "us/f32")
				b.ReportMetric(tf.Seconds()/tl.Seconds(), "x-vs-f32")
			})
		}
	}
}

// BenchmarkMulI8T measures the int8×int8 product against MulQ8T (int8
// weights, float32 products) and the float32 Gemm on the same x, each
// iteration timing the three back to back so that they see the same
// machine load: "x-vs-f32" and "x-vs-q8" are time ratios (above 1 when
// MulI8T is faster).
func BenchmarkMulI8T(b *testing.B) {
	r := rand.New(rand.NewPCG(5, 5))
	for _, s := range []i8Shape{{16, 58101, 512}, {64, 58101, 512}, {64, 2048, 512}, {64, 512, 2048}, {16, 512, 512}, {4, 58101, 512}, {1, 58101, 512}, {1, 2048, 512}} {
		in := newI8Inputs(r, s)
		b.Run(fmt.Sprintf("%dx%dx%d", s.m, s.n, s.k), in.bench)
	}
}

// BenchmarkMulI8TImpl is BenchmarkMulI8T for each implementation this
// machine has, on one core (avx2: the VPMADDUBSW kernel, compared with the
// AVX2 float32 Gemm and MulQ8T).
func BenchmarkMulI8TImpl(b *testing.B) {
	defer func(saved *impl, threads int) { cur = saved; SetThreads(threads) }(cur, Threads())
	SetThreads(1)
	r := rand.New(rand.NewPCG(6, 6))
	for _, s := range []i8Shape{{1, 2048, 512}, {1, 58101, 512}, {4, 2048, 512}, {4, 58101, 512}, {16, 2048, 512}, {64, 2048, 512}, {64, 512, 2048}, {64, 58101, 512}} {
		in := newI8Inputs(r, s)
		for _, im := range impls {
			b.Run(fmt.Sprintf("%dx%dx%d/%s", s.m, s.n, s.k, im.name), func(b *testing.B) {
				cur = im
				in.bench(b)
			})
		}
	}
}

type i8Shape struct{ m, n, k int }

// i8Inputs are the operands of an int8 benchmark: W as float32, Q8 and I8.
type i8Inputs struct {
	i8Shape
	wf, x, y []float32
	q        Q8
	p        I8
}

func newI8Inputs(r *rand.Rand, s i8Shape) *i8Inputs {
	in := &i8Inputs{i8Shape: s, wf: randSlice(r, s.n*s.k), x: randSlice(r, s.m*s.k), y: make([]float32, s.m*s.n)}
	in.q = QuantizeQ8(in.wf, s.n, s.k)
	in.p = PackI8(in.q)
	return in
}

// bench times the float32 Gemm x·Wᵀ, MulQ8T and MulI8T back to back in
// every iteration and reports MulI8T's µs and GOPS and the time ratios.
func (in *i8Inputs) bench(b *testing.B) {
	var tf, tq, ti time.Duration
	for b.Loop() {
		t0 := time.Now()
		Gemm(false, true, in.m, in.n, in.k, 1, in.x, in.k, in.wf, in.k, 0, in.y, in.n)
		t1 := time.Now()
		MulQ8T(in.m, in.x, in.k, in.q, in.y, in.n, false)
		t2 := time.Now()
		MulI8T(in.m, in.x, in.k, in.p, in.y, in.n, false)
		ti += time.Since(t2)
		tq += t2.Sub(t1)
		tf += t1.Sub(t0)
	}
	n := float64(b.N)
	b.ReportMetric(float64(ti.Microseconds())/n, "us/i8")
	b.ReportMetric(2*float64(in.m*in.n*in.k)/(ti.Seconds()/n)/1e9, "i8-GOPS")
	b.ReportMetric(tf.Seconds()/ti.Seconds(), "x-vs-f32")
	b.ReportMetric(tq.Seconds()/ti.Seconds(), "x-vs-q8")
}

// BenchmarkSiLU measures SiLU on a decoder step's feed-forward activations
// at 64 rows (64×2048) for each implementation, one core.
func BenchmarkSiLU(b *testing.B) {
	defer func(saved *impl) { cur = saved }(cur)
	x := randSlice(rand.New(rand.NewPCG(7, 7)), 64*2048)
	for i := range x {
		x[i] *= 8
	}
	out := make([]float32, len(x))
	for _, im := range impls {
		b.Run(im.name, func(b *testing.B) {
			cur = im
			for b.Loop() {
				SiLU(out, x)
			}
			b.ReportMetric(float64(b.Elapsed().Nanoseconds())/float64(b.N)/float64(len(x)), "ns/value")
		})
	}
}

// BenchmarkQuantizeRows measures MulI8T's quantisation of x (maximum,
// rounding, spreading into the packed panels) for a decoder step at 64
// rows, before the product itself.
func BenchmarkQuantizeRows(b *testing.B) {
	r := rand.New(rand.NewPCG(8, 8))
	for _, k := range []int{512, 2048} {
		m := 64
		x := randSlice(r, m*k)
		sc := new(i8Scratch)
		sc.resize(ceilDiv(m, i8MR), i8Groups(k))
		b.Run(fmt.Sprintf("%dx%d", m, k), func(b *testing.B) {
			for b.Loop() {
				quantizeRows(cur, m, x, k, k, sc.x, sc.scale, sc.comp)
			}
			b.ReportMetric(float64(b.Elapsed().Nanoseconds())/float64(b.N)/float64(m*k), "ns/value")
		})
	}
}
