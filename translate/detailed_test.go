package translate

import (
	"context"
	"errors"
	"fmt"
	"io"
	"math"
	"slices"
	"strings"
	"sync/atomic"
	"testing"

	"github.com/deen-mt/deen/spans"
)

func TestZeroSearchOptionsMeanDefaults(t *testing.T) {
	tr := smallTranslator(t)
	src := randomSources(6, tr.cfg)
	ctx := context.Background()
	full := tr.SearchOptions()
	full.BeamSize = 4
	want, err := tr.TranslateIDs(ctx, src, full)
	if err != nil {
		t.Fatal(err)
	}
	got, err := tr.TranslateIDs(ctx, src, SearchOptions{BeamSize: 4})
	if err != nil {
		t.Fatalf("SearchOptions{BeamSize: 4}: %v", err)
	}
	sameResults(t, "zero fields", got, want)
	if _, err := tr.TranslateIDs(ctx, src, SearchOptions{}); err != nil {
		t.Fatalf("SearchOptions{}: %v", err)
	}

	// The rules of the fields that default to "on": negative NoRepeatNGram
	// and MaxLenRatio turn them off, an explicit MaxNewTokens replaces the guard.
	def := smallTranslator(t, WithNoRepeatNGram(2), WithLengthGuard(1, 1))
	for _, c := range []struct {
		name string
		in   SearchOptions
		want SearchOptions
	}{
		{"all zero", SearchOptions{}, def.opts},
		{"ngram off", SearchOptions{NoRepeatNGram: -1}, func() SearchOptions { o := def.opts; o.NoRepeatNGram = 0; return o }()},
		{"guard off", SearchOptions{MaxLenRatio: -1}, func() SearchOptions { o := def.opts; o.MaxLenRatio, o.MaxLenExtra = 0, 0; return o }()},
		{"explicit limit", SearchOptions{MaxNewTokens: 12}, func() SearchOptions {
			o := def.opts
			o.MaxNewTokens, o.MaxLenRatio, o.MaxLenExtra = 12, 0, 0
			return o
		}()},
		{"copy of the defaults", def.SearchOptions(), def.opts},
	} {
		if got := def.resolve(c.in); got != c.want {
			t.Errorf("%s: resolve(%+v) = %+v, want %+v", c.name, c.in, got, c.want)
		}
	}
}

func TestTranslateDetailed(t *testing.T) {
	tr, want := refTranslator(t)
	refs, _ := loadOracle(t)
	k := pick(want, 3)
	text := "  " + refs.Sentences[k[0]].SourceText + " " + refs.Sentences[k[1]].SourceText + "\n\n" + refs.Sentences[k[2]].SourceText + "\n"
	ctx := context.Background()
	plain, err := tr.Translate(ctx, text)
	if err != nil {
		t.Fatal(err)
	}
	d, err := tr.TranslateDetailed(ctx, text, Alternatives(4))
	if err != nil {
		t.Fatal(err)
	}
	if d.Text != plain {
		t.Fatalf("detailed text %q, plain %q", d.Text, plain)
	}
	if len(d.Sentences) != 3 {
		t.Fatalf("%d sentences, want 3", len(d.Sentences))
	}
	for i, s := range d.Sentences {
		ref := refs.Sentences[k[i]]
		if s.Source != ref.SourceText || s.Text != want[k[i]] {
			t.Errorf("sentence %d: %q → %q, want %q → %q", i, s.Source, s.Text, ref.SourceText, want[k[i]])
		}
		if w := refGenerated(ref.Beam4.IDs, int32(tr.cfg.EOSID)); !slices.Equal(s.IDs, w) {
			t.Errorf("sentence %d: ids %v, want %v", i, s.IDs, w)
		}
		checkScore(t, "sentence", s.Score, ref.Beam4.Score)
		if len(s.Alternatives) != 4 || s.Alternatives[0].Text != s.Text || !slices.Equal(s.Alternatives[0].IDs, s.IDs) {
			t.Fatalf("sentence %d: alternatives %+v, want 4 starting with the translation", i, s.Alternatives)
		}
		for j, a := range s.Alternatives {
			checkScore(t, "alternative", a.Score, ref.Beam4.NBest[j].Score)
		}
	}
	if d.Alternative(0) != d.Text || d.Alternative(1) == d.Text || strings.Count(d.Alternative(3), "\n") != 3 {
		t.Errorf("Alternative(0..3): %q, %q, %q", d.Alternative(0), d.Alternative(1), d.Alternative(3))
	}

	// Per-call search options: greedy for this call only.
	g, err := tr.TranslateDetailed(ctx, text, Search(SearchOptions{BeamSize: 1}), Alternatives(1))
	if err != nil {
		t.Fatal(err)
	}
	for i, s := range g.Sentences {
		ref := refs.Sentences[k[i]]
		if w := refGenerated(ref.Greedy.IDs, int32(tr.cfg.EOSID)); ref.Greedy.MinTop2Margin >= nearTie && !slices.Equal(s.IDs, w) {
			t.Errorf("greedy sentence %d: ids %v, want %v", i, s.IDs, w)
		}
	}
	if plain2, err := tr.Translate(ctx, text); err != nil || plain2 != plain {
		t.Fatalf("defaults changed by a call's options: %q, %v", plain2, err)
	}
	for name, opts := range map[string][]CallOption{
		"more alternatives than beams": {Alternatives(5)},
		"negative alternatives":        {Alternatives(-1)},
		"beam too large":               {Search(SearchOptions{BeamSize: MaxBeamSize + 1})},
	} {
		if _, err := tr.TranslateDetailed(ctx, text, opts...); !errors.Is(err, ErrInvalidOption) {
			t.Errorf("%s: %v, want ErrInvalidOption", name, err)
		}
	}
}

