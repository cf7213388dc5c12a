package translate

import (
	"cmp"
	"container/heap"
	"context"
	"math"
	"slices"

	"github.com/deen-mt/deen/internal/kernels"
)

// stepper is all the search needs of a model: run one decoder step for every
// live row and rearrange the rows. Rows are hypotheses (one per sentence in
// greedy search, BeamSize per sentence in beam search); the search decides
// which rows live on, the model knows nothing of search.
type stepper interface {
	// Step feeds one token per row and writes the raw logits [rows·V].
	Step(tokens []int32, logits []float32)
	// Reorder makes row i continue former row parents[i]; parents may be
	// shorter than the current row count (finished sentences drop out).
	Reorder(parents []int)
}

// searchSpec is everything the search rules need, resolved per call.
type searchSpec struct {
	vocab         int
	start, eos    int32
	badWords      []int32 // never generated (HF NoBadWords with single-token entries)
	forcedEOS     bool    // HF ForcedEOS: the last position must be eos
	beams         int     // 1 = greedy
	lengthPenalty float64
	noRepeatNGram int // HF no_repeat_ngram_size; 0 = off
	minNewTokens  int // HF min_new_tokens; eos forbidden before; 0 = off
}

// Hypothesis is one finished translation candidate.
type Hypothesis struct {
	// IDs are the generated target ids without the decoder start token,
	// including the final end token (when one was generated).
	IDs []int32
	// Score is the sum of the token log-probabilities divided by
	// len(IDs)^LengthPenalty (Hugging Face sequences_scores).
	Score float32
	// LM is the length-normalised language-model log-probability with
	// WithRerankLM (0 without, or when the hypothesis is longer than the
	// language model reads).
	LM float32
}

// Result is the translation of one source sentence.
type Result struct {
	// IDs are the generated target ids of the best hypothesis, without the
	// decoder start token, including the final end token.
	IDs []int32
	// Score is the best hypothesis' score (Hugging Face sequences_scores).
	Score float32
	// NBest lists the finished hypotheses, best first (BeamSize entries in
	// beam search, the one hypothesis in greedy search).
	NBest []Hypothesis
}

// negSentinel is Hugging Face's -1e9 marker for "no hypothesis here".
const negSentinel = float32(-1e9)

var negInf = float32(math.Inf(-1))

// processLogits applies the logits processors in Hugging Face's order to
// one row of raw logits whose log-softmax normaliser is lse, for a row whose
// decoder length (start token included) is curLen: no-repeat-ngram, bad
// words, min new tokens, forced EOS. They act as on log-probabilities
// x − lse: banned tokens get −∞, and forced EOS leaves only eos, with
// log-probability exactly 0 (logit lse). hist is the row's generated ids
// without the start token.
func (sp *searchSpec) processLogits(logits []float32, lse float32, hist []int32, curLen, maxLen int) {
	scores := logits
	if sp.forcesEOS(curLen, maxLen) {
		for i := range scores {
			scores[i] = negInf
		}
		scores[sp.eos] = lse
		return
	}
	for _, b := range sp.bans(nil, hist, curLen) {
		scores[b] = negInf
	}
}

// forcesEOS reports whether ForcedEOS applies at decoder length curLen.
func (sp *searchSpec) forcesEOS(curLen, maxLen int) bool {
	return sp.forcedEOS && curLen == maxLen-1
}

// bans appends to dst the tokens that the processors other than forced EOS
// set to −∞ (no-repeat-ngram, bad words, min new tokens; a token may appear
// twice) and returns it.
func (sp *searchSpec) bans(dst, hist []int32, curLen int) []int32 {
	if sp.noRepeatNGram > 0 {
		dst = bannedNGrams(dst, sp.start, hist, sp.noRepeatNGram)
	}
	dst = append(dst, sp.badWords...)
	if curLen-1 < sp.minNewTokens {
		dst = append(dst, sp.eos)
	}
	return dst
}

