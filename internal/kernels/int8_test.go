package kernels

import (
	"math"
	"math/rand/v2"
	"slices"
	"testing"
)

// refI8 computes x·Wᵀ in float64 over the dequantised W and returns it with
// the error bound MulI8T documents for each output.
func refI8(m int, x []float32, ldx int, q Q8) (want, bound []float64) {
	n, k := q.Rows, q.Cols
	want, bound = make([]float64, m*n), make([]float64, m*n)
	for i := range m {
		row := x[i*ldx : i*ldx+k]
		var amax float64
		for _, v := range row {
			amax = max(amax, math.Abs(float64(v)))
		}
		sx := amax / 127
		for j := range n {
			sw := float64(q.Scales[j])
			var s, b, mag float64
			for c, v := range row {
				w := sw * float64(q.Data[j*k+c])
				s += float64(v) * w
				b += math.Abs(float64(v))*sw/2 + math.Abs(w)*sx/2 + sx*sw/4
				mag += math.Abs(float64(v) * w)
			}
			want[i*n+j] = s
			// float32 rounding of the scaling and of y: a few ulps of the
			// magnitude; underflow of a subnormal row's scale: the int32
			// sum times sw times the smallest float32 steps.
			bound[i*n+j] = b + 4*0x1p-24*(mag+b) + float64(k)*127*255*sw*0x1p-147
		}
	}
	return want, bound
}

// TestMulI8T checks MulI8T under every implementation and thread count
// against float64 with the documented bound and bit for bit against the
// generic implementation, on odd shapes, with padded strides (x's padding
// NaN), accumulate on and off, and nothing written outside y.
func TestMulI8T(t *testing.T) {
	r := rand.New(rand.NewPCG(31, 32))
	for _, n := range []int{1, 3, 31, 32, 33, 65, 513} {
		for _, k := range []int{1, 3, 4, 7, 17, 64, 65, 513} {
			for _, m := range []int{1, 2, 3, 4, 7, 8, 9, 12, 16, 17} {
				checkMulI8T(t, r, m, n, k)
			}
		}
	}
	checkMulI8T(t, r, 64, 300, 2048)
}

func checkMulI8T(t *testing.T, r *rand.Rand, m, n, k int) {
	t.Helper()
	ldx, ldy := k+3, n+2
	x := make([]float32, m*ldx)
	for i := range x {
		x[i] = float32(math.NaN()) // padding
	}
	for i := range m {
		for c := range k {
			x[i*ldx+c] = r.Float32()*2 - 1
		}
	}
	if m > 2 {
		clear(x[ldx : ldx+k]) // an all-zero row
	}
	q := QuantizeQ8(randSlice(r, n*k), n, k)
	p := PackI8(q)
	want, bound := refI8(m, x, ldx, q)
	y0 := randSlice(r, m*ldy)

	saved := cur
	cur = generic
	ref := slices.Clone(y0)
	MulI8T(m, x, ldx, p, ref, ldy, true)
	cur = saved
	forEachConfig(func(config string) {
		for _, acc := range []bool{false, true} {
			y := slices.Clone(y0)
			MulI8T(m, x, ldx, p, y, ldy, acc)
			for i := range m {
				for j := range ldy {
					got, old := y[i*ldy+j], y0[i*ldy+j]
					if j >= n {
						if got != old {
							t.Fatalf("%s: m=%d n=%d k=%d: wrote y[%d][%d]", config, m, n, k, i, j)
						}
						continue
					}
					w := want[i*n+j]
					if acc {
						w += float64(old)
						if got != ref[i*ldy+j] {
							t.Fatalf("%s: m=%d n=%d k=%d: y[%d][%d] = %v, generic %v", config, m, n, k, i, j, got, ref[i*ldy+j])
						}
					}
					if math.Abs(float64(got)-w) > bound[i*n+j]+4*0x1p-24*math.Abs(float64(old)) {
						t.Fatalf("%s: m=%d n=%d k=%d acc=%v: y[%d][%d] = %v, want %v ± %v", config, m, n, k, acc, i, j, got, w, bound[i*n+j])
					}
				}
			}
		}
	})
}

