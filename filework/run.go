package filework

import (
	"context"
	"sort"
	"sync"
)

// RunOption changes how Run works.
type RunOption func(*runConfig)

type runConfig struct {
	jobs     int
	force    bool
	progress func(lines int64)
}

// Jobs sets how many files are translated at the same time (default 1;
// values below 1 mean 1).
func Jobs(n int) RunOption { return func(c *runConfig) { c.jobs = max(n, 1) } }

// Force lets Run replace an output that appeared while its file was being
// translated (by default the translation is kept in the partial file and
// the file fails).
func Force(force bool) RunOption { return func(c *runConfig) { c.force = force } }

// Progress makes Run call f with the number of lines just finished, from
// any goroutine, concurrently.
func Progress(f func(lines int64)) RunOption { return func(c *runConfig) { c.progress = f } }

// Run translates files (checked with File.Check) with tr, the files with
// the most lines left first, and returns one error per file, in the order
// of files: nil for a finished file, context.Canceled for one that ctx
// stopped before it finished (its progress is saved, a rerun continues
// it), else what went wrong. A failing file does not stop the others.
func Run(ctx context.Context, files []*File, tr Translator, opts ...RunOption) []error {
	cfg := runConfig{jobs: 1, progress: func(int64) {}}
	for _, o := range opts {
		o(&cfg)
	}
	order := make([]int, len(files))
	for i := range order {
		order[i] = i
	}
	sort.SliceStable(order, func(a, b int) bool {
		fa, fb := files[order[a]], files[order[b]]
		return fa.Lines-fa.Done > fb.Lines-fb.Done
	})
	errs := make([]error, len(files))
	for i := range errs {
		errs[i] = context.Canceled // until its worker says otherwise
	}
	queue := make(chan int)
	var wg sync.WaitGroup
	for range min(cfg.jobs, len(files)) {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for i := range queue {
				errs[i] = files[i].translate(ctx, tr, cfg.force, cfg.progress)
			}
		}()
	}
send:
	for _, i := range order {
		select {
		case queue <- i:
		case <-ctx.Done():
			break send
		}
	}
	close(queue)
	wg.Wait()
	return errs
}
