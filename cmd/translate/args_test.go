package main

import (
	"bytes"
	"crypto/sha256"
	"flag"
	"fmt"
	"io"
	"os"
	"os/exec"
	"path"
	"path/filepath"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"testing"
	"testing/iotest"

	"github.com/deen-mt/deen/internal/defaultmodel"
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

// TestCLIVersion checks --version against what the go command reads from
// the binary (module version, VCS revision and time) and against the
// embedded model file.
func TestCLIVersion(t *testing.T) {
	bin, _, _ := setup(t)
	stdout, stderr, code := runBin(t, bin, "", "--version")
	if code != 0 {
		t.Fatalf("--version: exit %d: %s", code, stderr)
	}
	first, second, _ := strings.Cut(stdout, "\n")
	info, err := exec.Command(goTool(), "version", "-m", bin).Output()
	if err != nil {
		t.Fatal(err)
	}
	build := map[string]string{}
	for _, l := range strings.Split(string(info), "\n") {
		f := strings.Split(strings.TrimSpace(l), "\t")
		switch {
		case len(f) >= 3 && f[0] == "mod":
			build["version"] = f[2]
		case len(f) == 2 && f[0] == "build":
			k, v, _ := strings.Cut(f[1], "=")
			build[k] = v
		}
	}
	want := []string{"translate (deen) " + build["version"]}
	switch rev := build["vcs.revision"]; {
	case rev != "":
		want = append(want, "(revision "+rev[:12]+", "+build["vcs.time"])
	case build["version"] == "(devel)":
		want = append(want, "no version stamped")
	}
	for _, w := range want {
		if !strings.Contains(first, w) {
			t.Errorf("--version first line %q lacks %q (go version -m: %v)", first, w, build)
		}
	}
	wantModel := "default model: none embedded"
	if _, err := defaultmodel.Size(); err == nil {
		b, err := os.ReadFile(filepath.Join("..", "..", "internal", "defaultmodel", defaultmodel.Name))
		if err != nil {
			t.Fatal(err)
		}
		sum := sha256.Sum256(b)
		wantModel = fmt.Sprintf("default model: %s, %d bytes, sha256 %x", path.Base(defaultmodel.Name), len(b), sum[:6])
	}
	if !strings.HasPrefix(second, wantModel) {
		t.Errorf("--version second line %q, want %q", second, wantModel)
	}
}

// TestCLIProgressRate runs files on a terminal (script(1) provides one)
// and checks that no frame of the progress bar shows a rate far above the
// run's overall rate (its first frame used to show millions of lines/s).
func TestCLIProgressRate(t *testing.T) {
	bin, model, refs := setup(t)
	scriptCmd, err := exec.LookPath("script")
	if err != nil {
		t.Skip("script(1) (util-linux) is not installed: no terminal to draw the progress bar on")
	}
	dir := t.TempDir()
	in := filepath.Join(dir, "a.de")
	writeFile(t, in, strings.Join(germanLines(refs, 1500), "\n")+"\n")
	// The lines repeat 20 sentences: --sentence-cache 0 keeps the run long
	// enough to draw frames.
	cmdline := strings.Join([]string{bin, "files", "--sentence-cache", "0", "--model", model, "--beam", "1", "--max-len", "8", in}, "' '")
	out, err := exec.Command(scriptCmd, "-qfec", "'"+cmdline+"'", "/dev/null").CombinedOutput()
	if err != nil {
		t.Fatalf("%v: %s", err, out)
	}
	var overall float64
	if m := regexp.MustCompile(`lines in [0-9.]+s \(([0-9]+) lines/s\)`).FindSubmatch(out); m != nil {
		overall, _ = strconv.ParseFloat(string(m[1]), 64)
	} else {
		t.Fatalf("no summary line in %q", out)
	}
	frames := regexp.MustCompile(`\(([0-9]+)/[0-9]+, ([0-9]+) lines/s\)`).FindAllSubmatch(out, -1)
	if len(frames) == 0 {
		t.Fatalf("no progress bar frame in %q", out)
	}
	for _, f := range frames {
		if rate, _ := strconv.ParseFloat(string(f[2]), 64); rate > 20*max(overall, 1) {
			t.Errorf("a frame at %s lines shows %s lines/s; the run's rate was %.0f lines/s", f[1], f[2], overall)
		}
	}
}

// TestCLIRealFlagRanges checks that real-valued search flags outside their
// range are usage errors naming the value as typed, for every verb that
// translates.
func TestCLIRealFlagRanges(t *testing.T) {
	bin, model, _ := setup(t)
	in := filepath.Join(t.TempDir(), "a.de")
	writeFile(t, in, "Hallo.\n")
	for _, c := range []struct {
		args []string
		want string
	}{
		{[]string{"--length-penalty", "1e308", "Hallo"}, "--length-penalty 1e+308: want a number from -10 to 10"},
		{[]string{"--length-penalty", "NaN", "Hallo"}, "--length-penalty NaN: want a number"},
		{[]string{"--max-len-ratio", "-1", "Hallo"}, "--max-len-ratio -1: want a number from 0"},
		{[]string{"files", in, "--length-penalty", "-1e39"}, "--length-penalty -1e+39: want"},
	} {
		_, stderr, code := runBin(t, bin, "", append(c.args, "--model", model)...)
		if code != exitUsage || !strings.Contains(stderr, c.want) {
			t.Errorf("%q: exit %d, stderr %q; want exit 2 and %q", c.args, code, stderr, c.want)
		}
	}
	if _, stderr, code := runBin(t, bin, "", "--length-penalty", "-10", "--model", model, "Hallo"); code != 0 {
		t.Errorf("--length-penalty -10: exit %d, %s", code, stderr)
	}
}

// TestNotText checks which first words are taken for mistyped commands:
// typos of verbs and file names, but not short German words.
func TestNotText(t *testing.T) {
	for _, w := range []string{"flies", "fiels", "tokenise", "transalte", "evl", "hepl", "convret", "modles", "sevre", "."} {
		if _, ok := notText(w); !ok {
			t.Errorf("%q: taken for text, want a usage error", w)
		}
	}
	for _, w := range []string{"gut", "im", "am", "um", "ja", "nein", "danke", "bitte", "hallo", "heute", "schon", "gern", "klar",
		"los", "mal", "was", "wer", "wie", "wo", "und", "oder", "aber", "sehr", "viel", "geh", "sagen", "fein", "egal", "hell", "Files", "Hallo", "Danke.", "-"} {
		if msg, ok := notText(w); ok {
			t.Errorf("%q: %s; want it translated", w, msg)
		}
	}
}

// FuzzParseFlags checks on any argument list (lines of the input) that
// parseFlags never panics, that the arguments it leaves are the others in
// their order, and that a list without flags comes back unchanged.
func FuzzParseFlags(f *testing.F) {
	for _, s := range []string{"Der Hund spielt.\n--beam\n1", "a\n--quiet\nb\n--model=m\nc", "--\n--beam\n-x", "-\n--model\n--\nb", "--beam", "---x\n-5 Grad", ""} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		args := strings.Split(s, "\n")
		fs := flag.NewFlagSet("t", flag.ContinueOnError)
		fs.SetOutput(io.Discard)
		fs.Int("beam", 0, "")
		fs.String("model", "", "")
		fs.Bool("quiet", false, "")
		if _, ok := parseFlags(fs, args); !ok {
			return
		}
		rest := fs.Args()
		i := 0
		for _, a := range args {
			if i < len(rest) && a == rest[i] {
				i++
			}
		}
		if i != len(rest) {
			t.Fatalf("%q: arguments %q are not in the input's order", args, rest)
		}
		if !slices.ContainsFunc(args, func(a string) bool { return len(a) > 1 && a[0] == '-' }) && !slices.Equal(rest, args) {
			t.Fatalf("%q without flags gave %q", args, rest)
		}
	})
}
