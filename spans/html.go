package spans

import (
	"html"
	"regexp"
	"strings"
	"unicode"
	"unicode/utf8"
)

// HTML mode. ParseHTML cuts a document into verbatim pieces (block tags,
// comments, skipped elements) and Segments: the text of one block (a
// paragraph, a list item, a cell) with its inline tags lifted out as Marks
// at byte positions of the text. The caller translates each Segment's Text
// as a whole (so sentences keep their context), and Render puts the marks
// back into the translation at the positions the alignment gives, in their
// original order, so the tag sequence of the output equals the input's:
// nesting stays exactly as valid (or as invalid) as it was, and attributes
// are untouched.
//
// Left alone (copied verbatim, never translated): <script>, <style>,
// <pre>, <textarea>, comments, doctypes, and every element with
// translate="no". <code> and an inline element with translate="no" inside
// a sentence stay in the sentence as a protected span (Kind Markup) so the
// model sees the words around them. Character entities that stand for a
// letter (&auml;) are decoded for the model; all others (&amp; &nbsp; &lt;
// &#8364; …) are protected spans copied as written. The tokenizer accepts
// any byte string: a "<" that does not start a tag is text, and an
// unclosed comment or tag runs to the end of the input.

// Mark is an inline tag lifted out of a Segment.
type Mark struct {
	Pos  int    // byte offset in the Segment's Text
	Raw  string // the tag exactly as written
	Pair int    // index of the matching close (for an open tag) or open (for a close tag) mark, -1 if none
	last bool   // an unterminated tag or comment: runs to the end of the input
	// keep is 1 + the index in Segment.Spans of the kept text this tag
	// encloses (<code>, translate="no"), 0 for other tags.
	keep int
}

// Segment is the translatable text of one block.
type Segment struct {
	Text  string // the text the model translates (whitespace runs collapsed to one space)
	Spans []Span // entities and kept inline elements (Kind Markup)
	Marks []Mark // inline tags, in document order
	lead  string // whitespace before Text
	trail string // whitespace after Text
}

// Doc is a parsed HTML document: verbatim pieces and segments in order.
type Doc struct {
	parts []docPart
	// Segments are the pieces to translate, in document order.
	Segments []*Segment
}

type docPart struct {
	raw string
	seg int // index into Segments, or -1 for raw
}

// Translation is a Segment's translation with the alignment from the
// Segment's Text to Text (nil: marks are placed by relative position).
type Translation struct {
	Text  string
	Align *Alignment
}

type tokKind uint8

const (
	tokText tokKind = iota
	tokStart
	tokEnd
	tokOther // comment, doctype, processing instruction
)

type htmlTok struct {
	kind tokKind
	raw  string
	name string // lower-case tag name
	last bool   // unterminated: runs to the end of the input
}

// inline elements stay inside a segment; every other tag ends one.
var inline = map[string]bool{"a": true, "abbr": true, "b": true, "bdi": true, "bdo": true, "cite": true,
	"code": true, "data": true, "del": true, "dfn": true, "em": true, "font": true, "i": true, "img": true,
	"ins": true, "kbd": true, "mark": true, "q": true, "s": true, "samp": true, "small": true, "span": true,
	"strong": true, "sub": true, "sup": true, "time": true, "u": true, "var": true, "wbr": true, "label": true}

// skipped elements are copied with their content, never translated.
var skipped = map[string]bool{"script": true, "style": true, "pre": true, "textarea": true, "code": true}

// rawText elements hold text that is not parsed for tags.
var rawText = map[string]bool{"script": true, "style": true, "textarea": true}

var (
	translateNo = regexp.MustCompile(`(?i)\stranslate\s*=\s*["']?no\b`)
	entityRe    = regexp.MustCompile(`&(?:[A-Za-z][A-Za-z0-9]{1,31}|#[0-9]{1,7}|#[xX][0-9A-Fa-f]{1,6});`)
	spaceRun    = regexp.MustCompile(`\s+`)
)

