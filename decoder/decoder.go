// Package decoder is the decoder stack of the Transformer: N layers of masked
// self-attention (with a key/value cache for incremental decoding),
// cross-attention over the encoder memory (package crossattn) and
// feed-forward, then the output projection tied to the shared embedding
// plus final_logits_bias.
//
// Two entry points compute the same function: Step feeds one token per
// hypothesis and keeps a cache (search), Forward runs a whole teacher-forced
// sequence (scoring, training, tests).
package decoder

import (
	"github.com/deen-mt/deen/crossattn"
	"github.com/deen-mt/deen/internal/modelfile"
)

// Decoder is the decoder stack of a model. It is read-only after New and
// safe for concurrent use; all mutable buffers live in a State.
type Decoder struct {
	vocab int
	cross *crossattn.CrossAttn
}

// New builds the decoder of m, checking the config and every tensor it needs
// (embed.weight, optional final_logits_bias, dec.{i}.*, dec.pos.weight for
// learned positions, dec.ln.* with FinalLayerNorm); the error names the
// missing or misshaped tensor.
func New(m *modelfile.Model) (*Decoder, error) {
	panic("decoder: not implemented yet")
}

// VocabSize returns V, the width of a logits row.
func (d *Decoder) VocabSize() int { return d.vocab }

// MaxLen returns the most decoder positions the position encoding supports
// (start token included); Step must not go past it.
func (d *Decoder) MaxLen() int { return 0 }

// CrossAttn returns the decoder's cross-attention, whose Memory method makes
// the memory that NewState and Forward read.
func (d *Decoder) CrossAttn() *crossattn.CrossAttn { return d.cross }

// State is the incremental decoding state of R rows (hypotheses). Row r
// reads memory sentence sentence[r]. A State is used by one goroutine at a
// time.
//
// The self-attention keys and values are stored once per (step, row) in
// flat per-layer arrays, with a back-pointer from every (step, row) to the
// (step-1, row) it continues; Reorder only rewrites row indices, it never
// copies the cache.
type State struct {
	rows, len int
}

// NewState starts decoding len(sentence) rows over mem; row r reads sentence
// sentence[r] of mem. maxLen is the expected number of steps: buffers are
// sized for it once (more steps still work, growing the buffers).
func (d *Decoder) NewState(mem *crossattn.Memory, sentence []int, maxLen int) *State {
	panic("decoder: not implemented yet")
}

// Step feeds one token per row at position s.Len(), appends the rows'
// keys and values to the cache and writes the raw float32 logits of the next
// token to logits [Rows()·V]. After warm-up it allocates nothing.
func (d *Decoder) Step(s *State, tokens []int32, logits []float32) {
	panic("decoder: not implemented yet")
}

// Reorder makes row i continue the history (cache and sentence) of former
// row parents[i]; len(parents) becomes the new number of rows (rows may be
// dropped or duplicated). Only indices change; the cache is not copied.
func (s *State) Reorder(parents []int) {
	panic("decoder: not implemented yet")
}

// Len returns the number of tokens fed so far (the position of the next one).
func (s *State) Len() int { return s.len }

// Rows returns the current number of rows.
func (s *State) Rows() int { return s.rows }

// Forward is teacher forcing: decoder input ids [batch·tgtLen] (right-padded,
// real lengths tgtLens[b]; nil means all tgtLen), row b reading sentence b
// of mem, give logits [batch·tgtLen·V] (a new slice). Rows past tgtLens[b]
// are unspecified.
func (d *Decoder) Forward(mem *crossattn.Memory, ids []int32, batch, tgtLen int, tgtLens []int) []float32 {
	panic("decoder: not implemented yet")
}
