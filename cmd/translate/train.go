package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"os/signal"
	"path/filepath"
	"syscall"

	"github.com/deen-mt/deen/internal/sacrebleu"
	"github.com/deen-mt/deen/modelfile"
	"github.com/deen-mt/deen/train"
	"github.com/deen-mt/deen/translate"
)

func init() {
	register("train", "train a German→English model on a parallel corpus (resumable)", runTrain)
}

const trainUsage = `usage: translate train --src FILE --tgt FILE --out DIR [flags]

Trains a German→English Transformer on line-aligned sentence pairs: a joint
BPE vocabulary, then the model, on all cores, within a wall-time budget.
DIR receives the tokenizer files, checkpoint.bin (every few minutes) and
model.deen; the same command run again resumes from the checkpoint. A share
of the pairs is held out as dev (dev.de, dev.en) and scored as training goes.
The recipe and its measured run: docs/training.md.

examples:
  translate train --src train.de --tgt train.en --out run1 --hours 5.5
  translate train --src train.de --tgt train.en --out run1 --max-steps 6359 --hours 6   a step budget: reproducible
  translate eval --model run1/model.deen --src run1/dev.de --ref run1/dev.en            score it

flags:`

// addRunFlags adds the flags of a training run's seed, replicas, budget
// and intervals, which translate train and lm train share (one runner
// drives both).
func addRunFlags(fs *flag.FlagSet, o *train.Options) {
	fs.Uint64Var(&o.Seed, "seed", o.Seed, "random seed (initialisation, batch order, dropout)")
	fs.IntVar(&o.Replicas, "replicas", o.Replicas, "shares of each batch trained side by side, one per core (data parallelism)")
	fs.Float64Var(&o.Hours, "hours", o.Hours, "wall-time budget of the whole run, all sessions together")
	fs.IntVar(&o.MaxSteps, "max-steps", o.MaxSteps, "stop after this many updates (0 = only --hours)")
	fs.IntVar(&o.Cooldown, "cooldown", o.Cooldown, "`steps` before --max-steps over which the learning rate falls linearly towards zero (0 = none; may be given on resume, like the budgets)")
	fs.Float64Var(&o.CheckpointMinutes, "checkpoint-minutes", o.CheckpointMinutes, "minutes between checkpoints")
	fs.IntVar(&o.LogEvery, "log-every", o.LogEvery, "steps between progress lines")
	fs.IntVar(&o.DevEvery, "dev-every", o.DevEvery, "steps between dev (held-out) evaluations (0 = only at the end)")
}

