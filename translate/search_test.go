package translate

import (
	"context"
	"errors"
	"math"
	"math/rand"
	"reflect"
	"slices"
	"sort"
	"testing"

	"github.com/deen-mt/deen/internal/kernels"
)

// Fake vocabulary of the rule tests: eos 0, unk 1, a 2, b 3, c 4, pad 5.
const (
	fEOS, fA, fB, fC, fPad = 0, 2, 3, 4, 5
	fV                     = 6
)

// fakeRow is one hypothesis of the fake model: its sentence and the tokens
// fed so far (start token first).
type fakeRow struct {
	sent int
	fed  []int32
}

// fakeModel is a deterministic stand-in for the decoder: the logits of a
// row are a function of its sentence and the tokens it was fed.
type fakeModel struct {
	t      *testing.T
	vocab  int
	logits func(sent int, fed []int32, out []float32)
	rows   []fakeRow
	steps  int
}

func newFake(t *testing.T, vocab int, rowSents []int, f func(sent int, fed []int32, out []float32)) *fakeModel {
	m := &fakeModel{t: t, vocab: vocab, logits: f}
	for _, s := range rowSents {
		m.rows = append(m.rows, fakeRow{sent: s})
	}
	return m
}

func (m *fakeModel) Step(tokens []int32, logits []float32) {
	if len(tokens) != len(m.rows) || len(logits) != len(m.rows)*m.vocab {
		m.t.Fatalf("Step with %d tokens, %d logits for %d rows", len(tokens), len(logits), len(m.rows))
	}
	m.steps++
	for r := range m.rows {
		m.rows[r].fed = append(m.rows[r].fed, tokens[r])
		m.logits(m.rows[r].sent, m.rows[r].fed, logits[r*m.vocab:(r+1)*m.vocab])
	}
}

func (m *fakeModel) Reorder(parents []int) {
	if len(parents) == 0 || len(parents) > len(m.rows) {
		m.t.Fatalf("Reorder to %d rows from %d", len(parents), len(m.rows))
	}
	rows := make([]fakeRow, len(parents))
	for i, p := range parents {
		rows[i] = fakeRow{sent: m.rows[p].sent, fed: slices.Clone(m.rows[p].fed)}
	}
	m.rows = rows
}

// spec returns the search rules of the fake vocabulary.
func fakeSpec(beams int, lp float64) *searchSpec {
	return &searchSpec{vocab: fV, start: fPad, eos: fEOS, badWords: []int32{fPad}, forcedEOS: true, beams: beams, lengthPenalty: lp}
}

// logProbs fills out with the logs of the given probabilities (every other
// token gets the rest of the mass, shared equally), so log_softmax(out) = out.
func logProbs(out []float32, p map[int32]float64) {
	rest, free := 1.0, 0
	for _, v := range p {
		rest -= v
	}
	for i := range out {
		if _, ok := p[int32(i)]; !ok {
			free++
		}
	}
	for i := range out {
		v, ok := p[int32(i)]
		if !ok {
			v = rest / float64(free)
		}
		out[i] = float32(math.Log(v))
	}
}

// rowSentences returns the sentence of each row: beams rows for each of n
// sentences.
func rowSentences(n, beams int) []int {
	var rows []int
	for s := range n {
		for range beams {
			rows = append(rows, s)
		}
	}
	return rows
}

func run(t *testing.T, sp *searchSpec, maxLen []int, f func(int, []int32, []float32)) ([]Result, *fakeModel) {
	t.Helper()
	m := newFake(t, sp.vocab, rowSentences(len(maxLen), sp.beams), f)
	res, err := search(context.Background(), m, sp, maxLen)
	if err != nil {
		t.Fatal(err)
	}
	return res, m
}

