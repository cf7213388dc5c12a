package translate

import (
	"fmt"
	"math"
	"os"

	"github.com/deen-mt/deen/langid"
	"github.com/deen-mt/deen/spans"
)

// protection is what the translator keeps as written (options below).
type protection struct {
	spans       bool // detect and restore protected spans
	passthrough bool // leave sentences that are not German unchanged
	glossary    *spans.Glossary
}

// WithProtectedSpans turns the protected spans on (the default) or off:
// numbers, dates, times, URLs, e-mail addresses, paths, code, placeholders,
// product codes and the like (package spans) are checked in every
// translation and put back, by the cross-attention alignment, where the
// model lost them (Sentence.Repaired says which). With recasing on
// (WithRecase), so are the abbreviations in capitals the model's truecase
// table does not know ("ADAC", "EU"; truecase.Model.Unknown).
func WithProtectedSpans(on bool) Option {
	return func(t *Translator) error { t.protect.spans = on; return nil }
}

// WithPassthrough turns the pass-through of non-German sentences on (the
// default) or off: a sentence that package langid does not take for German
// (English, other scripts, only symbols, emoji, URLs or numbers) is copied
// unchanged instead of translated (Sentence.Passthrough).
func WithPassthrough(on bool) Option {
	return func(t *Translator) error { t.protect.passthrough = on; return nil }
}

// WithGlossary makes every translation use the glossary's English terms for
// its German terms (see spans.Glossary for the matching rules); nil turns
// it off. A term the model did not translate that way is replaced through
// the alignment, so every matched term comes out as written in the glossary.
func WithGlossary(g *spans.Glossary) Option {
	return func(t *Translator) error { t.protect.glossary = g; return nil }
}

// WithGlossaryFile is WithGlossary with the glossary read from a TSV file
// (spans.ReadGlossary); an unreadable or malformed file is an error
// wrapping ErrInvalidOption that names the file and the line.
func WithGlossaryFile(path string) Option {
	return func(t *Translator) error {
		f, err := os.Open(path)
		if err != nil {
			return fmt.Errorf("glossary: %w: %w", ErrInvalidOption, err)
		}
		defer f.Close()
		g, err := spans.ReadGlossary(f)
		if err != nil {
			return fmt.Errorf("%s: %w: %w", path, ErrInvalidOption, err)
		}
		t.protect.glossary = g
		return nil
	}
}

// protectedSpans returns the spans of a source sentence the translation
// must contain.
func (t *Translator) protectedSpans(source string) []spans.Span {
	var sp []spans.Span
	if t.protect.spans {
		sp = spans.Detect(source)
	}
	return spans.Merge(spans.Merge(sp, t.protect.glossary.Find(source)), t.abbreviations(source))
}

// abbreviations returns the spans of the abbreviations in capitals the
// model's truecase table does not know ("ADAC"), when spans are protected
// and recasing is on: a model trained only on the text the table was
// learned from has never seen them and garbles them, so they are copied.
// A model without a table (opus-mt) is left to translate them.
func (t *Translator) abbreviations(source string) []spans.Span {
	if !t.protect.spans || t.truecase == nil {
		return nil
	}
	var sp []spans.Span
	for _, r := range t.truecase.Unknown(source) {
		w := source[r[0]:r[1]]
		sp = append(sp, spans.Span{Kind: spans.Abbreviation, Start: r[0], End: r[1], Text: w, Render: w})
	}
	return sp
}

// passesThrough reports whether a sentence is copied instead of translated.
func (t *Translator) passesThrough(source string) bool {
	return t.protect.passthrough && !langid.Default().IsGerman(source)
}

