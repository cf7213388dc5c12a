package translate

import (
	"context"
	"fmt"
	"strings"

	"github.com/deen-mt/deen/spans"
)

// CallOption changes the settings of one call (Translate, TranslateBatch,
// TranslateDetailed, TranslateBatchDetailed): its search, and what the
// detailed results hold. The Options given to Load, LoadReader or Default
// are the defaults a call starts from.
type CallOption func(*callConfig) error

// callConfig is one call's settings.
type callConfig struct {
	search       SearchOptions // resolved against the translator's defaults
	alternatives int
	// extra[i] are spans of text i (byte offsets in it) that its
	// translation must keep besides the detected ones (HTML entities and
	// kept elements).
	extra [][]spans.Span
	// align computes every sentence's alignment (Alignments; HTML needs it).
	align bool
}

// Alignments(true) fills Sentence.Alignment of every translated sentence
// (of every piece, Sentence.Pieces[i].Alignment, for a sentence translated
// in pieces): the cross-attention of the decoder over the source tokens,
// averaged over heads and layers, from one extra teacher-forced decoder
// pass per sentence; a sentence with repaired spans is aligned to its
// repaired text. The texts are the same with and without it. Off by
// default: only sentences that need a repair are aligned.
func Alignments(on bool) CallOption {
	return func(c *callConfig) error { c.align = on; return nil }
}

// Search sets this call's search settings; zero fields keep the
// translator's defaults (see SearchOptions), so Search(SearchOptions{BeamSize: 8})
// changes the beam size only.
func Search(o SearchOptions) CallOption {
	return func(c *callConfig) error { c.search = o; return nil }
}

// Alternatives makes the detailed results list the n best translations of
// each sentence (Sentence.Alternatives), best first; n is 1 to the beam
// size (beam search finds as many finished hypotheses as it has beams;
// greedy search finds one). 0, the default, lists none.
func Alternatives(n int) CallOption {
	return func(c *callConfig) error {
		if n < 0 {
			return fmt.Errorf("alternatives %d: %w (want 0 or more)", n, ErrInvalidOption)
		}
		c.alternatives = n
		return nil
	}
}

// callConfig applies opts to the translator's defaults and checks them.
func (t *Translator) callConfig(opts []CallOption) (*callConfig, error) {
	c := &callConfig{search: t.opts}
	for _, o := range opts {
		if err := o(c); err != nil {
			return nil, fmt.Errorf("translate: %w", err)
		}
	}
	c.search = t.resolve(c.search)
	if err := t.checkOptions(c.search); err != nil {
		return nil, fmt.Errorf("translate: %w", err)
	}
	if c.alternatives > c.search.BeamSize {
		return nil, fmt.Errorf("translate: alternatives %d: %w (want at most the beam size, %d; raise it with Search(SearchOptions{BeamSize: %d}))",
			c.alternatives, ErrInvalidOption, c.search.BeamSize, c.alternatives)
	}
	return c, nil
}

// Translation is the detailed translation of one text (TranslateDetailed).
type Translation struct {
	// Text is the translation, exactly as Translate returns it.
	Text string
	// Sentences are the text's sentences in order (SplitSentences on each
	// line), each with its translation. Text is their translations joined
	// with the whitespace and line ends found between the sources.
	Sentences []Sentence
	// between[i] is the text before sentence i (after sentence i−1), and
	// the last entry the text after the last sentence.
	between []string
}

// Alternative returns the text with the i-th alternative of every
// sentence in place of its translation (Sentence.Alternatives[i]; a
// sentence with fewer alternatives keeps its translation). Alternative(0)
// is Text when alternatives were asked for; the call's Alternatives(n)
// option sets how many there are.
func (tr *Translation) Alternative(i int) string {
	return tr.join(func(s *Sentence) string {
		if i >= 0 && i < len(s.Alternatives) {
			return s.Alternatives[i].Text
		}
		return s.Text
	})
}

// join puts text(s) of every sentence between the literals.
func (tr *Translation) join(text func(*Sentence) string) string {
	var b strings.Builder
	for i := range tr.Sentences {
		b.WriteString(tr.between[i])
		b.WriteString(text(&tr.Sentences[i]))
	}
	b.WriteString(tr.between[len(tr.Sentences)])
	return b.String()
}

