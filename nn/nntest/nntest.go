// Package nntest supports the tests of the layer packages (encoder,
// crossattn, decoder, trainer): random models of any shape, and Ref, a
// float64 Transformer written from the formulas with plain loops and no
// code shared with package nn, as an independent reference.
package nntest

import (
	"bytes"
	"fmt"
	"math"
	"math/rand/v2"

	"github.com/deen-mt/deen/modelfile"
)

// Config returns a small valid config; tests change fields from here.
func Config() modelfile.Config {
	return modelfile.Config{
		Arch: "transformer", VocabSize: 50, DModel: 16,
		EncoderLayers: 2, DecoderLayers: 2, EncoderHeads: 4, DecoderHeads: 4,
		EncoderFFN: 24, DecoderFFN: 24, Activation: "swish",
		ScaleEmbedding: true, Positions: modelfile.PositionsMarian, MaxPositions: 64,
		LayerNormEps: 1e-5, PadID: 49, EOSID: 0, UnkID: 1, DecoderStartID: 49,
		Generation: modelfile.Generation{NumBeams: 4, LengthPenalty: 1, MaxLength: 32, ForcedEOS: true},
	}
}

// OpusMTConfig returns the shape of Helsinki-NLP/opus-mt-de-en (vocabulary
// 58101, d 512, 6+6 layers, 8 heads, ffn 2048, swish), for benchmarks.
func OpusMTConfig() modelfile.Config {
	c := Config()
	c.VocabSize, c.DModel, c.EncoderLayers, c.DecoderLayers = 58101, 512, 6, 6
	c.EncoderHeads, c.DecoderHeads, c.EncoderFFN, c.DecoderFFN = 8, 8, 2048, 2048
	c.MaxPositions, c.PadID, c.DecoderStartID = 512, 58100, 58100
	c.Generation.MaxLength = 512
	return c
}

// RandomModel returns a model with config c and every tensor c implies
// (final_logits_bias included) filled with random values of sensible scale:
// linear weights ±1/sqrt(in), biases ±0.1, layer-norm weights 1±0.2,
// embeddings and learned positions ±0.5.
func RandomModel(c modelfile.Config, seed uint64) *modelfile.Model {
	rng := rand.New(rand.NewPCG(seed, 0x5eed))
	m := &modelfile.Model{Config: c, Tensors: map[string]*modelfile.Tensor{}, Blobs: map[string][]byte{}}
	for _, s := range c.Tensors() {
		n := 1
		for _, v := range s.Shape {
			n *= v
		}
		lo, hi := float32(-0.1), float32(0.1)
		switch {
		case len(s.Shape) == 2 && (s.Name == "embed.weight" || s.Name == "enc.pos.weight" || s.Name == "dec.pos.weight"):
			lo, hi = -0.5, 0.5
		case len(s.Shape) == 2:
			r := float32(1 / math.Sqrt(float64(s.Shape[1])))
			lo, hi = -r, r
		case isNormWeight(s.Name):
			lo, hi = 0.8, 1.2
		}
		data := make([]float32, n)
		for i := range data {
			data[i] = lo + (hi-lo)*rng.Float32()
		}
		m.Tensors[s.Name] = &modelfile.Tensor{Name: s.Name, Shape: append([]int(nil), s.Shape...), Data: data}
	}
	return m
}

func isNormWeight(name string) bool {
	n := len(name)
	return n > len("_ln.weight") && name[n-len("_ln.weight"):] == "_ln.weight" || name == "enc.ln.weight" || name == "dec.ln.weight"
}

// Ref is a float64 reference Transformer over a model's weights.
type Ref struct {
	// M holds the weights the reference reads.
	M *modelfile.Model
	// C is the model's architecture.
	C modelfile.Config
}

// Matrix is a list of float64 rows.
type Matrix [][]float64

func (r *Ref) t(name string) []float32 {
	t, ok := r.M.Tensors[name]
	if !ok {
		panic("nntest: model has no tensor " + name)
	}
	return t.Data
}

