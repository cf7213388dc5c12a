package nn

import (
	"math/rand/v2"

	"github.com/deen-mt/deen/internal/kernels"
)

// This file holds the training counterparts of the sub-layers above (the
// trainer's, beside the inference code): each keeps the weights in the very
// structs the inference layers use (W) plus gradient views of the same
// shapes (G), runs the same ops forward over a packed batch while caching
// what its backward pass needs, and adds its gradients in Backward.
// Sentences of a packed batch lie end to end without padding (Seqs).
// Blocks are post-norm, y = LN(x + Dropout(f(x))) (the paper, Marian), or
// with PreNorm set pre-norm, y = x + Dropout(f(LN(x))) (GPT).

// Seqs locates the sentences of a packed batch: sentence b is rows
// Off[b]..Off[b]+Len[b]-1.
type Seqs struct {
	// Off holds the first row of each sentence.
	Off []int
	// Len holds the number of rows (tokens) of each sentence.
	Len []int
}

// Rows returns the total number of rows.
func (s Seqs) Rows() int {
	n := 0
	for _, l := range s.Len {
		n += l
	}
	return n
}

// ResidualNorm is the layer norm of a residual sub-layer with its cache:
// the post-norm join y = LN(x + fx), or (NormIn, NormInBackward) the
// pre-norm normalisation of the sub-layer's input.
type ResidualNorm struct {
	// W holds the layer norm's weights, G their gradients.
	W, G            LayerNorm
	sum, mean, rstd []float32
}

// Forward sets y [n·D] = LN(x + fx).
func (r *ResidualNorm) Forward(y, x, fx []float32, n int) {
	d := r.W.D
	sum := Resize(&r.sum, n*d)
	Residual(sum, x[:n*d], fx)
	LayerNormForward(y, Resize(&r.mean, n), Resize(&r.rstd, n), sum, r.W.W, r.W.B, n, d, r.W.Eps)
}

// Backward sets dsum [n·D] to the gradient of x + fx (so of both x and fx)
// from dy and adds the layer norm's gradients.
func (r *ResidualNorm) Backward(dsum, dy []float32, n int) {
	clear(dsum[:n*r.W.D])
	LayerNormBackward(dsum, r.G.W, r.G.B, dy, r.sum, r.mean, r.rstd, r.W.W, n, r.W.D)
}

// NormIn sets xn [n·D] = LN(x) keeping the statistics for NormInBackward
// (pre-norm blocks: x must stay unchanged until then).
func (r *ResidualNorm) NormIn(xn, x []float32, n int) {
	LayerNormForward(xn, Resize(&r.mean, n), Resize(&r.rstd, n), x, r.W.W, r.W.B, n, r.W.D, r.W.Eps)
}

// NormInBackward adds to dx the gradient of x from dxn, the gradient of
// the last NormIn's output, and adds the layer norm's gradients.
func (r *ResidualNorm) NormInBackward(dx, dxn, x []float32, n int) {
	LayerNormBackward(dx, r.G.W, r.G.B, dxn, x, r.mean, r.rstd, r.W.W, n, r.W.D)
}

// residualJoin sets y = x + out (pre-norm) or LN(x + out) (post-norm).
func (r *ResidualNorm) residualJoin(y, x, out []float32, n int, preNorm bool) {
	if preNorm {
		Residual(y, x[:n*r.W.D], out)
		return
	}
	r.Forward(y, x, out, n)
}

// residualBack sets dsum [n·D] to the gradient of the join's sum x + out
// from dy: dy itself (pre-norm) or through the layer norm (post-norm).
func (r *ResidualNorm) residualBack(dsum, dy []float32, n int, preNorm bool) {
	if preNorm {
		copy(dsum[:n*r.W.D], dy)
		return
	}
	r.Backward(dsum, dy, n)
}

// DropoutMask is Dropout with its mask kept for the backward pass.
type DropoutMask struct{ mask []float32 }

// Forward drops out x in place with probability p (nothing when p == 0).
func (m *DropoutMask) Forward(x []float32, p float32, rng *rand.Rand) {
	if p == 0 {
		m.mask = m.mask[:0]
		return
	}
	Dropout(x, Resize(&m.mask, len(x)), p, rng)
}

