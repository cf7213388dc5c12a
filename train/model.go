package train

import (
	"fmt"
	"math"
	"math/rand/v2"

	"github.com/deen-mt/deen/internal/kernels"
	"github.com/deen-mt/deen/internal/modelfile"
	"github.com/deen-mt/deen/internal/nn"
)

// This file is the training forward and backward pass of the whole model
// over a packed batch: sentences are laid end to end without padding (rows
// of width d), every per-token op runs once over all rows with one Gemm,
// and attention runs per sentence through nn.AttentionForward/Backward, the
// same op the inference layers use. Every block caches what its backward
// pass needs in buffers that grow to the largest batch and are then reused.

// Batch is a packed batch of training pairs.
type Batch struct {
	// Src holds the source ids of all sentences end to end; SrcOff[b] and
	// SrcLen[b] locate sentence b.
	Src            []int32
	SrcOff, SrcLen []int
	// TgtIn holds the decoder inputs (start id, then the target without its
	// last id) and Labels the ids to predict, both end to end; TgtOff[b]
	// and TgtLen[b] locate sentence b in both.
	TgtIn, Labels  []int32
	TgtOff, TgtLen []int
}

// MakeBatch packs the examples idx of ex for a model whose decoder starts
// with startID, reusing b's slices.
func MakeBatch(b *Batch, ex []Example, idx []int, startID int32) {
	b.Src, b.TgtIn, b.Labels = b.Src[:0], b.TgtIn[:0], b.Labels[:0]
	b.SrcOff, b.SrcLen, b.TgtOff, b.TgtLen = b.SrcOff[:0], b.SrcLen[:0], b.TgtOff[:0], b.TgtLen[:0]
	for _, i := range idx {
		e := ex[i]
		b.SrcOff, b.SrcLen = append(b.SrcOff, len(b.Src)), append(b.SrcLen, len(e.Src))
		b.Src = append(b.Src, e.Src...)
		b.TgtOff, b.TgtLen = append(b.TgtOff, len(b.TgtIn)), append(b.TgtLen, len(e.Tgt))
		b.TgtIn = append(b.TgtIn, startID)
		b.TgtIn = append(b.TgtIn, e.Tgt[:len(e.Tgt)-1]...)
		b.Labels = append(b.Labels, e.Tgt...)
	}
}

// Model is a Transformer under training: its parameters (named as in
// modelfile.Config) and the activation caches of the last forward pass.
type Model struct {
	// Config is the architecture; only post-norm, sinusoidal positions and
	// a tied output projection are trained here.
	Config modelfile.Config
	// Params holds weights and gradients.
	Params *Params
	// Dropout is the dropout probability used by training passes.
	Dropout float32
	// Smoothing is the label smoothing of the loss.
	Smoothing float32

	act        nn.Activation
	pos        []float32
	embScale   float32
	embed      *Param
	enc        []encLayer
	dec        []decLayer
	srcEmb     embedBlock
	tgtEmb     embedBlock
	dMem       []float32
	logits     []float32
	probs      []float32
	losses     []float32
	dHidden    []float32
	hidden     []float32
	decOut     []float32
	nSrc, nTgt int
}

type encLayer struct {
	self attnBlock
	ffn  ffnBlock
}

type decLayer struct {
	self, cross attnBlock
	ffn         ffnBlock
}

// NewModel lays out the parameters cfg implies (without final_logits_bias)
// and initialises them from seed: Xavier-uniform linear weights, zero
// biases, unit layer-norm gains, embedding N(0, d^-1/2) with a zero pad row.
func NewModel(cfg modelfile.Config, seed uint64) (*Model, error) {
	if err := checkTrainable(cfg); err != nil {
		return nil, err
	}
	var names []string
	var shapes [][]int
	var decay []bool
	for _, s := range cfg.Tensors() {
		if s.Optional {
			continue
		}
		names, shapes, decay = append(names, s.Name), append(shapes, s.Shape), append(decay, len(s.Shape) == 2)
	}
	ps := NewParams(names, shapes, decay)
	rng := rand.New(rand.NewPCG(seed, 0x5eed))
	for _, p := range ps.List {
		switch {
		case p.Name == "embed.weight":
			std := math.Pow(float64(cfg.DModel), -0.5)
			for i := range p.W {
				p.W[i] = float32(rng.NormFloat64() * std)
			}
			clear(p.W[cfg.PadID*cfg.DModel : (cfg.PadID+1)*cfg.DModel])
		case len(p.Shape) == 2:
			a := math.Sqrt(6 / float64(p.Shape[0]+p.Shape[1]))
			for i := range p.W {
				p.W[i] = float32((2*rng.Float64() - 1) * a)
			}
		case hasSuffix(p.Name, "ln.weight"):
			for i := range p.W {
				p.W[i] = 1
			}
		}
	}
	return bindModel(cfg, ps)
}