// TestMulI8TEdges: all-zero rows give 0, huge values stay finite and within
// the bound, a row with a NaN or an infinity gives NaN in its own outputs
// only, and a row's result does not depend on the other rows.
func TestMulI8TEdges(t *testing.T) {
	r := rand.New(rand.NewPCG(33, 34))
	n, k := 40, 70
	q := QuantizeQ8(randSlice(r, n*k), n, k)
	p := PackI8(q)
	x := randSlice(r, 5*k)
	clear(x[:k])
	for c := range k {
		x[k+c] *= 1e30
	}
	x[2*k+5] = float32(math.NaN())
	x[3*k+9] = float32(math.Inf(1))
	forEachImpl(t, func(t *testing.T) {
		y := make([]float32, 5*n)
		MulI8T(5, x, k, p, y, n, false)
		want, bound := refI8(5, x, k, q)
		for j := range n {
			if y[j] != 0 {
				t.Fatalf("zero row: y[0][%d] = %v", j, y[j])
			}
			if v := y[n+j]; math.IsInf(float64(v), 0) || math.Abs(float64(v)-want[n+j]) > bound[n+j] {
				t.Fatalf("huge row: y[1][%d] = %v, want %v ± %v", j, v, want[n+j], bound[n+j])
			}
			if !math.IsNaN(float64(y[2*n+j])) || !math.IsNaN(float64(y[3*n+j])) {
				t.Fatalf("NaN/Inf rows: %v %v, want NaN", y[2*n+j], y[3*n+j])
			}
			if math.IsNaN(float64(y[4*n+j])) {
				t.Fatalf("row 4 got NaN from another row")
			}
		}
		for i := range 5 {
			alone := make([]float32, n)
			MulI8T(1, x[i*k:], k, p, alone, n, false)
			for j := range n {
				if math.Float32bits(alone[j]) != math.Float32bits(y[i*n+j]) {
					t.Fatalf("row %d alone: y[%d] = %v, in the batch %v", i, j, alone[j], y[i*n+j])
				}
			}
		}
	})
}

func TestMulI8TPanics(t *testing.T) {
	x := make([]float32, 12)
	q := PackI8(QuantizeQ8(x, 3, 4))
	checkPanics(t, []panicCase{
		{"short x", func() { MulI8T(4, x, 4, q, x, 3, false) }, "x has 12 elements"},
		{"short data", func() { MulI8T(1, x, 4, I8{Rows: 3, Cols: 4, Data: q.Data[:5], Scales: q.Scales}, x, 3, false) }, "MulI8T: I8 of 3×4"},
		{"pack", func() { PackI8(Q8{Rows: 2, Cols: 2, Data: make([]int8, 3), Scales: make([]float32, 2)}) }, "PackI8"},
	})
}

// FuzzMulI8T checks the int8 product of fuzzed rows of x (zeros, huge
// values, NaN, denormals) against float64 and the generic implementation.
func FuzzMulI8T(f *testing.F) {
	f.Add([]byte{0, 0, 0, 0, 0, 0, 0, 0}, uint8(3))
	f.Add([]byte{0xff, 0xff, 0x7f, 0x7f, 1, 0, 0, 0, 0, 0, 0x80, 0x7f}, uint8(9))
	f.Add([]byte{0, 0, 0xc0, 0x7f, 0, 0, 0x80, 0x3f}, uint8(1))
	f.Add([]byte{1, 0, 0, 0, 0, 0, 0x80, 0x80, 0, 0, 0x80, 0xbf}, uint8(40))
	f.Add([]byte{1, 0, 0, 0, 3, 0, 0, 0x80}, uint8(5)) // subnormal only
	f.Fuzz(func(t *testing.T, data []byte, nb uint8) {
		k := len(data) / 4
		if k == 0 {
			return
		}
		x := make([]float32, k)
		for i := range x {
			x[i] = math.Float32frombits(uint32(data[4*i]) | uint32(data[4*i+1])<<8 | uint32(data[4*i+2])<<16 | uint32(data[4*i+3])<<24)
		}
		n := int(nb)%40 + 1
		r := rand.New(rand.NewPCG(uint64(k), uint64(n)))
		q := QuantizeQ8(randSlice(r, n*k), n, k)
		p := PackI8(q)
		finite := true
		for _, v := range x {
			finite = finite && !math.IsNaN(float64(v)) && !math.IsInf(float64(v), 0)
		}
		saved := cur
		defer func() { cur = saved }()
		cur = generic
		ref := make([]float32, n)
		MulI8T(1, x, k, p, ref, n, false)
		cur = saved
		y := make([]float32, n)
		MulI8T(1, x, k, p, y, n, false)
		want, bound := refI8(1, x, k, q)
		for j := range n {
			if math.Float32bits(y[j]) != math.Float32bits(ref[j]) {
				t.Fatalf("y[%d] = %v, generic %v", j, y[j], ref[j])
			}
			if !finite {
				if !math.IsNaN(float64(y[j])) {
					t.Fatalf("non-finite x: y[%d] = %v, want NaN", j, y[j])
				}
				continue
			}
			if math.Abs(want[j])+bound[j] > math.MaxFloat32 && math.IsInf(float64(y[j]), int(math.Copysign(1, want[j]))) {
				continue // the product overflows float32
			}
			if math.Abs(float64(y[j])-want[j]) > bound[j] {
				t.Fatalf("y[%d] = %v, want %v ± %v", j, y[j], want[j], bound[j])
			}
		}
	})
}

