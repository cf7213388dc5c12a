package train

import (
	"fmt"
	"math"
	"math/rand/v2"
	"strings"
	"sync"

	"github.com/deen-mt/deen/decoder"
	"github.com/deen-mt/deen/encoder"
	"github.com/deen-mt/deen/internal/kernels"
	"github.com/deen-mt/deen/modelfile"
	"github.com/deen-mt/deen/nn"
)

// This file joins the training passes of the layer packages
// (encoder.Trainer, decoder.Trainer, crossattn.NewTrainers, over the
// sub-layer trainers of nn) into the whole model over a packed
// batch: sentences lie end to end without padding, every per-token op runs
// once over all rows with one Gemm, and attention runs per sentence through
// the same nn.AttentionForward the inference layers use.

// Batch is a packed batch of training pairs.
type Batch struct {
	// Src holds the source ids of all sentences end to end.
	Src []int32
	// SrcOff[b] is the offset of sentence b in Src.
	SrcOff []int
	// SrcLen[b] is the length of sentence b in Src.
	SrcLen []int
	// TgtIn holds the decoder inputs (start id, then the target without its
	// last id) and Labels the ids to predict, both end to end.
	TgtIn, Labels []int32
	// TgtOff[b] is the offset of sentence b in TgtIn and Labels.
	TgtOff []int
	// TgtLen[b] is the length of sentence b in TgtIn and Labels.
	TgtLen []int
}

// MakeBatch packs the examples idx of ex for a model whose decoder starts
// with startID, reusing b's slices.
func MakeBatch(b *Batch, ex []Example, idx []int, startID int32) {
	b.Src, b.TgtIn, b.Labels = b.Src[:0], b.TgtIn[:0], b.Labels[:0]
	b.SrcOff, b.SrcLen, b.TgtOff, b.TgtLen = b.SrcOff[:0], b.SrcLen[:0], b.TgtOff[:0], b.TgtLen[:0]
	for _, i := range idx {
		e := ex[i]
		b.SrcOff, b.SrcLen = append(b.SrcOff, len(b.Src)), append(b.SrcLen, len(e.Src))
		b.Src = append(b.Src, e.Src...)
		b.TgtOff, b.TgtLen = append(b.TgtOff, len(b.TgtIn)), append(b.TgtLen, len(e.Tgt))
		b.TgtIn = append(b.TgtIn, startID)
		b.TgtIn = append(b.TgtIn, e.Tgt[:len(e.Tgt)-1]...)
		b.Labels = append(b.Labels, e.Tgt...)
	}
}

// Model is a Transformer under training: its parameters (named as in
// modelfile.Config) and the training passes of the encoder and decoder
// stacks over them, once per replica (see SetReplicas).
type Model struct {
	// Config is the architecture; only post-norm, sinusoidal positions and
	// a tied output projection are trained here.
	Config modelfile.Config
	// Params holds weights and gradients.
	Params *Params
	// Dropout is the dropout probability used by training passes.
	Dropout float32
	// Smoothing is the label smoothing of the loss.
	Smoothing float32

	reps []*replica
}

// replica is one set of training passes over the shared weights, with its
// own activations and (but for the first) its own gradient buffer.
type replica struct {
	enc   *encoder.Trainer
	dec   *decoder.Trainer
	grad  []float32 // Params.G for the first replica
	dMem  []float32
	nSrc  int
	batch Batch
}

// NewModel lays out the parameters cfg implies (without final_logits_bias)
// and initialises them from seed: Xavier-uniform linear weights, zero
// biases, unit layer-norm gains, embedding N(0, d^-1/2) with a zero pad row.
func NewModel(cfg modelfile.Config, seed uint64) (*Model, error) {
	if err := cfg.Validate(); err != nil {
		return nil, err
	}
	var names []string
	var shapes [][]int
	var decay []bool
	for _, s := range cfg.Tensors() {
		if s.Optional {
			continue
		}
		names, shapes, decay = append(names, s.Name), append(shapes, s.Shape), append(decay, len(s.Shape) == 2)
	}
	ps := NewParams(names, shapes, decay)
	rng := rand.New(rand.NewPCG(seed, 0x5eed))
	for _, p := range ps.List {
		switch {
		case p.Name == "embed.weight":
			std := math.Pow(float64(cfg.DModel), -0.5)
			for i := range p.W {
				p.W[i] = float32(rng.NormFloat64() * std)
			}
			clear(p.W[cfg.PadID*cfg.DModel : (cfg.PadID+1)*cfg.DModel])
		case len(p.Shape) == 2:
			a := math.Sqrt(6 / float64(p.Shape[0]+p.Shape[1]))
			for i := range p.W {
				p.W[i] = float32((2*rng.Float64() - 1) * a)
			}
		case strings.HasSuffix(p.Name, "ln.weight"):
			for i := range p.W {
				p.W[i] = 1
			}
		}
	}
	return bindModel(cfg, ps)
}