func TestGreedyTieTakesFirstIndexAndNeverPad(t *testing.T) {
	res, _ := run(t, fakeSpec(1, 1), []int{4}, func(_ int, fed []int32, out []float32) {
		for i := range out {
			out[i] = -5
		}
		out[fPad] = 10 // pad is never generated
		out[fB], out[fC] = 1, 1
		if len(fed) == 2 {
			out[fEOS] = 2
		}
	})
	want := []int32{fB, fEOS}
	if !slices.Equal(res[0].IDs, want) {
		t.Fatalf("ids %v, want %v", res[0].IDs, want)
	}
}

func TestGreedyForcedEOSAndScore(t *testing.T) {
	// eos is never likely; max_length 4 forces it as the third token.
	res, m := run(t, fakeSpec(1, 1), []int{4}, func(_ int, _ []int32, out []float32) {
		logProbs(out, map[int32]float64{fA: 0.5, fEOS: 0.01, fPad: 0.01})
	})
	if want := []int32{fA, fA, fEOS}; !slices.Equal(res[0].IDs, want) {
		t.Fatalf("ids %v, want %v", res[0].IDs, want)
	}
	if m.steps != 3 {
		t.Fatalf("%d steps, want 3", m.steps)
	}
	// Two tokens of probability 0.5, the forced eos adds 0, divided by 3 tokens.
	if want := 2 * math.Log(0.5) / 3; math.Abs(float64(res[0].Score)-want) > 1e-6 {
		t.Fatalf("score %v, want %v", res[0].Score, want)
	}
}

func TestNoRepeatNGram(t *testing.T) {
	sp := fakeSpec(1, 1)
	sp.noRepeatNGram = 2
	// Preference a > b > c > eos; HF bans any token that repeats a bigram
	// of start+generated: a a b a c a ... (start token counts).
	res, _ := run(t, sp, []int{7}, func(_ int, _ []int32, out []float32) {
		logProbs(out, map[int32]float64{fA: 0.4, fB: 0.3, fC: 0.2, fEOS: 0.05, fPad: 0.01})
	})
	if want := []int32{fA, fA, fB, fA, fC, fEOS}; !slices.Equal(res[0].IDs, want) {
		t.Fatalf("ids %v, want %v", res[0].IDs, want)
	}
}

func TestMinNewTokens(t *testing.T) {
	sp := fakeSpec(1, 1)
	sp.minNewTokens = 3
	res, _ := run(t, sp, []int{10}, func(_ int, _ []int32, out []float32) {
		logProbs(out, map[int32]float64{fEOS: 0.9, fPad: 0.01})
	})
	if len(res[0].IDs) != 4 || res[0].IDs[3] != fEOS || slices.Contains(res[0].IDs[:3], fEOS) {
		t.Fatalf("ids %v, want 3 tokens then eos", res[0].IDs)
	}
}

// twoPaths is a model where ending at once (eos, p=e^-1) competes with a
// longer path a→eos (p = e^-0.6 each step).
func twoPaths(_ int, fed []int32, out []float32) {
	switch {
	case len(fed) == 1:
		logProbs(out, map[int32]float64{fEOS: math.Exp(-1), fA: math.Exp(-0.6), fPad: 1e-4})
	case fed[len(fed)-1] == fA:
		logProbs(out, map[int32]float64{fEOS: math.Exp(-0.6), fPad: 1e-4})
	default:
		logProbs(out, map[int32]float64{fEOS: 0.9, fPad: 1e-4})
	}
}

func TestBeamLengthPenalty(t *testing.T) {
	// length_penalty 1: [eos] scores −1/1, [a eos] −1.2/2 = −0.6: the long one wins.
	res, _ := run(t, fakeSpec(2, 1), []int{8}, twoPaths)
	if want := []int32{fA, fEOS}; !slices.Equal(res[0].IDs, want) || math.Abs(float64(res[0].Score)+0.6) > 1e-5 {
		t.Fatalf("lp 1: ids %v score %v, want %v −0.6", res[0].IDs, res[0].Score, want)
	}
	// length_penalty 0: raw sums, −1 beats −1.2.
	res, _ = run(t, fakeSpec(2, 0), []int{8}, twoPaths)
	if want := []int32{fEOS}; !slices.Equal(res[0].IDs, want) || math.Abs(float64(res[0].Score)+1) > 1e-5 {
		t.Fatalf("lp 0: ids %v score %v, want %v −1", res[0].IDs, res[0].Score, want)
	}
	if len(res[0].NBest) != 2 || res[0].NBest[1].Score > res[0].NBest[0].Score {
		t.Fatalf("n-best %+v, want 2 entries best first", res[0].NBest)
	}
}

