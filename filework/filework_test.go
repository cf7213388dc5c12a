package filework

import (
	"bufio"
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"sort"
	"strings"
	"sync"
	"syscall"
	"testing"

	"github.com/deen-mt/deen/internal/lines"
)

func write(t *testing.T, path, content string) {
	t.Helper()
	if err := os.MkdirAll(filepath.Dir(path), 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(path, []byte(content), 0o644); err != nil {
		t.Fatal(err)
	}
}

func TestCollectNaming(t *testing.T) {
	dir := t.TempDir()
	src := filepath.Join(dir, "src")
	for _, name := range []string{"a.de", "a.en", "b.txt", "sub/c.de", ".hidden/x.de", "sub/.y.de", "sub/c.en" + PartialSuffix, "sub/c.en" + CheckpointSuffix} {
		write(t, filepath.Join(src, name), "x\n")
	}
	if err := os.Symlink(filepath.Join(src, "a.de"), filepath.Join(src, "sub", "link.de")); err != nil {
		t.Fatal(err)
	}
	for _, c := range []struct {
		n    Naming
		want map[string]string
	}{
		{Naming{Suffix: ".en"}, map[string]string{"src/a.de": "src/a.en", "src/b.txt": "src/b.txt.en", "src/sub/c.de": "src/sub/c.en"}},
		{Naming{Suffix: ".eng"}, map[string]string{"src/a.de": "src/a.eng", "src/a.en": "src/a.en.eng", "src/b.txt": "src/b.txt.eng", "src/sub/c.de": "src/sub/c.eng"}},
		{Naming{OutDir: filepath.Join(dir, "o"), Suffix: ".en"}, map[string]string{"src/a.de": "o/a.en", "src/b.txt": "o/b.txt.en", "src/sub/c.de": "o/sub/c.en"}},
		// The output folder inside the tree is not an input.
		{Naming{OutDir: filepath.Join(src, "sub"), Suffix: ".x"}, map[string]string{"src/a.de": "src/sub/a.x", "src/a.en": "src/sub/a.en.x", "src/b.txt": "src/sub/b.txt.x"}},
	} {
		var skipped []string
		files, err := Collect([]string{src}, c.n, func(path string, err error) {
			skipped = append(skipped, fmt.Sprintf("%s: %v", strings.TrimPrefix(path, dir+"/"), err))
		})
		if err != nil {
			t.Fatal(err)
		}
		got := map[string]string{}
		for _, f := range files {
			rel := func(p string) string { r, _ := filepath.Rel(dir, p); return r }
			got[rel(f.In)] = rel(f.Out)
		}
		if fmt.Sprint(got) != fmt.Sprint(c.want) {
			t.Errorf("%+v: %v, want %v", c.n, got, c.want)
		}
		if want := "src/sub/link.de: " + ErrSymlink.Error(); c.n.OutDir != filepath.Join(src, "sub") && (len(skipped) != 1 || skipped[0] != want) {
			t.Errorf("%+v: skipped %q, want %q", c.n, skipped, want)
		}
	}
	for _, c := range []struct {
		n     Naming
		paths []string
		err   string
	}{
		{Naming{}, []string{src}, "empty suffix"},
		{Naming{Suffix: "/x"}, []string{src}, "path separator"},
		{Naming{Suffix: ".en"}, []string{filepath.Join(dir, "nope")}, "no such file or directory (check the PATH)"},
		{Naming{Suffix: ".en"}, []string{filepath.Join(src, "a.de"), filepath.Join(src, "a")}, "would both be translated to"},
		{Naming{OutDir: src, Suffix: ".de"}, []string{filepath.Join(src, "a.de")}, "overwritten by its own translation"},
	} {
		write(t, filepath.Join(src, "a"), "x\n")
		if _, err := Collect(c.paths, c.n, func(string, error) {}); err == nil || !strings.Contains(err.Error(), c.err) {
			t.Errorf("%+v %q: error %v, want %q", c.n, c.paths, err, c.err)
		}
	}
}

// lineTranslator "translates" a line by upper-casing it, keeping the
// line's ending and a leading byte-order mark of the file, and can stop
// after a number of lines as an interrupted run does.
type lineTranslator struct {
	mu      sync.Mutex
	stopAt  int64 // stop (context.Canceled) after this many lines of a call; 0 never
	batches int   // lines per done call
}

func (lt *lineTranslator) TranslateLines(ctx context.Context, r io.Reader, first int64, w io.Writer, done func(int64) error) error {
	lr := lines.NewReader(r)
	var n int64
	for {
		batch, err := lr.Next(lt.batches)
		for i, l := range batch {
			text := strings.ToUpper(l.Text)
			if first+n+int64(i) == 0 {
				text = strings.Replace(text, "\uFEFF", "\uFEFF«", 1)
			}
			if _, err := io.WriteString(w, text+l.EOL); err != nil {
				return err
			}
		}
		n += int64(len(batch))
		if len(batch) > 0 {
			if err := done(n); err != nil {
				return err
			}
		}
		if err == io.EOF {
			return nil
		}
		if err != nil {
			return err
		}
		lt.mu.Lock()
		stop := lt.stopAt > 0 && n >= lt.stopAt
		lt.mu.Unlock()
		if stop {
			return context.Canceled
		}
	}
}

// TestRunResumes interrupts a run, reruns it, and compares the outputs
// with an uninterrupted run; a checkpoint for other settings starts over.
func TestRunResumes(t *testing.T) {
	var big strings.Builder
	big.WriteString("\uFEFF")
	for i := range 500 {
		fmt.Fprintf(&big, "zeile %d\r\n", i)
	}
	inputs := map[string]string{"big.de": big.String() + "ende", "small.de": "a\n\nb\n", "empty.de": ""}
	mk := func() string {
		d := t.TempDir()
		for name, content := range inputs {
			write(t, filepath.Join(d, name), content)
		}
		return d
	}
	run := func(d, settings string, tr Translator) ([]*File, []error) {
		files, err := Collect([]string{d}, Naming{Suffix: ".en"}, func(p string, err error) { t.Errorf("%s: %v", p, err) })
		if err != nil {
			t.Fatal(err)
		}
		var todo []*File
		for _, f := range files {
			if !f.Exists() {
				if err := f.Check(settings, false); err != nil {
					t.Fatal(err)
				}
				todo = append(todo, f)
			}
		}
		return todo, Run(context.Background(), todo, tr, Jobs(2))
	}
	ref := mk()
	if _, errs := run(ref, "s", &lineTranslator{batches: 7}); errors.Join(errs...) != nil {
		t.Fatal(errs)
	}
	if got := readAll(t, filepath.Join(ref, "big.en")); !strings.HasPrefix(got, "\uFEFF«ZEILE 0\r\n") || !strings.HasSuffix(got, "ZEILE 499\r\nENDE") {
		t.Fatalf("reference output %q…", got[:40])
	}

	d := mk()
	_, errs := run(d, "s", &lineTranslator{batches: 7, stopAt: 300})
	if n := countErrs(errs, context.Canceled); n != 1 {
		t.Fatalf("interrupted run: %v; want the big file interrupted", errs)
	}
	// The checkpoint is written when interrupted; a rerun with the same
	// settings continues after line 301 (300 lines were done).
	todo, errs := run(d, "s", &lineTranslator{batches: 5})
	if errors.Join(errs...) != nil || len(todo) != 1 || todo[0].Done != 301 || todo[0].Lines != 501 {
		t.Fatalf("resumed run: %v, files %+v", errs, todo)
	}
	for name := range inputs {
		out := strings.TrimSuffix(name, ".de") + ".en"
		if got, want := readAll(t, filepath.Join(d, out)), readAll(t, filepath.Join(ref, out)); got != want {
			t.Fatalf("%s after resuming differs from the uninterrupted run", out)
		}
	}
	if left, _ := filepath.Glob(filepath.Join(d, "*deen-partial*")); len(left) > 0 {
		t.Fatalf("left behind: %q", left)
	}

	// Other settings: the partial output is not continued.
	d = mk()
	run(d, "s", &lineTranslator{batches: 7, stopAt: 300})
	todo, errs = run(d, "other", &lineTranslator{batches: 5})
	if errors.Join(errs...) != nil || len(todo) != 1 || todo[0].Done != 0 {
		t.Fatalf("other settings: %v, files %+v; want a fresh start", errs, todo)
	}
	if got, want := readAll(t, filepath.Join(d, "big.en")), readAll(t, filepath.Join(ref, "big.en")); got != want {
		t.Fatal("restarted output differs")
	}
}

func countErrs(errs []error, target error) int {
	n := 0
	for _, err := range errs {
		if errors.Is(err, target) {
			n++
		}
	}
	return n
}

func readAll(t *testing.T, path string) string {
	t.Helper()
	b, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	return string(b)
}

// TestCheckpointFullDisk saves a checkpoint on a full file system (a tiny
// tmpfs, mounted when the test runs as root): the save fails and leaves
// neither a temporary file nor a broken checkpoint.
func TestCheckpointFullDisk(t *testing.T) {
	if os.Geteuid() != 0 {
		t.Skip("needs root to mount a small tmpfs")
	}
	dir := t.TempDir()
	if out, err := exec.Command("mount", "-t", "tmpfs", "-o", "size=16k", "tmpfs", dir).CombinedOutput(); err != nil {
		t.Skipf("cannot mount a tmpfs (%v: %s)", err, out)
	}
	t.Cleanup(func() { exec.Command("umount", dir).Run() })
	partial, err := os.Create(filepath.Join(dir, "x.en"+PartialSuffix))
	if err != nil {
		t.Fatal(err)
	}
	defer partial.Close()
	ckpt := filepath.Join(dir, "x.en"+CheckpointSuffix)
	c := Checkpoint{Input: "x.de", Settings: strings.Repeat("s", 3000), Lines: 1, Bytes: 2}
	if err := saveCheckpoint(partial, ckpt, c); err != nil {
		t.Fatal(err)
	}
	// Fill the file system, then save a bigger checkpoint.
	fill, _ := os.Create(filepath.Join(dir, "fill"))
	bw := bufio.NewWriter(fill)
	for {
		if _, err := bw.Write(make([]byte, 4096)); err != nil {
			break
		}
		if err := bw.Flush(); err != nil {
			break
		}
	}
	fill.Close()
	c.Settings = strings.Repeat("s", 8000)
	err = saveCheckpoint(partial, ckpt, c)
	if !errors.Is(err, syscall.ENOSPC) {
		t.Fatalf("save on a full disk: %v, want ENOSPC", err)
	}
	entries, _ := os.ReadDir(dir)
	var names []string
	for _, e := range entries {
		names = append(names, e.Name())
	}
	sort.Strings(names)
	if want := []string{"fill", "x.en" + PartialSuffix, "x.en" + CheckpointSuffix}; fmt.Sprint(names) != fmt.Sprint(want) {
		t.Fatalf("files after the failed save: %q, want %q", names, want)
	}
	if got := readAll(t, ckpt); !strings.Contains(got, `"lines":1`) || strings.Count(got, "s") < 3000 || strings.Count(got, "s") > 3100 {
		t.Fatal("the previous checkpoint was damaged")
	}
}

// TestShardMerge splits one file into 3 parts (one interrupted and
// resumed), merges them and compares with the whole file's run; with more
// files than shards, the shards take disjoint files covering all.
func TestShardMerge(t *testing.T) {
	var text strings.Builder
	text.WriteString("\uFEFF")
	for i := range 100 {
		if i == 33 {
			text.WriteString("\uFEFF") // at part 1's start: not a byte-order mark
		}
		fmt.Fprintf(&text, "zeile %d\r\n", i)
	}
	text.WriteString("ende")
	ref, d := t.TempDir(), t.TempDir()
	for _, dir := range []string{ref, d} {
		write(t, filepath.Join(dir, "big.de"), text.String())
	}
	collect := func(dir string) []*File {
		files, err := Collect([]string{dir}, Naming{Suffix: ".en"}, func(p string, err error) { t.Errorf("%s: %v", p, err) })
		if err != nil {
			t.Fatal(err)
		}
		return files
	}
	run := func(files []*File, tr Translator) []error {
		for _, f := range files {
			if err := f.Check("s", false); err != nil {
				t.Fatal(err)
			}
		}
		return Run(context.Background(), files, tr)
	}
	if errs := run(collect(ref), &lineTranslator{batches: 7}); errors.Join(errs...) != nil {
		t.Fatal(errs)
	}
	for i := range 3 {
		part, err := Shard(collect(d), i, 3)
		if err != nil || len(part) != 1 {
			t.Fatalf("shard %d: %v, %d files", i, err, len(part))
		}
		if i == 1 {
			run(part, &lineTranslator{batches: 4, stopAt: 8})
			if part, _ = Shard(collect(d), i, 3); part[0].Exists() {
				t.Fatal("an interrupted part exists")
			}
		}
		if errs := run(part, &lineTranslator{batches: 5}); errors.Join(errs...) != nil {
			t.Fatal(errs)
		}
		if i == 1 && part[0].Done == 0 {
			t.Error("the interrupted part started over")
		}
		if files := collect(d); len(files) != 1 {
			t.Fatalf("parts were collected as inputs: %d files", len(files))
		}
	}
	f := collect(d)[0]
	if ok, err := Merge(f); !ok || err != nil {
		t.Fatalf("merge: %v, %v", ok, err)
	}
	if got, want := readAll(t, f.Out), readAll(t, filepath.Join(ref, "big.en")); got != want {
		t.Fatalf("merged parts differ from the whole:\n got %q\nwant %q", got, want)
	}
	if left, _ := filepath.Glob(filepath.Join(d, "*deen-*")); len(left) > 0 {
		t.Fatalf("left behind: %q", left)
	}
	// A missing part is named.
	os.Remove(f.Out)
	write(t, f.Out+".deen-part-0-of-2", "x")
	if ok, err := Merge(f); ok || err == nil || !strings.Contains(err.Error(), "parts 1 of 2 are missing") {
		t.Fatalf("merge with a part missing: %v, %v", ok, err)
	}

	// By file: 5 files over 2 shards.
	for i := range 5 {
		write(t, filepath.Join(d, "many", fmt.Sprintf("f%d.de", i)), "x\n")
	}
	seen := map[string]int{}
	for i := range 2 {
		files, _ := Shard(collect(filepath.Join(d, "many")), i, 2)
		for _, f := range files {
			seen[f.In]++
			if f.whole != nil {
				t.Fatal("a file was split although there are more files than shards")
			}
		}
	}
	if len(seen) != 5 {
		t.Fatalf("shards covered %d of 5 files", len(seen))
	}
	for in, n := range seen {
		if n != 1 {
			t.Fatalf("%s in %d shards", in, n)
		}
	}
	if _, err := Shard(nil, 2, 2); err == nil {
		t.Fatal("shard 2/2 accepted")
	}
}

func TestIsHTML(t *testing.T) {
	for name, want := range map[string]bool{"a.html": true, "b/C.HTM": true, "x.htm.de": false, "html": false, "a.xhtml": false} {
		if IsHTML(name) != want {
			t.Errorf("IsHTML(%q) = %v, want %v", name, !want, want)
		}
	}
}
