package gpt

import (
	"fmt"
	"math"
	"math/rand/v2"
	"strings"

	"github.com/deen-mt/deen/internal/kernels"
	"github.com/deen-mt/deen/modelfile"
	"github.com/deen-mt/deen/nn"
)

// Trainer is the training pass of a GPT (package train uses it): the same
// embedding, pre-norm blocks, final layer norm and tied projection as
// Model, run over packed sequences (end to end, no padding; nn.Seqs) with
// dropout on the embeddings and on each sub-layer's output (nanoGPT's
// resid_dropout; attention weights are not dropped), and the cross-entropy
// of the next token, caching activations for Backward.
type Trainer struct {
	embed       nn.EmbedderTrainer
	blocks      []trainBlock
	final       nn.LayerNorm // weights
	gFinal      nn.LayerNorm // gradients
	vocab, d    int
	table, gTab []float32
	x, out      []float32 // final norm's input and output
	mean, rstd  []float32
	logits      []float32
	probs       []float32
	losses      []float32
	dOut, dx    []float32
	n           int
}

type trainBlock struct {
	attn *nn.AttentionTrainer
	mlp  *nn.FeedForwardTrainer
}

// NewTrainer builds the training pass over the weights w and the
// gradients g (canonical tensor names of config c, Arch gpt; Backward adds
// into g's).
func NewTrainer(w, g nn.Getter, c modelfile.Config) (*Trainer, error) {
	if _, err := load(c, w); err != nil { // checks the config and every weight
		return nil, fmt.Errorf("gpt: %w", err)
	}
	w, g = biasGetter{w, c.NoBias}, biasGetter{g, c.NoBias}
	act, err := nn.ParseActivation(c.Activation)
	if err != nil {
		return nil, err
	}
	d := c.DModel
	t := &Trainer{vocab: c.VocabSize, d: d}
	if t.embed.W, err = nn.LoadEmbedder(w, c, "dec.pos.weight"); err != nil {
		return nil, err
	}
	if t.gTab, err = g.Get("embed.weight", c.VocabSize, d); err != nil {
		return nil, err
	}
	if t.embed.GPos, err = g.Get("dec.pos.weight", c.MaxPositions, d); err != nil {
		return nil, err
	}
	t.embed.GTable, t.table = t.gTab, t.embed.W.Table
	for i := 0; i < c.DecoderLayers; i++ {
		p := fmt.Sprintf("dec.%d.", i)
		var b trainBlock
		if b.attn, err = nn.NewAttentionTrainer(w, g, p+"self", p+"self_ln", d, c.DecoderHeads, c.LayerNormEps, true); err != nil {
			return nil, err
		}
		if b.mlp, err = nn.NewFeedForwardTrainer(w, g, p, p+"ffn_ln", d, c.DecoderFFN, c.LayerNormEps, act); err != nil {
			return nil, err
		}
		b.attn.PreNorm, b.mlp.PreNorm = true, true
		t.blocks = append(t.blocks, b)
	}
	if t.final, err = nn.LoadLayerNorm(w, "dec.ln", d, c.LayerNormEps); err != nil {
		return nil, err
	}
	if t.gFinal, err = nn.LoadLayerNorm(g, "dec.ln", d, c.LayerNormEps); err != nil {
		return nil, err
	}
	return t, nil
}

// IgnoreLabel marks a row whose prediction is not counted in the loss.
const IgnoreLabel int32 = -1

// Forward runs the model on the packed sequences s of ids (each starting
// with the start id) with dropout p (0 and rng nil for evaluation), and
// returns the summed cross-entropy of labels (the next ids; IgnoreLabel
// rows are skipped) and the number of labels counted.
func (t *Trainer) Forward(ids, labels []int32, s nn.Seqs, p float32, rng *rand.Rand) (loss float64, count int) {
	n, v, d := len(ids), t.vocab, t.d
	x := t.embed.Forward(ids, s, p, rng)
	for i := range t.blocks {
		b := &t.blocks[i]
		x = b.attn.Forward(x, s, x, s, p, rng)
		x = b.mlp.Forward(x, n, p, rng)
	}
	t.x, t.n = x, n
	out := nn.Resize(&t.out, n*d)
	nn.LayerNormForward(out, nn.Resize(&t.mean, n), nn.Resize(&t.rstd, n), x, t.final.W, t.final.B, n, d, t.final.Eps)
	logits, probs := nn.Resize(&t.logits, n*v), nn.Resize(&t.probs, n*v)
	kernels.Gemm(false, true, n, v, d, 1, out, d, t.table, d, 0, logits, v)
	return nn.CrossEntropyForward(nn.Resize(&t.losses, n), probs, logits, labels, n, v, 0, IgnoreLabel)
}

