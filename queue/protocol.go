// Package queue spreads the translation of files over worker processes on
// any number of machines through NATS JetStream, an existing distributed
// engine: its work-queue streams give per-message acknowledgement,
// redelivery after a crash, InProgress heartbeats for long jobs, Term for
// poison messages and de-duplication by message ID, and its key-value
// store holds the results.
//
// The protocol, in the order a chunk travels:
//
//   - A Client (the submitting side, a filework.Translator) cuts each file
//     into chunks of whole lines (at most ChunkLines lines and about
//     ChunkBytes bytes; a chunk never splits a line). A chunk's job ID is
//     the SHA-256 of its bytes, of the model's checksum and of the search
//     settings (and of whether it starts its file, where a byte-order mark
//     is honoured), so the same chunk always has the same ID. Chunks whose
//     result is already in the results bucket are not published again; the
//     others are published to the work-queue stream JobStream under the
//     subject JobSubjects + key, where key names the model and settings, with
//     the job ID as JetStream message ID (a duplicate published within the
//     stream's duplicate window is dropped by the server).
//   - A Worker consumes only its key's subject through the durable pull
//     consumer "deen-worker-"+key, so a worker with another model or other
//     settings never sees the job; each job also carries the model checksum
//     and settings, and a worker that receives a job it does not match
//     (hand-made messages) naks it with a log line. The worker translates
//     the chunk, sending InProgress heartbeats while it runs, writes the
//     result to the key-value bucket ResultBucket under the job ID (the
//     same bytes whichever worker wrote it, so a duplicate delivery changes
//     nothing) and acks. A worker that dies mid-chunk does not ack: the
//     server redelivers the job after the ack wait. A job delivered more
//     than Attempts times is dead-lettered: the worker that receives it
//     then writes a failure record instead of translating and terminates
//     the message, and a chunk the translator refuses (text the model
//     cannot read) is failed at once.
//   - The Client polls the results of each file's chunks in input order
//     and writes them as they come, so filework assembles the output with
//     its partial file and checkpoints; a failure record ends the file
//     with an error naming its line range. After a file is written its
//     results are purged; the bucket's TTL removes results a crash left.
//
// A rerun after an interruption continues at the file's checkpoint: the
// chunks after it get the same IDs as before, the finished ones are taken
// from the bucket and the pending ones are not duplicated.
package queue

import (
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"time"
)

// Names of the JetStream objects; docs/queue.md describes their limits.
const (
	// JobStream is the work-queue stream holding the jobs.
	JobStream = "DEEN_JOBS"
	// JobSubjects is the prefix of the job subjects: JobSubjects + key.
	JobSubjects = "deen.jobs."
	// ResultBucket is the key-value bucket holding the results by job ID.
	ResultBucket = "DEEN_RESULTS"
	// consumerPrefix + key is the durable consumer of a key's workers.
	consumerPrefix = "deen-worker-"
)

// Defaults of the options.
const (
	// ChunkLines is the most lines in a chunk.
	ChunkLines = 200
	// ChunkBytes is the size after which a chunk ends (at a line end); a
	// single longer line is a chunk of its own, up to maxJobBytes.
	ChunkBytes = 256 << 10
	// Attempts is how many deliveries of a job are tried before it is
	// dead-lettered.
	Attempts = 4
	// AckWait is how long a job may go without an ack or a heartbeat
	// before the server gives it to another worker.
	AckWait = 30 * time.Second
	// JobTimeout is the most time a worker spends on one job.
	JobTimeout = 30 * time.Minute
	// ResultTTL is how long a result stays in the bucket if no submitter
	// collects it.
	ResultTTL = 7 * 24 * time.Hour
	// DuplicateWindow is how long the server remembers job IDs to drop a
	// duplicate publication.
	DuplicateWindow = time.Hour
)

// maxJobBytes is the largest chunk (and result) carried: below NATS's
// default 1 MiB message payload limit, leaving room for headers.
const maxJobBytes = 1<<20 - 8<<10

// Job message headers.
const (
	hdrModel    = "Deen-Model"
	hdrSettings = "Deen-Settings"
	hdrFirst    = "Deen-First" // lines of the file before the chunk
)

// Result records: the first byte says which.
const (
	resultOK     = 'R' // then the translated chunk's bytes
	resultFailed = 'F' // then the reason
)

// Key names a model and its settings: the suffix of the subject and of the
// consumer their jobs use.
func Key(model, settings string) string {
	h := sha256.Sum256([]byte(model + "\x00" + settings))
	return hex.EncodeToString(h[:8])
}

// jobID is the job ID of a chunk: the hash of the model checksum, the
// settings, whether the chunk starts its file and the chunk's bytes.
func jobID(model, settings string, fileStart bool, chunk []byte) string {
	h := sha256.New()
	fmt.Fprintf(h, "deen job v1\x00%s\x00%s\x00%t\x00", model, settings, fileStart)
	h.Write(chunk)
	return hex.EncodeToString(h.Sum(nil))
}
