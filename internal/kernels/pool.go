package kernels

import "sync"

// The worker pool: persistent goroutines that help with large jobs, so a
// Gemm split across cores costs a channel send per extra core, not a new
// goroutine. The caller's goroutine always works on its job too.
var pool struct {
	mu      sync.Mutex
	workers int
	ch      chan *job
}

// runParallel has j.parts-1 workers and the caller work on j, and returns
// when all of j is done.
func runParallel(j *job) {
	ensureWorkers(j.parts - 1)
	j.wg.Add(j.parts - 1)
	for range j.parts - 1 {
		pool.ch <- j
	}
	j.work()
	j.wg.Wait()
}

// ensureWorkers starts workers until there are at least n.
func ensureWorkers(n int) {
	pool.mu.Lock()
	defer pool.mu.Unlock()
	if pool.ch == nil {
		pool.ch = make(chan *job, 64)
	}
	for ; pool.workers < n; pool.workers++ {
		go func() {
			for j := range pool.ch {
				j.work()
				j.wg.Done()
			}
		}()
	}
}