// runTrain trains a model into --out, resuming when --out holds a checkpoint.
func runTrain(e *env, args []string) int {
	o := train.DefaultOptions()
	fs := newFlags(e, "train", trainUsage)
	src := fs.String("src", "", "German training `file`, one sentence per line (required)")
	tgt := fs.String("tgt", "", "English training `file`, line-aligned with --src (required)")
	out := fs.String("out", "", "output `folder`: tokenizer files, checkpoint.bin, model.deen (required; a run resumes from its checkpoint)")
	fs.IntVar(&o.DevK, "dev-mod", o.DevK, "a pair goes to dev when hash(normalised German) mod K == 0; training pairs sharing a sentence with dev are dropped")
	fs.IntVar(&o.Vocab, "vocab", o.Vocab, "joint BPE vocabulary size")
	fs.IntVar(&o.DModel, "d-model", o.DModel, "model width")
	fs.IntVar(&o.EncoderLayers, "enc-layers", o.EncoderLayers, "encoder layers")
	fs.IntVar(&o.DecoderLayers, "dec-layers", o.DecoderLayers, "decoder layers")
	fs.IntVar(&o.Heads, "heads", o.Heads, "attention heads")
	fs.IntVar(&o.FFN, "ffn", o.FFN, "feed-forward width")
	fs.StringVar(&o.Activation, "activation", o.Activation, "feed-forward activation: relu, swish or gelu")
	fs.IntVar(&o.MaxLen, "max-len", o.MaxLen, "drop training pairs with more tokens than this on a side")
	fs.IntVar(&o.BatchTokens, "batch-tokens", o.BatchTokens, "tokens per batch (sentences × longest side)")
	fs.Float64Var(&o.LR, "lr", o.LR, "peak learning rate")
	fs.IntVar(&o.Warmup, "warmup", o.Warmup, "warm-up steps (then inverse-square-root decay)")
	fs.Float64Var(&o.WeightDecay, "weight-decay", o.WeightDecay, "AdamW decoupled weight decay of matrices")
	fs.Float64Var(&o.Clip, "clip", o.Clip, "gradient norm clipping (0 = off)")
	fs.Float64Var(&o.EMA, "ema", o.EMA, "decay of the moving average of the weights that the model file ships (0 = raw weights)")
	fs.Float64Var(&o.Dropout, "dropout", o.Dropout, "dropout")
	fs.Float64Var(&o.Smoothing, "label-smoothing", o.Smoothing, "label smoothing")
	addRunFlags(fs, &o)
	fs.IntVar(&o.DevSentences, "dev-sentences", o.DevSentences, "dev sentences translated at each interval (the final evaluation uses all)")
	fs.StringVar(&o.DType, "dtype", o.DType, "storage of the final model's weights: f32, f16 or int8")
	fs.Float64Var(&o.CharCoverage, "char-coverage", o.CharCoverage, "share of character occurrences the vocabulary covers (1 = every character seen)")
	fs.Float64Var(&o.Augment.Caps, "aug-caps", o.Augment.Caps, "share of pairs added in ALL CAPS on both sides")
	fs.Float64Var(&o.Augment.Lower, "aug-lower", o.Augment.Lower, "share of pairs added in lower case on both sides")
	fs.IntVar(&o.Augment.ShortRepeat, "aug-short-repeat", o.Augment.ShortRepeat, "extra copies of pairs whose German side has at most two words")
	fs.Float64Var(&o.Augment.Concat, "aug-concat", o.Augment.Concat, "share of pairs added as 2–3 random pairs joined")
	fs.Float64Var(&o.Augment.Names, "aug-names", o.Augment.Names, "share of pairs added with a shared name replaced by a random name on both sides")
	fs.Float64Var(&o.Augment.Spans, "aug-spans", o.Augment.Spans, "share of pairs added with a protected span (number, URL, e-mail, code, …) copied to the English side")
	beam := fs.Int("beam", 4, "beam size of dev evaluations")
	plotOnly := fs.Bool("plot", false, "only redraw --out's learning curves ("+train.PlotName+" from "+train.CurvesName+") and exit")
	threads := fs.Int("threads", 0, "cores for the matrix kernels (default: all)")
	if code, ok := parseFlags(fs, args); !ok {
		return code
	}
	if *plotOnly {
		if *out == "" || fs.NArg() > 0 {
			fmt.Fprintln(e.stderr, "train --plot: need --out DIR (a run's folder holding "+train.CurvesName+")")
			return exitUsage
		}
		if err := train.PlotRun(*out, filepath.Base(filepath.Clean(*out))); err != nil {
			fmt.Fprintln(e.stderr, "train --plot:", err)
			return exitFailure
		}
		fmt.Fprintln(e.stdout, filepath.Join(*out, train.PlotName))
		return exitOK
	}
	if *src == "" || *tgt == "" || *out == "" || fs.NArg() > 0 {
		fmt.Fprintln(e.stderr, "train: need --src FILE --tgt FILE --out DIR (and no other arguments)")
		return exitUsage
	}
	if err := o.Validate(); err != nil {
		fmt.Fprintln(e.stderr, "train:", err)
		return exitUsage
	}
	var topts []translate.Option
	if *threads > 0 {
		topts = append(topts, translate.WithThreads(*threads))
	}
	eval := func(ctx context.Context, m *modelfile.Model, src, ref []string) (train.Scores, error) {
		tr, err := translatorOf(m, append(topts, translate.WithBeamSize(*beam), translate.WithBatchSize(32))...)
		if err != nil {
			return train.Scores{}, err
		}
		hyps, line, bleu, err := score(ctx, tr, src, ref)
		if err != nil {
			return train.Scores{}, err
		}
		c, err := sacrebleu.CHRF(hyps, ref)
		return train.Scores{Line: line, BLEU: bleu, ChrF: c.Score}, err
	}
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	if err := train.Run(ctx, o, *src, *tgt, *out, e.stderr, eval); err != nil {
		fmt.Fprintln(e.stderr, "train:", err)
		if ctx.Err() != nil {
			fmt.Fprintln(e.stderr, "train: stopped; run the same command again to resume from the checkpoint")
		}
		return exitFailure
	}
	return exitOK
}

// translatorOf builds a translator from a model in memory. Package
// translate builds translators from model files only (its API has no
// internal types), so the model streams through the file format (float32,
// fast zstd) over a pipe, never held twice in full.
func translatorOf(m *modelfile.Model, opts ...translate.Option) (*translate.Translator, error) {
	pr, pw := io.Pipe()
	go func() {
		pw.CloseWithError(modelfile.Write(pw, m, modelfile.WriteOptions{ZstdLevel: 1}))
	}()
	tr, err := translate.LoadReader(pr, opts...)
	pr.CloseWithError(errors.New("reader done")) // ends the writer if the reader stopped early
	return tr, err
}
