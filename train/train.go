// Package train trains deen's own German→English Transformer in pure Go:
// a dev split that shares no sentence with training, a joint BPE
// vocabulary (bpe.Train), token-count batches of length-sorted sentences,
// the training forward and backward passes over the same nn ops as
// inference, label-smoothed cross-entropy, AdamW with warm-up and
// inverse-square-root decay, gradient clipping, and atomic checkpoints that
// let a killed run resume and end with bit-identical weights.
//
// It knows nothing of search: dev BLEU is computed by a callback the
// caller supplies (the command line uses package translate).
package train

import (
	"context"
	"fmt"
	"io"
	"math"
	"math/rand/v2"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"time"

	"github.com/deen-mt/deen/bpe"
	"github.com/deen-mt/deen/modelfile"
)

// Options are the hyper-parameters and budget of a run. DefaultOptions
// gives the recipe for the default model on a 2-core machine.
type Options struct {
	// Arch is the model trained: "" or modelfile.ArchTransformer for the
	// translation model (Run), modelfile.ArchGPT for the language model
	// (RunLM, whose encoder fields are unused).
	Arch string `json:"arch,omitempty"`
	// Vocab is the joint BPE vocabulary size.
	Vocab int `json:"vocab"`
	// DModel is the model width.
	DModel int `json:"d_model"`
	// EncoderLayers is the number of encoder layers.
	EncoderLayers int `json:"encoder_layers"`
	// DecoderLayers is the number of decoder layers.
	DecoderLayers int `json:"decoder_layers"`
	// Heads is the number of attention heads of both stacks.
	Heads int `json:"heads"`
	// FFN is the inner width of the feed-forward blocks of both stacks.
	FFN int `json:"ffn"`
	// Activation is "relu", "swish" or "gelu".
	Activation string `json:"activation"`
	// MaxLen drops training pairs with more tokens than this on a side.
	MaxLen int `json:"max_len"`

	// BatchTokens bounds a batch's padded tokens (sentences × longest side).
	BatchTokens int `json:"batch_tokens"`
	// LR is the peak learning rate, reached after Warmup steps.
	LR float64 `json:"lr"`
	// Warmup is the number of steps of linear warm-up, after which the
	// rate decays per Schedule.
	Warmup int `json:"warmup"`
	// Schedule is the decay after warm-up: "" (inverse square root of the
	// step, LearningRate) or "cosine" (CosineLearningRate, as nanoGPT, to
	// MinLR at DecaySteps).
	Schedule string `json:"schedule,omitempty"`
	// MinLR is the rate the cosine schedule ends at.
	MinLR float64 `json:"min_lr,omitempty"`
	// DecaySteps is the step where the cosine schedule reaches MinLR (0:
	// MaxSteps).
	DecaySteps int `json:"decay_steps,omitempty"`
	// Beta1 is AdamW's decay of the first moment.
	Beta1 float64 `json:"beta1"`
	// Beta2 is AdamW's decay of the second moment.
	Beta2 float64 `json:"beta2"`
	// AdamEps is AdamW's epsilon, added to the root of the second moment.
	AdamEps float64 `json:"adam_eps"`
	// WeightDecay is AdamW's decoupled weight decay per unit learning rate.
	WeightDecay float64 `json:"weight_decay"`
	// Clip is the global gradient-norm bound (0 = off).
	Clip float64 `json:"clip"`
	// EMA is the decay of the exponential moving average of the weights
	// that the model file ships (0 = ship the raw weights).
	EMA float64 `json:"ema"`
	// Dropout is the dropout probability of embeddings and sub-layer
	// outputs.
	Dropout float64 `json:"dropout"`
	// Smoothing is the label smoothing of the cross-entropy loss.
	Smoothing float64 `json:"smoothing"`
	// Seed fixes initialisation, batch order and dropout.
	Seed uint64 `json:"seed"`
	// Replicas is how many shares of each batch run side by side, one per
	// core (data parallelism); results depend on it.
	Replicas int `json:"replicas"`

	// Hours is the wall-time budget of the whole run over all sessions.
	Hours float64 `json:"hours"`
	// MaxSteps stops after this many updates (0 = only the time budget).
	MaxSteps int `json:"max_steps"`
	// Cooldown is how many steps before MaxSteps the learning rate starts
	// to fall linearly towards zero, whatever the schedule (0 = none; needs
	// MaxSteps). Like the budgets it is taken from the caller on resume,
	// so a run can be given its end once it is clear how far the time
	// budget takes it; a run that hits Hours first ends mid-cooldown.
	Cooldown int `json:"cooldown,omitempty"`
	// CheckpointMinutes is the interval between checkpoints.
	CheckpointMinutes float64 `json:"checkpoint_minutes"`
	// LogEvery is the interval, in steps, between progress lines.
	LogEvery int `json:"log_every"`
	// DevEvery is the interval, in steps, between dev evaluations (0 = only
	// at the end).
	DevEvery int `json:"dev_every"`
	// DevSentences caps the dev sentences translated at each interval
	// evaluation.
	DevSentences int `json:"dev_sentences"`
	// DevK is the dev split modulus (see SplitDev).
	DevK int `json:"dev_k"`
	// DType is how the final model file stores weights: f32, f16 or int8.
	DType string `json:"dtype"`
	// CharCoverage is the share of character occurrences the vocabulary
	// covers (0 = 0.9999, the first default model's value); 1 keeps every
	// character seen, so the symbols of protected spans (@ { } ~ \ `) can
	// be copied.
	CharCoverage float64 `json:"char_coverage"`
	// Augment adds synthetic training pairs (see Augmentation).
	Augment Augmentation `json:"augment"`
}

