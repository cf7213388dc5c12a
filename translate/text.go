package translate

import (
	"context"
	"errors"
	"fmt"
	"io"
	"strings"
	"unicode"
	"unicode/utf8"

	"github.com/deen-mt/deen/internal/defaultmodel"
	"github.com/deen-mt/deen/internal/lines"
	"github.com/deen-mt/deen/modelfile"
	"github.com/deen-mt/deen/nn"
	"github.com/deen-mt/deen/spans"
)

// ErrNoDefaultModel reports a build without an embedded default model
// (Default); load a model file with Load or LoadReader instead.
var ErrNoDefaultModel = defaultmodel.ErrNone

// Default loads the model embedded in this build (internal/defaultmodel).
// Without one it returns an error wrapping ErrNoDefaultModel. The embedded
// model carries a vocabulary shortlist, which Default turns on (it keeps
// the dev BLEU and speeds every step: docs/search.md, "Vocabulary
// shortlist"); WithShortlist(false) among opts turns it off. Load and
// LoadReader leave a file's shortlist off unless WithShortlist(true).
func Default(opts ...Option) (*Translator, error) {
	r, err := defaultmodel.Open()
	if errors.Is(err, defaultmodel.ErrNone) {
		return nil, fmt.Errorf("translate: %w; pass --model FILE or see README (translate.Load loads a model file)", err)
	}
	if err != nil {
		return nil, fmt.Errorf("translate: default model: %w", err)
	}
	defer r.Close()
	m, err := modelfile.ReadWith(r, nn.StoredReadOptions())
	if err != nil {
		return nil, fmt.Errorf("translate: default model: %w", err)
	}
	pre := []Option{WithModelName("default")}
	if _, ok := m.Blobs[modelfile.BlobShortlist]; ok {
		pre = append(pre, WithShortlist(true))
	}
	return loaded(newTranslator(m, append(pre, opts...)...))
}

// LineError reports the input that could not be translated: the line
// number in TranslateStream, the text's number in TranslateBatch (both
// counted from 1). Err says why; errors.Is(err, ErrInvalidInput) holds for
// text the model cannot read.
type LineError struct {
	// Line is the failing line's or text's number, counted from 1.
	Line int
	// Err says why it failed.
	Err error
}

// Error says which line failed and why.
func (e *LineError) Error() string { return fmt.Sprintf("translate: line %d: %v", e.Line, e.Err) }

// Unwrap returns the cause.
func (e *LineError) Unwrap() error { return e.Err }

// layout is a text cut into sentences: the output is lits[0], sentence 0's
// translation, lits[1], …, lits[n]. The literals hold everything that is
// not translated: line ends, empty lines, whitespace around sentences.
type layout struct {
	lits      []string
	sentences []string
}

// cut splits text into lines and each line into sentences.
func cut(text string) layout {
	var l layout
	lit := strings.Builder{}
	for line := range strings.SplitAfterSeq(text, "\n") {
		pos := 0
		for _, sp := range sentenceSpans(line) {
			lit.WriteString(line[pos:sp[0]])
			l.lits = append(l.lits, lit.String())
			lit.Reset()
			l.sentences = append(l.sentences, line[sp[0]:sp[1]])
			pos = sp[1]
		}
		lit.WriteString(line[pos:])
	}
	l.lits = append(l.lits, lit.String())
	return l
}