// Logits returns the logits [rows·V] of the last Forward (valid until
// Backward, which reuses the buffer).
func (t *Trainer) Logits() []float32 { return t.logits[:t.n*t.vocab] }

// Backward adds the gradients of scale × the last Forward's summed loss.
func (t *Trainer) Backward(labels []int32, scale float32) {
	n, v, d := t.n, t.vocab, t.d
	dl := t.logits[:n*v]
	clear(dl)
	nn.CrossEntropyBackward(dl, t.probs, labels, n, v, 0, IgnoreLabel, scale)
	dOut := nn.Resize(&t.dOut, n*d)
	kernels.Gemm(false, false, n, d, v, 1, dl, v, t.table, d, 0, dOut, d)
	kernels.Gemm(true, false, v, d, n, 1, dl, v, t.out, d, 1, t.gTab, d)
	dx := nn.Resize(&t.dx, n*d)
	clear(dx)
	nn.LayerNormBackward(dx, t.gFinal.W, t.gFinal.B, dOut, t.x, t.mean, t.rstd, t.final.W, n, d)
	for i := len(t.blocks) - 1; i >= 0; i-- {
		b := &t.blocks[i]
		dx = b.mlp.Backward(dx)
		dx = b.attn.Backward(dx, nil)
	}
	t.embed.Backward(dx)
}

// Init fills the tensors of m (Arch gpt) as nanoGPT initialises a GPT:
// every linear weight and both embeddings N(0, 0.02²), the output
// projections of attention and MLP (dec.{i}.self.o, dec.{i}.fc2)
// N(0, (0.02/√(2·layers))²), biases 0, layer-norm gains 1. The tensors
// must exist (NewRandom makes them).
func Init(m *modelfile.Model, seed uint64) {
	rng := rand.New(rand.NewPCG(seed, 0x6e70))
	proj := 0.02 / math.Sqrt(2*float64(m.Config.DecoderLayers))
	for _, s := range m.Config.Tensors() {
		w := m.Tensors[s.Name].Data
		switch {
		case strings.HasSuffix(s.Name, "_ln.weight") || s.Name == "dec.ln.weight":
			for i := range w {
				w[i] = 1
			}
		case len(s.Shape) == 2:
			std := 0.02
			if strings.HasSuffix(s.Name, ".self.o.weight") || strings.HasSuffix(s.Name, ".fc2.weight") {
				std = proj
			}
			for i := range w {
				w[i] = float32(rng.NormFloat64() * std)
			}
		default:
			clear(w)
		}
	}
}

// NewRandom returns a model of config c (Arch gpt) with every tensor
// allocated and initialised by Init, and the tokenizer blobs.
func NewRandom(c modelfile.Config, seed uint64, blobs map[string][]byte) (*modelfile.Model, error) {
	if err := c.Validate(); err != nil {
		return nil, fmt.Errorf("gpt: %w", err)
	}
	if c.Arch != modelfile.ArchGPT {
		return nil, fmt.Errorf("gpt: arch %q, want %q", c.Arch, modelfile.ArchGPT)
	}
	m := &modelfile.Model{Config: c, Tensors: map[string]*modelfile.Tensor{}, Blobs: blobs}
	for _, s := range c.Tensors() {
		n := 1
		for _, k := range s.Shape {
			n *= k
		}
		m.Tensors[s.Name] = &modelfile.Tensor{Name: s.Name, Shape: s.Shape, Data: make([]float32, n)}
	}
	Init(m, seed)
	return m, nil
}
