package kernels

import (
	"math"
	"math/rand/v2"
	"slices"
	"sort"
	"testing"
)

// near reports whether got is within tol·(1+|want|) of want.
func near(got, want float64, tol float64) bool {
	return math.Abs(got-want) <= tol*(1+math.Abs(want))
}

// TestVectors checks every implementation's vector kernels against float64
// sums on lengths 0..70 at unaligned offsets.
func TestVectors(t *testing.T) {
	forEachImpl(t, func(t *testing.T) {
		r := rand.New(rand.NewPCG(7, 8))
		for n := 0; n <= 70; n++ {
			for off := range 4 {
				xs, ys := randSlice(r, n+off), randSlice(r, n+off)
				x, y := xs[off:], ys[off:]
				var dot, sum float64
				mx, arg := math.Inf(-1), -1
				for i := range x {
					dot += float64(x[i]) * float64(y[i])
					sum += float64(x[i])
					if float64(x[i]) > mx {
						mx, arg = float64(x[i]), i
					}
				}
				if got := Dot(x, y); !near(float64(got), dot, 1e-5) {
					t.Fatalf("n=%d off=%d: Dot = %v, want %v", n, off, got, dot)
				}
				if got := Sum(x); !near(float64(got), sum, 1e-5) {
					t.Fatalf("n=%d off=%d: Sum = %v, want %v", n, off, got, sum)
				}
				if n > 0 {
					if got := Max(x); float64(got) != mx {
						t.Fatalf("n=%d off=%d: Max = %v, want %v", n, off, got, mx)
					}
					if got := ArgMax(x); got != arg {
						t.Fatalf("n=%d off=%d: ArgMax = %v, want %v", n, off, got, arg)
					}
				}
				alpha := float32(r.Float32()*4 - 2)
				want := make([]float32, n)
				for i := range want {
					want[i] = y[i] + alpha*x[i]
				}
				got := slices.Clone(y)
				Axpy(alpha, x, got)
				equalSlices(t, "Axpy", got, want, 1e-6)
				for i := range want {
					want[i] = y[i] + x[i]
				}
				got = slices.Clone(y)
				Add(got, x)
				equalSlices(t, "Add", got, want, 0)
				for i := range want {
					want[i] = alpha * x[i]
				}
				got = slices.Clone(x)
				Scale(alpha, got)
				equalSlices(t, "Scale", got, want, 0)
				// Untouched neighbours: kernels must not write past the slice.
				if !slices.Equal(xs[:off], xs[:off]) {
					t.Fatal("wrote before the slice")
				}
			}
		}
	})
}

func equalSlices(t *testing.T, name string, got, want []float32, tol float64) {
	t.Helper()
	for i := range want {
		if !near(float64(got[i]), float64(want[i]), tol) {
			t.Fatalf("%s: n=%d: [%d] = %v, want %v", name, len(want), i, got[i], want[i])
		}
	}
}

// TestExpSub checks exp to a few ulps against float64 math.Exp, including
// the underflow side, -Inf and lengths 0..70 at unaligned offsets.
func TestExpSub(t *testing.T) {
	forEachImpl(t, func(t *testing.T) {
		r := rand.New(rand.NewPCG(9, 10))
		for n := 0; n <= 70; n++ {
			for off := range 4 {
				xs := make([]float32, n+off+1)
				for i := range xs {
					xs[i] = r.Float32()*178 - 88.5 // x-m in [-90, 88]
				}
				if n > 3 {
					xs[off+1] = float32(math.Inf(-1))
				}
				tail := xs[off+n]
				x := xs[off : off+n]
				in := slices.Clone(x)
				const m = 1.5
				s := ExpSub(x, m)
				var sum float64
				for i, v := range in {
					want := math.Exp(float64(v - m)) // x-m rounds in float32 first
					if want < 0x1p-126 {
						if x[i] != 0 && !near(float64(x[i]), want, 1e-6) {
							t.Fatalf("exp(%v) = %v, want 0", v-m, x[i])
						}
						continue
					}
					if ulps := math.Abs(float64(x[i])-want) / (want * 0x1p-23); ulps > 4 {
						t.Fatalf("exp(%v) = %v, want %v (%.1f ulps)", v-m, x[i], want, ulps)
					}
					sum += float64(x[i])
				}
				if !near(float64(s), sum, 1e-5) {
					t.Fatalf("n=%d: ExpSub sum = %v, want %v", n, s, sum)
				}
				if xs[off+n] != tail {
					t.Fatal("ExpSub wrote past the slice")
				}
			}
		}
	})
}

func TestTopK(t *testing.T) {
	forEachImpl(t, testTopK)
}

func testTopK(t *testing.T) {
	r := rand.New(rand.NewPCG(11, 12))
	for _, n := range []int{0, 1, 5, 100, 300, 58101} {
		x := make([]float32, n)
		for i := range x {
			x[i] = float32(r.IntN(50)) // many ties
			if n == 300 {
				x[i] = float32(i / 3) // ascending: every value enters the list
			}
		}
		order := make([]int32, n)
		for i := range order {
			order[i] = int32(i)
		}
		sort.SliceStable(order, func(a, b int) bool { return x[order[a]] > x[order[b]] })
		for _, k := range []int{0, 1, 4, 12, heapTopMin - 1, heapTopMin, 264, n} {
			if k > n {
				continue
			}
			idx := make([]int32, k+2)
			TopK(x, k, idx)
			if !slices.Equal(idx[:k], order[:k]) {
				t.Fatalf("n=%d k=%d: TopK = %v, want %v", n, k, idx[:k], order[:k])
			}
		}
	}
}