// Sentence is one source sentence and its translation. More fields may be
// added (per-sentence confidence, pass-through, repaired spans,
// alignment): compare and copy Sentences by field, not by position.
type Sentence struct {
	// Source is the German sentence as found in the text, without the
	// whitespace around it.
	Source string
	// Recased is the sentence as the model read it when it was written
	// all in capitals or all in lower case and given its usual case
	// (WithRecase): the same byte length as Source, so offsets into one
	// (Alignment.Src) hold for the other. Empty when Source was read as is.
	Recased string
	// Text is the translation (the best hypothesis).
	Text string
	// Score is the best hypothesis' score: the sum of its token
	// log-probabilities divided by len(IDs)^LengthPenalty (Hugging Face
	// sequences_scores). For a sentence translated in pieces, the pieces'
	// scores averaged with their lengths as weights.
	Score float32
	// IDs are the best hypothesis' target ids without the decoder start
	// token, with the end token; for a sentence translated in pieces, the
	// pieces' ids one after the other (each with its end token).
	IDs []int32
	// Alternatives are the n best translations, best first (Alternatives[0]
	// is Text), when the call asked for them (Alternatives(n)); for a
	// sentence translated in pieces, the i-th joins the pieces' i-th.
	Alternatives []Alternative
	// Confidence in [0, 1] says how far to trust the translation: a
	// logistic curve over Score calibrated on held-out data (docs/spans.md),
	// halved for every repaired span and every invented number. 1 for a
	// sentence passed through.
	Confidence float32
	// Passthrough is true when the sentence was not German (WithPassthrough)
	// and was copied unchanged: Text is Source.
	Passthrough bool
	// Repaired lists the protected spans and glossary terms the model lost
	// and that were put back (WithProtectedSpans, WithGlossary).
	Repaired []spans.Fix
	// Invented lists the numbers of Text that Source does not hold
	// (spans.Invented; WithProtectedSpans): the model made them up. They
	// are left in the text, and each halves Confidence, so that the
	// sentence is flagged for a human to check.
	Invented []string
	// Alignment links Source to Text, token by token: Src are the source
	// tokens' byte ranges in Source (the last one, empty, the end token),
	// Tgt the target tokens' byte ranges in Text, and each row of Weights
	// sums to about 1. It is filled for every sentence with the
	// Alignments(true) call option (nil for a sentence translated in pieces,
	// whose pieces then have theirs); without it, only for sentences that
	// needed a repair, and then it links Source to the model's translation
	// before the repair.
	Alignment *spans.Alignment
	// Pieces is set when the sentence was longer than the model's positions
	// and was translated in pieces (cut at a comma or space): each piece
	// with its own source, translation, score and alternatives. The fields
	// above then combine them.
	Pieces []Sentence
}

// Alternative is one translation candidate of a sentence.
type Alternative struct {
	// Text is the candidate translation.
	Text string
	// Score is its score, as Sentence.Score.
	Score float32
	// IDs are its target ids, as Sentence.IDs.
	IDs []int32
	// LM is its language-model term with WithRerankLM (the log-probability
	// per token; 0 without), which reranking added, weighted, to Score.
	LM float32
}

// TranslateDetailed translates text as Translate does and returns, besides
// the text, every sentence with its source, translation, score, target ids
// and (with the Alternatives option) its n best translations. opts change
// this call's search (Search).
func (t *Translator) TranslateDetailed(ctx context.Context, text string, opts ...CallOption) (*Translation, error) {
	out, err := t.TranslateBatchDetailed(ctx, []string{text}, opts...)
	if err != nil {
		return nil, err
	}
	return out[0], nil
}

// TranslateBatchDetailed is TranslateDetailed for many texts, their
// sentences decoded together as TranslateBatch does; the results are in
// input order. When ctx ends midway the texts already translated are
// returned with the error (which wraps ctx.Err()) and the others are nil;
// on any other error the slice is nil.
func (t *Translator) TranslateBatchDetailed(ctx context.Context, texts []string, opts ...CallOption) ([]*Translation, error) {
	if err := checkContext(ctx); err != nil {
		return nil, err
	}
	c, err := t.callConfig(opts)
	if err != nil {
		return nil, err
	}
	return t.translateTexts(ctx, texts, c)
}

// sentence builds the Sentence of source from the results of its pieces
// (sources[i] translated as res[i]), with n alternatives.
func (t *Translator) sentence(source string, sources []string, res []Result, n int) Sentence {
	if len(res) == 1 {
		s := Sentence{Source: source, Text: t.decodeOutput(res[0].IDs), Score: res[0].Score, IDs: res[0].IDs}
		for _, h := range res[0].NBest[:min(n, len(res[0].NBest))] {
			s.Alternatives = append(s.Alternatives, Alternative{Text: t.decodeOutput(h.IDs), Score: h.Score, IDs: h.IDs, LM: h.LM})
		}
		return s
	}
	s := Sentence{Source: source, Pieces: make([]Sentence, len(res))}
	alts := 0
	for i := range res {
		s.Pieces[i] = t.sentence(sources[i], nil, res[i:i+1], n)
		alts = max(alts, len(s.Pieces[i].Alternatives))
	}
	best := joinPieces(s.Pieces, func(p *Sentence) Alternative { return Alternative{Text: p.Text, Score: p.Score, IDs: p.IDs} })
	s.Text, s.Score, s.IDs = best.Text, best.Score, best.IDs
	for a := range alts {
		s.Alternatives = append(s.Alternatives, joinPieces(s.Pieces, func(p *Sentence) Alternative {
			return p.Alternatives[min(a, len(p.Alternatives)-1)]
		}))
	}
	return s
}

// joinPieces combines one candidate of each piece: texts joined by a
// space, ids one after the other, scores (and LM terms) averaged weighted
// by length.
func joinPieces(pieces []Sentence, pick func(*Sentence) Alternative) Alternative {
	var out Alternative
	var texts []string
	var sum, sumLM float64
	for i := range pieces {
		a := pick(&pieces[i])
		texts = append(texts, a.Text)
		out.IDs = append(out.IDs, a.IDs...)
		sum += float64(a.Score) * float64(len(a.IDs))
		sumLM += float64(a.LM) * float64(len(a.IDs))
	}
	out.Text = strings.Join(texts, " ")
	if len(out.IDs) > 0 {
		out.Score = float32(sum / float64(len(out.IDs)))
		out.LM = float32(sumLM / float64(len(out.IDs)))
	}
	return out
}