// Backward multiplies the gradient g by the last mask in place.
func (m *DropoutMask) Backward(g []float32) {
	if len(m.mask) == 0 {
		return
	}
	for i, k := range m.mask[:len(g)] {
		g[i] *= k
	}
}

// AttentionTrainer trains an attention sub-layer y = LN(x + Dropout(
// MultiHeadAttention(x, mem))), or with PreNorm y = x + Dropout(
// MultiHeadAttention(LN(x), mem')) where mem' is LN(x) for self-attention
// and mem otherwise: self-attention when mem is x (causal in the decoder),
// cross-attention when mem is the encoder output.
type AttentionTrainer struct {
	// W holds the weights, G their gradients (same shapes).
	W, G MultiHeadAttention
	// Norm is the residual join and its layer norm.
	Norm ResidualNorm
	// Causal lets position t attend only to positions ≤ t of its sentence
	// (decoder self-attention).
	Causal bool
	// PreNorm normalises the sub-layer's input instead of the residual sum.
	PreNorm bool
	drop    DropoutMask

	x, mem, xn, din             []float32
	qs, ks                      Seqs
	nq, nk                      int
	q, k, v, ctx, out, probs, y []float32
	probOff                     []int
	dx, dq, dk, dv, dctx, ds    []float32
}

// NewAttentionTrainer loads prefix.{q,k,v,o} and the layer norm lnPrefix
// from w (weights) and g (gradients of the same names and shapes).
func NewAttentionTrainer(w, g Getter, prefix, lnPrefix string, d, heads int, eps float32, causal bool) (*AttentionTrainer, error) {
	a := &AttentionTrainer{Causal: causal}
	var err error
	if a.W, err = LoadMultiHeadAttention(w, prefix, d, heads); err != nil {
		return nil, err
	}
	if a.G, err = LoadMultiHeadAttention(g, prefix, d, heads); err != nil {
		return nil, err
	}
	if a.Norm.W, err = LoadLayerNorm(w, lnPrefix, d, eps); err != nil {
		return nil, err
	}
	if a.Norm.G, err = LoadLayerNorm(g, lnPrefix, d, eps); err != nil {
		return nil, err
	}
	return a, nil
}

// Forward runs the sub-layer for the rows of x (sentences qs) attending,
// sentence for sentence, over the rows of mem (sentences ks), with dropout
// p, and returns y, owned by the trainer until its next Forward. x and mem
// must stay unchanged until Backward.
func (a *AttentionTrainer) Forward(x []float32, qs Seqs, mem []float32, ks Seqs, p float32, rng *rand.Rand) []float32 {
	d, heads := a.W.Q.In, a.W.Heads
	nq, nk := qs.Rows(), ks.Rows()
	self := len(x) > 0 && len(mem) > 0 && &x[0] == &mem[0]
	a.x, a.qs, a.ks, a.nq, a.nk = x, qs, ks, nq, nk
	if a.PreNorm {
		xn := Resize(&a.xn, nq*d)
		a.Norm.NormIn(xn, x, nq)
		if x = xn; self {
			mem = xn
		}
	}
	a.mem = mem
	q, k, v := Resize(&a.q, nq*d), Resize(&a.k, nk*d), Resize(&a.v, nk*d)
	a.W.Q.Forward(q, x, nq)
	a.W.K.Forward(k, mem, nk)
	a.W.V.Forward(v, mem, nk)
	a.probOff = a.probOff[:0]
	total := 0
	for b := range qs.Off {
		a.probOff = append(a.probOff, total)
		total += heads * qs.Len[b] * ks.Len[b]
	}
	probs, ctx := Resize(&a.probs, total), Resize(&a.ctx, nq*d)
	for b := range qs.Off {
		qo, ko, tq, tk := qs.Off[b]*d, ks.Off[b]*d, qs.Len[b], ks.Len[b]
		AttentionForward(ctx[qo:], probs[a.probOff[b]:], q[qo:], k[ko:], v[ko:], tq, tk, d, heads, tk, a.Causal)
	}
	out, y := Resize(&a.out, nq*d), Resize(&a.y, nq*d)
	a.W.O.Forward(out, ctx, nq)
	a.drop.Forward(out, p, rng)
	a.Norm.residualJoin(y, a.x, out, nq, a.PreNorm)
	return y
}

