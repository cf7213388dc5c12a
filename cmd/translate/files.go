package main

import (
	"bufio"
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"io"
	"io/fs"
	"os"
	"os/signal"
	"path/filepath"
	"runtime"
	"sort"
	"strings"
	"sync"
	"sync/atomic"
	"syscall"
	"time"
	"unicode/utf8"

	"github.com/schollz/progressbar/v3"
	"golang.org/x/term"

	"github.com/deen-mt/deen/internal/lines"
	"github.com/deen-mt/deen/translate"
)

func init() {
	register("files", "translate files and folder trees: parallel, resumable, never overwrites", runFiles)
}

// A file is translated into OUT.deen-partial; every second (and when
// interrupted) OUT.deen-partial.json records how many input lines are done
// and how many bytes of the partial file hold them. The partial file is
// renamed to OUT only when complete. A rerun continues a partial file at
// the recorded line after cutting it to the recorded size (bytes written
// after the last checkpoint are translated again), provided the input, the
// model and the search settings are unchanged; otherwise it starts over.
const (
	partialExt      = ".deen-partial"
	checkpointExt   = ".deen-partial.json"
	checkpointEvery = time.Second
)

// checkpoint is the content of OUT.deen-partial.json.
type checkpoint struct {
	Input      string `json:"input"`
	InputSize  int64  `json:"input_size"`
	InputMtime int64  `json:"input_mtime_ns"`
	Settings   string `json:"settings"`
	Lines      int64  `json:"lines"` // input lines translated
	Bytes      int64  `json:"bytes"` // bytes of the partial output holding them
}

// fileJob is one input file and where its translation goes.
type fileJob struct {
	in, out string
	lines   int64      // lines in the input
	resume  checkpoint // where to continue; Lines 0 starts over
}

const filesUsage = `usage: translate files [flags] PATH...

Translates each file, and every file in each folder tree (hidden files and
folders skipped), German to English. Outputs:
  --suffix .en (the default)   beside each input: brief.de → brief.en, notes.txt → notes.txt.en
  --out DIR                    under DIR, mirroring each folder's tree (a file goes to DIR/NAME)
An output that exists is skipped (--force translates it again). Interrupted
runs (Ctrl-C, kill, crash) resume where they stopped when run again.
Inputs must be UTF-8 (a byte-order mark and CRLF line ends are kept as found).

examples:
  translate files brief.de                     writes brief.en
  translate files --out en/ docs/              docs/a/b.txt → en/a/b.txt
  translate files --suffix .en.txt --jobs 4 *.txt

flags:`

