package main

import (
	"bytes"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"github.com/deen-mt/deen/hub/hubtest"
)

// fakeHub starts a fake hub serving the tiny test model as repo and points
// the binary at it (HF_ENDPOINT, no HF_TOKEN) with an empty model cache
// (DEEN_HOME), which it returns.
func fakeHub(t *testing.T, repo string) (fake *hubtest.Server, home string) {
	t.Helper()
	fake = hubtest.NewServer()
	t.Cleanup(fake.Close)
	if err := fake.AddDir(repo, "../../testdata/oracle/tiny-marian-A"); err != nil {
		t.Fatal(err)
	}
	home = t.TempDir()
	t.Setenv("DEEN_HOME", home)
	t.Setenv("HF_ENDPOINT", fake.URL)
	t.Setenv("HF_TOKEN", "")
	return fake, home
}

// TestCLIGetAndModels runs get, models, models rm and --model NAME through
// the real binary against a fake hub (HF_ENDPOINT) and a temporary cache
// (DEEN_HOME).
func TestCLIGetAndModels(t *testing.T) {
	bin, model, refs := setup(t)
	const repo = "test/tiny-marian-A"
	fake, home := fakeHub(t, repo)
	t.Setenv("DEEN_MODEL", "")
	run := func(stdin string, args ...string) (string, string, int) {
		t.Helper()
		return runBin(t, bin, stdin, args...)
	}

	// Before get: a clear error, and no network access.
	_, stderr, code := run("", "--model", repo, "Hallo")
	if want := `model "test/tiny-marian-A" is not downloaded: run translate get test/tiny-marian-A`; code != 1 || !strings.Contains(stderr, want) {
		t.Fatalf("before get: exit %d, %q; want %q", code, stderr, want)
	}
	if len(fake.Requests()) != 0 {
		t.Fatalf("--model NAME went to the network: %v", fake.Requests())
	}
	if stdout, _, code := run("", "models"); code != 0 || !strings.Contains(stdout, "no models downloaded yet (cache: "+filepath.Join(home, "models")) {
		t.Fatalf("models, empty: exit %d, %q", code, stdout)
	}

	// get: f32, so the cached model equals the fixture's bit for bit.
	stdout, stderr, code := run("", "get", repo, "--dtype", "f32")
	cached := filepath.Join(home, "models", "test--tiny-marian-A", "model.deen")
	if want := repo + ": " + repo + "@main (" + hubtest.Commit(repo)[:12] + "), f32, 1.1M parameters"; code != 0 || !strings.HasPrefix(stdout, want) || !strings.HasSuffix(stdout, cached+"\n") {
		t.Fatalf("get: exit %d, stdout %q, want %q...%s; stderr %s", code, stdout, want, cached, stderr)
	}
	if !strings.Contains(stderr, "converting test/tiny-marian-A") || strings.Contains(stderr, "\r") {
		t.Errorf("get notes (stderr is no terminal: no bar): %q", stderr)
	}
	requests := len(fake.Requests())

	// --model NAME translates exactly as the model file does, and as the
	// references say.
	in := srcIDsInput(refs)
	args := []string{"--json", "--src-ids", "--max-len", fmt.Sprint(refs.Meta.MaxNewTokens), "--beam", "4", "--length-penalty", "1"}
	byFile, stderr, code := run(in, append([]string{"--model", model}, args...)...)
	if code != 0 {
		t.Fatalf("--model FILE: exit %d, %s", code, stderr)
	}
	byName, stderr, code := run(in, append([]string{"--model", repo}, args...)...)
	if code != 0 || byName != byFile {
		t.Fatalf("--model NAME: exit %d, %s\noutput differs from the model file's:\n%s\n%s", code, stderr, byName, byFile)
	}
	lines := parseJSONLines(t, byName)
	for i, l := range lines {
		if b := refs.Sentences[i].Beam4; b.MinCandidateGap >= 1e-4 && !slices.Equal(l.IDs, refIDs(b.IDs)) {
			t.Errorf("sentence %d: ids %v, want %v", i, l.IDs, refIDs(b.IDs))
		}
	}
	// DEEN_MODEL sets the default model by name.
	t.Setenv("DEEN_MODEL", repo)
	if byEnv, stderr, code := run(in, args...); code != 0 || byEnv != byFile {
		t.Fatalf("DEEN_MODEL: exit %d, %s", code, stderr)
	}
	// files and eval take the name too.
	dir := t.TempDir()
	src := filepath.Join(dir, "a.de")
	os.WriteFile(src, []byte(refs.Sentences[0].SourceText+"\n"), 0o644)
	if _, stderr, code := run("", "files", "--model", repo, "--quiet", src); code != 0 {
		t.Fatalf("files --model NAME: exit %d, %s", code, stderr)
	}
	if _, err := os.Stat(filepath.Join(dir, "a.en")); err != nil {
		t.Errorf("files wrote no a.en: %v", err)
	}
	if _, stderr, code := run("", "eval", "--model", repo, "--src", src, "--ref", src, "--beam", "1"); code != 0 {
		t.Fatalf("eval --model NAME: exit %d, %s", code, stderr)
	}
	t.Setenv("DEEN_MODEL", "")
	if len(fake.Requests()) != requests {
		t.Errorf("translating went to the network")
	}

	// A second get finds it cached.
	if stdout, stderr, code := run("", "get", repo, "--dtype", "f32"); code != 0 || !strings.Contains(stderr, "already downloaded") || !strings.HasPrefix(stdout, repo+":") || len(fake.Requests()) != requests {
		t.Fatalf("second get: exit %d, %q %q, %d new requests", code, stdout, stderr, len(fake.Requests())-requests)
	}
	stdout, _, code = run("", "models")
	if code != 0 || !strings.Contains(stdout, "NAME") || !strings.Contains(stdout, "test/tiny-marian-A  ") || !strings.Contains(stdout, "f32") || !strings.Contains(stdout, "1.1M") || !strings.Contains(stdout, repo+"@main") {
		t.Fatalf("models: exit %d, %q", code, stdout)
	}
	// The default dtype, f16: greedy ids stay Hugging Face's wherever the
	// reference's smallest top-2 gap is at least 0.03 (docs/hub.md).
	if stdout, stderr, code := run("", "get", repo); code != 0 || !strings.Contains(stdout, ", f16, ") {
		t.Fatalf("get f16: exit %d, %q %q", code, stdout, stderr)
	}
	greedy, stderr, code := run(in, "--model", repo, "--json", "--src-ids", "--max-len", fmt.Sprint(refs.Meta.MaxNewTokens), "--beam", "1")
	if code != 0 {
		t.Fatalf("f16 greedy: exit %d, %s", code, stderr)
	}
	for i, l := range parseJSONLines(t, greedy) {
		if g := refs.Sentences[i].Greedy; g.MinTop2Margin >= 0.03 && !slices.Equal(l.IDs, refIDs(g.IDs)) {
			t.Errorf("f16 sentence %d (margin %.3f): ids %v, want %v", i, g.MinTop2Margin, l.IDs, refIDs(g.IDs))
		}
	}
	if stdout, stderr, code := run("", "models", "rm", repo); code != 0 || !strings.HasPrefix(stdout, "removed "+repo) {
		t.Fatalf("models rm: exit %d, %q %q", code, stdout, stderr)
	}
	if _, err := os.Stat(cached); !os.IsNotExist(err) {
		t.Errorf("models rm left %s", cached)
	}
	if _, stderr, code := run("", "models", "rm", repo); code != 1 || !strings.Contains(stderr, "not downloaded") {
		t.Errorf("models rm again: exit %d, %q", code, stderr)
	}
}

