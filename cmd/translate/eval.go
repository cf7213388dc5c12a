package main

import (
	"context"
	"errors"
	"fmt"
	"io/fs"
	"os"

	"github.com/deen-mt/deen/internal/sacrebleu"
	"github.com/deen-mt/deen/translate"
)

func init() {
	register("eval", "translate a test set and print corpus BLEU and chrF (sacreBLEU defaults)", runEval)
}

const evalUsage = `usage: translate eval --src FILE --ref FILE [--hyp FILE [--force]] [flags]

Translates --src (German, one sentence per line) and scores the translations
against --ref (English, line-aligned) with corpus BLEU and chrF, as
sacreBLEU computes them with its defaults. The search flags are those of
translate (--beam, --length-penalty, --max-len, --no-repeat-ngram, ...).

examples:
  translate eval --src dev.de --ref dev.en                    the embedded model
  translate eval --src dev.de --ref dev.en --model run1/model.deen --beam 1
  translate eval --src dev.de --ref dev.en --hyp dev.hyp.en   also keep the translations

flags:`

// runEval translates --src with a model and scores the output against --ref.
func runEval(e *env, args []string) int {
	fs := newFlags(e, "eval", evalUsage)
	src := fs.String("src", "", "German `file`, one sentence per line (required)")
	ref := fs.String("ref", "", "English reference `file`, line-aligned with --src (required)")
	hypOut := fs.String("hyp", "", "also write the translations to this `file` (refused if it exists, unless --force)")
	force := fs.Bool("force", false, "with --hyp, replace a file that exists (never --src or --ref)")
	mf := addModelFlags(fs)
	if code, ok := parseFlags(fs, args); !ok {
		return code
	}
	if *src == "" || *ref == "" || fs.NArg() > 0 {
		fmt.Fprintln(e.stderr, "eval: need --src FILE and --ref FILE (and no other arguments)")
		return exitUsage
	}
	if *hypOut != "" {
		if code, err := checkHypOut(*hypOut, *src, *ref, *force); err != nil {
			fmt.Fprintln(e.stderr, "eval:", err)
			return code
		}
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
	tr, code, err := mf.load()
	if err != nil {
		fmt.Fprintln(e.stderr, "eval:", errText(err))
		return code
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

// checkHypOut refuses --hyp when it names --src or --ref (even with
// force: the inputs are never overwritten) or a file that exists (unless
// force), before any work, with the exit code to end with.
func checkHypOut(hyp, src, ref string, force bool) (int, error) {
	hst, err := os.Stat(hyp)
	if errors.Is(err, fs.ErrNotExist) {
		return exitOK, nil
	}
	if err != nil {
		return exitFailure, err
	}
	for _, in := range []string{src, ref} {
		if st, err := os.Stat(in); err == nil && os.SameFile(st, hst) {
			return exitUsage, fmt.Errorf("--hyp %s is the input %s; write the translations to another file", hyp, in)
		}
	}
	if !force {
		return exitFailure, fmt.Errorf("%s exists; use --force to overwrite it, or another --hyp", hyp)
	}
	return exitOK, nil
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
