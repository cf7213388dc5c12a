//go:build unix

package main

import (
	"bufio"
	"encoding/json"
	"flag"
	"fmt"
	"github.com/deen-mt/deen/filework"
	"github.com/deen-mt/deen/internal/defaultmodel"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strings"
	"syscall"
	"testing"
	"time"
)

// The files tests run the real binary on files in a temporary folder, with
// greedy search and at most 8 new tokens so they run fast; the expected
// output of each file is what the binary writes for it on stdin (whose text
// path is checked against the references in translate_test.go).

var fastFlags = []string{"--beam", "1", "--max-len", "8"}

// germanLines returns n lines made of the reference sentences, some with
// two sentences, some empty.
func germanLines(refs *cliRefs, n int) []string {
	out := make([]string, n)
	for i := range out {
		s := refs.Sentences[(i*7)%len(refs.Sentences)].SourceText
		switch i % 9 {
		case 4:
			s += " " + refs.Sentences[(i*3+1)%len(refs.Sentences)].SourceText
		case 8:
			s = ""
		}
		out[i] = s
	}
	return out
}

func writeFile(t testing.TB, path, content string) {
	t.Helper()
	if err := os.MkdirAll(filepath.Dir(path), 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(path, []byte(content), 0o644); err != nil {
		t.Fatal(err)
	}
}

func readFile(t *testing.T, path string) string {
	t.Helper()
	b, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	return string(b)
}

// viaStdin is the binary's stdin translation of content.
func viaStdin(t *testing.T, bin, model, content string, extra ...string) string {
	t.Helper()
	out, stderr, code := runBin(t, bin, content, append(append([]string{"--model", model}, fastFlags...), extra...)...)
	if code != 0 {
		t.Fatalf("stdin translation: exit %d: %s", code, stderr)
	}
	return out
}

// compareLines fails on the first differing line.
func compareLines(t *testing.T, what, got, want string) {
	t.Helper()
	if got == want {
		return
	}
	g, w := strings.SplitAfter(got, "\n"), strings.SplitAfter(want, "\n")
	for i := range max(len(g), len(w)) {
		if i >= len(g) || i >= len(w) || g[i] != w[i] {
			gl, wl := "<none>", "<none>"
			if i < len(g) {
				gl = g[i]
			}
			if i < len(w) {
				wl = w[i]
			}
			t.Fatalf("%s: line %d of %d/%d differs:\n got %q\nwant %q", what, i+1, len(g), len(w), gl, wl)
		}
	}
}

func TestFilesTreeSuffixAndOut(t *testing.T) {
	bin, model, refs := setup(t)
	dir := t.TempDir()
	src := filepath.Join(dir, "docs")
	lines := germanLines(refs, 40)
	inputs := map[string]string{
		"a.de":           strings.Join(lines, "\n") + "\n",
		"sub/b.txt":      "\uFEFF" + strings.Join(lines[:5], "\r\n") + "\r\n\r\n" + lines[6], // BOM, CRLF, no final line end
		"sub/deep/c.de":  "  " + lines[0] + "\n\t" + lines[1] + "  \n",                       // indentation kept
		"empty.de":       "",
		".hidden/x.de":   lines[0] + "\n",
		"sub/.secret.de": lines[0] + "\n",
	}
	for name, content := range inputs {
		writeFile(t, filepath.Join(src, name), content)
	}
	args := append(append([]string{"files", "--model", model}, fastFlags...), src)
	_, stderr, code := runBin(t, bin, "", args...)
	if code != 0 {
		t.Fatalf("files: exit %d: %s", code, stderr)
	}
	outs := map[string]string{"a.de": "a.en", "sub/b.txt": "sub/b.txt.en", "sub/deep/c.de": "sub/deep/c.en", "empty.de": "empty.en"}
	for in, out := range outs {
		compareLines(t, in, readFile(t, filepath.Join(src, out)), viaStdin(t, bin, model, inputs[in]))
	}
	if got := readFile(t, filepath.Join(src, "sub/b.txt.en")); !strings.HasPrefix(got, "\uFEFF") || strings.Count(got, "\r\n") != 6 || strings.HasSuffix(got, "\n") {
		t.Fatalf("BOM and CRLF not kept: %q", got)
	}
	if readFile(t, filepath.Join(src, "empty.en")) != "" {
		t.Fatal("empty input gave a non-empty output")
	}
	var all []string
	filepath.WalkDir(dir, func(p string, d os.DirEntry, err error) error {
		if err == nil && !d.IsDir() {
			all = append(all, p)
		}
		return nil
	})
	if len(all) != len(inputs)+len(outs) {
		t.Fatalf("files after the run: %q; want the %d inputs and %d outputs only (hidden ones untouched, no partial files)", all, len(inputs), len(outs))
	}

	// A rerun skips the finished outputs and rewrites nothing.
	before, _ := os.Stat(filepath.Join(src, "a.en"))
	_, stderr, code = runBin(t, bin, "", args...)
	if after, _ := os.Stat(filepath.Join(src, "a.en")); code != 0 || !strings.Contains(stderr, "skipped 4 file(s) whose output exists") || !after.ModTime().Equal(before.ModTime()) {
		t.Fatalf("rerun: exit %d, stderr %q; output rewritten: %v", code, stderr, !after.ModTime().Equal(before.ModTime()))
	}
	// --force translates again.
	writeFile(t, filepath.Join(src, "a.en"), "stale\n")
	_, stderr, code = runBin(t, bin, "", append([]string{"files", "--force", "--model", model, "--beam", "1", "--max-len", "8"}, filepath.Join(src, "a.de"))...)
	if code != 0 || readFile(t, filepath.Join(src, "a.en")) == "stale\n" {
		t.Fatalf("--force: exit %d, output not replaced; %s", code, stderr)
	}

	// --out mirrors the tree and names outputs by the suffix rule; the .en
	// outputs beside the inputs are this tool's outputs, not inputs.
	outDir := filepath.Join(dir, "english")
	_, stderr, code = runBin(t, bin, "", append(append([]string{"files", "--quiet", "--model", model, "--out", outDir}, fastFlags...), filepath.Join(src, "sub"), filepath.Join(src, "a.de"))...)
	if code != 0 || stderr != "" {
		t.Fatalf("--out --quiet: exit %d, stderr %q", code, stderr)
	}
	outs = map[string]string{"sub/b.txt": "b.txt.en", "sub/deep/c.de": "deep/c.en", "a.de": "a.en"}
	for in, out := range outs {
		compareLines(t, "--out "+in, readFile(t, filepath.Join(outDir, out)), viaStdin(t, bin, model, inputs[in]))
	}
	var got []string
	filepath.WalkDir(outDir, func(p string, d os.DirEntry, err error) error {
		if err == nil && !d.IsDir() {
			got = append(got, p)
		}
		return nil
	})
	if len(got) != len(outs) {
		t.Fatalf("--out wrote %q; want only the %d outputs of the inputs", got, len(outs))
	}

	// An output tree inside the input tree: a rerun in either mode never
	// takes the outputs as inputs.
	inner := filepath.Join(src, "en")
	for _, extra := range [][]string{{"--out", inner}, {"--out", inner}, nil} {
		_, stderr, code = runBin(t, bin, "", append(append(append([]string{"files", "--model", model}, fastFlags...), extra...), src)...)
		if code != 0 {
			t.Fatalf("%v: exit %d: %s", extra, code, stderr)
		}
	}
	if matches, _ := filepath.Glob(filepath.Join(inner, "*.en.en")); len(matches) > 0 {
		t.Fatalf("outputs were translated again as inputs: %q", matches)
	}
	if !strings.Contains(stderr, "nothing to translate") {
		t.Fatalf("rerun beside the inputs found work: %q", stderr)
	}
}

func TestFilesRefusals(t *testing.T) {
	bin, model, refs := setup(t)
	dir := t.TempDir()
	lines := germanLines(refs, 4)
	good := filepath.Join(dir, "good.de")
	writeFile(t, good, lines[0]+"\n")
	writeFile(t, filepath.Join(dir, "pic.png"), "\x89PNG\r\n\x1a\n\x00\x00\x00\rIHDR")
	latin := lines[0] + "\n" + lines[1] + "\nGr\xfc\xdfe aus M\xfcnchen.\n"
	writeFile(t, filepath.Join(dir, "latin.txt"), latin)
	base := append([]string{"files", "--model", model}, fastFlags...)
	_, stderr, code := runBin(t, bin, "", append(base, dir)...)
	if code != 1 || !strings.Contains(stderr, "pic.png looks binary (NUL byte at offset 8)") ||
		!strings.Contains(stderr, "latin.txt:3: invalid UTF-8 at byte") || !strings.Contains(stderr, "--replace-invalid") {
		t.Fatalf("exit %d, stderr %q; want exit 1 naming the binary file and the bad line", code, stderr)
	}
	if _, err := os.Stat(filepath.Join(dir, "good.en")); err != nil {
		t.Fatalf("the good file was not translated: %v", err)
	}
	if _, err := os.Stat(filepath.Join(dir, "latin.txt.en")); err == nil {
		t.Fatal("the invalid file was translated without --replace-invalid")
	}
	_, stderr, code = runBin(t, bin, "", append(base, "--replace-invalid", filepath.Join(dir, "latin.txt"))...)
	if code != 0 {
		t.Fatalf("--replace-invalid: exit %d: %s", code, stderr)
	}
	// The bad bytes are read as U+FFFD, as the stdin path does.
	compareLines(t, "replaced", readFile(t, filepath.Join(dir, "latin.txt.en")), viaStdin(t, bin, model, strings.ToValidUTF8(latin, "\uFFFD")))
}

func TestFilesUsage(t *testing.T) {
	bin, model, _ := setup(t)
	dir := t.TempDir()
	for _, c := range []struct {
		name     string
		args     []string
		code     int
		inStderr string
	}{
		{"no path", []string{"files", "--model", model}, 2, "no PATH given"},
		{"empty suffix", []string{"files", "--suffix", "", dir}, 2, `--suffix "": an empty suffix would make outputs overwrite their inputs`},
		{"bad flag", []string{"files", "--bogus", dir}, 2, "flag provided but not defined"},
		{"bad jobs", []string{"files", "--jobs", "0", dir}, 2, "--jobs 0"},
		{"slash suffix", []string{"files", "--suffix", "a/b", dir}, 2, "path separator"},
		{"missing path", []string{"files", "--model", model, filepath.Join(dir, "nope.de")}, 1, "nope.de: no such file or directory (check the PATH)"},
		{"help", []string{"files", "--help"}, 0, "examples:"},
	} {
		_, stderr, code := runBin(t, bin, "", c.args...)
		if code != c.code || !strings.Contains(stderr, c.inStderr) {
			t.Errorf("%s: exit %d, stderr %q; want exit %d and %q", c.name, code, stderr, c.code, c.inStderr)
		}
	}
	// Without --model the embedded default model translates; a build
	// without one says what to do.
	writeFile(t, filepath.Join(dir, "x.de"), "Hallo.\n")
	_, stderr, code := runBin(t, bin, "", "files", filepath.Join(dir, "x.de"))
	if _, err := defaultmodel.Size(); err == nil {
		if code != 0 {
			t.Errorf("default model: exit %d, stderr %q", code, stderr)
		}
	} else if code != 1 || !strings.Contains(stderr, "pass --model FILE") {
		t.Errorf("no model: exit %d, stderr %q", code, stderr)
	}
}

// TestFilesResumeAfterKill interrupts a batch run (SIGKILL, then SIGINT)
// in the middle of a big file, after a smaller one finished, resumes it,
// and compares every output with an uninterrupted run line by line.
func TestFilesResumeAfterKill(t *testing.T) {
	bin, model, refs := setup(t)
	lines := germanLines(refs, 1500)
	inputs := map[string]string{
		"a_mid.de":   strings.Join(lines[:150], "\n") + "\n",
		"b_big.de":   strings.Join(lines, "\n") + "\n",
		"c_small.de": strings.Join(lines[100:140], "\r\n"),
	}
	outs := []string{"a_mid.en", "b_big.en", "c_small.en"}
	mk := func() string {
		d := t.TempDir()
		for name, content := range inputs {
			writeFile(t, filepath.Join(d, name), content)
		}
		return d
	}
	// Two workers: the big file on one, the others on the second. The
	// lines repeat 20 sentences: --sentence-cache 0 keeps the run slow
	// enough to be interrupted midway.
	args := func(d string) []string {
		return append(append([]string{"files", "--jobs", "2", "--sentence-cache", "0", "--model", model}, fastFlags...), d)
	}
	ref := mk()
	if _, stderr, code := runBin(t, bin, "", args(ref)...); code != 0 {
		t.Fatalf("uninterrupted run: exit %d: %s", code, stderr)
	}
	exists := func(p string) bool { _, err := os.Stat(p); return err == nil }
	for _, sig := range []syscall.Signal{syscall.SIGKILL, syscall.SIGINT} {
		t.Run(sig.String(), func(t *testing.T) {
			d := mk()
			cmd := exec.Command(bin, args(d)...)
			var stderr strings.Builder
			cmd.Stderr = &stderr
			if err := cmd.Start(); err != nil {
				t.Fatal(err)
			}
			// Wait until a_mid is done and the big file has a checkpoint,
			// then interrupt.
			ckpt := filepath.Join(d, "b_big.en"+filework.CheckpointSuffix)
			deadline := time.Now().Add(2 * time.Minute)
			for {
				var c filework.Checkpoint
				if b, err := os.ReadFile(ckpt); err == nil && json.Unmarshal(b, &c) == nil && c.Lines > 0 && exists(filepath.Join(d, "a_mid.en")) {
					break
				}
				if time.Now().After(deadline) {
					cmd.Process.Kill()
					cmd.Wait()
					t.Fatalf("no checkpoint of the big file after 2 minutes; stderr %s", stderr.String())
				}
				time.Sleep(20 * time.Millisecond)
			}
			cmd.Process.Signal(sig)
			err := cmd.Wait()
			if exists(filepath.Join(d, "b_big.en")) {
				t.Fatal("the big file's output exists before it was finished")
			}
			finished := 0
			for _, out := range outs {
				if exists(filepath.Join(d, out)) {
					finished++
				}
			}
			code := cmd.ProcessState.ExitCode()
			if want := fmt.Sprintf("interrupted; %d of 3 file(s) finished, progress saved", finished); sig == syscall.SIGINT && (code != 1 || !strings.Contains(stderr.String(), want)) {
				t.Fatalf("after SIGINT: exit %d (%v), stderr %q; want exit 1 and %q", code, err, stderr.String(), want)
			}
			var c filework.Checkpoint
			json.Unmarshal([]byte(readFile(t, ckpt)), &c)
			_, stderr2, code := runBin(t, bin, "", args(d)...)
			if code != 0 {
				t.Fatalf("resumed run: exit %d: %s", code, stderr2)
			}
			for _, want := range []string{
				fmt.Sprintf("resuming %s at line %d of 1500", filepath.Join(d, "b_big.en"), c.Lines+1),
				fmt.Sprintf("skipped %d file(s)", finished),
			} {
				if !strings.Contains(stderr2, want) {
					t.Fatalf("resumed run's stderr %q; want %q", stderr2, want)
				}
			}
			for _, out := range outs {
				compareLines(t, out, readFile(t, filepath.Join(d, out)), readFile(t, filepath.Join(ref, out)))
			}
			leftovers, _ := filepath.Glob(filepath.Join(d, "*.deen-partial*"))
			if len(leftovers) > 0 {
				t.Fatalf("partial files left: %q", leftovers)
			}
		})
	}
}

// TestStdinInteractive types one line at a time and reads each
// translation before typing the next, in text and --json mode.
func TestStdinInteractive(t *testing.T) {
	bin, model, refs := setup(t)
	for _, mode := range [][]string{nil, {"--json"}} {
		cmd := exec.Command(bin, append(append([]string{"--model", model}, fastFlags...), mode...)...)
		stdin, err := cmd.StdinPipe()
		if err != nil {
			t.Fatal(err)
		}
		stdout, err := cmd.StdoutPipe()
		if err != nil {
			t.Fatal(err)
		}
		if err := cmd.Start(); err != nil {
			t.Fatal(err)
		}
		r := bufio.NewReader(stdout)
		for i := range 3 {
			fmt.Fprintln(stdin, refs.Sentences[i].SourceText)
			got := make(chan string, 1)
			go func() {
				line, _ := r.ReadString('\n')
				got <- line
			}()
			select {
			case line := <-got:
				want := strings.TrimSuffix(viaStdin(t, bin, model, refs.Sentences[i].SourceText+"\n", mode...), "\n")
				if strings.TrimSuffix(line, "\n") != want {
					t.Fatalf("%v line %d: %q, want %q", mode, i, line, want)
				}
			case <-time.After(time.Minute):
				cmd.Process.Kill()
				t.Fatalf("%v: no output for line %d while stdin stays open", mode, i)
			}
		}
		stdin.Close()
		if rest, _ := io.ReadAll(r); len(rest) > 0 || cmd.Wait() != nil {
			t.Fatalf("%v: extra output %q or failure at the end", mode, rest)
		}
	}
}

func TestVersionAndHelp(t *testing.T) {
	bin, _, _ := setup(t)
	stdout, _, code := runBin(t, bin, "", "--version")
	if code != 0 || !strings.HasPrefix(stdout, "translate (deen) ") || !strings.Contains(stdout, "default model:") {
		t.Fatalf("--version: exit %d, %q", code, stdout)
	}
	_, stderr, code := runBin(t, bin, "", "--help")
	if code != 0 || !strings.Contains(stderr, "examples:") || !strings.Contains(stderr, "translate files --out en/ docs/") || !strings.Contains(stderr, "exit codes") {
		t.Fatalf("--help: exit %d, %q", code, stderr)
	}
}

// TestFilesResumeCutsUncheckpointedTail plants a partial output whose tail
// (after the checkpointed bytes) is garbage, as a crash between two
// checkpoints leaves it: the rerun must cut the tail and continue at the
// checkpointed line. A checkpoint of a changed input is not used.
func TestFilesResumeCutsUncheckpointedTail(t *testing.T) {
	bin, model, refs := setup(t)
	d := t.TempDir()
	in, out := filepath.Join(d, "x.de"), filepath.Join(d, "x.en")
	writeFile(t, in, strings.Join(germanLines(refs, 100), "\n")+"\n")
	args := append(append([]string{"--model", model}, fastFlags...), in)
	want := viaStdin(t, bin, model, readFile(t, in))

	// The settings string the binary will compute for these flags.
	fs := flag.NewFlagSet("files", flag.ContinueOnError)
	mf := addModelFlags(fs)
	if err := fs.Parse(args[:len(args)-1]); err != nil {
		t.Fatal(err)
	}
	plant := func(lines int, tail string) filework.Checkpoint {
		head := strings.Join(strings.SplitAfter(want, "\n")[:lines], "")
		writeFile(t, out+filework.PartialSuffix, head+tail)
		st, err := os.Stat(in)
		if err != nil {
			t.Fatal(err)
		}
		c := filework.Checkpoint{Input: in, InputSize: st.Size(), InputMtime: st.ModTime().UnixNano(), Settings: mf.describe(), Lines: int64(lines), Bytes: int64(len(head))}
		b, _ := json.Marshal(c)
		writeFile(t, out+filework.CheckpointSuffix, string(b))
		return c
	}
	plant(37, "GARBAGE written after the last checkpoint\nmore")
	_, stderr, code := runBin(t, bin, "", append([]string{"files"}, args...)...)
	if code != 0 || !strings.Contains(stderr, "resuming "+out+" at line 38 of 100") {
		t.Fatalf("exit %d, stderr %q; want a resume at line 38", code, stderr)
	}
	compareLines(t, "resumed", readFile(t, out), want)

	// The input changed after the checkpoint: start over.
	os.Remove(out)
	c := plant(50, "")
	writeFile(t, out+filework.PartialSuffix, strings.Repeat("X", int(c.Bytes))) // would show if used
	later := time.Now().Add(time.Hour)
	if err := os.Chtimes(in, later, later); err != nil {
		t.Fatal(err)
	}
	_, stderr, code = runBin(t, bin, "", append([]string{"files"}, args...)...)
	if code != 0 || strings.Contains(stderr, "resuming") {
		t.Fatalf("changed input: exit %d, stderr %q; want a fresh start", code, stderr)
	}
	compareLines(t, "restarted", readFile(t, out), want)
}

// TestFilesUnreadableFolder runs the binary as an unprivileged user (root
// reads everything) on a tree with a folder it cannot read: the folder is
// named and skipped, the other files are translated, and the exit code is 1.
func TestFilesUnreadableFolder(t *testing.T) {
	bin, model, refs := setup(t)
	setpriv, err := exec.LookPath("setpriv")
	if err != nil || os.Geteuid() != 0 {
		t.Skipf("needs root and setpriv (util-linux) to run the binary as user 65534: setpriv %v, euid %d", err, os.Geteuid())
	}
	// A world-readable place for the binary, the model and the tree.
	dir := t.TempDir()
	for _, d := range []string{filepath.Dir(dir), dir} {
		if err := os.Chmod(d, 0o755); err != nil {
			t.Fatal(err)
		}
	}
	for _, f := range []string{bin, model} {
		b, err := os.ReadFile(f)
		if err != nil {
			t.Fatal(err)
		}
		writeFile(t, filepath.Join(dir, filepath.Base(f)), string(b))
	}
	os.Chmod(filepath.Join(dir, filepath.Base(bin)), 0o755)
	tree := filepath.Join(dir, "d")
	line := germanLines(refs, 1)[0] + "\n"
	for _, name := range []string{"ok.de", "sub/hidden.de", "z/also.de"} {
		writeFile(t, filepath.Join(tree, name), line)
	}
	filepath.WalkDir(tree, func(p string, _ os.DirEntry, _ error) error { return os.Chown(p, 65534, 65534) })
	if err := os.Chmod(filepath.Join(tree, "sub"), 0); err != nil {
		t.Fatal(err)
	}
	defer os.Chmod(filepath.Join(tree, "sub"), 0o755) // so the temp dir can be removed
	cmd := exec.Command(setpriv, append(append([]string{"--reuid=65534", "--regid=65534", "--clear-groups",
		filepath.Join(dir, filepath.Base(bin)), "files", "--model", filepath.Join(dir, filepath.Base(model))}, fastFlags...), tree)...)
	var stderr strings.Builder
	cmd.Stderr = &stderr
	err = cmd.Run()
	code := cmd.ProcessState.ExitCode()
	if code != 1 || !strings.Contains(stderr.String(), "skipped "+filepath.Join(tree, "sub")+": open "+filepath.Join(tree, "sub")+": permission denied") {
		t.Fatalf("exit %d (%v), stderr %q; want exit 1 naming the unreadable folder", code, err, stderr.String())
	}
	for _, out := range []string{"ok.en", "z/also.en"} {
		if _, err := os.Stat(filepath.Join(tree, out)); err != nil {
			t.Errorf("%s not translated beside the unreadable folder: %v", out, err)
		}
	}
}

// TestFilesSymlinks: links inside a tree are named and not followed (one
// points back up the tree: following it would loop); a link given as a
// PATH is followed.
func TestFilesSymlinks(t *testing.T) {
	bin, model, refs := setup(t)
	dir := t.TempDir()
	tree := filepath.Join(dir, "d")
	line := germanLines(refs, 1)[0] + "\n"
	writeFile(t, filepath.Join(tree, "a.de"), line)
	writeFile(t, filepath.Join(dir, "outside.de"), line)
	for link, target := range map[string]string{"loop": "..", "b.de": filepath.Join(dir, "outside.de")} {
		if err := os.Symlink(target, filepath.Join(tree, link)); err != nil {
			t.Fatal(err)
		}
	}
	args := append(append([]string{"files", "--model", model}, fastFlags...), tree)
	_, stderr, code := runBin(t, bin, "", args...)
	if code != 0 || !strings.Contains(stderr, "skipped "+filepath.Join(tree, "loop")+": symbolic link not followed") ||
		!strings.Contains(stderr, "skipped "+filepath.Join(tree, "b.de")+": symbolic link not followed") {
		t.Fatalf("exit %d, stderr %q; want exit 0 naming both links", code, stderr)
	}
	if _, err := os.Stat(filepath.Join(tree, "b.en")); err == nil {
		t.Fatal("a link inside the tree was translated")
	}
	_, stderr, code = runBin(t, bin, "", append(append([]string{"files", "--model", model}, fastFlags...), filepath.Join(tree, "b.de"))...)
	if _, err := os.Stat(filepath.Join(tree, "b.en")); code != 0 || err != nil {
		t.Fatalf("a link given as PATH: exit %d, %s, output %v", code, stderr, err)
	}
}

// .html and .htm files are translated as HTML documents: same tags, kept
// elements untouched, the same output as translate --format html.
func TestFilesHTML(t *testing.T) {
	bin, model, _ := setup(t)
	dir := t.TempDir()
	doc := "\uFEFF<html><body>\n<p>Lies den <a href=\"https://example.org/agb\">Vertrag</a> bis zum Ende.</p>\n<pre>Der Hund</pre>\n</body></html>\n"
	writeFile(t, filepath.Join(dir, "seite.html"), doc)
	writeFile(t, filepath.Join(dir, "alt.HTM"), doc)
	args := append(append([]string{"files", "--model", model}, fastFlags...), dir)
	if _, stderr, code := runBin(t, bin, "", args...); code != 0 {
		t.Fatalf("files: exit %d: %s", code, stderr)
	}
	want, stderr, code := runBin(t, bin, strings.TrimPrefix(doc, "\uFEFF"), append(append([]string{"--model", model}, fastFlags...), "--format", "html")...)
	if code != 0 {
		t.Fatalf("--format html: exit %d: %s", code, stderr)
	}
	tags := regexp.MustCompile(`<[^>]*>`)
	for _, out := range []string{"seite.html.en", "alt.HTM.en"} {
		got := readFile(t, filepath.Join(dir, out))
		if got != "\uFEFF"+want {
			t.Errorf("%s = %q, want %q (BOM kept)", out, got, "\uFEFF"+want)
		}
		if strings.Join(tags.FindAllString(got, -1), "") != strings.Join(tags.FindAllString(doc, -1), "") || !strings.Contains(got, "<pre>Der Hund</pre>") {
			t.Errorf("%s: tags or <pre> changed: %q", out, got)
		}
	}
}