// DefaultOptions returns the recipe of the default model (see
// docs/training.md).
func DefaultOptions() Options {
	return Options{
		Vocab: 8000, DModel: 320, EncoderLayers: 6, DecoderLayers: 3, Heads: 5, FFN: 1280,
		Activation: "relu", MaxLen: 100,
		BatchTokens: 6000, LR: 7e-4, Warmup: 1000, Beta1: 0.9, Beta2: 0.98, AdamEps: 1e-9,
		WeightDecay: 0.0001, Clip: 1, EMA: 0.999, Dropout: 0.1, Smoothing: 0.1, Seed: 1, Replicas: 2,
		Hours: 5.5, CheckpointMinutes: 10, LogEvery: 50, DevEvery: 1000, DevSentences: 500, DevK: 50,
		DType: "f16", CharCoverage: 1,
		Augment: Augmentation{Caps: 0.04, Lower: 0.03, ShortRepeat: 2, Concat: 0.08, Names: 0.06, Spans: 0.08},
	}
}

// Config returns the model configuration the options imply for a
// vocabulary of v pieces (</s>=0, <unk>=1, <pad>=v-1, as bpe.Train lays
// them out).
func (o Options) Config(v int) modelfile.Config {
	return modelfile.Config{
		Arch: "transformer", VocabSize: v, DModel: o.DModel,
		EncoderLayers: o.EncoderLayers, DecoderLayers: o.DecoderLayers,
		EncoderHeads: o.Heads, DecoderHeads: o.Heads, EncoderFFN: o.FFN, DecoderFFN: o.FFN,
		Activation: o.Activation, ScaleEmbedding: true, Positions: modelfile.PositionsMarian,
		MaxPositions: 512, LayerNormEps: 1e-5,
		PadID: v - 1, EOSID: bpe.TrainEOSID, UnkID: bpe.TrainUnkID, DecoderStartID: v - 1,
		Generation: modelfile.Generation{NumBeams: 4, LengthPenalty: 1, MaxLength: 512, ForcedEOS: true, BadWordsIDs: []int{v - 1}},
	}
}

