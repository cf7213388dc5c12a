// Package encoder turns source token ids into the encoder memory: the shared
// token embedding (optionally scaled by sqrt(d)), position encodings
// (sinusoidal Marian or interleaved, or learned) and N Transformer encoder
// layers (self-attention and feed-forward, post-norm or pre-norm).
package encoder

import (
	"fmt"
	"sync"

	"github.com/deen-mt/deen/modelfile"
	"github.com/deen-mt/deen/nn"
)

// Encoder is the encoder stack of a model. It is read-only after New and
// safe for concurrent use; the weights are shared with the model, not copied.
type Encoder struct {
	d       int
	preNorm bool
	embed   nn.Embedder
	layers  []layer
	final   *nn.LayerNorm // nil without FinalLayerNorm
	work    sync.Pool     // *work
}

// layer is one encoder layer.
type layer struct {
	self          nn.MultiHeadAttention
	selfLN, ffnLN nn.LayerNorm
	ffn           nn.FeedForward
	// low holds the products Forward multiplies: q, k, v, o, fc1, fc2 at
	// the precision of WithWeights (float32 wrappers by default).
	low [6]nn.LowLinear
}

// Option changes how New builds an Encoder.
type Option func(*options)

type options struct{ weights nn.Precision }

// WithWeights sets the precision of the weights Forward multiplies (default
// nn.Float32): the Linears of every layer's self-attention and
// feed-forward; nn.Int8 multiplies them with int8 products. Layer norms
// stay float32. A matrix the model keeps at precision p (read with
// nn.StoredReadOptions) is multiplied as stored and never widened to
// float32, and a kept embedding is looked up a row at a time; otherwise the
// float32 weights are kept beside the copies.
func WithWeights(p nn.Precision) Option {
	return func(o *options) { o.weights = p }
}

// work is the scratch of one Forward call.
type work struct {
	attn             nn.AttnScratch
	tmp, out, hidden []float32
}

// New builds the encoder of m, checking the config and every tensor it needs
// (embed.weight, enc.{i}.*, enc.pos.weight for learned positions, enc.ln.*
// with FinalLayerNorm); the error names the missing or misshaped tensor, or
// a weight the precision of WithWeights cannot hold.
func New(m *modelfile.Model, opts ...Option) (*Encoder, error) {
	var o options
	for _, f := range opts {
		f(&o)
	}
	w := nn.NewWeights(m)
	e, err := build(w, m.Config)
	if err == nil {
		err = e.lowWeights(w, o.weights)
	}
	if err != nil {
		return nil, fmt.Errorf("encoder: %w", err)
	}
	return e, nil
}

// lowWeights sets up the products of every layer at precision p (a matrix
// the model keeps at p is multiplied as stored; see nn.Weights).
func (e *Encoder) lowWeights(ws *nn.Weights, p nn.Precision) error {
	for i := range e.layers {
		l := &e.layers[i]
		for j, w := range []struct {
			name string
			l    *nn.Linear
		}{{"self.q", &l.self.Q}, {"self.k", &l.self.K}, {"self.v", &l.self.V}, {"self.o", &l.self.O}, {"fc1", &l.ffn.FC1}, {"fc2", &l.ffn.FC2}} {
			var err error
			if l.low[j], err = ws.Low(w.l, p, fmt.Sprintf("enc.%d.%s.weight", i, w.name)); err != nil {
				return err
			}
		}
	}
	return nil
}

// build reads the encoder's weights from m; a matrix m keeps at reduced
// precision is left for lowWeights.
func build(m *nn.Weights, c modelfile.Config) (*Encoder, error) {
	if c.DModel < 1 || c.EncoderLayers < 1 || c.EncoderFFN < 1 || c.VocabSize < 1 {
		return nil, fmt.Errorf("config has d_model %d, %d layers, ffn %d, vocabulary %d; want all positive",
			c.DModel, c.EncoderLayers, c.EncoderFFN, c.VocabSize)
	}
	act, err := nn.ParseActivation(c.Activation)
	if err != nil {
		return nil, err
	}
	d := c.DModel
	e := &Encoder{d: d, preNorm: c.PreNorm, layers: make([]layer, c.EncoderLayers)}
	if e.embed, err = nn.LoadEmbedder(m, c, "enc.pos.weight"); err != nil {
		return nil, err
	}
	for i := range e.layers {
		p := fmt.Sprintf("enc.%d.", i)
		l := &e.layers[i]
		if l.self, err = nn.LoadMultiHeadAttention(m, p+"self", d, c.EncoderHeads); err != nil {
			return nil, err
		}
		if l.selfLN, err = nn.LoadLayerNorm(m, p+"self_ln", d, c.LayerNormEps); err != nil {
			return nil, err
		}
		if l.ffn, err = nn.LoadFeedForward(m, p, d, c.EncoderFFN, act); err != nil {
			return nil, err
		}
		if l.ffnLN, err = nn.LoadLayerNorm(m, p+"ffn_ln", d, c.LayerNormEps); err != nil {
			return nil, err
		}
	}
	if c.FinalLayerNorm {
		ln, err := nn.LoadLayerNorm(m, "enc.ln", d, c.LayerNormEps)
		if err != nil {
			return nil, err
		}
		e.final = &ln
	}
	return e, nil
}

// Dim returns the model width d.
func (e *Encoder) Dim() int { return e.d }

// MaxLen returns the longest source (in tokens, eos included) the position
// encoding supports; Forward needs seqLen <= MaxLen.
func (e *Encoder) MaxLen() int { return e.embed.MaxPos }

// Forward encodes a batch of right-padded id sequences ids [batch·seqLen]
// whose real lengths are lengths[b] (1..seqLen; nil means all seqLen) and
// returns the memory [batch·seqLen·d], a new slice owned by the caller.
// Rows past lengths[b] are padding: their values are unspecified, and no
// real row depends on them. Ids must be inside the vocabulary.
func (e *Encoder) Forward(ids []int32, batch, seqLen int, lengths []int) []float32 {
	n, d := batch*seqLen, e.d
	if len(ids) < n {
		panic(fmt.Sprintf("encoder: %d ids for a batch of %d×%d", len(ids), batch, seqLen))
	}
	for b := 0; lengths != nil && b < batch; b++ {
		if lengths[b] < 1 || lengths[b] > seqLen {
			panic(fmt.Sprintf("encoder: sentence %d has length %d, want 1..%d", b, lengths[b], seqLen))
		}
	}
	w, _ := e.work.Get().(*work)
	if w == nil {
		w = new(work)
	}
	defer e.work.Put(w)
	x := make([]float32, n*d)
	e.embed.Forward(x, ids[:n], seqLen, 0)
	tmp, out := nn.Resize(&w.tmp, n*d), nn.Resize(&w.out, n*d)
	for i := range e.layers {
		l := &e.layers[i]
		in := l.selfLN.SublayerInput(x, tmp, n, e.preNorm)
		l.self.SelfAttentionWith(nn.Projections{&l.low[0], &l.low[1], &l.low[2], &l.low[3]}, out, in, batch, seqLen, lengths, false, &w.attn)
		l.selfLN.SublayerOutput(x, out, n, e.preNorm)
		in = l.ffnLN.SublayerInput(x, tmp, n, e.preNorm)
		l.ffn.ForwardWith(&l.low[4], &l.low[5], out, in, nn.Resize(&w.hidden, n*l.ffn.FC1.Out), n)
		l.ffnLN.SublayerOutput(x, out, n, e.preNorm)
	}
	if e.final != nil {
		e.final.Forward(x, x, n)
	}
	return x
}
