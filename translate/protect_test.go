package translate

import (
	"context"
	"errors"
	"math"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/deen-mt/deen/internal/defaultmodel"
	"github.com/deen-mt/deen/spans"
	"github.com/deen-mt/deen/spans/spanstest"
)

// keptSpans translates the examples and counts the requirements met.
func keptSpans(t testing.TB, tr *Translator, ex []spanstest.Example) (kept, total int, failed []string) {
	ctx := context.Background()
	for _, e := range ex {
		var out string
		var err error
		if e.HTML {
			out, err = tr.TranslateHTML(ctx, e.Src)
		} else {
			out, err = tr.Translate(ctx, e.Src)
		}
		if err != nil {
			t.Fatal(err)
		}
		for _, req := range e.Must {
			total++
			ok := false
			for _, acc := range req {
				ok = ok || strings.Contains(out, acc)
			}
			if ok {
				kept++
			} else {
				failed = append(failed, e.Src+" → "+out)
			}
		}
	}
	return kept, total, failed
}

func glossary(t testing.TB) *spans.Glossary {
	f, err := os.Open(filepath.Join("..", "testdata", "spans", "glossary_public.tsv"))
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	g, err := spans.ReadGlossary(f)
	if err != nil {
		t.Fatal(err)
	}
	return g
}

// The tiny oracle model has random weights: its output is nonsense, so every
// span must come through the repair path, and all of them must be there.
func TestSpansTinyModelRepair(t *testing.T) {
	_, m := loadOracle(t)
	tr, err := newTranslator(m, WithBeamSize(1), WithMaxNewTokens(12), WithGlossary(glossary(t)))
	if err != nil {
		t.Fatal(err)
	}
	ex := append(spanstest.ReadExamples(t, "spans_public.jsonl"), spanstest.ReadExamples(t, "glossary_public.jsonl")...)
	kept, total, failed := keptSpans(t, tr, ex)
	if kept != total {
		t.Errorf("tiny model: %d of %d spans kept; lost in:\n%s", kept, total, strings.Join(failed, "\n"))
	}
	d, err := tr.TranslateDetailed(context.Background(), "Der Termin ist am 12.05.2026 um 14:30 Uhr.")
	if err != nil {
		t.Fatal(err)
	}
	s := d.Sentences[0]
	if len(s.Repaired) == 0 || s.Alignment == nil {
		t.Errorf("tiny model: no repair reported (%+v)", s)
	}
	for _, f := range s.Repaired {
		if f.How != "aligned" && f.How != "inserted" && f.How != "format" {
			t.Errorf("repair %+v did not use the alignment", f)
		}
	}
	if s.Confidence < 0 || s.Confidence > 1 {
		t.Errorf("confidence %g outside [0, 1]", s.Confidence)
	}
	// Without protection the random model loses them.
	plain, _ := newTranslator(m, WithBeamSize(1), WithMaxNewTokens(12), WithProtectedSpans(false))
	if k, _, _ := keptSpans(t, plain, ex[:5]); k == 5 {
		t.Error("random model kept every span unprotected: the test proves nothing")
	}
}

func TestPassthrough(t *testing.T) {
	_, m := loadOracle(t)
	tr, err := newTranslator(m, WithBeamSize(1), WithMaxNewTokens(8))
	if err != nil {
		t.Fatal(err)
	}
	ctx := context.Background()
	for _, s := range []string{"😀😀", "你好，世界。", "The dog is playing in the garden.", "12:30", "https://example.com"} {
		d, err := tr.TranslateDetailed(ctx, s)
		if err != nil {
			t.Fatal(err)
		}
		if d.Text != s || len(d.Sentences) != 1 || !d.Sentences[0].Passthrough || d.Sentences[0].Confidence != 1 {
			t.Errorf("%q: %q %+v, want passed through", s, d.Text, d.Sentences)
		}
	}
	for _, s := range []string{"Nein.", "Danke!", "Der Hund spielt im Garten."} {
		d, err := tr.TranslateDetailed(ctx, s)
		if err != nil {
			t.Fatal(err)
		}
		if d.Sentences[0].Passthrough {
			t.Errorf("%q passed through", s)
		}
	}
	off, _ := newTranslator(m, WithBeamSize(1), WithMaxNewTokens(8), WithPassthrough(false))
	if d, _ := off.TranslateDetailed(ctx, "😀😀"); d.Sentences[0].Passthrough {
		t.Error("WithPassthrough(false): passed through")
	}
}