// checkTrainable reports configurations this trainer does not support.
func checkTrainable(cfg modelfile.Config) error {
	if err := cfg.Validate(); err != nil {
		return err
	}
	switch {
	case cfg.PreNorm || cfg.FinalLayerNorm:
		return fmt.Errorf("train: only post-norm models without final layer norms are supported")
	case cfg.Positions != modelfile.PositionsMarian:
		return fmt.Errorf("train: only %q positions are supported, not %q", modelfile.PositionsMarian, cfg.Positions)
	}
	return nil
}

// bindModel builds a Model over existing parameters.
func bindModel(cfg modelfile.Config, ps *Params) (*Model, error) {
	if err := checkTrainable(cfg); err != nil {
		return nil, err
	}
	act, err := nn.ParseActivation(cfg.Activation)
	if err != nil {
		return nil, err
	}
	d := cfg.DModel
	m := &Model{Config: cfg, Params: ps, act: act, embed: ps.Get("embed.weight"),
		pos: nn.SinusoidalMarian(cfg.MaxPositions, d), embScale: 1}
	if cfg.ScaleEmbedding {
		m.embScale = float32(math.Sqrt(float64(d)))
	}
	eps := cfg.LayerNormEps
	for i := 0; i < cfg.EncoderLayers; i++ {
		p := fmt.Sprintf("enc.%d.", i)
		m.enc = append(m.enc, encLayer{
			self: newAttnBlock(ps, p+"self", p+"self_ln", d, cfg.EncoderHeads, eps, false),
			ffn:  newFFNBlock(ps, p, d, cfg.EncoderFFN, eps, act),
		})
	}
	for i := 0; i < cfg.DecoderLayers; i++ {
		p := fmt.Sprintf("dec.%d.", i)
		m.dec = append(m.dec, decLayer{
			self:  newAttnBlock(ps, p+"self", p+"self_ln", d, cfg.DecoderHeads, eps, true),
			cross: newAttnBlock(ps, p+"cross", p+"cross_ln", d, cfg.DecoderHeads, eps, false),
			ffn:   newFFNBlock(ps, p, d, cfg.DecoderFFN, eps, act),
		})
	}
	return m, nil
}

func hasSuffix(s, suf string) bool { return len(s) >= len(suf) && s[len(s)-len(suf):] == suf }

// grow returns buf resized to n values, reusing its memory when it can.
// The contents are unspecified.
func grow(buf []float32, n int) []float32 {
	if cap(buf) < n {
		return make([]float32, n, n+n/4)
	}
	return buf[:n]
}

// zeros returns buf resized to n values, all zero.
func zeros(buf []float32, n int) []float32 {
	buf = grow(buf, n)
	clear(buf)
	return buf
}

// linear pairs a layer's weights with its gradients.
type linear struct{ w, g nn.Linear }

func newLinear(ps *Params, prefix string) linear {
	w, b := ps.Get(prefix+".weight"), ps.Get(prefix+".bias")
	out, in := w.Shape[0], w.Shape[1]
	return linear{w: nn.Linear{W: w.W, B: b.W, In: in, Out: out}, g: nn.Linear{W: w.G, B: b.G, In: in, Out: out}}
}

func (l *linear) forward(y, x []float32, n int) { l.w.Forward(y, x, n) }

// backward adds dx += dy·W (dx may be nil) and the weight gradients.
func (l *linear) backward(dx, dy, x []float32, n int) {
	nn.LinearBackward(dx, l.g.W, l.g.B, dy, x, l.w.W, n, l.w.In, l.w.Out)
}

// norm is a post-norm residual join y = LN(x + f(x)) with its cache.
type norm struct {
	w, g       nn.LayerNorm
	sum        []float32
	mean, rstd []float32
}

func newNorm(ps *Params, prefix string, d int, eps float32) norm {
	w, b := ps.Get(prefix+".weight"), ps.Get(prefix+".bias")
	return norm{w: nn.LayerNorm{W: w.W, B: b.W, D: d, Eps: eps}, g: nn.LayerNorm{W: w.G, B: b.G, D: d, Eps: eps}}
}