// Validate checks the options and names the first bad one.
func (o Options) Validate() error {
	switch {
	case o.Schedule != "" && o.Schedule != ScheduleCosine:
		return fmt.Errorf("schedule %q, want %q or empty (inverse square root)", o.Schedule, ScheduleCosine)
	case o.Schedule == ScheduleCosine && max(o.DecaySteps, o.MaxSteps) <= o.Warmup:
		return fmt.Errorf("the cosine schedule needs decay_steps (or max_steps) %d above warmup %d", max(o.DecaySteps, o.MaxSteps), o.Warmup)
	case o.Schedule == ScheduleCosine && (o.MinLR < 0 || o.MinLR > o.LR):
		return fmt.Errorf("min_lr %g, want 0..lr %g", o.MinLR, o.LR)
	case o.Arch != modelfile.ArchGPT && o.Vocab < 16: // a language model takes its tokenizer's
		return fmt.Errorf("vocab %d is too small (want >= 16)", o.Vocab)
	case o.DModel < 2 || o.Heads < 1 || o.DModel%o.Heads != 0 || o.DModel%2 != 0:
		return fmt.Errorf("d_model %d must be even and divisible by heads %d", o.DModel, o.Heads)
	case o.Arch != "" && o.Arch != modelfile.ArchTransformer && o.Arch != modelfile.ArchGPT:
		return fmt.Errorf("arch %q, want %q or %q", o.Arch, modelfile.ArchTransformer, modelfile.ArchGPT)
	case o.Arch != modelfile.ArchGPT && o.EncoderLayers < 1 || o.DecoderLayers < 1 || o.FFN < 1:
		return fmt.Errorf("need at least one encoder and decoder layer and ffn >= 1")
	case o.MaxLen < 2 || o.MaxLen > 512:
		return fmt.Errorf("max_len %d, want 2..512", o.MaxLen)
	case o.BatchTokens < o.MaxLen:
		return fmt.Errorf("batch_tokens %d is below max_len %d", o.BatchTokens, o.MaxLen)
	case o.LR <= 0 || o.Warmup < 1:
		return fmt.Errorf("lr %g and warmup %d must be positive", o.LR, o.Warmup)
	case o.Dropout < 0 || o.Dropout >= 1 || o.Smoothing < 0 || o.Smoothing >= 1:
		return fmt.Errorf("dropout %g and smoothing %g must be in [0, 1)", o.Dropout, o.Smoothing)
	case o.Hours <= 0 && o.MaxSteps <= 0:
		return fmt.Errorf("set a time budget (hours) or a step budget (max_steps)")
	case o.Cooldown < 0 || o.Cooldown > 0 && o.Cooldown >= o.MaxSteps:
		return fmt.Errorf("cooldown %d needs max_steps above it (have %d): the rate falls to zero over the last cooldown steps before max_steps", o.Cooldown, o.MaxSteps)
	case o.EMA < 0 || o.EMA >= 1:
		return fmt.Errorf("ema %g must be in [0, 1)", o.EMA)
	case o.Replicas < 1 || o.Replicas > 64:
		return fmt.Errorf("replicas %d, want 1..64", o.Replicas)
	case o.DevK < 2:
		return fmt.Errorf("dev_k %d, want >= 2", o.DevK)
	case o.CharCoverage < 0 || o.CharCoverage > 1:
		return fmt.Errorf("char_coverage %g, want 0..1", o.CharCoverage)
	}
	if a := o.Augment; a.Caps < 0 || a.Lower < 0 || a.Concat < 0 || a.Names < 0 || a.Spans < 0 || a.ShortRepeat < 0 ||
		a.Caps+a.Lower+a.Concat+a.Names+a.Spans > 5 || a.ShortRepeat > 20 {
		return fmt.Errorf("augmentation shares must be >= 0 and sum to at most 5, short repeats 0..20")
	}
	if _, err := modelfile.ParseDType(o.DType); err != nil {
		return err
	}
	return nil
}

// Scores are an Evaluator's result.
type Scores struct {
	// Line is the human-readable score line (e.g. "BLEU 31.2 … chrF 52.0").
	Line string
	// BLEU and ChrF are the corpus scores.
	BLEU, ChrF float64
}

// ScheduleCosine names the cosine learning-rate schedule (Options.Schedule).
const ScheduleCosine = "cosine"

// learningRate is the rate of step (counting from 1) under o's schedule
// and cooldown.
func (o Options) learningRate(step int) float64 {
	var lr float64
	if o.Schedule == ScheduleCosine {
		decay := o.DecaySteps
		if decay == 0 {
			decay = o.MaxSteps
		}
		lr = CosineLearningRate(step, o.Warmup, decay, o.LR, o.MinLR)
	} else {
		lr = LearningRate(step, o.Warmup, o.LR)
	}
	return lr * CooldownFactor(step, o.MaxSteps, o.Cooldown)
}

// CooldownFactor scales the rate of step (counting from 1) so that it
// falls linearly over the last cooldown steps up to maxSteps: 1 before
// them, cooldown/(cooldown+1) at the first, 1/(cooldown+1) at maxSteps
// (the last update still moves the weights). cooldown 0 gives 1.
func CooldownFactor(step, maxSteps, cooldown int) float64 {
	if cooldown <= 0 || step <= maxSteps-cooldown {
		return 1
	}
	return float64(max(maxSteps-step+1, 0)) / float64(cooldown+1)
}

// Evaluator translates German sentences with a model and scores them
// against the references. The command line supplies one built on package
// translate.
type Evaluator func(ctx context.Context, m *modelfile.Model, src, ref []string) (Scores, error)

