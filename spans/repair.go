package spans

import (
	"regexp"
	"sort"
	"strings"
	"unicode"
	"unicode/utf8"
)

// Range is a half-open byte range [Start, End) of a text.
type Range struct{ Start, End int }

// Alignment links the tokens of a source text to the tokens of its
// translation. Weights is row-major, one row per target token:
// Weights[j*len(Src)+i] is how much target token j attends to source token i
// (for example the decoder's cross-attention averaged over heads). Rows need
// not sum to one. An Alignment whose sizes disagree, or whose ranges fall
// outside the texts, is treated as no alignment where it is wrong; it never
// causes a panic.
type Alignment struct {
	Src     []Range   // byte ranges of the source tokens in the source text
	Tgt     []Range   // byte ranges of the target tokens in the target text
	Weights []float32 // len(Tgt)·len(Src) weights
}

// valid reports whether the alignment can be read for texts of these lengths.
func (a *Alignment) valid(srcLen, tgtLen int) bool {
	if a == nil || len(a.Src) == 0 || len(a.Tgt) == 0 || len(a.Weights) != len(a.Src)*len(a.Tgt) {
		return false
	}
	for _, r := range a.Src {
		if r.Start < 0 || r.End < r.Start || r.End > srcLen {
			return false
		}
	}
	for _, r := range a.Tgt {
		if r.Start < 0 || r.End < r.Start || r.End > tgtLen {
			return false
		}
	}
	return true
}

// Target returns the byte range of the target text aligned to the source
// range [s, e): the run of target tokens whose strongest source token lies in
// [s, e), around the one that attends to it most, widened to whole words.
// ok is false when no target token is aligned there; at is then the target
// byte offset just after the word that attends most to [s, e) (the place to
// insert), or -1 without a usable alignment.
func (a *Alignment) Target(src, tgt string, s, e int) (r Range, at int, ok bool) {
	return a.prepare(src, tgt).target(s, e)
}

// prepared is an alignment checked against its texts, with the strongest
// source token of every target token computed once.
type prepared struct {
	a        *Alignment
	src, tgt string
	argmax   []int // per target token; nil when the alignment is unusable
}

func (a *Alignment) prepare(src, tgt string) *prepared {
	p := &prepared{a: a, src: src, tgt: tgt}
	if !a.valid(len(src), len(tgt)) {
		return p
	}
	n := len(a.Src)
	p.argmax = make([]int, len(a.Tgt))
	for j := range a.Tgt {
		row := a.Weights[j*n : (j+1)*n]
		arg := 0
		for i, w := range row {
			if w > row[arg] {
				arg = i
			}
		}
		p.argmax[j] = arg
	}
	return p
}

func (p *prepared) target(s, e int) (r Range, at int, ok bool) {
	if p.argmax == nil {
		return Range{}, -1, false
	}
	a, tgt := p.a, p.tgt
	n := len(a.Src)
	var in []int // source tokens inside [s, e)
	for i, sr := range a.Src {
		if sr.End > s && sr.Start < e || sr.Start == sr.End && sr.Start >= s && sr.Start < e {
			in = append(in, i)
		}
	}
	if len(in) == 0 {
		return Range{}, -1, false
	}
	lo, hi := in[0], in[len(in)-1] // in is sorted and contiguous in index
	aligned := make([]bool, len(a.Tgt))
	best, bestMass := -1, float32(-1)
	for j, tr := range a.Tgt {
		if tr.End == tr.Start {
			continue
		}
		aligned[j] = p.argmax[j] >= lo && p.argmax[j] <= hi
		mass := float32(0)
		for _, i := range in {
			mass += a.Weights[j*n+i]
		}
		if mass > bestMass {
			best, bestMass = j, mass
		}
	}
	if best < 0 {
		return Range{}, -1, false
	}
	if !aligned[best] {
		// Nothing takes the span as its strongest source: prefer an aligned
		// token if any, else insert after the word attending most.
		found := false
		for j := range aligned {
			if aligned[j] {
				best, found = j, true
				break
			}
		}
		if !found {
			_, end := wordAt(tgt, a.Tgt[best].Start, a.Tgt[best].End)
			return Range{}, end, false
		}
	}
	// The run of aligned tokens around best, at most len(in)+2 tokens long
	// (a confused model can align half the sentence to one number).
	first, last := best, best
	for room := len(in) + 1; room > 0; room-- {
		switch {
		case first > 0 && (aligned[first-1] || a.Tgt[first-1].End == a.Tgt[first-1].Start):
			first--
		case last+1 < len(aligned) && (aligned[last+1] || a.Tgt[last+1].End == a.Tgt[last+1].Start):
			last++
		default:
			room = 0
		}
	}
	st, en := wordAt(tgt, a.Tgt[first].Start, a.Tgt[last].End)
	// Spaces and sentence punctuation at the ends belong to the sentence.
	for st < en && (unicode.IsSpace(rune(tgt[st])) || strings.IndexByte(".,;:!?", tgt[st]) >= 0) {
		st++
	}
	for en > st && (unicode.IsSpace(rune(tgt[en-1])) || strings.IndexByte(".,;:!?", tgt[en-1]) >= 0) {
		en--
	}
	if st >= en {
		return Range{}, en, false
	}
	return Range{st, en}, en, true
}

