package nn

import (
	"math"
	"math/rand/v2"
	"strings"
	"testing"
)

// A LowLinear's product stays within the error its stored weights allow,
// against float64 over the float32 weights: |Δy[i][j]| ≤ Σ_c |x[i][c]|·
// (eps·amax_j + 2⁻²⁵) plus float32 rounding of the sum, where amax_j is the
// largest |weight| of row j and eps is half an int8 step (1/254 of amax)
// or half an ulp of a half float (2⁻¹¹); 2⁻²⁵ covers half-float
// subnormals. Int8 also quantises x per row: plus Σ_c |w_c|·sx/2 + sx·sw/4
// per column (sx = max|x_i|/127, sw = amax_j/127). Float32 is
// Linear.Forward bit for bit.
func TestLowLinearBound(t *testing.T) {
	rng := rand.New(rand.NewPCG(4, 5))
	for _, p := range []Precision{Float32, Float16, Int8} {
		eps := map[Precision]float64{Float32: 0, Float16: 1.0 / 2048, Int8: 0.5 / 127}[p]
		for _, sz := range []struct{ n, in, out int }{{1, 64, 300}, {3, 17, 40}, {70, 33, 9}} {
			l := Linear{W: make([]float32, sz.out*sz.in), B: make([]float32, sz.out), In: sz.in, Out: sz.out}
			for i := range l.W {
				l.W[i] = float32(rng.NormFloat64()) * float32(math.Exp2(float64(rng.IntN(6))-8))
			}
			for i := range l.B {
				l.B[i] = float32(rng.NormFloat64())
			}
			for c := 0; c < sz.in; c++ {
				l.W[c] = 0 // an all-zero row
			}
			x := make([]float32, sz.n*sz.in)
			for i := range x {
				x[i] = float32(rng.NormFloat64())
			}
			low, err := NewLowLinear(&l, p, "w")
			if err != nil {
				t.Fatal(err)
			}
			y, ref := make([]float32, sz.n*sz.out), make([]float32, sz.n*sz.out)
			low.Forward(y, x, sz.n)
			l.Forward(ref, x, sz.n)
			var worst float64
			for i := 0; i < sz.n; i++ {
				for j := 0; j < sz.out; j++ {
					got := y[i*sz.out+j]
					if p == Float32 {
						if math.Float32bits(got) != math.Float32bits(ref[i*sz.out+j]) {
							t.Fatalf("f32 %v: y[%d][%d] = %v, Linear.Forward %v", sz, i, j, got, ref[i*sz.out+j])
						}
						continue
					}
					var amax, want, absX, absW, absXW, xmax float64
					for c, w := range l.W[j*sz.in : (j+1)*sz.in] {
						xv := float64(x[i*sz.in+c])
						amax = max(amax, math.Abs(float64(w)))
						xmax = max(xmax, math.Abs(xv))
						want += xv * float64(w)
						absX += math.Abs(xv)
						absW += math.Abs(float64(w))
						absXW += math.Abs(xv * float64(w))
					}
					want += float64(l.B[j])
					bound := absX*(eps*amax+0x1p-25) + float64(sz.in+2)*0x1p-23*(absXW+math.Abs(float64(l.B[j])))
					if p == Int8 {
						sx := xmax / 127
						bound += (absW+absX*eps*amax)*sx/2 + float64(sz.in)*sx*amax/127/4
					}
					d := math.Abs(float64(got) - want)
					if !(d <= bound) {
						t.Fatalf("%v %v: y[%d][%d] = %v, want %v ± %g", p, sz, i, j, got, want, bound)
					}
					worst = max(worst, d/bound)
				}
			}
			if p != Float32 {
				t.Logf("%v %d×%d×%d: worst |Δ| is %.2f of the bound", p, sz.n, sz.in, sz.out, worst)
			}
		}
	}
}

