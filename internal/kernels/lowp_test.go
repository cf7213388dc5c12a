package kernels

import (
	"fmt"
	"math"
	"math/rand/v2"
	"slices"
	"strings"
	"testing"
)

// TestF16ToF32 checks the widening of every binary16 value: the generic
// conversion against the CPU's (VCVTPH2PS) where the machine has one, and
// the round trip through ToF16 for all non-NaN values.
func TestF16ToF32(t *testing.T) {
	all := make([]uint16, 1<<16)
	for i := range all {
		all[i] = uint16(i)
	}
	want := make([]float32, len(all))
	widenF16Generic(want, all)
	forEachImpl(t, func(t *testing.T) {
		for _, off := range []int{0, 3} {
			got := make([]float32, len(all)-off)
			cur.widenF16(got, all[off:])
			for i, v := range got {
				if math.Float32bits(v) != math.Float32bits(want[i+off]) {
					t.Fatalf("off=%d: half %#04x widened to %v (%#08x), generic %v (%#08x)", off, all[i+off], v, math.Float32bits(v), want[i+off], math.Float32bits(want[i+off]))
				}
			}
		}
	})
	for h, v := range want {
		if math.IsNaN(float64(v)) {
			continue
		}
		if back := f32ToF16(v); back != uint16(h) {
			t.Fatalf("half %#04x = %v converts back to %#04x", h, v, back)
		}
	}
	for _, tc := range []struct {
		h uint16
		v float64
	}{{0x3c00, 1}, {0xc000, -2}, {0x7bff, 65504}, {0x0001, 0x1p-24}, {0x0400, 0x1p-14}, {0x3555, 0.333251953125}} {
		if got := f16ToF32(tc.h); float64(got) != tc.v {
			t.Fatalf("half %#04x = %v, want %v", tc.h, got, tc.v)
		}
	}
}

// halfValue is the value of a non-negative half's bits, with the bits of
// +Inf standing for 65536: a float32 rounds to Inf when 65536 is nearer
// (or as near, since 65504's significand is odd) than 65504.
func halfValue(h uint16) float64 {
	if h == 0x7c00 {
		return 65536
	}
	return float64(f16ToF32(h))
}

// TestToF16Rounding checks that ToF16 rounds to the nearest half, ties to
// even, on random float32s, on exact midpoints between halves and on the
// neighbours of those midpoints.
func TestToF16Rounding(t *testing.T) {
	r := rand.New(rand.NewPCG(31, 32))
	var vals []float32
	for range 20000 {
		vals = append(vals, math.Float32frombits(r.Uint32()&0x7fffffff)) // every magnitude
		vals = append(vals, (r.Float32()*2-1)*float32(math.Ldexp(1, r.IntN(44)-28)))
		h := uint16(r.IntN(0x7c00))
		mid := float32((halfValue(h) + halfValue(h+1)) / 2)
		vals = append(vals, mid, math.Nextafter32(mid, 0), math.Nextafter32(mid, 1e9), -mid)
	}
	for _, v := range vals {
		if math.IsNaN(float64(v)) {
			continue
		}
		got := f32ToF16(v)
		if (got&0x8000 != 0) != math.Signbit(float64(v)) {
			t.Fatalf("%v: sign of %#04x is wrong", v, got)
		}
		a, h := math.Abs(float64(v)), got&0x7fff
		if h > 0x7c00 || math.IsInf(float64(v), 0) && h != 0x7c00 {
			t.Fatalf("%v gave %#04x", v, got)
		}
		if math.IsInf(float64(v), 0) {
			continue
		}
		d := math.Abs(a - halfValue(h))
		for _, nb := range []uint16{h - 1, h + 1} {
			if nb > 0x7c00 { // below 0 or past Inf
				continue
			}
			dn := math.Abs(a - halfValue(nb))
			if dn < d || dn == d && h&1 == 1 {
				t.Fatalf("%v rounded to %#04x (%v), but %#04x (%v) is nearer or an even tie", v, h, halfValue(h), nb, halfValue(nb))
			}
		}
	}
	if got := f32ToF16(float32(math.NaN())); got&0x7c00 != 0x7c00 || got&0x3ff == 0 {
		t.Fatalf("NaN gave %#04x", got)
	}
}

