package main

import (
	"bufio"
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"math"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"runtime"
	"slices"
	"strings"
	"sync"
	"testing"

	"github.com/deen-mt/deen/internal/defaultmodel"
	"github.com/deen-mt/deen/marian"
	"github.com/deen-mt/deen/modelfile"
)

// The CLI tests run the real binary, built once, on a model file converted
// from the oracle checkpoint tiny-marian-A, and compare with refs_A.json.

type cliBeamRef struct {
	IDs             []int32 `json:"ids"`
	Score           float64 `json:"score"`
	Text            string  `json:"text"`
	MinCandidateGap float64 `json:"min_candidate_gap"`
	NBest           []struct {
		IDs   []int32 `json:"ids"`
		Score float64 `json:"score"`
	} `json:"nbest"`
}

type cliRefs struct {
	Meta struct {
		MaxNewTokens int `json:"max_new_tokens"`
	} `json:"meta"`
	Sentences []struct {
		SourceText string  `json:"source_text"`
		InputIDs   []int32 `json:"input_ids"`
		Greedy     struct {
			IDs           []int32 `json:"ids"`
			MinTop2Margin float64 `json:"min_top2_margin"`
		} `json:"greedy"`
		Beam4 cliBeamRef `json:"beam4_lp1.0"`
		Beam5 cliBeamRef `json:"beam5_lp0.6"`
	} `json:"sentences"`
}

var fixture struct {
	once            sync.Once
	bin, model, dir string
	refs            cliRefs
	err             error
}

// setup builds the binary and the model file once for all tests.
func setup(t testing.TB) (bin, model string, refs *cliRefs) {
	t.Helper()
	if testing.Short() {
		t.Skip("builds the binary")
	}
	fixture.once.Do(func() {
		fixture.dir, fixture.err = os.MkdirTemp("", "translate-cli-")
		if fixture.err != nil {
			return
		}
		fixture.bin = filepath.Join(fixture.dir, "translate")
		out, err := exec.Command(goTool(), "build", "-o", fixture.bin, ".").CombinedOutput()
		if err != nil {
			fixture.err = fmt.Errorf("go build: %v\n%s", err, out)
			return
		}
		m, err := marian.Load("../../testdata/oracle/tiny-marian-A")
		if err != nil {
			fixture.err = err
			return
		}
		fixture.model = filepath.Join(fixture.dir, "tiny-A.deen")
		if fixture.err = modelfile.WriteFile(fixture.model, m, modelfile.WriteOptions{}); fixture.err != nil {
			return
		}
		b, err := os.ReadFile("../../testdata/oracle/refs_A.json")
		if err != nil {
			fixture.err = err
			return
		}
		fixture.err = json.Unmarshal(b, &fixture.refs)
	})
	if fixture.err != nil {
		t.Fatal(fixture.err)
	}
	return fixture.bin, fixture.model, &fixture.refs
}

// goTool is the go command: on PATH, else the toolchain running the test.
func goTool() string {
	if goCmd, err := exec.LookPath("go"); err == nil {
		return goCmd
	}
	return filepath.Join(runtime.GOROOT(), "bin", "go")
}

func TestMain(m *testing.M) {
	code := m.Run()
	if fixture.dir != "" {
		os.RemoveAll(fixture.dir)
	}
	os.Exit(code)
}

// runBin runs the binary with stdin and returns stdout, stderr and the exit code.
func runBin(t *testing.T, bin, stdin string, args ...string) (string, string, int) {
	t.Helper()
	cmd := exec.Command(bin, args...)
	cmd.Stdin = strings.NewReader(stdin)
	var out, errb bytes.Buffer
	cmd.Stdout, cmd.Stderr = &out, &errb
	err := cmd.Run()
	code := 0
	var ee *exec.ExitError
	if errors.As(err, &ee) {
		code = ee.ExitCode()
	} else if err != nil {
		t.Fatal(err)
	}
	return out.String(), errb.String(), code
}

