package train

import (
	"context"
	"fmt"
	"io"
	"math/rand/v2"
	"os"
	"path/filepath"
	"strings"
	"time"

	"github.com/deen-mt/deen/bpe"
	"github.com/deen-mt/deen/gpt"
	"github.com/deen-mt/deen/modelfile"
	"github.com/deen-mt/deen/nn"
)

// This file trains package gpt's language model with the same machinery
// as the translation model (trainer: batches, AdamW, schedule, clipping,
// checkpoints and resume, data-parallel replicas, model file).

// DefaultLMOptions returns the recipe of the English language model (see
// docs/gpt.md): a 4-layer GPT of width 256 with block size 128 over the
// translator's joint vocabulary, nanoGPT's AdamW (β2 0.95, weight decay
// 0.1) and cosine schedule, 2,500 steps of 4,096 tokens, at most 2 h.
func DefaultLMOptions() Options {
	return Options{
		Arch: modelfile.ArchGPT, DModel: 256, DecoderLayers: 4, Heads: 4, FFN: 1024, Activation: "gelu",
		MaxLen: 128, BatchTokens: 4096,
		LR: 1e-3, Warmup: 200, Schedule: ScheduleCosine, MinLR: 1e-4,
		Beta1: 0.9, Beta2: 0.95, AdamEps: 1e-8, WeightDecay: 0.1, Clip: 1, Dropout: 0.1,
		Seed: 1, Replicas: 2, Hours: 2, MaxSteps: 2500, CheckpointMinutes: 10, LogEvery: 50,
		DevEvery: 500, DevK: 50, DType: "f16",
	}
}

// LMConfig returns the GPT config that o (Arch gpt) implies over the
// vocabulary of tok: its special ids, the start id being the padding id
// as on the translator's target side.
func (o Options) LMConfig(tok *bpe.Marian) modelfile.Config {
	c := gpt.NewConfig(tok.VocabSize(), o.DModel, o.DecoderLayers, o.Heads, o.MaxLen, false)
	c.EOSID, c.UnkID, c.PadID, c.DecoderStartID = int(tok.EOSID()), int(tok.UnkID()), int(tok.PadID()), int(tok.PadID())
	c.Generation.BadWordsIDs = []int{int(tok.PadID())}
	return c
}

// LM is a GPT language model under training: its parameters (named as in
// modelfile.Config for arch gpt) and the training passes of package gpt,
// once per replica.
type LM struct {
	// Config is the architecture (Arch gpt).
	Config modelfile.Config
	// Params holds weights and gradients.
	Params *Params
	// Dropout is the dropout probability used by training passes.
	Dropout float32

	reps []*lmReplica
}

// lmReplica is one training pass over the shared weights.
type lmReplica struct {
	lm    *LM
	tr    *gpt.Trainer
	g     []float32
	batch Batch
}

// NewLM lays out the parameters cfg implies, initialised as nanoGPT
// initialises a GPT (gpt.Init) from seed.
func NewLM(cfg modelfile.Config, seed uint64) (*LM, error) {
	m, err := gpt.NewRandom(cfg, seed, nil)
	if err != nil {
		return nil, err
	}
	var names []string
	var shapes [][]int
	var decay []bool
	for _, s := range cfg.Tensors() {
		names, shapes, decay = append(names, s.Name), append(shapes, s.Shape), append(decay, len(s.Shape) == 2)
	}
	ps := NewParams(names, shapes, decay)
	for _, p := range ps.List {
		copy(p.W, m.Tensors[p.Name].Data)
	}
	return bindLM(cfg, ps)
}

// bindLM builds an LM over existing parameters.
func bindLM(cfg modelfile.Config, ps *Params) (*LM, error) {
	m := &LM{Config: cfg, Params: ps}
	return m, m.SetReplicas(1)
}