// bannedNGrams appends to dst every token that would repeat an n-gram of
// the sequence start+hist (HF NoRepeatNGramLogitsProcessor; the start token
// counts as part of the sequence, as in HF).
func bannedNGrams(dst []int32, start int32, hist []int32, n int) []int32 {
	seq := make([]int32, 0, len(hist)+1)
	seq = append(seq, start)
	seq = append(seq, hist...)
	cur := len(seq)
	if cur+1 < n {
		return dst
	}
	prefix := seq[cur-n+1:]
	for i := 0; i+n <= cur; i++ {
		match := true
		for j := range n - 1 {
			if seq[i+j] != prefix[j] {
				match = false
				break
			}
		}
		if match {
			dst = append(dst, seq[i+n-1])
		}
	}
	return dst
}

// logSumExp returns log Σ exp(x) over a row of logits; scratch must be at
// least as long as x.
func logSumExp(x, scratch []float32) float32 {
	m := kernels.Max(x)
	if math.IsInf(float64(m), 0) || m != m {
		return m
	}
	scratch = scratch[:len(x)]
	copy(scratch, x)
	return m + float32(math.Log(float64(kernels.ExpSub(scratch, m))))
}

// rowPass is the per-row work of a search step done in one pass over the
// vocabulary: the processors' bans, the log-softmax normaliser of the raw
// logits and the best tokens by logit (kernels.SoftmaxTopK). Its buffers
// are reused from row to row.
type rowPass struct {
	bans    []int32
	saved   []float32 // raw logits of the banned tokens
	idx     []int32
	scratch []float32 // for logSumExp on the exact path
}

func newRowPass(vocab, n int) *rowPass {
	return &rowPass{idx: make([]int32, min(n, vocab)), scratch: make([]float32, vocab)}
}

// newRowPasses returns one rowPass per part parallelRows may use.
func newRowPasses(vocab, n int) []*rowPass {
	rps := make([]*rowPass, max(1, kernels.Threads()))
	for i := range rps {
		rps[i] = newRowPass(vocab, n)
	}
	return rps
}

// minParallelRowWork is the least rows·vocabulary of a step whose rows
// parallelRows splits (a variable so that tests can split small steps).
var minParallelRowWork = 1 << 16

// parallelRows calls f(part, r) for every row r < rows, split over up to
// maxParts parts by kernels.ParallelRows when the step holds at least
// minParallelRowWork logits; part < maxParts names the scratch f may use
// (newRowPasses makes one per thread). The rows' one pass over the
// vocabulary is the search's per-step work that grows with the batch (64
// rows × 58101 logits at beam 4 × batch 16): split, it keeps both cores
// busy between decoder steps. Rows are independent, so the results do not
// depend on the split.
func parallelRows(rows, vocab, maxParts int, f func(part, r int)) {
	if rows*vocab < minParallelRowWork {
		maxParts = 1
	}
	kernels.ParallelRows(rows, maxParts, kernels.RowFunc(f))
}

// run applies the processors to row (raw logits of a row at decoder length
// curLen with generated ids hist) and returns the log-softmax normaliser of
// the raw logits and the indices of the best len(rp.idx) processed logits,
// best first, lower token first on ties. idx is nil when the row needs the
// exact path on the processed row instead: forced EOS (the row then holds
// the forced scores), or a normaliser that is not finite.
//
// The banned tokens' logits are saved and set to −∞ before the pass, and
// folded into the normaliser after it: lse = M + log(s·e^(m−M) + Σ e^(b−M))
// over the pass's max m and sum s and the banned logits b, M the largest.
func (rp *rowPass) run(sp *searchSpec, row []float32, hist []int32, curLen, maxLen int) (lse float32, idx []int32) {
	if sp.forcesEOS(curLen, maxLen) {
		lse = logSumExp(row, rp.scratch)
		sp.processLogits(row, lse, hist, curLen, maxLen)
		return lse, nil
	}
	rp.bans = sp.bans(rp.bans[:0], hist, curLen)
	rp.saved = rp.saved[:0]
	for _, b := range rp.bans {
		if v := row[b]; v != negInf { // a second ban of the same token sees −∞
			rp.saved = append(rp.saved, v)
		}
		row[b] = negInf
	}
	m, s := kernels.SoftmaxTopK(row, rp.idx)
	big := m
	for _, v := range rp.saved {
		big = max(big, v)
	}
	if math.IsInf(float64(big), 0) || big != big || s != s {
		return big, nil
	}
	if len(rp.saved) == 0 {
		return m + float32(math.Log(float64(s))), rp.idx
	}
	sum := float64(s) * math.Exp(float64(m-big))
	for _, v := range rp.saved {
		sum += math.Exp(float64(v - big))
	}
	return big + float32(math.Log(sum)), rp.idx
}

