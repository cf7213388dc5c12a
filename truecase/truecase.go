// Package truecase gives German text written all in capitals ("ICH HABE
// HEUTE KEINE ZEIT") or all in lower case ("ich habe heute keine zeit") the
// capitalisation it would have in running text ("Ich habe heute keine
// Zeit"), so that a model trained on ordinary text reads it as it was
// trained: German capitalises its nouns, and a model that sees the same
// word in capitals reads another token sequence altogether.
//
// A Model is the usual spelling of each word, learned from sentences in
// ordinary case (Learn): for every word not at the start of a sentence,
// its most frequent form among those that differ only in case. In a
// sentence written in mixed case Recase changes only words in capitals
// that are usually written otherwise ("SEHR"), and it only touches
// plain words (letters, with inner hyphens or apostrophes): a token with
// digits or symbols (a date, a URL, a code, a placeholder) is left as
// written. Every replacement has the byte length of the word it replaces,
// so byte offsets into the sentence hold for the recased one.
//
// The package knows nothing of models or search; it sits on the floor of
// bpe and spans.
package truecase

import (
	"bufio"
	"bytes"
	"cmp"
	"errors"
	"fmt"
	"slices"
	"strings"
	"unicode"
	"unicode/utf8"
)

// Model maps each word's case-folded form (Fold) to its usual spelling.
type Model struct {
	forms map[string]string
}

// Fold is the key a word is looked up by: upper case, with ß and ẞ as SS
// (how German writes ß in capitals), so that "STRASSE" finds "Straße".
func Fold(word string) string {
	return strings.ReplaceAll(strings.ReplaceAll(strings.ToUpper(word), "ß", "SS"), "ẞ", "SS")
}

// Learn counts the words of sentences (ordinary text, one sentence or
// line each) and keeps, for every folded form seen at least minCount times
// away from the start of a sentence, its most frequent spelling (ties go
// to the spelling that sorts first). The first word of a sentence, and
// the first after a sentence end inside a line, is not counted: its
// capital says nothing.
func Learn(sentences []string, minCount int) *Model {
	counts := map[string]map[string]int{}
	for _, s := range sentences {
		start := true
		for _, t := range tokens(s) {
			if t.word != "" && !start {
				k := Fold(t.word)
				if counts[k] == nil {
					counts[k] = map[string]int{}
				}
				counts[k][t.word]++
			}
			if t.word != "" || t.ends {
				start = t.ends
			}
		}
	}
	m := &Model{forms: make(map[string]string, len(counts))}
	for k, c := range counts {
		best, n, total := "", 0, 0
		for form, v := range c {
			total += v
			if v > n || v == n && form < best {
				best, n = form, v
			}
		}
		if total >= minCount {
			m.forms[k] = best
		}
	}
	return m
}

// Len is the number of words the model knows.
func (m *Model) Len() int { return len(m.forms) }

// Usual returns the usual spelling of word and whether the model knows it.
func (m *Model) Usual(word string) (string, bool) {
	f, ok := m.forms[Fold(word)]
	return f, ok
}

// Casing is how a sentence is written.
type Casing int

const (
	// Mixed is ordinary text (or too little to tell): Recase leaves it.
	Mixed Casing = iota
	// Upper is text whose plain words are all in capitals, at least one
	// of them two letters or longer.
	Upper
	// Lower is text whose plain words are all in lower case.
	Lower
)

// CasingOf tells how sentence is written, judging only its plain words.
func CasingOf(sentence string) Casing { return casingOf(tokens(sentence)) }

// casingOf is CasingOf of a sentence's tokens.
func casingOf(toks []token) Casing {
	upper, lower, long := 0, 0, 0
	for _, t := range toks {
		if t.word == "" {
			continue
		}
		letters := 0
		for _, r := range t.word {
			switch {
			case unicode.IsUpper(r):
				upper++
				letters++
			case unicode.IsLower(r) && r != 'ß': // ß has no capital in running text: "GROß" is capitals
				lower++
				letters++
			}
		}
		if letters >= 2 {
			long++
		}
	}
	switch {
	case long == 0:
		return Mixed
	case lower == 0:
		return Upper
	case upper == 0:
		return Lower
	}
	return Mixed
}

