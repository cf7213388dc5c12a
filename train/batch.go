package train

import (
	"math/rand/v2"
	"sort"
)

// Example is one tokenised training pair.
type Example struct {
	// Src holds the source ids, ending with the end-of-sentence id.
	Src []int32
	// Tgt holds the target ids, ending with the end-of-sentence id (no
	// start token: the decoder input is the start id then Tgt[:len-1]).
	Tgt []int32
}

// paddedTokens is the cost of one example in a batch whose longest source
// and target have the given lengths: what the batch actually computes on.
func paddedTokens(n, srcLen, tgtLen int) int { return n * max(srcLen, tgtLen) }

// Batches cuts the examples into batches of at most maxTokens padded tokens
// (batch size × longest sentence, source or target) and returns them in a
// shuffled order. Examples are shuffled, then stably sorted by length so
// that each batch holds sentences of similar length; both shuffles come
// from (seed, epoch), so an epoch's batches are a pure function of them and
// a resumed run finds the same batches. An example longer than maxTokens
// alone forms a batch of one.
func Batches(ex []Example, maxTokens int, seed uint64, epoch int) [][]int {
	rng := rand.New(rand.NewPCG(seed, uint64(epoch)*0x9e3779b97f4a7c15+1))
	idx := rng.Perm(len(ex))
	sort.SliceStable(idx, func(a, b int) bool {
		ea, eb := ex[idx[a]], ex[idx[b]]
		la, lb := max(len(ea.Src), len(ea.Tgt)), max(len(eb.Src), len(eb.Tgt))
		if la != lb {
			return la < lb
		}
		return len(ea.Src)+len(ea.Tgt) < len(eb.Src)+len(eb.Tgt)
	})
	var batches [][]int
	var cur []int
	sl, tl := 0, 0
	for _, i := range idx {
		s, t := max(sl, len(ex[i].Src)), max(tl, len(ex[i].Tgt))
		if len(cur) > 0 && paddedTokens(len(cur)+1, s, t) > maxTokens {
			batches = append(batches, cur)
			cur, s, t = nil, len(ex[i].Src), len(ex[i].Tgt)
		}
		cur = append(cur, i)
		sl, tl = s, t
	}
	if len(cur) > 0 {
		batches = append(batches, cur)
	}
	rng.Shuffle(len(batches), func(a, b int) { batches[a], batches[b] = batches[b], batches[a] })
	return batches
}
