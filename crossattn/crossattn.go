// Package crossattn is the cross-attention of the decoder: for every decoder
// layer, the keys and values of the encoder memory (computed once per
// sentence and shared by every hypothesis of it) and the attention of decoder
// queries over them with the source padding mask.
package crossattn

import (
	"github.com/deen-mt/deen/internal/modelfile"
)

// CrossAttn holds the cross-attention weights (dec.{i}.cross.{q,k,v,o}) of
// every decoder layer. It is read-only after New and safe for concurrent use.
type CrossAttn struct {
	d, heads int
}

// New reads the cross-attention weights of every decoder layer of m and
// checks their shapes; the error names the missing or misshaped tensor.
// The weights are shared with m, not copied.
func New(m *modelfile.Model) (*CrossAttn, error) {
	panic("crossattn: not implemented yet")
}

// Layers returns the number of decoder layers.
func (c *CrossAttn) Layers() int { return 0 }

// Memory is the keys and values of a batch of encoded sentences for every
// decoder layer. It is immutable after CrossAttn.Memory and may be shared by
// any number of decoder states.
type Memory struct {
	batch, seqLen int
	lengths       []int
	// k and v hold, per layer, [batch·seqLen·d] projections of the memory.
	k, v [][]float32
}

// Memory projects the encoder output mem [batch·seqLen·d] (rows past
// lengths[b] are padding) to the keys and values of every decoder layer.
// lengths[b] (1..seqLen) is the number of real tokens of sentence b.
func (c *CrossAttn) Memory(mem []float32, batch, seqLen int, lengths []int) *Memory {
	panic("crossattn: not implemented yet")
}

// Batch returns the number of sentences in m.
func (m *Memory) Batch() int { return m.batch }

// SeqLen returns the padded source length of m.
func (m *Memory) SeqLen() int { return m.seqLen }

// Length returns the number of real tokens of sentence b.
func (m *Memory) Length(b int) int { return m.lengths[b] }

// Scratch holds the reusable buffers of Attend. The zero value is ready to
// use; buffers grow to the largest call and are then reused, so a decoder
// state that keeps one Scratch allocates nothing per step.
type Scratch struct {
	q, att, probs []float32
}

// Attend computes the cross-attention sub-layer of decoder layer l (query
// projection, attention over sentence sentence[r] of m with its padding
// mask, output projection) for rows decoder states x [rows·d] and writes
// the result, before any residual or layer norm, to out [rows·d]. Rows of
// the same sentence that are next to each other share one matrix product.
func (c *CrossAttn) Attend(l int, m *Memory, x []float32, rows int, sentence []int, out []float32, s *Scratch) {
	panic("crossattn: not implemented yet")
}
