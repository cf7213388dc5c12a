package nn

import (
	"fmt"
	"math"

	"github.com/deen-mt/deen/internal/kernels"
	"github.com/deen-mt/deen/modelfile"
)

// Resize returns (*buf)[:n], first replacing *buf by a larger slice when its
// capacity is below n (at least doubling it, so a buffer that grows step by
// step reallocates rarely): scratch buffers grow and are then reused.
// The contents are unspecified.
func Resize(buf *[]float32, n int) []float32 {
	if cap(*buf) < n {
		*buf = make([]float32, max(n, 2*cap(*buf)))
	}
	*buf = (*buf)[:n]
	return *buf
}

// SublayerInput returns the input of a residual sub-layer over x [n·D]:
// x itself for post-norm blocks, or ln(x) written to tmp for pre-norm ones.
func (ln *LayerNorm) SublayerInput(x, tmp []float32, n int, preNorm bool) []float32 {
	if !preNorm {
		return x
	}
	t := tmp[:n*ln.D]
	ln.Forward(t, x, n)
	return t
}

// SublayerOutput adds the sub-layer output y to x and, for post-norm
// blocks, normalises: x = ln(x + y) (post-norm) or x = x + y (pre-norm).
func (ln *LayerNorm) SublayerOutput(x, y []float32, n int, preNorm bool) {
	x = x[:n*ln.D]
	Residual(x, x, y)
	if !preNorm {
		ln.Forward(x, x, n)
	}
}

// Embedder turns token ids into the input of a stack: Table[id]·Scale plus
// the position row.
type Embedder struct {
	// Table is the token embedding [V·D] (shared, not copied).
	Table []float32
	// Pos is the position table [MaxPos·D].
	Pos []float32
	// D is the model width.
	D int
	// MaxPos is the number of positions (rows of Pos).
	MaxPos int
	// Scale multiplies the token embedding: sqrt(D) with
	// Config.ScaleEmbedding, else 1.
	Scale float32
	// rows, when not nil, holds the token embedding at reduced precision
	// (LoadEmbedder from a Weights whose model keeps embed.weight; Table is
	// then nil): a row is dequantised on lookup.
	rows rowReader
}

// maxSinusoidal bounds the rows of a computed sinusoidal table, so a model
// file that claims absurd max_positions cannot make us allocate gigabytes.
const maxSinusoidal = 8192

// LoadEmbedder builds the embedder of one stack of a model with config c:
// the token table embed.weight [V, d], scaled by sqrt(d) when
// c.ScaleEmbedding, and positions per c.Positions (learned ones are read
// from the tensor posName [MaxPositions, d]; sinusoidal tables are computed
// for up to min(MaxPositions, 8192) positions). From a *Weights whose model
// keeps embed.weight at reduced precision, the lookup reads the kept rows
// (the same float32 values, one row dequantised per token) and Table is
// nil.
func LoadEmbedder(g Getter, c modelfile.Config, posName string) (Embedder, error) {
	d := c.DModel
	table, err := g.Get("embed.weight", c.VocabSize, d)
	if err != nil {
		return Embedder{}, err
	}
	e := Embedder{Table: table, D: d, MaxPos: c.MaxPositions, Scale: 1}
	w, _ := g.(*Weights)
	if w != nil {
		g = w.m // positions as float32 (a kept table is dequantised: added to every row)
		if table == nil {
			if e.rows = w.rows("embed.weight"); e.rows == nil {
				if e.Table, err = w.m.Get("embed.weight", c.VocabSize, d); err != nil {
					return Embedder{}, err
				}
			}
		}
	}
	if c.ScaleEmbedding {
		e.Scale = float32(math.Sqrt(float64(d)))
	}
	if c.MaxPositions < 1 {
		return Embedder{}, fmt.Errorf("max_positions = %d, want at least 1", c.MaxPositions)
	}
	switch c.Positions {
	case modelfile.PositionsLearned:
		e.Pos, err = g.Get(posName, c.MaxPositions, d)
		if err != nil {
			return Embedder{}, err
		}
	case modelfile.PositionsMarian:
		e.MaxPos = min(e.MaxPos, maxSinusoidal)
		e.Pos = SinusoidalMarian(e.MaxPos, d)
	case modelfile.PositionsInterleaved:
		e.MaxPos = min(e.MaxPos, maxSinusoidal)
		e.Pos = SinusoidalInterleaved(e.MaxPos, d)
	default:
		return Embedder{}, fmt.Errorf("unknown position encoding %q (want %q, %q or %q)",
			c.Positions, modelfile.PositionsMarian, modelfile.PositionsInterleaved, modelfile.PositionsLearned)
	}
	return e, nil
}