func TestTranslateHTMLKeepsTags(t *testing.T) {
	_, m := loadOracle(t)
	tr, err := newTranslator(m, WithBeamSize(1), WithMaxNewTokens(10))
	if err != nil {
		t.Fatal(err)
	}
	for _, doc := range []string{
		"<p>Bitte <strong>nicht</strong> stören.</p>",
		`<div><p>Lies den <a href="https://example.org/agb">Vertrag</a> bis zum Ende.</p><pre>Der Hund</pre><script>x<y</script></div>`,
		"<ul><li>Eins <b>zwei <i>drei</i></b></li><li translate=\"no\">Name</li></ul> &amp; <code>git status</code>",
	} {
		out, err := tr.TranslateHTML(context.Background(), doc)
		if err != nil {
			t.Fatal(err)
		}
		if got, want := tagList(out), tagList(doc); got != want {
			t.Errorf("TranslateHTML(%q) = %q: tags %q, want %q", doc, out, got, want)
		}
		for _, keep := range []string{"<pre>Der Hund</pre>", "<script>x<y</script>", `translate="no">Name<`, "<code>git status</code>"} {
			if strings.Contains(doc, keep) && !strings.Contains(out, keep) {
				t.Errorf("TranslateHTML(%q) = %q: %q not kept", doc, out, keep)
			}
		}
	}
}

// tagList is the tags of an HTML text in order.
func tagList(s string) string {
	var b strings.Builder
	for {
		i := strings.IndexByte(s, '<')
		if i < 0 {
			return b.String()
		}
		j := strings.IndexByte(s[i:], '>')
		if j < 0 {
			return b.String()
		}
		b.WriteString(s[i : i+j+1])
		s = s[i+j+1:]
	}
}

// With the embedded default model, every public example keeps its spans.
func TestSpansDefaultModel(t *testing.T) {
	if testing.Short() {
		t.Skip("translates the public span examples with the default model")
	}
	if _, err := defaultmodel.Open(); errors.Is(err, defaultmodel.ErrNone) {
		t.Skip("no default model embedded")
	}
	tr, err := Default(WithGlossary(glossary(t)))
	if err != nil {
		t.Fatal(err)
	}
	ex := append(spanstest.ReadExamples(t, "spans_public.jsonl"), spanstest.ReadExamples(t, "glossary_public.jsonl")...)
	kept, total, failed := keptSpans(t, tr, ex)
	t.Logf("default model: %d of %d required spans kept", kept, total)
	if kept != total {
		t.Errorf("lost in:\n%s", strings.Join(failed, "\n"))
	}
}

// A number in the translation that the source does not hold is reported
// and halves the confidence; the text is left as it is.
func TestInventedNumbersFlagged(t *testing.T) {
	_, m := loadOracle(t)
	for _, keep := range []bool{true, false} {
		tr, err := newTranslator(m, WithBeamSize(1), WithProtectedSpans(keep))
		if err != nil {
			t.Fatal(err)
		}
		for _, c := range []struct {
			src, text string
			invented  []string
		}{
			{"Der Hund schläft drei Stunden.", "The dog sleeps 3 hours.", nil},
			{"Der Hund schläft.", "The dog sleeps 1,500 hours.", []string{"1,500"}},
			{"Im Jahr 1989 fiel die Mauer.", "In 1989, the wall fell 1988 times, at 9.", []string{"1988", "9"}},
		} {
			s := Sentence{Source: c.src, Text: c.text, Score: -0.2} // every protected span kept: no alignment needed
			if err := tr.restore(&s, nil, nil, false); err != nil {
				t.Fatal(err)
			}
			want := c.invented
			if !keep {
				want = nil
			}
			if strings.Join(s.Invented, "|") != strings.Join(want, "|") || s.Text != c.text {
				t.Errorf("keep %v, %q → %q: invented %q, text %q; want %q", keep, c.src, c.text, s.Invented, s.Text, want)
			}
			if got, full := s.Confidence, confidence(s.Score, 0); got != full*float32(math.Pow(0.5, float64(len(want)))) {
				t.Errorf("keep %v, %q: confidence %v, want %v halved %d times", keep, c.text, got, full, len(want))
			}
		}
	}
}