// lengthNorm returns n^lp as a float32 divisor (HF divides float32 scores).
func lengthNorm(n int, lp float64) float32 {
	return float32(math.Pow(float64(n), lp))
}

// greedySearch runs HF greedy search for the sentences whose rows the
// stepper holds (row i = sentence i). maxLen[i] is the HF max_length of
// sentence i (decoder positions including the start token, ≥ 2).
func greedySearch(ctx context.Context, st stepper, sp *searchSpec, maxLen []int) ([]Result, error) {
	n := len(maxLen)
	hist := make([][]int32, n)
	sum := make([]float64, n)
	alive := make([]int, n) // row → sentence
	tokens := make([]int32, n)
	for i := range alive {
		alive[i] = i
		tokens[i] = sp.start
	}
	logits := make([]float32, n*sp.vocab)
	rps := newRowPasses(sp.vocab, 1)
	lses, bests := make([]float32, n), make([]int, n)
	for curLen := 1; len(alive) > 0; curLen++ {
		if err := ctx.Err(); err != nil {
			return nil, err
		}
		rows := len(alive)
		st.Step(tokens[:rows], logits[:rows*sp.vocab])
		parallelRows(rows, sp.vocab, len(rps), func(part, r int) {
			row := logits[r*sp.vocab : (r+1)*sp.vocab]
			lse, top := rps[part].run(sp, row, hist[alive[r]], curLen, maxLen[alive[r]])
			if top != nil {
				bests[r] = int(top[0]) // the first index of the max, as ArgMax
			} else {
				bests[r] = kernels.ArgMax(row)
			}
			lses[r] = lse
		})
		var keep []int
		next := tokens[:0]
		for r, s := range alive {
			row := logits[r*sp.vocab : (r+1)*sp.vocab]
			best, lse := bests[r], lses[r]
			tok := int32(best)
			sum[s] += float64(row[best] - lse)
			hist[s] = append(hist[s], tok)
			if tok != sp.eos && curLen+1 < maxLen[s] {
				keep = append(keep, r)
				next = append(next, tok)
			}
		}
		if len(keep) < rows {
			if len(keep) > 0 {
				st.Reorder(keep)
			}
			live := alive[:0]
			for _, r := range keep {
				live = append(live, alive[r])
			}
			alive = live
		}
		tokens = next
	}
	res := make([]Result, n)
	for s := range res {
		score := float32(sum[s]) / lengthNorm(len(hist[s]), sp.lengthPenalty)
		res[s] = Result{IDs: hist[s], Score: score, NBest: []Hypothesis{{IDs: hist[s], Score: score}}}
	}
	return res, nil
}

// candidate is one (beam, token) extension during a beam step.
type candidate struct {
	score float32
	beam  int
	tok   int32
}

// finSlot is one entry of a sentence's finished set.
type finSlot struct {
	ids      []int32
	score    float32
	finished bool
}

// beamSentence is the search state of one sentence in beam search.
type beamSentence struct {
	maxLen  int
	running [][]int32 // beams × generated ids (no start token)
	runLP   []float32 // running scores (sum of log-probs, or sentinel)
	fin     []finSlot // the finished set, best first
	parent  []int     // after a step: the former beam each running beam extends
}

