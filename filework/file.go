package filework

import (
	"bufio"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"path/filepath"
	"strings"
	"time"

	"github.com/deen-mt/deen/internal/atomicfile"
	"github.com/deen-mt/deen/internal/lines"
	"github.com/deen-mt/deen/translate"
)

// The files beside an output while it is being written.
const (
	// PartialSuffix ends the name of the output being written (OUT.deen-partial).
	PartialSuffix = ".deen-partial"
	// CheckpointSuffix ends the name of its checkpoint (OUT.deen-partial.json).
	CheckpointSuffix = ".deen-partial.json"
)

// checkpointEvery is how often a running file's checkpoint is saved.
const checkpointEvery = time.Second

// Checkpoint is the content of OUT.deen-partial.json, as JSON: which input
// and settings the partial output belongs to and how far it got.
type Checkpoint struct {
	// Input is the input's path, InputSize its size and InputMtime its
	// modification time in nanoseconds since 1970, when the run started.
	Input      string `json:"input"`
	InputSize  int64  `json:"input_size"`
	InputMtime int64  `json:"input_mtime_ns"`
	// Settings names the model and search settings (File.Check's argument).
	Settings string `json:"settings"`
	// Lines is the number of input lines translated, Bytes the size of the
	// partial output holding their translation.
	Lines int64 `json:"lines"`
	Bytes int64 `json:"bytes"`
}

// File is one input file and where its translation goes.
type File struct {
	// In is the input's path, Out the output's.
	In, Out string
	// Lines is the number of lines of the input, and Done how many of them
	// a previous run translated already (the run continues after them);
	// both are set by Check.
	Lines, Done int64

	resume Checkpoint // where to continue; Lines 0 starts over
	// A part (Part) translates the input's lines from..to (set by Check)
	// into Out, which Merge appends to whole's output.
	whole       *File
	part, parts int
	from, to    int64
}

// Exists reports whether the output exists (for a part: its own output or
// the merged one).
func (f *File) Exists() bool {
	if f.whole != nil && f.whole.Exists() {
		return true
	}
	_, err := os.Lstat(f.Out)
	return err == nil
}

// Check reads the input (see Scan: it must be UTF-8 text unless
// replaceInvalid) and counts its lines, then looks for a previous run's
// partial output to continue: one whose checkpoint names the same input
// (path, size, modification time) and the same settings, a string naming
// the model and the search settings that the caller builds.
func (f *File) Check(settings string, replaceInvalid bool) error {
	n, err := Scan(f.In, replaceInvalid)
	if err != nil {
		return err
	}
	f.Lines = n
	if f.whole != nil {
		f.from, f.to = int64(f.part)*n/int64(f.parts), int64(f.part+1)*n/int64(f.parts)
		f.Lines = f.to - f.from
	}
	f.resume = f.loadCheckpoint(settings)
	f.Done = f.resume.Lines
	return nil
}

// loadCheckpoint returns where to continue f: its checkpoint when the
// input, the settings and the partial file still match it, else a fresh
// start.
func (f *File) loadCheckpoint(settings string) Checkpoint {
	fresh := Checkpoint{Input: f.In, Settings: settings}
	if st, err := os.Stat(f.In); err == nil {
		fresh.InputSize, fresh.InputMtime = st.Size(), st.ModTime().UnixNano()
	}
	b, err := os.ReadFile(f.Out + CheckpointSuffix)
	if err != nil {
		return fresh
	}
	var c Checkpoint
	if json.Unmarshal(b, &c) != nil || c.Input != fresh.Input || c.InputSize != fresh.InputSize ||
		c.InputMtime != fresh.InputMtime || c.Settings != settings || c.Lines < 0 || c.Lines > f.Lines || c.Bytes < 0 {
		return fresh
	}
	if st, err := os.Stat(f.Out + PartialSuffix); err != nil || st.Size() < c.Bytes {
		return fresh
	}
	return c
}

// saveCheckpoint syncs the partial file and records c atomically; a
// failed write (a full disk) leaves the previous checkpoint and no
// temporary file.
func saveCheckpoint(partial *os.File, path string, c Checkpoint) error {
	if err := partial.Sync(); err != nil {
		return err
	}
	return atomicfile.Write(path, "checkpoint", func(w io.Writer) error {
		return json.NewEncoder(w).Encode(c)
	})
}

// A Translator translates the lines of one file. Implementations must be
// safe for concurrent use: Run translates several files at once.
type Translator interface {
	// TranslateLines reads the input from r — the file's lines after its
	// first `first` lines, which are translated already — and writes their
	// translation to w: one output line per input line, in input order,
	// each with its input line's ending (LF, CRLF, none on a last line
	// without one), a byte-order mark at the start of the file kept, as
	// translate.Translator.TranslateStream does for the whole file. Each
	// time the output of more lines is complete in w it calls done with the
	// number of lines of r finished so far; an error from done stops it and
	// is returned. Errors name the failing lines of the whole file.
	TranslateLines(ctx context.Context, r io.Reader, first int64, w io.Writer, done func(lines int64) error) error
}