// TestQuantRow checks each implementation's row quantisation (max|x| and
// the rounded, clamped int8 values with their sum, also written into a row
// of a packed panel) against the generic one
// on lengths 1..70 with exact halves (ties to even), NaN and ±Inf.
func TestQuantRow(t *testing.T) {
	r := rand.New(rand.NewPCG(35, 36))
	forEachImpl(t, func(t *testing.T) {
		for n := 1; n <= 70; n++ {
			x := make([]float32, n)
			for i := range x {
				x[i] = float32(r.IntN(255)-127) + 0.5*float32(r.IntN(2)) // halves at inv = 1
			}
			x[r.IntN(n)] = 127
			if got, want := MaxAbs(x), maxAbsGeneric(x); got != want {
				t.Fatalf("n=%d: maxAbs %v, want %v", n, got, want)
			}
			got, want := make([]int8, n), make([]int8, n)
			if s, ws := cur.quantRow(got, x, 1), quantRowGeneric(want, x, 1); s != ws || !slices.Equal(got, want) {
				t.Fatalf("n=%d: quantRow %v (sum %d), want %v (sum %d)", n, got, s, want, ws)
			}
			// Into a row of a packed panel: groups of four bytes 32 apart.
			size := i8Groups(n) * 4 * i8MR
			gp, wp := make([]int8, size), make([]int8, size)
			if s, ws := cur.quantPanel(gp[4:], x, 1), quantRowGeneric(want, x, 1); s != ws {
				t.Fatalf("n=%d: quantPanel sum %d, want %d", n, s, ws)
			}
			for c, v := range want {
				wp[4+c/4*4*i8MR+c%4] = v
			}
			if !slices.Equal(gp, wp) {
				t.Fatalf("n=%d: quantPanel wrote %v, want %v", n, gp, wp)
			}
			for _, bad := range []float32{float32(math.NaN()), float32(math.Inf(-1))} {
				y := slices.Clone(x)
				y[r.IntN(n)] = bad
				if m := MaxAbs(y); !(m != m || math.IsInf(float64(m), 1)) {
					t.Fatalf("n=%d: maxAbs with %v = %v", n, bad, m)
				}
			}
		}
	})
}

// TestMulI8TBias checks that the bias added in the micro-kernel gives the
// bits of MulI8T followed by adding the bias, on odd shapes, for every
// implementation and thread count.
func TestMulI8TBias(t *testing.T) {
	r := rand.New(rand.NewPCG(37, 38))
	for _, s := range []struct{ m, n, k int }{{1, 33, 17}, {8, 64, 64}, {9, 65, 7}, {17, 513, 65}, {3, 5, 0}} {
		q := QuantizeQ8(randSlice(r, s.n*s.k), s.n, s.k)
		p := PackI8(q)
		x, bias := randSlice(r, s.m*max(1, s.k)), randSlice(r, s.n)
		ldy := s.n + 1
		forEachConfig(func(config string) {
			want := randSlice(r, s.m*ldy)
			got := slices.Clone(want)
			ldx := max(1, s.k)
			MulI8T(s.m, x, ldx, p, want, ldy, false)
			for i := range s.m {
				Add(want[i*ldy:i*ldy+s.n], bias)
			}
			MulI8TBias(s.m, x, ldx, p, bias, got, ldy)
			for i := range got {
				if math.Float32bits(got[i]) != math.Float32bits(want[i]) {
					t.Fatalf("%s %v: y[%d] = %v, MulI8T + bias %v", config, s, i, got[i], want[i])
				}
			}
		})
	}
}

