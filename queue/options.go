package queue

import (
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/nats-io/nats.go/jetstream"
)

// Option changes a Client or a Worker.
type Option func(*config)

type config struct {
	chunkLines, chunkBytes int
	attempts               int
	ackWait, jobTimeout    time.Duration
	resultTTL              time.Duration
	logf                   func(format string, args ...any)
}

func newConfig(opts []Option) config {
	c := config{chunkLines: ChunkLines, chunkBytes: ChunkBytes, attempts: Attempts, ackWait: AckWait,
		jobTimeout: JobTimeout, resultTTL: ResultTTL, logf: func(string, ...any) {}}
	for _, o := range opts {
		o(&c)
	}
	return c
}

// WithChunk sets the most lines of a chunk and the size after which a chunk
// ends (Client only; values below 1 keep the default). A chunk never
// splits a line.
func WithChunk(lines, bytes int) Option {
	return func(c *config) {
		if lines > 0 {
			c.chunkLines = lines
		}
		if bytes > 0 {
			c.chunkBytes = min(bytes, maxJobBytes)
		}
	}
}

// WithAttempts sets how many deliveries of a job are tried before it is
// dead-lettered (values below 1 keep the default). The consumer is created
// by the first worker of a key; later changes apply when it is updated by
// a worker with other values.
func WithAttempts(n int) Option {
	return func(c *config) {
		if n > 0 {
			c.attempts = n
		}
	}
}

// WithAckWait sets how long a job may go without an ack or a heartbeat
// before it is given to another worker (Worker; values below 100ms keep the
// default). Heartbeats are sent every third of it.
func WithAckWait(d time.Duration) Option {
	return func(c *config) {
		if d >= 100*time.Millisecond {
			c.ackWait = d
		}
	}
}

// WithJobTimeout bounds the time a Worker spends on one job (values of 0
// or less keep the default): a job that takes longer is given back (it
// counts as an attempt), so a chunk that makes the translator hang ends
// dead-lettered instead of being kept alive by heartbeats for ever.
func WithJobTimeout(d time.Duration) Option {
	return func(c *config) {
		if d > 0 {
			c.jobTimeout = d
		}
	}
}

// WithResultTTL sets how long uncollected results stay in the bucket
// (values below one second keep the default). It applies when the bucket
// is created.
func WithResultTTL(d time.Duration) Option {
	return func(c *config) {
		if d >= time.Second {
			c.resultTTL = d
		}
	}
}

// WithLog makes the Client and the Worker report what they do (jobs taken,
// failed, refused, connection trouble) through f.
func WithLog(f func(format string, args ...any)) Option {
	return func(c *config) { c.logf = f }
}

// setup creates the job stream and the result bucket if they are missing
// (idempotent: the same configuration is applied again).
func setup(ctx context.Context, js jetstream.JetStream, cfg config) (jetstream.Stream, jetstream.KeyValue, error) {
	stream, err := js.CreateOrUpdateStream(ctx, jetstream.StreamConfig{
		Name:        JobStream,
		Description: "deen translation jobs, one per chunk of a file (see docs/queue.md)",
		Subjects:    []string{JobSubjects + ">"},
		Retention:   jetstream.WorkQueuePolicy,
		Storage:     jetstream.FileStorage,
		Duplicates:  DuplicateWindow,
		MaxMsgSize:  1 << 20,
	})
	if err != nil {
		return nil, nil, fmt.Errorf("queue: creating stream %s: %w", JobStream, err)
	}
	kv, err := js.CreateKeyValue(ctx, jetstream.KeyValueConfig{
		Bucket:       ResultBucket,
		Description:  "deen translation results by job ID (see docs/queue.md)",
		TTL:          cfg.resultTTL,
		Storage:      jetstream.FileStorage,
		MaxValueSize: 1 << 20,
	})
	if errors.Is(err, jetstream.ErrBucketExists) {
		kv, err = js.KeyValue(ctx, ResultBucket)
	}
	if err != nil {
		return nil, nil, fmt.Errorf("queue: creating bucket %s: %w", ResultBucket, err)
	}
	return stream, kv, nil
}
