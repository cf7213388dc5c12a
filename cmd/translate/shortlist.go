package main

import (
	"context"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"os/signal"
	"runtime"
	"sync"

	"github.com/deen-mt/deen/bpe"
	"github.com/deen-mt/deen/internal/defaultmodel"
	"github.com/deen-mt/deen/modelfile"
	"github.com/deen-mt/deen/shortlist"
	"github.com/deen-mt/deen/train"
)

func init() {
	register("shortlist", "learn a vocabulary shortlist from a parallel corpus into a copy of a model: shortlist --src S --tgt T --out OUT", runShortlist)
}

const shortlistUsage = `usage: translate shortlist --src CORPUS.de --tgt CORPUS.en --out OUT.deen [--model M] [--dev-mod K] [--frequent K] [--per-source N]

Learns a vocabulary shortlist from the sentence pairs of CORPUS.de/CORPUS.en
(one sentence per line, aligned) and writes a copy of the model with it
(blob shortlist.bin), weights stored as before. --shortlist on translate,
files, eval and serve then decodes each sentence over the K most frequent
target tokens plus the N best translation candidates (IBM model 1) of each
of its source tokens (docs/search.md, "Vocabulary shortlist"). The embedded
model already carries one, learned this way from Tatoeba.

  translate shortlist --src train.de --tgt train.en --dev-mod 50 --out sl.deen
  translate eval --model sl.deen --shortlist --src dev.de --ref dev.en`

// runShortlist learns a shortlist and writes the model with it.
func runShortlist(e *env, args []string) int {
	fs := newFlags(e, "shortlist", shortlistUsage)
	cf := addCorpusFlags(fs, "shortlist", "shortlist")
	var o shortlist.LearnOptions
	fs.IntVar(&o.Frequent, "frequent", 1000, "K: the most frequent target tokens, always candidates")
	fs.IntVar(&o.PerSource, "per-source", 20, "N: the most translation candidates kept per source token")
	fs.Float64Var(&o.MinProb, "min-prob", 0.001, "drop candidates t of source token s with p(t|s) below this")
	fs.IntVar(&o.Iterations, "iterations", 5, "EM iterations of IBM model 1")
	if code, ok := parseFlags(fs, args); !ok {
		return code
	}
	fail := func(code int, format string, a ...any) int {
		fmt.Fprintf(e.stderr, "translate shortlist: "+format+"\n", a...)
		return code
	}
	if msg := cf.usageError(fs); msg != "" {
		return fail(exitUsage, "%s", msg)
	}
	if o.Frequent < 0 || o.PerSource < 0 || o.Iterations < 1 || !(o.MinProb >= 0 && o.MinProb <= 1) {
		return fail(exitUsage, "--frequent and --per-source must be ≥ 0, --iterations ≥ 1, --min-prob within 0..1")
	}
	m, pairs, err := cf.load(e)
	if err != nil {
		return fail(exitFailure, "%v", err)
	}
	tok, err := bpe.NewMarianFromBlobs(m.Blobs)
	if err != nil {
		return fail(exitFailure, "the model's tokenizer: %v (a shortlist needs a model with its SentencePiece files)", err)
	}
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt)
	defer stop()
	srcIDs, tgtIDs, err := encodePairs(tok, pairs)
	if err != nil {
		return fail(exitFailure, "%v", err)
	}
	sl, err := shortlist.Learn(ctx, srcIDs, tgtIDs, m.Config.VocabSize, o)
	if err != nil {
		return fail(exitFailure, "%v", err)
	}
	blob, err := sl.MarshalBinary()
	if err != nil {
		return fail(exitFailure, "%v", err)
	}
	m.Blobs[modelfile.BlobShortlist] = blob
	if err := cf.write(m); err != nil {
		return fail(exitFailure, "%v", err)
	}
	sources, cands := 0, 0
	for s := range m.Config.VocabSize {
		if n := len(sl.Translations(int32(s))); n > 0 {
			sources, cands = sources+1, cands+n
		}
	}
	fmt.Fprintf(e.stdout, "%s: shortlist from %d pairs: %d frequent target tokens, candidates for %d source tokens (%.1f each), %d bytes\n",
		*cf.out, len(pairs), len(sl.Frequent()), sources, float64(cands)/float64(max(sources, 1)), len(blob))
	return exitOK
}

// readModel reads the model file or fetched model name, or the embedded
// model when name is "".
func readModel(name string) (*modelfile.Model, error) {
	if name == "" {
		r, err := defaultmodel.Open()
		if err != nil {
			return nil, err
		}
		defer r.Close()
		return modelfile.Read(r)
	}
	path, err := resolveModel(name)
	if err != nil {
		return nil, err
	}
	m, err := modelfile.ReadFile(path)
	if errors.Is(err, fs.ErrNotExist) {
		return nil, fmt.Errorf("%w (check the --model path)", err)
	}
	return m, err
}

// encodePairs tokenizes the pairs into model ids (end token included), on
// every core.
func encodePairs(tok *bpe.Marian, pairs []train.Pair) (src, tgt [][]int32, err error) {
	src, tgt = make([][]int32, len(pairs)), make([][]int32, len(pairs))
	workers := runtime.GOMAXPROCS(0)
	errs := make([]error, workers)
	var wg sync.WaitGroup
	for w := range workers {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for i := w; i < len(pairs) && errs[w] == nil; i += workers {
				if src[i], errs[w] = tok.EncodeSource(pairs[i].De); errs[w] == nil {
					tgt[i], errs[w] = tok.EncodeTarget(pairs[i].En)
				}
				if errs[w] != nil {
					errs[w] = fmt.Errorf("pair %d: %w", i+1, errs[w])
				}
			}
		}()
	}
	wg.Wait()
	return src, tgt, errors.Join(errs...)
}
