package main

import (
	"bufio"
	"context"
	"errors"
	"fmt"
	"io"
	"math"
	"math/rand/v2"
	"os"
	"os/signal"
	"path/filepath"
	"strings"
	"syscall"

	"github.com/deen-mt/deen/bpe"
	"github.com/deen-mt/deen/gpt"
	"github.com/deen-mt/deen/internal/atomicfile"
	"github.com/deen-mt/deen/internal/defaultmodel"
	"github.com/deen-mt/deen/modelfile"
	"github.com/deen-mt/deen/train"
)

func init() {
	register("lm", "the English GPT language model: train, score, sample, bigram baseline", runLM)
}

const lmUsage = `usage: translate lm train|score|sample|bigram [flags]

The decoder-only GPT of package gpt (nanoGPT's architecture) over the
translator's target vocabulary. docs/gpt.md walks through the model.

  translate lm train --text FILE --out lm.deen [--hours H]   train (resumable)
  translate lm score --model lm.deen < text                  log-probability per line
  translate lm sample --model lm.deen --prompt "The dog"     generate text
  translate lm bigram --model lm.deen --train FILE --test FILE   add-one bigram baseline

"translate help lm" or "translate lm VERB --help" for the flags.`

// runLM dispatches the lm verbs.
func runLM(e *env, args []string) int {
	verbs := map[string]func(*env, []string) int{"train": lmTrain, "score": lmScore, "sample": lmSample, "bigram": lmBigram}
	if len(args) == 0 || args[0] == "-h" || args[0] == "--help" || args[0] == "-help" {
		fmt.Fprintln(e.stderr, lmUsage)
		if len(args) == 0 {
			return exitUsage
		}
		return exitOK
	}
	v, ok := verbs[args[0]]
	if !ok {
		fmt.Fprintf(e.stderr, "translate lm: unknown verb %q (want train, score, sample or bigram)\n", args[0])
		return exitUsage
	}
	return v(e, args[1:])
}

const lmTrainUsage = `usage: translate lm train --text FILE --out lm.deen [flags]

Trains a GPT on the lines of FILE (English, one sentence per line) with the
trainer of translate train: AdamW, warm-up and cosine decay as nanoGPT,
gradient clipping, data-parallel replicas, checkpoints. The tokenizer is the
embedded translation model's joint vocabulary (or --vocab-from, --spm), so
the ids are the translator's target ids. One sentence in 50 (by hash) is held
out and its perplexity reported; --holdout FILE keeps more sentences out,
and --holdout-dev-of train.de the English of the translator's dev pairs
(so that reranking is measured on sentences the LM never saw).
The work folder (default: lm.deen's name + ".run") keeps the checkpoint,
train.txt, dev.txt and curves.tsv; the same command run again resumes.

examples:
  translate lm train --text train.en --holdout-dev-of train.de --out lm.deen --hours 2
  translate lm train --text train.en --out lm.deen --max-steps 100 --dev-every 50   a smoke run

flags:`