// runFiles is the files verb.
func runFiles(e *env, args []string) int {
	fs := flag.NewFlagSet("files", flag.ContinueOnError)
	fs.SetOutput(e.stderr)
	fs.Usage = func() {
		fmt.Fprintln(e.stderr, filesUsage)
		fs.PrintDefaults()
	}
	mf := addModelFlags(fs)
	outDir := fs.String("out", "", "write the outputs under `DIR`")
	suffix := fs.String("suffix", "", "write each output beside its input with this `suffix` (default .en)")
	force := fs.Bool("force", false, "translate again and replace outputs that exist")
	jobs := fs.Int("jobs", min(runtime.NumCPU(), 4), "files translated at the same time")
	quiet := fs.Bool("quiet", false, "no progress bar and no notes, only errors")
	replace := fs.Bool("replace-invalid", false, "translate files with invalid UTF-8, reading bad bytes as U+FFFD (default: refuse them)")
	if code, ok := parseFlags(fs, args); !ok {
		return code
	}
	usageErr := func(msg string) int {
		fmt.Fprintln(e.stderr, "translate files:", msg)
		return exitUsage
	}
	switch {
	case fs.NArg() == 0:
		return usageErr("no PATH given; see translate files --help")
	case *outDir != "" && *suffix != "":
		return usageErr("--out and --suffix exclude each other; pick one")
	case *jobs < 1:
		return usageErr(fmt.Sprintf("--jobs %d: want at least 1", *jobs))
	case *outDir == "" && *suffix == "":
		*suffix = ".en"
	}
	if *suffix != "" && (strings.ContainsRune(*suffix, filepath.Separator) || strings.ContainsRune(*suffix, '/')) {
		return usageErr(fmt.Sprintf("--suffix %q: a suffix cannot contain a path separator; use --out DIR", *suffix))
	}
	notef := func(format string, a ...any) {
		if !*quiet {
			fmt.Fprintf(e.stderr, "translate files: "+format+"\n", a...)
		}
	}

	all, err := collectJobs(fs.Args(), *outDir, *suffix)
	if err != nil {
		fmt.Fprintln(e.stderr, "translate files:", errText(err))
		return exitFailure
	}
	var todo []*fileJob
	skipped := 0
	for _, j := range all {
		if _, err := os.Lstat(j.out); err == nil && !*force {
			skipped++
			continue
		}
		todo = append(todo, j)
	}
	if skipped > 0 {
		notef("skipped %d file(s) whose output exists (--force translates them again)", skipped)
	}
	if len(todo) == 0 {
		notef("nothing to translate")
		return exitOK
	}

	// Check every input before loading the model: binary files and invalid
	// UTF-8 are reported with their place and left out.
	failed := 0
	settings := mf.describe()
	var total int64
	ready := todo[:0]
	for _, j := range todo {
		n, err := scanFile(j.in, *replace)
		if err != nil {
			fmt.Fprintln(e.stderr, "translate files:", errText(err))
			failed++
			continue
		}
		j.lines = n
		if j.resume = loadCheckpoint(j, settings); j.resume.Lines > 0 {
			notef("resuming %s at line %d of %d", j.out, j.resume.Lines+1, j.lines)
		}
		total += j.lines - j.resume.Lines
		ready = append(ready, j)
	}
	if len(ready) == 0 {
		return exitFailure
	}
	// Longest files first: the workers finish closer together.
	sort.SliceStable(ready, func(a, b int) bool {
		return ready[a].lines-ready[a].resume.Lines > ready[b].lines-ready[b].resume.Lines
	})
	tr, code, err := mf.load()
	if err != nil {
		fmt.Fprintln(e.stderr, "translate files:", errText(err))
		return code
	}

	// The first Ctrl-C (or SIGTERM) stops the workers, which save their
	// checkpoints; a second one ends the process at once.
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	go func() {
		<-ctx.Done()
		stop()
	}()
	var bar *progressbar.ProgressBar
	if f, ok := e.stderr.(*os.File); ok && !*quiet && total > 0 && term.IsTerminal(int(f.Fd())) {
		bar = progressbar.NewOptions64(total, progressbar.OptionSetWriter(e.stderr),
			progressbar.OptionSetDescription(fmt.Sprintf("%d file(s)", len(ready))),
			progressbar.OptionShowCount(), progressbar.OptionShowIts(), progressbar.OptionSetItsString("lines"),
			progressbar.OptionSetPredictTime(true), progressbar.OptionThrottle(200*time.Millisecond),
			progressbar.OptionClearOnFinish())
	}
	var linesDone atomic.Int64
	progress := func(n int64) {
		linesDone.Add(n)
		if bar != nil {
			bar.Add64(n)
		}
	}
	start := time.Now()
	queue := make(chan int)
	errs := make([]error, len(ready))
	for i := range errs {
		errs[i] = context.Canceled // until its worker says otherwise
	}
	var wg sync.WaitGroup
	for range min(*jobs, len(ready)) {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for i := range queue {
				errs[i] = translateFile(ctx, tr, ready[i], settings, *force, progress)
			}
		}()
	}
send:
	for i := range ready {
		select {
		case queue <- i:
		case <-ctx.Done():
			break send
		}
	}
	close(queue)
	wg.Wait()
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
			fmt.Fprintf(e.stderr, "translate files: %s: %s\n", ready[i].in, errText(err))
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