func TestBeamEarlyStop(t *testing.T) {
	// eos is very likely everywhere: once both finished slots hold
	// hypotheses, no running beam can beat them and the search stops
	// long before max_length.
	res, m := run(t, fakeSpec(2, 1), []int{30}, func(_ int, _ []int32, out []float32) {
		logProbs(out, map[int32]float64{fEOS: 0.9, fA: 0.05, fPad: 1e-4})
	})
	if m.steps > 3 {
		t.Fatalf("%d steps, want an early stop", m.steps)
	}
	if want := []int32{fEOS}; !slices.Equal(res[0].IDs, want) {
		t.Fatalf("ids %v, want %v", res[0].IDs, want)
	}
	if want := []int32{fA, fEOS}; len(res[0].NBest) != 2 || !slices.Equal(res[0].NBest[1].IDs, want) {
		t.Fatalf("n-best %+v, want second %v", res[0].NBest, want)
	}
}

func TestBeamForcedEOS(t *testing.T) {
	// eos is never likely: every hypothesis runs to max_length 5 and ends
	// in the forced eos, which adds 0 to its score.
	res, m := run(t, fakeSpec(3, 1), []int{5}, func(_ int, _ []int32, out []float32) {
		logProbs(out, map[int32]float64{fA: 0.6, fB: 0.3, fEOS: 1e-6, fPad: 1e-6})
	})
	if m.steps != 4 {
		t.Fatalf("%d steps, want 4", m.steps)
	}
	if want := []int32{fA, fA, fA, fEOS}; !slices.Equal(res[0].IDs, want) {
		t.Fatalf("ids %v, want %v", res[0].IDs, want)
	}
	if want := 3 * math.Log(0.6) / 4; math.Abs(float64(res[0].Score)-want) > 1e-5 {
		t.Fatalf("score %v, want %v", res[0].Score, want)
	}
	if len(res[0].NBest) != 3 {
		t.Fatalf("%d n-best entries, want 3", len(res[0].NBest))
	}
	for _, h := range res[0].NBest {
		if len(h.IDs) != 4 || h.IDs[3] != fEOS {
			t.Fatalf("n-best %v does not end with the forced eos at length 4", h.IDs)
		}
	}
}

// randomModel gives each (sentence, history) pair pseudo-random logits
// with a few dominant tokens, so searches branch and end at varied lengths.
func randomModel(vocab int) func(int, []int32, []float32) {
	return func(sent int, fed []int32, out []float32) {
		h := uint64(sent)*1000003 + 7
		for _, t := range fed {
			h = h*6364136223846793005 + uint64(t) + 1442695040888963407
		}
		r := rand.New(rand.NewSource(int64(h)))
		for i := range out {
			out[i] = float32(r.NormFloat64())
		}
		out[0] += float32(len(fed)) * 0.3 // eos grows likelier with length
		for range 3 {
			out[r.Intn(vocab)] += 3
		}
	}
}