func (m *Model) params() *Params          { return m.Params }
func (m *Model) config() modelfile.Config { return m.Config }
func (m *Model) setDropout(p, smoothing float32) {
	m.Dropout, m.Smoothing = p, smoothing
}

// bindModel builds a Model over existing parameters.
func bindModel(cfg modelfile.Config, ps *Params) (*Model, error) {
	if err := cfg.Validate(); err != nil {
		return nil, err
	}
	m := &Model{Config: cfg, Params: ps}
	return m, m.SetReplicas(1)
}

// newReplica builds training passes adding their gradients to grad.
func (m *Model) newReplica(grad []float32) (*replica, error) {
	r := &replica{grad: grad}
	g := m.Params.GradsIn(grad)
	var err error
	if r.enc, err = encoder.NewTrainer(m.Params, g, m.Config); err != nil {
		return nil, fmt.Errorf("train: %w", err)
	}
	if r.dec, err = decoder.NewTrainer(m.Params, g, m.Config); err != nil {
		return nil, fmt.Errorf("train: %w", err)
	}
	return r, nil
}

// SetReplicas sets how many replicas Step runs side by side (data
// parallelism: each takes a share of the batch's sentences on its own core,
// with single-threaded matrix products). n < 1 means 1.
func (m *Model) SetReplicas(n int) error {
	var err error
	m.reps, err = resizeReplicas(m.reps, n, m.Params, m.newReplica)
	return err
}

// resizeReplicas keeps the first n (at least 1) of reps, adding replicas
// made by newRep over their gradient buffer: Params.G for the first, a new
// buffer for the others.
func resizeReplicas[R any](reps []R, n int, ps *Params, newRep func(grad []float32) (R, error)) ([]R, error) {
	n = max(n, 1)
	reps = reps[:min(len(reps), n)]
	for len(reps) < n {
		grad := ps.G
		if len(reps) > 0 {
			grad = make([]float32, len(ps.G))
		}
		r, err := newRep(grad)
		if err != nil {
			return reps, err
		}
		reps = append(reps, r)
	}
	return reps, nil
}

// checkBatch returns an error when a sentence of b is empty or longer than
// the positions the model supports, or an id is outside the vocabulary.
func (m *Model) checkBatch(b *Batch) error {
	for i := range b.SrcLen {
		if b.SrcLen[i] < 1 || b.SrcLen[i] > m.Config.MaxPositions || b.TgtLen[i] < 1 || b.TgtLen[i] > m.Config.MaxPositions {
			return fmt.Errorf("train: sentence %d has %d source and %d target tokens, want 1..%d", i, b.SrcLen[i], b.TgtLen[i], m.Config.MaxPositions)
		}
	}
	for _, ids := range [][]int32{b.Src, b.TgtIn, b.Labels} {
		for _, id := range ids {
			if id < 0 || int(id) >= m.Config.VocabSize {
				return fmt.Errorf("train: id %d outside the vocabulary 0..%d", id, m.Config.VocabSize-1)
			}
		}
	}
	return nil
}

// Forward runs the model on b and returns the summed label-smoothed loss
// and the number of target tokens. With rng != nil dropout is on (training)
// and the caches are ready for Backward.
func (m *Model) Forward(b *Batch, rng *rand.Rand) (loss float64, tokens int, err error) {
	return m.reps[0].forward(m, b, rng)
}

// Backward adds to the gradients of Params the gradient of scale times the
// summed loss of the last Forward (scale is usually 1/tokens).
func (m *Model) Backward(b *Batch, scale float32) {
	m.reps[0].backward(m, b, scale)
}