// Backward takes the gradient dy of the last Forward's output, adds the
// parameter gradients and the gradient of mem to dmem (nil for
// self-attention, whose mem is x) and returns the gradient of x, owned by
// the trainer.
func (a *AttentionTrainer) Backward(dy, dmem []float32) []float32 {
	d, heads, nq, nk := a.W.Q.In, a.W.Heads, a.nq, a.nk
	dx := Resize(&a.dx, nq*d)
	a.Norm.residualBack(dx, dy, nq, a.PreNorm) // the residual path's gradient
	dout := Resize(&a.dq, nq*d)
	copy(dout, dx)
	a.drop.Backward(dout)
	dctx := Resize(&a.dctx, nq*d)
	clear(dctx)
	LinearBackward(dctx, a.G.O.W, a.G.O.B, dout, a.ctx, a.W.O.W, nq, d, d)
	dq, dk, dv := Resize(&a.dq, nq*d), Resize(&a.dk, nk*d), Resize(&a.dv, nk*d)
	clear(dq)
	clear(dk)
	clear(dv)
	maxTT := 0
	for b := range a.qs.Off {
		maxTT = max(maxTT, a.qs.Len[b]*a.ks.Len[b])
	}
	ds := Resize(&a.ds, maxTT)
	for b := range a.qs.Off {
		qo, ko, tq, tk := a.qs.Off[b]*d, a.ks.Off[b]*d, a.qs.Len[b], a.ks.Len[b]
		AttentionBackward(dq[qo:], dk[ko:], dv[ko:], dctx[qo:], a.q[qo:], a.k[ko:], a.v[ko:], a.probs[a.probOff[b]:], ds, tq, tk, d, heads)
	}
	din, in := dx, a.x // where the gradient of the projections' input goes
	if a.PreNorm {
		din, in = Resize(&a.din, nq*d), a.xn
		clear(din)
	}
	if dmem == nil {
		dmem = din
	}
	LinearBackward(din, a.G.Q.W, a.G.Q.B, dq, in, a.W.Q.W, nq, d, d)
	LinearBackward(dmem, a.G.K.W, a.G.K.B, dk, a.mem, a.W.K.W, nk, d, d)
	LinearBackward(dmem, a.G.V.W, a.G.V.B, dv, a.mem, a.W.V.W, nk, d, d)
	if a.PreNorm {
		a.Norm.NormInBackward(dx, din, a.x, nq)
	}
	return dx
}

// FeedForwardTrainer trains a feed-forward sub-layer
// y = LN(x + Dropout(FC2(act(FC1 x)))), or with PreNorm
// y = x + Dropout(FC2(act(FC1 LN(x)))).
type FeedForwardTrainer struct {
	// W holds the weights, G their gradients (same shapes).
	W, G FeedForward
	// Norm is the residual join and its layer norm.
	Norm ResidualNorm
	// PreNorm normalises the sub-layer's input instead of the residual sum.
	PreNorm bool
	drop    DropoutMask

	x, in, xn, h, a, out, y, dx, dout, da, din []float32
	n                                          int
}

// NewFeedForwardTrainer loads prefix+"fc1", prefix+"fc2" and the layer
// norm lnPrefix from w (weights) and g (gradients).
func NewFeedForwardTrainer(w, g Getter, prefix, lnPrefix string, d, ffn int, eps float32, act Activation) (*FeedForwardTrainer, error) {
	f := &FeedForwardTrainer{}
	var err error
	if f.W, err = LoadFeedForward(w, prefix, d, ffn, act); err != nil {
		return nil, err
	}
	if f.G, err = LoadFeedForward(g, prefix, d, ffn, act); err != nil {
		return nil, err
	}
	if f.Norm.W, err = LoadLayerNorm(w, lnPrefix, d, eps); err != nil {
		return nil, err
	}
	if f.Norm.G, err = LoadLayerNorm(g, lnPrefix, d, eps); err != nil {
		return nil, err
	}
	return f, nil
}