// wordAt widens [s, e) of t to whole words (letters, digits, and the
// apostrophes and hyphens inside words).
func wordAt(t string, s, e int) (int, int) {
	for s > 0 {
		r, n := utf8.DecodeLastRuneInString(t[:s])
		if !isWordRune(r) {
			break
		}
		s -= n
	}
	for e < len(t) {
		r, n := utf8.DecodeRuneInString(t[e:])
		if !isWordRune(r) {
			break
		}
		e += n
	}
	return s, e
}

func isWordRune(r rune) bool {
	return unicode.IsLetter(r) || unicode.IsDigit(r) || r == '\'' || r == '_'
}

// Missing returns the indexes of the spans whose Render the translation
// lacks. A span that occurs k times in the source must occur k times in the
// translation. A number must stand alone (not inside a longer number); the
// numbers 0–12 may also be written as English words ("4 Jahre" → "four
// years").
func Missing(tgt string, spans []Span) []int {
	var miss []int
	used := map[string]int{} // render → occurrences consumed so far
	for i, sp := range spans {
		if sp.Render == "" {
			continue
		}
		k := used[sp.Render]
		if n := len(occurrences(tgt, sp)); n > k {
			used[sp.Render] = k + 1
			continue
		}
		if hasNumberWord(tgt, sp) {
			continue
		}
		miss = append(miss, i)
	}
	return miss
}

// occurrences returns the byte offsets where sp.Render stands in t (for
// numbers: not glued to other digits; for glossary terms and
// abbreviations: as whole words).
func occurrences(t string, sp Span) []int {
	return find(t, sp.Render, sp.Kind)
}

func find(t, s string, k Kind) []int {
	var at []int
	if s == "" {
		return nil
	}
	for off := 0; off <= len(t)-len(s); {
		i := strings.Index(t[off:], s)
		if i < 0 {
			break
		}
		p := off + i
		off = p + 1
		if !standsAlone(t, p, p+len(s), k) {
			continue
		}
		at = append(at, p)
	}
	return at
}

// standsAlone checks the boundaries of an occurrence [s, e) of a span of
// kind k: numbers must not continue into other digits (nor a decimal or
// thousands group); glossary terms and abbreviations must be whole words.
func standsAlone(t string, s, e int, k Kind) bool {
	switch k {
	case Number, Ordinal, Time, Date, Version, Phone:
		if s > 0 {
			r, _ := utf8.DecodeLastRuneInString(t[:s])
			if unicode.IsDigit(r) {
				return false
			}
			if (r == '.' || r == ',') && s > 1 {
				r2, _ := utf8.DecodeLastRuneInString(t[:s-1])
				if unicode.IsDigit(r2) {
					return false
				}
			}
		}
		if e < len(t) {
			r, n := utf8.DecodeRuneInString(t[e:])
			if unicode.IsDigit(r) {
				return false
			}
			if (r == '.' || r == ',' || r == ':') && e+n < len(t) {
				r2, _ := utf8.DecodeRuneInString(t[e+n:])
				if unicode.IsDigit(r2) {
					return false
				}
			}
		}
	case Term, Abbreviation:
		if s > 0 {
			r, _ := utf8.DecodeLastRuneInString(t[:s])
			if unicode.IsLetter(r) {
				return false
			}
		}
		if e < len(t) {
			r, _ := utf8.DecodeRuneInString(t[e:])
			// "invoices" keeps "invoice": an English plural s is allowed.
			if unicode.IsLetter(r) && !(r == 's' && (e+1 == len(t) || !isWordRune(rune(t[e+1])))) {
				return false
			}
		}
	}
	return true
}

func hasNumberWord(t string, sp Span) bool {
	if sp.Kind != Number {
		return false
	}
	if num, unit := splitUnit(sp.Render); unit != "" {
		// "20 percent" keeps "20 %", "25 degrees" keeps "25 °C".
		for _, w := range unitWords[strings.TrimLeft(unit, " \u00a0\u202f")] {
			if len(find(t, num+" "+w, Number)) > 0 {
				return true
			}
		}
		return false
	}
	for _, w := range numberWords[sp.Render] {
		if len(w) < 3 {
			continue // "a", "an", "no" prove nothing
		}
		low := strings.ToLower(t)
		for off := 0; ; {
			i := strings.Index(low[off:], w)
			if i < 0 {
				break
			}
			p := off + i
			off = p + len(w)
			if (p == 0 || !isWordRune(rune(low[p-1]))) && (off == len(low) || !isWordRune(rune(low[off]))) {
				return true
			}
		}
	}
	return false
}