// SetReplicas sets how many replicas Step runs side by side (see
// Model.SetReplicas).
func (m *LM) SetReplicas(n int) error {
	var err error
	m.reps, err = resizeReplicas(m.reps, n, m.Params, func(grad []float32) (*lmReplica, error) {
		tr, err := gpt.NewTrainer(m.Params, m.Params.GradsIn(grad), m.Config)
		if err != nil {
			return nil, fmt.Errorf("train: %w", err)
		}
		return &lmReplica{lm: m, tr: tr, g: grad}, nil
	})
	return err
}

func (m *LM) params() *Params            { return m.Params }
func (m *LM) config() modelfile.Config   { return m.Config }
func (m *LM) setDropout(p, _ float32)    { m.Dropout = p }
func (r *lmReplica) grad() []float32     { return r.g }
func (r *lmReplica) backward(sc float32) { r.tr.Backward(r.batch.Labels, sc) }
func (m *LM) passes() (ps []replicaPass) {
	for _, r := range m.reps {
		ps = append(ps, r)
	}
	return ps
}

// forward packs the examples idx (their Tgt ids are the sentences, end id
// last) and returns their summed loss and token count; rng nil turns
// dropout off.
func (r *lmReplica) forward(ex []Example, idx []int, rng *rand.Rand) (float64, int, error) {
	c := r.lm.Config
	MakeBatch(&r.batch, ex, idx, int32(c.DecoderStartID))
	b := &r.batch
	for i, l := range b.TgtLen {
		if l < 1 || l > c.MaxPositions {
			return 0, 0, fmt.Errorf("train: sentence %d has %d tokens, want 1..%d", i, l, c.MaxPositions)
		}
	}
	for _, id := range b.Labels {
		if id < 0 || int(id) >= c.VocabSize {
			return 0, 0, fmt.Errorf("train: id %d outside the vocabulary 0..%d", id, c.VocabSize-1)
		}
	}
	p := r.lm.Dropout
	if rng == nil {
		p = 0
	}
	loss, n := r.tr.Forward(b.TgtIn, b.Labels, nn.Seqs{Off: b.TgtOff, Len: b.TgtLen}, p, rng)
	return loss, n, nil
}

// Step sets the gradients to those of the mean loss over the tokens of
// the examples idx of ex (see Model.Step).
func (m *LM) Step(ex []Example, idx []int, rng *rand.Rand) (loss float64, tokens int, err error) {
	return stepReplicas(m.Params, m.passes(), ex, idx, rng)
}

// Loss returns the summed loss (no dropout) and token count of ex.
func (m *LM) Loss(ex []Example, batchTokens int) (loss float64, tokens int, err error) {
	for _, idx := range Batches(ex, batchTokens, 0, 0) {
		l, n, err := m.reps[0].forward(ex, idx, nil)
		if err != nil {
			return 0, 0, err
		}
		loss += l
		tokens += n
	}
	return loss, tokens, nil
}

// LM output file names inside the output folder.
const (
	// LMName is the final language model file.
	LMName = "lm.deen"
	// LMTrainText and LMDevText hold the training and held-out sentences
	// of the run (one per line), for baselines such as the bigram model.
	LMTrainText = "train.txt"
	LMDevText   = "dev.txt"
)