// lmTrain trains a language model into --out.
func lmTrain(e *env, args []string) int {
	o := train.DefaultLMOptions()
	fs := newFlags(e, "lm train", lmTrainUsage)
	text := fs.String("text", "", "English training text `file`, one sentence per line (required)")
	out := fs.String("out", "", "the language model `file` to write (required)")
	work := fs.String("work", "", "work `folder`: checkpoint, train.txt, dev.txt, curves (default: --out's name + .run)")
	holdout := fs.String("holdout", "", "`file` of sentences never to train on (e.g. a translation run's dev.en)")
	devOf := fs.String("holdout-dev-of", "", "German `file` line-aligned with --text: never train on the English of the dev pairs translate train holds out of this corpus")
	devMod := fs.Int("holdout-dev-mod", 50, "the --dev-mod of that translate train run")
	vocabFrom := fs.String("vocab-from", "", "translation model `file` whose tokenizer to use, or a translate train --out folder (its source.spm, target.spm, vocab.json) (default: the embedded model)")
	spm := fs.String("spm", "", "SentencePiece model `file` to use as the tokenizer instead (its own ids)")
	fs.IntVar(&o.DModel, "d-model", o.DModel, "model width")
	fs.IntVar(&o.DecoderLayers, "layers", o.DecoderLayers, "transformer blocks")
	fs.IntVar(&o.Heads, "heads", o.Heads, "attention heads")
	fs.IntVar(&o.MaxLen, "block-size", o.MaxLen, "positions (longest sentence in tokens, end id included; longer ones are dropped)")
	fs.IntVar(&o.BatchTokens, "batch-tokens", o.BatchTokens, "tokens per batch")
	fs.Float64Var(&o.LR, "lr", o.LR, "peak learning rate")
	fs.Float64Var(&o.MinLR, "min-lr", o.MinLR, "learning rate at the end of the cosine decay")
	fs.IntVar(&o.Warmup, "warmup", o.Warmup, "warm-up steps")
	fs.IntVar(&o.DecaySteps, "decay-steps", o.DecaySteps, "step where the cosine decay ends (0 = --max-steps)")
	fs.Float64Var(&o.WeightDecay, "weight-decay", o.WeightDecay, "AdamW decoupled weight decay of matrices and embeddings")
	fs.Float64Var(&o.Beta2, "beta2", o.Beta2, "AdamW second-moment decay")
	fs.Float64Var(&o.Clip, "clip", o.Clip, "gradient norm clipping (0 = off)")
	fs.Float64Var(&o.Dropout, "dropout", o.Dropout, "dropout of embeddings and sub-layer outputs")
	addRunFlags(fs, &o)
	fs.IntVar(&o.DevK, "dev-mod", o.DevK, "a sentence is held out when hash(normalised sentence) mod K == 0")
	fs.StringVar(&o.DType, "dtype", o.DType, "storage of the model's weights: f32, f16 or int8")
	if code, ok := parseFlags(fs, args); !ok {
		return code
	}
	if *text == "" || *out == "" || fs.NArg() > 0 {
		fmt.Fprintln(e.stderr, "lm train: need --text FILE --out lm.deen (and no other arguments)")
		return exitUsage
	}
	if *spm != "" && *vocabFrom != "" {
		fmt.Fprintln(e.stderr, "lm train: give --spm or --vocab-from, not both")
		return exitUsage
	}
	if err := o.Validate(); err != nil {
		fmt.Fprintln(e.stderr, "lm train:", err)
		return exitUsage
	}
	blobs, err := lmTokenizer(*vocabFrom, *spm)
	if err != nil {
		fmt.Fprintln(e.stderr, "lm train:", err)
		return exitFailure
	}
	var held []string
	if *holdout != "" {
		data, err := os.ReadFile(*holdout)
		if err != nil {
			fmt.Fprintln(e.stderr, "lm train:", err)
			return exitFailure
		}
		held = strings.Split(string(data), "\n")
	}
	if *devOf != "" {
		dev, err := train.TranslatorDev(*devOf, *text, *devMod)
		if err != nil {
			fmt.Fprintln(e.stderr, "lm train: --holdout-dev-of:", err)
			return exitFailure
		}
		held = append(held, dev...)
	}
	if *work == "" {
		*work = strings.TrimSuffix(*out, filepath.Ext(*out)) + ".run"
	}
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	if err := train.RunLM(ctx, o, *text, held, blobs, *work, e.stderr); err != nil {
		fmt.Fprintln(e.stderr, "lm train:", err)
		if ctx.Err() != nil {
			fmt.Fprintln(e.stderr, "lm train: stopped; run the same command again to resume from the checkpoint")
		}
		return exitFailure
	}
	data, err := os.ReadFile(filepath.Join(*work, train.LMName))
	if err == nil {
		err = atomicfile.Write(*out, "language model", func(w io.Writer) error { _, err := w.Write(data); return err })
	}
	if err != nil {
		fmt.Fprintln(e.stderr, "lm train:", err)
		return exitFailure
	}
	fmt.Fprintf(e.stderr, "wrote %s\n", *out)
	return exitOK
}

