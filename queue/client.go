package queue

import (
	"bufio"
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"strconv"
	"sync"
	"time"

	"github.com/nats-io/nats.go"
	"github.com/nats-io/nats.go/jetstream"
	"github.com/nats-io/nuid"
)

// Client is the submitting side: a filework.Translator whose lines are
// translated by the workers of the same model and settings, so that
// filework.Run assembles the outputs exactly as with a local translator.
// It is safe for concurrent use.
type Client struct {
	js                jetstream.JetStream
	stream            jetstream.Stream
	kv                jetstream.KeyValue
	model, settings   string
	subject, consumer string
	cfg               config

	mu   sync.Mutex
	refs map[string]int // job IDs that files of this client are waiting for
}

// NewClient connects a Client to JetStream through nc and creates the
// stream and the bucket if they are missing. model is the model's checksum
// and settings names the search settings; workers must be given the same
// two strings.
func NewClient(ctx context.Context, nc *nats.Conn, model, settings string, opts ...Option) (*Client, error) {
	js, err := jetstream.New(nc)
	if err != nil {
		return nil, fmt.Errorf("queue: %w", err)
	}
	cfg := newConfig(opts)
	stream, kv, err := setup(ctx, js, cfg)
	if err != nil {
		return nil, err
	}
	key := Key(model, settings)
	return &Client{js: js, stream: stream, kv: kv, model: model, settings: settings, subject: JobSubjects + key,
		consumer: consumerPrefix + key, cfg: cfg, refs: map[string]int{}}, nil
}

// HasWorkers reports whether a worker for this client's model and settings
// has ever connected (its consumer exists), so a caller can tell a user
// who waits for nothing what to start.
func (c *Client) HasWorkers(ctx context.Context) (bool, error) {
	_, err := c.js.Consumer(ctx, JobStream, c.consumer)
	if errors.Is(err, jetstream.ErrConsumerNotFound) {
		return false, nil
	}
	return err == nil, err
}

// chunk is one published job of a file.
type chunk struct {
	id           string
	first, lines int64 // lines of the file before it, and in it
}

// TranslateLines is filework.Translator's method: it cuts r into chunks,
// publishes those whose result is not in the bucket yet, then writes the
// results in input order as they come, calling done after each chunk. A
// dead-lettered chunk ends it with an error naming its lines (counted in
// the whole file, from first+1). When all is written, the results are
// purged from the bucket.
func (c *Client) TranslateLines(ctx context.Context, r io.Reader, first int64, w io.Writer, done func(int64) error) error {
	var chunks []chunk
	defer func() {
		for _, ch := range chunks {
			c.unref(ch.id, false)
		}
	}()
	br := bufio.NewReaderSize(r, 64<<10)
	line := first
	for {
		data, n, err := readChunk(br, c.cfg.chunkLines, c.cfg.chunkBytes)
		if err != nil {
			return fmt.Errorf("reading line %d: %w", line+n+1, err)
		}
		if n == 0 {
			break
		}
		if len(data) > maxJobBytes {
			return fmt.Errorf("line %d: %d bytes; the queue carries lines of at most %d bytes (translate this file without --queue)", line+1, len(data), maxJobBytes)
		}
		ch := chunk{id: jobID(c.model, c.settings, line == 0, data), first: line, lines: n}
		c.ref(ch.id)
		chunks = append(chunks, ch)
		if err := c.publish(ctx, ch, data); err != nil {
			return err
		}
		line += n
	}
	var written int64
	for _, ch := range chunks {
		res, err := c.wait(ctx, ch.id)
		if err != nil {
			return err
		}
		if res[0] == resultFailed {
			// Purged so that a rerun tries the chunk again.
			c.kv.Purge(ctx, ch.id)
			return fmt.Errorf("lines %d-%d: %s", ch.first+1, ch.first+ch.lines, res[1:])
		}
		if _, err := w.Write(res[1:]); err != nil {
			return err
		}
		written += ch.lines
		if err := done(written); err != nil {
			return err
		}
	}
	for _, ch := range chunks {
		c.unref(ch.id, true)
	}
	chunks = nil
	return nil
}

