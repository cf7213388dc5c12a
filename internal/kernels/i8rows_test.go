package kernels

import (
	"math"
	"math/rand/v2"
	"slices"
	"testing"
)

// TestNewI8Put: an I8 filled by Put in pieces of random length (as a model
// file's reader fills it, chunks ending anywhere in a row) holds exactly the
// bytes and scales of PackI8 of the same Q8, and Row gives back every row
// as float32(q)·scale.
func TestNewI8Put(t *testing.T) {
	r := rand.New(rand.NewPCG(14, 2))
	for _, s := range []struct{ n, k int }{{1, 1}, {31, 5}, {32, 4}, {33, 7}, {70, 13}, {64, 512}, {5, 2}} {
		q := Q8{Rows: s.n, Cols: s.k, Data: make([]int8, s.n*s.k), Scales: randSlice(r, s.n)}
		raw := make([]byte, len(q.Data))
		for i := range q.Data {
			q.Data[i] = int8(r.IntN(256) - 128)
			raw[i] = byte(q.Data[i])
		}
		want := PackI8(q)
		got := NewI8(s.n, s.k, q.Scales)
		for i := 0; i < len(raw); {
			n := min(len(raw)-i, 1+r.IntN(2*s.k+3))
			got.Put(i, raw[i:i+n])
			i += n
		}
		if got.Rows != want.Rows || got.Cols != want.Cols || !slices.Equal(got.Data, want.Data) || !slices.Equal(got.Scales, want.Scales) {
			t.Fatalf("%d×%d: Put gives other bytes or scales than PackI8", s.n, s.k)
		}
		row := make([]float32, s.k)
		for rr := range s.n {
			got.Row(rr, row)
			for c, v := range row {
				if w := float32(q.Data[rr*s.k+c]) * q.Scales[rr]; math.Float32bits(v) != math.Float32bits(w) {
					t.Fatalf("%d×%d: Row(%d)[%d] = %v, want %v", s.n, s.k, rr, c, v, w)
				}
			}
		}
	}
}

// TestF16Row: F16.Row widens row r exactly, with every implementation.
func TestF16Row(t *testing.T) {
	defer func(old *impl) { cur = old }(cur)
	r := rand.New(rand.NewPCG(14, 3))
	h := F16{Rows: 3, Cols: 37, Data: make([]uint16, 3*37)}
	for i := range h.Data {
		h.Data[i] = uint16(r.IntN(1 << 16))
		if h.Data[i]&0x7c00 == 0x7c00 { // no Inf or NaN: their bits may differ by payload
			h.Data[i] &^= 0x4000
		}
	}
	for _, im := range impls {
		cur = im
		row := make([]float32, 37)
		for rr := range 3 {
			h.Row(rr, row)
			for c, v := range row {
				if w := f16ToF32(h.Data[rr*37+c]); math.Float32bits(v) != math.Float32bits(w) {
					t.Fatalf("%s: Row(%d)[%d] = %v, want %v", im.name, rr, c, v, w)
				}
			}
		}
	}
}

// TestI8RowsPanics: out-of-range Put and Row are programmer errors.
func TestI8RowsPanics(t *testing.T) {
	w := NewI8(3, 4, []float32{1, 2, 3})
	for name, f := range map[string]func(){
		"Put past the end": func() { w.Put(10, make([]byte, 3)) },
		"Row -1":           func() { w.Row(-1, make([]float32, 4)) },
		"Row short dst":    func() { w.Row(0, make([]float32, 3)) },
		"NewI8 scales":     func() { NewI8(3, 4, []float32{1}) },
		"F16 Row":          func() { F16{Rows: 1, Cols: 2, Data: make([]uint16, 2)}.Row(1, make([]float32, 2)) },
	} {
		func() {
			defer func() {
				if recover() == nil {
					t.Errorf("%s: no panic", name)
				}
			}()
			f()
		}()
	}
}
