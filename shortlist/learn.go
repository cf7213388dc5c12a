package shortlist

import (
	"cmp"
	"context"
	"fmt"
	"slices"
)

// LearnOptions are the sizes of a learned shortlist.
type LearnOptions struct {
	// Frequent is K, the number of most frequent target ids always in
	// the candidate set (default 1000).
	Frequent int
	// PerSource is N, the most translation candidates kept per source id
	// (default 20). Frequent ids are not repeated among them.
	PerSource int
	// MinProb drops candidates t of source id s with p(t|s) below it
	// (default 0.001).
	MinProb float64
	// Iterations is the number of EM iterations of IBM model 1 (default 5).
	Iterations int
}

func (o *LearnOptions) defaults() {
	if o.Frequent == 0 {
		o.Frequent = 1000
	}
	if o.PerSource == 0 {
		o.PerSource = 20
	}
	if o.MinProb == 0 {
		o.MinProb = 0.001
	}
	if o.Iterations == 0 {
		o.Iterations = 5
	}
}

// Learn learns a shortlist over ids 0..vocab−1 from the sentence pairs
// (src[i], tgt[i]), given as model ids:
//
//   - the frequent ids are the o.Frequent target ids that occur most often
//     in tgt (ties: lower id first);
//   - the translation probabilities p(t|s) are IBM model 1's (Brown et al.
//     1993), every target token of a pair aligned to one of the pair's
//     source tokens, estimated by o.Iterations rounds of expectation
//     maximisation from uniform ones; the end id that ends every source
//     sentence plays the role of the empty word;
//   - the candidates of s are its o.PerSource most probable targets that
//     are not frequent ids and have p(t|s) ≥ o.MinProb (ties: lower id
//     first).
//
// Ids outside the vocabulary and a different number of source and target
// sentences are errors wrapping ErrInvalid. ctx is checked once per
// iteration.
func Learn(ctx context.Context, src, tgt [][]int32, vocab int, o LearnOptions) (*Shortlist, error) {
	o.defaults()
	if vocab < 1 || vocab > maxVocab {
		return nil, fmt.Errorf("learn shortlist: vocabulary of %d ids: %w (want 1..%d)", vocab, ErrInvalid, maxVocab)
	}
	if len(src) != len(tgt) {
		return nil, fmt.Errorf("learn shortlist: %d source and %d target sentences: %w (want pairs)", len(src), len(tgt), ErrInvalid)
	}
	if o.Frequent < 0 || o.PerSource < 0 || o.Iterations < 0 || !(o.MinProb >= 0 && o.MinProb <= 1) {
		return nil, fmt.Errorf("learn shortlist: options %+v: %w (want sizes ≥ 0 and 0 ≤ MinProb ≤ 1)", o, ErrInvalid)
	}
	for i := range src {
		for _, side := range [][]int32{src[i], tgt[i]} {
			for _, id := range side {
				if id < 0 || int(id) >= vocab {
					return nil, fmt.Errorf("learn shortlist: pair %d: id %d: %w (the vocabulary has ids 0..%d)", i+1, id, ErrInvalid, vocab-1)
				}
			}
		}
	}
	frequent := mostFrequent(tgt, vocab, o.Frequent)
	t := newTable(src, tgt, vocab)
	for range o.Iterations {
		if err := ctx.Err(); err != nil {
			return nil, fmt.Errorf("learn shortlist: %w", err)
		}
		t.em(src, tgt)
	}
	isFrequent := newSet(vocab)
	for _, id := range frequent {
		isFrequent.add(id)
	}
	per := make(map[int32][]int32)
	for s := range vocab {
		row := t.row(s)
		if len(row) == 0 {
			continue
		}
		idx := make([]int, 0, len(row))
		for i, tok := range row {
			if !isFrequent.has(tok) && float64(t.prob[int(t.off[s])+i]) >= o.MinProb {
				idx = append(idx, i)
			}
		}
		p := t.prob[t.off[s]:t.off[s+1]]
		slices.SortFunc(idx, func(a, b int) int {
			if c := cmp.Compare(p[b], p[a]); c != 0 {
				return c
			}
			return cmp.Compare(row[a], row[b])
		})
		if len(idx) > o.PerSource {
			idx = idx[:o.PerSource]
		}
		if len(idx) == 0 {
			continue
		}
		ids := make([]int32, len(idx))
		for i, j := range idx {
			ids[i] = row[j]
		}
		per[int32(s)] = ids
	}
	return New(vocab, frequent, per)
}