// lmTokenizer returns the tokenizer blobs of a language model: from the
// SentencePiece model spm, else from the translation model file
// vocabFrom, else from the embedded default model.
func lmTokenizer(vocabFrom, spm string) (map[string][]byte, error) {
	if spm != "" {
		m, err := bpe.ReadFile(spm)
		if err != nil {
			return nil, fmt.Errorf("%s: %w", spm, err)
		}
		return bpe.MarianBlobs(m)
	}
	if fi, err := os.Stat(vocabFrom); err == nil && fi.IsDir() {
		return runTokenizer(vocabFrom)
	}
	var m *modelfile.Model
	var err error
	if vocabFrom != "" {
		m, err = modelfile.ReadFile(vocabFrom)
	} else {
		var r io.ReadCloser
		if r, err = defaultmodel.Open(); errors.Is(err, defaultmodel.ErrNone) {
			return nil, fmt.Errorf("%w: give --vocab-from MODEL or --spm FILE", err)
		} else if err == nil {
			defer r.Close()
			m, err = modelfile.Read(r)
		}
	}
	if err != nil {
		return nil, err
	}
	if len(m.Blobs[modelfile.BlobVocab]) == 0 {
		return nil, fmt.Errorf("the model file %s holds no tokenizer", vocabFrom)
	}
	return m.Blobs, nil
}

// runTokenizer reads the tokenizer files of a translate train output
// folder, so that a language model can share the vocabulary of a
// translation model still in training.
func runTokenizer(dir string) (map[string][]byte, error) {
	blobs := map[string][]byte{}
	for _, n := range []string{modelfile.BlobSourceSPM, modelfile.BlobTargetSPM, modelfile.BlobVocab} {
		b, err := os.ReadFile(filepath.Join(dir, n))
		if err != nil {
			return nil, fmt.Errorf("--vocab-from %s is a folder but not a translate train folder: %w", dir, err)
		}
		blobs[n] = b
	}
	if _, err := bpe.NewMarianFromBlobs(blobs); err != nil {
		return nil, fmt.Errorf("the tokenizer files in %s: %w", dir, err)
	}
	return blobs, nil
}

// loadLM reads a language model file and its tokenizer.
func loadLM(path string) (*gpt.Model, *bpe.Marian, error) {
	if path == "" {
		return nil, nil, errors.New("need --model lm.deen (no language model is built in; train one with translate lm train, docs/gpt.md)")
	}
	mf, err := modelfile.ReadFile(path)
	if err != nil {
		return nil, nil, err
	}
	g, err := gpt.New(mf)
	if err != nil {
		return nil, nil, fmt.Errorf("%s: %w", path, err)
	}
	tok, err := bpe.NewMarianFromBlobs(mf.Blobs)
	if err != nil {
		return nil, nil, fmt.Errorf("%s: tokenizer: %w", path, err)
	}
	return g, tok, nil
}

// encodeLines returns the ids of each line without the end id; errors
// name the line, counting from first.
func encodeLines(tok *bpe.Marian, lines []string, first int) ([][]int32, error) {
	seqs := make([][]int32, len(lines))
	for i, l := range lines {
		ids, err := tok.EncodeTarget(l)
		if err != nil {
			return nil, fmt.Errorf("line %d: %w", first+i, err)
		}
		seqs[i] = ids[:len(ids)-1]
	}
	return seqs, nil
}

const lmScoreUsage = `usage: translate lm score --model lm.deen < text

Prints, for each input line, its log-probability under the model (natural
log, the end of sentence included), its token count (end id included) and
its perplexity exp(−logprob/tokens), tab-separated; the corpus perplexity
goes to stderr.

example:
  translate lm score --model lm.deen < lm.run/dev.txt > scores.tsv

flags:`

