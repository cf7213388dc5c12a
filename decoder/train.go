package decoder

import (
	"fmt"
	"math/rand/v2"

	"github.com/deen-mt/deen/crossattn"
	"github.com/deen-mt/deen/internal/kernels"
	"github.com/deen-mt/deen/modelfile"
	"github.com/deen-mt/deen/nn"
)

// Trainer is the training pass of the decoder stack (package train uses
// it): the same embedding, self-attention, cross-attention (package
// crossattn), feed-forward and tied output projection as Decoder, run
// teacher-forced over a packed batch with dropout and label-smoothed
// cross-entropy, caching activations for Backward. Post-norm stacks
// without a final layer norm; final_logits_bias is not trained.
type Trainer struct {
	embed       nn.EmbedderTrainer
	layers      []trainLayer
	vocab, d    int
	pad         int32
	table, gTab []float32
	out         []float32
	logits      []float32
	probs       []float32
	losses      []float32
	dOut        []float32
	n           int
	smoothing   float32
}

type trainLayer struct {
	self, cross *nn.AttentionTrainer
	ffn         *nn.FeedForwardTrainer
}

// NewTrainer builds the decoder's training pass over the weights w and the
// gradients g (canonical tensor names; g's are where Backward adds).
func NewTrainer(w, g nn.Getter, c modelfile.Config) (*Trainer, error) {
	if c.PreNorm || c.FinalLayerNorm || c.Positions == modelfile.PositionsLearned {
		return nil, fmt.Errorf("decoder: training supports post-norm stacks with sinusoidal positions and no final layer norm")
	}
	act, err := nn.ParseActivation(c.Activation)
	if err != nil {
		return nil, err
	}
	d := c.DModel
	t := &Trainer{vocab: c.VocabSize, d: d, pad: int32(c.PadID)}
	if t.embed.W, err = nn.LoadEmbedder(w, c, "dec.pos.weight"); err != nil {
		return nil, err
	}
	if t.gTab, err = g.Get("embed.weight", c.VocabSize, d); err != nil {
		return nil, err
	}
	t.embed.GTable, t.table = t.gTab, t.embed.W.Table
	cross, err := crossattn.NewTrainers(w, g, c)
	if err != nil {
		return nil, err
	}
	for i := 0; i < c.DecoderLayers; i++ {
		p := fmt.Sprintf("dec.%d.", i)
		l := trainLayer{cross: cross[i]}
		if l.self, err = nn.NewAttentionTrainer(w, g, p+"self", p+"self_ln", d, c.DecoderHeads, c.LayerNormEps, true); err != nil {
			return nil, err
		}
		if l.ffn, err = nn.NewFeedForwardTrainer(w, g, p, p+"ffn_ln", d, c.DecoderFFN, c.LayerNormEps, act); err != nil {
			return nil, err
		}
		t.layers = append(t.layers, l)
	}
	return t, nil
}

// Forward runs the decoder on the packed sentences s of the decoder inputs
// ids (start token first), sentence b reading sentence b of the encoder
// memory mem (packed as ms), with dropout p (0 and rng nil for
// evaluation), and returns the summed label-smoothed cross-entropy of the
// labels (pad labels are skipped) and the number of labels counted.
func (t *Trainer) Forward(ids, labels []int32, s nn.Seqs, mem []float32, ms nn.Seqs, p, smoothing float32, rng *rand.Rand) (loss float64, count int) {
	y := t.embed.Forward(ids, s, p, rng)
	for i := range t.layers {
		l := &t.layers[i]
		y = l.self.Forward(y, s, y, s, p, rng)
		y = l.cross.Forward(y, s, mem, ms, p, rng)
		y = l.ffn.Forward(y, s.Rows(), p, rng)
	}
	n, v, d := len(ids), t.vocab, t.d
	t.out, t.n, t.smoothing = y, n, smoothing
	logits, probs := nn.Resize(&t.logits, n*v), nn.Resize(&t.probs, n*v)
	kernels.Gemm(false, true, n, v, d, 1, y, d, t.table, d, 0, logits, v)
	return nn.CrossEntropyForward(nn.Resize(&t.losses, n), probs, logits, labels, n, v, smoothing, t.pad)
}

// Logits returns the logits [rows·V] of the last Forward (valid until
// Backward, which reuses the buffer).
func (t *Trainer) Logits() []float32 { return t.logits[:t.n*t.vocab] }

// Backward adds the gradients of scale × the last Forward's summed loss
// and adds the gradient of the memory to dmem.
func (t *Trainer) Backward(labels []int32, scale float32, dmem []float32) {
	n, v, d := t.n, t.vocab, t.d
	dl := t.logits[:n*v]
	clear(dl)
	nn.CrossEntropyBackward(dl, t.probs, labels, n, v, t.smoothing, t.pad, scale)
	dy := nn.Resize(&t.dOut, n*d)
	kernels.Gemm(false, false, n, d, v, 1, dl, v, t.table, d, 0, dy, d)
	kernels.Gemm(true, false, v, d, n, 1, dl, v, t.out, d, 1, t.gTab, d)
	for i := len(t.layers) - 1; i >= 0; i-- {
		l := &t.layers[i]
		dy = l.ffn.Backward(dy)
		dy = l.cross.Backward(dy, dmem)
		dy = l.self.Backward(dy, nil)
	}
	t.embed.Backward(dy)
}