type cliLine struct {
	Text  string  `json:"text"`
	IDs   []int32 `json:"ids"`
	Score float64 `json:"score"`
	NBest []struct {
		IDs   []int32 `json:"ids"`
		Score float64 `json:"score"`
	} `json:"nbest"`
}

func parseJSONLines(t *testing.T, s string) []cliLine {
	t.Helper()
	var lines []cliLine
	sc := bufio.NewScanner(strings.NewReader(s))
	sc.Buffer(nil, 1<<20)
	for sc.Scan() {
		var l cliLine
		if err := json.Unmarshal(sc.Bytes(), &l); err != nil {
			t.Fatalf("bad JSON line %q: %v", sc.Text(), err)
		}
		lines = append(lines, l)
	}
	return lines
}

// refIDs strips the start token of a reference sequence.
func refIDs(ids []int32) []int32 { return ids[1:] }

// srcIDsInput is the --src-ids input of all reference sentences: one line
// of space-separated source ids each.
func srcIDsInput(refs *cliRefs) string {
	var in strings.Builder
	for _, s := range refs.Sentences {
		for j, id := range s.InputIDs {
			if j > 0 {
				in.WriteByte(' ')
			}
			fmt.Fprint(&in, id)
		}
		in.WriteByte('\n')
	}
	return in.String()
}

func TestCLIJSONSourceIDsMatchReferences(t *testing.T) {
	bin, model, refs := setup(t)
	in := srcIDsInput(refs)
	maxLen := fmt.Sprint(refs.Meta.MaxNewTokens)
	for _, c := range []struct {
		name string
		args []string
		ref  func(i int) (ids []int32, score float64, exact bool)
	}{
		{"greedy", []string{"--beam", "1"}, func(i int) ([]int32, float64, bool) {
			g := refs.Sentences[i].Greedy
			return refIDs(g.IDs), math.NaN(), g.MinTop2Margin >= 1e-4
		}},
		// Half-float weights move the logits by about 1e-3: ids exact where the margin is wide.
		{"greedy f16", []string{"--beam", "1", "--weights", "f16"}, func(i int) ([]int32, float64, bool) {
			g := refs.Sentences[i].Greedy
			return refIDs(g.IDs), math.NaN(), g.MinTop2Margin >= 0.05
		}},
		{"beam4 lp1.0", []string{"--beam", "4", "--length-penalty", "1"}, func(i int) ([]int32, float64, bool) {
			b := refs.Sentences[i].Beam4
			return refIDs(b.IDs), b.Score, b.MinCandidateGap >= 1e-4
		}},
		{"beam5 lp0.6", []string{"--beam", "5", "--length-penalty", "0.6", "--nbest"}, func(i int) ([]int32, float64, bool) {
			b := refs.Sentences[i].Beam5
			return refIDs(b.IDs), b.Score, b.MinCandidateGap >= 1e-4
		}},
	} {
		// An explicit --max-len replaces the length guard, as for parity checks.
		args := append([]string{"--model", model, "--json", "--src-ids", "--max-len", maxLen}, c.args...)
		stdout, stderr, code := runBin(t, bin, in, args...)
		if code != 0 {
			t.Fatalf("%s: exit %d: %s", c.name, code, stderr)
		}
		lines := parseJSONLines(t, stdout)
		if len(lines) != len(refs.Sentences) {
			t.Fatalf("%s: %d output lines for %d inputs", c.name, len(lines), len(refs.Sentences))
		}
		for i, l := range lines {
			ids, score, exact := c.ref(i)
			if exact && !slices.Equal(l.IDs, ids) {
				t.Errorf("%s sentence %d: ids %v, want %v", c.name, i, l.IDs, ids)
			}
			if !math.IsNaN(score) && math.Abs(l.Score-score) > 5e-4 {
				t.Errorf("%s sentence %d: score %v, want %v", c.name, i, l.Score, score)
			}
			if want := strings.TrimSpace(strings.ReplaceAll(refsText(refs, c.name, i), "▁", " ")); exact && want != "" && l.Text != want {
				t.Errorf("%s sentence %d: text %q, want %q", c.name, i, l.Text, want)
			}
			if c.name == "beam5 lp0.6" {
				ref := refs.Sentences[i].Beam5.NBest
				if len(l.NBest) != len(ref) {
					t.Fatalf("%s sentence %d: %d n-best entries, want %d", c.name, i, len(l.NBest), len(ref))
				}
				for j, h := range l.NBest {
					if (exact && !slices.Equal(h.IDs, refIDs(ref[j].IDs))) || math.Abs(h.Score-ref[j].Score) > 5e-4 {
						t.Errorf("%s sentence %d n-best %d: %v %v, want %v %v", c.name, i, j, h.IDs, h.Score, refIDs(ref[j].IDs), ref[j].Score)
					}
				}
			}
		}
	}
}

