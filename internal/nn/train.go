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
// Sentences of a packed batch lie end to end without padding (Seqs);
// post-norm blocks (y = LN(x + Dropout(f(x)))) only.

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

// ResidualNorm is the post-norm join y = LN(x + fx) with its cache.
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
// MultiHeadAttention(x, mem))): self-attention when mem is x (causal in
// the decoder), cross-attention when mem is the encoder output.
type AttentionTrainer struct {
	// W holds the weights, G their gradients (same shapes).
	W, G MultiHeadAttention
	// Norm is the residual join and its layer norm.
	Norm ResidualNorm
	// Causal lets position t attend only to positions ≤ t of its sentence
	// (decoder self-attention).
	Causal bool
	drop   DropoutMask

	x, mem                      []float32
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
	a.x, a.mem, a.qs, a.ks, a.nq, a.nk = x, mem, qs, ks, nq, nk
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
	a.Norm.Forward(y, x, out, nq)
	return y
}

// Backward takes the gradient dy of the last Forward's output, adds the
// parameter gradients and the gradient of mem to dmem (nil for
// self-attention, whose mem is x) and returns the gradient of x, owned by
// the trainer.
func (a *AttentionTrainer) Backward(dy, dmem []float32) []float32 {
	d, heads, nq, nk := a.W.Q.In, a.W.Heads, a.nq, a.nk
	dx := Resize(&a.dx, nq*d)
	a.Norm.Backward(dx, dy, nq) // the residual path's gradient
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
	if dmem == nil {
		dmem = dx
	}
	LinearBackward(dx, a.G.Q.W, a.G.Q.B, dq, a.x, a.W.Q.W, nq, d, d)
	LinearBackward(dmem, a.G.K.W, a.G.K.B, dk, a.mem, a.W.K.W, nk, d, d)
	LinearBackward(dmem, a.G.V.W, a.G.V.B, dv, a.mem, a.W.V.W, nk, d, d)
	return dx
}

// FeedForwardTrainer trains a feed-forward sub-layer
// y = LN(x + Dropout(FC2(act(FC1 x)))).
type FeedForwardTrainer struct {
	// W holds the weights, G their gradients (same shapes).
	W, G FeedForward
	// Norm is the residual join and its layer norm.
	Norm ResidualNorm
	drop DropoutMask

	x, h, a, out, y, dx, dout, da []float32
	n                             int
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
	f.x, f.n = x, n
	h, a := Resize(&f.h, n*ffn), Resize(&f.a, n*ffn)
	f.W.FC1.Forward(h, x, n)
	f.W.Act.Forward(a, h)
	out, y := Resize(&f.out, n*d), Resize(&f.y, n*d)
	f.W.FC2.Forward(out, a, n)
	f.drop.Forward(out, p, rng)
	f.Norm.Forward(y, x, out, n)
	return y
}

// Backward takes dy, adds the parameter gradients and returns the gradient
// of x, owned by the trainer.
func (f *FeedForwardTrainer) Backward(dy []float32) []float32 {
	d, ffn, n := f.W.FC1.In, f.W.FC1.Out, f.n
	dx, dout := Resize(&f.dx, n*d), Resize(&f.dout, n*d)
	f.Norm.Backward(dx, dy, n)
	copy(dout, dx)
	f.drop.Backward(dout)
	da := Resize(&f.da, n*ffn)
	clear(da)
	LinearBackward(da, f.G.FC2.W, f.G.FC2.B, dout, f.a, f.W.FC2.W, n, ffn, d)
	dh := f.a // the activations are used up: their buffer takes dh
	clear(dh)
	f.W.Act.Backward(dh, da, f.h)
	LinearBackward(dx, f.G.FC1.W, f.G.FC1.B, dh, f.x, f.W.FC1.W, n, d, ffn)
	return dx
}

// EmbedderTrainer trains the token embedding of an Embedder (positions are
// fixed sinusoids): x = Dropout(Table[id]·Scale + Pos[t]) with t the
// position inside the sentence.
type EmbedderTrainer struct {
	// W is the embedder being trained.
	W Embedder
	// GTable is the gradient of W.Table [V·D].
	GTable []float32
	drop   DropoutMask
	ids    []int32
	x      []float32
}

// Forward embeds the packed sentences s of ids with dropout p and returns
// x, owned by the trainer until its next Forward.
func (e *EmbedderTrainer) Forward(ids []int32, s Seqs, p float32, rng *rand.Rand) []float32 {
	d := e.W.D
	e.ids = ids
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

// Backward adds the table gradient from dx (which it overwrites).
func (e *EmbedderTrainer) Backward(dx []float32) {
	e.drop.Backward(dx)
	EmbeddingBackward(e.GTable, dx, e.ids, e.W.D, e.W.Scale)
}
