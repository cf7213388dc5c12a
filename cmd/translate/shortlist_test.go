package main

import (
	"path/filepath"
	"strings"
	"testing"
)

// writeCorpus writes the two sides of a corpus into dir as c.de and c.en.
func writeCorpus(t *testing.T, dir, de, en string) (src, tgt string) {
	t.Helper()
	src, tgt = filepath.Join(dir, "c.de"), filepath.Join(dir, "c.en")
	writeFile(t, src, de)
	writeFile(t, tgt, en)
	return src, tgt
}

// translate shortlist learns from a made-up corpus into a copy of the
// model, which --shortlist then uses; a model without one, existing
// outputs and missing flags are refused with what to do.
func TestCLIShortlist(t *testing.T) {
	bin, model, _ := setup(t)
	dir := t.TempDir()
	src, tgt := writeCorpus(t, dir, "Der Hund schläft.\nDie Katze schläft.\nDer Hund spielt.\nDie Katze spielt im Garten.\n",
		"The dog sleeps.\nThe cat sleeps.\nThe dog plays.\nThe cat plays in the garden.\n")
	out := filepath.Join(dir, "sl.deen")
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

// translate casing learns a truecase table into a copy of the model;
// with it a sentence in capitals is read in its usual case (--json shows
// what the model read), --recase=false reads it as written, and a model
// without a table refuses --recase with the fix.
func TestCLICasing(t *testing.T) {
	bin, model, _ := setup(t)
	dir := t.TempDir()
	src, tgt := writeCorpus(t, dir, "Ich habe einen Hund.\nHeute habe ich keine Zeit.\nWo schläft der Hund?\n",
		"I have a dog.\nI have no time today.\nWhere does the dog sleep?\n")
	out := filepath.Join(dir, "tc.deen")
	args := []string{"casing", "--model", model, "--src", src, "--tgt", tgt, "--out", out, "--min-count", "1"}
	stdout, stderr, code := runBin(t, bin, "", args...)
	if code != 0 || !strings.Contains(stdout, "truecase table from 3 sentences") {
		t.Fatalf("casing: exit %d, stdout %q, stderr %q", code, stdout, stderr)
	}
	if _, stderr, code := runBin(t, bin, "", args...); code != exitFailure || !strings.Contains(stderr, "--force") {
		t.Fatalf("casing over an existing file: exit %d, stderr %q", code, stderr)
	}
	stdout, stderr, code = runBin(t, bin, "HEUTE HABE ICH KEINE ZEIT.\n", "--model", out, "--json")
	if code != 0 || !strings.Contains(stdout, `"recased":"Heute habe ich keine Zeit."`) {
		t.Fatalf("recased: exit %d, stdout %q, stderr %q", code, stdout, stderr)
	}
	if stdout, _, _ := runBin(t, bin, "HEUTE HABE ICH KEINE ZEIT.\n", "--model", out, "--json", "--recase=false"); strings.Contains(stdout, "recased") {
		t.Errorf("--recase=false: %s", stdout)
	}
	for name, tc := range map[string]struct {
		args []string
		code int
		want string
	}{
		"no table in the model": {[]string{"--model", model, "--recase", "Hallo"}, exitUsage, "translate casing --model"},
		"missing --tgt":         {[]string{"casing", "--model", model, "--src", src, "--out", out + "2"}, exitUsage, "--tgt"},
		"bad --min-count":       {[]string{"casing", "--src", src, "--tgt", tgt, "--out", out + "2", "--min-count", "0"}, exitUsage, "--min-count 0"},
	} {
		if _, stderr, code := runBin(t, bin, "", tc.args...); code != tc.code || !strings.Contains(stderr, tc.want) {
			t.Errorf("%s: exit %d, stderr %q; want exit %d naming %q", name, code, stderr, tc.code, tc.want)
		}
	}
}