// TestPackI8Layout checks every packed byte against the layout documented
// above (panels of 32 rows, four columns of each row per group, value + 128,
// padding 128) on shapes with partial panels and groups.
func TestPackI8Layout(t *testing.T) {
	r := rand.New(rand.NewPCG(9, 9))
	for _, s := range []struct{ n, k int }{{1, 1}, {31, 5}, {32, 4}, {33, 7}, {70, 13}, {64, 512}} {
		q := Q8{Rows: s.n, Cols: s.k, Data: make([]int8, s.n*s.k), Scales: randSlice(r, s.n)}
		for i := range q.Data {
			q.Data[i] = int8(r.IntN(256) - 128)
		}
		p := PackI8(q)
		kg := i8Groups(s.k)
		if want := ceilDiv(s.n, i8NR) * kg * 4 * i8NR; len(p.Data) != want {
			t.Fatalf("%d×%d: %d bytes, want %d", s.n, s.k, len(p.Data), want)
		}
		for i, got := range p.Data {
			panel, g, row, c := i/(kg*4*i8NR), i/(4*i8NR)%kg, i/4%i8NR, i%4
			rr, cc := panel*i8NR+row, 4*g+c
			want := uint8(128)
			if rr < s.n && cc < s.k {
				want = uint8(int(q.Data[rr*s.k+cc]) + 128)
			}
			if got != want {
				t.Fatalf("%d×%d: byte %d (row %d, column %d) is %d, want %d", s.n, s.k, i, rr, cc, got, want)
			}
		}
		if !slices.Equal(p.Scales[:s.n], q.Scales) || slices.ContainsFunc(p.Scales[s.n:], func(v float32) bool { return v != 0 }) {
			t.Fatalf("%d×%d: scales %v, want %v then zeros", s.n, s.k, p.Scales, q.Scales)
		}
	}
}

// TestMulI8TExtremes checks the products whose int16 pair sums would
// saturate a naive VPMADDUBSW (AVX2): weights −128, −127 and 127 against x
// quantised to ±127, in runs long enough to fill whole groups, blocks of
// equal signs and alternating ones, against the exact int32 sum (scales
// 1 and 1/127, so y is that sum rounded, times 1/127) and bit for bit
// against the generic implementation, in a batch and row by row.
func TestMulI8TExtremes(t *testing.T) {
	const n, k = 33, 70
	q := Q8{Rows: n, Cols: k, Data: make([]int8, n*k), Scales: make([]float32, n)}
	vals := []int8{-128, -127, 127}
	for j := range n {
		q.Scales[j] = 1
		for c := range k {
			switch j % 4 {
			case 0:
				q.Data[j*k+c] = vals[j/4%3]
			case 1:
				q.Data[j*k+c] = vals[(j/4+c)%3]
			case 2:
				q.Data[j*k+c] = vals[c/2%2*2] // pairs of −128 then pairs of 127
			default:
				q.Data[j*k+c] = vals[(c+j)%2*2]
			}
		}
	}
	p := PackI8(q)
	x := make([]float32, 4*k)
	for c := range k {
		x[c] = -1                           // xq = −127: −127·−128 = 16256, pairs 32512
		x[k+c] = 1                          // xq = 127
		x[2*k+c] = float32(1 - 2*(c/2%2))   // pairs of 127 then pairs of −127
		x[3*k+c] = float32(1 - 2*((c+1)%2)) // alternating
	}
	saved := cur
	cur = generic
	ref := make([]float32, 4*n)
	MulI8T(4, x, k, p, ref, n, false)
	cur = saved
	sx := float32(1) / 127
	for i := range 4 {
		for j := range n {
			var acc int32
			for c := range k {
				acc += int32(127*x[i*k+c]) * int32(q.Data[j*k+c])
			}
			if want := float32(acc) * sx; ref[i*n+j] != want {
				t.Fatalf("generic: y[%d][%d] = %v, want %v (sum %d)", i, j, ref[i*n+j], want, acc)
			}
		}
	}
	forEachConfig(func(config string) {
		y := make([]float32, 4*n)
		MulI8T(4, x, k, p, y, n, false)
		for i := range 4 { // each row alone too (AVX2: the one-row kernel)
			MulI8T(1, x[i*k:], k, p, y[i*n:], n, true)
			Scale(0.5, y[i*n:(i+1)*n])
		}
		for i := range y {
			if math.Float32bits(y[i]) != math.Float32bits(ref[i]) {
				t.Fatalf("%s: y[%d][%d] = %v, want %v", config, i/n, i%n, y[i], ref[i])
			}
		}
	})
}
