// Package decoder is the decoder stack of the Transformer: N layers of masked
// self-attention (with a key/value cache for incremental decoding),
// cross-attention over the encoder memory (package crossattn) and
// feed-forward, then the output projection tied to the shared embedding
// plus final_logits_bias.
//
// Two entry points compute the same function: Step feeds one token per
// hypothesis and keeps a cache (search), Forward runs a whole teacher-forced
// sequence (scoring, training, tests). With WithWeights(Int8) or Float16,
// Step multiplies reduced-precision copies of its weights instead (close to,
// not equal to, Forward); Forward stays float32.
package decoder

import (
	"fmt"

	"github.com/deen-mt/deen/crossattn"
	"github.com/deen-mt/deen/internal/kernels"
	"github.com/deen-mt/deen/modelfile"
	"github.com/deen-mt/deen/nn"
)

// Decoder is the decoder stack of a model. It is read-only after New and
// safe for concurrent use; all mutable buffers live in a State.
type Decoder struct {
	d, vocab int
	preNorm  bool
	// w gives the weights; Forward and Alignment call w.Float32 first (the
	// float32 values of matrices the model keeps at reduced precision).
	w      *nn.Weights
	embed  nn.Embedder
	layers []layer
	final  *nn.LayerNorm // nil without FinalLayerNorm
	bias   []float32     // final_logits_bias [V], nil when absent
	cross  *crossattn.CrossAttn
	// out is the output projection Step reads: embed.weight as a Linear
	// (outLinear, whose W Forward multiplies), at the step weights'
	// precision.
	out       nn.LowLinear
	outLinear nn.Linear
	// crossStep is the cross-attention Step reads, with its query and
	// output projections at the step weights' precision.
	crossStep *crossattn.CrossAttn
}

// layer is one decoder layer; its cross-attention weights live in cross.
type layer struct {
	self                   nn.MultiHeadAttention
	selfLN, crossLN, ffnLN nn.LayerNorm
	ffn                    nn.FeedForward
	// The Linears Step reads, at the step weights' precision.
	q, k, v, o, fc1, fc2 nn.LowLinear
}

// work holds the scratch buffers of a pass over the layers.
type work struct {
	x, tmp, out, hidden []float32
	attn                nn.AttnScratch
	cross               crossattn.Scratch
}

// New builds the decoder of m, checking the config and every tensor it needs
// (embed.weight, optional final_logits_bias, dec.{i}.*, dec.pos.weight for
// learned positions, dec.ln.* with FinalLayerNorm); the error names the
// missing or misshaped tensor. Options choose the precision of the weights
// Step reads (WithWeights).
func New(m *modelfile.Model, opts ...Option) (*Decoder, error) {
	var o options
	for _, opt := range opts {
		opt(&o)
	}
	d, err := build(nn.NewWeights(m), m)
	if err == nil {
		err = d.stepWeights(o.weights)
	}
	if err != nil {
		return nil, fmt.Errorf("decoder: %w", err)
	}
	return d, nil
}

// build reads the decoder's weights through w (a matrix the model keeps at
// reduced precision is left for stepWeights and Float32).
func build(w *nn.Weights, m *modelfile.Model) (*Decoder, error) {
	c := m.Config
	if c.DModel < 1 || c.DecoderLayers < 1 || c.DecoderFFN < 1 || c.VocabSize < 1 {
		return nil, fmt.Errorf("config has d_model %d, %d layers, ffn %d, vocabulary %d; want all positive",
			c.DModel, c.DecoderLayers, c.DecoderFFN, c.VocabSize)
	}
	act, err := nn.ParseActivation(c.Activation)
	if err != nil {
		return nil, err
	}
	d := c.DModel
	dec := &Decoder{d: d, vocab: c.VocabSize, preNorm: c.PreNorm, w: w, layers: make([]layer, c.DecoderLayers)}
	if dec.embed, err = nn.LoadEmbedder(w, c, "dec.pos.weight"); err != nil {
		return nil, err
	}
	if _, ok := m.Tensors["final_logits_bias"]; ok {
		if dec.bias, err = m.Get("final_logits_bias", c.VocabSize); err != nil {
			return nil, err
		}
	}
	for i := range dec.layers {
		p := fmt.Sprintf("dec.%d.", i)
		l := &dec.layers[i]
		if l.self, err = nn.LoadMultiHeadAttention(w, p+"self", d, c.DecoderHeads); err != nil {
			return nil, err
		}
		for _, ln := range []struct {
			name string
			ln   *nn.LayerNorm
		}{{"self_ln", &l.selfLN}, {"cross_ln", &l.crossLN}, {"ffn_ln", &l.ffnLN}} {
			if *ln.ln, err = nn.LoadLayerNorm(w, p+ln.name, d, c.LayerNormEps); err != nil {
				return nil, err
			}
		}
		if l.ffn, err = nn.LoadFeedForward(w, p, d, c.DecoderFFN, act); err != nil {
			return nil, err
		}
	}
	if c.FinalLayerNorm {
		ln, err := nn.LoadLayerNorm(m, "dec.ln", d, c.LayerNormEps)
		if err != nil {
			return nil, err
		}
		dec.final = &ln
	}
	if dec.cross, err = crossattn.New(m); err != nil {
		return nil, err
	}
	return dec, nil
}