// Fix reports one repaired span.
type Fix struct {
	Span Span
	// How the span was put back: "format" (the model copied the source
	// form; it was rewritten to the rendering), "aligned" (the target words
	// aligned to it were replaced), "inserted" (nothing was aligned; the
	// span was inserted where the alignment points) or "appended" (no
	// alignment; added at the end of the sentence).
	How string
	// Replaced is the target text the span replaced ("" when inserted).
	Replaced string
}

// edit replaces tgt[s:e] with text.
type edit struct {
	s, e int
	text string
}

// Repair returns tgt with every span of src that Missing reports put back,
// and what it did. al may be nil (then missing spans are appended before the
// final punctuation). Spans present in tgt are never touched, and a repair
// never overwrites them.
func Repair(src, tgt string, spans []Span, al *Alignment) (string, []Fix) {
	miss := Missing(tgt, spans)
	if len(miss) == 0 {
		return tgt, nil
	}
	// Regions holding a present span's rendering are protected.
	var protected []Range
	isMissing := map[int]bool{}
	for _, i := range miss {
		isMissing[i] = true
	}
	for i, sp := range spans {
		if isMissing[i] {
			continue
		}
		for _, p := range occurrences(tgt, sp) {
			protected = append(protected, Range{p, p + len(sp.Render)})
		}
	}
	overlaps := func(s, e int) bool {
		for _, r := range protected {
			if r.Start < e && s < r.End {
				return true
			}
		}
		return false
	}
	var edits []edit
	var fixes []Fix
	pa := al.prepare(src, tgt)
	add := func(s, e int, sp Span, how string) {
		text := sp.Render
		if sp.Kind == Term && how == "aligned" && englishPlural(tgt[s:e]) && !strings.HasSuffix(text, "s") && !unicode.IsUpper(firstRune(text)) {
			text += "s" // "the bills" → "the invoices"; names and kept German terms stay as written
		}
		// A rendering must not glue to digits around it ("0 0,0" with "0 0"
		// replaced by "00" would read "00,0"): a space keeps it apart.
		if !standsAlone(tgt[:s]+text, s, s+len(text), sp.Kind) {
			text = " " + text
		}
		if !standsAlone(text+tgt[e:], 0, len(text), sp.Kind) {
			text += " "
		}
		edits = append(edits, edit{s, e, text})
		protected = append(protected, Range{s, max(e, s+1)})
		fixes = append(fixes, Fix{Span: sp, How: how, Replaced: tgt[s:e]})
	}
	for _, i := range miss {
		sp := spans[i]
		// 1. The model copied the source form (1.150,00, a German glossary
		// term): rewrite it.
		if sp.Text != sp.Render {
			done := false
			for _, p := range find(tgt, sp.Text, sp.Kind) {
				if !overlaps(p, p+len(sp.Text)) {
					add(p, p+len(sp.Text), sp, "format")
					done = true
					break
				}
			}
			if done {
				continue
			}
		}
		// 2. Replace the target words aligned to the span.
		r, at, ok := pa.target(sp.Start, sp.End)
		if ok {
			r = trimFunctionWords(tgt, r, sp.Kind)
			r = digitWords(tgt, r, sp.Render)
			if sp.Kind == Time {
				if m := ampm.FindStringIndex(tgt[r.End:]); m != nil {
					r.End += m[1] // "7:00 p.m." → "17:42", not "17:42 p.m."
					if tgt[r.End-1] == '.' && strings.TrimSpace(tgt[r.End:]) == "" {
						r.End-- // the sentence's own full stop
					}
				}
			}
		}
		if ok && !overlaps(r.Start, r.End) {
			add(r.Start, r.End, sp, "aligned")
			continue
		}
		if ok {
			at = r.End
		}
		// 3. Insert where the alignment points, else before the final
		// punctuation.
		how := "inserted"
		if at < 0 {
			at, how = endOfSentence(tgt), "appended"
		}
		for _, p := range protected {
			if p.Start < at && at < p.End {
				at = p.End
			}
		}
		add(at, at, sp, how)
	}
	return apply(tgt, edits), fixes
}

// functionWords are English words an aligned range keeps when a span
// replaces it ("at 6 pm" → "at 18:30"); articles only for glossary terms
// and abbreviations ("the bill" → "the invoice", "The A ASS" → "The ADAC",
// but "a thousand" → "1,000").
var functionWords = map[string]bool{"at": true, "on": true, "in": true, "of": true,
	"to": true, "by": true, "for": true, "from": true, "with": true, "and": true, "is": true, "was": true}