// Forward runs the sub-layer on the n rows of x with dropout p and returns
// y, owned by the trainer until its next Forward.
func (f *FeedForwardTrainer) Forward(x []float32, n int, p float32, rng *rand.Rand) []float32 {
	d, ffn := f.W.FC1.In, f.W.FC1.Out
	f.x, f.in, f.n = x, x, n
	if f.PreNorm {
		f.in = Resize(&f.xn, n*d)
		f.Norm.NormIn(f.in, x, n)
	}
	h, a := Resize(&f.h, n*ffn), Resize(&f.a, n*ffn)
	f.W.FC1.Forward(h, f.in, n)
	f.W.Act.Forward(a, h)
	out, y := Resize(&f.out, n*d), Resize(&f.y, n*d)
	f.W.FC2.Forward(out, a, n)
	f.drop.Forward(out, p, rng)
	f.Norm.residualJoin(y, x, out, n, f.PreNorm)
	return y
}

// Backward takes dy, adds the parameter gradients and returns the gradient
// of x, owned by the trainer.
func (f *FeedForwardTrainer) Backward(dy []float32) []float32 {
	d, ffn, n := f.W.FC1.In, f.W.FC1.Out, f.n
	dx, dout := Resize(&f.dx, n*d), Resize(&f.dout, n*d)
	f.Norm.residualBack(dx, dy, n, f.PreNorm)
	copy(dout, dx)
	f.drop.Backward(dout)
	da := Resize(&f.da, n*ffn)
	clear(da)
	LinearBackward(da, f.G.FC2.W, f.G.FC2.B, dout, f.a, f.W.FC2.W, n, ffn, d)
	dh := f.a // the activations are used up: their buffer takes dh
	clear(dh)
	f.W.Act.Backward(dh, da, f.h)
	if !f.PreNorm {
		LinearBackward(dx, f.G.FC1.W, f.G.FC1.B, dh, f.x, f.W.FC1.W, n, d, ffn)
		return dx
	}
	din := Resize(&f.din, n*d)
	clear(din)
	LinearBackward(din, f.G.FC1.W, f.G.FC1.B, dh, f.in, f.W.FC1.W, n, d, ffn)
	f.Norm.NormInBackward(dx, din, f.x, n)
	return dx
}

// EmbedderTrainer trains the token embedding of an Embedder, and its
// learned positions when GPos is set: x = Dropout(Table[id]·Scale + Pos[t])
// with t the position inside the sentence.
type EmbedderTrainer struct {
	// W is the embedder being trained.
	W Embedder
	// GTable is the gradient of W.Table [V·D].
	GTable []float32
	// GPos is the gradient of W.Pos [MaxPos·D] for learned positions, nil
	// for fixed (sinusoidal) ones.
	GPos []float32
	drop DropoutMask
	ids  []int32
	s    Seqs
	x    []float32
}

// Forward embeds the packed sentences s of ids with dropout p and returns
// x, owned by the trainer until its next Forward.
func (e *EmbedderTrainer) Forward(ids []int32, s Seqs, p float32, rng *rand.Rand) []float32 {
	d := e.W.D
	e.ids, e.s = ids, s
	x := Resize(&e.x, len(ids)*d)
	Embedding(x, ids, e.W.Table, d, e.W.Scale)
	for b := range s.Off {
		for t := 0; t < s.Len[b]; t++ {
			r := s.Off[b] + t
			kernels.Add(x[r*d:(r+1)*d], e.W.Pos[t*d:(t+1)*d])
		}
	}
	e.drop.Forward(x, p, rng)
	return x
}

// Backward adds the table gradient (and GPos's) from dx, which it
// overwrites.
func (e *EmbedderTrainer) Backward(dx []float32) {
	e.drop.Backward(dx)
	d := e.W.D
	EmbeddingBackward(e.GTable, dx, e.ids, d, e.W.Scale)
	if e.GPos == nil {
		return
	}
	for b := range e.s.Off {
		for t := 0; t < e.s.Len[b]; t++ {
			r := e.s.Off[b] + t
			kernels.Add(e.GPos[t*d:(t+1)*d], dx[r*d:(r+1)*d])
		}
	}
}