func TestBatchEqualsAlone(t *testing.T) {
	const vocab = 50
	maxLen := []int{12, 3, 20, 7, 2, 15}
	for _, beams := range []int{1, 2, 4} {
		sp := &searchSpec{vocab: vocab, start: vocab - 1, eos: 0, badWords: []int32{vocab - 1}, forcedEOS: beams%2 == 0, beams: beams, lengthPenalty: 0.8}
		batch, _ := run(t, sp, maxLen, randomModel(vocab))
		for s := range maxLen {
			// Alone: a model whose only sentence behaves like sentence s.
			f := func(_ int, fed []int32, out []float32) { randomModel(vocab)(s, fed, out) }
			alone, _ := run(t, sp, []int{maxLen[s]}, f)
			if !reflect.DeepEqual(batch[s], alone[0]) {
				t.Fatalf("beams %d sentence %d: batched %+v, alone %+v", beams, s, batch[s], alone[0])
			}
			if n := len(batch[s].IDs); n == 0 || n > maxLen[s]-1 {
				t.Fatalf("beams %d sentence %d: %d ids, max %d", beams, s, n, maxLen[s]-1)
			}
		}
	}
}

func TestSearchStopsOnCancel(t *testing.T) {
	ctx, cancel := context.WithCancel(context.Background())
	m := newFake(t, fV, []int{0, 0}, func(_ int, fed []int32, out []float32) {
		if len(fed) == 3 {
			cancel()
		}
		logProbs(out, map[int32]float64{fA: 0.9, fPad: 1e-4, fEOS: 1e-4})
	})
	_, err := beamSearch(ctx, m, fakeSpec(2, 1), []int{100})
	if !errors.Is(err, context.Canceled) {
		t.Fatalf("err %v, want context.Canceled", err)
	}
	if m.steps != 3 {
		t.Fatalf("%d steps after cancel at step 3", m.steps)
	}
}

func TestTopKScan(t *testing.T) {
	// Offsets like −1e9 round many different logits to one score; the scan
	// must still equal a stable sort of the scores (lower token first).
	r := rand.New(rand.NewSource(1))
	shifts := [][2]float32{{0, 0}, {3.7, -12.25}, {1.1, -1e9}}
	for trial := range 300 {
		n, k := 1+r.Intn(40), 1+r.Intn(10)
		lse, off := shifts[trial%3][0], shifts[trial%3][1]
		x := make([]float32, n)
		score := make([]float32, n)
		for i := range x {
			x[i] = float32(r.Intn(8)) + float32(r.Intn(3))*1e-5 // many ties and near-ties
			if r.Intn(10) == 0 {
				x[i] = negInf
			}
			score[i] = (x[i] - lse) + off
		}
		top := newTopK(k)
		top.scan(x, lse, off)
		idx := make([]int, n)
		for i := range idx {
			idx[i] = i
		}
		sort.SliceStable(idx, func(a, b int) bool { return score[idx[a]] > score[idx[b]] })
		want := idx[:min(k, n)]
		var got []int
		for _, it := range top.items {
			got = append(got, int(it.tok))
			if it.score != score[it.tok] {
				t.Fatalf("trial %d: token %d scored %v, want %v", trial, it.tok, it.score, score[it.tok])
			}
		}
		if !slices.Equal(got, want) {
			t.Fatalf("trial %d: top %d of %v (lse %v, offset %v) = %v, want %v", trial, k, x, lse, off, got, want)
		}
	}
}

func TestBeamDoneWhenRunningOnlyTies(t *testing.T) {
	// One beam, length penalty 0: after step 1 the finished [eos] and the
	// running [a] have the same score, and HF stops on a tie
	// (best running ≤ worst finished).
	m := newFake(t, fV, []int{0}, func(_ int, fed []int32, out []float32) {
		logProbs(out, map[int32]float64{fEOS: 0.4, fA: 0.4, fPad: 1e-4})
	})
	res, err := beamSearch(context.Background(), m, fakeSpec(1, 0), []int{10})
	if err != nil {
		t.Fatal(err)
	}
	if m.steps != 1 {
		t.Fatalf("%d steps, want 1 (stop on a tie)", m.steps)
	}
	if want := []int32{fEOS}; !slices.Equal(res[0].IDs, want) {
		t.Fatalf("ids %v, want %v", res[0].IDs, want)
	}
}

