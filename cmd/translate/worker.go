package main

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"flag"
	"fmt"
	"io"
	"os"
	"os/signal"
	"strings"
	"syscall"
	"time"

	"github.com/nats-io/nats.go"

	"github.com/deen-mt/deen/filework"
	"github.com/deen-mt/deen/internal/defaultmodel"
	"github.com/deen-mt/deen/queue"
	"github.com/deen-mt/deen/translate"
)

func init() {
	register("worker", "translate the jobs of translate files --queue, pulled from a NATS JetStream server", runWorker)
}

const workerUsage = `usage: translate worker --queue nats://HOST:PORT [--model FILE] [search flags] [--threads N]

Connects to a NATS server with JetStream, takes the chunks that
translate files --queue publishes for the same model and search settings,
translates them and stores the results, until SIGINT or SIGTERM (the job
in hand is given back to another worker). Reconnects by itself after a
server restart. Run any number of workers on any number of machines; give
each the same --model file and search flags as the submitting side
(--threads and --batch-size may differ). See docs/queue.md.

examples:
  nats-server --jetstream --store_dir /var/lib/nats &
  translate worker --queue nats://queue.example:4222 --threads 8
  translate files --queue nats://queue.example:4222 --out en/ archive/

flags:`

// runWorker is the worker verb.
func runWorker(e *env, args []string) int {
	fs := newFlags(e, "worker", workerUsage)
	mf := addModelFlags(fs)
	url := fs.String("queue", "", "the NATS server's `URL` (nats://HOST:PORT)")
	attempts := fs.Int("attempts", queue.Attempts, "deliveries of a job before it is dead-lettered")
	jobTimeout := fs.Duration("job-timeout", queue.JobTimeout, "most time spent on one job before it is given back (and counted as an attempt)")
	ackWait := fs.Duration("ack-wait", queue.AckWait, "how long a job may go without this worker's heartbeat (sent every third of it) before another worker gets it: how soon the job of a crashed worker is redone; give all workers of a model the same")
	if code, ok := parseFlags(fs, args); !ok {
		return code
	}
	switch {
	case *url == "":
		fmt.Fprintln(e.stderr, "translate worker: --queue nats://HOST:PORT is required; see translate worker --help")
		return exitUsage
	case fs.NArg() > 0:
		fmt.Fprintf(e.stderr, "translate worker: unexpected argument %q (worker takes only flags)\n", fs.Arg(0))
		return exitUsage
	case *attempts < 1:
		fmt.Fprintf(e.stderr, "translate worker: --attempts %d: want at least 1\n", *attempts)
		return exitUsage
	case *jobTimeout <= 0:
		fmt.Fprintf(e.stderr, "translate worker: --job-timeout %v: want a positive duration such as 30m\n", *jobTimeout)
		return exitUsage
	case *ackWait < 100*time.Millisecond:
		fmt.Fprintf(e.stderr, "translate worker: --ack-wait %v: want at least 100ms (30s is the default)\n", *ackWait)
		return exitUsage
	}
	tr, code, err := mf.load()
	if err != nil {
		fmt.Fprintln(e.stderr, "translate worker:", errText(err))
		return code
	}
	model, settings, err := mf.identity(tr)
	if err != nil {
		fmt.Fprintln(e.stderr, "translate worker:", err)
		return exitFailure
	}
	logf := func(format string, a ...any) {
		fmt.Fprintf(e.stderr, "translate worker: %s %s\n", time.Now().UTC().Format(time.TimeOnly), fmt.Sprintf(format, a...))
	}
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	nc, err := connectQueue(*url, "deen worker", logf)
	if err != nil {
		fmt.Fprintln(e.stderr, "translate worker:", err)
		return exitFailure
	}
	defer nc.Close()
	w, err := queue.NewWorker(ctx, nc, model, settings, filework.Local(tr), queue.WithAttempts(*attempts), queue.WithJobTimeout(*jobTimeout), queue.WithAckWait(*ackWait), queue.WithLog(logf))
	if err != nil {
		fmt.Fprintln(e.stderr, "translate worker:", err)
		return exitFailure
	}
	logf("connected to %s; model sha256 %.12s, settings %s; waiting for jobs", *url, model, settings)
	if err := w.Run(ctx); err != nil {
		logf("%v", err)
		return exitFailure
	}
	logf("stopped after %d job(s)", w.Jobs())
	return exitOK
}

// connectQueue connects to the NATS server at url, reconnecting for ever
// after a loss, and logs disconnects and reconnects.
func connectQueue(url, name string, logf func(string, ...any)) (*nats.Conn, error) {
	nc, err := nats.Connect(url, nats.Name(name), nats.MaxReconnects(-1), nats.ReconnectWait(time.Second),
		nats.DisconnectErrHandler(func(_ *nats.Conn, err error) {
			if err != nil {
				logf("disconnected from the queue: %v; reconnecting", err)
			}
		}),
		nats.ReconnectHandler(func(c *nats.Conn) { logf("reconnected to %s", c.ConnectedUrl()) }))
	if err != nil {
		return nil, fmt.Errorf("connecting to the queue %s: %w (is nats-server running there with --jetstream?)", url, err)
	}
	return nc, nil
}

// identity returns what a queue compares between the submitting side and
// the workers: the SHA-256 of the model file (or of the embedded model),
// and the effective search settings of tr, whatever flags produced them.
func (m *modelFlags) identity(tr *translate.Translator) (model, settings string, err error) {
	var r io.ReadCloser
	if name := m.modelName(); name != "" {
		path, err := resolveModel(name)
		if err != nil {
			return "", "", err
		}
		if r, err = os.Open(path); err != nil {
			return "", "", err
		}
	} else if r, err = defaultmodel.Open(); err != nil {
		return "", "", err
	}
	defer r.Close()
	h := sha256.New()
	if _, err := io.Copy(h, r); err != nil {
		return "", "", fmt.Errorf("reading the model for its checksum: %w", err)
	}
	o := tr.SearchOptions()
	settings = fmt.Sprintf("beam=%d length-penalty=%g max-new-tokens=%d max-len-ratio=%g max-len-extra=%d no-repeat-ngram=%d min-new-tokens=%d weights=%s shortlist=%t",
		o.BeamSize, o.LengthPenalty, o.MaxNewTokens, o.MaxLenRatio, o.MaxLenExtra, o.NoRepeatNGram, o.MinNewTokens, strings.ToLower(*m.weights), tr.Model().Shortlist)
	return hex.EncodeToString(h.Sum(nil)), settings, nil
}

// queueClient connects the submitting side of files --queue; notef
// reports what the queue says.
func (m *modelFlags) queueClient(tr *translate.Translator, url string, notef func(string, ...any)) (*queue.Client, error) {
	model, settings, err := m.identity(tr)
	if err != nil {
		return nil, err
	}
	nc, err := connectQueue(url, "deen files", notef)
	if err != nil {
		return nil, err
	}
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	c, err := queue.NewClient(ctx, nc, model, settings, queue.WithLog(notef))
	if err != nil {
		nc.Close()
		return nil, err
	}
	if ok, err := c.HasWorkers(ctx); err == nil && !ok {
		notef("no worker with this model and these settings has connected to %s yet: start translate worker --queue %s with the same --model and search flags", url, url)
	}
	return c, nil
}

// flagSet reports whether the flag name was given on the command line.
func flagSet(fs *flag.FlagSet, name string) bool {
	set := false
	fs.Visit(func(f *flag.Flag) { set = set || f.Name == name })
	return set
}