// Run is one training run: data from the line-aligned files srcPath and
// tgtPath, everything written to outDir (the dev split as dev.de/dev.en,
// tokenizer files, checkpoint, final model file ModelName). When outDir holds a checkpoint the run
// resumes from it (the options stored in it win over opts, except the
// budgets Hours and MaxSteps and the Cooldown). Progress goes to log; eval may be nil.
// Cancelling ctx checkpoints and returns ctx's error.
func Run(ctx context.Context, opts Options, srcPath, tgtPath, outDir string, log io.Writer, eval Evaluator) error {
	if err := os.MkdirAll(outDir, 0o755); err != nil {
		return err
	}
	ck, err := resume(outDir, &opts, log)
	if err != nil {
		return err
	}
	start := time.Now()
	pairs, err := ReadPairs(srcPath, tgtPath)
	if err != nil {
		return err
	}
	trainPairs, devPairs, err := SplitDev(pairs, opts.DevK)
	if err != nil {
		return err
	}
	fmt.Fprintf(log, "data: %d pairs, %d train, %d dev (hash mod %d), %d dropped as overlapping dev\n",
		len(pairs), len(trainPairs), len(devPairs), opts.DevK, len(pairs)-len(trainPairs)-len(devPairs))
	if err := writeDev(outDir, devPairs); err != nil {
		return err
	}
	if opts.Augment.On() {
		n := len(trainPairs)
		trainPairs = Augment(trainPairs, opts.Augment, opts.Seed)
		fmt.Fprintf(log, "augmented: %d synthetic pairs added (%+v)\n", len(trainPairs)-n, opts.Augment)
	}
	coverage := opts.CharCoverage
	if coverage == 0 {
		coverage = 0.9999
	}
	tok, blobs, err := loadOrTrainTokenizer(outDir, trainPairs, opts.Vocab, coverage, log)
	if err != nil {
		return err
	}
	examples, dropped, err := Tokenize(tok, trainPairs, opts.MaxLen)
	if err != nil {
		return err
	}
	fmt.Fprintf(log, "tokenised: %d training examples (%d longer than %d tokens dropped) in %s\n",
		len(examples), dropped, opts.MaxLen, time.Since(start).Round(time.Second))
	devEx, _, err := Tokenize(tok, devPairs, 512)
	if err != nil {
		return err
	}
	tr, err := newTrainer(opts, opts.Config(tok.VocabSize()), ck)
	if err != nil {
		return err
	}
	if ck != nil && ck.State.Examples != 0 && ck.State.Examples != len(examples) { // 0: not recorded
		return fmt.Errorf("the checkpoint was trained on %d examples but %s and %s give %d: resume with the same corpus, or use a new --out folder", ck.State.Examples, srcPath, tgtPath, len(examples))
	}
	tr.examples, tr.devEx, tr.devPairs, tr.blobs, tr.log, tr.eval = examples, devEx, devPairs, blobs, log, eval
	return tr.run(ctx, outDir, ModelName)
}

// run trains until the budget is spent, recording progress in outDir
// (checkpoint, curves) and writes the model file outDir/name.
func (tr *trainer) run(ctx context.Context, outDir, name string) error {
	tr.state.Examples = len(tr.examples)
	tr.ckPath = filepath.Join(outDir, CheckpointName)
	curves, err := os.OpenFile(filepath.Join(outDir, CurvesName), os.O_CREATE|os.O_WRONLY|os.O_APPEND, 0o644)
	if err != nil {
		return err
	}
	defer curves.Close()
	tr.curves = curves
	if err := tr.loop(ctx); err != nil {
		return err
	}
	return tr.finish(ctx, filepath.Join(outDir, name))
}

// resume reads the checkpoint in outDir, if any: its options replace
// *opts except the budgets Hours and MaxSteps and the Cooldown before the
// end. It validates the options
// either way; no checkpoint gives a nil Checkpoint.
func resume(outDir string, opts *Options, log io.Writer) (*Checkpoint, error) {
	ckPath := filepath.Join(outDir, CheckpointName)
	var ck *Checkpoint
	if _, err := os.Stat(ckPath); err == nil {
		if ck, err = ReadCheckpoint(ckPath); err != nil {
			return nil, err
		}
		hours, steps, cooldown := opts.Hours, opts.MaxSteps, opts.Cooldown
		*opts = ck.Options
		opts.Hours, opts.MaxSteps, opts.Cooldown = hours, steps, cooldown
		fmt.Fprintf(log, "resuming from %s at step %d (epoch %d, batch %d, %.1f h spent)\n",
			ckPath, ck.State.Step, ck.State.Epoch, ck.State.Batch, ck.State.Seconds/3600)
	}
	if err := opts.Validate(); err != nil {
		return nil, fmt.Errorf("train options: %w", err)
	}
	return ck, nil
}

// ModelName is the final model file's name inside the output folder.
const ModelName = "model.deen"

// CurvesName is the learning-curve record inside the output folder: one
// tab-separated line per progress line ("train", step, hours, training
// loss per token) and per dev evaluation ("dev", step, hours, dev loss,
// BLEU, chrF, sentences translated; BLEU and chrF are -1 without an
// evaluator). A resumed run appends to it; lines of steps that a resume
// repeats (work after the last checkpoint) appear twice, and the later
// one wins (ReadCurves).
const CurvesName = "curves.tsv"

