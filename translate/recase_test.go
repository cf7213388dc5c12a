package translate

import (
	"context"
	"errors"
	"slices"
	"strings"
	"testing"

	"github.com/deen-mt/deen/modelfile"
	"github.com/deen-mt/deen/spans"
	"github.com/deen-mt/deen/truecase"
)

// TestRecase checks recasing through the translator: a sentence in
// capitals or in lower case is translated exactly as its usual spelling,
// keeps its own Source and reports what the model read; mixed case is
// read as is; recasing is off without a table, and a table that is
// missing (asked for) or damaged is an error naming the fix.
func TestRecase(t *testing.T) {
	_, m := loadOracle(t)
	blob, err := truecase.Learn([]string{"Ich habe einen Hund.", "Heute habe ich keine Zeit.", "Der Hund schläft im Garten.", "Wo schläft der Hund?"}, 1).MarshalBinary()
	if err != nil {
		t.Fatal(err)
	}
	with := withBlob(m, modelfile.BlobTruecase, blob)
	tr, err := newTranslator(with)
	if err != nil {
		t.Fatal(err)
	}
	if !tr.Model().Recase {
		t.Fatal("a model with a truecase table does not recase by default")
	}
	texts := []string{"Heute habe ich keine Zeit, der Hund schläft.", "HEUTE HABE ICH KEINE ZEIT, DER HUND SCHLÄFT.",
		"heute habe ich keine zeit, der hund schläft.", "HEUTE habe ich keine Zeit, der Hund schläft."}
	ctx := context.Background()
	got, err := tr.TranslateBatchDetailed(ctx, texts)
	if err != nil {
		t.Fatal(err)
	}
	usual := got[0].Sentences[0]
	if usual.Recased != "" {
		t.Errorf("ordinary case recased to %q", usual.Recased)
	}
	// The capitals' translation comes back in capitals, the lower case's
	// in ordinary case.
	for i, want := range []string{truecase.Capitals(usual.Text), usual.Text} {
		s := got[i+1].Sentences[0]
		if s.Source != texts[i+1] || s.Recased != texts[0] {
			t.Errorf("%q: source %q, recased %q; want the text as given and %q", texts[i+1], s.Source, s.Recased, texts[0])
		}
		if s.Text != want || !slices.Equal(s.IDs, usual.IDs) {
			t.Errorf("%q translated as %q %v; want %q %v (its usual spelling's ids)", texts[i+1], s.Text, s.IDs, want, usual.IDs)
		}
	}
	if want := truecase.Capitals(usual.Text); want == usual.Text {
		t.Fatalf("the tiny model's translation %q has no lower-case letter: the capitals check checks nothing", usual.Text)
	}
	if s := got[3].Sentences[0]; s.Recased != "" {
		t.Errorf("mixed case %q recased to %q", s.Source, s.Recased)
	}

	off, err := newTranslator(with, WithRecase(false))
	if err != nil {
		t.Fatal(err)
	}
	res, err := off.TranslateBatchDetailed(ctx, texts[1:2])
	if err != nil {
		t.Fatal(err)
	}
	if off.Model().Recase || res[0].Sentences[0].Recased != "" {
		t.Error("WithRecase(false) recased")
	}
	if plain, err := newTranslator(m); err != nil || plain.Model().Recase {
		t.Errorf("a model without a table: %v, recase %v", err, err == nil && plain.Model().Recase)
	}
	for name, c := range map[string]struct {
		m    *modelfile.Model
		want string
	}{
		"missing": {m, "translate casing"},
		"damaged": {withBlob(m, modelfile.BlobTruecase, []byte("deen-truecase 1\nzwei Wörter\n")), "not one plain word"},
	} {
		if _, err := newTranslator(c.m, WithRecase(true)); !errors.Is(err, ErrInvalidOption) || !strings.Contains(err.Error(), c.want) {
			t.Errorf("%s table: %v; want ErrInvalidOption naming %q", name, err, c.want)
		}
	}
}

// TestAbbreviations checks that, with recasing on, an abbreviation in
// capitals the truecase table does not know is a protected span the
// translation keeps, and that a known one, or any with recasing or span
// protection off, is left to the model.
func TestAbbreviations(t *testing.T) {
	_, m := loadOracle(t)
	blob, err := truecase.Learn([]string{"Ich habe einen Hund.", "Der Hund schläft in den USA."}, 1).MarshalBinary()
	if err != nil {
		t.Fatal(err)
	}
	with := withBlob(m, modelfile.BlobTruecase, blob)
	abbreviations := func(tr *Translator, src string) (fixed []string, text string) {
		t.Helper()
		res, err := tr.TranslateDetailed(context.Background(), src)
		if err != nil {
			t.Fatal(err)
		}
		for _, s := range res.Sentences {
			for _, f := range s.Repaired {
				if f.Span.Kind == spans.Abbreviation {
					fixed = append(fixed, f.Span.Text)
				}
			}
		}
		return fixed, res.Text
	}
	on, err := newTranslator(with, WithBeamSize(1))
	if err != nil {
		t.Fatal(err)
	}
	src := "Der ADAC und die EU schlafen."
	if fixed, text := abbreviations(on, src); !strings.Contains(text, "ADAC") || !strings.Contains(text, "EU") {
		t.Errorf("%q → %q (repaired abbreviations %q): ADAC or EU lost", src, text, fixed)
	}
	for name, opts := range map[string][]Option{
		"recasing off": {WithBeamSize(1), WithRecase(false)},
		"spans off":    {WithBeamSize(1), WithProtectedSpans(false)},
	} {
		off, err := newTranslator(with, opts...)
		if err != nil {
			t.Fatal(err)
		}
		if fixed, text := abbreviations(off, src); fixed != nil {
			t.Errorf("%s: %q → %q repaired the abbreviations %q", name, src, text, fixed)
		}
	}
	if fixed, text := abbreviations(on, "Der Hund schläft in den USA."); fixed != nil {
		t.Errorf("the known USA repaired: %q (%q)", fixed, text)
	}
}
