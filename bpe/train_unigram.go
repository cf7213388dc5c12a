package bpe

import (
	"cmp"
	"math"
	"slices"
	"sync"
	"unicode/utf8"
)

// This file is the unigram trainer, after SentencePiece's
// unigram_model_trainer.cc: seed pieces from frequent substrings, then
// rounds of EM (with the Bayesian digamma M-step) and pruning of the pieces
// whose removal costs the least likelihood, until the vocabulary is 1.1×
// the target; the best-scoring pieces plus every covered character are
// kept. Arithmetic is float64 and the E-step is split into a fixed number of
// chunks summed in order, so the result does not depend on scheduling.

// Unigram trainer constants (SentencePiece's defaults).
const (
	seedPieces        = 1000000 // seed_sentencepiece_size
	shrinkingFactor   = 0.75
	subIterations     = 2
	expectedThreshold = 0.5 // M-step drops pieces expected less often
	eStepChunks       = 8
)

// uniModel is the piece inventory during training.
type uniModel struct {
	pieces []string
	scores []float64
	trie   *pieceTrie
	unk    float64 // score of an unknown character: min score - 10
}

func newUniModel(pieces []string, scores []float64) *uniModel {
	ids := make([]int32, len(pieces))
	lowest := math.Inf(1)
	for i := range ids {
		ids[i] = int32(i)
		lowest = min(lowest, scores[i])
	}
	return &uniModel{pieces: pieces, scores: scores, trie: newPieceTrie(pieces, ids), unk: lowest - unkPenalty}
}

// uniEdge is a lattice node: piece id (-1 unknown) over bytes [from, to).
type uniEdge struct {
	from, to int
	id       int32
}

// lattice appends the lattice edges of word to edges, ordered by start.
func (m *uniModel) lattice(word string, edges []uniEdge) []uniEdge {
	for from := 0; from < len(word); {
		charLen := min(oneCharLen(word[from]), len(word)-from)
		single := false
		node := int32(0)
		for pos := from; pos < len(word); pos++ {
			if node = m.trie.step(node, word[pos]); node == 0 {
				break
			}
			if id := m.trie.value[node]; id >= 0 {
				edges = append(edges, uniEdge{from, pos + 1, id})
				single = single || pos+1-from == charLen
			}
		}
		if !single {
			edges = append(edges, uniEdge{from, from + charLen, -1})
		}
		from += charLen
	}
	return edges
}

func (m *uniModel) score(id int32) float64 {
	if id < 0 {
		return m.unk
	}
	return m.scores[id]
}

// viterbi returns the best path through edges over n bytes (the first of
// equal scores wins), skipping the edge at index skip; ok is false when no
// path exists.
func (m *uniModel) viterbi(edges []uniEdge, n, skip int) (path []int32, ok bool) {
	best := make([]float64, n+1)
	back := make([]int, n+1)
	for i := range best {
		best[i], back[i] = math.Inf(-1), -1
	}
	best[0] = 0
	for i, e := range edges {
		if i == skip || math.IsInf(best[e.from], -1) {
			continue
		}
		if s := best[e.from] + m.score(e.id); back[e.to] < 0 || s > best[e.to] {
			best[e.to], back[e.to] = s, i
		}
	}
	if back[n] < 0 {
		return nil, false
	}
	for pos := n; pos > 0; pos = edges[back[pos]].from {
		path = append(path, edges[back[pos]].id)
	}
	slices.Reverse(path)
	return path, true
}

func logAdd(a, b float64) float64 {
	if a < b {
		a, b = b, a
	}
	if math.IsInf(b, -1) {
		return a
	}
	return a + math.Log1p(math.Exp(b-a))
}