// linear returns x·Wᵀ + b for the tensors prefix.weight and prefix.bias.
func (r *Ref) linear(x Matrix, prefix string) Matrix {
	w, b := r.t(prefix+".weight"), r.t(prefix+".bias")
	out := make(Matrix, len(x))
	for i, row := range x {
		o := make([]float64, len(b))
		for j := range o {
			s := float64(b[j])
			for k, v := range row {
				s += v * float64(w[j*len(row)+k])
			}
			o[j] = s
		}
		out[i] = o
	}
	return out
}

func (r *Ref) norm(x Matrix, prefix string) Matrix {
	w, b := r.t(prefix+".weight"), r.t(prefix+".bias")
	out := make(Matrix, len(x))
	for i, row := range x {
		var m, v float64
		for _, a := range row {
			m += a
		}
		m /= float64(len(row))
		for _, a := range row {
			v += (a - m) * (a - m)
		}
		v /= float64(len(row))
		o := make([]float64, len(row))
		for j, a := range row {
			o[j] = (a-m)/math.Sqrt(v+float64(r.C.LayerNormEps))*float64(w[j]) + float64(b[j])
		}
		out[i] = o
	}
	return out
}

func (r *Ref) act(x float64) float64 {
	switch r.C.Activation {
	case "relu":
		return math.Max(x, 0)
	case "swish":
		return x / (1 + math.Exp(-x))
	case "gelu":
		return x * 0.5 * (1 + math.Erf(x/math.Sqrt2))
	}
	panic("nntest: activation " + r.C.Activation)
}

// attention is multi-head attention of queries x over keys/values mem with
// the prefix's q, k, v, o projections; causal hides later keys.
func (r *Ref) attention(x, mem Matrix, prefix string, heads int, causal bool) Matrix {
	q, k, v := r.linear(x, prefix+".q"), r.linear(mem, prefix+".k"), r.linear(mem, prefix+".v")
	d := r.C.DModel
	hd := d / heads
	out := make(Matrix, len(x))
	for i := range x {
		out[i] = make([]float64, d)
		for h := 0; h < heads; h++ {
			n := len(mem)
			if causal {
				n = i + 1
			}
			s := make([]float64, n)
			mx := math.Inf(-1)
			for j := range s {
				for c := h * hd; c < (h+1)*hd; c++ {
					s[j] += q[i][c] * k[j][c]
				}
				s[j] /= math.Sqrt(float64(hd))
				mx = math.Max(mx, s[j])
			}
			var z float64
			for j := range s {
				s[j] = math.Exp(s[j] - mx)
				z += s[j]
			}
			for j := range s {
				for c := h * hd; c < (h+1)*hd; c++ {
					out[i][c] += s[j] / z * v[j][c]
				}
			}
		}
	}
	return r.linear(out, prefix+".o")
}

// block applies one residual sub-layer with its layer norm (pre or post).
func (r *Ref) block(x Matrix, ln string, f func(Matrix) Matrix) Matrix {
	in := x
	if r.C.PreNorm {
		in = r.norm(x, ln)
	}
	y := f(in)
	out := make(Matrix, len(x))
	for i := range x {
		out[i] = make([]float64, len(x[i]))
		for j := range x[i] {
			out[i][j] = x[i][j] + y[i][j]
		}
	}
	if !r.C.PreNorm {
		out = r.norm(out, ln)
	}
	return out
}

func (r *Ref) ffn(x Matrix, prefix string) Matrix {
	h := r.linear(x, prefix+"fc1")
	for _, row := range h {
		for j := range row {
			row[j] = r.act(row[j])
		}
	}
	return r.linear(h, prefix+"fc2")
}

// embed returns token embedding·scale + position for ids at positions 0...
func (r *Ref) embed(ids []int32, posName string) Matrix {
	d := r.C.DModel
	table := r.t("embed.weight")
	scale := 1.0
	if r.C.ScaleEmbedding {
		scale = math.Sqrt(float64(d))
	}
	out := make(Matrix, len(ids))
	for p, id := range ids {
		o := make([]float64, d)
		for j := range o {
			o[j] = float64(table[int(id)*d+j])*scale + r.position(p, j, posName)
		}
		out[p] = o
	}
	return out
}

