package kernels

import (
	"math"
	"math/rand/v2"
	"slices"
	"strconv"
	"testing"
)

// softmaxCases returns test vectors for SoftmaxTopK: random values with
// many ties, ascending values (the running max grows in every block), a
// wide range where most exps underflow, and -Inf entries.
func softmaxCases(r *rand.Rand) map[string][]float32 {
	cases := map[string][]float32{}
	for _, n := range []int{1, 2, 15, 16, 17, 31, 255, 256, 257, 300, 1000, 4099, 58101} {
		ties := make([]float32, n)
		asc := make([]float32, n)
		wide := make([]float32, n)
		for i := range ties {
			ties[i] = float32(r.IntN(200))/16 - 6
			asc[i] = float32(i) / 64
			wide[i] = r.Float32()*400 - 200
		}
		if n > 20 {
			ties[3], ties[n-2] = float32(math.Inf(-1)), float32(math.Inf(-1))
		}
		cases["ties/"+strconv.Itoa(n)] = ties
		cases["asc/"+strconv.Itoa(n)] = asc
		cases["wide/"+strconv.Itoa(n)] = wide
	}
	inf := make([]float32, 300)
	for i := range inf {
		inf[i] = float32(math.Inf(-1))
	}
	inf[290] = 1
	cases["all-but-one-inf"] = inf
	return cases
}

// TestSoftmaxTopK checks every implementation of the fused pass against the
// two-pass computation (Max, ExpSub on a copy, TopK), against float64 sums
// and against the generic implementation, on odd lengths at unaligned
// offsets.
func TestSoftmaxTopK(t *testing.T) {
	r := rand.New(rand.NewPCG(21, 22))
	cases := softmaxCases(r)
	type result struct {
		m, s float32
		idx  []int32
	}
	want := map[string]result{}
	saved := cur
	cur = generic
	for name, x := range cases {
		idx := make([]int32, min(12, len(x)))
		m, s := SoftmaxTopK(x, idx)
		want[name] = result{m, s, idx}
	}
	cur = saved
	forEachImpl(t, func(t *testing.T) {
		for name, x := range cases {
			for off := range 3 {
				xs := append(make([]float32, off), x...)[off:]
				for _, k := range []int{0, 1, 2, 8, 12, heapTopMin - 1, heapTopMin, 264} {
					k = min(k, len(x))
					idx := make([]int32, k)
					m, s := SoftmaxTopK(xs, idx)
					if wm := Max(x); m != wm {
						t.Fatalf("%s k=%d: max %v, want %v", name, k, m, wm)
					}
					var s64 float64
					for _, v := range x {
						s64 += math.Exp(float64(v - m))
					}
					two := ExpSub(slices.Clone(x), m)
					// The two-pass sum (one accumulator in generic Go) may be
					// the less accurate: allow its own error on top.
					twoTol := 1e-5 + math.Abs(float64(two)-s64)/(1+s64)
					if !near(float64(s), s64, 1e-5) || !near(float64(s), float64(two), twoTol) {
						t.Fatalf("%s k=%d: sum %v, want %v (float64), two-pass %v", name, k, s, s64, two)
					}
					top := make([]int32, k)
					TopK(x, k, top)
					if !slices.Equal(idx, top) {
						t.Fatalf("%s k=%d: top %v, TopK %v", name, k, idx, top)
					}
					g := want[name]
					if k == len(g.idx) && (m != g.m || !near(float64(s), float64(g.s), 1e-5) || !slices.Equal(idx, g.idx)) {
						t.Fatalf("%s: (%v, %v, %v), generic (%v, %v, %v)", name, m, s, idx, g.m, g.s, g.idx)
					}
				}
			}
		}
	})
}

func TestSoftmaxTopKPanics(t *testing.T) {
	checkPanics(t, []panicCase{
		{"empty", func() { SoftmaxTopK(nil, nil) }, "len(x)=0"},
		{"k", func() { SoftmaxTopK(make([]float32, 3), make([]int32, 4)) }, "len(idx)=4"},
	})
}