func TestDetailedLongSentencePieces(t *testing.T) {
	tr, _ := refTranslator(t)
	long := strings.TrimSpace(strings.Repeat("Der kleine Hund spielt im Garten, und die Katze schläft ", 40)) + "."
	ctx := context.Background()
	d, err := tr.TranslateDetailed(ctx, long, Alternatives(2))
	if err != nil {
		t.Fatal(err)
	}
	if len(d.Sentences) != 1 || len(d.Sentences[0].Pieces) < 2 {
		t.Fatalf("want one sentence in pieces, got %+v", d.Sentences)
	}
	s := d.Sentences[0]
	var texts, alt1 []string
	var ids []int32
	for _, p := range s.Pieces {
		texts = append(texts, p.Text)
		alt1 = append(alt1, p.Alternatives[1].Text)
		ids = append(ids, p.IDs...)
		r, err := tr.TranslateIDs(ctx, [][]int32{mustEncode(t, tr, p.Source)}, SearchOptions{})
		if err != nil {
			t.Fatal(err)
		}
		if !slices.Equal(r[0].IDs, p.IDs) {
			t.Fatalf("piece %q: ids %v, alone %v", p.Source, p.IDs, r[0].IDs)
		}
	}
	if s.Source != long || s.Text != strings.Join(texts, " ") || d.Text != s.Text || !slices.Equal(s.IDs, ids) {
		t.Fatalf("joined pieces: %q / %q, ids %v", s.Text, d.Text, s.IDs)
	}
	if s.Alternatives[1].Text != strings.Join(alt1, " ") {
		t.Fatalf("alternative 1: %q, want the pieces' %q", s.Alternatives[1].Text, alt1)
	}
}

// nilContext is a nil context.Context, as a caller who forgot one passes.
var nilContext context.Context

func TestNilContextIsAnError(t *testing.T) {
	tr, _ := refTranslator(t)
	calls := map[string]func() error{
		"Translate":              func() error { _, err := tr.Translate(nilContext, "Hallo."); return err },
		"TranslateBatch":         func() error { _, err := tr.TranslateBatch(nilContext, []string{"Hallo."}); return err },
		"TranslateDetailed":      func() error { _, err := tr.TranslateDetailed(nilContext, "Hallo."); return err },
		"TranslateBatchDetailed": func() error { _, err := tr.TranslateBatchDetailed(nilContext, []string{"Hallo."}); return err },
		"TranslateIDs":           func() error { _, err := tr.TranslateIDs(nilContext, [][]int32{{5, 0}}, SearchOptions{}); return err },
		"TranslateStream": func() error {
			return tr.TranslateStream(nilContext, strings.NewReader("Hallo.\n"), io.Discard)
		},
		"TranslateStream nil reader": func() error { return tr.TranslateStream(context.Background(), nil, io.Discard) },
		"TranslateStream nil writer": func() error {
			return tr.TranslateStream(context.Background(), strings.NewReader("Hallo.\n"), nil)
		},
	}
	for name, call := range calls {
		func() {
			defer func() {
				if p := recover(); p != nil {
					t.Errorf("%s: panic %v", name, p)
				}
			}()
			if err := call(); !errors.Is(err, ErrInvalidInput) {
				t.Errorf("%s: %v, want ErrInvalidInput", name, err)
			}
		}()
	}
}

