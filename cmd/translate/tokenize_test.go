package main

import (
	"encoding/json"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"testing"

	"github.com/deen-mt/deen/internal/defaultmodel"
)

// tokVectors reads the one-line texts of the tokenizer vectors with their
// expected source.spm pieces and ids and Marian ids (produced by Google's
// SentencePiece, see testdata/oracle/NOTES.md).
func tokVectors(t *testing.T) (texts []string, pieces, spmIDs, marianIDs [][]string) {
	b, err := os.ReadFile("../../testdata/oracle/tokenizer_vectors.json")
	if err != nil {
		t.Fatal(err)
	}
	var f struct {
		Vectors []struct {
			Text   string `json:"text"`
			Source struct {
				Pieces    []string `json:"pieces"`
				IDs       []int    `json:"ids"`
				MarianIDs []int    `json:"marian_ids"`
			} `json:"source_spm"`
		} `json:"vectors"`
	}
	if err := json.Unmarshal(b, &f); err != nil {
		t.Fatal(err)
	}
	str := func(v []int) []string {
		out := make([]string, len(v))
		for i, x := range v {
			out[i] = strconv.Itoa(x)
		}
		return out
	}
	for _, v := range f.Vectors {
		if strings.ContainsAny(v.Text, "\n\r") {
			continue // one line in, one line out
		}
		texts = append(texts, v.Text)
		pieces = append(pieces, v.Source.Pieces)
		spmIDs = append(spmIDs, str(v.Source.IDs))
		marianIDs = append(marianIDs, str(v.Source.MarianIDs))
	}
	return texts, pieces, spmIDs, marianIDs
}

func joinLines(rows [][]string) string {
	var b strings.Builder
	for _, r := range rows {
		b.WriteString(strings.Join(r, " ") + "\n")
	}
	return b.String()
}

// TestTokenizeSPM checks the tokenize verb with --spm against the vectors,
// both directions.
func TestTokenizeSPM(t *testing.T) {
	bin, _, _ := setup(t)
	spm := "../../testdata/oracle/tiny-marian-A/source.spm"
	texts, pieces, ids, _ := tokVectors(t)
	in := strings.Join(texts, "\n") + "\n"
	if out, errs, code := runBin(t, bin, in, "tokenize", "--spm", spm); code != 0 || out != joinLines(pieces) {
		t.Errorf("pieces: code %d %s\n%s\nwant\n%s", code, errs, out, joinLines(pieces))
	}
	if out, errs, code := runBin(t, bin, in, "tokenize", "--spm", spm, "--ids"); code != 0 || out != joinLines(ids) {
		t.Errorf("ids: code %d %s\n%s", code, errs, out)
	}
	// Decoding gives one line per line; spm_decode is the reference when
	// installed.
	for _, c := range []struct {
		format, in string
		args       []string
	}{{"id", joinLines(ids), []string{"--ids"}}, {"piece", joinLines(pieces), nil}} {
		out, errs, code := runBin(t, bin, c.in, append([]string{"tokenize", "--spm", spm, "--decode"}, c.args...)...)
		if code != 0 || strings.Count(out, "\n") != len(texts) {
			t.Fatalf("decode %s: code %d %s\n%s", c.format, code, errs, out)
		}
		if _, err := exec.LookPath("spm_decode"); err != nil {
			continue
		}
		cmd := exec.Command("spm_decode", "--model="+spm, "--input_format="+c.format)
		cmd.Stdin = strings.NewReader(c.in)
		want, err := cmd.Output()
		if err != nil || string(want) != out {
			t.Errorf("decode %s differs from spm_decode (%v):\n%s\nwant\n%s", c.format, err, out, want)
		}
	}
}

// TestTokenizeModel checks --model: source ids are the Marian ids (</s>
// appended) and target-side decoding drops the special ids.
func TestTokenizeModel(t *testing.T) {
	bin, model, _ := setup(t)
	texts, pieces, _, marianIDs := tokVectors(t)
	in := strings.Join(texts, "\n") + "\n"
	if out, errs, code := runBin(t, bin, in, "tokenize", "--model", model, "--ids"); code != 0 || out != joinLines(marianIDs) {
		t.Errorf("model ids: code %d %s\n%s\nwant\n%s", code, errs, out, joinLines(marianIDs))
	}
	if out, errs, code := runBin(t, bin, in, "tokenize", "--model", model); code != 0 || out != joinLines(pieces) {
		t.Errorf("model pieces: code %d %s\n%s", code, errs, out)
	}
	out, errs, code := runBin(t, bin, "0 1 15079\n\n", "tokenize", "--model", model, "--side", "tgt", "--ids", "--decode")
	if code != 0 || out != "\n\n" {
		t.Errorf("special ids decode to %q (code %d %s), want empty lines", out, code, errs)
	}
}

