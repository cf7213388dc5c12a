package translate

import (
	"fmt"

	"github.com/deen-mt/deen/modelfile"
	"github.com/deen-mt/deen/truecase"
)

// WithRecase turns recasing on or off. A sentence written all in capitals
// ("ICH HABE HEUTE KEINE ZEIT.") or all in lower case is given the usual
// capitalisation of its words before it is translated ("Ich habe heute
// keine Zeit."), from the truecase table the model file carries (blob
// modelfile.BlobTruecase, learned by translate casing from the German side
// of the training text; package truecase): a model trained on ordinary
// text otherwise reads such a sentence as another token sequence
// altogether. In a sentence in ordinary mixed case only a word written in
// capitals for emphasis changes, when the table knows it in another usual
// spelling ("SEHR"); tokens with digits or symbols (dates, URLs, codes,
// placeholders) are never changed. The translation of a sentence in
// capitals is given back in capitals (its plain words: truecase.Capitals),
// that of one in lower case in ordinary case. Sentence.Source stays the
// text as given; Sentence.Recased is what the model read.
//
// On by default when the model carries a table; WithRecase(true) with a
// model without one is an error (ErrInvalidOption) naming the fix.
func WithRecase(on bool) Option {
	return func(t *Translator) error { t.recaseSet, t.recaseOn = true, on; return nil }
}

// loadRecase parses m's truecase table when recasing is on (WithRecase,
// or by default when the model has one).
func (t *Translator) loadRecase(m *modelfile.Model) error {
	blob, ok := m.Blobs[modelfile.BlobTruecase]
	switch {
	case t.recaseSet && !t.recaseOn, !t.recaseSet && !ok:
		return nil
	case !ok:
		return fmt.Errorf("the model has no truecase table: %w (learn one with translate casing --model IN --src CORPUS.de --out OUT, or translate without --recase)", ErrInvalidOption)
	}
	tc := new(truecase.Model)
	if err := tc.UnmarshalBinary(blob); err != nil {
		return fmt.Errorf("the model's truecase table (blob %s): %w: %w", modelfile.BlobTruecase, ErrInvalidOption, err)
	}
	t.truecase = tc
	return nil
}

// recase returns sentence in its usual case (WithRecase), or sentence.
// The result has sentence's byte length, so offsets into one hold for the
// other.
func (t *Translator) recase(sentence string) string {
	if t.truecase == nil {
		return sentence
	}
	return t.truecase.Recase(sentence)
}

// mirror gives the translation of a sentence written in capitals (source,
// as given) back in capitals: its text and its alternatives.
func mirror(st *Sentence, source string) {
	if truecase.CasingOf(source) != truecase.Upper {
		return
	}
	st.Text = truecase.Capitals(st.Text)
	for i := range st.Alternatives {
		st.Alternatives[i].Text = truecase.Capitals(st.Alternatives[i].Text)
	}
}
