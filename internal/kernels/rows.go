package kernels

import "sync"

// RowWorker is the work ParallelRows splits: Row(part, r) computes row r
// using part's scratch.
type RowWorker interface {
	Row(part, r int)
}

// RowFunc adapts a function to RowWorker.
type RowFunc func(part, r int)

// Row calls f(part, r).
func (f RowFunc) Row(part, r int) { f(part, r) }

// ParallelRows calls w.Row(part, r) for every row r < rows, split into
// contiguous runs of rows over up to min(Threads(), rows, maxParts)
// goroutines; part < maxParts names the run, and each run is computed by
// one goroutine, so w may keep one scratch per part. Rows are computed
// alone, by the same code however they are split, so results do not depend
// on the thread count. maxParts < 2 runs the rows in order on the caller.
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
	per := ceilDiv(rows, parts)
	parts = ceilDiv(rows, per)
	j := rowJobs.Get().(*rowJob)
	j.w, j.rows, j.per = w, rows, per
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

// rowJob is one ParallelRows call: part p computes rows [p·per, (p+1)·per).
type rowJob struct {
	w         RowWorker
	rows, per int
	wg        sync.WaitGroup // helpers still running
}

func (j *rowJob) run(part int) {
	for r := part * j.per; r < min((part+1)*j.per, j.rows); r++ {
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