// TestRowPassMatchesTwoPass checks the fused per-row pass of the search
// (bans, normaliser and top candidates in one kernels.SoftmaxTopK pass)
// against the two-pass computation it replaced: logSumExp of the raw row,
// processLogits, then the scan (beam) or ArgMax (greedy). The normaliser
// may differ in the last bits (another summation order); given the same
// normaliser the chosen tokens, their order on ties and their scores are
// identical. Rows have many ties and near-ties, banned tokens that hold
// the maximum, offsets like −1e9 that merge scores, and vocabularies below
// and above the candidate count.
func TestRowPassMatchesTwoPass(t *testing.T) {
	r := rand.New(rand.NewSource(2))
	offsets := []float32{0, -3.7, -1e9}
	fused, exact := 0, 0
	for trial := range 600 {
		V := []int{6, 19, 40, 300, 2000}[trial%5]
		k := 1 + r.Intn(5)
		sp := &searchSpec{vocab: V, start: 5, eos: 0, badWords: []int32{5}, beams: k,
			noRepeatNGram: r.Intn(3) * 2, minNewTokens: r.Intn(3)}
		raw := make([]float32, V)
		for i := range raw {
			raw[i] = float32(r.Intn(12)) + float32(r.Intn(3))*1e-5
			if r.Intn(15) == 0 {
				raw[i] = negInf
			}
		}
		raw[5] = 20 // the banned pad holds the maximum
		hist := make([]int32, r.Intn(6))
		for i := range hist {
			hist[i] = int32(r.Intn(min(V, 4)))
		}
		curLen := len(hist) + 1
		offset := offsets[trial%3]

		want := slices.Clone(raw)
		wantLSE := logSumExp(want, make([]float32, V))
		sp.processLogits(want, wantLSE, hist, curLen, 100)

		row := slices.Clone(raw)
		// Greedy: the best token is ArgMax of the processed row.
		g := newRowPass(V, 1)
		lse, idx := g.run(sp, row, hist, curLen, 100)
		if !slices.Equal(row, want) {
			t.Fatalf("trial %d: processed row %v, want %v", trial, row, want)
		}
		if math.Abs(float64(lse-wantLSE)) > 1e-6*(1+math.Abs(float64(wantLSE))) {
			t.Fatalf("trial %d: lse %v, two-pass %v", trial, lse, wantLSE)
		}
		if best := kernels.ArgMax(want); idx == nil || int(idx[0]) != best {
			t.Fatalf("trial %d: greedy best %v, ArgMax %d", trial, idx, best)
		}

		// Beam: the fused candidates (or the exact fallback) equal the scan
		// of the processed row with the same normaliser.
		row = slices.Clone(raw)
		rp := newRowPass(V, 2*k+topSlack)
		lse, idx = rp.run(sp, row, hist, curLen, 100)
		got := newTopK(2 * k)
		if idx != nil && got.fromCandidates(row, idx, lse, offset) {
			fused++
		} else {
			exact++
			got.scan(row, lse, offset)
		}
		ref := newTopK(2 * k)
		ref.scan(want, lse, offset)
		if !reflect.DeepEqual(got.items, ref.items) {
			t.Fatalf("trial %d (V %d, k %d, offset %v): candidates %v, scan %v", trial, V, k, offset, got.items, ref.items)
		}
	}
	if fused < 300 || exact == 0 {
		t.Fatalf("%d rows took the fused path, %d the exact scan: both must be exercised", fused, exact)
	}
	t.Logf("%d fused, %d exact", fused, exact)
}

// TestRowPassForcedEOS checks that at the forced-EOS position the row keeps
// only eos, scored exactly 0, with the raw row's normaliser.
func TestRowPassForcedEOS(t *testing.T) {
	sp := &searchSpec{vocab: 300, eos: 7, forcedEOS: true, beams: 2}
	row := make([]float32, 300)
	for i := range row {
		row[i] = float32(i%13) / 3
	}
	wantLSE := logSumExp(slices.Clone(row), make([]float32, 300))
	lse, idx := newRowPass(300, 4).run(sp, row, nil, 9, 10)
	if idx != nil || lse != wantLSE {
		t.Fatalf("lse %v idx %v, want %v and the exact path", lse, idx, wantLSE)
	}
	if kernels.ArgMax(row) != 7 || row[7]-lse != 0 || kernels.Max(row[:7]) != negInf {
		t.Fatalf("row not forced to eos: %v", row[:10])
	}
}

