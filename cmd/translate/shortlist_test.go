package main

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// translate shortlist learns from a made-up corpus into a copy of the
// model, which --shortlist then uses; a model without one, existing
// outputs and missing flags are refused with what to do.
func TestCLIShortlist(t *testing.T) {
	bin, model, _ := setup(t)
	dir := t.TempDir()
	de := "Der Hund schläft.\nDie Katze schläft.\nDer Hund spielt.\nDie Katze spielt im Garten.\n"
	en := "The dog sleeps.\nThe cat sleeps.\nThe dog plays.\nThe cat plays in the garden.\n"
	src, tgt, out := filepath.Join(dir, "c.de"), filepath.Join(dir, "c.en"), filepath.Join(dir, "sl.deen")
	for p, s := range map[string]string{src: de, tgt: en} {
		if err := os.WriteFile(p, []byte(s), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	args := []string{"shortlist", "--model", model, "--src", src, "--tgt", tgt, "--out", out, "--frequent", "5", "--per-source", "3"}
	stdout, stderr, code := runBin(t, bin, "", args...)
	if code != 0 || !strings.Contains(stdout, "shortlist from 4 pairs: 5 frequent target tokens") {
		t.Fatalf("shortlist: exit %d, stdout %q, stderr %q", code, stdout, stderr)
	}
	if _, stderr, code := runBin(t, bin, "", args...); code != exitFailure || !strings.Contains(stderr, "--force") {
		t.Fatalf("shortlist over an existing file: exit %d, stderr %q", code, stderr)
	}
	stdout, stderr, code = runBin(t, bin, "Der Hund schläft.\n", "--model", out, "--shortlist", "--beam", "2", "--json")
	lines := parseJSONLines(t, stdout)
	if code != 0 || len(lines) != 1 || len(lines[0].IDs) == 0 || lines[0].IDs[len(lines[0].IDs)-1] != 0 {
		t.Fatalf("--shortlist: exit %d, stdout %q, stderr %q; want one translation ending with the end id 0", code, stdout, stderr)
	}
	for name, tc := range map[string]struct {
		args []string
		code int
		want string
	}{
		"no shortlist in the model": {[]string{"--model", model, "--shortlist", "Hallo"}, exitUsage, "translate shortlist --model"},
		"missing --out":             {[]string{"shortlist", "--model", model, "--src", src, "--tgt", tgt}, exitUsage, "--out"},
		"bad --dev-mod":             {[]string{"shortlist", "--src", src, "--tgt", tgt, "--out", out + "2", "--dev-mod", "1"}, exitUsage, "--dev-mod 1"},
		"unaligned corpus":          {[]string{"shortlist", "--model", model, "--src", src, "--tgt", filepath.Join(dir, "none.en"), "--out", out + "3"}, exitFailure, "none.en"},
	} {
		if _, stderr, code := runBin(t, bin, "", tc.args...); code != tc.code || !strings.Contains(stderr, tc.want) {
			t.Errorf("%s: exit %d, stderr %q; want exit %d naming %q", name, code, stderr, tc.code, tc.want)
		}
	}
}
