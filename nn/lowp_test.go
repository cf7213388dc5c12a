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