// translateTexts translates texts with the call settings c: every
// sentence of every text (split further where it exceeds the model's
// positions) goes into one translateIDs call, and the translations are put
// back in the layouts. When ctx ends midway, the texts whose sentences were
// all translated are returned (the others nil) with the error.
func (t *Translator) translateTexts(ctx context.Context, texts []string, c *callConfig) ([]*Translation, error) {
	if t.tok == nil {
		return nil, fmt.Errorf("translate: %w (the model file holds no %s/%s/%s; use TranslateIDs or a model file with a tokenizer)",
			ErrNoTokenizer, modelfile.BlobSourceSPM, modelfile.BlobTargetSPM, modelfile.BlobVocab)
	}
	layouts := make([]layout, len(texts))
	var src [][]int32
	var sources []string // the source text of each src entry
	var pieces [][2]int  // sentence s (over all texts) is src[pieces[s][0]:pieces[s][1]]
	var pass []bool      // sentence s passes through untranslated
	var read []string    // sentence s as the model reads it (recased, WithRecase)
	for i, text := range texts {
		layouts[i] = cut(strings.ToValidUTF8(text, "\uFFFD"))
		for _, sent := range layouts[i].sentences {
			first := len(src)
			sent = t.recase(sent)
			read = append(read, sent)
			pass = append(pass, t.passesThrough(sent))
			if pass[len(pass)-1] {
				pieces = append(pieces, [2]int{first, first})
				continue
			}
			var err error
			if src, sources, err = t.encodeFit(sent, src, sources); err != nil {
				return nil, &LineError{Line: i + 1, Err: err}
			}
			pieces = append(pieces, [2]int{first, len(src)})
		}
	}
	res, err := t.translateIDs(ctx, src, c.search)
	if res == nil {
		return nil, err
	}
	out := make([]*Translation, len(texts))
	s := 0
	for i, l := range layouts {
		tr := &Translation{between: l.lits, Sentences: make([]Sentence, 0, len(l.sentences))}
		off := 0 // byte offset of the sentence in the text
		for k, sent := range l.sentences {
			p := pieces[s]
			off += len(l.lits[k])
			start := off
			off += len(sent)
			s++
			if tr == nil || !allDone(res[p[0]:p[1]]) {
				tr = nil
				continue
			}
			if pass[s-1] {
				tr.Sentences = append(tr.Sentences, Sentence{Source: sent, Text: sent, Passthrough: true, Confidence: 1})
				continue
			}
			st := t.sentence(read[s-1], sources[p[0]:p[1]], res[p[0]:p[1]], c.alternatives)
			var extra []spans.Span
			if i < len(c.extra) {
				extra = shiftSpans(c.extra[i], start, start+len(sent))
			}
			if rerr := t.restore(&st, src[p[0]:p[1]], extra, c.align); rerr != nil {
				return nil, rerr
			}
			if st.Source != sent {
				st.Source, st.Recased = sent, st.Source
				mirror(&st, sent)
			}
			tr.Sentences = append(tr.Sentences, st)
		}
		if tr != nil {
			tr.Text = tr.join(func(s *Sentence) string { return s.Text })
			out[i] = tr
		}
	}
	return out, err
}

// shiftSpans returns the spans of sp inside [start, end), with offsets
// relative to start.
func shiftSpans(sp []spans.Span, start, end int) []spans.Span {
	var out []spans.Span
	for _, x := range sp {
		if x.Start >= start && x.End <= end {
			x.Start, x.End = x.Start-start, x.End-start
			out = append(out, x)
		}
	}
	return out
}

// allDone reports whether every result was translated (translateIDs
// leaves those it did not reach with nil IDs).
func allDone(res []Result) bool {
	for _, r := range res {
		if r.IDs == nil {
			return false
		}
	}
	return true
}

// encodeFit appends the source ids of sentence to src, and its text to
// sources, cut into pieces that fit the encoder's positions (end token
// included).
func (t *Translator) encodeFit(sentence string, src [][]int32, sources []string) ([][]int32, []string, error) {
	ids, err := t.tok.EncodeSource(sentence)
	if err != nil {
		return nil, nil, err
	}
	if len(ids) <= t.enc.MaxLen() {
		return append(src, ids), append(sources, sentence), nil
	}
	a, b := splitLong(sentence)
	if a == "" || b == "" {
		return nil, nil, fmt.Errorf("%q encodes to %d ids: %w (the model reads at most %d)", sentence, len(ids), ErrInvalidInput, t.enc.MaxLen())
	}
	if src, sources, err = t.encodeFit(a, src, sources); err != nil {
		return nil, nil, err
	}
	return t.encodeFit(b, src, sources)
}