// beamSearch runs HF beam search (transformers ≥ 4.50, early_stopping
// false) for the sentences whose rows the stepper holds: rows
// s·beams … s·beams+beams−1 belong to sentence s. A sentence that is done
// drops out of the batch; the others go on exactly as if alone.
func beamSearch(ctx context.Context, st stepper, sp *searchSpec, maxLen []int) ([]Result, error) {
	k, V := sp.beams, sp.vocab
	n := len(maxLen)
	sents := make([]*beamSentence, n)
	for s := range sents {
		b := &beamSentence{maxLen: maxLen[s], running: make([][]int32, k), runLP: make([]float32, k), fin: make([]finSlot, k)}
		for j := range k {
			if j > 0 {
				b.runLP[j] = negSentinel
			}
			b.fin[j].score = negSentinel
		}
		sents[s] = b
	}
	alive := make([]int, n) // alive[i] = sentence of rows i·k … i·k+k−1
	tokens := make([]int32, n*k)
	for i := range alive {
		alive[i] = i
	}
	for i := range tokens {
		tokens[i] = sp.start
	}
	logits := make([]float32, n*k*V)
	rps := newRowPasses(V, 2*k+topSlack)
	tops := make([]*topK, len(rps))
	for i := range tops {
		tops[i] = newTopK(2 * k)
	}
	rowItems := make([][]topItem, n*k) // per row: its best 2k (score, token)
	cands := make([]candidate, 0, 2*k*k)
	starts := make([]int, 0, k+1)
	var best []candidate
	for curLen := 1; len(alive) > 0; curLen++ {
		if err := ctx.Err(); err != nil {
			return nil, err
		}
		rows := len(alive) * k
		st.Step(tokens[:rows], logits[:rows*V])
		parallelRows(rows, V, len(rps), func(part, r int) {
			b, j := sents[alive[r/k]], r%k
			row := logits[r*V : (r+1)*V]
			rp, top := rps[part], tops[part]
			lse, idx := rp.run(sp, row, b.running[j], curLen, b.maxLen)
			if idx == nil || !top.fromCandidates(row, idx, lse, b.runLP[j]) {
				top.scan(row, lse, b.runLP[j])
			}
			rowItems[r] = append(rowItems[r][:0], top.items...)
		})
		var parents []int
		next := tokens[:0]
		live := alive[:0]
		for i, s := range alive {
			b := sents[s]
			// Candidates: the best 2k of (log-probs + running score) over all beams.
			cands, starts = cands[:0], starts[:0]
			for j := range k {
				starts = append(starts, len(cands))
				for _, c := range rowItems[i*k+j] {
					cands = append(cands, candidate{score: c.score, beam: j, tok: c.tok})
				}
			}
			best = mergeBest(best[:0], cands, append(starts, len(cands)), 2*k)
			done := b.step(best, curLen, sp)
			if done {
				continue
			}
			live = append(live, s)
			for j := range k {
				parents = append(parents, i*k+b.parent[j])
				next = append(next, b.running[j][len(b.running[j])-1])
			}
		}
		if len(live) == 0 {
			break
		}
		if !isIdentity(parents, rows) {
			st.Reorder(parents)
		}
		alive = live
		tokens = next
	}
	res := make([]Result, n)
	for s, b := range sents {
		for _, f := range b.fin {
			if f.finished {
				res[s].NBest = append(res[s].NBest, Hypothesis{IDs: f.ids, Score: f.score})
			}
		}
		res[s].IDs, res[s].Score = b.fin[0].ids, b.fin[0].score
	}
	return res, nil
}