func TestMergeBestEqualsFullSort(t *testing.T) {
	// Per-beam lists sorted by (score, token) as topK leaves them, with
	// many ties across beams, some NaN and some empty lists: the merge
	// equals sorting all candidates by (score desc, beam, token).
	r := rand.New(rand.NewSource(2))
	for trial := range 500 {
		k, n := 1+r.Intn(12), 1+r.Intn(30)
		var c []candidate
		var starts []int
		for j := range k {
			starts = append(starts, len(c))
			list := make([]candidate, r.Intn(2*k+1))
			for i := range list {
				list[i] = candidate{score: float32(r.Intn(6)) - 1e9*float32(r.Intn(2)), beam: j, tok: int32(r.Intn(50))}
				if r.Intn(40) == 0 {
					list[i].score = float32(math.NaN())
				}
			}
			slices.SortFunc(list, func(a, b candidate) int {
				if candidateBefore(a, b) {
					return -1
				}
				if candidateBefore(b, a) {
					return 1
				}
				return 0
			})
			c = append(c, list...)
		}
		starts = append(starts, len(c))
		want := slices.Clone(c)
		sort.SliceStable(want, func(a, b int) bool { return candidateBefore(want[a], want[b]) })
		want = want[:min(n, len(want))]
		got := mergeBest(nil, c, starts, n)
		if len(got) != len(want) {
			t.Fatalf("trial %d: %d candidates, want %d", trial, len(got), len(want))
		}
		for i := range got {
			if got[i].beam != want[i].beam || got[i].tok != want[i].tok || math.Float32bits(got[i].score) != math.Float32bits(want[i].score) {
				t.Fatalf("trial %d: candidate %d = %+v, want %+v", trial, i, got[i], want[i])
			}
		}
	}
}

// hashLogits is a deterministic pseudo-random model: logits in [0, 8) that
// are a hash of the sentence and the tokens fed.
func hashLogits(sent int, fed []int32, out []float32) {
	h := uint64(sent)*0x9E3779B97F4A7C15 + 1
	for _, f := range fed {
		h = (h ^ uint64(f)) * 0x100000001B3
	}
	for i := range out {
		h ^= h << 13
		h ^= h >> 7
		h ^= h << 17
		out[i] = float32(h>>40) / float32(1<<24) * 8
	}
}

// TestSearchRowsSplit checks that splitting a step's rows over goroutines
// (parallelRows) changes no result: greedy and beam search on a
// deterministic pseudo-random model, every row pass split, against the
// same search on one goroutine.
func TestSearchRowsSplit(t *testing.T) {
	const V = 300
	logits := hashLogits
	saved, savedWork := kernels.Threads(), minParallelRowWork
	defer func() { kernels.SetThreads(saved); minParallelRowWork = savedWork }()
	run := func(threads, beams int) []Result {
		kernels.SetThreads(threads)
		minParallelRowWork = 1
		sp := &searchSpec{vocab: V, start: 5, eos: 0, badWords: []int32{5}, forcedEOS: true, beams: beams, lengthPenalty: 1, noRepeatNGram: 2}
		m := newFake(t, V, rowSentences(5, beams), logits)
		res, err := search(context.Background(), m, sp, []int{12, 9, 15, 6, 11})
		if err != nil {
			t.Fatal(err)
		}
		return res
	}
	for _, beams := range []int{1, 3} {
		one := run(1, beams)
		for _, threads := range []int{2, 3} {
			if got := run(threads, beams); !reflect.DeepEqual(got, one) {
				t.Fatalf("beams %d, %d threads: %+v, one goroutine %+v", beams, threads, got, one)
			}
		}
	}
}
