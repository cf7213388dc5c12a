package main

import (
	"bytes"
	"flag"
	"io"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"testing/iotest"
)

func TestParseFlagsAnywhere(t *testing.T) {
	for _, c := range []struct {
		args  []string
		beam  int
		model string
		quiet bool
		rest  []string
	}{
		{[]string{"Der Hund spielt.", "--beam", "1"}, 1, "", false, []string{"Der Hund spielt."}},
		{[]string{"a", "--quiet", "b", "--model=m", "c"}, 0, "m", true, []string{"a", "b", "c"}},
		{[]string{"--beam", "2", "a", "--", "--beam", "3", "-x"}, 2, "", false, []string{"a", "--beam", "3", "-x"}},
		{[]string{"-", "--model", "--", "b"}, 0, "--", false, []string{"-", "b"}}, // "--" as a flag's value
		{[]string{"--quiet", "--", "--"}, 0, "", true, []string{"--"}},
		{nil, 0, "", false, []string{}},
	} {
		fs := flag.NewFlagSet("t", flag.ContinueOnError)
		beam := fs.Int("beam", 0, "")
		model := fs.String("model", "", "")
		quiet := fs.Bool("quiet", false, "")
		if code, ok := parseFlags(fs, c.args); !ok {
			t.Fatalf("%q: exit %d", c.args, code)
		}
		if *beam != c.beam || *model != c.model || *quiet != c.quiet || !slices.Equal(fs.Args(), c.rest) {
			t.Errorf("%q: beam %d model %q quiet %v args %q; want %d %q %v %q", c.args, *beam, *model, *quiet, fs.Args(), c.beam, c.model, c.quiet, c.rest)
		}
	}
	fs := flag.NewFlagSet("t", flag.ContinueOnError)
	fs.SetOutput(&bytes.Buffer{})
	if code, ok := parseFlags(fs, []string{"text", "--bogus"}); ok || code != exitUsage {
		t.Errorf("unknown flag after text: ok %v exit %d, want a usage error", ok, code)
	}
}

// TestCLIFlagsAnywhere checks through the binary that flags after the text
// or the paths apply, and that "--" ends them.
func TestCLIFlagsAnywhere(t *testing.T) {
	bin, model, refs := setup(t)
	text := refs.Sentences[0].SourceText
	before, stderr, code := runBin(t, bin, "", append(append([]string{"--model", model}, fastFlags...), text)...)
	if code != 0 {
		t.Fatalf("flags first: exit %d: %s", code, stderr)
	}
	after, stderr, code := runBin(t, bin, "", append([]string{text, "--model", model}, fastFlags...)...)
	if code != 0 || after != before {
		t.Errorf("flags after the text: exit %d, %q, want %q; stderr %s", code, after, before, stderr)
	}
	// After "--" the flags are text: a longer input, another output.
	asText, stderr, code := runBin(t, bin, "", append([]string{"--model", model, "--max-len", "8", "--", text}, "--beam", "1")...)
	if code != 0 || asText == before {
		t.Errorf("after --: exit %d, %q (the flags should have been translated as text); stderr %s", code, asText, stderr)
	}

	dir := t.TempDir()
	in, out := filepath.Join(dir, "in"), filepath.Join(dir, "o5")
	writeFile(t, filepath.Join(in, "a.de"), text+"\n")
	if _, stderr, code := runBin(t, bin, "", append([]string{"files", in, "--out", out, "--quiet", "--model", model}, fastFlags...)...); code != 0 {
		t.Fatalf("files PATH --out DIR: exit %d: %s", code, stderr)
	}
	if got := readFile(t, filepath.Join(out, "a.en")); got != before {
		t.Errorf("files --out after the path wrote %q, want %q", got, before)
	}
}

// TestCLIMistypedCommand checks that a first word close to a verb, or
// naming a file, is a usage error, while German words and "--" translate.
func TestCLIMistypedCommand(t *testing.T) {
	bin, model, _ := setup(t)
	dir := t.TempDir()
	d1 := filepath.Join(dir, "d1")
	writeFile(t, filepath.Join(d1, "a.de"), "Hallo.\n")
	for _, c := range []struct {
		args     []string
		code     int
		inStderr string
	}{
		{[]string{"flies", d1}, exitUsage, `unknown command "flies"; did you mean "files"?`},
		{[]string{"tokenise"}, exitUsage, `did you mean "tokenize"?`},
		{[]string{"evl", "--src", "a"}, exitUsage, `did you mean "eval"?`},
		{[]string{d1, "--model", model}, exitUsage, `did you mean "files"? (translate files ` + d1 + ")"},
		{[]string{"--model", model, "--", "flies", d1}, exitOK, ""},
		{[]string{"Hallo", "--model", model}, exitOK, ""},
		{[]string{"Danke", "--model", model}, exitOK, ""},
		{[]string{"Danke.", "--model", model}, exitOK, ""},
		{[]string{"help", "nope"}, exitUsage, "help nope: no such command"},
	} {
		stdout, stderr, code := runBin(t, bin, "", c.args...)
		if code != c.code || !strings.Contains(stderr, c.inStderr) || (code == exitOK && stdout == "") {
			t.Errorf("%q: exit %d, stdout %q, stderr %q; want exit %d and %q", c.args, code, stdout, stderr, c.code, c.inStderr)
		}
	}
}

