package queue

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"strconv"
	"sync/atomic"
	"time"

	"github.com/nats-io/nats.go"
	"github.com/nats-io/nats.go/jetstream"

	"github.com/deen-mt/deen/filework"
	"github.com/deen-mt/deen/translate"
)

// Worker pulls the jobs of one model and settings and translates them.
type Worker struct {
	nc              *nats.Conn
	js              jetstream.JetStream
	kv              jetstream.KeyValue
	cons            jetstream.Consumer
	model, settings string
	tr              filework.Translator
	cfg             config
	jobs            atomic.Int64
}

// NewWorker connects a Worker to JetStream through nc, creating the
// stream, the bucket and its key's consumer if they are missing. model and
// settings must be the strings the submitting Client was given for the same
// model file and search settings; tr translates (filework.Local in a
// worker process).
func NewWorker(ctx context.Context, nc *nats.Conn, model, settings string, tr filework.Translator, opts ...Option) (*Worker, error) {
	js, err := jetstream.New(nc)
	if err != nil {
		return nil, fmt.Errorf("queue: %w", err)
	}
	w := &Worker{nc: nc, js: js, model: model, settings: settings, tr: tr, cfg: newConfig(opts)}
	if err := w.connect(ctx); err != nil {
		return nil, err
	}
	return w, nil
}

// connect (re)creates the stream, the bucket and the consumer.
func (w *Worker) connect(ctx context.Context) error {
	stream, kv, err := setup(ctx, w.js, w.cfg)
	if err != nil {
		return err
	}
	key := Key(w.model, w.settings)
	cons, err := stream.CreateOrUpdateConsumer(ctx, jetstream.ConsumerConfig{
		Durable:       consumerPrefix + key,
		Description:   "deen workers of model " + w.model,
		FilterSubject: JobSubjects + key,
		AckPolicy:     jetstream.AckExplicitPolicy,
		AckWait:       w.cfg.ackWait,
		// One delivery beyond the attempts: its worker dead-letters the job.
		MaxDeliver: w.cfg.attempts + 1,
	})
	if err != nil {
		return fmt.Errorf("queue: creating consumer %s: %w", consumerPrefix+key, err)
	}
	w.kv, w.cons = kv, cons
	return nil
}

// Jobs returns the number of jobs this worker has finished (translated,
// found translated, or dead-lettered).
func (w *Worker) Jobs() int64 { return w.jobs.Load() }

// Run takes jobs one at a time until ctx ends or the connection is
// closed. When ctx ends during a job, the job is given back (nak) for
// another worker and Run returns nil. While the server is unreachable it
// keeps trying (the connection reconnects by itself).
func (w *Worker) Run(ctx context.Context) error {
	delay := 100 * time.Millisecond
	for ctx.Err() == nil {
		if w.nc.IsClosed() {
			return fmt.Errorf("queue: %w", nats.ErrConnectionClosed)
		}
		batch, err := w.cons.Fetch(1, jetstream.FetchMaxWait(time.Second))
		if err == nil {
			for msg := range batch.Messages() {
				w.handle(ctx, msg)
			}
			err = batch.Error()
		}
		if err == nil || errors.Is(err, nats.ErrTimeout) {
			delay = 100 * time.Millisecond
			continue
		}
		if w.nc.IsClosed() {
			return fmt.Errorf("queue: %w", nats.ErrConnectionClosed)
		}
		w.cfg.logf("queue: fetching a job: %v (retrying in %v)", err, delay)
		select {
		case <-ctx.Done():
		case <-time.After(delay):
		}
		delay = min(2*delay, 5*time.Second)
		if errors.Is(err, jetstream.ErrConsumerNotFound) || errors.Is(err, jetstream.ErrStreamNotFound) || errors.Is(err, jetstream.ErrConsumerDeleted) {
			if err := w.connect(ctx); err != nil {
				w.cfg.logf("%v", err)
			}
		}
	}
	return nil
}