// lmScore scores stdin line by line.
func lmScore(e *env, args []string) int {
	fs := newFlags(e, "lm score", lmScoreUsage)
	model := fs.String("model", "", "language model `file` (required)")
	batch := fs.Int("batch-size", 64, "lines scored together")
	if code, ok := parseFlags(fs, args); !ok {
		return code
	}
	if fs.NArg() > 0 || *batch < 1 {
		fmt.Fprintln(e.stderr, "lm score: reads stdin; takes no arguments, --batch-size >= 1")
		return exitUsage
	}
	g, tok, err := loadLM(*model)
	if err != nil {
		fmt.Fprintln(e.stderr, "lm score:", err)
		return exitFailure
	}
	var sc gpt.Scratch
	var total float64
	var tokens, n int
	w := bufio.NewWriter(e.stdout)
	defer w.Flush()
	flush := func(lines []string) error {
		seqs, err := encodeLines(tok, lines, n+1)
		if err != nil {
			return err
		}
		for i, ids := range seqs {
			if len(ids)+1 > g.BlockSize() {
				return fmt.Errorf("line %d has %d tokens, the model reads at most %d: split it", n+i+1, len(ids)+1, g.BlockSize())
			}
		}
		lps, err := g.Score(seqs, &sc)
		if err != nil {
			return err
		}
		for i, lp := range lps {
			k := len(seqs[i]) + 1
			fmt.Fprintf(w, "%.4f\t%d\t%.3f\n", lp, k, math.Exp(-lp/float64(k)))
			total, tokens = total+lp, tokens+k
		}
		n += len(lines)
		return nil
	}
	in := bufio.NewScanner(e.stdin)
	in.Buffer(make([]byte, 1<<20), 1<<24)
	var lines []string
	for in.Scan() {
		if lines = append(lines, strings.TrimSuffix(in.Text(), "\r")); len(lines) == *batch {
			if err := flush(lines); err != nil {
				fmt.Fprintln(e.stderr, "lm score:", err)
				return exitFailure
			}
			lines = lines[:0]
		}
	}
	if err := in.Err(); err != nil {
		fmt.Fprintln(e.stderr, "lm score: reading stdin:", err)
		return exitFailure
	}
	if len(lines) > 0 {
		if err := flush(lines); err != nil {
			fmt.Fprintln(e.stderr, "lm score:", err)
			return exitFailure
		}
	}
	fmt.Fprintf(e.stderr, "%d lines, %d tokens, log-probability %.2f, perplexity %.3f\n", n, tokens, total, math.Exp(-total/float64(max(tokens, 1))))
	return exitOK
}

const lmSampleUsage = `usage: translate lm sample --model lm.deen --prompt TEXT [flags]

Continues the prompt with text drawn from the model, token by token through
the key/value cache: temperature scales the logits (0 = always the most
likely token), --top-k keeps the K most likely tokens. The same --seed gives
the same text.

example:
  translate lm sample --model lm.deen --prompt "The dog" --seed 3 --n 3

flags:`

// lmSample generates text.
func lmSample(e *env, args []string) int {
	fs := newFlags(e, "lm sample", lmSampleUsage)
	model := fs.String("model", "", "language model `file` (required)")
	prompt := fs.String("prompt", "", "the text to continue (empty: start a sentence)")
	var o gpt.SampleOptions
	fs.Float64Var(&o.Temperature, "temperature", 0.8, "divides the logits; 0 picks the most likely token")
	fs.IntVar(&o.TopK, "top-k", 200, "sample among the K most likely tokens (0 = all)")
	fs.IntVar(&o.MaxNew, "max-new", 64, "most new tokens")
	seed := fs.Uint64("seed", 1, "random seed")
	n := fs.Int("n", 1, "samples, one per line")
	if code, ok := parseFlags(fs, args); !ok {
		return code
	}
	if fs.NArg() > 0 || *n < 1 || o.Temperature < 0 || o.TopK < 0 || o.MaxNew < 0 {
		fmt.Fprintln(e.stderr, "lm sample: want --prompt TEXT (no other arguments), --n >= 1 and non-negative --temperature, --top-k, --max-new")
		return exitUsage
	}
	g, tok, err := loadLM(*model)
	if err != nil {
		fmt.Fprintln(e.stderr, "lm sample:", err)
		return exitFailure
	}
	var ids []int32
	if *prompt != "" {
		seqs, err := encodeLines(tok, []string{*prompt}, 1)
		if err != nil {
			fmt.Fprintln(e.stderr, "lm sample: prompt:", err)
			return exitFailure
		}
		ids = seqs[0]
	}
	rng := rand.New(rand.NewPCG(*seed, 0x5a3b1e))
	for i := 0; i < *n; i++ {
		gen, err := g.Generate(context.Background(), ids, o, rng)
		if err != nil {
			fmt.Fprintln(e.stderr, "lm sample:", err)
			return exitFailure
		}
		text, err := tok.DecodeTarget(append(append([]int32(nil), ids...), gen...))
		if err != nil {
			fmt.Fprintln(e.stderr, "lm sample:", err)
			return exitFailure
		}
		fmt.Fprintln(e.stdout, text)
	}
	return exitOK
}