// stopAfter is a context that reports context.Canceled from its n-th Err
// call on: the search polls Err once per decoder step, so a batch stops
// at a fixed point.
type stopAfter struct {
	context.Context
	n atomic.Int64
}

func (c *stopAfter) Err() error {
	if c.n.Add(-1) < 0 {
		return context.Canceled
	}
	return nil
}

func TestCancelledBatchReturnsTheDoneTexts(t *testing.T) {
	tr, want := refTranslator(t)
	refs, _ := loadOracle(t)
	k := pick(want, 6)
	var texts []string
	for _, i := range k {
		texts = append(texts, refs.Sentences[i].SourceText)
	}
	whole, err := tr.TranslateBatch(context.Background(), texts, Search(SearchOptions{BeamSize: 1}))
	if err != nil {
		t.Fatal(err)
	}
	// One sentence per decoded batch; count the polls of a whole run, then
	// stop halfway.
	one := smallBatches(t, tr)
	count := &stopAfter{Context: context.Background()}
	count.n.Store(1 << 40)
	if _, err := one.TranslateBatch(count, texts, Search(SearchOptions{BeamSize: 1})); err != nil {
		t.Fatal(err)
	}
	ctx := &stopAfter{Context: context.Background()}
	ctx.n.Store((1<<40 - count.n.Load()) / 2)
	got, err := one.TranslateBatch(ctx, texts, Search(SearchOptions{BeamSize: 1}))
	if !errors.Is(err, context.Canceled) {
		t.Fatalf("cancelled batch: %v, want context.Canceled", err)
	}
	if len(got) != len(texts) {
		t.Fatalf("cancelled batch: %d results for %d texts", len(got), len(texts))
	}
	done := 0
	for i, g := range got {
		if g != "" {
			done++
			if g != whole[i] {
				t.Errorf("text %d: %q, want %q", i, g, whole[i])
			}
		}
	}
	if done == 0 || done == len(texts) {
		t.Fatalf("%d of %d texts done; want some but not all", done, len(texts))
	}
	d, err := one.TranslateBatchDetailed(&stopAfter{Context: context.Background()}, texts)
	if !errors.Is(err, context.Canceled) || len(d) != len(texts) || slices.ContainsFunc(d, func(x *Translation) bool { return x != nil }) {
		t.Fatalf("batch cancelled at once: %v, %v; want all nil", d, err)
	}
}

// smallBatches is tr's model decoding one sentence at a time, without a
// sentence cache (which would answer the second run without decoding).
func smallBatches(t *testing.T, tr *Translator) *Translator {
	t.Helper()
	one := *tr
	one.batchSize, one.cache = 1, nil
	return &one
}

func TestStreamWriteErrorNamesTheLine(t *testing.T) {
	tr, _ := refTranslator(t)
	pipeClosed := errors.New("pipe closed")
	in := strings.Repeat("Hallo.\n", 70) // the second batch starts at line 65
	var n int
	w := writerFunc(func(p []byte) (int, error) {
		if n++; n == 2 {
			return 0, pipeClosed
		}
		return len(p), nil
	})
	err := tr.TranslateStream(context.Background(), strings.NewReader(in), w)
	if !errors.Is(err, pipeClosed) || !strings.Contains(err.Error(), "writing line 65: pipe closed") {
		t.Fatalf("write error: %v, want it to say writing line 65: pipe closed", err)
	}
}

// writerFunc is an io.Writer made of a function.
type writerFunc func(p []byte) (int, error)

func (f writerFunc) Write(p []byte) (int, error) { return f(p) }

