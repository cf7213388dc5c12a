// Package gpt is the decoder-only language model of the article (and of
// nanoGPT): a token embedding plus learned position embeddings, N pre-norm
// blocks (LayerNorm → causal multi-head self-attention → residual;
// LayerNorm → MLP with GELU → residual), a final LayerNorm and the output
// projection tied to the token embedding. It is the decoder stack without
// cross-attention, built from the same nn ops as the translator.
//
// The model's weights live in a modelfile.Model whose Config has Arch
// modelfile.ArchGPT (NewConfig); its token ids are those of the
// translator's target side. A sequence is scored as the translator's
// decoder sees it: the model reads the start id (Config.DecoderStartID)
// then the tokens, and predicts the tokens then the end id.
//
// Three ways through the same function: Forward runs whole sequences
// (batched, right-padded) to logits and Score turns them into
// log-probabilities; Step feeds one token at a time through a key/value
// cache (State) for sampling (Generate); Trainer runs the training pass
// over packed sequences with dropout and keeps what Backward needs.
package gpt

import (
	"fmt"
	"strings"

	"github.com/deen-mt/deen/internal/kernels"
	"github.com/deen-mt/deen/modelfile"
	"github.com/deen-mt/deen/nn"
)

// NewConfig returns the config of a GPT with vocabulary vocab, width d,
// the given layers and heads, blockSize positions, an MLP of width 4·d
// with exact GELU, layer-norm epsilon 1e-5 and biases unless noBias (as
// nanoGPT's GPTConfig). Special ids are those of a bpe.Train vocabulary
// (</s> 0, <unk> 1, <pad> = vocab−1, which is also the start id, as in the
// translator); callers with another vocabulary set them after.
func NewConfig(vocab, d, layers, heads, blockSize int, noBias bool) modelfile.Config {
	return modelfile.Config{
		Arch: modelfile.ArchGPT, VocabSize: vocab, DModel: d,
		DecoderLayers: layers, DecoderHeads: heads, DecoderFFN: 4 * d, Activation: "gelu",
		PreNorm: true, FinalLayerNorm: true, Positions: modelfile.PositionsLearned,
		MaxPositions: blockSize, LayerNormEps: 1e-5, NoBias: noBias,
		PadID: vocab - 1, EOSID: 0, UnkID: 1, DecoderStartID: vocab - 1,
		Generation: modelfile.Generation{NumBeams: 1, LengthPenalty: 1, MaxLength: blockSize, BadWordsIDs: []int{vocab - 1}},
	}
}

// Model is a GPT ready for inference. It is read-only after New and safe
// for concurrent use; mutable buffers live in State and Scratch.
type Model struct {
	cfg        modelfile.Config
	d, vocab   int
	start, eos int32
	embed      nn.Embedder
	blocks     []block
	final      nn.LayerNorm
}

// block is one transformer block: x += attn(ln1(x)); x += mlp(ln2(x)).
type block struct {
	ln1, ln2 nn.LayerNorm
	attn     nn.MultiHeadAttention
	mlp      nn.FeedForward
}

// New builds the model of m, which must have Arch modelfile.ArchGPT; the
// error names a missing or misshaped tensor.
func New(m *modelfile.Model) (*Model, error) {
	g, err := load(m.Config, m)
	if err != nil {
		return nil, fmt.Errorf("gpt: %w", err)
	}
	return g, nil
}

// load builds a Model reading its weights from w.
func load(c modelfile.Config, w nn.Getter) (*Model, error) {
	if c.Arch != modelfile.ArchGPT {
		return nil, fmt.Errorf("model arch is %q, want %q (a language model made by translate lm train)", c.Arch, modelfile.ArchGPT)
	}
	if err := c.Validate(); err != nil {
		return nil, err
	}
	w = biasGetter{w, c.NoBias}
	act, err := nn.ParseActivation(c.Activation)
	if err != nil {
		return nil, err
	}
	d := c.DModel
	g := &Model{cfg: c, d: d, vocab: c.VocabSize, start: int32(c.DecoderStartID), eos: int32(c.EOSID),
		blocks: make([]block, c.DecoderLayers)}
	if g.embed, err = nn.LoadEmbedder(w, c, "dec.pos.weight"); err != nil {
		return nil, err
	}
	for i := range g.blocks {
		p := fmt.Sprintf("dec.%d.", i)
		b := &g.blocks[i]
		if b.ln1, err = nn.LoadLayerNorm(w, p+"self_ln", d, c.LayerNormEps); err != nil {
			return nil, err
		}
		if b.attn, err = nn.LoadMultiHeadAttention(w, p+"self", d, c.DecoderHeads); err != nil {
			return nil, err
		}
		if b.ln2, err = nn.LoadLayerNorm(w, p+"ffn_ln", d, c.LayerNormEps); err != nil {
			return nil, err
		}
		if b.mlp, err = nn.LoadFeedForward(w, p, d, c.DecoderFFN, act); err != nil {
			return nil, err
		}
	}
	if g.final, err = nn.LoadLayerNorm(w, "dec.ln", d, c.LayerNormEps); err != nil {
		return nil, err
	}
	return g, nil
}