func TestCLIGetErrors(t *testing.T) {
	bin, _, _ := setup(t)
	fake, _ := fakeHub(t, "test/no-vocab")
	fake.RemoveFile("test/no-vocab", "vocab.json")
	t.Setenv("DEEN_MODEL", "")
	for _, c := range []struct {
		args []string
		code int
		want string
	}{
		{[]string{"get"}, 2, "usage: translate get NAME"},
		{[]string{"get", "a/b/c"}, 2, `"a/b/c" is not a model name`},
		{[]string{"get", "x/y", "--dtype", "bf16"}, 2, `--dtype "bf16"`},
		{[]string{"get", "test/none"}, 1, "the repository does not exist, or it is private or gated"},
		{[]string{"get", "test/no-vocab"}, 1, "test/no-vocab has no file vocab.json at revision main"},
		{[]string{"get", "wmt19-de-en"}, 1, `model_type "fsmt"`},
		{[]string{"--model", "wmt19-de-en", "Hallo"}, 1, "is not supported"},
		{[]string{"models", "extra"}, 2, "usage: translate models"},
	} {
		_, stderr, code := runBin(t, bin, "", c.args...)
		if code != c.code || !strings.Contains(stderr, c.want) {
			t.Errorf("%v: exit %d, %q; want exit %d and %q", c.args, code, stderr, c.code, c.want)
		}
	}
	// The failed get left an unfinished download: not listed, but removable.
	if stdout, _, code := runBin(t, bin, "", "models"); code != 0 || !strings.Contains(stdout, "no models downloaded yet") {
		t.Errorf("models after a failed get: exit %d, %q", code, stdout)
	}
	if stdout, stderr, code := runBin(t, bin, "", "models", "rm", "test/no-vocab"); code != 0 || stdout != "removed the unfinished download of test/no-vocab\n" {
		t.Errorf("models rm of an unfinished download: exit %d, %q %q", code, stdout, stderr)
	}
	t.Setenv("HF_ENDPOINT", "http://127.0.0.1:1")
	if _, stderr, code := runBin(t, bin, "", "get", "opus-mt-de-en"); code != 1 || !strings.Contains(stderr, "cannot reach http://127.0.0.1:1") {
		t.Errorf("offline: exit %d, %q", code, stderr)
	}
}

