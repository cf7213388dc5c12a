package gpt

import (
	"fmt"
	"math"
)

// Bigram is the baseline the GPT is measured against: a bigram model with
// add-one (Laplace) smoothing over the same tokens and the same sequence
// convention as Model.Score (the start id, the ids, the end id):
// p(w | u) = (count(u, w) + 1) / (count(u) + V).
type Bigram struct {
	vocab      int
	start, eos int32
	pairs      map[[2]int32]int
	unigrams   map[int32]int
}

// NewBigram returns an empty bigram model over a vocabulary of vocab ids
// with the given start and end ids.
func NewBigram(vocab int, start, eos int32) *Bigram {
	return &Bigram{vocab: vocab, start: start, eos: eos, pairs: map[[2]int32]int{}, unigrams: map[int32]int{}}
}

// Add counts the bigrams of one training sequence (ids without start and
// end ids).
func (b *Bigram) Add(ids []int32) {
	prev := b.start
	for t := 0; t <= len(ids); t++ {
		id := b.at(ids, t)
		b.pairs[[2]int32{prev, id}]++
		b.unigrams[prev]++
		prev = id
	}
}

// LogProb returns the natural-log probability of ids followed by the end
// id, given the start id; ids outside the vocabulary are an error.
func (b *Bigram) LogProb(ids []int32) (float64, error) {
	var lp float64
	prev := b.start
	for t := 0; t <= len(ids); t++ {
		id := b.at(ids, t)
		if id < 0 || int(id) >= b.vocab {
			return 0, fmt.Errorf("gpt: bigram: id %d outside the vocabulary 0..%d", id, b.vocab-1)
		}
		lp += math.Log(float64(b.pairs[[2]int32{prev, id}]+1) / float64(b.unigrams[prev]+b.vocab))
		prev = id
	}
	return lp, nil
}

// at returns ids[t], or the end id at t == len(ids).
func (b *Bigram) at(ids []int32, t int) int32 {
	if t == len(ids) {
		return b.eos
	}
	return ids[t]
}
