package translate

import (
	"context"
	"errors"
	"math"
	"path/filepath"
	"slices"
	"testing"

	"github.com/deen-mt/deen/gpt"
	"github.com/deen-mt/deen/modelfile"
)

// writeLM writes a random language model over the vocabulary of m (its
// ids and tokenizer) to a temporary file; vocab overrides the size (a
// mismatched model) when not 0.
func writeLM(t *testing.T, m *modelfile.Model, vocab int) string {
	t.Helper()
	c := m.Config
	lc := gpt.NewConfig(c.VocabSize, 16, 1, 2, 64, false)
	if vocab != 0 {
		lc = gpt.NewConfig(vocab, 16, 1, 2, 64, false)
	} else {
		lc.EOSID, lc.UnkID, lc.PadID, lc.DecoderStartID = c.EOSID, c.UnkID, c.PadID, c.DecoderStartID
		lc.Generation.BadWordsIDs = []int{c.PadID}
	}
	lm, err := gpt.NewRandom(lc, 3, m.Blobs)
	if err != nil {
		t.Fatal(err)
	}
	for _, tn := range lm.Tensors { // far from the init scale: a language model with opinions
		for i := range tn.Data {
			tn.Data[i] *= 40
		}
	}
	path := filepath.Join(t.TempDir(), "lm.deen")
	if err := modelfile.WriteFile(path, lm, modelfile.WriteOptions{}); err != nil {
		t.Fatal(err)
	}
	return path
}

// TestRerankLM checks n-best reranking: weight 0 changes nothing; with a
// weight, the n-best list holds the same hypotheses with the same
// translation scores, ordered by Score + W·LM where LM is the language
// model's log-probability per predicted token (recomputed here), and the
// result is the first; a model of another vocabulary is refused.
func TestRerankLM(t *testing.T) {
	refs, m := loadOracle(t)
	path := writeLM(t, m, 0)
	o := parityOptions(refs, 4, 1)
	var src [][]int32
	for _, c := range refs.Sentences {
		src = append(src, c.InputIDs)
	}
	ctx := context.Background()
	plain, _ := parityTranslator(t)
	want, err := plain.TranslateIDs(ctx, src, o)
	if err != nil {
		t.Fatal(err)
	}
	off, _ := parityTranslator(t, WithRerankLM(path, 0))
	got, err := off.TranslateIDs(ctx, src, o)
	if err != nil || !slices.EqualFunc(got, want, func(a, b Result) bool { return slices.Equal(a.IDs, b.IDs) && a.Score == b.Score }) {
		t.Fatalf("weight 0 changed the results (err %v)", err)
	}
	mf, err := modelfile.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	lm, err := gpt.New(mf)
	if err != nil {
		t.Fatal(err)
	}
	const w = 2
	on, _ := parityTranslator(t, WithRerankLM(path, w))
	got, err = on.TranslateIDs(ctx, src, o)
	if err != nil {
		t.Fatal(err)
	}
	changed := 0
	for i := range got {
		nb := got[i].NBest
		if len(nb) != len(want[i].NBest) {
			t.Fatalf("sentence %d: %d hypotheses reranked, %d found", i, len(nb), len(want[i].NBest))
		}
		for j, h := range nb {
			k := slices.IndexFunc(want[i].NBest, func(x Hypothesis) bool { return slices.Equal(x.IDs, h.IDs) })
			if k < 0 || want[i].NBest[k].Score != h.Score {
				t.Fatalf("sentence %d: reranked hypothesis %d (%v) is not one of the search's", i, j, h.IDs)
			}
			ids := h.IDs[:len(h.IDs)-1] // without the end id
			var sc gpt.Scratch
			lp, err := lm.Score([][]int32{ids}, &sc)
			if err != nil {
				t.Fatal(err)
			}
			if norm := lp[0] / float64(len(h.IDs)); math.Abs(norm-float64(h.LM)) > 1e-4*math.Abs(norm) {
				t.Errorf("sentence %d hypothesis %d: LM %g, recomputed %g", i, j, h.LM, norm)
			}
			if j > 0 && nb[j-1].Score+w*nb[j-1].LM < h.Score+w*h.LM {
				t.Errorf("sentence %d: hypotheses %d and %d out of order", i, j-1, j)
			}
		}
		if !slices.Equal(got[i].IDs, nb[0].IDs) || got[i].Score != nb[0].Score {
			t.Errorf("sentence %d: result is not the reranked first hypothesis", i)
		}
		if !slices.Equal(got[i].IDs, want[i].IDs) {
			changed++
		}
	}
	if changed == 0 {
		t.Errorf("reranking with weight %d changed none of %d sentences; the test shows nothing", w, len(got))
	}
	t.Logf("reranking changed %d of %d translations", changed, len(got))
	d, err := on.TranslateDetailed(ctx, refs.Sentences[0].SourceText, Search(o), Alternatives(2))
	if err != nil {
		t.Fatal(err)
	}
	if a := d.Sentences[0].Alternatives; len(a) != 2 || a[0].LM == 0 || a[0].Text != d.Sentences[0].Text {
		t.Errorf("detailed alternatives with reranking: %+v", a)
	}
	if _, err := newTranslator(m, WithRerankLM(writeLM(t, m, 100), 1)); !errors.Is(err, ErrInvalidOption) {
		t.Errorf("a language model of another vocabulary: err %v, want ErrInvalidOption", err)
	}
}
