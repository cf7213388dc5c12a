package kernels

import (
	"encoding/binary"
	"fmt"
)

// Building an I8 row by row, and reading its rows back: a model file stores
// an int8 matrix row-major (one scale per row, then the values), and its
// reader fills the packed layout straight from the stream (NewI8, Put), so
// no row-major or float32 copy of the matrix is ever made. Row gives one row
// back dequantised, which is how an int8 embedding table is looked up.

// NewI8 returns a rows×cols I8 holding zeros, with the given row scales
// (copied; len(scales) ≥ rows), to be filled by Put. The padding of the
// layout (rows past the last, columns past the last) is set once here.
func NewI8(rows, cols int, scales []float32) I8 {
	if rows < 0 || cols < 0 || len(scales) < rows {
		panic(fmt.Sprintf("kernels: NewI8: %d×%d with %d scales", rows, cols, len(scales)))
	}
	panels, kg := ceilDiv(rows, i8NR), i8Groups(cols)
	w := I8{Rows: rows, Cols: cols, Data: make([]uint8, panels*kg*4*i8NR), Scales: make([]float32, panels*i8NR)}
	copy(w.Scales, scales[:rows])
	// w = 0 is stored as 128: the rows of the last panel past Rows, and the
	// columns of the last group past Cols (Put writes every other byte).
	for pn := range panels {
		g0 := kg - 1 // only the last group can hold padding columns…
		if pn == panels-1 {
			g0 = 0 // …and only the last panel padding rows
		}
		for g := max(g0, 0); g < kg; g++ {
			grp := w.Data[(pn*kg+g)*4*i8NR : (pn*kg+g+1)*4*i8NR]
			for rr := range i8NR {
				for c := range 4 {
					if pn*i8NR+rr >= rows || 4*g+c >= cols {
						grp[rr*4+c] = 128
					}
				}
			}
		}
	}
	return w
}

// Put stores int8 values, given as their two's-complement bytes (as a model
// file holds them): q[j] is element i+j of the row-major matrix, that is
// W[(i+j)/Cols][(i+j)%Cols]. q may start and end anywhere in a row.
func (w I8) Put(i int, q []byte) {
	if i < 0 || i+len(q) > w.Rows*w.Cols {
		panic(fmt.Sprintf("kernels: I8.Put: values %d..%d of a %d×%d matrix", i, i+len(q), w.Rows, w.Cols))
	}
	kg := i8Groups(w.Cols)
	for len(q) > 0 {
		r, c := i/w.Cols, i%w.Cols
		run := q[:min(len(q), w.Cols-c)]
		base := r/i8NR*kg*4*i8NR + r%i8NR*4 // byte 0 of group 0 of row r
		j := 0
		for ; c+j < w.Cols && (c+j)%4 != 0 && j < len(run); j++ { // up to a group
			cc := c + j
			w.Data[base+cc/4*4*i8NR+cc%4] = run[j] ^ 0x80 // int8 v + 128 as a byte
		}
		for ; j+4 <= len(run); j += 4 { // whole groups, four bytes at a time
			g := (c + j) / 4
			v := binary.LittleEndian.Uint32(run[j:])
			binary.LittleEndian.PutUint32(w.Data[base+g*4*i8NR:], v^0x80808080)
		}
		for ; j < len(run); j++ { // the rest of the row or piece
			cc := c + j
			w.Data[base+cc/4*4*i8NR+cc%4] = run[j] ^ 0x80
		}
		i, q = i+len(run), q[len(run):]
	}
}

// Row sets dst[c] = float32(q)·Scales[r] for the int8 values q of row r,
// c < Cols: the float32 values a model file's reader gives for them.
func (w I8) Row(r int, dst []float32) {
	if r < 0 || r >= w.Rows || len(dst) < w.Cols {
		panic(fmt.Sprintf("kernels: I8.Row: row %d of %d into %d values (want %d)", r, w.Rows, len(dst), w.Cols))
	}
	kg := i8Groups(w.Cols)
	src := w.Data[r/i8NR*kg*4*i8NR+r%i8NR*4:]
	s := w.Scales[r]
	for c := range dst[:w.Cols] {
		dst[c] = float32(int8(src[c/4*4*i8NR+c%4]^0x80)) * s
	}
}

// Row sets dst[c] = W[r][c] as float32 (exact) for c < Cols.
func (h F16) Row(r int, dst []float32) {
	if r < 0 || r >= h.Rows || len(dst) < h.Cols {
		panic(fmt.Sprintf("kernels: F16.Row: row %d of %d into %d values (want %d)", r, h.Rows, len(dst), h.Cols))
	}
	cur.widenF16(dst[:h.Cols], h.Data[r*h.Cols:(r+1)*h.Cols])
}