// restore checks s's translation for its protected spans and repairs it,
// through the alignment of src (the source ids of the sentence's pieces)
// when needed; it sets s.Text, s.Repaired, s.Alignment and s.Confidence.
// With align, every sentence (or piece) gets the alignment of its final
// text.
func (t *Translator) restore(s *Sentence, src [][]int32, extra []spans.Span, align bool) error {
	sp := spans.Merge(t.protectedSpans(s.Source), extra)
	repairs := 0
	if missing := len(spans.Missing(s.Text, sp)) > 0; missing || align {
		var al *spans.Alignment
		if len(s.Pieces) == 0 {
			var err error
			if al, err = t.alignment(s.Source, src[0], s.IDs, s.Text); err != nil {
				return err
			}
		}
		s.Alignment = al
		if missing {
			s.Text, s.Repaired = spans.Repair(s.Source, s.Text, sp, al)
			repairs = len(s.Repaired)
		}
		if align {
			if err := t.alignFinal(s, src, repairs > 0); err != nil {
				return err
			}
		}
	}
	if t.protect.spans {
		s.Invented = spans.Invented(s.Source, s.Text)
	}
	s.Confidence = confidence(s.Score, repairs+len(s.Invented))
	return nil
}

// alignFinal fills the alignments of s's pieces, or of s when
// its text was repaired (from the target ids of the repaired text).
func (t *Translator) alignFinal(s *Sentence, src [][]int32, repaired bool) error {
	var err error
	if len(s.Pieces) > 0 && len(s.Pieces) == len(src) {
		for k := range s.Pieces {
			p := &s.Pieces[k]
			if p.Alignment, err = t.alignment(p.Source, src[k], p.IDs, p.Text); err != nil {
				return err
			}
		}
		return nil
	}
	if !repaired {
		return nil
	}
	ids, err := t.tok.EncodeTarget(s.Text)
	if err != nil {
		return fmt.Errorf("translate: aligning the repaired %q: %w", s.Text, err)
	}
	s.Alignment, err = t.alignment(s.Source, src[0], ids, s.Text)
	return err
}

// alignment computes the cross-attention alignment of a translation: the
// source tokens' byte ranges in source, the target tokens' byte ranges in
// text (from decoding growing prefixes of ids), and the weights of a
// teacher-forced decoder pass.
func (t *Translator) alignment(source string, src, ids []int32, text string) (*spans.Alignment, error) {
	if len(src) == 0 || len(ids) == 0 || len(src) > t.enc.MaxLen() || len(ids) > t.dec.MaxLen() {
		return nil, nil
	}
	toks := t.tok.Source.Encode(source)
	if len(toks)+1 != len(src) {
		return nil, nil // not the ids of this text (pieces): no alignment
	}
	al := &spans.Alignment{Src: make([]spans.Range, len(src)), Tgt: make([]spans.Range, len(ids))}
	for i, tk := range toks {
		al.Src[i] = spans.Range{Start: tk.Begin, End: tk.End}
	}
	al.Src[len(toks)] = spans.Range{Start: len(source), End: len(source)}
	prev := 0
	for j := range ids {
		n := min(len(t.decodeOutput(ids[:j+1])), len(text))
		n = max(n, prev)
		al.Tgt[j] = spans.Range{Start: prev, End: n}
		prev = n
	}
	memory := t.enc.Forward(src, 1, len(src), []int{len(src)})
	mem := t.dec.StepCrossAttn().Memory(memory, 1, len(src), []int{len(src)}) // Alignment multiplies Step's weights
	in := append([]int32{int32(t.cfg.DecoderStartID)}, ids[:len(ids)-1]...)
	w := t.dec.Alignment(mem, in, 1, len(in), nil)
	if len(w) != len(ids)*len(src) {
		return nil, fmt.Errorf("translate: alignment has %d weights, want %d·%d", len(w), len(ids), len(src))
	}
	al.Weights = w
	return al, nil
}

// Confidence calibration (see docs/spans.md): a logistic curve over the
// length-normalised log-probability, fitted on the Tatoeba dev pairs to
// predict chrF ≥ 30, halved for every repaired span and invented number.
const (
	confBias  = 3.5
	confSlope = 5.65
)

// confidence maps a sentence's score (length-normalised log-probability)
// and number of repaired spans and invented numbers to [0, 1].
func confidence(score float32, repairs int) float32 {
	c := 1 / (1 + math.Exp(-(confBias + confSlope*float64(score))))
	return float32(c * math.Pow(0.5, float64(repairs)))
}