func TestCount(t *testing.T) {
	for n, want := range map[int64]string{23_456: "23.5k", 99_999: "100.0k", 100_000: "0.1M", 1_147_624: "1.1M", 74_410_496: "74.4M"} {
		if got := count(n); got != want {
			t.Errorf("count(%d) = %q, want %q", n, got, want)
		}
	}
}

// TestCLIGetConcurrent runs two get processes of one model at once: the
// lock file makes one wait, and the weights are downloaded once.
func TestCLIGetConcurrent(t *testing.T) {
	bin, _, _ := setup(t)
	const repo = "test/tiny-marian-A"
	fake, _ := fakeHub(t, repo)
	type result struct {
		stdout, stderr string
		code           int
	}
	results := make(chan result, 2)
	for range 2 {
		go func() {
			cmd := exec.Command(bin, "get", repo)
			var out, errb bytes.Buffer
			cmd.Stdout, cmd.Stderr = &out, &errb
			err := cmd.Run()
			code := 0
			if ee, ok := err.(*exec.ExitError); ok {
				code = ee.ExitCode()
			} else if err != nil {
				code = -1
			}
			results <- result{out.String(), errb.String(), code}
		}()
	}
	var outs []string
	for range 2 {
		r := <-results
		if r.code != 0 {
			t.Fatalf("get: exit %d, %s", r.code, r.stderr)
		}
		outs = append(outs, r.stdout)
	}
	if outs[0] != outs[1] {
		t.Errorf("the two gets disagree:\n%s%s", outs[0], outs[1])
	}
	if n := fake.Count(repo, "model.safetensors"); n != 1 {
		t.Errorf("weights fetched %d times, want once", n)
	}
}