// tokenize splits s into text, tags and other markup. It never fails.
func tokenize(s string) []htmlTok {
	var toks []htmlTok
	text := 0 // start of pending text
	flush := func(i int) {
		if i > text {
			toks = append(toks, htmlTok{kind: tokText, raw: s[text:i]})
		}
	}
	for i := 0; i < len(s); {
		if s[i] != '<' || i+1 >= len(s) {
			i++
			continue
		}
		c := s[i+1]
		var end int
		var tok htmlTok
		switch {
		case strings.HasPrefix(s[i:], "<!--"):
			end = strings.Index(s[i+4:], "-->")
			if end < 0 {
				end = len(s)
				tok.last = true
			} else {
				end += i + 7
			}
			tok.kind = tokOther
		case c == '!' || c == '?':
			end, tok.last = tagEnd(s, i)
			tok.kind = tokOther
		case isASCIILetter(c) || c == '/' && i+2 < len(s) && isASCIILetter(s[i+2]):
			end, tok.last = tagEnd(s, i)
			k, off := tokStart, 1
			if c == '/' {
				k, off = tokEnd, 2
			}
			n := i + off
			for n < end && (isASCIILetter(s[n]) || s[n] >= '0' && s[n] <= '9' || s[n] == '-' || s[n] == ':') {
				n++
			}
			tok.kind, tok.name = k, strings.ToLower(s[i+off:n])
		default:
			i++
			continue
		}
		flush(i)
		tok.raw = s[i:end]
		toks = append(toks, tok)
		i, text = end, end
		if tok.kind == tokStart && rawText[tok.name] {
			// Content up to the matching close tag is text, not markup.
			j := indexFold(s[i:], "</"+tok.name)
			if j < 0 {
				j = len(s) - i
			}
			i += j
			flush(i)
			text = i
		}
	}
	flush(len(s))
	return toks
}

// tagEnd returns the offset just past the '>' closing the tag at i, skipping
// quoted attribute values; len(s) and unterminated when the tag never closes.
func tagEnd(s string, i int) (end int, unterminated bool) {
	var quote byte
	for j := i + 1; j < len(s); j++ {
		switch {
		case quote != 0:
			if s[j] == quote {
				quote = 0
			}
		case s[j] == '"' || s[j] == '\'':
			quote = s[j]
		case s[j] == '>':
			return j + 1, false
		}
	}
	return len(s), true
}