// TestQuantizeQ8 checks the per-row scales and the round-trip error bound
// |w - s·q| <= s/2 on rows of very different magnitudes.
func TestQuantizeQ8(t *testing.T) {
	forEachImpl(t, testQuantizeQ8)
}

func testQuantizeQ8(t *testing.T) {
	r := rand.New(rand.NewPCG(33, 34))
	for _, s := range []struct{ rows, cols int }{{1, 1}, {3, 7}, {17, 65}, {9, 513}} {
		w := randSlice(r, s.rows*s.cols+3) // longer than needed: only rows·cols are read
		for row := range s.rows {
			mag := float32(math.Ldexp(1, r.IntN(40)-20))
			if row == 1 {
				mag = 0
			}
			for c := range s.cols {
				w[row*s.cols+c] *= mag
			}
		}
		q := QuantizeQ8(w, s.rows, s.cols)
		if len(q.Data) != s.rows*s.cols || len(q.Scales) != s.rows || q.Rows != s.rows || q.Cols != s.cols {
			t.Fatalf("%v: got a Q8 of %d×%d with %d values and %d scales", s, q.Rows, q.Cols, len(q.Data), len(q.Scales))
		}
		for row := range s.rows {
			var amax float64
			for _, v := range w[row*s.cols : (row+1)*s.cols] {
				amax = max(amax, math.Abs(float64(v)))
			}
			sc := float64(q.Scales[row])
			if math.Abs(sc-amax/127) > 1e-7*amax/127 {
				t.Fatalf("%v row %d: scale %v, want max|w|/127 = %v", s, row, sc, amax/127)
			}
			peak := 0
			for c := range s.cols {
				v, qv := float64(w[row*s.cols+c]), int(q.Data[row*s.cols+c])
				peak = max(peak, qv, -qv)
				if e := math.Abs(v - sc*float64(qv)); e > sc/2*(1+0x1p-16) {
					t.Fatalf("%v row %d col %d: %v quantised to %d·%v, error %v > scale/2", s, row, c, v, qv, sc, e)
				}
			}
			if amax > 0 && peak != 127 {
				t.Fatalf("%v row %d: largest |q| is %d, want 127", s, row, peak)
			}
		}
	}
}

// lowpFormat is a weight format under test: it turns a float32 matrix into
// its format, multiplies with it and widens it back to float32.
type lowpFormat struct {
	name string
	make func(w []float32, n, k int) any
	mul  func(m int, x []float32, ldx int, w any, y []float32, ldy int, acc bool)
	// dequant returns W's values as float32 (for Q8 the unscaled int8
	// values the kernels multiply) and the per-row scales (nil for F16).
	dequant func(w any) (vals []float32, scales []float32)
	// bytes is the size of an n×k matrix in the format.
	bytes func(n, k int) int
}

var q8Format, f16Format = lowpFormats[0], lowpFormats[1]

var lowpFormats = []lowpFormat{
	{
		"Q8",
		func(w []float32, n, k int) any { return QuantizeQ8(w, n, k) },
		func(m int, x []float32, ldx int, w any, y []float32, ldy int, acc bool) {
			MulQ8T(m, x, ldx, w.(Q8), y, ldy, acc)
		},
		func(w any) ([]float32, []float32) {
			q := w.(Q8)
			v := make([]float32, len(q.Data))
			widenQ8Generic(v, q.Data)
			return v, q.Scales
		},
		func(n, k int) int { return n*k + 4*n },
	},
	{
		"F16",
		func(w []float32, n, k int) any { return ToF16(w, n, k) },
		func(m int, x []float32, ldx int, w any, y []float32, ldy int, acc bool) {
			MulF16T(m, x, ldx, w.(F16), y, ldy, acc)
		},
		func(w any) ([]float32, []float32) {
			h := w.(F16)
			v := make([]float32, len(h.Data))
			widenF16Generic(v, h.Data)
			return v, nil
		},
		func(n, k int) int { return 2 * n * k },
	},
}