// loadOrTrainTokenizer reads the tokenizer files from outDir, or trains a
// joint BPE vocabulary on both sides of pairs and writes them there.
func loadOrTrainTokenizer(outDir string, pairs []Pair, vocab int, coverage float64, log io.Writer) (*bpe.Marian, map[string][]byte, error) {
	names := []string{bpe.BlobSourceSPM, bpe.BlobTargetSPM, bpe.BlobVocab}
	blobs := map[string][]byte{}
	for _, n := range names {
		b, err := os.ReadFile(filepath.Join(outDir, n))
		if err != nil {
			blobs = nil
			break
		}
		blobs[n] = b
	}
	if blobs == nil {
		t0 := time.Now()
		text := make([]string, 0, 2*len(pairs))
		for _, p := range pairs {
			text = append(text, p.De, p.En)
		}
		spm, err := bpe.Train(text, bpe.TrainConfig{VocabSize: vocab, CharacterCoverage: coverage})
		if err != nil {
			return nil, nil, err
		}
		if blobs, err = bpe.MarianBlobs(spm); err != nil {
			return nil, nil, err
		}
		for _, n := range names {
			if err := writeFileAtomic(filepath.Join(outDir, n), blobs[n]); err != nil {
				return nil, nil, err
			}
		}
		fmt.Fprintf(log, "vocabulary: trained %d joint BPE pieces in %s\n", spm.Len(), time.Since(t0).Round(time.Second))
	}
	tok, err := bpe.NewMarianFromBlobs(blobs)
	if err != nil {
		return nil, nil, fmt.Errorf("tokenizer files in %s: %w (delete them to retrain)", outDir, err)
	}
	return tok, blobs, nil
}

// writeDev writes the dev pairs to outDir/dev.de and dev.en (for
// translate eval).
func writeDev(outDir string, dev []Pair) error {
	var de, en strings.Builder
	for _, p := range dev {
		de.WriteString(p.De + "\n")
		en.WriteString(p.En + "\n")
	}
	if err := writeFileAtomic(filepath.Join(outDir, "dev.de"), []byte(de.String())); err != nil {
		return err
	}
	return writeFileAtomic(filepath.Join(outDir, "dev.en"), []byte(en.String()))
}

// writeFileAtomic writes data to path through a synced temporary file.
func writeFileAtomic(path string, data []byte) error {
	f, err := os.CreateTemp(filepath.Dir(path), "."+filepath.Base(path)+".tmp-*")
	if err != nil {
		return err
	}
	tmp := f.Name()
	if _, err = f.Write(data); err == nil {
		if err = f.Chmod(0o644); err == nil {
			err = f.Sync()
		}
		if err == nil {
			err = f.Close()
		}
	}
	if err != nil {
		f.Close()
		os.Remove(tmp)
		return err
	}
	return os.Rename(tmp, path)
}

// Tokenize encodes pairs; pairs with more than maxLen tokens on a side
// (end-of-sentence included) are dropped and counted.
func Tokenize(tok *bpe.Marian, pairs []Pair, maxLen int) (ex []Example, dropped int, err error) {
	for _, p := range pairs {
		s, err := tok.EncodeSource(p.De)
		if err != nil {
			return nil, 0, fmt.Errorf("%q: %w", p.De, err)
		}
		t, err := tok.EncodeTarget(p.En)
		if err != nil {
			return nil, 0, fmt.Errorf("%q: %w", p.En, err)
		}
		if len(s) > maxLen || len(t) > maxLen {
			dropped++
			continue
		}
		ex = append(ex, Example{Src: s, Tgt: t})
	}
	return ex, dropped, nil
}

// net is a model under training: the translation Model or the language
// model LM.
type net interface {
	// Step sets the gradients to those of the mean loss of the examples
	// idx of ex (see Model.Step).
	Step(ex []Example, idx []int, rng *rand.Rand) (loss float64, tokens int, err error)
	// Loss returns the summed loss without dropout and the token count.
	Loss(ex []Example, batchTokens int) (loss float64, tokens int, err error)
	// SetReplicas sets the data-parallel replicas of Step.
	SetReplicas(n int) error
	params() *Params
	config() modelfile.Config
	setDropout(p, smoothing float32)
}

// trainer is one run's mutable state.
type trainer struct {
	opts     Options
	model    net
	adam     *AdamW
	state    State
	ema      []float32 // moving average of the weights, nil when off
	pcg      *rand.PCG
	rng      *rand.Rand
	examples []Example
	devEx    []Example
	devPairs []Pair
	blobs    map[string][]byte
	log      io.Writer
	eval     Evaluator
	ckPath   string
	curves   io.Writer // CurvesName, nil in tests that do not record
}

