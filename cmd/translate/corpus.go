package main

import (
	"flag"
	"fmt"
	"os"

	"github.com/deen-mt/deen/modelfile"
	"github.com/deen-mt/deen/train"
)

// corpusFlags are the flags of the verbs that learn something from a
// parallel corpus into a copy of a model (shortlist, casing).
type corpusFlags struct {
	verb                 string
	src, tgt, model, out *string
	devMod, level        *int
	force                *bool
}

// addCorpusFlags defines the corpus, model and output flags of verb on
// fs; what names what the verb adds to the model.
func addCorpusFlags(fs *flag.FlagSet, verb, what string) *corpusFlags {
	return &corpusFlags{
		verb:   verb,
		src:    fs.String("src", "", "German side of the corpus: a `file`, one sentence per line"),
		tgt:    fs.String("tgt", "", "English side of the corpus: a `file` aligned line by line with --src"),
		model:  fs.String("model", "", "model `file` or name to add the "+what+" to (default: $DEEN_MODEL, else the embedded model)"),
		out:    fs.String("out", "", "model `file` to write (the model with the "+what+")"),
		devMod: fs.Int("dev-mod", 0, "leave out the dev split of translate train --dev-mod K (pairs whose German hashes to 0 mod K, and every pair sharing a sentence with them); 0 = use every pair"),
		force:  fs.Bool("force", false, "overwrite --out if it exists"),
		level:  fs.Int("level", 9, "zstd level of --out, 1..22 (translate train writes 9)"),
	}
}

// usageError says what is wrong with the flags, or "".
func (c *corpusFlags) usageError(fs *flag.FlagSet) string {
	switch {
	case fs.NArg() > 0:
		return fmt.Sprintf("unexpected argument %q (see translate help %s)", fs.Arg(0), c.verb)
	case *c.src == "" || *c.tgt == "" || *c.out == "":
		return fmt.Sprintf("--src, --tgt and --out are required (see translate help %s)", c.verb)
	case *c.level < 1 || *c.level > 22:
		return fmt.Sprintf("--level %d: want 1..22", *c.level)
	case *c.devMod == 1 || *c.devMod < 0:
		return fmt.Sprintf("--dev-mod %d: want 0 (no dev split) or at least 2", *c.devMod)
	}
	return ""
}

// load refuses an existing --out without --force, reads the model and the
// corpus, and leaves out the dev split (saying so on e's stderr).
func (c *corpusFlags) load(e *env) (*modelfile.Model, []train.Pair, error) {
	if _, err := os.Stat(*c.out); err == nil && !*c.force {
		return nil, nil, fmt.Errorf("%s exists; use --force to overwrite it", *c.out)
	}
	m, err := readModel(modelOrEnv(*c.model))
	if err != nil {
		return nil, nil, err
	}
	pairs, err := train.ReadPairs(*c.src, *c.tgt)
	if err != nil {
		return nil, nil, err
	}
	if *c.devMod > 0 {
		all := len(pairs)
		var dev []train.Pair
		if pairs, dev, err = train.SplitDev(pairs, *c.devMod); err != nil {
			return nil, nil, err
		}
		fmt.Fprintf(e.stderr, "translate %s: left out %d pairs (%d dev pairs of --dev-mod %d and the pairs sharing a sentence with them)\n",
			c.verb, all-len(pairs), len(dev), *c.devMod)
	}
	return m, pairs, nil
}

// write writes m to --out, its weights stored as they were read.
func (c *corpusFlags) write(m *modelfile.Model) error {
	return modelfile.WriteFile(*c.out, m, modelfile.WriteOptions{DType: m.DType, ZstdLevel: *c.level})
}
