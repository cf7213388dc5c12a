package main

import (
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"os/signal"
	"sort"
	"strings"
	"syscall"
	"time"

	"github.com/schollz/progressbar/v3"
	"golang.org/x/term"

	"github.com/deen-mt/deen/hub"
)

func init() {
	register("get", "download a Hugging Face opus-mt model once, verify it and convert it into the model cache: get NAME", runGet)
}

// getUsage is the synopsis of get.
const getUsage = `usage: translate get NAME [--dtype f16|f32|int8] [--revision REV] [--force] [--keep] [--quiet]

Downloads a MarianMT (Helsinki-NLP opus-mt) model from the Hugging Face hub,
verifies it, converts it into one model file and keeps it in the model cache
($DEEN_HOME/models; DEEN_HOME defaults to $XDG_CACHE_HOME/deen, else
~/.cache/deen). Afterwards --model NAME uses it, with no network access.
NAME is a short name (%s) or a hub repository id (Helsinki-NLP/opus-mt-de-en).

environment: HF_ENDPOINT (default https://huggingface.co), HF_TOKEN (gated or
private repositories), DEEN_HOME.
examples:
  translate get opus-mt-de-en
  translate --model opus-mt-de-en "Der Hund spielt im Garten."
  translate models                      list the downloaded models
flags:`

// runGet is the get verb.
func runGet(e *env, args []string) int {
	fs := newFlags(e, "get", fmt.Sprintf(getUsage, strings.Join(aliasList(), ", ")))
	dtype := fs.String("dtype", "f16", "weight storage of the converted model: f16 (half the size of f32, same arithmetic), f32 (bit-exact with Hugging Face) or int8")
	revision := fs.String("revision", "main", "branch, tag or commit of the hub repository")
	force := fs.Bool("force", false, "download and convert again even when the model is cached")
	keep := fs.Bool("keep", false, "keep the raw downloaded files (in the model's download/ directory)")
	quiet := fs.Bool("quiet", false, "no progress bar and no notes")
	if code, ok := parseFlags(fs, args); !ok {
		return code
	}
	if fs.NArg() != 1 {
		fs.Usage()
		return exitUsage
	}
	name := fs.Arg(0)
	if _, err := hub.ParseName(name); err != nil && !errors.Is(err, hub.ErrUnsupported) {
		fmt.Fprintln(e.stderr, "translate get:", hubText(err))
		return exitUsage
	}
	switch *dtype {
	case "f32", "f16", "int8":
	default:
		fmt.Fprintf(e.stderr, "translate get: --dtype %q: want f16, f32 or int8\n", *dtype)
		return exitUsage
	}
	opts := []hub.Option{hub.WithDType(*dtype), hub.WithRevision(*revision), hub.WithForce(*force), hub.WithKeep(*keep)}
	if !*quiet {
		opts = append(opts, hub.WithLog(func(format string, a ...any) {
			fmt.Fprintf(e.stderr, "translate get: "+format+"\n", a...)
		}))
		if isTerminal(e.stderr) {
			bars := &downloadBars{w: e.stderr}
			defer bars.finish()
			opts = append(opts, hub.WithProgress(bars.update))
		}
	}
	if m, err := hub.Lookup(name, opts...); err == nil && !*force && m.Revision == *revision && m.DType == *dtype {
		fmt.Fprintf(e.stderr, "translate get: %s is already downloaded (--force downloads it again)\n", name)
	}
	// Ctrl-C stops the download; what arrived stays and the next get resumes.
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	m, err := hub.Get(ctx, name, opts...)
	if err != nil {
		fmt.Fprintln(e.stderr, "translate get:", hubText(err))
		if ctx.Err() != nil {
			fmt.Fprintln(e.stderr, "translate get: interrupted; run the same command again to resume")
		}
		return exitFailure
	}
	fmt.Fprintln(e.stdout, describeModel(m))
	return exitOK
}

// describeModel is the one-line summary of a cached model.
func describeModel(m *hub.Model) string {
	src := m.Repo + "@" + m.Revision
	if m.Commit != "" && m.Commit != m.Revision && len(m.Commit) >= 12 {
		src += " (" + m.Commit[:12] + ")"
	}
	return fmt.Sprintf("%s: %s, %s, %s parameters, %.1f MB, %s", m.Name, src, m.DType, count(m.Parameters), float64(m.Size)/1e6, m.Path)
}

// count writes a parameter count in millions, or thousands below 100,000.
func count(n int64) string {
	if n < 100_000 {
		return fmt.Sprintf("%.1fk", float64(n)/1e3)
	}
	return fmt.Sprintf("%.1fM", float64(n)/1e6)
}

// hubText is err's message without the hub package's prefix.
func hubText(err error) string {
	return strings.TrimPrefix(err.Error(), "hub: ")
}

// aliasList lists the short model names.
func aliasList() []string {
	var names []string
	for n := range hub.Aliases() {
		names = append(names, n)
	}
	sort.Strings(names)
	return names
}

// isTerminal reports whether w is a terminal (progress bars go only there).
func isTerminal(w io.Writer) bool {
	f, ok := w.(*os.File)
	return ok && term.IsTerminal(int(f.Fd()))
}

// downloadBars draws one progress bar per downloaded file: bytes, rate
// and time left.
type downloadBars struct {
	w    io.Writer
	file string
	bar  *progressbar.ProgressBar
}

// update is the hub's progress callback.
func (d *downloadBars) update(file string, done, total int64) {
	if file != d.file {
		d.finish()
		d.file = file
		d.bar = progressbar.NewOptions64(total, progressbar.OptionSetWriter(d.w), progressbar.OptionSetDescription(file),
			progressbar.OptionShowBytes(true), progressbar.OptionShowCount(), progressbar.OptionSetPredictTime(true),
			progressbar.OptionThrottle(200*time.Millisecond), progressbar.OptionSetWidth(30), progressbar.OptionOnCompletion(func() { fmt.Fprintln(d.w) }))
	}
	d.bar.Set64(done)
}

// finish ends the current bar.
func (d *downloadBars) finish() {
	if d.bar != nil {
		d.bar.Finish()
		d.bar = nil
	}
}