func TestLowLinearErrors(t *testing.T) {
	l := Linear{W: []float32{1, 2, 3, 4, 5, 6}, In: 3, Out: 2}
	for _, tc := range []struct {
		p    Precision
		v    float32
		want string
	}{
		{Int8, float32(math.NaN()), "w.weight[4] is NaN, which int8 weights cannot hold; use f32 weights"},
		{Int8, float32(math.Inf(1)), "w.weight[4] is +Inf"},
		{Float16, 65520, "w.weight[4] is 65520, which f16 weights cannot hold"},
		{Precision(-1), 0, "weight precision Precision(-1): want f32, f16 or int8"},
	} {
		l.W[4] = tc.v
		if _, err := NewLowLinear(&l, tc.p, "w.weight"); err == nil || !strings.Contains(err.Error(), tc.want) {
			t.Errorf("%v with %v: %v, want an error containing %q", tc.p, tc.v, err, tc.want)
		}
	}
	l.W[4] = 65504
	if _, err := NewLowLinear(&l, Float16, "w.weight"); err != nil {
		t.Errorf("f16 with 65504: %v", err)
	}
}

func TestParsePrecision(t *testing.T) {
	for _, p := range []Precision{Float32, Float16, Int8} {
		if got, err := ParsePrecision(p.String()); err != nil || got != p {
			t.Errorf("ParsePrecision(%q) = %v, %v", p.String(), got, err)
		}
	}
	if _, err := ParsePrecision("bf16"); err == nil || !strings.Contains(err.Error(), "want f32, f16 or int8") {
		t.Errorf("ParsePrecision(bf16): %v", err)
	}
}

// alone hides a product from ForwardShared (not a *LowLinear), which then
// runs it on its own.
type alone struct{ Projector }

// randLinear returns an out×in Linear with normal weights and bias.
func randLinear(rng *rand.Rand, out, in int) *Linear {
	l := &Linear{W: make([]float32, out*in), B: make([]float32, out), In: in, Out: out}
	for j := range l.W {
		l.W[j] = float32(rng.NormFloat64())
	}
	for j := range l.B {
		l.B[j] = float32(rng.NormFloat64())
	}
	return l
}

// TestForwardShared: products of one input run by ForwardShared (one int8
// product when all are int8) give each Forward's bits, at every precision
// and with a mix of them, and so does a self-attention (the encoder's and
// the decoder's teacher-forced q, k and v) against its products one by one.
func TestForwardShared(t *testing.T) {
	rng := rand.New(rand.NewPCG(14, 3))
	const n, in, heads = 11, 40, 4
	x := make([]float32, n*in)
	for i := range x {
		x[i] = float32(rng.NormFloat64())
	}
	for _, ps := range [][]Precision{{Int8, Int8, Int8}, {Float16, Float16}, {Float32, Float32, Float32}, {Int8, Float16, Int8}} {
		for _, outs := range [][]int{{in, in, in}, {in, 33, 70}} { // partial int8 panels in the middle
			lows := make([]LowLinear, len(ps))
			shared, each := make([]Projector, len(ps)), make([]Projector, len(ps))
			ys, want := make([][]float32, len(ps)), make([][]float32, len(ps))
			for i, p := range ps {
				var err error
				if lows[i], err = NewLowLinear(randLinear(rng, outs[i], in), p, "w"); err != nil {
					t.Fatal(err)
				}
				shared[i], each[i] = &lows[i], alone{&lows[i]}
				ys[i], want[i] = make([]float32, n*outs[i]), make([]float32, n*outs[i])
				lows[i].Forward(want[i], x, n)
			}
			ForwardShared(x, n, shared, ys)
			for i := range ys {
				for j, v := range ys[i] {
					if math.Float32bits(v) != math.Float32bits(want[i][j]) {
						t.Fatalf("%v %v: product %d: y[%d] = %v, Forward alone %v", ps, outs, i, j, v, want[i][j])
					}
				}
			}
			if len(ps) != 3 || outs[1] != in {
				continue
			}
			a := &MultiHeadAttention{Q: *lows[0].L, K: *lows[1].L, V: *lows[2].L, O: *randLinear(rng, in, in), Heads: heads}
			var s1, s2 AttnScratch
			got, ref := make([]float32, n*in), make([]float32, n*in)
			a.SelfAttentionWith(Projections{shared[0], shared[1], shared[2], &a.O}, got, x, 1, n, nil, true, &s1)
			a.SelfAttentionWith(Projections{each[0], each[1], each[2], &a.O}, ref, x, 1, n, nil, true, &s2)
			for j, v := range got {
				if math.Float32bits(v) != math.Float32bits(ref[j]) {
					t.Fatalf("%v: self-attention out[%d] = %v, with the products one by one %v", ps, j, v, ref[j])
				}
			}
		}
	}
}