var lowpSizes = []int{1, 3, 7, 17, 63, 64, 65, 513}

// TestMulLowp checks MulQ8T and MulF16T for every implementation with 1 and
// 2 threads against float64 sums over the dequantised weights and against
// the generic implementation, on odd sizes with strides past the widths
// (x's padding is NaN: reading it shows), with and without accumulate,
// and checks that nothing outside y is written and that the thread count
// changes no bit.
func TestMulLowp(t *testing.T) {
	r := rand.New(rand.NewPCG(35, 36))
	for _, f := range lowpFormats {
		for _, n := range lowpSizes {
			for _, k := range lowpSizes {
				wf := randSlice(r, n*k)
				w := f.make(wf, n, k)
				vals, scales := f.dequant(w)
				for m := 1; m <= 9; m++ {
					acc := (m+n+k)%2 == 1
					checkMulLowp(t, r, f.name, f.mul, w, vals, scales, m, n, k, acc)
				}
			}
		}
	}
}

func checkMulLowp(t *testing.T, r *rand.Rand, name string, mul func(int, []float32, int, any, []float32, int, bool),
	w any, vals, scales []float32, m, n, k int, acc bool) {
	t.Helper()
	ldx, ldy := k+1+m%3, n+2
	x := randSlice(r, (m-1)*ldx+k)
	y0 := randSlice(r, (m-1)*ldy+n)
	for i := range m - 1 {
		for c := k; c < ldx; c++ {
			x[i*ldx+c] = float32(math.NaN())
		}
	}
	if !acc {
		for i := range m {
			for c := range n {
				y0[i*ldy+c] = float32(math.NaN()) // overwritten unread
			}
		}
	}
	want := make([]float64, m*n)
	for i := range m {
		for j := range n {
			var s float64
			for p := range k {
				s += float64(x[i*ldx+p]) * float64(vals[j*k+p])
			}
			if scales != nil {
				s *= float64(scales[j])
			}
			if acc {
				s += float64(y0[i*ldy+j])
			}
			want[i*n+j] = s
		}
	}
	tol := 2e-6 * float64(k+4)
	saved := cur
	cur = generic
	gen := slices.Clone(y0)
	mul(m, x, ldx, w, gen, ldy, acc)
	cur = saved
	results := map[string][]float32{}
	forEachConfig(func(config string) {
		got := slices.Clone(y0)
		mul(m, x, ldx, w, got, ldy, acc)
		for i := range got {
			row, col := i/ldy, i%ldy
			if col >= n {
				if math.Float32bits(got[i]) != math.Float32bits(y0[i]) {
					t.Fatalf("%s %s m=%d n=%d k=%d: wrote outside y at row %d col %d", name, config, m, n, k, row, col)
				}
				continue
			}
			if d := math.Abs(float64(got[i]) - want[row*n+col]); !(d <= tol) {
				t.Fatalf("%s %s m=%d n=%d k=%d acc=%v: y[%d,%d] = %v, float64 %v", name, config, m, n, k, acc, row, col, got[i], want[row*n+col])
			}
			if d := math.Abs(float64(got[i] - gen[i])); !(d <= tol) {
				t.Fatalf("%s %s m=%d n=%d k=%d acc=%v: y[%d,%d] = %v, generic %v", name, config, m, n, k, acc, row, col, got[i], gen[i])
			}
		}
		im := strings.Split(config, "/")[0]
		if prev, ok := results[im]; ok && !slices.Equal(prev, got) {
			t.Fatalf("%s %s m=%d n=%d k=%d: result differs from 1 thread", name, config, m, n, k)
		}
		results[im] = got
	})
}