// checkAlignment fails unless a is a well-formed alignment of source to
// text: one source range per source token and the end token, target ranges
// in order covering text, every row of weights summing to about 1.
func checkAlignment(t *testing.T, tr *Translator, name string, a *spans.Alignment, source, text string, ids int) {
	t.Helper()
	if a == nil {
		t.Fatalf("%s: no alignment", name)
	}
	if toks := tr.tok.Source.Encode(source); len(a.Src) != len(toks)+1 {
		t.Fatalf("%s: %d source ranges for %d tokens and the end", name, len(a.Src), len(toks))
	}
	if ids > 0 && len(a.Tgt) != ids {
		t.Fatalf("%s: %d target ranges for %d ids", name, len(a.Tgt), ids)
	}
	if len(a.Weights) != len(a.Src)*len(a.Tgt) {
		t.Fatalf("%s: %d weights for %d×%d", name, len(a.Weights), len(a.Tgt), len(a.Src))
	}
	for _, r := range a.Src {
		if r.Start < 0 || r.End < r.Start || r.End > len(source) {
			t.Fatalf("%s: source range %+v outside %q", name, r, source)
		}
	}
	prev := 0
	for _, r := range a.Tgt {
		if r.Start != prev || r.End < r.Start || r.End > len(text) {
			t.Fatalf("%s: target ranges %+v do not tile %q", name, a.Tgt, text)
		}
		prev = r.End
	}
	if prev != len(text) {
		t.Errorf("%s: target ranges end at %d of %d bytes (%q)", name, prev, len(text), text)
	}
	for j := range a.Tgt {
		var sum float64
		for _, w := range a.Weights[j*len(a.Src) : (j+1)*len(a.Src)] {
			if w < 0 {
				t.Fatalf("%s: negative weight in row %d", name, j)
			}
			sum += float64(w)
		}
		if math.Abs(sum-1) > 1e-3 {
			t.Errorf("%s: row %d sums to %g", name, j, sum)
		}
	}
}

func TestAlignmentsOption(t *testing.T) {
	tr, want := refTranslator(t)
	refs, _ := loadOracle(t)
	k := pick(want, 2)
	long := strings.TrimSpace(strings.Repeat("Der kleine Hund spielt im Garten, und die Katze schläft ", 40)) + "."
	text := refs.Sentences[k[0]].SourceText + " " + refs.Sentences[k[1]].SourceText + "\n" + long
	ctx := context.Background()
	plain, err := tr.TranslateDetailed(ctx, text)
	if err != nil {
		t.Fatal(err)
	}
	d, err := tr.TranslateDetailed(ctx, text, Alignments(true))
	if err != nil {
		t.Fatal(err)
	}
	if d.Text != plain.Text || len(d.Sentences) != 3 || len(plain.Sentences) != 3 {
		t.Fatalf("with alignments %q (%d sentences), without %q (%d)", d.Text, len(d.Sentences), plain.Text, len(plain.Sentences))
	}
	for i := range 2 {
		s, p := d.Sentences[i], plain.Sentences[i]
		if s.Text != p.Text || !slices.Equal(s.IDs, p.IDs) || s.Score != p.Score || s.Confidence != p.Confidence {
			t.Errorf("sentence %d changed by Alignments: %q, want %q", i, s.Text, p.Text)
		}
		if len(p.Repaired) == 0 && p.Alignment != nil {
			t.Errorf("sentence %d: aligned by default without a repair", i)
		}
		checkAlignment(t, tr, fmt.Sprintf("sentence %d", i), s.Alignment, s.Source, s.Text, len(s.IDs))
	}
	s := d.Sentences[2]
	if len(s.Pieces) < 2 || s.Alignment != nil {
		t.Fatalf("long sentence: %d pieces, alignment %v; want pieces aligned one by one", len(s.Pieces), s.Alignment)
	}
	for i, p := range s.Pieces {
		checkAlignment(t, tr, fmt.Sprintf("piece %d", i), p.Alignment, p.Source, p.Text, len(p.IDs))
	}
	off, err := tr.TranslateDetailed(ctx, text, Alignments(true), Alignments(false))
	if err != nil {
		t.Fatal(err)
	}
	if o := off.Sentences[2].Pieces[0]; o.Alignment != nil {
		t.Errorf("Alignments(false) after true: piece aligned")
	}
}

// A repaired sentence is aligned to its repaired text.
func TestAlignmentsOfRepairedText(t *testing.T) {
	_, m := loadOracle(t)
	tr, err := newTranslator(m, WithBeamSize(1), WithMaxNewTokens(12))
	if err != nil {
		t.Fatal(err)
	}
	const src = "Der Termin ist am 12.05.2026 um 14:30 Uhr."
	ctx := context.Background()
	d, err := tr.TranslateDetailed(ctx, src, Alignments(true))
	if err != nil {
		t.Fatal(err)
	}
	plain, err := tr.Translate(ctx, src)
	if err != nil {
		t.Fatal(err)
	}
	s := d.Sentences[0]
	if len(s.Repaired) == 0 || d.Text != plain {
		t.Fatalf("random model: repairs %v, text %q (plain %q); want a repair and the same text", s.Repaired, d.Text, plain)
	}
	checkAlignment(t, tr, "repaired", s.Alignment, s.Source, s.Text, 0)
}
