// Package encoder turns source token ids into the encoder memory: the shared
// token embedding (optionally scaled by sqrt(d)), position encodings
// (sinusoidal Marian or interleaved, or learned) and N Transformer encoder
// layers (self-attention and feed-forward, post-norm or pre-norm).
package encoder

import (
	"github.com/deen-mt/deen/internal/modelfile"
)

// Encoder is the encoder stack of a model. It is read-only after New and
// safe for concurrent use; the weights are shared with the model, not copied.
type Encoder struct {
	d int
}

// New builds the encoder of m, checking the config and every tensor it needs
// (embed.weight, enc.{i}.*, enc.pos.weight for learned positions, enc.ln.*
// with FinalLayerNorm); the error names the missing or misshaped tensor.
func New(m *modelfile.Model) (*Encoder, error) {
	panic("encoder: not implemented yet")
}

// Dim returns the model width d.
func (e *Encoder) Dim() int { return e.d }

// MaxLen returns the longest source (in tokens, eos included) the position
// encoding supports; Forward needs seqLen <= MaxLen.
func (e *Encoder) MaxLen() int { return 0 }

// Forward encodes a batch of right-padded id sequences ids [batch·seqLen]
// whose real lengths are lengths[b] (1..seqLen; nil means all seqLen) and
// returns the memory [batch·seqLen·d], a new slice owned by the caller.
// Rows past lengths[b] are padding: their values are unspecified, and no
// real row depends on them. Ids must be inside the vocabulary.
func (e *Encoder) Forward(ids []int32, batch, seqLen int, lengths []int) []float32 {
	panic("encoder: not implemented yet")
}
