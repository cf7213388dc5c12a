package kernels

import "sync"

// The worker pool: persistent goroutines that run parts of large jobs, so a
// Gemm split across cores costs a channel send per extra core, not a new
// goroutine. The caller's goroutine always runs part 0 itself.
var pool struct {
	mu      sync.Mutex
	workers int
	ch      chan part
}

type part struct {
	j *job
	p int
}

// runParallel runs parts 0..j.parts-1 of j and returns when all are done.
func runParallel(j *job) {
	ensureWorkers(j.parts - 1)
	j.wg.Add(j.parts - 1)
	for p := 1; p < j.parts; p++ {
		pool.ch <- part{j, p}
	}
	j.run(0)
	j.wg.Wait()
}

// ensureWorkers starts workers until there are at least n.
func ensureWorkers(n int) {
	pool.mu.Lock()
	defer pool.mu.Unlock()
	if pool.ch == nil {
		pool.ch = make(chan part, 64)
	}
	for ; pool.workers < n; pool.workers++ {
		go func() {
			for w := range pool.ch {
				w.j.run(w.p)
				w.j.wg.Done()
			}
		}()
	}
}