// forward sets y = LN(x + fx) over n rows.
func (r *norm) forward(y, x, fx []float32, n int) {
	d := r.w.D
	r.sum = grow(r.sum, n*d)
	r.mean, r.rstd = grow(r.mean, n), grow(r.rstd, n)
	nn.Residual(r.sum, x[:n*d], fx)
	nn.LayerNormForward(y, r.mean, r.rstd, r.sum, r.w.W, r.w.B, n, d, r.w.Eps)
}

// backward sets dsum = ∂/∂(x+fx) from dy, which is the gradient of both x
// and fx.
func (r *norm) backward(dsum, dy []float32, n int) {
	clear(dsum[:n*r.w.D])
	nn.LayerNormBackward(dsum, r.g.W, r.g.B, dy, r.sum, r.mean, r.rstd, r.w.W, n, r.w.D)
}

// dropout applies nn.Dropout with its mask cache.
type dropout struct{ mask []float32 }

func (dr *dropout) forward(x []float32, p float32, rng *rand.Rand) {
	if p == 0 {
		dr.mask = dr.mask[:0]
		return
	}
	dr.mask = grow(dr.mask, len(x))
	nn.Dropout(x, dr.mask, p, rng)
}

// backward applies the mask to g in place (no-op without dropout).
func (dr *dropout) backward(g []float32) {
	if len(dr.mask) == 0 {
		return
	}
	for i, m := range dr.mask[:len(g)] {
		g[i] *= m
	}
}

// seqs locates the sentences of a packed batch: sentence b is rows
// off[b]..off[b]+len[b].
type seqs struct{ off, len []int }

// attnBlock is a post-norm attention sub-layer y = LN(x + Drop(O(Attn(Q x,
// K mem, V mem)))): self-attention when mem is x (causal in the decoder),
// cross-attention when mem is the encoder output.
type attnBlock struct {
	q, k, v, o linear
	ln         norm
	heads      int
	causal     bool
	drop       dropout

	x, mem                      []float32
	qs, ks                      seqs
	nq, nk                      int
	qb, kb, vb, ctx, out, probs []float32
	probOff                     []int
	y, dx, dq, dk, dv, dctx     []float32
	scratch                     []float32
}

func newAttnBlock(ps *Params, prefix, lnPrefix string, d, heads int, eps float32, causal bool) attnBlock {
	return attnBlock{q: newLinear(ps, prefix+".q"), k: newLinear(ps, prefix+".k"), v: newLinear(ps, prefix+".v"),
		o: newLinear(ps, prefix+".o"), ln: newNorm(ps, lnPrefix, d, eps), heads: heads, causal: causal}
}

// forward runs the block on x (nq rows in sentences qs) attending over mem
// (nk rows in sentences ks, sentence for sentence) and returns y [nq·d],
// owned by the block until its next forward.
func (a *attnBlock) forward(x []float32, qs seqs, nq int, mem []float32, ks seqs, nk int, p float32, rng *rand.Rand) []float32 {
	d := a.o.w.Out
	a.x, a.mem, a.qs, a.ks, a.nq, a.nk = x, mem, qs, ks, nq, nk
	a.qb, a.kb, a.vb = grow(a.qb, nq*d), grow(a.kb, nk*d), grow(a.vb, nk*d)
	a.q.forward(a.qb, x, nq)
	a.k.forward(a.kb, mem, nk)
	a.v.forward(a.vb, mem, nk)
	a.probOff = a.probOff[:0]
	total := 0
	for b := range qs.off {
		a.probOff = append(a.probOff, total)
		total += a.heads * qs.len[b] * ks.len[b]
	}
	a.probs, a.ctx = grow(a.probs, total), grow(a.ctx, nq*d)
	for b := range qs.off {
		qo, ko, tq, tk := qs.off[b]*d, ks.off[b]*d, qs.len[b], ks.len[b]
		nn.AttentionForward(a.ctx[qo:], a.probs[a.probOff[b]:], a.qb[qo:], a.kb[ko:], a.vb[ko:], tq, tk, d, a.heads, tk, a.causal)
	}
	a.out, a.y = grow(a.out, nq*d), grow(a.y, nq*d)
	a.o.forward(a.out, a.ctx, nq)
	a.drop.forward(a.out, p, rng)
	a.ln.forward(a.y, x, a.out, nq)
	return a.y
}

