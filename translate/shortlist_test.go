package translate

import (
	"context"
	"errors"
	"maps"
	"path/filepath"
	"reflect"
	"slices"
	"strings"
	"testing"

	"github.com/deen-mt/deen/modelfile"
	"github.com/deen-mt/deen/shortlist"
)

// gatherStepper is a stepper restricted to the ids cand, as the decoder is
// by State.Shortlist: it runs the full fake model and keeps cand's logits.
type gatherStepper struct {
	m    *fakeModel
	cand []int32
	full []float32
}

func (g *gatherStepper) Step(tokens []int32, logits []float32) {
	v, w := g.m.vocab, len(g.cand)
	g.full = make([]float32, len(tokens)*v)
	g.m.Step(tokens, g.full)
	for r := range tokens {
		for j, id := range g.cand {
			logits[r*w+j] = g.full[r*v+int(id)]
		}
	}
}

func (g *gatherStepper) Reorder(parents []int) { g.m.Reorder(parents) }

// searchFake runs sp on the hash model for the sentences of maxLen, over
// the ids cand (nil: the full vocabulary).
func searchFake(t *testing.T, sp *searchSpec, maxLen []int, cand []int32) []Result {
	t.Helper()
	m := newFake(t, sp.vocab, rowSentences(len(maxLen), sp.beams), hashLogits)
	var res []Result
	var err error
	if cand == nil {
		res, err = search(context.Background(), m, sp, maxLen)
	} else {
		res, err = searchCandidates(context.Background(), &gatherStepper{m: m, cand: cand}, sp, maxLen, cand, nil)
	}
	if err != nil {
		t.Fatal(err)
	}
	return res
}

func shortlistSpec(beams int) *searchSpec {
	return &searchSpec{vocab: 200, start: 7, eos: 3, badWords: []int32{7, 150}, forcedEOS: true, beams: beams, lengthPenalty: 1, noRepeatNGram: 2}
}

// Over every id the candidate search is the search: same ids, scores and
// n-best lists, bit for bit.
func TestSearchCandidatesAllIDs(t *testing.T) {
	maxLen := []int{12, 9, 15, 6}
	for _, beams := range []int{1, 3} {
		sp := shortlistSpec(beams)
		all := make([]int32, sp.vocab)
		for i := range all {
			all[i] = int32(i)
		}
		if got, want := searchFake(t, sp, maxLen, all), searchFake(t, sp, maxLen, nil); !reflect.DeepEqual(got, want) {
			t.Fatalf("beams %d: over every id %+v, want %+v", beams, got, want)
		}
	}
}

// Leaving ids out of the candidates changes greedy output exactly as
// banning them does (the arg max does not depend on the normaliser); beam
// output never holds them, and ends with the end id.
func TestSearchCandidatesExcluded(t *testing.T) {
	maxLen := []int{12, 9, 15, 6}
	sp := shortlistSpec(1)
	full := searchFake(t, sp, maxLen, nil)
	out := map[int32]bool{}
	for _, r := range full {
		for _, id := range r.IDs[:len(r.IDs)/2] { // some ids each translation used
			if id != sp.eos {
				out[id] = true
			}
		}
	}
	var cand []int32
	for id := range int32(sp.vocab) {
		if !out[id] {
			cand = append(cand, id)
		}
	}
	banned := *sp
	banned.badWords = append(slices.Clone(sp.badWords), slices.Collect(maps.Keys(out))...)
	got, want := searchFake(t, sp, maxLen, cand), searchFake(t, &banned, maxLen, nil)
	for i := range got {
		if !slices.Equal(got[i].IDs, want[i].IDs) {
			t.Fatalf("sentence %d: without %v: %v, want %v (the full search with them banned; unbanned %v)", i, slices.Sorted(maps.Keys(out)), got[i].IDs, want[i].IDs, full[i].IDs)
		}
		if slices.Equal(got[i].IDs, full[i].IDs) {
			t.Errorf("sentence %d: leaving out ids it used changed nothing: %v", i, got[i].IDs)
		}
	}
	for _, r := range searchFake(t, shortlistSpec(3), maxLen, cand) {
		for _, h := range r.NBest {
			if slices.ContainsFunc(h.IDs, func(id int32) bool { return out[id] }) || h.IDs[len(h.IDs)-1] != sp.eos {
				t.Fatalf("beam hypothesis %v holds a left-out id of %v or does not end with %d", h.IDs, out, sp.eos)
			}
		}
	}
	if _, err := searchCandidates(context.Background(), nil, sp, maxLen, []int32{1, 2}, nil); !errors.Is(err, errCandidates) {
		t.Fatalf("candidates without start and end: %v", err)
	}
}

