package kernels

import (
	"sync/atomic"
	"testing"
)

// TestParallelRows checks that every row is computed once, by a part below
// the limit, and that no part runs two rows at once, for thread counts and
// part limits around the row count.
func TestParallelRows(t *testing.T) {
	saved := Threads()
	defer SetThreads(saved)
	for _, threads := range []int{1, 2, 3} {
		SetThreads(threads)
		for _, rows := range []int{0, 1, 2, 5, 64} {
			for _, maxParts := range []int{0, 1, 2, 4} {
				calls := make([]atomic.Int32, rows)
				busy := make([]atomic.Int32, 4)
				parts := max(min(threads, rows, maxParts), 1)
				ParallelRows(rows, maxParts, RowFunc(func(p, r int) {
					if p >= parts {
						t.Errorf("threads %d rows %d maxParts %d: part %d", threads, rows, maxParts, p)
						return
					}
					if busy[p].Add(1) != 1 {
						t.Errorf("threads %d rows %d maxParts %d: part %d runs two rows at once", threads, rows, maxParts, p)
					}
					calls[r].Add(1)
					busy[p].Add(-1)
				}))
				for r := range rows {
					if n := calls[r].Load(); n != 1 {
						t.Fatalf("threads %d rows %d maxParts %d: row %d computed %d times", threads, rows, maxParts, r, n)
					}
				}
			}
		}
	}
}