// backward takes dy [nq·d], adds the parameter gradients and the gradient
// of mem to dmem (nil for self-attention, whose mem is x), and returns the
// gradient of x, owned by the block.
func (a *attnBlock) backward(dy, dmem []float32) []float32 {
	d, nq, nk := a.o.w.Out, a.nq, a.nk
	a.dx = grow(a.dx, nq*d)
	a.ln.backward(a.dx, dy, nq) // dx = dsum: the residual path
	a.dctx = grow(a.dctx, nq*d)
	a.dq = grow(a.dq, nq*d) // dropped-out gradient of the output projection
	copy(a.dq, a.dx)
	a.drop.backward(a.dq)
	clear(a.dctx)
	a.o.backward(a.dctx, a.dq, a.ctx, nq)
	a.dq, a.dk, a.dv = zeros(a.dq, nq*d), zeros(a.dk, nk*d), zeros(a.dv, nk*d)
	maxTT := 0
	for b := range a.qs.off {
		maxTT = max(maxTT, a.qs.len[b]*a.ks.len[b])
	}
	a.scratch = grow(a.scratch, maxTT)
	for b := range a.qs.off {
		qo, ko, tq, tk := a.qs.off[b]*d, a.ks.off[b]*d, a.qs.len[b], a.ks.len[b]
		nn.AttentionBackward(a.dq[qo:], a.dk[ko:], a.dv[ko:], a.dctx[qo:], a.qb[qo:], a.kb[ko:], a.vb[ko:],
			a.probs[a.probOff[b]:], a.scratch, tq, tk, d, a.heads)
	}
	if dmem == nil {
		dmem = a.dx
	}
	a.q.backward(a.dx, a.dq, a.x, nq)
	a.k.backward(dmem, a.dk, a.mem, nk)
	a.v.backward(dmem, a.dv, a.mem, nk)
	return a.dx
}

// ffnBlock is the post-norm feed-forward sub-layer y = LN(x + Drop(FC2(act(FC1 x)))).
type ffnBlock struct {
	fc1, fc2 linear
	ln       norm
	act      nn.Activation
	drop     dropout

	x, h, a, out, y, dx, dout, da []float32
	n                             int
}

func newFFNBlock(ps *Params, prefix string, d, ffn int, eps float32, act nn.Activation) ffnBlock {
	return ffnBlock{fc1: newLinear(ps, prefix+"fc1"), fc2: newLinear(ps, prefix+"fc2"), ln: newNorm(ps, prefix+"ffn_ln", d, eps), act: act}
}

func (f *ffnBlock) forward(x []float32, n int, p float32, rng *rand.Rand) []float32 {
	d, ffn := f.fc2.w.Out, f.fc1.w.Out
	f.x, f.n = x, n
	f.h, f.a = grow(f.h, n*ffn), grow(f.a, n*ffn)
	f.fc1.forward(f.h, x, n)
	f.act.Forward(f.a, f.h)
	f.out, f.y = grow(f.out, n*d), grow(f.y, n*d)
	f.fc2.forward(f.out, f.a, n)
	f.drop.forward(f.out, p, rng)
	f.ln.forward(f.y, x, f.out, n)
	return f.y
}

func (f *ffnBlock) backward(dy []float32) []float32 {
	d, ffn, n := f.fc2.w.Out, f.fc1.w.Out, f.n
	f.dx, f.dout = grow(f.dx, n*d), grow(f.dout, n*d)
	f.ln.backward(f.dx, dy, n)
	copy(f.dout, f.dx)
	f.drop.backward(f.dout)
	f.da = zeros(f.da, n*ffn)
	f.fc2.backward(f.da, f.dout, f.a, n)
	dh := f.a // the activation output is no longer needed: reuse it for dh
	clear(dh)
	f.act.Backward(dh, f.da, f.h)
	f.fc1.backward(f.dx, dh, f.x, n)
	return f.dx
}

// embedBlock is token embedding ·scale + sinusoidal positions + dropout.
type embedBlock struct {
	ids  []int32
	x    []float32
	drop dropout
}

func (e *embedBlock) forward(m *Model, ids []int32, s seqs, p float32, rng *rand.Rand) []float32 {
	d := m.Config.DModel
	e.ids = ids
	e.x = grow(e.x, len(ids)*d)
	nn.Embedding(e.x, ids, m.embed.W, d, m.embScale)
	for b := range s.off {
		for t := 0; t < s.len[b]; t++ {
			kernels.Add(e.x[(s.off[b]+t)*d:(s.off[b]+t+1)*d], m.pos[t*d:(t+1)*d])
		}
	}
	e.drop.forward(e.x, p, rng)
	return e.x
}