// TestMulLowpMatchesGemm checks that the products are float32 Gemm x·Wᵀ on
// the widened weights, scaled per row: bit for bit, since the same dot
// kernels run on the same values (m up to 64, where Gemm takes the
// dot-product paths) — and within float32 rounding of Gemm on the
// dequantised matrix (scale folded into W).
func TestMulLowpMatchesGemm(t *testing.T) {
	r := rand.New(rand.NewPCG(37, 38))
	for _, f := range lowpFormats {
		for _, s := range []struct{ m, n, k int }{{1, 1000, 100}, {1, 300, 513}, {3, 517, 64}, {9, 70, 129}, {16, 600, 512}, {64, 90, 33}} {
			wf := randSlice(r, s.n*s.k)
			w := f.make(wf, s.n, s.k)
			vals, scales := f.dequant(w)
			deq := slices.Clone(vals)
			for j := range s.n {
				if scales != nil {
					Scale(scales[j], deq[j*s.k:(j+1)*s.k])
				}
			}
			x := randSlice(r, s.m*s.k)
			forEachConfig(func(config string) {
				got := make([]float32, s.m*s.n)
				f.mul(s.m, x, s.k, w, got, s.n, false)
				widened := make([]float32, s.m*s.n)
				Gemm(false, true, s.m, s.n, s.k, 1, x, s.k, vals, s.k, 0, widened, s.n)
				dequant := make([]float32, s.m*s.n)
				Gemm(false, true, s.m, s.n, s.k, 1, x, s.k, deq, s.k, 0, dequant, s.n)
				for i := range got {
					want := widened[i]
					if scales != nil {
						want *= scales[i%s.n]
					}
					if got[i] != want {
						t.Fatalf("%s %s %v: y[%d] = %v, Gemm on the widened weights %v", f.name, config, s, i, got[i], want)
					}
					if d := math.Abs(float64(got[i] - dequant[i])); d > 2e-6*float64(s.k+4) {
						t.Fatalf("%s %s %v: y[%d] = %v, Gemm on the dequantised weights %v", f.name, config, s, i, got[i], dequant[i])
					}
				}
			})
		}
	}
}

func TestLowpPanics(t *testing.T) {
	x := make([]float32, 12)
	q := QuantizeQ8(x, 3, 4)
	h := ToF16(x, 3, 4)
	checkPanics(t, []panicCase{
		{"negative", func() { MulQ8T(-1, x, 4, q, x, 3, false) }, "negative size"},
		{"short x", func() { MulQ8T(4, x, 4, q, x, 3, false) }, "MulQ8T: x has 12 elements"},
		{"small ldy", func() { MulF16T(2, x, 4, h, x, 2, false) }, "MulF16T: ldy=2"},
		{"short Q8", func() { MulQ8T(1, x, 4, Q8{Rows: 3, Cols: 4, Data: q.Data, Scales: q.Scales[:2]}, x, 3, false) }, "2 scales"},
		{"short F16", func() { MulF16T(1, x, 4, F16{Rows: 4, Cols: 4, Data: h.Data}, x, 4, false) }, "has 12 values"},
		{"NaN weight", func() { QuantizeQ8([]float32{1, float32(math.NaN())}, 1, 2) }, "w[1] is NaN"},
		{"short w", func() { ToF16(x, 4, 4) }, "from 12 values"},
	})
}

// TestMulLowpEmpty checks the degenerate shapes: k == 0 clears y (or leaves
// it when accumulating), m == 0 and n == 0 touch nothing.
func TestMulLowpEmpty(t *testing.T) {
	y := []float32{1, 2, 3}
	MulQ8T(1, nil, 1, QuantizeQ8(nil, 3, 0), y, 3, true)
	if !slices.Equal(y, []float32{1, 2, 3}) {
		t.Fatalf("k=0 accumulate changed y to %v", y)
	}
	MulF16T(1, nil, 1, ToF16(nil, 3, 0), y, 3, false)
	if !slices.Equal(y, []float32{0, 0, 0}) {
		t.Fatalf("k=0 gave %v, want zeros", y)
	}
	MulQ8T(0, nil, 1, QuantizeQ8(nil, 0, 0), nil, 1, false)
}