// splitLong cuts a too-long sentence in two near its middle: after a
// comma, semicolon, colon or dash in the middle half if there is one, else
// at the space nearest the middle, else (no spaces) between two runes.
func splitLong(s string) (string, string) {
	mid := len(s) / 2
	best, bestPunct := -1, false
	for i, r := range s {
		if !unicode.IsSpace(r) || i == 0 {
			continue
		}
		prev, _ := utf8.DecodeLastRuneInString(s[:i])
		punct := strings.ContainsRune(",;:–—", prev) && i > len(s)/4 && i < 3*len(s)/4
		closer := best < 0 || abs(i-mid) < abs(best-mid)
		if (punct && !bestPunct) || (punct == bestPunct && closer) {
			best, bestPunct = i, punct
		}
	}
	if best < 0 {
		for best = mid; best > 0 && !utf8.RuneStart(s[best]); best-- {
		}
	}
	return strings.TrimSpace(s[:best]), strings.TrimSpace(s[best:])
}

func abs(x int) int {
	if x < 0 {
		return -x
	}
	return x
}

// streamLines is the most lines a stream translates together.
const streamLines = 64

// StreamOption changes how TranslateStream reports its progress.
type StreamOption func(*streamConfig)

type streamConfig struct {
	onBatch func(lines int) error
	start   int
}

// StartLine says that the stream continues a text whose first n lines were
// translated already (a resumed file, or a chunk of a file cut into
// pieces): a byte-order mark is only looked for when n is 0, and line
// numbers in errors count on from n, so the stream's output is exactly the
// part the whole text's translation would hold for these lines. OnBatch
// still counts the lines of this stream.
func StartLine(n int) StreamOption {
	return func(c *streamConfig) { c.start = n }
}

// OnBatch makes TranslateStream call f after each batch of lines is
// written to w, with the number of input lines translated and written so
// far. An error from f stops the stream and is returned.
func OnBatch(f func(lines int) error) StreamOption {
	return func(c *streamConfig) { c.onBatch = f }
}

// TranslateStream reads German text from r line by line and writes the
// translation to w: one output line per input line with its line ending as
// found (LF, CRLF, none on a last line without one) and a UTF-8 byte-order
// mark kept. Lines that are already buffered are translated together (up
// to 64), and each batch is written with one Write as soon as it is done,
// so memory stays constant on input of any length (of bounded line length)
// and a person typing gets each line back at once. A line that cannot be
// translated gives a *LineError with its line number.
func (t *Translator) TranslateStream(ctx context.Context, r io.Reader, w io.Writer, opts ...StreamOption) error {
	if err := checkContext(ctx); err != nil {
		return err
	}
	if r == nil || w == nil {
		return fmt.Errorf("translate: TranslateStream with a nil reader or writer: %w", ErrInvalidInput)
	}
	c, err := t.callConfig(nil)
	if err != nil {
		return err
	}
	var cfg streamConfig
	for _, o := range opts {
		o(&cfg)
	}
	lr := lines.NewReader(r)
	var buf strings.Builder
	texts := make([]string, 0, streamLines)
	done := 0
	for {
		batch, rerr := lr.Next(streamLines)
		if len(batch) > 0 {
			texts, buf = texts[:0], strings.Builder{}
			bom := done == 0 && cfg.start == 0 && strings.HasPrefix(batch[0].Text, "\uFEFF")
			for i, l := range batch {
				if i == 0 && bom {
					l.Text = l.Text[len("\uFEFF"):]
				}
				texts = append(texts, l.Text)
			}
			out, err := t.translateTexts(ctx, texts, c)
			if le := (*LineError)(nil); errors.As(err, &le) {
				return &LineError{Line: cfg.start + done + le.Line, Err: le.Err}
			}
			if err != nil {
				return err
			}
			if bom {
				buf.WriteString("\uFEFF")
			}
			for i, l := range batch {
				buf.WriteString(out[i].Text)
				buf.WriteString(l.EOL)
			}
			if _, err := io.WriteString(w, buf.String()); err != nil {
				return fmt.Errorf("translate: writing line %d: %w", done+1, err)
			}
			done += len(batch)
			if cfg.onBatch != nil {
				if err := cfg.onBatch(done); err != nil {
					return err
				}
			}
		}
		if rerr == io.EOF {
			return nil
		}
		if rerr != nil {
			return fmt.Errorf("translate: reading line %d: %w", cfg.start+done+1, rerr)
		}
	}
}