// step applies one beam step to a sentence given its 2k best candidates,
// sorted best first. It updates the running beams (recording each one's
// parent beam in b.parent) and the finished set, and reports whether the
// sentence is done.
func (b *beamSentence) step(cands []candidate, curLen int, sp *searchSpec) bool {
	k := len(b.running)
	atMax := curLen+1 >= b.maxLen
	hit := func(c candidate) bool { return c.tok == sp.eos || atMax }

	// The finished set: the old slots, then every candidate; only
	// candidates ranked < k that hit eos or max length count (the others
	// carry HF's −1e9 penalty). Keep the best k, earlier entries first on ties.
	norm := lengthNorm(curLen, sp.lengthPenalty)
	merged := make([]finSlot, 0, k+len(cands))
	merged = append(merged, b.fin...)
	for r, c := range cands {
		just := r < k && hit(c)
		sc := c.score / norm
		if !just {
			sc += negSentinel
		}
		merged = append(merged, finSlot{ids: b.extend(c), score: sc, finished: just})
	}
	b.fin = selectSlots(merged, k)

	// The next running beams: the best k candidates that did not hit.
	runScore := make([]candidate, len(cands))
	for r, c := range cands {
		if hit(c) {
			c.score += negSentinel
		}
		runScore[r] = c
	}
	order := bestK(runScore, k)
	newRun := make([][]int32, k)
	b.parent = b.parent[:0]
	for j, r := range order {
		newRun[j] = b.extend(cands[r])
		b.runLP[j] = runScore[r].score
		b.parent = append(b.parent, cands[r].beam)
	}
	b.running = newRun

	if atMax {
		return true
	}
	// Done test (early_stopping false): after this step cur_len+1
	// positions exist, cur_len generated tokens.
	best := b.runLP[0] / lengthNorm(curLen, sp.lengthPenalty)
	worst := b.fin[0].score
	for _, f := range b.fin {
		worst = min(worst, f.score)
	}
	for _, f := range b.fin {
		w := negSentinel
		if f.finished {
			w = worst
		}
		if best > w {
			return false
		}
	}
	return true
}

// extend returns the running beam of c followed by c's token (a new slice).
func (b *beamSentence) extend(c candidate) []int32 {
	old := b.running[c.beam]
	ids := make([]int32, len(old)+1)
	copy(ids, old)
	ids[len(old)] = c.tok
	return ids
}

// selectSlots returns the best k slots, score descending, earlier first on ties.
func selectSlots(slots []finSlot, k int) []finSlot {
	out := make([]finSlot, 0, k)
	used := make([]bool, len(slots))
	for range k {
		best := -1
		for i, s := range slots {
			if !used[i] && (best < 0 || s.score > slots[best].score) {
				best = i
			}
		}
		used[best] = true
		out = append(out, slots[best])
	}
	return out
}

// bestK returns the indices of the best k candidates by score, best first,
// earlier first on ties.
func bestK(c []candidate, k int) []int {
	out := make([]int, 0, k)
	used := make([]bool, len(c))
	for range k {
		best := -1
		for i := range c {
			if !used[i] && (best < 0 || c[i].score > c[best].score) {
				best = i
			}
		}
		used[best] = true
		out = append(out, best)
	}
	return out
}

// mergeBest appends to out the best n candidates of the beams' lists,
// best first: by score descending, then by flat index beam·V+token
// ascending (the order of torch.topk over the flattened scores, which HF
// takes its 2k candidates from). Beam j's list is c[starts[j]:starts[j+1]],
// sorted in that order already (score descending, lower token first), so
// a k-way merge through a heap of the lists' heads takes O(n log k), where
// sorting all 2k·k candidates took O(k² log k) and an insertion sort
// O(k⁴). NaN scores rank last.
func mergeBest(out, c []candidate, starts []int, n int) []candidate {
	q := &listHeads{c: c}
	for j := range len(starts) - 1 {
		if starts[j] < starts[j+1] {
			q.heads = append(q.heads, listHead{starts[j], starts[j+1]})
		}
	}
	heap.Init(q)
	for len(out) < n && q.Len() > 0 {
		h := &q.heads[0]
		out = append(out, c[h.pos])
		if h.pos++; h.pos == h.end {
			heap.Pop(q)
		} else {
			heap.Fix(q, 0)
		}
	}
	return out
}

// listHead is the next unmerged entry c[pos] of one beam's list c[pos:end].
type listHead struct{ pos, end int }

// listHeads is a heap of the lists' heads, best candidate first
// (container/heap).
type listHeads struct {
	c     []candidate
	heads []listHead
}

func (q *listHeads) Len() int { return len(q.heads) }
func (q *listHeads) Less(i, j int) bool {
	return candidateBefore(q.c[q.heads[i].pos], q.c[q.heads[j].pos])
}
func (q *listHeads) Swap(i, j int) { q.heads[i], q.heads[j] = q.heads[j], q.heads[i] }
func (q *listHeads) Push(x any)    { q.heads = append(q.heads, x.(listHead)) }
func (q *listHeads) Pop() any {
	h := q.heads[len(q.heads)-1]
	q.heads = q.heads[:len(q.heads)-1]
	return h
}

