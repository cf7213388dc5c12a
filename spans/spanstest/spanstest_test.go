package spanstest

import "testing"

// ReadExamples reads every example of the public files, each with a
// source and at least one requirement.
func TestReadExamples(t *testing.T) {
	t.Chdir("..") // ReadExamples reads relative to a package folder one below the root, as spans is
	for _, name := range []string{"spans_public.jsonl", "glossary_public.jsonl"} {
		for i, e := range ReadExamples(t, name) {
			if e.Src == "" || len(e.Must) == 0 {
				t.Errorf("%s: example %d has no source or no requirement: %+v", name, i+1, e)
			}
		}
	}
}