// VocabSize returns V, the width of a logits row.
func (d *Decoder) VocabSize() int { return d.vocab }

// MaxLen returns the most decoder positions the position encoding supports
// (start token included); Step must not go past it.
func (d *Decoder) MaxLen() int { return d.embed.MaxPos }

// CrossAttn returns the decoder's cross-attention, whose Memory method makes
// the memory that NewState and Forward read.
func (d *Decoder) CrossAttn() *crossattn.CrossAttn { return d.cross }

// StepCrossAttn returns the cross-attention that Step multiplies with: its
// Memory projects the keys and values at the precision of WithWeights (for
// Float32 exactly CrossAttn's). A Memory of either serves Step and Forward.
func (d *Decoder) StepCrossAttn() *crossattn.CrossAttn { return d.crossStep }

// selfAttention computes the self-attention of layer l for the rows of in
// into out; Step and Forward supply different ones.
type selfAttention func(l int, out, in []float32)

// run applies the decoder layers (and the final layer norm) to the n rows
// of x in place, row r reading memory sentence sentence[r]; with step the
// cross-attention and feed-forward read Step's weights.
func (d *Decoder) run(x []float32, n int, mem *crossattn.Memory, sentence []int, w *work, self selfAttention, step bool) {
	dm, pre := d.d, d.preNorm
	cross := d.cross
	if step {
		cross = d.crossStep
	}
	tmp, out := nn.Resize(&w.tmp, n*dm), nn.Resize(&w.out, n*dm)
	for i := range d.layers {
		l := &d.layers[i]
		in := l.selfLN.SublayerInput(x, tmp, n, pre)
		self(i, out, in)
		l.selfLN.SublayerOutput(x, out, n, pre)
		in = l.crossLN.SublayerInput(x, tmp, n, pre)
		cross.Attend(i, mem, in, n, sentence, out, &w.cross)
		l.crossLN.SublayerOutput(x, out, n, pre)
		in = l.ffnLN.SublayerInput(x, tmp, n, pre)
		h := nn.Resize(&w.hidden, n*l.ffn.FC1.Out)
		if step {
			l.fc1.Forward(h, in, n)
			l.ffn.Act.Forward(h, h)
			l.fc2.Forward(out, h, n)
		} else {
			l.ffn.Forward(out, in, h, n)
		}
		l.ffnLN.SublayerOutput(x, out, n, pre)
	}
	if d.final != nil {
		d.final.Forward(x, x, n)
	}
}

// project writes the logits [n·V] of the n decoder outputs x: the output
// projection tied to the embedding, one product for all rows, plus the
// bias. With step it reads Step's weights.
func (d *Decoder) project(logits, x []float32, n int, step bool) {
	v, dm := d.vocab, d.d
	if step {
		d.out.Forward(logits, x, n)
	} else {
		kernels.Gemm(false, true, n, v, dm, 1, x, dm, d.outLinear.W, dm, 0, logits, v)
	}
	addBias(logits, d.bias, n)
}