// withBlob returns m with the blob name set to b (nil: none).
func withBlob(m *modelfile.Model, name string, b []byte) *modelfile.Model {
	c := *m
	c.Blobs = maps.Clone(m.Blobs)
	if c.Blobs == nil {
		c.Blobs = map[string][]byte{}
	}
	delete(c.Blobs, name)
	if b != nil {
		c.Blobs[name] = b
	}
	return &c
}

// blobOf is the shortlist blob of frequent ids and per-source candidates.
func blobOf(t testing.TB, vocab int, frequent []int32, per map[int32][]int32) []byte {
	t.Helper()
	sl, err := shortlist.New(vocab, frequent, per)
	if err != nil {
		t.Fatal(err)
	}
	b, err := sl.MarshalBinary()
	if err != nil {
		t.Fatal(err)
	}
	return b
}

// The shortlist through the translator: over every id it changes nothing;
// a tiny one still ends every translation with the end id and uses only
// its candidates; it survives the model file; missing or damaged blobs are
// errors naming the fix.
func TestTranslatorShortlist(t *testing.T) {
	cfg := smallConfig()
	m, err := randomWeights(cfg, false)
	if err != nil {
		t.Fatal(err)
	}
	ctx := context.Background()
	src := randomSources(9, cfg)
	translateWith := func(m *modelfile.Model, beams int, opts ...Option) []Result {
		t.Helper()
		tr, err := newTranslator(m, append([]Option{WithBatchSize(4), WithSentenceCache(0)}, opts...)...)
		if err != nil {
			t.Fatal(err)
		}
		res, err := tr.TranslateIDs(ctx, src, SearchOptions{BeamSize: beams})
		if err != nil {
			t.Fatal(err)
		}
		return res
	}
	all := make([]int32, cfg.VocabSize)
	for i := range all {
		all[i] = int32(len(all) - 1 - i)
	}
	full := withBlob(m, modelfile.BlobShortlist, blobOf(t, cfg.VocabSize, all, nil))
	tiny := withBlob(m, modelfile.BlobShortlist, blobOf(t, cfg.VocabSize, []int32{5, 6}, map[int32][]int32{10: {11, 12}}))
	for _, beams := range []int{1, 3} {
		for _, w := range []string{"f32", "int8"} {
			off := translateWith(m, beams, WithWeightPrecision(w))
			if got := translateWith(full, beams, WithShortlist(true), WithWeightPrecision(w)); !reflect.DeepEqual(got, off) {
				t.Fatalf("beams %d, %s: shortlist of every id %+v, without %+v", beams, w, got, off)
			}
		}
		// Each sentence of a batch keeps to its own candidates.
		for i, r := range translateWith(tiny, beams, WithShortlist(true)) {
			allowed := append([]int32{0, 1, 96, 5, 6}, src[i]...)
			if slices.Contains(src[i], 10) {
				allowed = append(allowed, 11, 12)
			}
			for _, h := range r.NBest {
				if h.IDs[len(h.IDs)-1] != int32(cfg.EOSID) || slices.ContainsFunc(h.IDs, func(id int32) bool { return !slices.Contains(allowed, id) }) {
					t.Fatalf("beams %d sentence %d: %v does not end with the end id or leaves the candidates %v", beams, i, h.IDs, allowed)
				}
			}
		}
	}

	path := filepath.Join(t.TempDir(), "tiny.deen")
	if err := modelfile.WriteFile(path, tiny, modelfile.WriteOptions{}); err != nil {
		t.Fatal(err)
	}
	tr, err := Load(path, WithShortlist(true), WithBatchSize(4))
	if err != nil {
		t.Fatal(err)
	}
	if !tr.Model().Shortlist {
		t.Fatal("Model().Shortlist is false with WithShortlist(true)")
	}
	got, err := tr.TranslateIDs(ctx, src, SearchOptions{BeamSize: 3})
	if err != nil {
		t.Fatal(err)
	}
	if want := translateWith(tiny, 3, WithShortlist(true)); !reflect.DeepEqual(got, want) {
		t.Fatalf("loaded from a file: %+v, in memory %+v", got, want)
	}

	// Files of every storage type, kept at their precision in memory, at
	// every product precision: a shortlist of every id changes nothing.
	for _, dt := range []modelfile.DType{modelfile.F32, modelfile.F16, modelfile.Int8} {
		path := filepath.Join(t.TempDir(), dt.String()+".deen")
		if err := modelfile.WriteFile(path, full, modelfile.WriteOptions{DType: dt}); err != nil {
			t.Fatal(err)
		}
		for _, w := range []string{"auto", "f32", "f16", "int8"} {
			var res [2][]Result
			for i, on := range []bool{false, true} {
				tr, err := Load(path, WithShortlist(on), WithWeightPrecision(w), WithBatchSize(4))
				if err != nil {
					t.Fatal(err)
				}
				if res[i], err = tr.TranslateIDs(ctx, src, SearchOptions{BeamSize: 2}); err != nil {
					t.Fatal(err)
				}
			}
			if !reflect.DeepEqual(res[1], res[0]) {
				t.Fatalf("%s file, %s weights: shortlist of every id %+v, without %+v", dt, w, res[1], res[0])
			}
		}
	}

	damaged := tiny.Blobs[modelfile.BlobShortlist]
	damaged = damaged[:len(damaged)-1]
	for name, tc := range map[string]struct {
		m    *modelfile.Model
		want string
	}{
		"none":             {m, "has no vocabulary shortlist"},
		"damaged":          {withBlob(m, modelfile.BlobShortlist, damaged), "rebuild the shortlist with translate shortlist"},
		"other vocabulary": {withBlob(m, modelfile.BlobShortlist, blobOf(t, cfg.VocabSize+1, nil, nil)), "rebuild it for this model"},
	} {
		_, err := newTranslator(tc.m, WithShortlist(true))
		if !errors.Is(err, ErrInvalidOption) || !strings.Contains(err.Error(), tc.want) || !strings.Contains(err.Error(), "translate shortlist") {
			t.Errorf("%s: error %v, want ErrInvalidOption naming %q and translate shortlist", name, err, tc.want)
		}
		if _, err := newTranslator(tc.m); err != nil {
			t.Errorf("%s: without WithShortlist: %v", name, err)
		}
	}
}