// Recase returns sentence in its usual case when it is written all in
// capitals or all in lower case (CasingOf). Known words take their usual
// spelling; in a sentence in capitals an unknown word becomes capitalised
// ("BECKER" → "Becker", as most unknown German words are nouns or names),
// in lower case it stays as written. The first word gets a capital when
// it opens the sentence (nothing but punctuation before it). In a sentence
// in mixed case only the words written in capitals for emphasis change:
// a known word whose usual spelling is not in capitals ("Das ist SEHR
// wichtig", "ACHTUNG: Der Zug …"); words usually written in capitals
// ("USA") and unknown ones ("ADAC") stay. A word whose usual spelling
// has another byte length stays as written, so the result has the byte
// length of sentence.
func (m *Model) Recase(sentence string) string {
	toks := tokens(sentence)
	c := casingOf(toks)
	if c == Mixed && !m.emphasis(toks) {
		return sentence
	}
	var b strings.Builder
	b.Grow(len(sentence))
	first := true // at the start of the sentence, or just after a sentence end
	for _, t := range toks {
		if t.word == "" {
			b.WriteString(t.text)
			if strings.TrimSpace(t.text) != "" {
				first = t.ends
			}
			continue
		}
		w := t.word
		switch {
		case c != Mixed:
			w = m.word(w, c)
		default:
			if f, ok := m.emphasised(w); ok {
				w = f
			}
		}
		if first && (c != Mixed || w != t.word) {
			w = capitalise(w)
		}
		first = t.ends
		if len(w) != len(t.word) {
			w = t.word
		}
		b.WriteString(t.text[:t.at])
		b.WriteString(w)
		b.WriteString(t.text[t.at+len(t.word):])
	}
	return b.String()
}

// Capitals returns text with its plain words in capitals and every other
// token (numbers, dates, URLs, codes, placeholders) as written: the
// translation of a sentence written in capitals, given back in capitals.
func Capitals(text string) string {
	var b strings.Builder
	b.Grow(len(text))
	for _, t := range tokens(text) {
		if t.word == "" {
			b.WriteString(t.text)
			continue
		}
		b.WriteString(t.text[:t.at])
		b.WriteString(strings.ToUpper(t.word))
		b.WriteString(t.text[t.at+len(t.word):])
	}
	return b.String()
}

// Unknown returns the byte ranges ([start, end) pairs) of the words of a
// sentence in mixed case that are written in capitals, two to five
// letters long, and unknown to m: abbreviations such as "ADAC" or "EU",
// which a model that never saw them garbles and a translation should
// copy. Known ones ("USA", "SEHR") are not among them, and nor is any word
// of a sentence written all in capitals, where nothing tells an
// abbreviation from a word.
func (m *Model) Unknown(sentence string) [][2]int {
	toks := tokens(sentence)
	if casingOf(toks) != Mixed {
		return nil
	}
	var out [][2]int
	at := 0
	for _, t := range toks {
		if utf8.RuneCountInString(t.word) <= 5 && inCapitals(t.word) && !strings.ContainsAny(t.word, "-'’") {
			if _, known := m.Usual(t.word); !known {
				out = append(out, [2]int{at + t.at, at + t.at + len(t.word)})
			}
		}
		at += len(t.text)
	}
	return out
}

// emphasis reports whether a sentence in mixed case has a word in
// capitals that Recase changes.
func (m *Model) emphasis(toks []token) bool {
	for _, t := range toks {
		if _, ok := m.emphasised(t.word); ok {
			return true
		}
	}
	return false
}

// emphasised returns the usual spelling of a word written in capitals
// for emphasis in a mixed-case sentence: a known word usually written
// otherwise, of the same byte length.
func (m *Model) emphasised(w string) (string, bool) {
	if !inCapitals(w) {
		return "", false
	}
	f, ok := m.Usual(w)
	return f, ok && !inCapitals(f) && len(f) == len(w)
}

// inCapitals reports a word of two or more letters, all in capitals.
func inCapitals(w string) bool {
	letters := 0
	for _, r := range w {
		if unicode.IsLetter(r) {
			if !unicode.IsUpper(r) {
				return false
			}
			letters++
		}
	}
	return letters >= 2
}

// word is the usual spelling of one plain word of a sentence written in
// casing c: the whole word if known, else each hyphen-joined part.
func (m *Model) word(w string, c Casing) string {
	if f, ok := m.Usual(w); ok && len(f) == len(w) {
		return f
	}
	if strings.Contains(w, "-") {
		parts := strings.Split(w, "-")
		for i, p := range parts {
			parts[i] = m.word(p, c)
		}
		return strings.Join(parts, "-")
	}
	if c == Upper {
		return capitalise(strings.ToLower(w))
	}
	return w
}

// capitalise puts the first letter of w in capitals when that keeps its
// byte length.
func capitalise(w string) string {
	r, n := utf8.DecodeRuneInString(w)
	u := unicode.ToUpper(r)
	if utf8.RuneLen(u) != n {
		return w
	}
	return string(u) + w[n:]
}