// addBias adds bias (nil: none) to each of the n rows of logits.
func addBias(logits, bias []float32, n int) {
	if bias == nil {
		return
	}
	v := len(bias)
	for r := 0; r < n; r++ {
		kernels.Add(logits[r*v:(r+1)*v], bias)
	}
}

// Forward is teacher forcing: decoder input ids [batch·tgtLen] (right-padded,
// real lengths tgtLens[b]; nil means all tgtLen), row b reading sentence b
// of mem, give logits [batch·tgtLen·V] (a new slice). Rows past tgtLens[b]
// are unspecified.
func (d *Decoder) Forward(mem *crossattn.Memory, ids []int32, batch, tgtLen int, tgtLens []int) []float32 {
	n := batch * tgtLen
	if mem.Batch() != batch {
		panic(fmt.Sprintf("decoder: Forward of %d sequences over a memory of %d sentences", batch, mem.Batch()))
	}
	if len(ids) < n {
		panic(fmt.Sprintf("decoder: %d ids for a batch of %d×%d", len(ids), batch, tgtLen))
	}
	for b := 0; tgtLens != nil && b < batch; b++ {
		if tgtLens[b] < 1 || tgtLens[b] > tgtLen {
			panic(fmt.Sprintf("decoder: sequence %d has length %d, want 1..%d", b, tgtLens[b], tgtLen))
		}
	}
	x := d.teacherForced(mem, ids[:n], batch, tgtLen, tgtLens)
	logits := make([]float32, n*d.vocab)
	d.project(logits, x, n, false)
	return logits
}

// Alignment is Forward that returns, instead of logits, the cross-attention
// probabilities of every target position over the source, averaged over
// the heads and the layers: [batch·tgtLen·mem.SeqLen()], row (b, t) reading
// sentence b (keys past its length are 0; each row sums to 1). Position t
// is the step that predicts token t+1 of ids, so for ids = start token +
// output, row t is how the output's token t was aligned when Step produced
// it: it multiplies Step's weights (WithWeights), so under reduced precision
// it makes no float32 copy of them; give it a memory of StepCrossAttn to
// attend over the keys and values Step attended over. Step itself never
// computes this: the search pays nothing for it.
func (d *Decoder) Alignment(mem *crossattn.Memory, ids []int32, batch, tgtLen int, tgtLens []int) []float32 {
	n := batch * tgtLen
	if mem.Batch() != batch || len(ids) < n {
		panic(fmt.Sprintf("decoder: Alignment of %d ids as %d×%d over a memory of %d sentences", len(ids), batch, tgtLen, mem.Batch()))
	}
	align := make([]float32, n*mem.SeqLen())
	d.forward(mem, ids[:n], batch, tgtLen, tgtLens, align, true)
	w := 1 / float32(len(d.layers))
	for i := range align {
		align[i] *= w
	}
	return align
}

// teacherForced returns the decoder outputs [batch·tgtLen·d] (before the
// output projection) of Forward's arguments.
func (d *Decoder) teacherForced(mem *crossattn.Memory, ids []int32, batch, tgtLen int, tgtLens []int) []float32 {
	return d.forward(mem, ids, batch, tgtLen, tgtLens, nil, false)
}

// forward is teacherForced that also sums the cross-attention
// probabilities of every layer into align (see crossattn.Scratch.Align)
// when align is not nil; with step it multiplies Step's weights rather
// than the float32 ones.
func (d *Decoder) forward(mem *crossattn.Memory, ids []int32, batch, tgtLen int, tgtLens []int, align []float32, step bool) []float32 {
	n := batch * tgtLen
	if !step {
		d.w.Float32()
	}
	var w work
	w.cross.Align = align
	x := nn.Resize(&w.x, n*d.d)
	d.embed.Forward(x, ids, tgtLen, 0)
	sentence := make([]int, n)
	for r := range sentence {
		sentence[r] = r / tgtLen
	}
	self := func(l int, out, in []float32) {
		ly := &d.layers[l]
		p := nn.Projections{&ly.self.Q, &ly.self.K, &ly.self.V, &ly.self.O}
		if step {
			p = nn.Projections{&ly.q, &ly.k, &ly.v, &ly.o}
		}
		ly.self.SelfAttentionWith(p, out, in, batch, tgtLen, tgtLens, true, &w.attn)
	}
	d.run(x, n, mem, sentence, &w, self, step)
	return x
}

