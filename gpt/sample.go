package gpt

import (
	"context"
	"fmt"
	"math"
	"math/rand/v2"
	"slices"

	"github.com/deen-mt/deen/nn"
)

// State is the incremental state of one sequence: per block, the keys and
// values of every position fed so far, in flat [BlockSize·d] arrays (row t
// is position t), so that a new token attends over the cache instead of
// recomputing the prefix. A State is used by one goroutine at a time.
type State struct {
	g                                         *Model
	pos                                       int
	k, v                                      [][]float32
	x, in, q, att, out, hidden, probs, logits []float32
}

// NewState returns an empty state: the next Step is position 0.
func (g *Model) NewState() *State {
	s := &State{g: g, k: make([][]float32, len(g.blocks)), v: make([][]float32, len(g.blocks))}
	for i := range s.k {
		s.k[i] = make([]float32, g.embed.MaxPos*g.d)
		s.v[i] = make([]float32, g.embed.MaxPos*g.d)
	}
	return s
}

// Len returns the number of tokens fed so far.
func (s *State) Len() int { return s.pos }

// Step feeds id at the next position and returns the logits [V] of the
// token after it (valid until the next Step). It computes exactly what
// Forward computes for that row, reading the cached keys and values of the
// earlier positions.
func (s *State) Step(id int32) ([]float32, error) {
	g, d, t := s.g, s.g.d, s.pos
	if t >= g.embed.MaxPos {
		return nil, fmt.Errorf("gpt: the sequence is full (block size %d)", g.embed.MaxPos)
	}
	if id < 0 || int(id) >= g.vocab {
		return nil, fmt.Errorf("gpt: id %d outside the vocabulary 0..%d", id, g.vocab-1)
	}
	x, in := nn.Resize(&s.x, d), nn.Resize(&s.in, d)
	q, att, out := nn.Resize(&s.q, d), nn.Resize(&s.att, d), nn.Resize(&s.out, d)
	g.embed.Forward(x, []int32{id}, 1, t)
	for i := range g.blocks {
		b := &g.blocks[i]
		b.ln1.Forward(in, x, 1)
		k, v := s.k[i][t*d:(t+1)*d], s.v[i][t*d:(t+1)*d]
		b.attn.Q.Forward(q, in, 1)
		b.attn.K.Forward(k, in, 1) // this position's key and value join the cache
		b.attn.V.Forward(v, in, 1)
		probs := nn.Resize(&s.probs, b.attn.Heads*(t+1))
		nn.AttentionForward(att, probs, q, s.k[i], s.v[i], 1, t+1, d, b.attn.Heads, t+1, false)
		b.attn.O.Forward(out, att, 1)
		nn.Residual(x, x, out)
		b.ln2.Forward(in, x, 1)
		b.mlp.Forward(out, in, nn.Resize(&s.hidden, b.mlp.FC1.Out), 1)
		nn.Residual(x, x, out)
	}
	g.final.Forward(x, x, 1)
	logits := nn.Resize(&s.logits, g.vocab)
	g.project(logits, x, 1)
	s.pos++
	return logits, nil
}

// SampleOptions control Generate.
type SampleOptions struct {
	// MaxNew is the most tokens generated after the prompt.
	MaxNew int
	// Temperature divides the logits; 0 picks the most likely token
	// (greedy).
	Temperature float64
	// TopK keeps only the K most likely tokens before sampling (0: all).
	TopK int
}

// Generate continues prompt (ids, without the start id) and returns the new
// ids, stopping at the end id (not returned), after opts.MaxNew tokens or
// when the block is full. Each token is drawn by SampleToken with rng, so a
// seeded rng gives the same text every time. The start/pad id is never
// generated.
func (g *Model) Generate(ctx context.Context, prompt []int32, opts SampleOptions, rng *rand.Rand) ([]int32, error) {
	if opts.MaxNew < 0 || opts.Temperature < 0 || opts.TopK < 0 || math.IsNaN(opts.Temperature) {
		return nil, fmt.Errorf("gpt: sample options %+v: want non-negative values", opts)
	}
	if len(prompt)+1 >= g.embed.MaxPos {
		return nil, fmt.Errorf("gpt: the prompt has %d tokens, the model reads at most %d", len(prompt), g.embed.MaxPos-2)
	}
	s := g.NewState()
	var logits []float32
	var err error
	for _, id := range append([]int32{g.start}, prompt...) {
		if logits, err = s.Step(id); err != nil {
			return nil, err
		}
	}
	var gen []int32
	var scratch []float32
	for len(gen) < opts.MaxNew {
		if err := ctx.Err(); err != nil {
			return gen, err
		}
		logits[g.start] = float32(math.Inf(-1))
		next := SampleToken(logits, opts.Temperature, opts.TopK, rng, &scratch)
		if next == g.eos {
			break
		}
		gen = append(gen, next)
		if s.Len() >= g.embed.MaxPos {
			break
		}
		if logits, err = s.Step(next); err != nil {
			return nil, err
		}
	}
	return gen, nil
}

// SampleToken draws a token from logits (which it leaves unchanged):
// temperature 0 returns the argmax (the lowest id among equals);
// otherwise softmax(logits/temperature) restricted to the topK largest
// logits (0: all; ties at the cut are kept) is sampled with one
// rng.Float64. scratch is reused between calls.
func SampleToken(logits []float32, temperature float64, topK int, rng *rand.Rand, scratch *[]float32) int32 {
	if temperature == 0 {
		best := 0
		for i, v := range logits {
			if v > logits[best] {
				best = i
			}
		}
		return int32(best)
	}
	p := nn.Resize(scratch, len(logits))
	for i, v := range logits {
		p[i] = float32(float64(v) / temperature)
	}
	if topK > 0 && topK < len(p) {
		sorted := slices.Clone(p)
		slices.Sort(sorted)
		cut := sorted[len(sorted)-topK]
		for i, v := range p {
			if v < cut {
				p[i] = float32(math.Inf(-1))
			}
		}
	}
	nn.SoftmaxRow(p)
	r := rng.Float64()
	var acc float64
	last := 0
	for i, v := range p {
		if v == 0 {
			continue
		}
		acc += float64(v)
		last = i
		if r < acc {
			return int32(i)
		}
	}
	return int32(last) // rounding left r above the total
}