// HTMLTranslator is a Translator that can also translate a file's lines as
// one HTML document (tags kept, see translate.Translator.TranslateHTML):
// TranslateHTML reads all of r, writes the translation to w and returns the
// number of lines it read. Run uses it for the files IsHTML names.
type HTMLTranslator interface {
	TranslateHTML(ctx context.Context, r io.Reader, w io.Writer) (lines int64, err error)
}

// IsHTML reports whether a file is translated as HTML: its name ends in
// .html or .htm (any case).
func IsHTML(name string) bool {
	ext := strings.ToLower(filepath.Ext(name))
	return ext == ".html" || ext == ".htm"
}

// Local returns a Translator that translates with tr in this process; it is
// an HTMLTranslator too.
func Local(tr *translate.Translator) Translator { return local{tr} }

// local is Local's Translator.
type local struct{ tr *translate.Translator }

// TranslateLines streams r through the translator.
func (l local) TranslateLines(ctx context.Context, r io.Reader, first int64, w io.Writer, done func(int64) error) error {
	return l.tr.TranslateStream(ctx, r, w, translate.StartLine(int(first)),
		translate.OnBatch(func(n int) error { return done(int64(n)) }))
}

// TranslateHTML translates all of r as one HTML document (a byte-order
// mark at its start is kept out of the text and written back).
func (l local) TranslateHTML(ctx context.Context, r io.Reader, w io.Writer) (int64, error) {
	b, err := io.ReadAll(r)
	if err != nil {
		return 0, err
	}
	doc := string(b)
	n := int64(strings.Count(doc, "\n"))
	if doc != "" && !strings.HasSuffix(doc, "\n") {
		n++
	}
	bom := ""
	if rest, ok := strings.CutPrefix(doc, "\uFEFF"); ok {
		bom, doc = "\uFEFF", rest
	}
	out, err := l.tr.TranslateHTML(ctx, doc)
	if err != nil {
		return 0, err
	}
	_, err = io.WriteString(w, bom+out)
	return n, err
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

// translate translates f.In into f.Out through the partial file with tr,
// continuing after f.Done lines, and reports translated lines to progress.
// Unless force, an output that appeared meanwhile is not replaced.
func (f *File) translate(ctx context.Context, tr Translator, force bool, progress func(int64)) error {
	if err := ctx.Err(); err != nil {
		return err
	}
	partial, ckpt := f.Out+PartialSuffix, f.Out+CheckpointSuffix
	if err := os.MkdirAll(filepath.Dir(f.Out), 0o755); err != nil {
		return err
	}
	in, err := os.Open(f.In)
	if err != nil {
		return err
	}
	defer in.Close()
	br := bufio.NewReaderSize(in, 64<<10)
	state := f.resume
	var out *os.File
	if state.Lines > 0 {
		if out, err = os.OpenFile(partial, os.O_WRONLY, 0o644); err != nil {
			return err
		}
		if err = out.Truncate(state.Bytes); err == nil {
			_, err = out.Seek(state.Bytes, io.SeekStart)
		}
		if err != nil {
			out.Close()
			return err
		}
	} else {
		// A stale checkpoint must not describe the new partial file.
		if err := os.Remove(ckpt); err != nil && !errors.Is(err, fs.ErrNotExist) {
			return err
		}
		if out, err = os.Create(partial); err != nil {
			return err
		}
	}
	defer out.Close()
	var r io.Reader = br
	if skip := f.from + state.Lines; skip > 0 {
		if n, err := lines.NewReader(br).Skip(int(skip)); int64(n) < skip {
			return fmt.Errorf("input has %d lines, fewer than its checkpoint %s or part needs (%v)", n, ckpt, err)
		}
	}
	if f.whole != nil {
		r = &lineLimit{r: br, n: f.Lines - state.Lines}
	}
	start := state
	cw := &countWriter{w: out}
	bw := bufio.NewWriterSize(cw, 64<<10)
	saved := time.Now()
	done := func(n int64) error {
		if err := bw.Flush(); err != nil {
			return err
		}
		progress(start.Lines + n - state.Lines)
		state.Lines, state.Bytes = start.Lines+n, start.Bytes+cw.n
		if time.Since(saved) < checkpointEvery {
			return nil
		}
		saved = time.Now()
		return saveCheckpoint(out, ckpt, state)
	}
	if ht, ok := tr.(HTMLTranslator); ok && IsHTML(f.In) {
		var n int64
		if n, err = ht.TranslateHTML(ctx, r, bw); err == nil {
			err = done(n)
		}
	} else {
		err = tr.TranslateLines(ctx, r, f.from+start.Lines, bw, done)
	}
	if err != nil {
		if state.Lines > start.Lines {
			if cerr := saveCheckpoint(out, ckpt, state); cerr != nil {
				return fmt.Errorf("%w (and saving the checkpoint: %v)", err, cerr)
			}
		}
		return err
	}
	if err := bw.Flush(); err != nil {
		return err
	}
	if err := out.Sync(); err != nil {
		return err
	}
	if err := out.Close(); err != nil {
		return err
	}
	if f.Exists() && !force {
		return fmt.Errorf("%s appeared while translating; the translation is kept in %s (rename it, or rerun with --force)", f.Out, partial)
	}
	if err := os.Rename(partial, f.Out); err != nil {
		return err
	}
	if err := os.Remove(ckpt); err != nil && !errors.Is(err, fs.ErrNotExist) {
		return err
	}
	return nil
}