// handle translates one job and stores its result, or gives it back.
func (w *Worker) handle(ctx context.Context, msg jetstream.Msg) {
	h := msg.Headers()
	first, err := strconv.ParseInt(h.Get(hdrFirst), 10, 64)
	// The result's key is computed, not taken from the message ID: a
	// duplicate published under another ID still lands on the same key.
	id := jobID(h.Get(hdrModel), h.Get(hdrSettings), first == 0, msg.Data())
	if ctx.Err() != nil {
		msg.Nak()
		return
	}
	if h.Get(hdrModel) != w.model || h.Get(hdrSettings) != w.settings {
		w.cfg.logf("queue: job %.12s is for model %s with settings %q; this worker has model %s with %q: not translated",
			id, h.Get(hdrModel), h.Get(hdrSettings), w.model, w.settings)
		msg.NakWithDelay(w.cfg.ackWait)
		return
	}
	if err != nil || first < 0 {
		w.fail(ctx, msg, id, "malformed job (no "+hdrFirst+" header)")
		return
	}
	meta, err := msg.Metadata()
	if err == nil && meta.NumDelivered > uint64(w.cfg.attempts) {
		w.fail(ctx, msg, id, fmt.Sprintf("gave up after %d attempts (each worker failed, crashed or timed out on it)", w.cfg.attempts))
		return
	}
	if _, err := w.kv.Get(ctx, id); err == nil {
		w.jobs.Add(1)
		msg.Ack() // a duplicate delivery: the result is there
		return
	}

	attempt := uint64(1)
	if meta != nil {
		attempt = meta.NumDelivered
	}
	w.cfg.logf("queue: job %.12s (lines from %d) taken, attempt %d", id, first+1, attempt)
	// Heartbeats while the chunk is translated.
	start := time.Now()
	jctx, cancel := context.WithTimeout(ctx, w.cfg.jobTimeout)
	beat := make(chan struct{})
	go func() {
		defer close(beat)
		t := time.NewTicker(w.cfg.ackWait / 3)
		defer t.Stop()
		for {
			select {
			case <-jctx.Done():
				return
			case <-t.C:
				msg.InProgress()
			}
		}
	}()
	var out bytes.Buffer
	out.WriteByte(resultOK)
	err = w.tr.TranslateLines(jctx, bytes.NewReader(msg.Data()), first, &out, func(int64) error { return nil })
	cancel()
	<-beat
	switch {
	case err != nil && ctx.Err() != nil:
		msg.Nak() // shutting down: another worker takes it now
	case errors.Is(err, context.DeadlineExceeded):
		w.cfg.logf("queue: job %.12s (lines from %d) took longer than %v; given back", id, first+1, w.cfg.jobTimeout)
		msg.NakWithDelay(min(time.Second, w.cfg.ackWait/2))
	case errors.Is(err, translate.ErrInvalidInput):
		w.fail(ctx, msg, id, err.Error())
	case err != nil:
		w.cfg.logf("queue: job %.12s (lines from %d): %v; given back", id, first+1, err)
		msg.NakWithDelay(min(time.Second, w.cfg.ackWait/2))
	case out.Len() > maxJobBytes:
		w.fail(ctx, msg, id, fmt.Sprintf("translation of %d bytes is larger than the queue carries (%d); translate this file without --queue", out.Len(), maxJobBytes))
	default:
		if _, err := w.kv.Put(ctx, id, out.Bytes()); err != nil {
			w.cfg.logf("queue: storing the result of job %.12s: %v; given back", id, err)
			msg.NakWithDelay(time.Second)
			return
		}
		if err := msg.DoubleAck(ctx); err != nil {
			// The result is stored: a redelivery finds it and only acks.
			w.cfg.logf("queue: acking job %.12s: %v", id, err)
		}
		w.jobs.Add(1)
		w.cfg.logf("queue: job %.12s done: %d bytes in %.1fs", id, len(msg.Data()), time.Since(start).Seconds())
	}
}

// fail dead-letters a job: a failure record under its ID (read by the
// submitter, which names the file's lines), then Term.
func (w *Worker) fail(ctx context.Context, msg jetstream.Msg, id, reason string) {
	w.cfg.logf("queue: job %.12s failed: %s", id, reason)
	if _, err := w.kv.Put(ctx, id, append([]byte{resultFailed}, reason...)); err != nil {
		w.cfg.logf("queue: storing the failure of job %.12s: %v", id, err)
		msg.Nak()
		return
	}
	msg.TermWithReason(reason)
	w.jobs.Add(1)
}
