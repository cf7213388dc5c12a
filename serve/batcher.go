package serve

import (
	"context"
	"errors"
	"fmt"
	"runtime/debug"
	"sync"
	"time"
	"unicode/utf8"

	"github.com/deen-mt/deen/translate"
)

// errClosed reports a request that reached the batcher after Close.
var errClosed = errors.New("server is shutting down")

// A job is one request's texts waiting for the batcher. The batcher answers
// on done (buffered: it never blocks on a requester that has gone away) and
// sets started when the job's batch begins decoding, so a timeout can tell
// "still queued" (503) from "being translated" (504).
type job struct {
	ctx     context.Context
	texts   []string
	want    extras // only jobs that want the same share a batch
	done    chan jobResult
	mu      sync.Mutex
	started bool
}

// extras is what a job wants besides the translations: alts alternatives
// per sentence (a beam at least that wide), word alignments.
type extras struct {
	alts  int
	align bool
}

type jobResult struct {
	out []*translate.Translation
	err error
}

func (j *job) markStarted() {
	j.mu.Lock()
	j.started = true
	j.mu.Unlock()
}

func (j *job) wasStarted() bool {
	j.mu.Lock()
	defer j.mu.Unlock()
	return j.started
}

// batcher merges the texts of concurrent requests into shared
// TranslateBatchDetailed calls: the dynamic batching of the server.
//
// One goroutine (run) owns the decoding. It waits for a job; when one
// arrives at an idle batcher it keeps collecting for window (so requests
// sent together meet) or until maxTexts texts are gathered, then translates
// them all in one TranslateBatchDetailed call and hands each job its slice
// of the results. Jobs that arrive while a batch decodes queue up and form
// the next batch at once, so under load batches fill without any waiting.
// A batch has one search setting: jobs asking for alternatives (a wider
// beam) are batched only with jobs asking for as many. The translate
// package returns for each text what translating it alone returns, which
// makes batching invisible in the results.
//
// A merged batch runs under a context that is cancelled when every one of
// its jobs' contexts is: one client disconnecting or timing out drops only
// its own wait (its handler returns at once and the slot is free), and the
// decoding stops within one decoder step once nobody is left waiting.
type batcher struct {
	eng      Engine
	window   time.Duration
	maxTexts int
	metrics  *metrics
	queue    chan *job
	quit     chan struct{}
	stopped  chan struct{}
}

// newBatcher starts a batcher whose queue holds depth jobs.
func newBatcher(eng Engine, window time.Duration, maxTexts, depth int, m *metrics) *batcher {
	b := &batcher{
		eng: eng, window: window, maxTexts: maxTexts, metrics: m,
		queue:   make(chan *job, depth),
		quit:    make(chan struct{}),
		stopped: make(chan struct{}),
	}
	go b.run()
	return b
}

// translate queues texts and waits for their translations (with the
// extras wanted), or for ctx.
func (b *batcher) translate(ctx context.Context, texts []string, want extras) ([]*translate.Translation, error) {
	j := &job{ctx: ctx, texts: texts, want: want, done: make(chan jobResult, 1)}
	select {
	case <-b.quit:
		return nil, errClosed
	default:
	}
	select {
	case b.queue <- j:
		b.metrics.queueDepth.Inc()
	case <-b.quit:
		return nil, errClosed
	case <-ctx.Done():
		return nil, queuedErr(ctx.Err())
	}
	select {
	case r := <-j.done:
		return r.out, r.err
	case <-b.stopped: // queued after the final drain
		select {
		case r := <-j.done:
			return r.out, r.err
		default:
			return nil, errClosed
		}
	case <-ctx.Done():
		if j.wasStarted() {
			return nil, ctx.Err()
		}
		return nil, queuedErr(ctx.Err())
	}
}

// errQueued marks a request whose time ran out before its batch started.
var errQueued = errors.New("request still queued")

func queuedErr(err error) error { return fmt.Errorf("%w: %w", errQueued, err) }

// close stops the batcher after the batch in progress; queued jobs fail
// with errClosed.
func (b *batcher) close() {
	close(b.quit)
	<-b.stopped
}

func (b *batcher) run() {
	defer close(b.stopped)
	for {
		select {
		case <-b.quit:
			b.drain()
			return
		default:
		}
		var first *job
		select {
		case first = <-b.queue:
		case <-b.quit:
			b.drain()
			return
		}
		b.metrics.queueDepth.Dec()
		jobs := b.collect(first)
		b.do(jobs)
	}
}