// Forward writes the embeddings of ids into out [len(ids)·D]; the ids are
// sequences of seqLen tokens, and token i sits at position pos0 + i%seqLen,
// which must be below MaxPos.
func (e *Embedder) Forward(out []float32, ids []int32, seqLen, pos0 int) {
	d := e.D
	if last := pos0 + min(seqLen, len(ids)) - 1; last >= e.MaxPos {
		panic(fmt.Sprintf("nn: position %d is past the model's %d positions", last, e.MaxPos))
	}
	if e.rows != nil {
		for i, id := range ids {
			o := out[i*d : (i+1)*d]
			e.rows.Row(int(id), o) // panics for an id outside the table
			if e.Scale != 1 {
				kernels.Scale(e.Scale, o)
			}
		}
	} else {
		Embedding(out, ids, e.Table, d, e.Scale)
	}
	for i := range ids {
		p := pos0 + i%seqLen
		o := out[i*d : (i+1)*d]
		Residual(o, o, e.Pos[p*d:(p+1)*d])
	}
}

// MultiHeadAttention is an attention sub-layer: the projections Q, K, V
// and O ([d, d] with bias) and the number of heads.
type MultiHeadAttention struct {
	// Q projects the queries [d, d].
	Q Linear
	// K projects the keys [d, d].
	K Linear
	// V projects the values [d, d].
	V Linear
	// O projects the concatenated heads back to the model width [d, d].
	O Linear
	// Heads is the number of heads; each has width d/Heads.
	Heads int
}

// LoadMultiHeadAttention reads prefix.{q,k,v,o}.{weight,bias}.
func LoadMultiHeadAttention(g Getter, prefix string, d, heads int) (MultiHeadAttention, error) {
	if heads < 1 || d%heads != 0 {
		return MultiHeadAttention{}, fmt.Errorf("%s: d_model %d is not divisible by %d heads", prefix, d, heads)
	}
	a := MultiHeadAttention{Heads: heads}
	for _, p := range []struct {
		name string
		l    *Linear
	}{{"q", &a.Q}, {"k", &a.K}, {"v", &a.V}, {"o", &a.O}} {
		l, err := LoadLinear(g, prefix+"."+p.name, d, d)
		if err != nil {
			return MultiHeadAttention{}, err
		}
		*p.l = l
	}
	return a, nil
}

// AttnScratch holds the reusable buffers of SelfAttention; the zero value
// is ready.
type AttnScratch struct {
	q, k, v, att, probs []float32
}

// SelfAttention computes the self-attention sub-layer out [batch·seqLen·d]
// = O(attention(Q·x, K·x, V·x)) for each of the batch sequences of x,
// sequence b attending over its first lengths[b] rows (nil: all), causally
// when causal. Rows past lengths[b] are padding; their attention is zero,
// so their output is O's bias.
func (a *MultiHeadAttention) SelfAttention(out, x []float32, batch, seqLen int, lengths []int, causal bool, s *AttnScratch) {
	a.SelfAttentionWith(Projections{&a.Q, &a.K, &a.V, &a.O}, out, x, batch, seqLen, lengths, causal, s)
}

// Projector is a product y [n·Out] = x [n·In]·Wᵀ + b: a *Linear or a
// *LowLinear.
type Projector interface {
	Forward(y, x []float32, n int)
}

// Projections are the four products of a MultiHeadAttention, in the order
// Q, K, V, O: the layer's own Linears or copies at another precision.
type Projections [4]Projector

// SelfAttentionWith is SelfAttention multiplying with p instead of a's
// Linears (a gives the shape and the number of heads).
func (a *MultiHeadAttention) SelfAttentionWith(p Projections, out, x []float32, batch, seqLen int, lengths []int, causal bool, s *AttnScratch) {
	d, n := a.Q.In, batch*seqLen
	q, k, v := Resize(&s.q, n*d), Resize(&s.k, n*d), Resize(&s.v, n*d)
	att := Resize(&s.att, n*d)
	p[0].Forward(q, x, n)
	p[1].Forward(k, x, n)
	p[2].Forward(v, x, n)
	for b := 0; b < batch; b++ {
		l := seqLen
		if lengths != nil {
			l = lengths[b]
		}
		o := b * seqLen * d
		probs := Resize(&s.probs, a.Heads*l*l)
		AttentionForward(att[o:], probs, q[o:], k[o:], v[o:], l, l, d, a.Heads, l, causal)
		clear(att[o+l*d : o+seqLen*d])
	}
	p[3].Forward(out, att, n)
}