// State is the incremental decoding state of R rows (hypotheses). Row r
// reads memory sentence sentence[r]. A State is used by one goroutine at a
// time.
//
// The self-attention keys and values are stored once per (step, row) in
// flat per-layer arrays, with a back-pointer from every (step, row) to the
// (step-1, row) it continues; Reorder only rewrites row indices, it never
// copies the cache.
type State struct {
	dec       *Decoder
	mem       *crossattn.Memory
	rows, len int
	// sentence[r] is row r's memory sentence; cur[r] is the cache slot of
	// its newest token (-1 before the first step). The *Next slices are
	// Reorder's double buffers.
	sentence, sentNext []int
	cur, curNext       []int
	// A slot is one (position, row) entry of the cache: base[t] is the
	// slot of row 0 at position t, prev[slot] the slot it continues (-1 at
	// position 0), and k[l], v[l] hold layer l's [slots·d] keys and values.
	base, prev []int
	k, v       [][]float32
	// offs holds, per row, the cache offsets of its history in position
	// order (rebuilt each step, shared by all layers).
	offs   []int
	q, att []float32
	scores [][]float32 // one per part of kernels.ParallelRows
	layer  int         // the layer attend is computing, for selfRows
	self   selfAttention
	// out and bias are the output projection's rows of Shortlist (nil:
	// every id, the Decoder's).
	out  *nn.LowLinear
	bias []float32
	work
}

// minParallelRows is the least number of rows whose attention over the
// cache attend splits across the kernel threads (crossattn has the same
// bound for its attention over the memory).
const minParallelRows = 8

// initialSteps bounds the steps the cache is first sized for; longer
// outputs grow it geometrically.
const initialSteps = 64

// NewState starts decoding len(sentence) rows over mem; row r reads sentence
// sentence[r] of mem. maxLen is the expected number of steps: the cache is
// sized for min(maxLen, 64) steps once and grows geometrically beyond.
func (d *Decoder) NewState(mem *crossattn.Memory, sentence []int, maxLen int) *State {
	if mem.Batch() < 1 {
		panic("decoder: NewState over an empty memory")
	}
	for r, b := range sentence {
		if b < 0 || b >= mem.Batch() {
			panic(fmt.Sprintf("decoder: row %d reads sentence %d of a memory of %d", r, b, mem.Batch()))
		}
	}
	rows := len(sentence)
	steps := min(max(maxLen, 1), initialSteps)
	s := &State{
		dec: d, mem: mem, rows: rows,
		sentence: append([]int(nil), sentence...),
		cur:      make([]int, rows),
		base:     make([]int, 0, steps),
		prev:     make([]int, 0, steps*rows),
		k:        make([][]float32, len(d.layers)),
		v:        make([][]float32, len(d.layers)),
	}
	for r := range s.cur {
		s.cur[r] = -1
	}
	for l := range s.k {
		s.k[l] = make([]float32, 0, steps*rows*d.d)
		s.v[l] = make([]float32, 0, steps*rows*d.d)
	}
	s.self = s.attend
	return s
}

// Len returns the number of tokens fed so far (the position of the next one).
func (s *State) Len() int { return s.len }

// Rows returns the current number of rows.
func (s *State) Rows() int { return s.rows }