func (r *replica) forward(m *Model, b *Batch, rng *rand.Rand) (loss float64, tokens int, err error) {
	if err := m.checkBatch(b); err != nil {
		return 0, 0, err
	}
	p := m.Dropout
	if rng == nil {
		p = 0
	}
	src, tgt := nn.Seqs{Off: b.SrcOff, Len: b.SrcLen}, nn.Seqs{Off: b.TgtOff, Len: b.TgtLen}
	r.nSrc = len(b.Src)
	mem := r.enc.Forward(b.Src, src, p, rng)
	loss, tokens = r.dec.Forward(b.TgtIn, b.Labels, tgt, mem, src, p, m.Smoothing, rng)
	return loss, tokens, nil
}

func (r *replica) backward(m *Model, b *Batch, scale float32) {
	dMem := nn.Resize(&r.dMem, r.nSrc*m.Config.DModel)
	clear(dMem)
	r.dec.Backward(b.Labels, scale, dMem)
	r.enc.Backward(dMem)
}

// Step zeroes the gradients and sets them to those of the mean loss over
// the target tokens of the examples idx of ex, and returns the summed loss
// and the token count. The sentences are split in consecutive shares, one
// per replica, run side by side with single-threaded matrix products; each
// replica's dropout stream is seeded from rng, so a step is a function of
// the weights, the batch and rng's state.
func (m *Model) Step(ex []Example, idx []int, rng *rand.Rand) (loss float64, tokens int, err error) {
	passes := make([]replicaPass, len(m.reps))
	for i, r := range m.reps {
		passes[i] = modelPass{m, r}
	}
	return stepReplicas(m.Params, passes, ex, idx, rng)
}

// modelPass is one translation-model replica as a replicaPass.
type modelPass struct {
	m *Model
	r *replica
}

func (p modelPass) forward(ex []Example, idx []int, rng *rand.Rand) (float64, int, error) {
	MakeBatch(&p.r.batch, ex, idx, int32(p.m.Config.DecoderStartID))
	return p.r.forward(p.m, &p.r.batch, rng)
}

func (p modelPass) backward(scale float32) { p.r.backward(p.m, &p.r.batch, scale) }

func (p modelPass) grad() []float32 { return p.r.grad }

// replicaPass is one replica of a model under training: its forward pass
// over a share of a batch, its backward pass, and the gradient buffer it
// adds into (Params.G for the first replica).
type replicaPass interface {
	forward(ex []Example, idx []int, rng *rand.Rand) (loss float64, tokens int, err error)
	backward(scale float32)
	grad() []float32
}

// stepReplicas is Step over any model's replicas (see Model.Step): the
// shares run side by side, the gradients of the mean loss end in ps.G.
func stepReplicas(ps *Params, reps []replicaPass, ex []Example, idx []int, rng *rand.Rand) (loss float64, tokens int, err error) {
	n := min(len(reps), len(idx))
	reps = reps[:n]
	seeds := make([]uint64, n)
	for i := range seeds {
		seeds[i] = rng.Uint64()
	}
	run := func(f func(i int, r replicaPass)) {
		if n == 1 {
			f(0, reps[0])
			return
		}
		threads := kernels.Threads()
		kernels.SetThreads(1)
		defer kernels.SetThreads(threads)
		var wg sync.WaitGroup
		for i, r := range reps {
			wg.Add(1)
			go func() {
				defer wg.Done()
				f(i, r)
			}()
		}
		wg.Wait()
	}
	losses, counts, errs := make([]float64, n), make([]int, n), make([]error, n)
	run(func(i int, r replicaPass) {
		losses[i], counts[i], errs[i] = r.forward(ex, idx[i*len(idx)/n:(i+1)*len(idx)/n], rand.New(rand.NewPCG(seeds[i], uint64(i))))
	})
	for i := range reps {
		if errs[i] != nil {
			return 0, 0, errs[i]
		}
		loss += losses[i]
		tokens += counts[i]
	}
	if tokens == 0 {
		return 0, 0, fmt.Errorf("train: a batch without target tokens")
	}
	run(func(i int, r replicaPass) {
		clear(r.grad())
		r.backward(1 / float32(tokens))
	})
	for _, r := range reps[1:] {
		kernels.Add(ps.G, r.grad())
	}
	return loss, tokens, nil
}