func isASCIILetter(c byte) bool { return c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' }

// indexFold returns the first index of the ASCII string sub in s, ignoring
// ASCII case, or -1.
func indexFold(s, sub string) int {
	for i := 0; i+len(sub) <= len(s); i++ {
		if strings.EqualFold(s[i:i+len(sub)], sub) {
			return i
		}
	}
	return -1
}

// selfClosing reports a tag that has no close tag.
func selfClosing(t htmlTok) bool {
	switch t.name {
	case "br", "img", "wbr", "hr", "input", "meta", "link", "area", "base", "col", "embed", "source", "track", "param":
		return true
	}
	return strings.HasSuffix(t.raw, "/>")
}

// matchClose returns the index of the token closing the element opened at
// toks[i], or -1.
func matchClose(toks []htmlTok, i int) int {
	depth := 0
	for j := i + 1; j < len(toks); j++ {
		switch {
		case toks[j].kind == tokStart && toks[j].name == toks[i].name && !selfClosing(toks[j]):
			depth++
		case toks[j].kind == tokEnd && toks[j].name == toks[i].name:
			if depth == 0 {
				return j
			}
			depth--
		}
	}
	return -1
}

// ParseHTML splits an HTML document (or fragment) into verbatim parts and
// translatable segments. It accepts any input (tag soup included).
func ParseHTML(s string) *Doc {
	d := &Doc{}
	toks := tokenize(s)
	var cur *Segment
	var open []int // indexes into cur.Marks of open tags not yet closed
	endSeg := func() {
		if cur == nil {
			return
		}
		finishSegment(cur)
		d.parts = append(d.parts, docPart{seg: len(d.Segments)})
		d.Segments = append(d.Segments, cur)
		cur, open = nil, nil
	}
	raw := func(r string) {
		if n := len(d.parts); n > 0 && d.parts[n-1].seg < 0 {
			d.parts[n-1].raw += r
			return
		}
		d.parts = append(d.parts, docPart{raw: r, seg: -1})
	}
	seg := func() *Segment {
		if cur == nil {
			cur = &Segment{}
		}
		return cur
	}
	for i := 0; i < len(toks); i++ {
		t := toks[i]
		switch t.kind {
		case tokText:
			addText(seg(), t.raw)
		case tokOther:
			if cur != nil {
				addMark(cur, t.raw, t.last, &open, false, false)
			} else {
				raw(t.raw)
			}
		case tokStart, tokEnd:
			keep := t.kind == tokStart && (skipped[t.name] || translateNo.MatchString(t.raw)) && !selfClosing(t)
			if keep {
				if j := matchClose(toks, i); j >= 0 {
					var inner strings.Builder
					plain := true
					for _, u := range toks[i+1 : j] {
						inner.WriteString(u.raw)
						plain = plain && u.kind == tokText
					}
					if inline[t.name] && plain && strings.TrimSpace(inner.String()) != "" {
						// Inside a sentence: the model sees the words.
						addMark(seg(), t.raw, false, &open, true, false)
						c := seg()
						st := len(c.Text)
						c.Text += inner.String()
						c.Spans = append(c.Spans, Span{Kind: Markup, Start: st, End: len(c.Text), Text: inner.String(), Render: inner.String()})
						addMark(cur, toks[j].raw, toks[j].last, &open, false, true)
						c.Marks[len(c.Marks)-2].keep = len(c.Spans)
						c.Marks[len(c.Marks)-1].keep = len(c.Spans)
					} else if inline[t.name] {
						var all strings.Builder
						for _, u := range toks[i : j+1] {
							all.WriteString(u.raw)
						}
						addMark(seg(), all.String(), toks[j].last, &open, false, false)
					} else {
						endSeg()
						for _, u := range toks[i : j+1] {
							raw(u.raw)
						}
					}
					i = j
					continue
				}
				if rawText[t.name] {
					// Never closed: the rest of the input is its content.
					endSeg()
					for _, u := range toks[i:] {
						raw(u.raw)
					}
					i = len(toks)
					continue
				}
			}
			if inline[t.name] {
				addMark(seg(), t.raw, t.last, &open, t.kind == tokStart && !selfClosing(t), t.kind == tokEnd)
				continue
			}
			endSeg()
			raw(t.raw)
		}
	}
	endSeg()
	return d
}

// addText appends the HTML text raw to seg: whitespace runs become one
// space, letter entities are decoded, other entities become spans.
func addText(seg *Segment, raw string) {
	last := 0
	for _, m := range entityRe.FindAllStringIndex(raw, -1) {
		addPlain(seg, raw[last:m[0]])
		ent := raw[m[0]:m[1]]
		dec := html.UnescapeString(ent)
		r, _ := utf8.DecodeRuneInString(dec)
		if dec != ent && utf8.RuneCountInString(dec) == 1 && unicode.IsLetter(r) {
			addPlain(seg, dec)
		} else {
			st := len(seg.Text)
			seg.Text += ent
			seg.Spans = append(seg.Spans, Span{Kind: Markup, Start: st, End: len(seg.Text), Text: ent, Render: ent})
		}
		last = m[1]
	}
	addPlain(seg, raw[last:])
}

func addPlain(seg *Segment, s string) {
	s = spaceRun.ReplaceAllString(s, " ")
	if strings.HasPrefix(s, " ") && (seg.Text == "" || strings.HasSuffix(seg.Text, " ")) {
		if seg.Text == "" && len(seg.Marks) == 0 {
			seg.lead += " "
		}
		s = s[1:]
	}
	seg.Text += s
}

// addMark adds an inline tag at the end of seg's text; open/close pair
// tags; last marks an unterminated tag.
func addMark(seg *Segment, raw string, last bool, open *[]int, isOpen, isClose bool) {
	m := Mark{Pos: len(seg.Text), Raw: raw, Pair: -1, last: last}
	idx := len(seg.Marks)
	if isClose {
		name := tagName(raw)
		for k := len(*open) - 1; k >= 0; k-- {
			o := (*open)[k]
			if tagName(seg.Marks[o].Raw) == name {
				seg.Marks[o].Pair = idx
				m.Pair = o
				*open = (*open)[:k]
				break
			}
		}
	}
	seg.Marks = append(seg.Marks, m)
	if isOpen {
		*open = append(*open, idx)
	}
}

func tagName(raw string) string {
	raw = strings.TrimPrefix(strings.TrimPrefix(raw, "<"), "/")
	n := 0
	for n < len(raw) && (isASCIILetter(raw[n]) || raw[n] >= '0' && raw[n] <= '9' || raw[n] == '-' || raw[n] == ':') {
		n++
	}
	return strings.ToLower(raw[:n])
}

// finishSegment moves the segment's trailing space out of Text.
func finishSegment(seg *Segment) {
	t := strings.TrimRight(seg.Text, " ")
	seg.trail = seg.Text[len(t):]
	seg.Text = t
	for i := range seg.Marks {
		seg.Marks[i].Pos = min(seg.Marks[i].Pos, len(t))
	}
}

// Render writes the document with each segment replaced by its translation
// (tr[i] for Segments[i]; a missing or empty translation keeps the source
// text) and the inline tags placed around the aligned words.
func (d *Doc) Render(tr []Translation) string {
	var b strings.Builder
	for _, p := range d.parts {
		if p.seg < 0 {
			b.WriteString(p.raw)
			continue
		}
		seg := d.Segments[p.seg]
		t := Translation{Text: seg.Text, Align: identity(seg.Text)}
		if p.seg < len(tr) && (tr[p.seg].Text != "" || seg.Text == "") {
			t = tr[p.seg]
		}
		b.WriteString(seg.lead)
		b.WriteString(placeMarks(seg, t))
	}
	return b.String()
}

// identity is the alignment of a text with itself, word by word.
func identity(s string) *Alignment {
	w := splitWords(s)
	a := &Alignment{Src: w, Tgt: w, Weights: make([]float32, len(w)*len(w))}
	for i := range w {
		a.Weights[i*len(w)+i] = 1
	}
	return a
}

// placeMarks inserts seg's marks into the translation t (escaped as HTML
// text), keeping their order, and appends the segment's trailing space. A
// tag left open at the end of the input (no ">") stays last, after all text.
func placeMarks(seg *Segment, t Translation) string {
	pos := make([]int, len(seg.Marks))
	pa := t.Align.prepare(seg.Text, t.Text)
	for i, m := range seg.Marks {
		pos[i] = targetPos(seg, t.Text, pa, i, m)
	}
	from := 0 // kept texts are found in order
	for i, m := range seg.Marks {
		if m.keep > 0 && m.Pair > i && m.keep <= len(seg.Spans) {
			// A kept element: its tags go right around its text.
			r := seg.Spans[m.keep-1].Render
			if k := strings.Index(t.Text[min(from, len(t.Text)):], r); k >= 0 {
				pos[i], pos[m.Pair] = from+k, from+k+len(r)
				from += k + len(r)
			}
		}
	}
	marks := seg.Marks
	var unclosed string
	if n := len(marks); n > 0 && marks[n-1].last {
		unclosed, marks = marks[n-1].Raw, marks[:n-1]
	}
	var b strings.Builder
	last := 0
	for i, m := range marks {
		p := max(pos[i], last)
		p = min(p, len(t.Text))
		for p > last && p < len(t.Text) && !utf8.RuneStart(t.Text[p]) {
			p--
		}
		b.WriteString(escapeText(t.Text[last:p]))
		b.WriteString(m.Raw)
		last = p
	}
	b.WriteString(escapeText(t.Text[last:]))
	b.WriteString(seg.trail)
	b.WriteString(unclosed)
	return b.String()
}

// targetPos maps mark i of seg to a byte offset of the translation.
func targetPos(seg *Segment, tgt string, pa *prepared, i int, m Mark) int {
	src, n := seg.Text, len(tgt)
	switch {
	case m.Pos <= 0:
		return 0
	case m.Pos >= len(src):
		return n
	}
	s, e := m.Pos, m.Pos
	open := m.Pair > i
	if open {
		e = seg.Marks[m.Pair].Pos
	} else if m.Pair >= 0 && m.Pair < i {
		s = seg.Marks[m.Pair].Pos
	}
	if s == e { // a point: the word that follows it
		ws, we := wordAt(src, s, s)
		if we == s {
			_, we = wordAt(src, s, min(s+1, len(src)))
		}
		s, e = ws, max(we, s+1)
	}
	if r, _, ok := pa.target(s, e); ok {
		if open || m.Pair < 0 {
			return r.Start
		}
		return r.End
	}
	// No alignment: the same relative place, at the nearest word boundary;
	// a close tag before the spaces there, any other tag after them.
	p := m.Pos * n / len(src)
	if ws, we := wordAt(tgt, p, p); p-ws <= we-p {
		p = ws
	} else {
		p = we
	}
	if !open && m.Pair >= 0 {
		for p > 0 && tgt[p-1] == ' ' {
			p--
		}
	} else {
		for p < n && tgt[p] == ' ' {
			p++
		}
	}
	return p
}

// escapeText escapes translated text for HTML: "<" always, "&" when it
// would start a character reference that is not one already.
func escapeText(s string) string {
	if !strings.ContainsAny(s, "<&") {
		return s
	}
	var b strings.Builder
	for i := 0; i < len(s); i++ {
		switch {
		case s[i] == '<':
			b.WriteString("&lt;")
		case s[i] == '&' && i+1 < len(s) && (isASCIILetter(s[i+1]) || s[i+1] == '#' || s[i+1] >= '0' && s[i+1] <= '9'):
			if loc := entityRe.FindStringIndex(s[i:]); loc != nil && loc[0] == 0 {
				b.WriteString(s[i : i+loc[1]])
				i += loc[1] - 1
				continue
			}
			b.WriteString("&amp;")
		default:
			b.WriteByte(s[i])
		}
	}
	return b.String()
}