// token is a piece of a sentence: a run of spaces, or a run of non-space
// characters (text); word is its plain word, found at byte at of text,
// with the punctuation around it outside; "" when the token is not a
// plain word. ends is set when the token ends a sentence (. ! ? … or : at
// its end).
type token struct {
	text string
	word string
	at   int
	ends bool
}

// tokens cuts s at spaces.
func tokens(s string) []token {
	var out []token
	for len(s) > 0 {
		r, _ := utf8.DecodeRuneInString(s)
		space := unicode.IsSpace(r)
		i := strings.IndexFunc(s, func(r rune) bool { return unicode.IsSpace(r) != space })
		if i < 0 {
			i = len(s)
		}
		t := token{text: s[:i]}
		if !space {
			t.word, t.at = plainWord(t.text)
			trimmed := strings.TrimRightFunc(t.text, isCloser)
			if r, _ := utf8.DecodeLastRuneInString(trimmed); strings.ContainsRune(".!?…:", r) {
				t.ends = true
			}
		}
		out = append(out, t)
		s = s[i:]
	}
	return out
}

// plainWord returns the plain word of a token and its offset: the token
// without leading openers and trailing punctuation, when what remains is
// letters with single inner hyphens or apostrophes ("E-Mail", "hab's");
// else "".
func plainWord(t string) (string, int) {
	start := len(t) - len(strings.TrimLeftFunc(t, isOpener))
	core := strings.TrimRightFunc(t[start:], func(r rune) bool { return isCloser(r) || strings.ContainsRune(".,;:!?…", r) })
	if core == "" {
		return "", 0
	}
	prevJoin := true // no joiner first
	for _, r := range core {
		switch {
		case unicode.IsLetter(r):
			prevJoin = false
		case (r == '-' || r == '\'' || r == '’') && !prevJoin:
			prevJoin = true
		default:
			return "", 0
		}
	}
	if prevJoin {
		return "", 0
	}
	return core, start
}

// isOpener and isCloser report the quotes and brackets that may stand
// before and after a plain word.
func isOpener(r rune) bool { return strings.ContainsRune(`"'„“‚‘»«›‹([¿¡`, r) }
func isCloser(r rune) bool { return strings.ContainsRune(`"'“”‘’»«›‹)]`, r) }

// header starts the text form of a Model.
const header = "deen-truecase 1\n"

// MaxBytes bounds the text form UnmarshalBinary accepts.
const MaxBytes = 16 << 20

// MarshalBinary writes the model as text: a header line, then the usual
// spellings one per line, sorted by their folded form.
func (m *Model) MarshalBinary() ([]byte, error) {
	keys := make([]string, 0, len(m.forms))
	for k := range m.forms {
		keys = append(keys, k)
	}
	slices.SortFunc(keys, cmp.Compare)
	var b bytes.Buffer
	b.WriteString(header)
	for _, k := range keys {
		b.WriteString(m.forms[k])
		b.WriteByte('\n')
	}
	return b.Bytes(), nil
}

// ErrFormat reports a text form UnmarshalBinary cannot read.
var ErrFormat = errors.New("truecase: not a truecase model")

// UnmarshalBinary reads what MarshalBinary wrote. It refuses, naming the
// line, anything else: another header, a line that is not one plain word
// in valid UTF-8, two spellings of one word, more than MaxBytes.
func (m *Model) UnmarshalBinary(data []byte) error {
	if len(data) > MaxBytes {
		return fmt.Errorf("%w: %d bytes, at most %d", ErrFormat, len(data), MaxBytes)
	}
	if !bytes.HasPrefix(data, []byte(header)) {
		return fmt.Errorf("%w: no %q header", ErrFormat, strings.TrimSpace(header))
	}
	forms := map[string]string{}
	sc := bufio.NewScanner(bytes.NewReader(data[len(header):]))
	sc.Buffer(make([]byte, 0, 4096), MaxBytes)
	for n := 2; sc.Scan(); n++ {
		w := sc.Text()
		if !utf8.ValidString(w) {
			return fmt.Errorf("%w: line %d is not valid UTF-8", ErrFormat, n)
		}
		if p, at := plainWord(w); w == "" || p != w || at != 0 {
			return fmt.Errorf("%w: line %d (%q) is not one plain word", ErrFormat, n, w)
		}
		k := Fold(w)
		if _, dup := forms[k]; dup {
			return fmt.Errorf("%w: line %d (%q) spells %s a second time", ErrFormat, n, w, k)
		}
		forms[k] = w
	}
	if err := sc.Err(); err != nil {
		return fmt.Errorf("%w: %v", ErrFormat, err)
	}
	m.forms = forms
	return nil
}
