package translate

import (
	"context"
	"unicode"

	"github.com/deen-mt/deen/spans"
)

// TranslateHTML translates the text of an HTML document or fragment and
// keeps its markup: tags, attributes, comments and entities are copied;
// <code>, <pre>, <script>, <style>, <textarea> and elements with
// translate="no" are left alone; the text of each block is translated as
// a whole (its sentences keep their context), and inline tags (<b>, <a>,
// <em>, …) are put around the English words aligned to the German words
// they enclosed. The output has the same tags in the same order as the
// input (see spans.ParseHTML). opts are as for TranslateDetailed.
func (t *Translator) TranslateHTML(ctx context.Context, doc string, opts ...CallOption) (string, error) {
	if err := checkContext(ctx); err != nil {
		return "", err
	}
	c, err := t.callConfig(opts)
	if err != nil {
		return "", err
	}
	d := spans.ParseHTML(doc)
	var texts []string
	var which []int // segment of texts[k]
	for i, seg := range d.Segments {
		if hasLetter(seg.Text) {
			texts = append(texts, seg.Text)
			c.extra = append(c.extra, seg.Spans)
			which = append(which, i)
		}
	}
	c.align = true
	trs, err := t.translateTexts(ctx, texts, c)
	if err != nil {
		return "", err
	}
	out := make([]spans.Translation, len(d.Segments))
	for k, tr := range trs {
		out[which[k]] = spans.Translation{Text: tr.Text, Align: tr.alignment()}
	}
	return d.Render(out), nil
}

func hasLetter(s string) bool {
	for _, r := range s {
		if unicode.IsLetter(r) {
			return true
		}
	}
	return false
}

// alignment joins the sentences' alignments into one from the whole
// source text to Text (nil if a sentence has none).
func (tr *Translation) alignment() *spans.Alignment {
	out := &spans.Alignment{}
	var srcOff, tgtOff int
	type block struct{ s0, t0 int }
	var blocks []block
	for i := range tr.Sentences {
		s := &tr.Sentences[i]
		srcOff += len(tr.between[i])
		tgtOff += len(tr.between[i])
		a := s.Alignment
		if s.Passthrough {
			a = identityAlignment(s.Source)
		}
		if a == nil {
			return nil
		}
		blocks = append(blocks, block{len(out.Src), len(out.Tgt)})
		for _, r := range a.Src {
			out.Src = append(out.Src, spans.Range{Start: r.Start + srcOff, End: r.End + srcOff})
		}
		for _, r := range a.Tgt {
			out.Tgt = append(out.Tgt, spans.Range{Start: min(r.Start, len(s.Text)) + tgtOff, End: min(r.End, len(s.Text)) + tgtOff})
		}
		srcOff += len(s.Source)
		tgtOff += len(s.Text)
	}
	ns := len(out.Src)
	out.Weights = make([]float32, ns*len(out.Tgt))
	for i, b := range blocks {
		a := tr.Sentences[i].Alignment
		if tr.Sentences[i].Passthrough {
			a = identityAlignment(tr.Sentences[i].Source)
		}
		for j := range a.Tgt {
			copy(out.Weights[(b.t0+j)*ns+b.s0:], a.Weights[j*len(a.Src):(j+1)*len(a.Src)])
		}
	}
	return out
}

// identityAlignment aligns a text with itself, one token per text.
func identityAlignment(s string) *spans.Alignment {
	r := []spans.Range{{Start: 0, End: len(s)}}
	return &spans.Alignment{Src: r, Tgt: r, Weights: []float32{1}}
}