// eStep returns the expected count of every piece under the current model
// (forward-backward over each word's lattice, weighted by word frequency).
func (m *uniModel) eStep(words []string, freq []int64) []float64 {
	parts := make([][]float64, eStepChunks)
	var wg sync.WaitGroup
	for c := range parts {
		wg.Add(1)
		go func() {
			defer wg.Done()
			expected := make([]float64, len(m.pieces))
			var edges []uniEdge
			var alpha, beta []float64
			for w := c; w < len(words); w += eStepChunks {
				word := words[w]
				edges = m.lattice(word, edges[:0])
				alpha = fill(alpha, len(word)+1, math.Inf(-1))
				beta = fill(beta, len(word)+1, math.Inf(-1))
				alpha[0], beta[len(word)] = 0, 0
				for _, e := range edges {
					alpha[e.to] = logAdd(alpha[e.to], alpha[e.from]+m.score(e.id))
				}
				for i := len(edges) - 1; i >= 0; i-- {
					e := edges[i]
					beta[e.from] = logAdd(beta[e.from], m.score(e.id)+beta[e.to])
				}
				z := alpha[len(word)]
				for _, e := range edges {
					if e.id >= 0 {
						expected[e.id] += float64(freq[w]) * math.Exp(alpha[e.from]+m.scores[e.id]+beta[e.to]-z)
					}
				}
			}
			parts[c] = expected
		}()
	}
	wg.Wait()
	for _, p := range parts[1:] {
		for i, v := range p {
			parts[0][i] += v
		}
	}
	return parts[0]
}

func fill(s []float64, n int, v float64) []float64 {
	s = slices.Grow(s[:0], n)[:n]
	for i := range s {
		s[i] = v
	}
	return s
}

// digamma is SentencePiece's approximation of the digamma function.
func digamma(x float64) float64 {
	r := 0.0
	for ; x < 7; x++ {
		r -= 1 / x
	}
	x -= 0.5
	xx := 1 / x
	xx2 := xx * xx
	xx4 := xx2 * xx2
	return r + math.Log(x) + xx2/24 - 7.0/960*xx4 + 31.0/8064*xx4*xx2 - 127.0/30720*xx4*xx4
}

// mStep keeps pieces expected at least expectedThreshold times and scores
// them digamma(count) - digamma(total).
func mStep(m *uniModel, expected []float64) *uniModel {
	var pieces []string
	var counts []float64
	sum := 0.0
	for i, e := range expected {
		if e >= expectedThreshold {
			pieces, counts = append(pieces, m.pieces[i]), append(counts, e)
			sum += e
		}
	}
	logSum := digamma(sum)
	for i := range counts {
		counts[i] = digamma(counts[i]) - logSum
	}
	return newUniModel(pieces, counts)
}

// prune keeps the max(desired, 0.75·size) pieces whose removal would lose
// the most likelihood, estimated as SentencePiece does: a removed piece's
// occurrences are re-segmented into its second-best segmentation.
func prune(m *uniModel, words []string, freq []int64, desired int) *uniModel {
	n := len(m.pieces)
	keep := make([]bool, n)
	alternatives := make([][]int32, n)
	var edges []uniEdge
	for i, p := range m.pieces {
		edges = m.lattice(p, edges[:0])
		self := slices.Index(edges, uniEdge{0, len(p), int32(i)})
		best, _ := m.viterbi(edges, len(p), -1)
		second, ok := m.viterbi(edges, len(p), self)
		switch {
		case !ok || slices.Contains(second, -1):
			keep[i] = true // no other segmentation: always keep
		case len(best) >= 2:
			keep[i] = false // never chosen whole: drop
		default:
			keep[i], alternatives[i] = true, second
		}
	}
	// Viterbi frequencies over the training words.
	count := make([]float64, n)
	occur := make([]float64, n) // word frequency summed over occurrences
	total := 0.0
	for w, word := range words {
		edges = m.lattice(word, edges[:0])
		path, _ := m.viterbi(edges, len(word), -1)
		total += float64(freq[w])
		for _, id := range path {
			if id >= 0 {
				count[id] += float64(freq[w])
				occur[id] += float64(freq[w])
			}
		}
	}
	sum := 0.0
	for _, c := range count {
		sum += c
	}
	logSum := math.Log(sum)
	type candidate struct {
		id   int
		loss float64
	}
	var kept []int
	var cands []candidate
	for i := range m.pieces {
		switch {
		case count[i] == 0 || !keep[i]:
		case alternatives[i] == nil:
			kept = append(kept, i)
		default:
			logProb := math.Log(count[i]) - logSum
			logSumAlt := math.Log(sum + count[i]*float64(len(alternatives[i])-1))
			logProbAlt := 0.0
			for _, a := range alternatives[i] {
				logProbAlt += math.Log(count[a]+count[i]) - logSumAlt
			}
			cands = append(cands, candidate{i, occur[i] / total * (logProb - logProbAlt)})
		}
	}
	slices.SortStableFunc(cands, func(a, b candidate) int { return cmp.Compare(b.loss, a.loss) })
	size := max(desired, int(shrinkingFactor*float64(n)))
	for _, c := range cands {
		if len(kept) >= size {
			break
		}
		kept = append(kept, c.id)
	}
	slices.Sort(kept)
	pieces := make([]string, len(kept))
	scores := make([]float64, len(kept))
	for j, i := range kept {
		pieces[j], scores[j] = m.pieces[i], m.scores[i]
	}
	return newUniModel(pieces, scores)
}