func (r *Ref) position(p, j int, posName string) float64 {
	d := r.C.DModel
	freq := func(i int) float64 { return float64(p) / math.Pow(10000, float64(2*i)/float64(d)) }
	switch r.C.Positions {
	case modelfile.PositionsLearned:
		return float64(r.t(posName)[p*d+j])
	case modelfile.PositionsMarian:
		if j < d/2 {
			return math.Sin(freq(j))
		}
		return math.Cos(freq(j - d/2))
	case modelfile.PositionsInterleaved:
		if j%2 == 0 {
			return math.Sin(freq(j / 2))
		}
		return math.Cos(freq(j / 2))
	}
	panic("nntest: positions " + r.C.Positions)
}

// Encode returns the encoder output of one unpadded sentence.
func (r *Ref) Encode(ids []int32) Matrix {
	x := r.embed(ids, "enc.pos.weight")
	for i := 0; i < r.C.EncoderLayers; i++ {
		p := fmt.Sprintf("enc.%d.", i)
		x = r.block(x, p+"self_ln", func(in Matrix) Matrix { return r.attention(in, in, p+"self", r.C.EncoderHeads, false) })
		x = r.block(x, p+"ffn_ln", func(in Matrix) Matrix { return r.ffn(in, p) })
	}
	if r.C.FinalLayerNorm {
		x = r.norm(x, "enc.ln")
	}
	return x
}

// Decode returns the teacher-forced logits [len(ids)][V] of decoder input
// ids over the encoder output mem of one sentence.
func (r *Ref) Decode(mem Matrix, ids []int32) Matrix {
	x := r.embed(ids, "dec.pos.weight")
	for i := 0; i < r.C.DecoderLayers; i++ {
		p := fmt.Sprintf("dec.%d.", i)
		x = r.block(x, p+"self_ln", func(in Matrix) Matrix { return r.attention(in, in, p+"self", r.C.DecoderHeads, true) })
		x = r.block(x, p+"cross_ln", func(in Matrix) Matrix { return r.attention(in, mem, p+"cross", r.C.DecoderHeads, false) })
		x = r.block(x, p+"ffn_ln", func(in Matrix) Matrix { return r.ffn(in, p) })
	}
	if r.C.FinalLayerNorm {
		x = r.norm(x, "dec.ln")
	}
	d, v := r.C.DModel, r.C.VocabSize
	table := r.t("embed.weight")
	var bias []float32
	if t, ok := r.M.Tensors["final_logits_bias"]; ok {
		bias = t.Data
	}
	out := make(Matrix, len(x))
	for i, row := range x {
		o := make([]float64, v)
		for t := range o {
			for j, a := range row {
				o[t] += a * float64(table[t*d+j])
			}
			if bias != nil {
				o[t] += float64(bias[t])
			}
		}
		out[i] = o
	}
	return out
}

// MaxDiff returns the largest |got[i·w+j] − want[i][j]| over want's rows,
// w being the row width, and where it is; a NaN counts as +Inf.
func MaxDiff(got []float32, want Matrix) (diff float64, row, col int) {
	for i, wr := range want {
		for j, w := range wr {
			d := math.Abs(float64(got[i*len(wr)+j]) - w)
			if math.IsNaN(d) {
				return math.Inf(1), i, j
			}
			if d > diff {
				diff, row, col = d, i, j
			}
		}
	}
	return diff, row, col
}

// Reread writes m stored as dt and reads the file back twice: every tensor
// as float32 (modelfile.Read), and with keep (the matrices kept as stored,
// e.g. nn.StoredReadOptions).
func Reread(m *modelfile.Model, dt modelfile.DType, keep modelfile.ReadOptions) (f32, kept *modelfile.Model, err error) {
	var buf bytes.Buffer
	if err := modelfile.Write(&buf, m, modelfile.WriteOptions{DType: dt}); err != nil {
		return nil, nil, err
	}
	if f32, err = modelfile.Read(bytes.NewReader(buf.Bytes())); err != nil {
		return nil, nil, err
	}
	if kept, err = modelfile.ReadWith(bytes.NewReader(buf.Bytes()), keep); err != nil {
		return nil, nil, err
	}
	return f32, kept, nil
}