// RunLM trains a GPT language model (opts.Arch gpt) on the lines of
// textPath with the tokenizer blobs (a translation model's, so ids match
// its target side), writing into outDir the held-out split (sentences
// whose hash is 0 mod DevK; training drops every sentence equal to one of
// them), the checkpoint, the learning curves and the model file LMName.
// Sentences equal (normalised) to one of holdout (e.g. the English side of
// a translator's dev set, TranslatorDev) are never trained on. When outDir
// holds a checkpoint the run resumes from it (see Run). Progress goes to
// log.
func RunLM(ctx context.Context, opts Options, textPath string, holdout []string, blobs map[string][]byte, outDir string, log io.Writer) error {
	if err := os.MkdirAll(outDir, 0o755); err != nil {
		return err
	}
	if opts.Arch != modelfile.ArchGPT {
		return fmt.Errorf("train: RunLM needs options with arch %q (DefaultLMOptions)", modelfile.ArchGPT)
	}
	if opts.Schedule == ScheduleCosine && opts.DecaySteps == 0 {
		opts.DecaySteps = opts.MaxSteps // fixed now, so that a resume with another budget keeps the schedule
	}
	ck, err := resume(outDir, &opts, log)
	if err != nil {
		return err
	}
	tok, err := bpe.NewMarianFromBlobs(blobs)
	if err != nil {
		return fmt.Errorf("train: tokenizer: %w", err)
	}
	lines, err := readLines(textPath)
	if err != nil {
		return err
	}
	held := map[string]bool{}
	for _, l := range holdout {
		held[Normalize(l)] = true
	}
	var pairs []Pair
	dropped := 0
	for _, l := range lines {
		l = strings.TrimSpace(l)
		switch {
		case l == "":
		case held[Normalize(l)]:
			dropped++
		default:
			pairs = append(pairs, Pair{De: l, En: l})
		}
	}
	if len(pairs) == 0 {
		return fmt.Errorf("%s holds no sentence to train on", textPath)
	}
	trainPairs, devPairs, err := SplitDev(pairs, opts.DevK)
	if err != nil {
		return err
	}
	fmt.Fprintf(log, "data: %d sentences, %d train, %d dev (hash mod %d), %d dropped as held out\n",
		len(pairs), len(trainPairs), len(devPairs), opts.DevK, dropped)
	for _, f := range []struct {
		name  string
		pairs []Pair
	}{{LMTrainText, trainPairs}, {LMDevText, devPairs}} {
		var b strings.Builder
		for _, p := range f.pairs {
			b.WriteString(p.En + "\n")
		}
		if err := writeFileAtomic(filepath.Join(outDir, f.name), []byte(b.String())); err != nil {
			return err
		}
	}
	t0 := time.Now()
	examples, long, err := tokenizeText(tok, trainPairs, opts.MaxLen)
	if err != nil {
		return err
	}
	devEx, _, err := tokenizeText(tok, devPairs, opts.MaxLen)
	if err != nil {
		return err
	}
	fmt.Fprintf(log, "tokenised: %d training sentences (%d longer than %d tokens dropped), %d dev, in %s\n",
		len(examples), long, opts.MaxLen, len(devEx), time.Since(t0).Round(time.Second))
	tr, err := newTrainer(opts, opts.LMConfig(tok), ck)
	if err != nil {
		return err
	}
	if ck != nil && ck.State.Examples != len(examples) {
		return fmt.Errorf("the checkpoint was trained on %d sentences but %s gives %d: resume with the same text, or use a new output folder", ck.State.Examples, textPath, len(examples))
	}
	tr.examples, tr.devEx, tr.blobs, tr.log = examples, devEx, blobs, log
	return tr.run(ctx, outDir, LMName)
}

// tokenizeText encodes the English side of pairs as target ids (end id
// last); sentences of more than maxLen tokens are dropped and counted.
func tokenizeText(tok *bpe.Marian, pairs []Pair, maxLen int) (ex []Example, dropped int, err error) {
	for _, p := range pairs {
		t, err := tok.EncodeTarget(p.En)
		if err != nil {
			return nil, 0, fmt.Errorf("%q: %w", p.En, err)
		}
		if len(t) > maxLen {
			dropped++
			continue
		}
		ex = append(ex, Example{Tgt: t})
	}
	return ex, dropped, nil
}

// TranslatorDev returns the English sentences of the dev split that Run
// makes of the line-aligned files srcPath and tgtPath with modulus k (the
// translator's held-out pairs), to hold out of a language model's training.
func TranslatorDev(srcPath, tgtPath string, k int) ([]string, error) {
	pairs, err := ReadPairs(srcPath, tgtPath)
	if err != nil {
		return nil, err
	}
	_, dev, err := SplitDev(pairs, k)
	if err != nil {
		return nil, err
	}
	en := make([]string, len(dev))
	for i, p := range dev {
		en[i] = p.En
	}
	return en, nil
}
