// Package crossattn is the cross-attention of the decoder: for every decoder
// layer, the keys and values of the encoder memory (computed once per
// sentence and shared by every hypothesis of it) and the attention of decoder
// queries over them with the source padding mask.
package crossattn

import (
	"fmt"

	"github.com/deen-mt/deen/internal/kernels"
	"github.com/deen-mt/deen/modelfile"
	"github.com/deen-mt/deen/nn"
)

// CrossAttn holds the cross-attention weights (dec.{i}.cross.{q,k,v,o}) of
// every decoder layer. It is read-only after New and safe for concurrent use.
type CrossAttn struct {
	d      int
	w      *nn.Weights // where layers' weights come from
	layers []nn.MultiHeadAttention
	// q and o are the query and output projections Attend multiplies, k and
	// v the key and value projections Memory multiplies, per layer: the
	// float32 ones of layers, or reduced-precision copies made by
	// WithWeights.
	q, k, v, o []nn.LowLinear
}

// New reads the cross-attention weights of every decoder layer of m and
// checks their shapes; the error names the missing or misshaped tensor.
// The weights are shared with m, not copied; a matrix m keeps at reduced
// precision (nn.StoredReadOptions) is dequantised only when a float32
// product first needs it.
func New(m *modelfile.Model) (*CrossAttn, error) {
	c := m.Config
	if c.DModel < 1 || c.DecoderLayers < 1 {
		return nil, fmt.Errorf("crossattn: config has d_model %d and %d decoder layers, want both positive", c.DModel, c.DecoderLayers)
	}
	ca := &CrossAttn{d: c.DModel, w: nn.NewWeights(m), layers: make([]nn.MultiHeadAttention, c.DecoderLayers)}
	for i := range ca.layers {
		a, err := nn.LoadMultiHeadAttention(ca.w, fmt.Sprintf("dec.%d.cross", i), c.DModel, c.DecoderHeads)
		if err != nil {
			return nil, fmt.Errorf("crossattn: %w", err)
		}
		ca.layers[i] = a
	}
	return ca.WithWeights(nn.Float32)
}

// WithWeights returns a CrossAttn that shares c's weights but multiplies
// copies of the query, key, value and output projections at precision p (c
// itself unchanged; a matrix the model keeps at p is multiplied as stored):
// its Memory projects keys and values with them, its Attend queries and
// outputs. The error names a weight p cannot hold.
func (c *CrossAttn) WithWeights(p nn.Precision) (*CrossAttn, error) {
	n := len(c.layers)
	ca := &CrossAttn{d: c.d, w: c.w, layers: c.layers, q: make([]nn.LowLinear, n), k: make([]nn.LowLinear, n), v: make([]nn.LowLinear, n), o: make([]nn.LowLinear, n)}
	for i := range ca.layers {
		a := &ca.layers[i]
		for _, w := range []struct {
			name string
			l    *nn.Linear
			low  *nn.LowLinear
		}{{"q", &a.Q, &ca.q[i]}, {"k", &a.K, &ca.k[i]}, {"v", &a.V, &ca.v[i]}, {"o", &a.O, &ca.o[i]}} {
			var err error
			if *w.low, err = c.w.Low(w.l, p, fmt.Sprintf("dec.%d.cross.%s.weight", i, w.name)); err != nil {
				return nil, fmt.Errorf("crossattn: %w", err)
			}
		}
	}
	return ca, nil
}