var articles = map[string]bool{"the": true, "a": true, "an": true}

// trimFunctionWords drops function words (and, for glossary terms,
// articles; for abbreviations "the", since a garbled one often starts with
// a single "A") from both ends of r in t, as long as a word remains; k is
// the kind of the span that replaces r.
func trimFunctionWords(t string, r Range, k Kind) Range {
	keep := func(w string) bool {
		w = strings.ToLower(w)
		return functionWords[w] || k == Term && articles[w] || k == Abbreviation && w == "the"
	}
	words := splitWords(t[r.Start:r.End])
	lo, hi := 0, len(words)
	for lo < hi-1 && keep(t[r.Start+words[lo].Start:r.Start+words[lo].End]) {
		lo++
	}
	for hi-1 > lo && keep(t[r.Start+words[hi-1].Start:r.Start+words[hi-1].End]) {
		hi--
	}
	if len(words) == 0 || (lo == 0 && hi == len(words)) {
		return r
	}
	st, en := r.Start+words[lo].Start, r.Start+words[hi-1].End
	if hi == len(words) {
		en = r.End // keep what followed the last word (a unit, a dot)
	}
	return Range{st, en}
}

// ampm is an English 12-hour clock suffix right after a time (the model
// may stutter it: "p.m.m.m").
var ampm = regexp.MustCompile(`^\s?(?i:[ap]\.?m\b\.?)(?:m?\.)*(?:m\b)?`)

// digitWords narrows r to the words from the first to the last one with a
// digit, when the rendering has digits and r has such words: the model's
// wrong number is what a number replaces ("costs 129" → "costs 12.99").
func digitWords(t string, r Range, render string) Range {
	if !strings.ContainsAny(render, "0123456789") {
		return r
	}
	lo, hi := -1, -1
	for _, w := range splitWords(t[r.Start:r.End]) {
		if strings.ContainsAny(t[r.Start+w.Start:r.Start+w.End], "0123456789") {
			if lo < 0 {
				lo = r.Start + w.Start
			}
			hi = r.Start + w.End
		}
	}
	if lo < 0 {
		return r
	}
	// Keep the separators glued to the digits (1.150, 7:00).
	for hi < r.End && strings.IndexByte(".,:/-", t[hi]) >= 0 && hi+1 < r.End && t[hi+1] >= '0' && t[hi+1] <= '9' {
		_, hi = wordAt(t, hi+1, hi+1)
	}
	return Range{lo, hi}
}

// englishPlural reports an English word that looks plural: it ends in a
// lower-case s but not ss, 's or us ("bills", not "boss", "Tom's", "bus").
func englishPlural(w string) bool {
	return len(w) > 3 && strings.HasSuffix(w, "s") && !strings.HasSuffix(w, "ss") &&
		!strings.HasSuffix(w, "'s") && !strings.HasSuffix(w, "us") && !strings.HasSuffix(w, "is")
}

// endOfSentence is the byte offset before the final punctuation and spaces.
func endOfSentence(t string) int {
	e := len(t)
	for e > 0 {
		r, n := utf8.DecodeLastRuneInString(t[:e])
		if !unicode.IsSpace(r) && !strings.ContainsRune(".!?…\"'»“”)", r) {
			break
		}
		e -= n
	}
	return e
}

// apply performs edits on t (insertions get a space on each side that
// touches a word; equal offsets keep their order).
func apply(t string, edits []edit) string {
	sort.SliceStable(edits, func(i, j int) bool { return edits[i].s < edits[j].s })
	var b strings.Builder
	last := 0
	for _, ed := range edits {
		if ed.s < last {
			ed.s = last
		}
		if ed.e < ed.s {
			ed.e = ed.s
		}
		b.WriteString(t[last:ed.s])
		text := ed.text
		if ed.s == ed.e {
			out := b.String()
			if len(out) > 0 && !unicode.IsSpace(lastRune(out)) && !unicode.IsSpace(firstRune(text)) {
				text = " " + text
			}
			if ed.e < len(t) && !unicode.IsSpace(lastRune(text)) {
				r, _ := utf8.DecodeRuneInString(t[ed.e:])
				if isWordRune(r) {
					text += " "
				}
			}
		}
		b.WriteString(text)
		last = ed.e
	}
	b.WriteString(t[last:])
	return b.String()
}

func firstRune(s string) rune {
	r, _ := utf8.DecodeRuneInString(s)
	return r
}

func lastRune(s string) rune {
	r, _ := utf8.DecodeLastRuneInString(s)
	return r
}
