package main

import (
	"fmt"

	"github.com/deen-mt/deen/modelfile"
	"github.com/deen-mt/deen/truecase"
)

func init() {
	register("casing", "learn the usual case of German words from a corpus into a copy of a model, for input in capitals or lower case: casing --src S --tgt T --out OUT", runCasing)
}

const casingUsage = `usage: translate casing --src CORPUS.de --tgt CORPUS.en --out OUT.deen [--model M] [--dev-mod K] [--min-count N]

Learns how each German word of CORPUS.de is usually written (away from the
start of a sentence: "Hund", "heute", "USA") and writes a copy of the
model with that truecase table (blob truecase.txt), weights stored as
before. Sentences written all in capitals ("ICH HABE HEUTE KEINE ZEIT") or
all in lower case are then given their usual case before translation
(--recase, on when the model carries a table), and the translation of a
sentence in capitals is given back in capitals. CORPUS.en only serves the
dev split (--dev-mod), as for translate shortlist. The embedded model
already carries one, learned this way from Tatoeba.

  translate casing --src train.de --tgt train.en --dev-mod 50 --out tc.deen
  translate --model tc.deen "ICH HABE HEUTE KEINE ZEIT."`

// runCasing learns a truecase table and writes the model with it.
func runCasing(e *env, args []string) int {
	fs := newFlags(e, "casing", casingUsage)
	cf := addCorpusFlags(fs, "casing", "truecase table")
	minCount := fs.Int("min-count", 2, "keep words seen at least this often away from a sentence start")
	if code, ok := parseFlags(fs, args); !ok {
		return code
	}
	fail := func(code int, format string, a ...any) int {
		fmt.Fprintf(e.stderr, "translate casing: "+format+"\n", a...)
		return code
	}
	if msg := cf.usageError(fs); msg != "" {
		return fail(exitUsage, "%s", msg)
	}
	if *minCount < 1 {
		return fail(exitUsage, "--min-count %d: want at least 1", *minCount)
	}
	m, pairs, err := cf.load(e)
	if err != nil {
		return fail(exitFailure, "%v", err)
	}
	de := make([]string, len(pairs))
	for i, p := range pairs {
		de[i] = p.De
	}
	tc := truecase.Learn(de, *minCount)
	blob, err := tc.MarshalBinary()
	if err != nil {
		return fail(exitFailure, "%v", err)
	}
	m.Blobs[modelfile.BlobTruecase] = blob
	if err := cf.write(m); err != nil {
		return fail(exitFailure, "%v", err)
	}
	fmt.Fprintf(e.stdout, "%s: truecase table from %d sentences: %d words, %d bytes\n", *cf.out, len(de), tc.Len(), len(blob))
	return exitOK
}