// newNet builds a fresh model of cfg (a translation Model or, for arch
// gpt, an LM) initialised from seed.
func newNet(cfg modelfile.Config, seed uint64) (net, error) {
	if cfg.Arch == modelfile.ArchGPT {
		return NewLM(cfg, seed)
	}
	return NewModel(cfg, seed)
}

// bindNet builds the model of cfg over existing parameters.
func bindNet(cfg modelfile.Config, ps *Params) (net, error) {
	if cfg.Arch == modelfile.ArchGPT {
		return bindLM(cfg, ps)
	}
	return bindModel(cfg, ps)
}

// newTrainer builds the model of cfg and the optimizer fresh, or from ck.
func newTrainer(opts Options, cfg modelfile.Config, ck *Checkpoint) (*trainer, error) {
	tr := &trainer{opts: opts}
	var err error
	if ck == nil {
		if tr.model, err = newNet(cfg, opts.Seed); err != nil {
			return nil, err
		}
		tr.adam = NewAdamW(len(tr.model.params().W), opts.Beta1, opts.Beta2, opts.AdamEps, opts.WeightDecay)
		tr.pcg = rand.NewPCG(opts.Seed, 0xd409)
	} else {
		if ck.Config.VocabSize != cfg.VocabSize || ck.Config.Arch != cfg.Arch {
			return nil, fmt.Errorf("the checkpoint holds a %q model with %d pieces but this run wants a %q model with %d; delete the output folder to start afresh", ck.Config.Arch, ck.Config.VocabSize, cfg.Arch, cfg.VocabSize)
		}
		if tr.model, err = bindNet(ck.Config, ck.Params); err != nil {
			return nil, err
		}
		tr.adam, tr.state = ck.Adam, ck.State
		tr.pcg = &rand.PCG{}
		if err := tr.pcg.UnmarshalBinary(ck.State.RNG); err != nil {
			return nil, fmt.Errorf("checkpoint RNG state: %w", err)
		}
	}
	if opts.EMA > 0 {
		if ck != nil && ck.EMA != nil {
			tr.ema = ck.EMA
		} else {
			tr.ema = slices.Clone(tr.model.params().W)
		}
	}
	tr.rng = rand.New(tr.pcg)
	tr.model.setDropout(float32(opts.Dropout), float32(opts.Smoothing))
	if err := tr.model.SetReplicas(opts.Replicas); err != nil {
		return nil, err
	}
	return tr, nil
}

// done reports whether the budget is spent.
func (tr *trainer) done(elapsed float64) bool {
	if tr.opts.MaxSteps > 0 && tr.state.Step >= tr.opts.MaxSteps {
		return true
	}
	return tr.opts.Hours > 0 && elapsed >= tr.opts.Hours*3600
}

// loop trains until the budget is spent or ctx is cancelled, writing
// checkpoints on the way and at the end.
func (tr *trainer) loop(ctx context.Context) error {
	sessionStart := time.Now()
	base := tr.state.Seconds
	elapsed := func() float64 { return base + time.Since(sessionStart).Seconds() }
	lastCk := time.Now()
	var winLoss float64
	var winTok int
	winStart := time.Now()
	for !tr.done(elapsed()) {
		batches := Batches(tr.examples, tr.opts.BatchTokens, tr.opts.Seed, tr.state.Epoch)
		for tr.state.Batch < len(batches) && !tr.done(elapsed()) {
			if err := ctx.Err(); err != nil {
				tr.state.Seconds = elapsed()
				if cerr := tr.checkpoint(); cerr != nil {
					return cerr
				}
				return err
			}
			loss, ntok, gnorm, err := tr.step(batches[tr.state.Batch])
			if err != nil {
				return err
			}
			tr.state.Batch++
			winLoss += loss
			winTok += ntok
			if tr.state.Step%tr.opts.LogEvery == 0 {
				secs := time.Since(winStart).Seconds()
				eta := math.Inf(1)
				if tr.opts.Hours > 0 {
					eta = tr.opts.Hours*3600 - elapsed()
				}
				if tr.opts.MaxSteps > 0 {
					eta = min(eta, secs/float64(tr.opts.LogEvery)*float64(tr.opts.MaxSteps-tr.state.Step))
				}
				fmt.Fprintf(tr.log, "step %d epoch %d loss %.4f lr %.2e gnorm %.2f tok/s %.0f elapsed %s eta %s\n",
					tr.state.Step, tr.state.Epoch, winLoss/float64(max(winTok, 1)),
					tr.opts.learningRate(tr.state.Step), gnorm, float64(winTok)/secs,
					fmtDuration(elapsed()), fmtDuration(eta))
				tr.record("train\t%d\t%.4f\t%.4f\n", tr.state.Step, elapsed()/3600, winLoss/float64(max(winTok, 1)))
				winLoss, winTok, winStart = 0, 0, time.Now()
			}
			if tr.opts.DevEvery > 0 && tr.state.Step%tr.opts.DevEvery == 0 {
				if err := tr.devEval(ctx, tr.opts.DevSentences, elapsed()/3600); err != nil {
					if ctx.Err() != nil { // interrupted while translating: keep the progress
						tr.state.Seconds = elapsed()
						if cerr := tr.checkpoint(); cerr != nil {
							return cerr
						}
					}
					return err
				}
			}
			if time.Since(lastCk).Minutes() >= tr.opts.CheckpointMinutes {
				tr.state.Seconds = elapsed()
				if err := tr.checkpoint(); err != nil {
					return err
				}
				lastCk = time.Now()
			}
		}
		if tr.state.Batch >= len(batches) {
			tr.state.Epoch++
			tr.state.Batch = 0
		}
	}
	tr.state.Seconds = elapsed()
	return tr.checkpoint()
}

