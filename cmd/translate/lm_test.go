package main

import (
	"bytes"
	"fmt"
	"math"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"testing"

	"github.com/deen-mt/deen/bpe"
)

// TestLMVerbs trains a tiny language model with its own SentencePiece
// model (--spm) through "lm train", then scores, samples and computes the
// bigram baseline through the verbs' entry points.
func TestLMVerbs(t *testing.T) {
	dir := t.TempDir()
	var text strings.Builder
	animals := []string{"dog", "cat", "bird", "horse"}
	for i := 0; i < 150; i++ {
		fmt.Fprintf(&text, "The %s is %d years old.\n", animals[i%4], i%9)
	}
	textPath := filepath.Join(dir, "t.en")
	os.WriteFile(textPath, []byte(text.String()), 0o644)
	spm, err := bpe.Train(strings.Split(text.String(), "\n"), bpe.TrainConfig{VocabSize: 50})
	if err != nil {
		t.Fatal(err)
	}
	blobs, err := bpe.MarianBlobs(spm)
	if err != nil {
		t.Fatal(err)
	}
	spmPath := filepath.Join(dir, "t.spm")
	os.WriteFile(spmPath, blobs["target.spm"], 0o644)
	lm := filepath.Join(dir, "lm.deen")
	var stdout, stderr bytes.Buffer
	e := &env{stdin: strings.NewReader(""), stdout: &stdout, stderr: &stderr}
	args := []string{"train", "--text", textPath, "--spm", spmPath, "--out", lm, "--max-steps", "12", "--warmup", "2",
		"--d-model", "16", "--layers", "1", "--heads", "2", "--block-size", "24", "--batch-tokens", "150",
		"--dev-mod", "5", "--log-every", "4", "--dtype", "f32", "--replicas", "1"}
	if code := runLM(e, args); code != exitOK {
		t.Fatalf("lm train exit %d\n%s", code, stderr.String())
	}
	for _, want := range []string{"step 12 ", "ppl", "wrote " + lm} {
		if !strings.Contains(stderr.String(), want) {
			t.Errorf("lm train log lacks %q:\n%s", want, stderr.String())
		}
	}

	// score: one line per input line, tokens and perplexity consistent.
	stdout.Reset()
	stderr.Reset()
	e.stdin = strings.NewReader("The dog is 3 years old.\nThe cat is 5 years old.\n")
	if code := runLM(e, []string{"score", "--model", lm}); code != exitOK {
		t.Fatalf("lm score exit %d\n%s", code, stderr.String())
	}
	rows := strings.Split(strings.TrimSpace(stdout.String()), "\n")
	if len(rows) != 2 {
		t.Fatalf("lm score printed %q, want 2 lines", stdout.String())
	}
	for _, r := range rows {
		f := strings.Split(r, "\t")
		lp, _ := strconv.ParseFloat(f[0], 64)
		n, _ := strconv.Atoi(f[1])
		ppl, _ := strconv.ParseFloat(f[2], 64)
		if len(f) != 3 || n < 2 || lp >= 0 || math.Abs(math.Exp(-lp/float64(n))-ppl) > 1e-2*ppl {
			t.Errorf("score row %q is inconsistent", r)
		}
	}
	if !strings.Contains(stderr.String(), "2 lines") || !strings.Contains(stderr.String(), "perplexity") {
		t.Errorf("lm score stderr %q", stderr.String())
	}

	// A line longer than the model reads is an error naming it.
	stderr.Reset()
	e.stdin = strings.NewReader("The dog is 3 years old.\n" + strings.Repeat("The cat is old. ", 20) + "\n")
	if code := runLM(e, []string{"score", "--model", lm}); code != exitFailure || !strings.Contains(stderr.String(), "line 2 has") {
		t.Errorf("a too long line: exit %d, stderr %q", code, stderr.String())
	}

	// sample: the same seed gives the same text, and it starts with the prompt.
	sample := func(seed string) string {
		stdout.Reset()
		if code := runLM(e, []string{"sample", "--model", lm, "--prompt", "The dog", "--seed", seed, "--n", "2"}); code != exitOK {
			t.Fatalf("lm sample exit %d\n%s", code, stderr.String())
		}
		return stdout.String()
	}
	a, b := sample("7"), sample("7")
	if a != b || !strings.HasPrefix(a, "The dog") || strings.Count(a, "\n") != 2 {
		t.Errorf("samples with one seed: %q and %q", a, b)
	}

	// bigram baseline on the same tokenizer.
	stdout.Reset()
	if code := runLM(e, []string{"bigram", "--model", lm, "--train", textPath, "--test", textPath}); code != exitOK {
		t.Fatalf("lm bigram exit %d\n%s", code, stderr.String())
	}
	if !strings.Contains(stdout.String(), "perplexity") {
		t.Errorf("lm bigram printed %q", stdout.String())
	}
}

// TestLMUsage checks that missing or bad flags are usage errors and a
// missing model a failure, with a message.
func TestLMUsage(t *testing.T) {
	for _, c := range []struct {
		args []string
		code int
	}{
		{nil, exitUsage},
		{[]string{"fly"}, exitUsage},
		{[]string{"train", "--out", "x.deen"}, exitUsage},
		{[]string{"train", "--text", "a", "--out", "b", "--spm", "c", "--vocab-from", "d"}, exitUsage},
		{[]string{"score"}, exitFailure},
		{[]string{"sample", "--model", "nonexistent.deen"}, exitFailure},
		{[]string{"sample", "--temperature", "-1"}, exitUsage},
		{[]string{"bigram", "--model", "m"}, exitUsage},
	} {
		var stderr bytes.Buffer
		e := &env{stdin: strings.NewReader(""), stdout: &bytes.Buffer{}, stderr: &stderr}
		if code := runLM(e, c.args); code != c.code || stderr.Len() == 0 {
			t.Errorf("lm %q: exit %d (want %d), stderr %q", c.args, code, c.code, stderr.String())
		}
	}
}

// TestLMTokenizerFromRunFolder takes the vocabulary of a translate train
// output folder (a model still in training), byte for byte, and names the
// folder when it is not one.
func TestLMTokenizerFromRunFolder(t *testing.T) {
	want, err := lmTokenizer("", "")
	if err != nil {
		t.Skip("no embedded model:", err)
	}
	dir := t.TempDir()
	for _, n := range []string{"source.spm", "target.spm", "vocab.json"} {
		if err := os.WriteFile(filepath.Join(dir, n), want[n], 0o644); err != nil {
			t.Fatal(err)
		}
	}
	got, err := lmTokenizer(dir, "")
	if err != nil {
		t.Fatal(err)
	}
	for _, n := range []string{"source.spm", "target.spm", "vocab.json"} {
		if !bytes.Equal(got[n], want[n]) {
			t.Errorf("%s differs from the folder's file", n)
		}
	}
	os.Remove(filepath.Join(dir, "vocab.json"))
	if _, err := lmTokenizer(dir, ""); err == nil || !strings.Contains(err.Error(), "not a translate train folder") {
		t.Errorf("a folder without vocab.json: err %v", err)
	}
	os.WriteFile(filepath.Join(dir, "vocab.json"), []byte("{"), 0o644)
	if _, err := lmTokenizer(dir, ""); err == nil || !strings.Contains(err.Error(), dir) {
		t.Errorf("a broken vocab.json: err %v", err)
	}
}
