package crossattn

import (
	"fmt"

	"github.com/deen-mt/deen/modelfile"
	"github.com/deen-mt/deen/nn"
)

// NewTrainers returns the training pass of every decoder layer's
// cross-attention sub-layer (dec.{i}.cross with dec.{i}.cross_ln) over the
// weights w and gradients g: the same weights and attention op as
// CrossAttn, for package decoder's Trainer.
func NewTrainers(w, g nn.Getter, c modelfile.Config) ([]*nn.AttentionTrainer, error) {
	var ts []*nn.AttentionTrainer
	for i := 0; i < c.DecoderLayers; i++ {
		p := fmt.Sprintf("dec.%d.", i)
		t, err := nn.NewAttentionTrainer(w, g, p+"cross", p+"cross_ln", c.DModel, c.DecoderHeads, c.LayerNormEps, false)
		if err != nil {
			return nil, err
		}
		ts = append(ts, t)
	}
	return ts, nil
}