// readChunk reads whole lines from br: at most maxLines, ending after the
// line that reaches maxBytes. It returns the bytes and the number of lines
// (0 at the end of the input).
func readChunk(br *bufio.Reader, maxLines, maxBytes int) ([]byte, int64, error) {
	var buf bytes.Buffer
	var n int64
	for n < int64(maxLines) && buf.Len() < maxBytes {
		line, err := br.ReadSlice('\n')
		for errors.Is(err, bufio.ErrBufferFull) { // a line longer than the buffer
			buf.Write(line)
			if buf.Len() > maxJobBytes {
				return buf.Bytes(), n + 1, nil // too long: the caller refuses it
			}
			line, err = br.ReadSlice('\n')
		}
		buf.Write(line)
		if len(line) > 0 {
			n++
		}
		if err == io.EOF {
			break
		}
		if err != nil {
			return nil, n, err
		}
	}
	return buf.Bytes(), n, nil
}

// ref and unref count the files of this client waiting for a job ID:
// identical chunks in two files share one job and one result, which is
// purged after the last of them is written (when purge is set).
func (c *Client) ref(id string) {
	c.mu.Lock()
	c.refs[id]++
	c.mu.Unlock()
}

func (c *Client) unref(id string, purge bool) {
	c.mu.Lock()
	c.refs[id]--
	last := c.refs[id] == 0
	if last {
		delete(c.refs, id)
	}
	c.mu.Unlock()
	if last && purge {
		if err := c.kv.Purge(context.Background(), id); err != nil {
			c.cfg.logf("queue: purging result %s: %v", id, err)
		}
	}
}

// publish publishes the job of ch unless its result is in the bucket
// already. A publication the server drops as a duplicate (same job ID
// within the duplicate window) is fine while the first one is still
// queued; when that one was done and its result purged since (a run over
// the same text again, or a dead-lettered chunk being retried), the job is
// published again under a fresh message ID: the result key is computed
// from the job itself. While the server is unreachable it retries until
// ctx ends.
func (c *Client) publish(ctx context.Context, ch chunk, data []byte) error {
	msg := &nats.Msg{Subject: c.subject, Data: data, Header: nats.Header{}}
	msg.Header.Set(hdrModel, c.model)
	msg.Header.Set(hdrSettings, c.settings)
	msg.Header.Set(hdrFirst, strconv.FormatInt(ch.first, 10))
	return retry(ctx, c.cfg, "publishing lines "+strconv.FormatInt(ch.first+1, 10)+"-"+strconv.FormatInt(ch.first+ch.lines, 10), func() error {
		if _, err := c.kv.Get(ctx, ch.id); err == nil {
			return nil // translated before (a rerun, or the same chunk elsewhere)
		} else if !errors.Is(err, jetstream.ErrKeyNotFound) {
			return err
		}
		ack, err := c.js.PublishMsg(ctx, msg, jetstream.WithMsgID(ch.id))
		if err != nil || !ack.Duplicate {
			return err
		}
		if _, err := c.stream.GetMsg(ctx, ack.Sequence); err == nil {
			return nil // the first publication is still queued
		} else if !errors.Is(err, jetstream.ErrMsgNotFound) {
			return err
		}
		if _, err := c.kv.Get(ctx, ch.id); err == nil {
			return nil // done meanwhile
		}
		_, err = c.js.PublishMsg(ctx, msg, jetstream.WithMsgID(ch.id+"."+nuid.Next()))
		return err
	})
}

// wait polls the bucket for the result of job id, more slowly the longer
// it waits (at most once a second), through server restarts, until ctx
// ends.
func (c *Client) wait(ctx context.Context, id string) ([]byte, error) {
	delay := 10 * time.Millisecond
	for {
		e, err := c.kv.Get(ctx, id)
		switch {
		case err == nil && len(e.Value()) > 0:
			return e.Value(), nil
		case err != nil && !errors.Is(err, jetstream.ErrKeyNotFound) && ctx.Err() == nil:
			c.cfg.logf("queue: reading result %s: %v (retrying)", id, err)
		}
		select {
		case <-ctx.Done():
			return nil, ctx.Err()
		case <-time.After(delay):
		}
		delay = min(2*delay, time.Second)
	}
}

// retry calls f until it succeeds or ctx ends, waiting longer after each
// failure (at most 5 seconds) and logging it.
func retry(ctx context.Context, cfg config, what string, f func() error) error {
	delay := 100 * time.Millisecond
	for {
		err := f()
		if err == nil {
			return nil
		}
		if ctx.Err() != nil {
			return ctx.Err()
		}
		cfg.logf("queue: %s: %v (retrying in %v)", what, err, delay)
		select {
		case <-ctx.Done():
			return ctx.Err()
		case <-time.After(delay):
		}
		delay = min(2*delay, 5*time.Second)
	}
}