const lmBigramUsage = `usage: translate lm bigram --model MODEL --train FILE --test FILE

The baseline of docs/gpt.md: a bigram model with add-one smoothing, counted
on the tokens of --train (MODEL's tokenizer, the same sequences the GPT
sees: start id, tokens, end id), and its perplexity on --test. Compare with
"translate lm score --model lm.deen < FILE" on the same test file.

example:
  translate lm bigram --model lm.deen --train lm.run/train.txt --test lm.run/dev.txt

flags:`

// lmBigram prints the add-one bigram baseline's test perplexity.
func lmBigram(e *env, args []string) int {
	fs := newFlags(e, "lm bigram", lmBigramUsage)
	model := fs.String("model", "", "model `file` whose tokenizer to use (required; a language or translation model)")
	trainPath := fs.String("train", "", "training text `file` (required)")
	testPath := fs.String("test", "", "test text `file` (required)")
	if code, ok := parseFlags(fs, args); !ok {
		return code
	}
	if *model == "" || *trainPath == "" || *testPath == "" || fs.NArg() > 0 {
		fmt.Fprintln(e.stderr, "lm bigram: need --model, --train and --test")
		return exitUsage
	}
	mf, err := modelfile.ReadFile(*model)
	if err != nil {
		fmt.Fprintln(e.stderr, "lm bigram:", err)
		return exitFailure
	}
	tok, err := bpe.NewMarianFromBlobs(mf.Blobs)
	if err != nil {
		fmt.Fprintln(e.stderr, "lm bigram: tokenizer:", err)
		return exitFailure
	}
	read := func(path string) ([][]int32, error) {
		data, err := os.ReadFile(path)
		if err != nil {
			return nil, err
		}
		lines := strings.Split(strings.TrimSuffix(string(data), "\n"), "\n")
		seqs, err := encodeLines(tok, lines, 1)
		if err != nil {
			return nil, fmt.Errorf("%s: %w", path, err)
		}
		return seqs, nil
	}
	trainSeqs, err := read(*trainPath)
	if err == nil {
		var testSeqs [][]int32
		if testSeqs, err = read(*testPath); err == nil {
			b := gpt.NewBigram(tok.VocabSize(), tok.PadID(), tok.EOSID())
			trainTokens := 0
			for _, s := range trainSeqs {
				b.Add(s)
				trainTokens += len(s) + 1
			}
			var total float64
			tokens := 0
			for _, s := range testSeqs {
				lp, err := b.LogProb(s)
				if err != nil {
					fmt.Fprintln(e.stderr, "lm bigram:", err)
					return exitFailure
				}
				total, tokens = total+lp, tokens+len(s)+1
			}
			fmt.Fprintf(e.stdout, "bigram (add-one) trained on %d lines, %d tokens; test %d lines, %d tokens, log-probability %.2f, perplexity %.3f\n",
				len(trainSeqs), trainTokens, len(testSeqs), tokens, total, math.Exp(-total/float64(max(tokens, 1))))
			return exitOK
		}
	}
	fmt.Fprintln(e.stderr, "lm bigram:", err)
	return exitFailure
}