func TestArgMaxTies(t *testing.T) {
	forEachImpl(t, func(t *testing.T) {
		x := make([]float32, 37)
		for i := range x {
			x[i] = float32(i % 5)
		}
		x[9], x[30] = 7, 7
		if got := ArgMax(x); got != 9 {
			t.Fatalf("ArgMax = %d, want 9 (first of two maxima)", got)
		}
		if got := Max(x); got != 7 {
			t.Fatalf("Max = %v, want 7", got)
		}
	})
}

// TestSiLU checks SiLU under every implementation bit for bit against its
// formula over ExpSub's exps (e = exp(−|x|), x/(1+e) or x·e/(1+e)), within
// 8 ulps of float64 (ExpSub's error and three roundings), on lengths 0..70 and 1000 at
// offsets 0..3, in place and not, with zeros, −0, huge values, ±Inf and
// subnormals.
func TestSiLU(t *testing.T) {
	r := rand.New(rand.NewPCG(51, 52))
	specials := []float32{0, float32(math.Copysign(0, -1)), 88, -88, 100, -100, 1e30, -1e30, float32(math.Inf(1)), 1e-40, -1e-40}
	forEachImpl(t, func(t *testing.T) {
		for _, n := range append(seq(71), 1000) {
			for off := range 4 {
				x := make([]float32, off+n)
				for i := range x {
					x[i] = (r.Float32()*2 - 1) * float32(math.Ldexp(1, r.IntN(12)-4))
					if r.IntN(8) == 0 {
						x[i] = specials[r.IntN(len(specials))]
					}
				}
				x = x[off:]
				e := make([]float32, n)
				for i, v := range x {
					e[i] = -float32(math.Abs(float64(v)))
				}
				ExpSub(e, 0)
				got := make([]float32, n+1)
				got[n] = 7 // not written
				SiLU(got, x)
				in := slices.Clone(x)
				SiLU(in, in)
				for i, v := range x {
					want := v * e[i] / (1 + e[i])
					if v >= 0 {
						want = v / (1 + e[i])
					}
					if math.Float32bits(got[i]) != math.Float32bits(want) || math.Float32bits(in[i]) != math.Float32bits(want) {
						t.Fatalf("n=%d off=%d: SiLU(%v) = %v (in place %v), want %v", n, off, v, got[i], in[i], want)
					}
					f := float64(v)
					exact := f / (1 + math.Exp(-f))
					if math.IsInf(f, 0) || f < -80 {
						continue // exp(−|x|) flushed to 0: −Inf·0 is NaN, tiny results are 0
					}
					if d := math.Abs(float64(want) - exact); d > 8*0x1p-23*math.Abs(exact)+1e-38 {
						t.Fatalf("SiLU(%v) = %v, float64 %v", v, want, exact)
					}
				}
				if got[n] != 7 {
					t.Fatalf("n=%d: SiLU wrote past len(x)", n)
				}
			}
		}
	})
}

func seq(n int) []int {
	s := make([]int, n)
	for i := range s {
		s[i] = i
	}
	return s
}

// TestHeads checks DotHeads and AxpyHeads under every implementation bit
// for bit against one Dot or Axpy call per head, for head widths with and
// without a tail past a multiple of 8 and past 32, and their panics.
func TestHeads(t *testing.T) {
	r := rand.New(rand.NewPCG(53, 54))
	forEachImpl(t, func(t *testing.T) {
		for _, hd := range []int{0, 1, 3, 8, 16, 24, 32, 40, 64, 72} {
			for heads := 0; heads <= 9; heads++ {
				x, y := randSlice(r, heads*hd+1), randSlice(r, heads*hd+1)
				got := make([]float32, heads+1)
				got[heads] = 7
				DotHeads(x, y, hd, got[:heads])
				alpha := randSlice(r, heads)
				ya, yb := slices.Clone(y), slices.Clone(y)
				AxpyHeads(alpha, x, hd, ya)
				for h := range heads {
					want := Dot(x[h*hd:(h+1)*hd], y[h*hd:(h+1)*hd])
					if math.Float32bits(got[h]) != math.Float32bits(want) {
						t.Fatalf("hd=%d heads=%d: DotHeads[%d] = %v, Dot %v", hd, heads, h, got[h], want)
					}
					Axpy(alpha[h], x[h*hd:(h+1)*hd], yb[h*hd:(h+1)*hd])
				}
				if got[heads] != 7 {
					t.Fatalf("hd=%d heads=%d: DotHeads wrote past out", hd, heads)
				}
				for i := range ya {
					if math.Float32bits(ya[i]) != math.Float32bits(yb[i]) {
						t.Fatalf("hd=%d heads=%d: AxpyHeads y[%d] = %v, Axpy %v", hd, heads, i, ya[i], yb[i])
					}
				}
			}
		}
	})
	x := make([]float32, 10)
	checkPanics(t, []panicCase{
		{"short x", func() { DotHeads(x[:7], x, 4, make([]float32, 2)) }, "DotHeads of 2 heads of 4 values"},
		{"short y", func() { AxpyHeads(make([]float32, 3), x, 4, x) }, "AxpyHeads of 3 heads of 4 values"},
	})
}
