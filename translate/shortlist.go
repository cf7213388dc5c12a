package translate

import (
	"context"
	"errors"
	"fmt"
	"slices"

	"github.com/deen-mt/deen/modelfile"
	"github.com/deen-mt/deen/shortlist"
)

// WithShortlist turns the model file's vocabulary shortlist on or off
// (off by default for Load and LoadReader, so that every parity test stays
// as it was; on by default for the embedded model: Default). Each sentence is then decoded over its candidate target ids
// only — the shortlist's frequent ids, the translation candidates of its
// source ids, the source ids themselves, and the end, unknown and decoder
// start ids. A batch multiplies the output projection for the union of its
// sentences' candidates, so the product and the search's pass over a row
// are that union's width instead of the vocabulary's, and each row leaves
// out (−∞) the ids that are not its own sentence's candidates: a sentence
// gets the same translation in any batch. Scores come from a log-softmax
// over the sentence's candidates (a token outside them has probability
// 0), so they are slightly higher than without the shortlist, and a
// translation can only use candidate tokens. The shortlist is the blob
// modelfile.BlobShortlist, written by translate shortlist; a model without
// one, or with a damaged one, is an error (ErrInvalidOption) naming the fix.
func WithShortlist(on bool) Option {
	return func(t *Translator) error { t.useShortlist = on; return nil }
}

// loadShortlist parses m's shortlist blob for WithShortlist(true).
func (t *Translator) loadShortlist(m *modelfile.Model) error {
	blob, ok := m.Blobs[modelfile.BlobShortlist]
	if !ok {
		return fmt.Errorf("the model has no vocabulary shortlist: %w (build one with translate shortlist --model IN --src CORPUS.de --tgt CORPUS.en --out OUT, or translate without --shortlist)", ErrInvalidOption)
	}
	sl, err := shortlist.Parse(blob, m.Config.VocabSize)
	if err != nil {
		return fmt.Errorf("the model's vocabulary shortlist (blob %s): %w: %w", modelfile.BlobShortlist, ErrInvalidOption, err)
	}
	t.shortlist = sl
	return nil
}

// candidates returns the target ids the batch src is decoded over with
// the shortlist (ascending; nil without one: see WithShortlist), the union
// of its sentences' candidates, and for each sentence the positions in
// cand that are not its own candidates (masks[i] for src[i]), which the
// search never lets it choose.
func (t *Translator) candidates(src [][]int32) (cand []int32, masks [][]int32) {
	if t.shortlist == nil {
		return nil, nil
	}
	c := t.cfg
	always := []int32{int32(c.EOSID), int32(c.UnkID), int32(c.DecoderStartID)}
	cand = t.shortlist.Candidates(nil, src, always...)
	masks = make([][]int32, len(src))
	var own []int32
	for i, s := range src {
		own = t.shortlist.Candidates(own[:0], [][]int32{s}, always...)
		for j, id := range cand { // both ascending: a merge
			if len(own) > 0 && own[0] == id {
				own = own[1:]
				continue
			}
			masks[i] = append(masks[i], int32(j))
		}
	}
	return cand, masks
}

// search runs greedy or beam search, as sp says.
func search(ctx context.Context, st stepper, sp *searchSpec, maxLen []int) ([]Result, error) {
	if sp.beams == 1 {
		return greedySearch(ctx, st, sp, maxLen)
	}
	return beamSearch(ctx, st, sp, maxLen)
}

// errCandidates reports candidates that miss an id the search needs.
var errCandidates = errors.New("translate: the candidate ids miss the start or end id")

// searchCandidates runs the search of sp over the target ids cand only
// (ascending, holding sp.start and sp.eos), for a stepper whose logits
// rows hold the logits of cand (row value j: id cand[j]) and which is fed
// model ids. The search itself works on positions in cand — every rule
// (ties to the lower id, n-gram bans, bad words, forced eos) is the same
// there, as cand is ascending — and its results are mapped back to model
// ids. A bad word outside cand needs no ban: it cannot be chosen.
//
// masks[s] (nil: none) lists the positions that sentence s may not use:
// their logits become −∞ in its rows before the search sees them, as if
// they were not candidates, so a sentence is decoded over its own
// candidates whatever the rest of the batch brings (batched = alone).
func searchCandidates(ctx context.Context, st stepper, sp *searchSpec, maxLen []int, cand []int32, masks [][]int32) ([]Result, error) {
	local := *sp
	local.vocab = len(cand)
	start, okS := slices.BinarySearch(cand, sp.start)
	eos, okE := slices.BinarySearch(cand, sp.eos)
	if !okS || !okE {
		return nil, errCandidates
	}
	local.start, local.eos, local.badWords = int32(start), int32(eos), nil
	for _, b := range sp.badWords {
		if i, ok := slices.BinarySearch(cand, b); ok {
			local.badWords = append(local.badWords, int32(i))
		}
	}
	cs := &candidateStepper{st: st, cand: cand, masks: masks}
	if masks != nil {
		for s := range maxLen {
			for range sp.beams {
				cs.rowSent = append(cs.rowSent, s)
			}
		}
	}
	res, err := search(ctx, cs, &local, maxLen)
	toModel := func(ids []int32) []int32 {
		out := make([]int32, len(ids))
		for i, j := range ids {
			out[i] = cand[j]
		}
		return out
	}
	for i := range res { // IDs and NBest may share arrays: map into new ones
		res[i].IDs = toModel(res[i].IDs)
		for j := range res[i].NBest {
			res[i].NBest[j].IDs = toModel(res[i].NBest[j].IDs)
		}
	}
	return res, err
}

// candidateStepper feeds a stepper the model ids of the search's positions
// in cand, and sets the masked positions of each row's sentence to −∞.
type candidateStepper struct {
	st      stepper
	cand    []int32
	tokens  []int32
	masks   [][]int32 // per sentence; nil: none
	rowSent []int     // row → sentence, following Reorder
	next    []int
}

func (c *candidateStepper) Step(tokens []int32, logits []float32) {
	c.tokens = c.tokens[:0]
	for _, j := range tokens {
		c.tokens = append(c.tokens, c.cand[j])
	}
	c.st.Step(c.tokens, logits)
	if c.masks == nil {
		return
	}
	w := len(c.cand)
	for r := range tokens {
		row := logits[r*w : (r+1)*w]
		for _, j := range c.masks[c.rowSent[r]] {
			row[j] = negInf
		}
	}
}

func (c *candidateStepper) Reorder(parents []int) {
	if c.masks != nil {
		c.next = c.next[:0]
		for _, p := range parents {
			c.next = append(c.next, c.rowSent[p])
		}
		c.rowSent, c.next = c.next, c.rowSent
	}
	c.st.Reorder(parents)
}