// refsText is the reference text of a beam setting ("" for greedy, whose
// text the other settings already cover).
func refsText(refs *cliRefs, name string, i int) string {
	switch name {
	case "beam4 lp1.0":
		return refs.Sentences[i].Beam4.Text
	case "beam5 lp0.6":
		return refs.Sentences[i].Beam5.Text
	}
	return ""
}

func TestCLITextModes(t *testing.T) {
	bin, model, refs := setup(t)
	// The model's defaults are beam 4, length penalty 1; the reference
	// texts are made with 32 new tokens and no guard.
	common := []string{"--model", model, "--max-len", fmt.Sprint(refs.Meta.MaxNewTokens), "--max-len-ratio", "0"}
	want := func(i int) string {
		return strings.TrimSpace(strings.ReplaceAll(refs.Sentences[i].Beam4.Text, "▁", " "))
	}
	s0, s4 := refs.Sentences[0], refs.Sentences[4]
	// Arguments.
	stdout, stderr, code := runBin(t, bin, "", append(common, s4.SourceText)...)
	if code != 0 || stdout != want(4)+"\n" {
		t.Fatalf("args: exit %d, stdout %q, want %q; stderr %s", code, stdout, want(4)+"\n", stderr)
	}
	// Stdin line by line, empty lines kept.
	stdout, stderr, code = runBin(t, bin, s0.SourceText+"\n\n"+s4.SourceText+"\n", common...)
	if wantOut := want(0) + "\n\n" + want(4) + "\n"; code != 0 || stdout != wantOut {
		t.Fatalf("stdin: exit %d, stdout %q, want %q; stderr %s", code, stdout, wantOut, stderr)
	}
	// JSON from text.
	stdout, stderr, code = runBin(t, bin, s0.SourceText+"\n"+s4.SourceText+"\n", append(common, "--json")...)
	lines := parseJSONLines(t, stdout)
	if code != 0 || len(lines) != 2 || lines[0].Text != want(0) || !slices.Equal(lines[1].IDs, refIDs(s4.Beam4.IDs)) {
		t.Fatalf("json: exit %d, %+v; stderr %s", code, lines, stderr)
	}
	// --json with TEXT arguments translates them, not stdin.
	if args, _, code := runBin(t, bin, "ignored\n", append(common, "--json", s0.SourceText)...); code != 0 || args != strings.SplitAfter(stdout, "\n")[0] {
		t.Fatalf("json with arguments: exit %d, %q, want %q", code, args, strings.SplitAfter(stdout, "\n")[0])
	}
	// A byte-order mark before the first line is not part of the text.
	if bom, stderr, code := runBin(t, bin, "\uFEFF"+s0.SourceText+"\n"+s4.SourceText+"\n", append(common, "--json")...); code != 0 || bom != stdout {
		t.Fatalf("json with a BOM: exit %d, %q, want %q; stderr %s", code, bom, stdout, stderr)
	}
}