// Layers returns the number of decoder layers.
func (c *CrossAttn) Layers() int { return len(c.layers) }

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
// lengths[b] (1..seqLen) is the number of real tokens of sentence b; nil
// means all seqLen.
func (c *CrossAttn) Memory(mem []float32, batch, seqLen int, lengths []int) *Memory {
	n := batch * seqLen
	if len(mem) < n*c.d {
		panic(fmt.Sprintf("crossattn: memory has %d values, want %d·%d·%d", len(mem), batch, seqLen, c.d))
	}
	m := &Memory{batch: batch, seqLen: seqLen, lengths: make([]int, batch)}
	for b := range m.lengths {
		m.lengths[b] = seqLen
		if lengths != nil {
			if lengths[b] < 1 || lengths[b] > seqLen {
				panic(fmt.Sprintf("crossattn: sentence %d has length %d, want 1..%d", b, lengths[b], seqLen))
			}
			m.lengths[b] = lengths[b]
		}
	}
	for i := range c.layers {
		k, v := make([]float32, n*c.d), make([]float32, n*c.d)
		c.k[i].Forward(k, mem, n)
		c.v[i].Forward(v, mem, n)
		m.k, m.v = append(m.k, k), append(m.v, v)
	}
	return m
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
	q, att []float32
	probs  [][]float32 // one per part of kernels.ParallelRows
	// runs[i] is the first row of the i-th run of rows of one sentence
	// (then rows); c, l, m and sentence are the call in progress, for
	// runRows.
	runs     []int
	c        *CrossAttn
	l        int
	m        *Memory
	sentence []int
	// Align, when not nil, collects the attention probabilities: Attend
	// adds each row's probabilities averaged over the heads to
	// Align[r·SeqLen+k] (row r, key k; keys past the sentence's length get
	// nothing). The caller sizes and clears it. nil, the default, costs one
	// comparison per call.
	Align []float32
}

// Attend computes the cross-attention sub-layer of decoder layer l (query
// projection, attention over sentence sentence[r] of m with its padding
// mask, output projection) for rows decoder states x [rows·d] and writes
// the result, before any residual or layer norm, to out [rows·d]. Rows of
// the same sentence that are next to each other share one matrix product;
// with at least 8 rows, these runs are split across the kernel threads.
func (c *CrossAttn) Attend(l int, m *Memory, x []float32, rows int, sentence []int, out []float32, s *Scratch) {
	if len(m.k) != len(c.layers) {
		panic(fmt.Sprintf("crossattn: memory has %d layers, the model %d", len(m.k), len(c.layers)))
	}
	d := c.d
	q, att := nn.Resize(&s.q, rows*d), nn.Resize(&s.att, rows*d)
	c.q[l].Forward(q, x, rows)
	s.runs = s.runs[:0]
	for r := range rows {
		if r == 0 || sentence[r] != sentence[r-1] {
			s.runs = append(s.runs, r)
		}
	}
	s.runs = append(s.runs, rows)
	parts := 1
	if rows >= minParallelRows {
		parts = kernels.Threads()
	}
	for len(s.probs) < parts {
		s.probs = append(s.probs, nil)
	}
	s.c, s.l, s.m, s.sentence = c, l, m, sentence
	kernels.ParallelRows(len(s.runs)-1, parts, (*runRows)(s))
	s.c, s.m, s.sentence = nil, nil, nil
	c.o[l].Forward(out, att, rows)
}

// minParallelRows is the least number of rows whose attention over the
// memory Attend splits across the kernel threads, by runs of rows of one
// sentence.
const minParallelRows = 8

// runRows is a Scratch whose Row computes the attention of run i of rows
// of one sentence with part's probabilities.
type runRows Scratch

// Row implements kernels.RowWorker.
func (s *runRows) Row(part, i int) {
	r0, r1 := s.runs[i], s.runs[i+1]
	d, heads, sent := s.c.d, s.c.layers[s.l].Heads, s.sentence[r0]
	// Keys past the sentence's length are padding with zero weight:
	// attend over the real ones only.
	tk, o := s.m.lengths[sent], sent*s.m.seqLen*d
	probs := nn.Resize(&s.probs[part], heads*(r1-r0)*tk)
	nn.AttentionForward(s.att[r0*d:], probs, s.q[r0*d:], s.m.k[s.l][o:], s.m.v[s.l][o:], r1-r0, tk, d, heads, tk, false)
	if s.Align != nil {
		addHeads(s.Align[r0*s.m.seqLen:], probs, r1-r0, tk, s.m.seqLen, heads)
	}
}

// addHeads adds the attention probs [heads·tq·tk] averaged over the heads to
// dst [tq·stride].
func addHeads(dst, probs []float32, tq, tk, stride, heads int) {
	w := 1 / float32(heads)
	for h := range heads {
		for i := range tq {
			row := probs[(h*tq+i)*tk : (h*tq+i+1)*tk]
			out := dst[i*stride : i*stride+tk]
			for k, p := range row {
				out[k] += w * p
			}
		}
	}
}