// seedModel returns the initial pieces: every kept character and the
// substrings (2 to maxLen characters, valid pieces) seen at least twice,
// the most frequent by frequency × length, scored by normalised log
// frequency × length.
func seedModel(words []string, freq []int64, chars []rune, charFreq map[rune]int64, maxLen int) *uniModel {
	counts := map[string]int64{}
	for w, word := range words {
		for i := 0; i < len(word); {
			_, size := utf8.DecodeRuneInString(word[i:])
			end, n := i+size, 1
			for end < len(word) && n < maxLen {
				_, sz := utf8.DecodeRuneInString(word[end:])
				end += sz
				n++
				sub := word[i:end]
				if sc, _ := pieceScript(sub); sc == "mixed" {
					break
				}
				counts[sub] += freq[w]
			}
			i += size
		}
	}
	type seed struct {
		piece string
		score float64
	}
	var seeds []seed
	for p, c := range counts {
		if c >= 2 {
			seeds = append(seeds, seed{p, float64(c) * float64(utf8.RuneCountInString(p))})
		}
	}
	slices.SortFunc(seeds, func(a, b seed) int {
		if c := cmp.Compare(b.score, a.score); c != 0 {
			return c
		}
		return cmp.Compare(a.piece, b.piece)
	})
	var pieces []string
	var scores []float64
	for _, c := range chars {
		pieces, scores = append(pieces, string(c)), append(scores, float64(charFreq[c]))
	}
	for _, s := range seeds[:min(len(seeds), max(0, seedPieces-len(chars)))] {
		pieces, scores = append(pieces, s.piece), append(scores, s.score)
	}
	sum := 0.0
	for _, s := range scores {
		sum += s
	}
	for i := range scores {
		scores[i] = math.Log(scores[i]) - math.Log(sum)
	}
	return newUniModel(pieces, scores)
}

// trainUnigram returns the size normal pieces of a unigram model, best score
// first: every covered character, then the highest-scoring pieces.
func trainUnigram(words []string, freq []int64, chars []rune, charFreq map[rune]int64, size, maxLen int) []VocabEntry {
	m := seedModel(words, freq, chars, charFreq, maxLen)
	desired := size * 11 / 10
	for {
		for range subIterations {
			m = mStep(m, m.eStep(words, freq))
		}
		if len(m.pieces) <= desired {
			break
		}
		m = prune(m, words, freq, desired)
	}
	score := map[string]float64{}
	for i, p := range m.pieces {
		score[p] = m.scores[i]
	}
	lowest := m.unk + unkPenalty
	if len(m.pieces) == 0 {
		lowest = 0 // EM dropped everything (a tiny corpus): keep scores finite
	}
	var out []VocabEntry
	have := map[string]bool{}
	penalty := 0.0
	for _, c := range chars {
		s, ok := score[string(c)]
		if !ok {
			// As SentencePiece: the lowest score plus a small step per
			// missing character, so that no two share a score.
			s = lowest + penalty
			penalty += 0.0001
		}
		out = append(out, VocabEntry{string(c), float32(s), Normal})
		have[string(c)] = true
	}
	order := make([]int, len(m.pieces))
	for i := range order {
		order[i] = i
	}
	slices.SortStableFunc(order, func(a, b int) int { return cmp.Compare(m.scores[b], m.scores[a]) })
	for _, i := range order {
		if len(out) >= size {
			break
		}
		if !have[m.pieces[i]] {
			out = append(out, VocabEntry{m.pieces[i], float32(m.scores[i]), Normal})
		}
	}
	slices.SortStableFunc(out, func(a, b VocabEntry) int {
		if c := cmp.Compare(b.Score, a.Score); c != 0 {
			return c
		}
		return cmp.Compare(a.Piece, b.Piece)
	})
	return out
}