// step trains on one batch and returns its summed loss, target tokens and
// gradient norm before clipping.
func (tr *trainer) step(idx []int) (loss float64, ntok int, gnorm float64, err error) {
	m := tr.model
	if loss, ntok, err = m.Step(tr.examples, idx, tr.rng); err != nil {
		return 0, 0, 0, err
	}
	gnorm = m.params().ClipGrad(tr.opts.Clip)
	if math.IsNaN(gnorm) || math.IsInf(gnorm, 0) {
		return 0, 0, 0, fmt.Errorf("train: gradient norm %v at step %d; lower the learning rate or resume from the last checkpoint", gnorm, tr.state.Step+1)
	}
	tr.state.Step++
	tr.adam.Step(m.params(), tr.opts.learningRate(tr.state.Step))
	if tr.ema != nil {
		// The decay ramps up over the first steps (as TensorFlow's
		// num_updates) so the average does not remember the initialisation.
		d := float32(min(tr.opts.EMA, float64(1+tr.state.Step)/float64(10+tr.state.Step)))
		for i, w := range m.params().W {
			tr.ema[i] = d*tr.ema[i] + (1-d)*w
		}
	}
	tr.state.Tokens += int64(ntok)
	return loss, ntok, gnorm, nil
}

// checkpoint writes the run's state atomically.
func (tr *trainer) checkpoint() error {
	rng, err := tr.pcg.MarshalBinary()
	if err != nil {
		return err
	}
	tr.state.RNG = rng
	return WriteCheckpoint(tr.ckPath, &Checkpoint{Config: tr.model.config(), Options: tr.opts, State: tr.state, Params: tr.model.params(), Adam: tr.adam, EMA: tr.ema})
}

// devEval prints the dev loss (all dev pairs) and, with an evaluator, the
// dev scores of the first n dev pairs, of the weights the model file
// ships (the moving average when kept; the raw weights' loss too then).
func (tr *trainer) devEval(ctx context.Context, n int, hours float64) error {
	t0 := time.Now()
	line := fmt.Sprintf("dev step %d:", tr.state.Step)
	if tr.ema != nil {
		raw, err := tr.devLoss(nil)
		if err != nil {
			return err
		}
		line += fmt.Sprintf(" raw weights loss %.4f;", raw)
	}
	loss, err := tr.devLoss(tr.ema)
	if err != nil {
		return err
	}
	line += fmt.Sprintf(" loss %.4f ppl %.2f", loss, math.Exp(loss))
	sc := Scores{BLEU: -1, ChrF: -1}
	if tr.eval != nil {
		n = min(n, len(tr.devPairs))
		if n <= 0 {
			n = len(tr.devPairs)
		}
		src, ref := make([]string, n), make([]string, n)
		for i, p := range tr.devPairs[:n] {
			src[i], ref[i] = p.De, p.En
		}
		if sc, err = tr.eval(ctx, tr.modelFile(), src, ref); err != nil {
			return err
		}
		line += fmt.Sprintf(", %d sentences: %s", n, sc.Line)
		if n == min(tr.opts.DevSentences, len(tr.devPairs)) { // the interval subset: comparable over the run
			tr.state.BestBLEU = max(tr.state.BestBLEU, sc.BLEU)
			line += fmt.Sprintf("; best so far %.2f", tr.state.BestBLEU)
		}
	}
	fmt.Fprintf(tr.log, "%s (%s)\n", line, time.Since(t0).Round(time.Second))
	tr.record("dev\t%d\t%.4f\t%.4f\t%.2f\t%.2f\t%d\n", tr.state.Step, hours, loss, sc.BLEU, sc.ChrF, n)
	if tr.curves != nil {
		dir := filepath.Dir(tr.ckPath)
		title := fmt.Sprintf("%s: d%d, %d+%d layers", filepath.Base(dir), tr.opts.DModel, tr.opts.EncoderLayers, tr.opts.DecoderLayers)
		if err := PlotRun(dir, title); err != nil { // a picture never stops a run
			fmt.Fprintf(tr.log, "learning curves not drawn: %v\n", err)
		}
	}
	return nil
}