// collectJobs expands the paths into files and names their outputs:
// beside the input with suffix, or under outDir.
func collectJobs(paths []string, outDir, suffix string) ([]*fileJob, error) {
	var jobs []*fileJob
	byOut := map[string]string{}
	add := func(in, out string) error {
		if prev, ok := byOut[out]; ok {
			return fmt.Errorf("%s and %s would both be translated to %s; translate them separately", prev, in, out)
		}
		if filepath.Clean(in) == filepath.Clean(out) {
			return fmt.Errorf("%s would be overwritten by its own translation; pick another --out", in)
		}
		byOut[out] = in
		jobs = append(jobs, &fileJob{in: in, out: out})
		return nil
	}
	absOut := ""
	if outDir != "" {
		absOut, _ = filepath.Abs(outDir)
	}
	for _, p := range paths {
		st, err := os.Stat(p)
		if err != nil {
			return nil, fmt.Errorf("%w (check the PATH)", err)
		}
		if !st.IsDir() {
			out := outName(p, suffix)
			if outDir != "" {
				out = filepath.Join(outDir, filepath.Base(p))
			}
			if err := add(p, out); err != nil {
				return nil, err
			}
			continue
		}
		err = filepath.WalkDir(p, func(path string, d fs.DirEntry, err error) error {
			if err != nil {
				return err
			}
			name := d.Name()
			if abs, _ := filepath.Abs(path); absOut != "" && abs == absOut {
				return filepath.SkipDir // the output tree inside the input tree
			}
			if path != p && strings.HasPrefix(name, ".") {
				if d.IsDir() {
					return filepath.SkipDir
				}
				return nil
			}
			if d.IsDir() || !d.Type().IsRegular() || strings.HasSuffix(name, partialExt) || strings.HasSuffix(name, checkpointExt) ||
				strings.HasSuffix(name, checkpointExt+".tmp") || (suffix != "" && strings.HasSuffix(name, suffix)) {
				return nil
			}
			out := outName(path, suffix)
			if outDir != "" {
				rel, err := filepath.Rel(p, path)
				if err != nil {
					return err
				}
				out = filepath.Join(outDir, rel)
			}
			return add(path, out)
		})
		if err != nil {
			return nil, err
		}
	}
	return jobs, nil
}

// outName is the output beside in: a ".de" ending replaced by suffix, or
// suffix appended.
func outName(in, suffix string) string {
	return strings.TrimSuffix(in, ".de") + suffix
}

// scanFile checks that path is UTF-8 text and counts its lines. A NUL byte
// marks a binary file; invalid UTF-8 is an error naming the line unless
// replace is set.
func scanFile(path string, replace bool) (int64, error) {
	f, err := os.Open(path)
	if err != nil {
		return 0, err
	}
	defer f.Close()
	return scanReader(f, path, 64<<10, replace)
}

// scanReader is scanFile on r named path, reading bufSize bytes at a time
// (at least utf8.UTFMax).
func scanReader(r io.Reader, path string, bufSize int, replace bool) (int64, error) {
	// Binary before invalid: a NUL near the start (as git looks).
	f := bufio.NewReaderSize(r, 8000)
	head, err := f.Peek(8000)
	if i := bytes.IndexByte(head, 0); i >= 0 {
		return 0, fmt.Errorf("%s looks binary (NUL byte at offset %d); only UTF-8 text files are translated", path, i)
	}
	if err != nil && err != io.EOF {
		return 0, err
	}
	buf := make([]byte, max(bufSize, utf8.UTFMax))
	var lines, pos int64 // pos: the file offset of buf[0]
	keep := 0            // bytes of a rune cut by the previous read, at buf[:keep]
	var last byte
	for {
		n, rerr := f.Read(buf[keep:])
		data := buf[:keep+n]
		eof := rerr == io.EOF
		i := 0
		for i < len(data) {
			c := data[i]
			if c < utf8.RuneSelf {
				if c == 0 {
					return 0, fmt.Errorf("%s looks binary (NUL byte at offset %d); only UTF-8 text files are translated", path, pos+int64(i))
				}
				if c == '\n' {
					lines++
				}
				i++
				continue
			}
			if !eof && !utf8.FullRune(data[i:]) {
				break // the rest of the rune comes with the next read
			}
			r, size := utf8.DecodeRune(data[i:])
			if r == utf8.RuneError && size == 1 && !replace {
				return 0, fmt.Errorf("%s:%d: invalid UTF-8 at byte %d; convert the file to UTF-8 (e.g. iconv -f latin1 -t utf-8) or pass --replace-invalid", path, lines+1, pos+int64(i))
			}
			i += size
		}
		if len(data) > 0 {
			last = data[len(data)-1]
		}
		keep = copy(buf, data[i:])
		pos += int64(i)
		if eof {
			if pos > 0 && last != '\n' {
				lines++ // a last line without a line end
			}
			return lines, nil
		}
		if rerr != nil {
			return 0, rerr
		}
	}
}