// Step feeds one token per row at position s.Len(), appends the rows'
// keys and values to the cache and writes the raw float32 logits of the next
// token to logits [Rows()·Width()]: all V ids, or those of Shortlist. After
// warm-up it allocates nothing.
func (d *Decoder) Step(s *State, tokens []int32, logits []float32) {
	if s.dec != d {
		panic("decoder: Step with a State of another Decoder")
	}
	rows, t, dm, v := s.rows, s.len, d.d, s.Width()
	if len(tokens) < rows || len(logits) < rows*v {
		panic(fmt.Sprintf("decoder: Step of %d rows with %d tokens and %d logits (want %d)", rows, len(tokens), len(logits), rows*v))
	}
	if t >= d.embed.MaxPos {
		panic(fmt.Sprintf("decoder: Step at position %d, past the model's %d positions", t, d.embed.MaxPos))
	}
	// New cache slots for this position, each pointing at its row's history.
	slot0 := len(s.prev)
	s.base = append(s.base, slot0)
	for r := 0; r < rows; r++ {
		s.prev = append(s.prev, s.cur[r])
		s.cur[r] = slot0 + r
	}
	for l := range s.k {
		s.k[l] = extend(s.k[l], rows*dm)
		s.v[l] = extend(s.v[l], rows*dm)
	}
	// Each row's history, oldest first, by following the back-pointers.
	keys := t + 1
	if cap(s.offs) < rows*keys {
		s.offs = make([]int, rows*keys, 2*rows*keys)
	}
	s.offs = s.offs[:rows*keys]
	for r := 0; r < rows; r++ {
		g := slot0 + r
		for p := t; p >= 0; p-- {
			s.offs[r*keys+p] = g * dm
			g = s.prev[g]
		}
	}
	x := nn.Resize(&s.x, rows*dm)
	d.embed.Forward(x, tokens[:rows], 1, t)
	d.run(x, rows, s.mem, s.sentence[:rows], &s.work, s.self, true)
	if s.out != nil {
		s.out.Forward(logits[:rows*v], x, rows)
		addBias(logits, s.bias, rows)
	} else {
		d.project(logits[:rows*v], x, rows, true)
	}
	s.len++
}

// attend is the cached self-attention of layer l for the rows of in: their
// keys and values go into this position's slots, and each row attends over
// its own history through the offsets built by Step.
func (s *State) attend(l int, out, in []float32) {
	ly := &s.dec.layers[l]
	rows, dm := s.rows, s.dec.d
	slot0 := s.base[s.len]
	q, att := nn.Resize(&s.q, rows*dm), nn.Resize(&s.att, rows*dm)
	ly.q.Forward(q, in, rows)
	ly.k.Forward(s.k[l][slot0*dm:(slot0+rows)*dm], in, rows)
	ly.v.Forward(s.v[l][slot0*dm:(slot0+rows)*dm], in, rows)
	parts := 1
	if rows >= minParallelRows {
		parts = kernels.Threads()
	}
	for len(s.scores) < parts {
		s.scores = append(s.scores, nil)
	}
	s.layer = l
	kernels.ParallelRows(rows, parts, (*selfRows)(s))
	ly.o.Forward(out, att, rows)
}

// selfRows is a State whose Row attends row r over its history in layer
// s.layer, with part's scores.
type selfRows State

// Row implements kernels.RowWorker.
func (s *selfRows) Row(part, r int) {
	dm, l, keys := s.dec.d, s.layer, s.len+1
	heads := s.dec.layers[l].self.Heads
	scores := nn.Resize(&s.scores[part], (heads+1)*keys)
	nn.AttentionGather(s.att[r*dm:(r+1)*dm], s.q[r*dm:(r+1)*dm], s.k[l], s.v[l], s.offs[r*keys:(r+1)*keys], dm, heads, scores)
}

// extend lengthens s by n values, growing its array geometrically.
func extend(s []float32, n int) []float32 {
	if len(s)+n > cap(s) {
		t := make([]float32, len(s), 2*(len(s)+n))
		copy(t, s)
		s = t
	}
	return s[:len(s)+n]
}

// Reorder makes row i continue the history (cache and sentence) of former
// row parents[i]; len(parents) becomes the new number of rows (rows may be
// dropped or duplicated). Only indices change; the cache is not copied.
func (s *State) Reorder(parents []int) {
	n := len(parents)
	if cap(s.curNext) < n || cap(s.sentNext) < n {
		s.curNext, s.sentNext = make([]int, n), make([]int, n)
	}
	cur, sent := s.curNext[:n], s.sentNext[:n]
	for i, p := range parents {
		if p < 0 || p >= s.rows {
			panic(fmt.Sprintf("decoder: Reorder parent %d of row %d, want 0..%d", p, i, s.rows-1))
		}
		cur[i], sent[i] = s.cur[p], s.sentence[p]
	}
	s.cur, s.curNext = cur, s.cur
	s.sentence, s.sentNext = sent, s.sentence
	s.rows = n
}