// collect gathers jobs for one batch, starting with first: for window
// after it, then whatever is already queued, up to maxTexts texts (a job
// is never split; one larger than maxTexts is a batch of its own). A job
// with another number of alternatives than first starts the next batch.
func (b *batcher) collect(first *job) []*job {
	jobs := []*job{first}
	n := len(first.texts)
	var timer <-chan time.Time
	if b.window > 0 {
		t := time.NewTimer(b.window)
		defer t.Stop()
		timer = t.C
	}
	for n < b.maxTexts {
		var j *job
		if timer != nil {
			select {
			case j = <-b.queue:
			case <-timer:
				timer = nil
				continue
			case <-b.quit:
				return jobs
			}
		} else {
			select {
			case j = <-b.queue:
			default:
				return jobs
			}
		}
		b.metrics.queueDepth.Dec()
		if n+len(j.texts) > b.maxTexts || j.want != jobs[0].want {
			b.do(jobs) // j starts the next batch
			jobs, n = nil, 0
		}
		jobs = append(jobs, j)
		n += len(j.texts)
	}
	return jobs
}

// do translates the jobs' texts in one call and answers each job.
func (b *batcher) do(jobs []*job) {
	live := jobs[:0]
	for _, j := range jobs {
		if j.ctx.Err() == nil { // its requester is gone: skip the work
			live = append(live, j)
		}
	}
	if len(live) == 0 {
		return
	}
	var texts []string
	chars := 0
	for _, j := range live {
		j.markStarted()
		texts = append(texts, j.texts...)
		for _, t := range j.texts {
			chars += utf8.RuneCountInString(t)
		}
	}
	ctx, cancel := mergedContext(live)
	defer cancel()
	b.metrics.batchTexts.Observe(float64(len(texts)))
	out, err := b.translateBatch(ctx, texts, live[0].want)
	if err != nil && len(live) > 1 && ctx.Err() == nil {
		// One text failed (the model cannot read it): translate each job
		// alone so that only its owner gets the error.
		for _, j := range live {
			b.do([]*job{j})
		}
		return
	}
	if err == nil {
		b.metrics.chars.Add(float64(chars))
	}
	k := 0
	for _, j := range live {
		r := jobResult{err: err}
		if err == nil {
			r.out = out[k : k+len(j.texts)]
		}
		k += len(j.texts)
		j.done <- r
	}
}

// translateBatch calls the engine, with the extras wanted, turning a panic into an error so that one bad
// batch fails its requests (500) instead of the server.
func (b *batcher) translateBatch(ctx context.Context, texts []string, want extras) (out []*translate.Translation, err error) {
	defer func() {
		if p := recover(); p != nil {
			out, err = nil, fmt.Errorf("engine panic: %v\n%s", p, debug.Stack())
		}
	}()
	var opts []translate.CallOption
	if want.alts > 0 {
		beam := max(b.eng.SearchOptions().BeamSize, want.alts)
		opts = append(opts, translate.Search(translate.SearchOptions{BeamSize: beam}), translate.Alternatives(want.alts))
	}
	if want.align {
		opts = append(opts, translate.Alignments(true))
	}
	out, err = b.eng.TranslateBatchDetailed(ctx, texts, opts...)
	if err == nil && len(out) != len(texts) {
		err = fmt.Errorf("engine returned %d translations for %d texts", len(out), len(texts))
	}
	return out, err
}

// drain answers the queued jobs after close.
func (b *batcher) drain() {
	for {
		select {
		case j := <-b.queue:
			b.metrics.queueDepth.Dec()
			j.done <- jobResult{err: errClosed}
		default:
			return
		}
	}
}

// mergedContext returns a context that is cancelled when all the jobs'
// contexts are done (or cancel is called).
func mergedContext(jobs []*job) (context.Context, context.CancelFunc) {
	ctx, cancel := context.WithCancel(context.Background())
	var mu sync.Mutex
	left := len(jobs)
	stops := make([]func() bool, len(jobs))
	for i, j := range jobs {
		stops[i] = context.AfterFunc(j.ctx, func() {
			mu.Lock()
			left--
			if left == 0 {
				cancel()
			}
			mu.Unlock()
		})
	}
	return ctx, func() {
		for _, stop := range stops {
			stop()
		}
		cancel()
	}
}
