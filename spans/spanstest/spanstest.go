// Package spanstest reads the public examples of protected spans and
// glossary terms in testdata/spans, for the tests of spans and of the
// packages that protect spans while translating.
package spanstest

import (
	"bufio"
	"encoding/json"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// Example is one line of testdata/spans/*.jsonl.
type Example struct {
	// Src is the German source text.
	Src string `json:"src"`
	// Must lists what the English must keep: each entry holds the
	// acceptable forms of one requirement (any one of them meets it).
	Must [][]string `json:"must"`
	// HTML says Src is HTML.
	HTML bool `json:"html"`
}

// ReadExamples reads ../testdata/spans/name (relative to the calling
// test's package folder, one below the repository's root), skipping
// blank lines; it fails tb on an unreadable file, a line that is not an
// Example, or a file without examples.
func ReadExamples(tb testing.TB, name string) []Example {
	tb.Helper()
	f, err := os.Open(filepath.Join("..", "testdata", "spans", name))
	if err != nil {
		tb.Fatal(err)
	}
	defer f.Close()
	var out []Example
	sc := bufio.NewScanner(f)
	for sc.Scan() {
		if strings.TrimSpace(sc.Text()) == "" {
			continue
		}
		var e Example
		if err := json.Unmarshal(sc.Bytes(), &e); err != nil {
			tb.Fatalf("%s: %v", name, err)
		}
		out = append(out, e)
	}
	if err := sc.Err(); err != nil {
		tb.Fatalf("%s: %v", name, err)
	}
	if len(out) == 0 {
		tb.Fatalf("%s: no examples", name)
	}
	return out
}
