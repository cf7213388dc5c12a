package kernels

import (
	"sync"
	"sync/atomic"
)

// RowWorker is the work ParallelRows splits: Row(part, r) computes row r
// using part's scratch.
type RowWorker interface {
	Row(part, r int)
}

// RowFunc adapts a function to RowWorker.
type RowFunc func(part, r int)

// Row calls f(part, r).
func (f RowFunc) Row(part, r int) { f(part, r) }

// ParallelRows calls w.Row(part, r) for every row r < rows, shared by up to
// min(Threads(), rows, maxParts) goroutines that each take the next row
// when done with one (so a helper whose core is busy elsewhere delays the
// call by one row at most); part < maxParts names the goroutine, so w may
// keep one scratch per part. Rows are computed alone, by the same code
// whoever takes them, so results do not depend on the thread count.
// maxParts < 2 runs the rows in order on the caller.
//
// The helpers are persistent goroutines of their own (not Gemm's), so w may
// call the matrix kernels; w must not call ParallelRows. A pointer-shaped w
// (a pointer type, or a RowFunc made once) makes the call allocate nothing.
func ParallelRows(rows, maxParts int, w RowWorker) {
	parts := min(Threads(), rows, maxParts)
	if parts < 2 {
		for r := range rows {
			w.Row(0, r)
		}
		return
	}
	j := rowJobs.Get().(*rowJob)
	j.w, j.rows = w, rows
	j.next.Store(0)
	ensureRowWorkers(parts - 1)
	j.wg.Add(parts - 1)
	for p := 1; p < parts; p++ {
		rowPool.ch <- rowTask{j, p}
	}
	j.run(0)
	j.wg.Wait()
	j.w = nil
	rowJobs.Put(j)
}

// rowJob is one ParallelRows call: each part takes the next row until none
// is left.
type rowJob struct {
	w    RowWorker
	rows int
	next atomic.Int64
	wg   sync.WaitGroup // helpers still running
}

func (j *rowJob) run(part int) {
	for {
		r := int(j.next.Add(1)) - 1
		if r >= j.rows {
			return
		}
		j.w.Row(part, r)
	}
}

// rowTask asks a helper to run one part of a job.
type rowTask struct {
	j    *rowJob
	part int
}

var rowJobs = sync.Pool{New: func() any { return new(rowJob) }}

// rowPool holds ParallelRows' helpers.
var rowPool struct {
	mu      sync.Mutex
	workers int
	ch      chan rowTask
}

// ensureRowWorkers starts helpers until there are at least n.
func ensureRowWorkers(n int) {
	rowPool.mu.Lock()
	defer rowPool.mu.Unlock()
	if rowPool.ch == nil {
		rowPool.ch = make(chan rowTask, 64)
	}
	for ; rowPool.workers < n; rowPool.workers++ {
		go func() {
			for t := range rowPool.ch {
				t.j.run(t.part)
				t.j.wg.Done()
			}
		}()
	}
}