// TestTokenizeErrors checks usage and input errors.
func TestTokenizeErrors(t *testing.T) {
	bin, model, _ := setup(t)
	spm := "../../testdata/oracle/tiny-marian-A/source.spm"
	huge := filepath.Join(t.TempDir(), "huge.spm")
	f, err := os.Create(huge)
	if err != nil {
		t.Fatal(err)
	}
	if err := f.Truncate(50 << 30); err != nil { // sparse: read whole, it would exhaust memory
		t.Skipf("no sparse files here: %v", err)
	}
	f.Close()
	for _, c := range []struct {
		stdin string
		args  []string
		code  int
		want  string
	}{
		{"", []string{"tokenize", "--spm", spm, "--model", model}, exitUsage, "at most one of"},
		{"", []string{"tokenize", "--model", model, "--side", "de"}, exitUsage, "--side"},
		{"", []string{"tokenize", "--bogus"}, exitUsage, "bogus"},
		{"", []string{"tokenize", "--spm", "/nonexistent.spm"}, exitFailure, "nonexistent"},
		{"", []string{"tokenize", "--spm", "tokenize.go"}, exitFailure, "not a SentencePiece model"},
		{"", []string{"tokenize", "--spm", huge}, exitFailure, "more than a SentencePiece model (at most 64 MiB)"},
		{"1 2 99999 -3\n", []string{"tokenize", "--model", model, "--ids", "--decode"}, exitFailure, "line 1: bpe: id 99999 is out of range"},
		{"1 2 -3\n", []string{"tokenize", "--model", model, "--ids", "--decode", "--side", "tgt"}, exitFailure, "line 1: bpe: id -3 is out of range"},
		{"1 x\n", []string{"tokenize", "--spm", spm, "--ids", "--decode"}, exitFailure, "line 1"},
		{"5 99999\n", []string{"tokenize", "--spm", spm, "--ids", "--decode"}, exitFailure, "invalid id"},
		{"ok\nGr\xf6\xdfe\n", []string{"tokenize", "--model", model}, exitFailure, "line 2: bpe: input is not valid UTF-8"},
	} {
		_, errs, code := runBin(t, bin, c.stdin, c.args...)
		if code != c.code || !strings.Contains(errs, c.want) {
			t.Errorf("%v: code %d, stderr %q; want %d and %q", c.args, code, errs, c.code, c.want)
		}
	}
}

// TestTokenizeDefaultModel checks that without --spm or --model tokenize
// uses the embedded model's tokenizer.
func TestTokenizeDefaultModel(t *testing.T) {
	bin, _, _ := setup(t)
	if _, err := defaultmodel.Size(); err != nil {
		_, errs, code := runBin(t, bin, "Hallo\n", "tokenize")
		if code != exitFailure || !strings.Contains(errs, "pass --model FILE or --spm FILE") {
			t.Errorf("no embedded model: exit %d, %q", code, errs)
		}
		return
	}
	embedded := filepath.Join("..", "..", "internal", "defaultmodel", defaultmodel.Name)
	in := "Der Hund spielt im Garten.\nWo ist der Bahnhof?\n"
	for _, extra := range [][]string{nil, {"--ids"}, {"--side", "tgt", "--ids"}} {
		want, errs, code := runBin(t, bin, in, append([]string{"tokenize", "--model", embedded}, extra...)...)
		if code != 0 || strings.Count(want, "\n") != 2 {
			t.Fatalf("%v --model %s: exit %d, %q; %s", extra, embedded, code, want, errs)
		}
		if got, errs, code := runBin(t, bin, in, append([]string{"tokenize"}, extra...)...); code != 0 || got != want {
			t.Errorf("%v without --model: exit %d, %q, want %q; %s", extra, code, got, want, errs)
		}
	}
}
