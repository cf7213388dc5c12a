package encoder

import (
	"fmt"
	"math/rand/v2"

	"github.com/deen-mt/deen/modelfile"
	"github.com/deen-mt/deen/nn"
)

// Trainer is the training pass of the encoder stack (package train uses
// it): the same embedding, attention and feed-forward weights and ops as
// Encoder, run over a packed batch with dropout, caching activations for
// Backward. Post-norm stacks without a final layer norm only.
type Trainer struct {
	embed  nn.EmbedderTrainer
	layers []trainLayer
}

type trainLayer struct {
	self *nn.AttentionTrainer
	ffn  *nn.FeedForwardTrainer
}

// NewTrainer builds the encoder's training pass over the weights w and the
// gradients g (both hold every tensor of the config under its canonical
// name; g's are where Backward adds).
func NewTrainer(w, g nn.Getter, c modelfile.Config) (*Trainer, error) {
	if c.PreNorm || c.FinalLayerNorm || c.Positions == modelfile.PositionsLearned {
		return nil, fmt.Errorf("encoder: training supports post-norm stacks with sinusoidal positions and no final layer norm")
	}
	act, err := nn.ParseActivation(c.Activation)
	if err != nil {
		return nil, err
	}
	d := c.DModel
	t := &Trainer{}
	if t.embed.W, err = nn.LoadEmbedder(w, c, "enc.pos.weight"); err != nil {
		return nil, err
	}
	if t.embed.GTable, err = g.Get("embed.weight", c.VocabSize, d); err != nil {
		return nil, err
	}
	for i := 0; i < c.EncoderLayers; i++ {
		p := fmt.Sprintf("enc.%d.", i)
		var l trainLayer
		if l.self, err = nn.NewAttentionTrainer(w, g, p+"self", p+"self_ln", d, c.EncoderHeads, c.LayerNormEps, false); err != nil {
			return nil, err
		}
		if l.ffn, err = nn.NewFeedForwardTrainer(w, g, p, p+"ffn_ln", d, c.EncoderFFN, c.LayerNormEps, act); err != nil {
			return nil, err
		}
		t.layers = append(t.layers, l)
	}
	return t, nil
}

// Forward encodes the packed sentences s of ids (each at most the model's
// positions long) with dropout p (0 and rng nil for evaluation) and
// returns the memory [rows·d], owned by the trainer until its next Forward.
func (t *Trainer) Forward(ids []int32, s nn.Seqs, p float32, rng *rand.Rand) []float32 {
	x := t.embed.Forward(ids, s, p, rng)
	for i := range t.layers {
		l := &t.layers[i]
		x = l.self.Forward(x, s, x, s, p, rng)
		x = l.ffn.Forward(x, s.Rows(), p, rng)
	}
	return x
}

// Backward adds the gradients of the last Forward given dmem, the gradient
// of its memory (overwritten).
func (t *Trainer) Backward(dmem []float32) {
	dx := dmem
	for i := len(t.layers) - 1; i >= 0; i-- {
		l := &t.layers[i]
		dx = l.ffn.Backward(dx)
		dx = l.self.Backward(dx, nil)
	}
	t.embed.Backward(dx)
}
