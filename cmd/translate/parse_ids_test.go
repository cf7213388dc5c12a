package main

import (
	"fmt"
	"slices"
	"strings"
	"testing"
)

// FuzzParseIDs checks that --src-ids lines never crash the parser and that
// whatever parses round-trips through its canonical form.
func FuzzParseIDs(f *testing.F) {
	for _, s := range []string{"196 769 216 0", "", "  5\t6  0 ", "1 x 0", "-3 0", "99999999999 0", "+7 0", "0x10 0"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, line string) {
		ids, err := parseIDs(line, "an id")
		if err != nil {
			return
		}
		if len(strings.Fields(line)) != len(ids) {
			t.Fatalf("%q: %d ids from %d fields", line, len(ids), len(strings.Fields(line)))
		}
		var b strings.Builder
		for _, id := range ids {
			fmt.Fprint(&b, id, " ")
		}
		again, err := parseIDs(b.String(), "an id")
		if err != nil || !slices.Equal(again, ids) {
			t.Fatalf("%q: round trip %v → %q → %v, %v", line, ids, b.String(), again, err)
		}
	})
}