func TestCLIErrors(t *testing.T) {
	bin, model, _ := setup(t)
	type errCase struct {
		name     string
		stdin    string
		args     []string
		code     int
		inStderr string
	}
	// Without --model the embedded default model is used; a build without one says so.
	noModel := errCase{"no model", "", []string{"Hallo"}, 1, "no default model is embedded in this build; pass --model FILE or see README"}
	if _, err := defaultmodel.Size(); err == nil {
		noModel = errCase{"default model", "", []string{"Hallo"}, 0, ""}
	}
	for _, c := range []errCase{
		noModel,
		{"bad flag", "", []string{"--bogus"}, 2, "flag provided but not defined"},
		{"bad beam", "", []string{"--model", model, "--beam", "0", "Hallo"}, 2, "beam size"},
		{"beam above the limit", "", []string{"--model", model, "--beam", "129", "Hallo"}, 2, "beam size 129: invalid option (want 1..128)"},
		{"negative sentence cache", "", []string{"--model", model, "--sentence-cache", "-1", "Hallo"}, 2, "sentence cache size -1: invalid option"},
		{"missing file", "", []string{"--model", filepath.Join(t.TempDir(), "none.deen"), "Hallo"}, 1, "none.deen: no such file or directory (check the --model path)"},
		{"not a model", "", []string{"--model", "translate.go", "Hallo"}, 1, "translate.go"},
		{"bad ids", "5 x 0\n", []string{"--model", model, "--json", "--src-ids"}, 1, `line 1: "x" is not a token id`},
		{"id out of range", "99999999 0\n", []string{"--model", model, "--json", "--src-ids"}, 1, "id 99999999"},
		{"bad weights", "", []string{"--model", model, "--weights", "bf16", "Hallo"}, 2, `weight precision "bf16": want f32, f16 or int8`},
		{"nbest without json", "", []string{"--model", model, "--nbest"}, 2, "--nbest needs --json"},
		{"bad format", "", []string{"--model", model, "--format", "xml", "Hallo"}, 2, `--format "xml": want text or html`},
		{"bad warn-below", "", []string{"--model", model, "--warn-below", "2", "Hallo"}, 2, "--warn-below 2: want a confidence from 0 (off) to 1"},
		{"html with json", "", []string{"--model", model, "--format", "html", "--json", "Hallo"}, 2, "does not combine with --json"},
		{"missing glossary", "", []string{"--model", model, "--glossary", filepath.Join(t.TempDir(), "g.tsv"), "Hallo"}, 2, "g.tsv: no such file"},
		{"bad glossary", "", []string{"--model", model, "--glossary", "translate.go", "Hallo"}, 2, `translate.go: invalid option: glossary line 1: want "German<TAB>English"`},
	} {
		_, stderr, code := runBin(t, bin, c.stdin, c.args...)
		if code != c.code || !strings.Contains(stderr, c.inStderr) {
			t.Errorf("%s: exit %d, stderr %q; want exit %d and %q", c.name, code, stderr, c.code, c.inStderr)
		}
	}
}

