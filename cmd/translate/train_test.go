package main

import (
	"bytes"
	"context"
	"fmt"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"github.com/deen-mt/deen/marian"
	"github.com/deen-mt/deen/modelfile"
	"github.com/deen-mt/deen/translate"
)

// TestTrainAndEvalVerbs trains a tiny model for a few steps on a made-up
// corpus, then scores it with eval, through the verbs' entry points.
func TestTrainAndEvalVerbs(t *testing.T) {
	dir := t.TempDir()
	var de, en strings.Builder
	words := [][2]string{{"Hund", "dog"}, {"Katze", "cat"}, {"Haus", "house"}, {"Baum", "tree"}}
	for i := 0; i < 120; i++ {
		w := words[i%4]
		fmt.Fprintf(&de, "Das ist %s Nummer %d.\n", w[0], i)
		fmt.Fprintf(&en, "This is %s number %d.\n", w[1], i)
	}
	src, tgt := filepath.Join(dir, "t.de"), filepath.Join(dir, "t.en")
	os.WriteFile(src, []byte(de.String()), 0o644)
	os.WriteFile(tgt, []byte(en.String()), 0o644)
	out := filepath.Join(dir, "run")
	var stdout, stderr bytes.Buffer
	e := &env{stdin: strings.NewReader(""), stdout: &stdout, stderr: &stderr}
	args := []string{"--src", src, "--tgt", tgt, "--out", out, "--max-steps", "3", "--vocab", "80",
		"--d-model", "16", "--heads", "2", "--ffn", "32", "--enc-layers", "1", "--dec-layers", "1",
		"--batch-tokens", "400", "--dev-mod", "5", "--log-every", "1", "--beam", "1"}
	if code := runTrain(e, args); code != exitOK {
		t.Fatalf("train exit %d\n%s", code, stderr.String())
	}
	for _, want := range []string{"step 3 ", "wrote ", "BLEU = ", "chrF2 = "} {
		if !strings.Contains(stderr.String(), want) {
			t.Errorf("train log lacks %q:\n%s", want, stderr.String())
		}
	}
	model := filepath.Join(out, "model.deen")
	stdout.Reset()
	if code := runEval(e, []string{"--src", src, "--ref", tgt, "--model", model, "--beam", "2"}); code != exitOK {
		t.Fatalf("eval exit %d\n%s", code, stderr.String())
	}
	if !strings.HasPrefix(stdout.String(), "BLEU = ") || !strings.Contains(stdout.String(), "chrF2 = ") {
		t.Errorf("eval printed %q", stdout.String())
	}
	// A second run with a larger step budget resumes from the checkpoint.
	stderr.Reset()
	args[7] = "4"
	if code := runTrain(e, args); code != exitOK || !strings.Contains(stderr.String(), "resuming from") {
		t.Fatalf("resume exit %d\n%s", code, stderr.String())
	}
}

// TestTrainEvalUsage checks that missing or bad flags are usage errors.
func TestTrainEvalUsage(t *testing.T) {
	var stderr bytes.Buffer
	e := &env{stdin: strings.NewReader(""), stdout: &bytes.Buffer{}, stderr: &stderr}
	for _, c := range []struct {
		run  func(*env, []string) int
		args []string
	}{
		{runTrain, nil},
		{runTrain, []string{"--src", "a", "--tgt", "b"}},
		{runTrain, []string{"--src", "a", "--tgt", "b", "--out", "c", "--d-model", "30", "--heads", "4"}},
		{runTrain, []string{"--bogus"}},
		{runEval, []string{"--src", "a"}},
		{runEval, []string{"--bogus"}},
	} {
		if code := c.run(e, c.args); code != exitUsage {
			t.Errorf("%v: exit %d, want %d", c.args, code, exitUsage)
		}
	}
	if code := runEval(e, []string{"--src", "/nonexistent.de", "--ref", "/nonexistent.en", "--model", "x"}); code != exitFailure {
		t.Errorf("eval of missing files: exit %d, want %d", code, exitFailure)
	}
}

// TestTranslatorOfEqualsLoad checks that a model in memory, streamed
// through the file format, translates as the same model loaded from a file.
func TestTranslatorOfEqualsLoad(t *testing.T) {
	m, err := marian.Load("../../testdata/oracle/tiny-marian-A")
	if err != nil {
		t.Fatal(err)
	}
	path := filepath.Join(t.TempDir(), "a.deen")
	if err := modelfile.WriteFile(path, m, modelfile.WriteOptions{}); err != nil {
		t.Fatal(err)
	}
	fromFile, err := translate.Load(path, translate.WithBeamSize(2))
	if err != nil {
		t.Fatal(err)
	}
	inMemory, err := translatorOf(m, translate.WithBeamSize(2))
	if err != nil {
		t.Fatal(err)
	}
	texts := []string{"Der Hund spielt im Garten.", "Wo ist der Bahnhof? Ich habe keine Zeit."}
	a, err := fromFile.TranslateBatch(context.Background(), texts)
	if err != nil {
		t.Fatal(err)
	}
	b, err := inMemory.TranslateBatch(context.Background(), texts)
	if err != nil {
		t.Fatal(err)
	}
	if !slices.Equal(a, b) || inMemory.Model().Parameters != fromFile.Model().Parameters {
		t.Fatalf("in memory %q, from the file %q", b, a)
	}
}
