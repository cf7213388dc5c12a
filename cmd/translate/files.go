package main

import (
	"context"
	"errors"
	"fmt"
	"os"
	"os/signal"
	"runtime"
	"strconv"
	"strings"
	"sync/atomic"
	"syscall"
	"time"

	"github.com/schollz/progressbar/v3"
	"golang.org/x/term"

	"github.com/deen-mt/deen/filework"
)

func init() {
	register("files", "translate files and folder trees: parallel, resumable, never overwrites", runFiles)
}

const filesUsage = `usage: translate files [flags] PATH...

Translates each file, and every file in each folder tree (hidden files and
folders skipped), German to English. Outputs:
  --suffix .en (the default)   beside each input: brief.de → brief.en, notes.txt → notes.txt.en
  --out DIR                    under DIR, mirroring each folder's tree, named by the
                               same --suffix rule (docs/a/b.de → DIR/a/b.en)
Inside folders, files ending in .en (this tool's outputs) are not inputs,
and symbolic links are not followed (each is named; pass its target as a
PATH). A folder or file that cannot be read is named and skipped; the
others are translated and the exit code is 1.
An output that exists is skipped (--force translates it again). Interrupted
runs (Ctrl-C, kill, crash) resume where they stopped when run again.
Inputs must be UTF-8 (a byte-order mark and CRLF line ends are kept as found).
Files named *.html or *.htm are translated as HTML (as translate --format
html: tags, attributes and entities kept, <code>, <pre>, <script>, <style>
and translate="no" left alone, each file as one document); with --queue
they are translated line by line like other files.

examples:
  translate files brief.de                     writes brief.en
  translate files --out en/ docs/              docs/a/b.txt → en/a/b.txt.en
  translate files --suffix .en.txt --jobs 4 *.txt
  translate files --queue nats://host:4222 archive/   translated by translate worker processes
  translate files --shard 2/8 archive/          the 3rd of 8 disjoint parts (e.g. a Slurm array task)
  translate files --merge archive/              put the parts of split files together

flags:`