func TestCLILengthGuard(t *testing.T) {
	bin, model, refs := setup(t)
	s := refs.Sentences[1] // greedy runs to the length limit
	var in strings.Builder
	for _, id := range s.InputIDs {
		fmt.Fprint(&in, id, " ")
	}
	want := refIDs(s.Greedy.IDs) // 32 tokens, the last the forced eos
	for _, c := range []struct {
		name  string
		args  []string
		limit int
	}{
		// The model's max_length is 512; the default guard allows 2·n+10.
		{"default guard", nil, 2*len(s.InputIDs) + 10},
		// An explicit ratio keeps the guard below --max-len: ceil(0.5·n).
		{"explicit ratio", []string{"--max-len", "32", "--max-len-ratio", "0.5", "--max-len-extra", "0"}, (len(s.InputIDs) + 1) / 2},
	} {
		args := append([]string{"--model", model, "--json", "--src-ids", "--beam", "1"}, c.args...)
		stdout, stderr, code := runBin(t, bin, in.String()+"\n", args...)
		lines := parseJSONLines(t, stdout)
		if code != 0 || len(lines) != 1 {
			t.Fatalf("%s: exit %d, %d lines; stderr %s", c.name, code, len(lines), stderr)
		}
		ids := lines[0].IDs
		if len(ids) == 0 || len(ids) > c.limit || ids[len(ids)-1] != 0 {
			t.Fatalf("%s: ids %v, want at most %d ending in eos", c.name, ids, c.limit)
		}
		// Greedy choices do not depend on the limit: the output is a prefix
		// of the reference's up to the forced end token.
		if n := min(len(ids), len(want)) - 1; !slices.Equal(ids[:n], want[:n]) {
			t.Fatalf("%s: ids %v, want a prefix of %v", c.name, ids, want)
		}
	}
}

func TestCLIJSONSplitsSentencesLikePlainMode(t *testing.T) {
	bin, model, refs := setup(t)
	common := []string{"--model", model, "--max-len", fmt.Sprint(refs.Meta.MaxNewTokens), "--max-len-ratio", "0"}
	s0, s4 := refs.Sentences[0], refs.Sentences[4]
	in := s0.SourceText + " " + s4.SourceText + "\n\n  " + s4.SourceText + "\n"
	plain, stderr, code := runBin(t, bin, in, common...)
	if code != 0 {
		t.Fatalf("plain: exit %d: %s", code, stderr)
	}
	stdout, stderr, code := runBin(t, bin, in, append(common, "--json", "--nbest")...)
	if code != 0 {
		t.Fatalf("json: exit %d: %s", code, stderr)
	}
	type sentence struct {
		Source string  `json:"source"`
		Text   string  `json:"text"`
		IDs    []int32 `json:"ids"`
		Score  float64 `json:"score"`
		NBest  []any   `json:"nbest"`
	}
	var got []string
	var lines []map[string]json.RawMessage
	for l := range strings.Lines(stdout) {
		var m map[string]json.RawMessage
		if err := json.Unmarshal([]byte(l), &m); err != nil {
			t.Fatalf("bad JSON line %q: %v", l, err)
		}
		var text string
		json.Unmarshal(m["text"], &text)
		got = append(got, text+"\n")
		lines = append(lines, m)
	}
	if strings.Join(got, "") != plain {
		t.Fatalf("json texts %q, plain output %q", got, plain)
	}
	sents := func(i int) []sentence {
		var s []sentence
		if err := json.Unmarshal(lines[i]["sentences"], &s); err != nil {
			t.Fatalf("line %d sentences: %v", i+1, err)
		}
		return s
	}
	// Two sentences: each with its source, ids and score; no top-level ids.
	two := sents(0)
	if len(two) != 2 || two[0].Source != s0.SourceText || two[1].Source != s4.SourceText || !slices.Equal(two[1].IDs, refIDs(s4.Beam4.IDs)) ||
		math.Abs(two[1].Score-s4.Beam4.Score) > 5e-4 || len(two[1].NBest) != 4 {
		t.Fatalf("two-sentence line: %+v", two)
	}
	if _, ok := lines[0]["ids"]; ok {
		t.Errorf("a line of two sentences has top-level ids: %s", lines[0]["ids"])
	}
	// An empty line and a one-sentence line keep ids and score at the top.
	if l := parseJSONLines(t, stdout); len(l[1].IDs) != 0 || l[1].IDs == nil || len(sents(1)) != 0 ||
		!slices.Equal(l[2].IDs, refIDs(s4.Beam4.IDs)) || l[2].Score != sents(2)[0].Score || len(l[2].NBest) != 4 {
		t.Fatalf("empty and one-sentence lines: %+v", l[1:])
	}
}