func (e *embedBlock) backward(m *Model, dx []float32) {
	e.drop.backward(dx)
	nn.EmbeddingBackward(m.embed.G, dx, e.ids, m.Config.DModel, m.embScale)
}

// checkBatch returns an error when a sentence of b is empty or longer than
// the positions the model supports, or an id is outside the vocabulary.
func (m *Model) checkBatch(b *Batch) error {
	for i := range b.SrcLen {
		if b.SrcLen[i] < 1 || b.SrcLen[i] > m.Config.MaxPositions || b.TgtLen[i] < 1 || b.TgtLen[i] > m.Config.MaxPositions {
			return fmt.Errorf("train: sentence %d has %d source and %d target tokens, want 1..%d", i, b.SrcLen[i], b.TgtLen[i], m.Config.MaxPositions)
		}
	}
	for _, ids := range [][]int32{b.Src, b.TgtIn, b.Labels} {
		for _, id := range ids {
			if id < 0 || int(id) >= m.Config.VocabSize {
				return fmt.Errorf("train: id %d outside the vocabulary 0..%d", id, m.Config.VocabSize-1)
			}
		}
	}
	return nil
}

// Forward runs the model on b and returns the summed label-smoothed loss
// and the number of target tokens. With rng != nil dropout is on (training)
// and the caches are ready for Backward.
func (m *Model) Forward(b *Batch, rng *rand.Rand) (loss float64, tokens int, err error) {
	if err := m.checkBatch(b); err != nil {
		return 0, 0, err
	}
	p := m.Dropout
	if rng == nil {
		p = 0
	}
	d, v := m.Config.DModel, m.Config.VocabSize
	src, tgt := seqs{b.SrcOff, b.SrcLen}, seqs{b.TgtOff, b.TgtLen}
	m.nSrc, m.nTgt = len(b.Src), len(b.TgtIn)
	x := m.srcEmb.forward(m, b.Src, src, p, rng)
	for i := range m.enc {
		l := &m.enc[i]
		x = l.self.forward(x, src, m.nSrc, x, src, m.nSrc, p, rng)
		x = l.ffn.forward(x, m.nSrc, p, rng)
	}
	mem := x
	y := m.tgtEmb.forward(m, b.TgtIn, tgt, p, rng)
	for i := range m.dec {
		l := &m.dec[i]
		y = l.self.forward(y, tgt, m.nTgt, y, tgt, m.nTgt, p, rng)
		y = l.cross.forward(y, tgt, m.nTgt, mem, src, m.nSrc, p, rng)
		y = l.ffn.forward(y, m.nTgt, p, rng)
	}
	m.decOut = y
	n := m.nTgt
	m.logits, m.probs, m.losses = grow(m.logits, n*v), grow(m.probs, n*v), grow(m.losses, n)
	kernels.Gemm(false, true, n, v, d, 1, y, d, m.embed.W, d, 0, m.logits, v)
	loss, tokens = nn.CrossEntropyForward(m.losses, m.probs, m.logits, b.Labels, n, v, m.Smoothing, int32(m.Config.PadID))
	return loss, tokens, nil
}

// Backward adds to the gradients of Params the gradient of scale times the
// summed loss of the last Forward (scale is usually 1/tokens).
func (m *Model) Backward(b *Batch, scale float32) {
	d, v, n := m.Config.DModel, m.Config.VocabSize, m.nTgt
	dl := m.logits
	clear(dl)
	nn.CrossEntropyBackward(dl, m.probs, b.Labels, n, v, m.Smoothing, int32(m.Config.PadID), scale)
	m.dHidden = grow(m.dHidden, n*d)
	kernels.Gemm(false, false, n, d, v, 1, dl, v, m.embed.W, d, 0, m.dHidden, d)
	kernels.Gemm(true, false, v, d, n, 1, dl, v, m.decOut, d, 1, m.embed.G, d)
	dy := m.dHidden
	m.dMem = zeros(m.dMem, m.nSrc*d)
	for i := len(m.dec) - 1; i >= 0; i-- {
		l := &m.dec[i]
		dy = l.ffn.backward(dy)
		dy = l.cross.backward(dy, m.dMem)
		dy = l.self.backward(dy, nil)
	}
	m.tgtEmb.backward(m, dy)
	dx := m.dMem
	for i := len(m.enc) - 1; i >= 0; i-- {
		l := &m.enc[i]
		dx = l.ffn.backward(dx)
		dx = l.self.backward(dx, nil)
	}
	m.srcEmb.backward(m, dx)
}