// runFiles is the files verb.
func runFiles(e *env, args []string) int {
	fs := newFlags(e, "files", filesUsage)
	mf := addModelFlags(fs)
	outDir := fs.String("out", "", "write the outputs under `DIR`")
	suffix := fs.String("suffix", ".en", "name each output after its input with this `suffix` (beside it, or under --out)")
	force := fs.Bool("force", false, "translate again and replace outputs that exist")
	jobs := fs.Int("jobs", min(runtime.NumCPU(), 4), "files translated at the same time")
	quiet := fs.Bool("quiet", false, "no progress bar and no notes, only errors")
	replace := fs.Bool("replace-invalid", false, "translate files with invalid UTF-8, reading bad bytes as U+FFFD (default: refuse them)")
	queueURL := fs.String("queue", "", "translate through the workers of a NATS JetStream server at `URL` (nats://HOST:PORT; see translate worker --help); --jobs then defaults to 64")
	shardFlag := fs.String("shard", "", "translate only part `I/N` (0 ≤ I < N) of the work: every I-th file, or with fewer files than N the I-th line range of each (then put together by --merge); give every shard the same PATHs")
	merge := fs.Bool("merge", false, "put together the outputs that --shard runs wrote in parts, translating nothing")
	if code, ok := parseFlags(fs, args); !ok {
		return code
	}
	usageErr := func(msg string) int {
		fmt.Fprintln(e.stderr, "translate files:", msg)
		return exitUsage
	}
	naming := filework.Naming{OutDir: *outDir, Suffix: *suffix}
	switch err := naming.Check(); {
	case fs.NArg() == 0:
		return usageErr("no PATH given; see translate files --help")
	case *jobs < 1:
		return usageErr(fmt.Sprintf("--jobs %d: want at least 1", *jobs))
	case err != nil:
		return usageErr(fmt.Sprintf("--suffix %q: %v", *suffix, err))
	case *merge && (*shardFlag != "" || *queueURL != ""):
		return usageErr("--merge only puts parts together; run it without --shard and --queue")
	}
	shard, shards, err := parseShard(*shardFlag)
	if err != nil {
		return usageErr(err.Error())
	}
	notef := func(format string, a ...any) {
		if !*quiet {
			fmt.Fprintf(e.stderr, "translate files: "+format+"\n", a...)
		}
	}
	// The first Ctrl-C (or SIGTERM) (from here on) stops the workers, which save their
	// checkpoints; a second one ends the process at once.
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	go func() {
		<-ctx.Done()
		stop()
	}()
	failed := 0
	collect := func() ([]*filework.File, bool) {
		all, err := filework.Collect(fs.Args(), naming, func(path string, err error) {
			if errors.Is(err, filework.ErrSymlink) {
				notef("skipped %s: %s", path, err)
				return
			}
			fmt.Fprintf(e.stderr, "translate files: skipped %s: %s\n", path, errText(err))
			failed++
		})
		if err != nil {
			fmt.Fprintln(e.stderr, "translate files:", errText(err))
		}
		return all, err == nil
	}
	if *merge {
		all, ok := collect()
		if !ok {
			return exitFailure
		}
		merged, errs := mergeParts(all)
		for _, err := range errs {
			fmt.Fprintln(e.stderr, "translate files:", err)
		}
		notef("merged %d file(s) from their parts", merged)
		if failed+len(errs) > 0 {
			return exitFailure
		}
		return exitOK
	}

	// Bad flag values and a bad model are reported before the work is
	// looked at, also when there turns out to be nothing to do.
	tr, code, err := mf.load()
	if err != nil {
		fmt.Fprintln(e.stderr, "translate files:", errText(err))
		return code
	}
	lines := filework.Local(tr)
	if *queueURL != "" {
		client, err := mf.queueClient(tr, *queueURL, notef)
		if err != nil {
			fmt.Fprintln(e.stderr, "translate files:", err)
			return exitFailure
		}
		lines = client
		if !flagSet(fs, "jobs") {
			*jobs = 64 // files waiting for their chunks at once: keeps many workers busy
		}
	}

	all, ok := collect()
	if !ok {
		return exitFailure
	}
	if shards > 0 {
		if all, err = filework.Shard(all, shard, shards); err != nil {
			return usageErr(err.Error())
		}
		notef("shard %d/%d: %d file(s) or parts", shard, shards, len(all))
	} else {
		merged, errs := mergeParts(all)
		for _, err := range errs {
			notef("%v; translating the file whole", err)
		}
		if merged > 0 {
			notef("merged %d file(s) from the parts that --shard runs wrote", merged)
		}
	}
	var todo []*filework.File
	skipped := 0
	for _, f := range all {
		if f.Exists() && !*force {
			skipped++
			continue
		}
		todo = append(todo, f)
	}
	if skipped > 0 {
		notef("skipped %d file(s) whose output exists (--force translates them again)", skipped)
	}
	if len(todo) == 0 {
		if failed > 0 {
			return exitFailure
		}
		notef("nothing to translate")
		return exitOK
	}

	// Check every input before translating: binary files and invalid UTF-8
	// are reported with their place and left out.
	settings := mf.describe()
	var total int64
	ready := todo[:0]
	for _, f := range todo {
		if err := f.Check(settings, *replace); err != nil {
			fmt.Fprintln(e.stderr, "translate files:", errText(err))
			failed++
			continue
		}
		if f.Done > 0 {
			notef("resuming %s at line %d of %d", f.Out, f.Done+1, f.Lines)
		}
		total += f.Lines - f.Done
		ready = append(ready, f)
	}
	if len(ready) == 0 {
		return exitFailure
	}

	var bar *progressbar.ProgressBar
	if f, ok := e.stderr.(*os.File); ok && !*quiet && total > 0 && term.IsTerminal(int(f.Fd())) {
		bar = progressbar.NewOptions64(total, progressbar.OptionSetWriter(e.stderr),
			progressbar.OptionSetDescription(fmt.Sprintf("%d file(s)", len(ready))),
			progressbar.OptionShowCount(), progressbar.OptionShowIts(), progressbar.OptionSetItsString("lines"),
			progressbar.OptionSetPredictTime(true), progressbar.OptionThrottle(200*time.Millisecond),
			progressbar.OptionClearOnFinish(),
			// Start the clock now: a bar started by its first Add divides
			// the first batch by microseconds (millions of lines/s).
			progressbar.OptionSetRenderBlankState(true))
	}
	var linesDone atomic.Int64
	progress := func(n int64) {
		linesDone.Add(n)
		if bar != nil {
			bar.Add64(n)
		}
	}
	start := time.Now()
	errs := filework.Run(ctx, ready, lines, filework.Jobs(*jobs), filework.Force(*force), filework.Progress(progress))
	if bar != nil {
		bar.Exit()
	}
	finished, interrupted := 0, false
	for i, err := range errs {
		switch {
		case err == nil:
			finished++
		case errors.Is(err, context.Canceled):
			interrupted = true
		default:
			fmt.Fprintf(e.stderr, "translate files: %s: %s\n", ready[i].In, errText(err))
			failed++
		}
	}
	secs := time.Since(start).Seconds()
	notef("translated %d file(s), %d lines in %.1fs (%.0f lines/s)", finished, linesDone.Load(), secs, float64(linesDone.Load())/max(secs, 1e-9))
	if interrupted {
		fmt.Fprintf(e.stderr, "translate files: interrupted; %d of %d file(s) finished, progress saved: run the same command again to resume\n", finished, len(ready))
		return exitFailure
	}
	if failed > 0 {
		fmt.Fprintf(e.stderr, "translate files: %d file(s) failed\n", failed)
		return exitFailure
	}
	return exitOK
}

// parseShard parses --shard I/N (0, 0 when not given).
func parseShard(s string) (i, n int, err error) {
	if s == "" {
		return 0, 0, nil
	}
	a, b, ok := strings.Cut(s, "/")
	i, err1 := strconv.Atoi(a)
	n, err2 := strconv.Atoi(b)
	if !ok || err1 != nil || err2 != nil || n < 1 || i < 0 || i >= n {
		return 0, 0, fmt.Errorf("--shard %q: want I/N with 0 ≤ I < N, e.g. --shard 0/4 … --shard 3/4", s)
	}
	return i, n, nil
}

// mergeParts merges the parts of every file whose output does not exist
// (filework.Merge) and returns how many it merged and what failed.
func mergeParts(files []*filework.File) (merged int, errs []error) {
	for _, f := range files {
		if f.Exists() {
			continue
		}
		ok, err := filework.Merge(f)
		if err != nil {
			errs = append(errs, err)
		}
		if ok {
			merged++
		}
	}
	return merged, errs
}