// candidateBefore reports whether a ranks before b: higher score, then
// lower beam, then lower token; a NaN score ranks after every number.
func candidateBefore(a, b candidate) bool {
	if an, bn := a.score != a.score, b.score != b.score; an != bn {
		return bn
	} else if !an && a.score != b.score {
		return a.score > b.score
	}
	if a.beam != b.beam {
		return a.beam < b.beam
	}
	return a.tok < b.tok
}

// isIdentity reports whether parents is 0, 1, …, rows−1.
func isIdentity(parents []int, rows int) bool {
	if len(parents) != rows {
		return false
	}
	for i, p := range parents {
		if p != i {
			return false
		}
	}
	return true
}

// topItem is one entry of a topK buffer.
type topItem struct {
	score float32
	tok   int32
	raw   float32 // the logit the score was made from
}

// topK keeps the k largest scores of a row, in descending order, lower
// token first on ties.
type topK struct {
	k     int
	items []topItem
}

func newTopK(k int) *topK { return &topK{k: k, items: make([]topItem, 0, k+topSlack)} }

// scan replaces the buffer with the k best of row, token v scoring
// fl(fl(row[v]−lse)+offset): log-softmax plus a beam's running score, in
// float32 as PyTorch computes it. That map is monotone in row[v] and ties
// keep the lower token, so once the buffer is full a logit not above the
// last entry's cannot enter: most of a 58k row costs one comparison per
// value. NaN counts as −∞.
func (t *topK) scan(row []float32, lse, offset float32) {
	t.items = t.items[:0]
	floor, full := negInf, false
	for v, x := range row {
		if full && !(x > floor) {
			continue
		}
		if x != x {
			x = negInf
		}
		t.push(topItem{score: (x - lse) + offset, tok: int32(v), raw: x})
		if full = len(t.items) == t.k; full {
			floor = t.items[t.k-1].raw
		}
	}
}

// topSlack is how many more tokens than 2k beam search takes from the
// fused pass (ranked by logit) to rank them by score: logits that round to
// the same score are then ordered by token, as the scan does.
const topSlack = 8

// fromCandidates sets the buffer to the k best of row, scored as in scan,
// given idx: the best len(idx) tokens by logit, best first, lower token
// first on ties, with no NaN among them. Every token outside idx scores at
// most as the last of idx, so the k best by (score, lower token) are among
// idx unless the k-th best's score equals that of idx's last, where a
// token outside idx could tie: then (rarely; always with scores swamped by
// −1e9) it reports false and leaves the exact scan to the caller.
func (t *topK) fromCandidates(row []float32, idx []int32, lse, offset float32) bool {
	t.items = t.items[:0]
	for _, v := range idx {
		x := row[v]
		if x != x {
			return false
		}
		t.items = append(t.items, topItem{score: (x - lse) + offset, tok: v, raw: x})
	}
	// idx is sorted by logit and rounding to scores only makes ties: sort
	// the nearly sorted list by (score, token), O(k log k) at most where an
	// insertion per entry was O(k²).
	slices.SortFunc(t.items, func(a, b topItem) int {
		if a.score != b.score {
			return cmp.Compare(b.score, a.score)
		}
		return cmp.Compare(a.tok, b.tok)
	})
	last := row[idx[len(idx)-1]]
	if len(idx) < len(row) && len(t.items) >= t.k && !(t.items[t.k-1].score > (last-lse)+offset) {
		return false
	}
	t.items = t.items[:min(t.k, len(t.items))]
	return true
}

// push inserts it if it beats the last entry (or the buffer is not full),
// after the entries with an equal score.
func (t *topK) push(it topItem) {
	n := len(t.items)
	if n == t.k {
		if !(it.score > t.items[n-1].score) {
			return
		}
		n--
	} else {
		t.items = t.items[:n+1]
	}
	i := n
	for i > 0 && it.score > t.items[i-1].score {
		t.items[i] = t.items[i-1]
		i--
	}
	t.items[i] = it
}