// The embedded model carries a shortlist that WithShortlist(true) uses;
// without the option the translator decodes over every id.
func TestDefaultShortlist(t *testing.T) {
	for _, on := range []bool{false, true} {
		tr, err := Default(WithShortlist(on))
		if errors.Is(err, ErrNoDefaultModel) {
			t.Skip("no default model embedded")
		}
		if err != nil {
			t.Fatal(err)
		}
		if tr.Model().Shortlist != on {
			t.Fatalf("WithShortlist(%v): Model().Shortlist = %v", on, tr.Model().Shortlist)
		}
		if out, err := tr.Translate(context.Background(), "Der Hund spielt im Garten."); err != nil || out == "" {
			t.Fatalf("WithShortlist(%v): %q, %v", on, out, err)
		}
	}
}

// With a shortlist a sentence is decoded over its own candidates, whatever
// the other sentences of its batch bring: batched equals alone.
func TestShortlistBatchedEqualsAlone(t *testing.T) {
	cfg := smallConfig()
	m, err := randomWeights(cfg, false)
	if err != nil {
		t.Fatal(err)
	}
	m = withBlob(m, modelfile.BlobShortlist, blobOf(t, cfg.VocabSize, []int32{5, 6}, map[int32][]int32{10: {11, 12}, 20: {21}, 30: {31, 32, 33}}))
	for _, w := range []string{"f32", "int8"} {
		tr, err := newTranslator(m, WithShortlist(true), WithBatchSize(5), WithSentenceCache(0), WithWeightPrecision(w))
		if err != nil {
			t.Fatal(err)
		}
		batchedEqualsAlone(t, tr)
	}
}