// loadCheckpoint returns where to continue j: its checkpoint when the
// input, the settings and the partial file still match it, else a fresh
// start.
func loadCheckpoint(j *fileJob, settings string) checkpoint {
	fresh := checkpoint{Input: j.in, Settings: settings}
	if st, err := os.Stat(j.in); err == nil {
		fresh.InputSize, fresh.InputMtime = st.Size(), st.ModTime().UnixNano()
	}
	b, err := os.ReadFile(j.out + checkpointExt)
	if err != nil {
		return fresh
	}
	var c checkpoint
	if json.Unmarshal(b, &c) != nil || c.Input != fresh.Input || c.InputSize != fresh.InputSize ||
		c.InputMtime != fresh.InputMtime || c.Settings != settings || c.Lines < 0 || c.Lines > j.lines || c.Bytes < 0 {
		return fresh
	}
	if st, err := os.Stat(j.out + partialExt); err != nil || st.Size() < c.Bytes {
		return fresh
	}
	return c
}

// saveCheckpoint syncs the partial file f and records c atomically.
func saveCheckpoint(f *os.File, path string, c checkpoint) error {
	if err := f.Sync(); err != nil {
		return err
	}
	b, err := json.Marshal(c)
	if err != nil {
		return err
	}
	if err := os.WriteFile(path+".tmp", b, 0o644); err != nil {
		return err
	}
	return os.Rename(path+".tmp", path)
}

// countWriter counts the bytes written through it.
type countWriter struct {
	w io.Writer
	n int64
}

func (c *countWriter) Write(p []byte) (int, error) {
	n, err := c.w.Write(p)
	c.n += int64(n)
	return n, err
}

// translateFile translates j.in into j.out through the partial file,
// continuing at j.resume, and reports translated lines to progress.
func translateFile(ctx context.Context, tr *translate.Translator, j *fileJob, settings string, force bool, progress func(int64)) error {
	if err := ctx.Err(); err != nil {
		return err
	}
	partial, ckpt := j.out+partialExt, j.out+checkpointExt
	if err := os.MkdirAll(filepath.Dir(j.out), 0o755); err != nil {
		return err
	}
	in, err := os.Open(j.in)
	if err != nil {
		return err
	}
	defer in.Close()
	br := bufio.NewReaderSize(in, 64<<10)
	state := j.resume
	var f *os.File
	if state.Lines > 0 {
		if f, err = os.OpenFile(partial, os.O_WRONLY, 0o644); err != nil {
			return err
		}
		if err = f.Truncate(state.Bytes); err == nil {
			_, err = f.Seek(state.Bytes, io.SeekStart)
		}
		if err == nil {
			var n int
			if n, err = lines.NewReader(br).Skip(int(state.Lines)); err == nil && int64(n) < state.Lines {
				err = fmt.Errorf("input has fewer lines than its checkpoint %s", ckpt)
			}
		}
		if err != nil {
			f.Close()
			return err
		}
	} else {
		// A stale checkpoint must not describe the new partial file.
		if err := os.Remove(ckpt); err != nil && !errors.Is(err, fs.ErrNotExist) {
			return err
		}
		if f, err = os.Create(partial); err != nil {
			return err
		}
	}
	defer f.Close()
	start := state
	cw := &countWriter{w: f}
	bw := bufio.NewWriterSize(cw, 64<<10)
	saved := time.Now()
	err = tr.TranslateStream(ctx, br, bw, translate.OnBatch(func(n int) error {
		if err := bw.Flush(); err != nil {
			return err
		}
		progress(start.Lines + int64(n) - state.Lines)
		state.Lines, state.Bytes = start.Lines+int64(n), start.Bytes+cw.n
		if time.Since(saved) < checkpointEvery {
			return nil
		}
		saved = time.Now()
		return saveCheckpoint(f, ckpt, state)
	}))
	if err != nil {
		if state.Lines > start.Lines {
			if cerr := saveCheckpoint(f, ckpt, state); cerr != nil {
				return fmt.Errorf("%w (and saving the checkpoint: %v)", err, cerr)
			}
		}
		return err
	}
	if err := bw.Flush(); err != nil {
		return err
	}
	if err := f.Sync(); err != nil {
		return err
	}
	if err := f.Close(); err != nil {
		return err
	}
	if _, err := os.Lstat(j.out); err == nil && !force {
		return fmt.Errorf("%s appeared while translating; the translation is kept in %s (rename it, or rerun with --force)", j.out, partial)
	}
	if err := os.Rename(partial, j.out); err != nil {
		return err
	}
	if err := os.Remove(ckpt); err != nil && !errors.Is(err, fs.ErrNotExist) {
		return err
	}
	return nil
}
