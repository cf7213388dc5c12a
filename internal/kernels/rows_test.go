package kernels

import (
	"sync/atomic"
	"testing"
)

// TestParallelRows checks that every row is computed once, by the part
// that owns its contiguous run, for thread counts and part limits around
// the row count.
func TestParallelRows(t *testing.T) {
	saved := Threads()
	defer SetThreads(saved)
	for _, threads := range []int{1, 2, 3} {
		SetThreads(threads)
		for _, rows := range []int{0, 1, 2, 5, 64} {
			for _, maxParts := range []int{0, 1, 2, 4} {
				calls := make([]atomic.Int32, rows)
				part := make([]int, rows)
				ParallelRows(rows, maxParts, RowFunc(func(p, r int) {
					calls[r].Add(1)
					part[r] = p
				}))
				parts := max(min(threads, rows, maxParts), 1)
				per := max(ceilDiv(rows, parts), 1)
				for r := range rows {
					if n := calls[r].Load(); n != 1 {
						t.Fatalf("threads %d rows %d maxParts %d: row %d computed %d times", threads, rows, maxParts, r, n)
					}
					if part[r] != r/per {
						t.Errorf("threads %d rows %d maxParts %d: row %d in part %d, want %d", threads, rows, maxParts, r, part[r], r/per)
					}
				}
			}
		}
	}
}