// spanLine is the part of a --json line TestCLIKeepsSpans reads.
type spanLine struct {
	Text      string `json:"text"`
	Sentences []struct {
		Confidence  *float32 `json:"confidence"`
		Passthrough bool     `json:"passthrough"`
		Repaired    []struct{ Kind, Span, How string }
	} `json:"sentences"`
}

// The random-weight model loses every span; the output still has them, the
// --json lines say which were repaired, --warn-below names the line, HTML
// keeps its tags, and a line that is not German passes through.
func TestCLIKeepsSpans(t *testing.T) {
	bin, model, _ := setup(t)
	common := []string{"--model", model, "--beam", "1", "--max-len", "8"}
	glossary := filepath.Join(t.TempDir(), "g.tsv")
	if err := os.WriteFile(glossary, []byte("Rechnung\tinvoice\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	in := "Die Rechnung vom 12.05.2026 kostet 1.150,00 Euro.\n😀😀\n"
	stdout, stderr, code := runBin(t, bin, in, append(common, "--json", "--glossary", glossary)...)
	var lines []spanLine
	for _, l := range strings.Split(strings.TrimSpace(stdout), "\n") {
		var x spanLine
		if err := json.Unmarshal([]byte(l), &x); err != nil {
			t.Fatalf("%v in %q", err, l)
		}
		lines = append(lines, x)
	}
	if code != 0 || len(lines) != 2 {
		t.Fatalf("exit %d, %q; stderr %s", code, stdout, stderr)
	}
	for _, want := range []string{"invoice", "12.05.2026", "1,150.00"} {
		if !strings.Contains(lines[0].Text, want) {
			t.Errorf("%q lost %q", lines[0].Text, want)
		}
	}
	s := lines[0].Sentences[0]
	if s.Confidence == nil || *s.Confidence < 0 || *s.Confidence > 1 || len(s.Repaired) == 0 {
		t.Errorf("sentence fields: %+v", s)
	}
	if p := lines[1]; p.Text != "😀😀" || !p.Sentences[0].Passthrough {
		t.Errorf("emoji line: %+v", p)
	}
	// Plain mode with --warn-below names the line.
	_, stderr, code = runBin(t, bin, "Hallo Welt.\nDie Rechnung vom 12.05.2026.\n", append(common, "--warn-below", "1")...)
	if code != 0 || !strings.Contains(stderr, "line 2: confidence") {
		t.Errorf("--warn-below: exit %d, stderr %q", code, stderr)
	}
	// HTML.
	doc := `<p>Lies den <a href="https://example.org/agb">Vertrag</a> bis zum Ende.</p>`
	stdout, stderr, code = runBin(t, bin, doc, append(common, "--format", "html")...)
	tags := regexp.MustCompile(`<[^>]*>`)
	if code != 0 || strings.Join(tags.FindAllString(stdout, -1), "") != strings.Join(tags.FindAllString(doc, -1), "") {
		t.Errorf("--format html: exit %d, %q; stderr %s", code, stdout, stderr)
	}
}

func TestCLISentenceCacheKeepsTheOutput(t *testing.T) {
	bin, model, refs := setup(t)
	s0, s4 := refs.Sentences[0].SourceText, refs.Sentences[4].SourceText
	in := strings.Repeat(s0+"\n"+s4+" "+s0+"\n\n", 5)
	common := []string{"--model", model, "--beam", "2", "--max-len", "12"}
	cached, stderr, code := runBin(t, bin, in, common...)
	if code != 0 {
		t.Fatalf("exit %d: %s", code, stderr)
	}
	plain, stderr, code := runBin(t, bin, in, append(common, "--sentence-cache", "0")...)
	if code != 0 || plain != cached || strings.Count(plain, "\n") != 15 {
		t.Fatalf("--sentence-cache 0: exit %d, %q; with the cache %q; stderr %s", code, plain, cached, stderr)
	}
}