// TestCLIHelpVerb checks "translate help VERB" against "VERB --help".
func TestCLIHelpVerb(t *testing.T) {
	bin, _, _ := setup(t)
	for _, verb := range []string{"files", "eval", "train", "tokenize", "convert", "translate"} {
		_, want, code := runBin(t, bin, "", verb, "--help")
		if code != 0 || !strings.Contains(want, "usage:") {
			t.Fatalf("%s --help: exit %d, %q", verb, code, want)
		}
		if _, got, code := runBin(t, bin, "", "help", verb); code != 0 || got != want {
			t.Errorf("help %s: exit %d, %q, want %q", verb, code, got, want)
		}
	}
	if stdout, _, code := runBin(t, bin, "", "help"); code != 0 || !strings.Contains(stdout, "tokenize") {
		t.Errorf("help: exit %d, %q", code, stdout)
	}
}

// TestCLIEval checks eval's search flags (those of translate) and that
// --hyp never overwrites a file without --force, nor ever its inputs.
func TestCLIEval(t *testing.T) {
	bin, model, refs := setup(t)
	dir := t.TempDir()
	src, ref, hyp := filepath.Join(dir, "s.de"), filepath.Join(dir, "r.en"), filepath.Join(dir, "h.en")
	writeFile(t, src, refs.Sentences[0].SourceText+"\n"+refs.Sentences[4].SourceText+"\n")
	writeFile(t, ref, "The dog plays.\nThe cat sleeps.\n")
	base := append([]string{"eval", "--src", src, "--ref", ref, "--model", model, "--length-penalty", "0.6", "--no-repeat-ngram", "3"}, fastFlags...)
	for _, c := range []struct {
		name     string
		args     []string
		code     int
		inStderr string
	}{
		{"new hyp", []string{"--hyp", hyp}, exitOK, ""},
		{"existing hyp", []string{"--hyp", hyp}, exitFailure, "h.en exists; use --force"},
		{"existing hyp, --force", []string{"--hyp", hyp, "--force"}, exitOK, ""},
		{"hyp is --src", []string{"--hyp", src, "--force"}, exitUsage, "is the input " + src},
		{"hyp is --ref", []string{"--hyp", filepath.Join(dir, ".", "r.en")}, exitUsage, "is the input " + ref},
	} {
		stdout, stderr, code := runBin(t, bin, "", append(base, c.args...)...)
		if code != c.code || !strings.Contains(stderr, c.inStderr) || (code == exitOK && !strings.HasPrefix(stdout, "BLEU = ")) {
			t.Errorf("%s: exit %d, stdout %q, stderr %q; want exit %d and %q", c.name, code, stdout, stderr, c.code, c.inStderr)
		}
	}
	want := viaStdin(t, bin, model, readFile(t, src), "--length-penalty", "0.6", "--no-repeat-ngram", "3")
	if got := readFile(t, hyp); got != want {
		t.Errorf("--hyp holds %q, want the translations %q", got, want)
	}
	if got := readFile(t, src); !strings.HasPrefix(got, refs.Sentences[0].SourceText) {
		t.Errorf("--src was overwritten: %q", got)
	}
}

// TestCLIStdinRefusesNUL checks that stdin with a NUL byte is refused with
// the line number, after the lines before it are translated.
func TestCLIStdinRefusesNUL(t *testing.T) {
	bin, model, refs := setup(t)
	first := refs.Sentences[0].SourceText + "\n"
	for _, mode := range [][]string{nil, {"--json"}} {
		stdout, stderr, code := runBin(t, bin, first+"ab\x00c\nHallo\n", append(append([]string{"--model", model}, fastFlags...), mode...)...)
		if code != exitFailure || !strings.Contains(stderr, "reading line 2: NUL byte at byte 3 of the line") || strings.Count(stdout, "\n") != 1 {
			t.Errorf("%v: exit %d, stdout %q, stderr %q; want exit 1, one line, and line 2 named", mode, code, stdout, stderr)
		}
	}
	if _, stderr, code := runBin(t, bin, "\x00\x00\x00", "--model", model); code != exitFailure || !strings.Contains(stderr, "reading line 1: NUL byte") {
		t.Errorf("NUL-only input: exit %d, stderr %q", code, stderr)
	}
}

// TestTextInput checks that text without NUL passes through unchanged,
// whatever the read sizes.
func TestTextInput(t *testing.T) {
	in := "eins\r\nzwei\n\ndrei ohne Zeilenende"
	got, err := io.ReadAll(iotest.OneByteReader(newTextInput(iotest.HalfReader(strings.NewReader(in)))))
	if err != nil || string(got) != in {
		t.Errorf("got %q, %v; want %q", got, err, in)
	}
	got, err = io.ReadAll(newTextInput(strings.NewReader("a\nb\x00\nc\n")))
	if string(got) != "a\n" || err == nil {
		t.Errorf("got %q, %v; want the line before the NUL, then an error", got, err)
	}
}

// TestCLIFilesChecksFlagsFirst checks that files reports bad flags and a
// bad model even when every output exists (nothing to translate).
func TestCLIFilesChecksFlagsFirst(t *testing.T) {
	bin, model, _ := setup(t)
	dir := t.TempDir()
	in := filepath.Join(dir, "a.de")
	writeFile(t, in, "Hallo.\n")
	writeFile(t, filepath.Join(dir, "a.en"), "Hello.\n")
	for _, c := range []struct {
		args     []string
		code     int
		inStderr string
	}{
		{[]string{"--weights", "xx", "--model", model}, exitUsage, `weight precision "xx"`},
		{[]string{"--model", filepath.Join(dir, "none.deen")}, exitFailure, "check the --model path"},
		{[]string{"--beam", "0", "--model", model}, exitUsage, "beam size"},
	} {
		_, stderr, code := runBin(t, bin, "", append([]string{"files", in}, c.args...)...)
		if code != c.code || !strings.Contains(stderr, c.inStderr) {
			t.Errorf("%q: exit %d, stderr %q; want exit %d and %q", c.args, code, stderr, c.code, c.inStderr)
		}
	}
}
