package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"os"

	"github.com/deen-mt/deen/internal/sacrebleu"
	"github.com/deen-mt/deen/translate"
)

func init() {
	register("eval", "translate a test set and print corpus BLEU and chrF (sacreBLEU defaults)", runEval)
}

// runEval translates --src with a model and scores the output against --ref.
func runEval(e *env, args []string) int {
	fs := flag.NewFlagSet("eval", flag.ContinueOnError)
	fs.SetOutput(e.stderr)
	src := fs.String("src", "", "German `file`, one sentence per line (required)")
	ref := fs.String("ref", "", "English reference `file`, line-aligned with --src (required)")
	model := fs.String("model", "", "model `file` (default: the embedded model)")
	beam := fs.Int("beam", 4, "beam size, 1 = greedy")
	hypOut := fs.String("hyp", "", "also write the translations to this `file`")
	batch := fs.Int("batch-size", 32, "sentences decoded together")
	weights := fs.String("weights", "f32", "precision of the decoder weights each step multiplies: f32, f16 or int8")
	if code, ok := parseFlags(fs, args); !ok {
		return code
	}
	if *src == "" || *ref == "" || fs.NArg() > 0 {
		fmt.Fprintln(e.stderr, "eval: need --src FILE and --ref FILE (and no other arguments)")
		return exitUsage
	}
	srcLines, err := readFileLines(*src)
	if err != nil {
		fmt.Fprintln(e.stderr, "eval:", err)
		return exitFailure
	}
	refLines, err := readFileLines(*ref)
	if err != nil {
		fmt.Fprintln(e.stderr, "eval:", err)
		return exitFailure
	}
	if len(srcLines) != len(refLines) {
		fmt.Fprintf(e.stderr, "eval: %s has %d lines but %s has %d; the files must align line by line\n", *src, len(srcLines), *ref, len(refLines))
		return exitFailure
	}
	opts := []translate.Option{translate.WithBeamSize(*beam), translate.WithBatchSize(*batch), translate.WithWeightPrecision(*weights)}
	tr, err := openModel(*model, opts...)
	if err != nil {
		fmt.Fprintln(e.stderr, "eval:", err)
		if errors.Is(err, translate.ErrInvalidOption) {
			return exitUsage
		}
		return exitFailure
	}
	hyps, line, _, err := score(context.Background(), tr, srcLines, refLines)
	if err != nil {
		fmt.Fprintln(e.stderr, "eval:", err)
		return exitFailure
	}
	if *hypOut != "" {
		var b []byte
		for _, h := range hyps {
			b = append(append(b, h...), '\n')
		}
		if err := os.WriteFile(*hypOut, b, 0o644); err != nil {
			fmt.Fprintln(e.stderr, "eval:", err)
			return exitFailure
		}
	}
	fmt.Fprintln(e.stdout, line)
	return exitOK
}

// readFileLines reads a text file's lines.
func readFileLines(path string) ([]string, error) {
	f, err := os.Open(path)
	if err != nil {
		return nil, err
	}
	defer f.Close()
	lines, err := readLines(f)
	if err != nil {
		return nil, fmt.Errorf("%s: %w", path, err)
	}
	return lines, nil
}

// score translates src and returns the translations, a one-line summary
// of corpus BLEU and chrF against ref, and the BLEU score.
func score(ctx context.Context, tr *translate.Translator, src, ref []string) (hyps []string, line string, bleu float64, err error) {
	hyps, err = tr.TranslateBatch(ctx, src)
	if err != nil {
		return nil, "", 0, err
	}
	b, err := sacrebleu.BLEU(hyps, ref)
	if err != nil {
		return nil, "", 0, err
	}
	c, err := sacrebleu.CHRF(hyps, ref)
	if err != nil {
		return nil, "", 0, err
	}
	return hyps, fmt.Sprintf("%v, %v (%d sentences)", b, c, len(src)), b.Score, nil
}