// FuzzQuantizeQ8 quantises fuzzed weight rows (all zeros, huge values,
// subnormals, mixed magnitudes): every implementation gives the bits of
// the generic one, a row's scale is max|row|/127, its values lie in
// [−127, 127] with 127 reached, each within half a scale of its weight
// (plus the rounding of a subnormal scale), an all-zero row has scale 0;
// a NaN or an infinity is refused with a panic naming its index.
func FuzzQuantizeQ8(f *testing.F) {
	f.Add([]byte{0, 0, 0, 0, 0, 0, 0, 0}, uint8(1))
	f.Add([]byte{0xff, 0xff, 0x7f, 0x7f, 0, 0, 0, 0, 0xff, 0xff, 0x7f, 0xff, 1, 0, 0, 0}, uint8(2))
	f.Add([]byte{1, 0, 0, 0, 3, 0, 0, 0x80, 0, 0, 0x80, 0x3f}, uint8(0))
	f.Add([]byte{0, 0, 0x80, 0x3f, 0, 0, 0xc0, 0x7f, 0, 0, 0x80, 0xff}, uint8(1))
	f.Add([]byte{0, 0, 0, 0x3f, 0, 0, 0x40, 0x3f, 0, 0, 0xfe, 0x42, 0, 0, 0, 0xbf}, uint8(0))
	f.Fuzz(func(t *testing.T, data []byte, nr uint8) {
		rows := int(nr)%3 + 1
		cols := len(data) / 4 / rows
		if cols == 0 {
			return
		}
		w := make([]float32, rows*cols)
		bad := -1
		for i := range w {
			w[i] = math.Float32frombits(uint32(data[4*i]) | uint32(data[4*i+1])<<8 | uint32(data[4*i+2])<<16 | uint32(data[4*i+3])<<24)
			if v := float64(w[i]); bad < 0 && (math.IsNaN(v) || math.IsInf(v, 0)) {
				bad = i
			}
		}
		saved := cur
		defer func() { cur = saved }()
		if bad >= 0 {
			want := fmt.Sprintf("QuantizeQ8: w[%d] is %v; weights must be finite", bad, w[bad])
			for _, im := range impls {
				cur = im
				checkPanics(t, []panicCase{{im.name, func() { QuantizeQ8(w, rows, cols) }, want}})
			}
			return
		}
		cur = generic
		ref := QuantizeQ8(w, rows, cols)
		for _, im := range impls {
			cur = im
			q := QuantizeQ8(w, rows, cols)
			if !slices.Equal(q.Data, ref.Data) || !slices.Equal(q.Scales, ref.Scales) {
				t.Fatalf("%s: %v %v, generic %v %v", im.name, q.Data, q.Scales, ref.Data, ref.Scales)
			}
		}
		for r := range rows {
			row, vals, sc := w[r*cols:(r+1)*cols], ref.Data[r*cols:(r+1)*cols], ref.Scales[r]
			var amax float32
			for _, v := range row {
				amax = max(amax, float32(math.Abs(float64(v))))
			}
			if sc != amax/127 {
				t.Fatalf("row %d: scale %v, want max|w|/127 = %v", r, sc, amax/127)
			}
			if amax == 0 {
				if slices.ContainsFunc(vals, func(v int8) bool { return v != 0 }) {
					t.Fatalf("all-zero row %d quantised to %v", r, vals)
				}
				continue
			}
			peak := 0
			for c, q := range vals {
				peak = max(peak, int(q), -int(q))
				e := math.Abs(float64(row[c]) - float64(sc)*float64(q))
				if e > float64(sc)/2*(1+0x1p-16)+127*0x1p-150 {
					t.Fatalf("row %d col %d: %v quantised to %d·%v, error %v", r, c, row[c], q, sc, e)
				}
			}
			if peak != 127 || slices.Contains(vals, -128) {
				t.Fatalf("row %d: values %v, want |q| ≤ 127 with 127 reached", r, vals)
			}
		}
	})
}