// biasGetter serves zeros for the biases of a model without biases (its
// file holds none), so that the ops run unchanged. For gradients the zeros
// are a scratch buffer whose contents nobody reads.
type biasGetter struct {
	nn.Getter
	noBias bool
}

// Get returns the named tensor, or a new zero slice for a bias of a
// model without biases.
func (g biasGetter) Get(name string, shape ...int) ([]float32, error) {
	if g.noBias && strings.HasSuffix(name, ".bias") && len(shape) == 1 {
		return make([]float32, shape[0]), nil
	}
	return g.Getter.Get(name, shape...)
}

// Config returns the model's configuration.
func (g *Model) Config() modelfile.Config { return g.cfg }

// VocabSize returns V, the width of a logits row.
func (g *Model) VocabSize() int { return g.vocab }

// BlockSize returns the most positions the model reads, the start id
// included: Score takes sequences of at most BlockSize−1 ids (the end id
// then makes BlockSize predictions).
func (g *Model) BlockSize() int { return g.embed.MaxPos }

// Scratch holds the reusable buffers of Forward; the zero value is ready.
// A Scratch is used by one goroutine at a time.
type Scratch struct {
	x, tmp, out, hidden, logits []float32
	attn                        nn.AttnScratch
}

// Forward computes the logits [batch·seqLen·V] of ids [batch·seqLen]
// (right-padded; sequence b has lengths[b] real ids, nil meaning all):
// row t of sequence b is the distribution of the id after ids[b][:t+1].
// Rows past a sequence's length are unspecified. The logits live in s
// until its next use.
func (g *Model) Forward(ids []int32, batch, seqLen int, lengths []int, s *Scratch) []float32 {
	n, d := batch*seqLen, g.d
	if len(ids) < n || seqLen > g.embed.MaxPos {
		panic(fmt.Sprintf("gpt: Forward of %d ids as %d×%d (block size %d)", len(ids), batch, seqLen, g.embed.MaxPos))
	}
	x := nn.Resize(&s.x, n*d)
	g.embed.Forward(x, ids[:n], seqLen, 0) // token embedding + position embedding
	tmp, out := nn.Resize(&s.tmp, n*d), nn.Resize(&s.out, n*d)
	for i := range g.blocks {
		b := &g.blocks[i]
		in := b.ln1.SublayerInput(x, tmp, n, true)                           // layer norm
		b.attn.SelfAttention(out, in, batch, seqLen, lengths, true, &s.attn) // masked (causal) self-attention
		b.ln1.SublayerOutput(x, out, n, true)                                // residual: x += attn
		in = b.ln2.SublayerInput(x, tmp, n, true)                            // layer norm
		b.mlp.Forward(out, in, nn.Resize(&s.hidden, n*b.mlp.FC1.Out), n)     // feed-forward with GELU
		b.ln2.SublayerOutput(x, out, n, true)                                // residual: x += mlp
	}
	g.final.Forward(x, x, n) // final layer norm
	logits := nn.Resize(&s.logits, n*g.vocab)
	g.project(logits, x, n) // output projection tied to the token embedding
	return logits
}

// project writes the logits [n·V] of the n final hidden rows x: the
// output projection tied to the token embedding, logits = x·Eᵀ.
func (g *Model) project(logits, x []float32, n int) {
	kernels.Gemm(false, true, n, g.vocab, g.d, 1, x, g.d, g.embed.Table, g.d, 0, logits, g.vocab)
}
