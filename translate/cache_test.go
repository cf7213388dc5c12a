package translate

import (
	"context"
	"errors"
	"fmt"
	"math"
	"reflect"
	"sync"
	"testing"
)

// withRepeats returns src with sentences repeated: 3·len(src) sentences,
// each distinct one three times in a scattered order.
func withRepeats(src [][]int32) [][]int32 {
	var out [][]int32
	for r := range 3 {
		for i := range src {
			out = append(out, src[(i*3+r*2)%len(src)])
		}
	}
	return out
}

func TestSentenceCacheGivesTheSameResults(t *testing.T) {
	cached := smallTranslator(t)
	plain := smallTranslator(t, WithSentenceCache(0))
	src := withRepeats(randomSources(7, cached.cfg))
	ctx := context.Background()
	for _, o := range []SearchOptions{{}, {BeamSize: 1}, {BeamSize: 2, NoRepeatNGram: 2}} {
		want, err := plain.TranslateIDs(ctx, src, o)
		if err != nil {
			t.Fatal(err)
		}
		before := cached.cache.puts
		got, err := cached.TranslateIDs(ctx, src, o)
		if err != nil {
			t.Fatal(err)
		}
		if !reflect.DeepEqual(got, want) {
			t.Fatalf("%+v: cached results differ from uncached ones", o)
		}
		if n := cached.cache.puts - before; n != 7 {
			t.Fatalf("%+v: %d sentences decoded for 7 distinct ones", o, n)
		}
		// Again: every sentence from the cache, nothing decoded.
		hits := cached.cache.hits
		again, err := cached.TranslateIDs(ctx, src, o)
		if err != nil {
			t.Fatal(err)
		}
		if !reflect.DeepEqual(again, want) || cached.cache.hits-hits != 7 || cached.cache.puts != before+7 {
			t.Fatalf("%+v: second call: %d hits, %d decoded; same results %v", o, cached.cache.hits-hits, cached.cache.puts-before-7, reflect.DeepEqual(again, want))
		}
	}
	// Callers may change what they get: the cache holds its own copy.
	res, err := cached.TranslateIDs(ctx, src[:1], SearchOptions{})
	if err != nil {
		t.Fatal(err)
	}
	want := cloneResult(res[0])
	res[0].IDs[0], res[0].NBest[0].IDs[0] = -7, -7
	again, err := cached.TranslateIDs(ctx, src[:1], SearchOptions{})
	if err != nil || !reflect.DeepEqual(again[0], want) {
		t.Fatalf("after changing a result: %+v, %v; want %+v", again[0], err, want)
	}
}

func TestSentenceCacheTextEqualsUncached(t *testing.T) {
	tr, want := refTranslator(t)
	refs, _ := loadOracle(t)
	k := pick(want, 3)
	s := func(i int) string { return refs.Sentences[k[i]].SourceText }
	texts := []string{s(0) + " " + s(1), s(1), "", s(2) + " " + s(0) + "\n" + s(1), s(0)}
	plain := *tr
	plain.cache = nil
	ctx := context.Background()
	for _, opts := range [][]CallOption{nil, {Alternatives(2)}, {Search(SearchOptions{BeamSize: 2})}} {
		wantOut, err := plain.TranslateBatchDetailed(ctx, texts, opts...)
		if err != nil {
			t.Fatal(err)
		}
		for round := range 2 { // the second round answers from the LRU
			got, err := tr.TranslateBatchDetailed(ctx, texts, opts...)
			if err != nil {
				t.Fatal(err)
			}
			sameTranslations(t, fmt.Sprintf("round %d", round), got, wantOut)
		}
	}
}

func TestSentenceCacheIsBounded(t *testing.T) {
	tr := smallTranslator(t, WithSentenceCache(3))
	src := randomSources(5, tr.cfg)
	if _, err := tr.TranslateIDs(context.Background(), src, SearchOptions{BeamSize: 1}); err != nil {
		t.Fatal(err)
	}
	if n := tr.cache.order.Len(); n != 3 || len(tr.cache.byKey) != 3 {
		t.Fatalf("cache of 3 holds %d entries (%d keys)", n, len(tr.cache.byKey))
	}
	// The most recent sentences stay: the last decoded are the longest.
	hits := tr.cache.hits
	if _, err := tr.TranslateIDs(context.Background(), src, SearchOptions{BeamSize: 1}); err != nil {
		t.Fatal(err)
	}
	if tr.cache.hits-hits != 3 {
		t.Fatalf("%d hits on a full cache of 3, want 3", tr.cache.hits-hits)
	}
	m, err := randomWeights(smallConfig(), false)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := newTranslator(m, WithSentenceCache(-1)); !errors.Is(err, ErrInvalidOption) {
		t.Fatalf("WithSentenceCache(-1): %v, want ErrInvalidOption", err)
	}
}

// TestSentenceCacheConcurrent runs overlapping calls from several
// goroutines on one translator (go test -race ./translate -run Cache).
func TestSentenceCacheConcurrent(t *testing.T) {
	tr := smallTranslator(t, WithSentenceCache(16), WithBatchSize(3))
	plain := smallTranslator(t, WithSentenceCache(0))
	src := withRepeats(randomSources(12, tr.cfg))
	want, err := plain.TranslateIDs(context.Background(), src, SearchOptions{BeamSize: 2})
	if err != nil {
		t.Fatal(err)
	}
	var wg sync.WaitGroup
	errs := make(chan error, 8)
	for g := range 8 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			lo := (g * 5) % len(src)
			part := src[lo:min(lo+15, len(src))]
			got, err := tr.TranslateIDs(context.Background(), part, SearchOptions{BeamSize: 2})
			if err == nil && !reflect.DeepEqual(got, want[lo:lo+len(part)]) {
				err = fmt.Errorf("goroutine %d: results differ from uncached ones", g)
			}
			errs <- err
		}()
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		if err != nil {
			t.Fatal(err)
		}
	}
}

// sameTranslations checks that got and want are the same translations:
// equal texts, sentences, ids and alternatives, and scores within a
// relative 1e-5 (a sentence's score moves in the last bits with the
// padding of the sentences it is decoded with, as batched against alone).
func sameTranslations(t *testing.T, what string, got, want []*Translation) {
	t.Helper()
	near := func(a, b float32) bool { return math.Abs(float64(a-b)) <= 1e-5*(1+math.Abs(float64(b))) }
	if len(got) != len(want) {
		t.Fatalf("%s: %d translations, want %d", what, len(got), len(want))
	}
	for i := range got {
		g, w := got[i], want[i]
		if g.Text != w.Text || !reflect.DeepEqual(g.between, w.between) || len(g.Sentences) != len(w.Sentences) {
			t.Fatalf("%s: text %d: %q, want %q", what, i, g.Text, w.Text)
		}
		for j, gs := range g.Sentences {
			ws := w.Sentences[j]
			if gs.Source != ws.Source || gs.Text != ws.Text || !reflect.DeepEqual(gs.IDs, ws.IDs) || !near(gs.Score, ws.Score) ||
				len(gs.Alternatives) != len(ws.Alternatives) || len(gs.Pieces) != len(ws.Pieces) {
				t.Fatalf("%s: text %d sentence %d: %+v, want %+v", what, i, j, gs, ws)
			}
			for a, ga := range gs.Alternatives {
				wa := ws.Alternatives[a]
				if ga.Text != wa.Text || !reflect.DeepEqual(ga.IDs, wa.IDs) || !near(ga.Score, wa.Score) {
					t.Fatalf("%s: text %d sentence %d alternative %d: %+v, want %+v", what, i, j, a, ga, wa)
				}
			}
		}
	}
}