// mostFrequent returns the k target ids that occur most often in tgt, most
// frequent first, lower id first on ties; ids that never occur are left out.
func mostFrequent(tgt [][]int32, vocab, k int) []int32 {
	count := make([]int, vocab)
	for _, sent := range tgt {
		for _, id := range sent {
			count[id]++
		}
	}
	var ids []int32
	for id, c := range count {
		if c > 0 {
			ids = append(ids, int32(id))
		}
	}
	slices.SortStableFunc(ids, func(a, b int32) int { return cmp.Compare(count[b], count[a]) })
	return ids[:min(k, len(ids))]
}

// table holds p(t|s) for the pairs (s, t) that occur in one sentence pair:
// row s is the sorted target ids tgt[off[s]:off[s+1]] with probabilities
// prob at the same positions.
type table struct {
	off  []int64
	tgt  []int32
	prob []float32
}

// newTable finds the co-occurring pairs and starts from uniform
// probabilities (IBM model 1's first iteration does not depend on them).
func newTable(src, tgt [][]int32, vocab int) *table {
	var pairs []uint64
	compactAt := compactEvery
	for i := range src {
		ss, ts := uniq(src[i]), uniq(tgt[i])
		for _, s := range ss {
			for _, t := range ts {
				pairs = append(pairs, uint64(s)<<32|uint64(t))
			}
		}
		if len(pairs) >= compactAt { // keep the buffer near the distinct pairs
			slices.Sort(pairs)
			pairs = slices.Compact(pairs)
			compactAt = max(compactEvery, 2*len(pairs))
		}
	}
	slices.Sort(pairs)
	pairs = slices.Compact(pairs)
	tb := &table{off: make([]int64, vocab+1), tgt: make([]int32, len(pairs)), prob: make([]float32, len(pairs))}
	for i, p := range pairs {
		tb.tgt[i] = int32(p & 0xffffffff)
		tb.off[p>>32+1]++
		tb.prob[i] = 1
	}
	for s := range vocab {
		tb.off[s+1] += tb.off[s]
	}
	return tb
}

// compactEvery is how many co-occurrences newTable collects before it
// first removes repeated pairs: memory follows the distinct pairs (8 bytes
// each, then 8 more for the table), not the corpus.
const compactEvery = 1 << 24

func uniq(ids []int32) []int32 {
	u := slices.Clone(ids)
	slices.Sort(u)
	return slices.Compact(u)
}

func (tb *table) row(s int) []int32 { return tb.tgt[tb.off[s]:tb.off[s+1]] }

// index returns the position of (s, t) in the table; the pair must exist.
func (tb *table) index(s, t int32) int64 {
	i, _ := slices.BinarySearch(tb.row(int(s)), t)
	return tb.off[s] + int64(i)
}

// em is one iteration of IBM model 1's expectation maximisation: every
// target token's unit of count is shared among the pair's source tokens in
// proportion to p(t|s), then p(t|s) = count(s, t) / Σ_t' count(s, t').
func (tb *table) em(src, tgt [][]int32) {
	count := make([]float64, len(tb.prob))
	var at []int64
	for i := range src {
		ss, ts := src[i], tgt[i]
		if len(ss) == 0 {
			continue
		}
		at = at[:0]
		for _, t := range ts {
			var z float64
			for _, s := range ss {
				j := tb.index(s, t)
				at = append(at, j)
				z += float64(tb.prob[j])
			}
			if z == 0 {
				continue
			}
			for _, j := range at[len(at)-len(ss):] {
				count[j] += float64(tb.prob[j]) / z
			}
		}
	}
	for s := 0; s+1 < len(tb.off); s++ {
		lo, hi := tb.off[s], tb.off[s+1]
		var total float64
		for _, c := range count[lo:hi] {
			total += c
		}
		for j := lo; j < hi; j++ {
			tb.prob[j] = 0
			if total > 0 {
				tb.prob[j] = float32(count[j] / total)
			}
		}
	}
}
