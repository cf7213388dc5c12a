package nntest

import (
	"os"
	"path/filepath"
	"testing"
)

// OracleCase is a reference checkpoint directory with its references.
type OracleCase struct {
	// Name names the case in subtest names.
	Name string
	// Dir is the Hugging Face checkpoint directory (config.json,
	// model.safetensors and the tokenizer files).
	Dir string
	// Refs is the path of the case's refs JSON file (see LoadOracle).
	Refs string
}

// OracleCases lists the reference checkpoints of the repository, relative
// to a package directory: testdata/oracle/tiny-marian-A (refs_A.json, from
// the project's oracle) and the checkpoints of other shapes in
// testdata/layers (made by testdata/layers/make_refs.py with the same
// PyTorch reference), whose directories hold only config.json and
// model.safetensors and so are assembled in a temporary directory with
// tiny-marian-A's tokenizer files.
func OracleCases(tb testing.TB) []OracleCase {
	tb.Helper()
	const a = "../testdata/oracle/tiny-marian-A"
	cases := []OracleCase{{Name: "tiny-marian-A", Dir: a, Refs: "../testdata/oracle/refs_A.json"}}
	for _, name := range []string{"relu-noscale-d40", "gelu-d24"} {
		src := filepath.Join("../testdata/layers", name)
		dir := tb.TempDir()
		for _, f := range []struct{ from, name string }{
			{src, "config.json"}, {src, "model.safetensors"},
			{a, "source.spm"}, {a, "target.spm"}, {a, "vocab.json"},
		} {
			data, err := os.ReadFile(filepath.Join(f.from, f.name))
			if err != nil {
				tb.Fatal(err)
			}
			if err := os.WriteFile(filepath.Join(dir, f.name), data, 0o644); err != nil {
				tb.Fatal(err)
			}
		}
		cases = append(cases, OracleCase{Name: name, Dir: dir, Refs: filepath.Join(src, "refs.json")})
	}
	return cases
}