// record appends a line to the learning-curve record, when there is one.
func (tr *trainer) record(format string, args ...any) {
	if tr.curves != nil {
		fmt.Fprintf(tr.curves, format, args...)
	}
}

// Loss returns the summed loss (no dropout) and target-token count of ex,
// in batches of at most batchTokens padded tokens.
func (m *Model) Loss(ex []Example, batchTokens int) (loss float64, tokens int, err error) {
	var b Batch
	for _, idx := range Batches(ex, batchTokens, 0, 0) {
		MakeBatch(&b, ex, idx, int32(m.Config.DecoderStartID))
		l, n, err := m.Forward(&b, nil)
		if err != nil {
			return 0, 0, err
		}
		loss += l
		tokens += n
	}
	return loss, tokens, nil
}

// devLoss returns the mean dev loss per target token with the weights w
// (nil: the current weights), which it swaps in and out of the model.
func (tr *trainer) devLoss(w []float32) (float64, error) {
	if w != nil {
		ps := tr.model.params()
		saved := slices.Clone(ps.W)
		copy(ps.W, w)
		defer copy(ps.W, saved)
	}
	loss, tokens, err := tr.model.Loss(tr.devEx, tr.opts.BatchTokens)
	return loss / float64(max(tokens, 1)), err
}

// modelFile returns the weights the model file ships (the moving average
// when kept) as a model file (weights copied).
func (tr *trainer) modelFile() *modelfile.Model {
	mf := tr.model.params().modelFile(tr.model.config(), tr.blobs)
	if tr.ema != nil {
		for _, p := range tr.model.params().List {
			copy(mf.Tensors[p.Name].Data, tr.ema[p.off:p.off+len(p.W)])
		}
	}
	return mf
}

// ModelFile returns the model's weights (copied) with the tokenizer blobs
// as a model file.
func (m *Model) ModelFile(blobs map[string][]byte) *modelfile.Model {
	return m.Params.modelFile(m.Config, blobs)
}

// modelFile returns the weights (copied) as a model file of config cfg
// with the tokenizer blobs.
func (ps *Params) modelFile(cfg modelfile.Config, blobs map[string][]byte) *modelfile.Model {
	mf := &modelfile.Model{Config: cfg, Tensors: map[string]*modelfile.Tensor{}, Blobs: blobs}
	for _, p := range ps.List {
		mf.Tensors[p.Name] = &modelfile.Tensor{Name: p.Name, Shape: p.Shape, Data: append([]float32(nil), p.W...)}
	}
	return mf
}

// finish writes the final model file (the moving average of the weights,
// or the raw weights when their dev loss is lower) and evaluates it on the
// whole dev set.
func (tr *trainer) finish(ctx context.Context, path string) error {
	if tr.ema != nil { // ship the average unless the raw weights do better on dev
		raw, err := tr.devLoss(nil)
		if err != nil {
			return err
		}
		avg, err := tr.devLoss(tr.ema)
		if err != nil {
			return err
		}
		if raw < avg {
			fmt.Fprintf(tr.log, "shipping the raw weights: dev loss %.4f < %.4f of the moving average\n", raw, avg)
			tr.ema = nil
		}
	}
	dt, _ := modelfile.ParseDType(tr.opts.DType)
	if err := modelfile.WriteFile(path, tr.modelFile(), modelfile.WriteOptions{DType: dt, ZstdLevel: 9}); err != nil {
		return err
	}
	st, err := os.Stat(path)
	if err != nil {
		return err
	}
	fmt.Fprintf(tr.log, "wrote %s (%.1f MB, %s) after %d steps, %.2f h\n", path, float64(st.Size())/1e6, tr.opts.DType, tr.state.Step, tr.state.Seconds/3600)
	return tr.devEval(ctx, len(tr.devPairs), tr.state.Seconds/3600)
}

// fmtDuration formats seconds as h:mm:ss.
func fmtDuration(s float64) string {
	if s < 0 || math.IsInf(s, 0) || math.IsNaN(s) {
		s = 0
	}
	t := int(s)
	return fmt.Sprintf("%d:%02d:%02d", t/3600, t/60%60, t%60)
}
