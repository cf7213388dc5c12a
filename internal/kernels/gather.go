package kernels

import "fmt"

// GatherI8Rows returns the packed matrix whose row i is row ids[i] of w:
// the same bytes and scales as PackI8 of those rows of the Q8 w was packed
// from, so MulI8T over it gives exactly the columns ids of MulI8T over w.
// A vocabulary shortlist uses it to multiply only the candidate rows of the
// output projection. ids must lie in 0..w.Rows−1.
func GatherI8Rows(w I8, ids []int32) I8 {
	kg := i8Groups(w.Cols)
	panels := ceilDiv(len(ids), i8NR)
	g := I8{Rows: len(ids), Cols: w.Cols, Data: make([]uint8, panels*kg*4*i8NR), Scales: make([]float32, panels*i8NR)}
	for i := range g.Data {
		g.Data[i] = 128 // padding rows: w = 0
	}
	for i, r := range ids {
		if r < 0 || int(r) >= w.Rows {
			panic(fmt.Sprintf("kernels: GatherI8Rows: row %d of a matrix of %d rows", r, w.Rows))
		}
		g.Scales[i] = w.Scales[r]
		src := (int(r)/i8NR*kg*i8NR + int(r)%i8NR) * 4 // group 0 of row r
		dst := (i/i8NR*kg*i8NR + i%i8NR) * 4
		for range kg {
			copy(g.Data[dst:dst+4], w.Data[src:src+4])
			src += 4 * i8NR
			dst += 4 * i8NR
		}
	}
	return g
}

// GatherF16Rows returns the matrix whose row i is row ids[i] of w. ids
// must lie in 0..w.Rows−1.
func GatherF16Rows(w F16, ids []int32) F16 {
	g := F16{Rows: len(ids), Cols: w.Cols, Data: make([]uint16, len(ids)*w.Cols)}
	for i, r := range ids {
		if r < 0 || int(r) >= w.Rows {
			panic(fmt.Sprintf("kernels: GatherF16Rows: row %d of a matrix of %d rows", r, w.Rows))
		}
		copy(g.Data[i*w.Cols:(i+1)*w.Cols], w.Data[int(r)*w.Cols:(int(r)+1)*w.Cols])
	}
	return g
}
