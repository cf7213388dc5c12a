package serve

import (
	"context"
	"math"
	"net/url"
	"slices"
	"strings"
	"testing"

	"github.com/deen-mt/deen/spans"
)

// rangesOf returns the byte ranges of the pieces of s, which must follow
// each other in s.
func rangesOf(t *testing.T, s string, pieces ...string) []spans.Range {
	t.Helper()
	var out []spans.Range
	at := 0
	for _, p := range pieces {
		i := strings.Index(s[at:], p)
		if i < 0 {
			t.Fatalf("%q not in %q after %d", p, s, at)
		}
		out = append(out, spans.Range{Start: at + i, End: at + i + len(p)})
		at += i + len(p)
	}
	return out
}

// TestAlignWordsAggregatesPieces: tokens are summed into source words and
// averaged over target words; the end token's share is left out.
func TestAlignWordsAggregatesPieces(t *testing.T) {
	src, tgt := "Der Hund bellt.", "The dog barks."
	al := &spans.Alignment{
		Src: append(rangesOf(t, src, "Der", " Hund", " bel", "lt", "."), spans.Range{Start: len(src), End: len(src)}),
		Tgt: rangesOf(t, tgt, "The", " dog", " bar", "ks."),
	}
	// rows: target tokens; columns: Der, Hund, bel, lt, ., </s>
	al.Weights = []float32{
		0.8, 0.1, 0, 0, 0, 0.1,
		0.1, 0.7, 0.1, 0, 0, 0.1,
		0, 0.2, 0.3, 0.3, 0, 0.2,
		0, 0, 0.4, 0.2, 0.3, 0.1,
	}
	got := alignWords(src, tgt, al)
	if !slices.Equal(got.Source, []string{"Der", "Hund", "bellt."}) || !slices.Equal(got.Target, []string{"The", "dog", "barks."}) {
		t.Fatalf("words %q → %q", got.Source, got.Target)
	}
	// barks.: bellt. gets (0.6 + 0.9) of 1.6 summed over source words.
	want := [][]link{
		{{Word: 0, Weight: round3(0.8 / 0.9)}},
		{{Word: 1, Weight: round3(0.7 / 0.9)}},
		{{Word: 2, Weight: round3(1.5 / 1.7)}},
	}
	for j := range want {
		if !slices.Equal(got.Links[j], want[j]) {
			t.Errorf("links of %q: %+v, want %+v", got.Target[j], got.Links[j], want[j])
		}
	}
	// A second source word close to the strongest is linked too.
	al.Weights[0], al.Weights[1] = 0.45, 0.45
	got = alignWords(src, tgt, al)
	if len(got.Links[0]) != 2 || got.Links[0][0].Word != 0 || got.Links[0][1].Word != 1 {
		t.Errorf("two strong source words: %+v", got.Links[0])
	}
	// No alignment: words without links, never a panic.
	for _, bad := range []*spans.Alignment{nil, {Src: al.Src, Tgt: al.Tgt, Weights: al.Weights[:5]}} {
		got = alignWords(src, tgt, bad)
		if len(got.Links) != 3 || len(got.Links[0]) != 0 {
			t.Errorf("bad alignment %v: %+v", bad, got)
		}
	}
}

func round3(x float64) float64 { return math.Round(1000*x) / 1000 }

// TestAlignmentsExtension: "alignments": true adds, per sentence, its words
// and for each English word the German words it came from; the
// translation is the same, and without asking nothing is added.
func TestAlignmentsExtension(t *testing.T) {
	ts, _ := newTestServer(t, nil)
	texts := []string{germanTexts[1], "Das ist gut. This is an English sentence."}
	var got struct {
		TranslatedText []string
		Alignments     [][]wordAlignment
	}
	r := postJSON(t, ts.URL+"/translate", map[string]any{"q": texts, "source": "de", "target": "en", "alignments": true})
	r.json(t, &got)
	if r.status != 200 || len(got.Alignments) != len(texts) {
		t.Fatalf("alignments: %d %s", r.status, r.body)
	}
	linked, passed := 0, 0
	for i, text := range texts {
		want, err := tiny(t).TranslateDetailed(context.Background(), text)
		if err != nil {
			t.Fatal(err)
		}
		if got.TranslatedText[i] != want.Text || len(got.Alignments[i]) != len(want.Sentences) {
			t.Fatalf("text %d: %q with %d alignments, want %q and %d", i, got.TranslatedText[i], len(got.Alignments[i]), want.Text, len(want.Sentences))
		}
		for k, s := range want.Sentences {
			a := got.Alignments[i][k]
			if !slices.Equal(a.Source, strings.Fields(s.Source)) || !slices.Equal(a.Target, strings.Fields(s.Text)) || len(a.Links) != len(a.Target) {
				t.Fatalf("sentence %q → %q: words %q → %q, %d links", s.Source, s.Text, a.Source, a.Target, len(a.Links))
			}
			for j, ls := range a.Links {
				sum := 0.0
				for n, l := range ls {
					if l.Word < 0 || l.Word >= len(a.Source) || l.Weight <= 0 || n > 0 && l.Weight > ls[n-1].Weight {
						t.Errorf("%q: links %+v of word %d", s.Text, ls, j)
					}
					sum += l.Weight
				}
				if sum > 1.001 {
					t.Errorf("%q: links of word %d sum to %g", s.Text, j, sum)
				}
				linked += min(len(ls), 1)
			}
			if s.Passthrough {
				passed++
				for j, ls := range a.Links {
					if len(ls) != 1 || ls[0] != (link{Word: j, Weight: 1}) {
						t.Errorf("passed-through %q: word %d links %+v", s.Source, j, ls)
					}
				}
			}
		}
	}
	if linked == 0 || passed == 0 {
		t.Errorf("%d linked words, %d passed-through sentences: the test proves nothing", linked, passed)
	}
	r = postForm(t, ts.URL+"/translate", url.Values{"q": {texts[0]}, "source": {"de"}, "target": {"en"}, "alignments": {"1"}})
	if !strings.Contains(string(r.body), `"alignments":[{"source":[`) {
		t.Errorf("form alignments=1: %s", r.body)
	}
	r = postJSON(t, ts.URL+"/translate", map[string]any{"q": texts[0], "source": "de", "target": "en", "sentences": true})
	if strings.Contains(string(r.body), "alignments") {
		t.Errorf("alignments without asking: %s", r.body)
	}
}
