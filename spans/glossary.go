package spans

import (
	"bufio"
	"fmt"
	"io"
	"sort"
	"strings"
	"unicode"
	"unicode/utf8"
)

// Glossary maps German terms to the English terms a translation must use.
//
// A term matches case-insensitively, word by word, and each word of it also
// matches these inflected forms (a simple rule, not a morphology):
//   - the word plus one of the endings -s, -es, -e, -en, -n, -er, -ern, -ns,
//     -ens, -nen (Rechnung → Rechnungen, Antrag → Antrags, Karte → Karten);
//   - the word with its last a, o, u or au umlauted (ä, ö, ü, äu), alone or
//     plus -e, -en, -er, -ern (Antrag → Anträge, Haus → Häuser, Mutter → Mütter).
//
// Not covered: compounds (Rechnungsbetrag does not match Rechnung), changes
// inside the stem other than that umlaut (Museum → Museen), and separable
// verbs. The English term is written exactly as in the file, whatever the
// case of the German match (Repair adds an English plural -s when the words
// it replaces look plural: "the bills" → "the invoices"); a term with the
// same text on both sides is kept as written ("do not translate").
type Glossary struct {
	terms []term
}

type term struct {
	german, english string
	words           []string // lower-case words of german
}

// ReadGlossary reads a glossary in TSV form: one "German TAB English" pair a
// line, UTF-8 (a BOM is skipped), LF or CRLF. Empty lines and lines starting
// with # are ignored. A line without a tab, with an empty side, or with more
// than one tab is an error naming the line.
func ReadGlossary(r io.Reader) (*Glossary, error) {
	g := &Glossary{}
	sc := bufio.NewScanner(r)
	sc.Buffer(make([]byte, 0, 64*1024), 1<<20)
	for n := 1; sc.Scan(); n++ {
		line := strings.TrimRight(sc.Text(), "\r")
		if n == 1 {
			line = strings.TrimPrefix(line, "\ufeff")
		}
		if strings.TrimSpace(line) == "" || strings.HasPrefix(line, "#") {
			continue
		}
		if !utf8.ValidString(line) {
			return nil, fmt.Errorf("glossary line %d: invalid UTF-8 (save the file as UTF-8)", n)
		}
		parts := strings.Split(line, "\t")
		if len(parts) != 2 {
			return nil, fmt.Errorf("glossary line %d: want \"German<TAB>English\", found %d tab(s) in %q", n, len(parts)-1, line)
		}
		de, en := strings.TrimSpace(parts[0]), strings.TrimSpace(parts[1])
		if de == "" || en == "" {
			return nil, fmt.Errorf("glossary line %d: empty term in %q (both the German and the English side are needed; the same word twice keeps it)", n, line)
		}
		var words []string
		for _, w := range splitWords(de) {
			words = append(words, strings.ToLower(de[w.Start:w.End]))
		}
		if len(words) == 0 {
			return nil, fmt.Errorf("glossary line %d: German term %q has no letters or digits", n, de)
		}
		g.terms = append(g.terms, term{german: de, english: en, words: words})
	}
	if err := sc.Err(); err != nil {
		return nil, fmt.Errorf("reading glossary: %w", err)
	}
	// Longer terms first, so "Rotes Kreuz" wins over "Kreuz".
	sort.SliceStable(g.terms, func(i, j int) bool { return len(g.terms[i].words) > len(g.terms[j].words) })
	return g, nil
}

// Len returns the number of terms.
func (g *Glossary) Len() int {
	if g == nil {
		return 0
	}
	return len(g.terms)
}

// Find returns the glossary matches in text as spans of kind Term
// (Text is the German form found, Render the English term), sorted and not
// overlapping. A nil Glossary finds nothing.
func (g *Glossary) Find(text string) []Span {
	if g == nil {
		return nil
	}
	words := splitWords(text)
	taken := make([]bool, len(words))
	var out []Span
	for _, t := range g.terms {
		k := len(t.words)
	next:
		for i := 0; i+k <= len(words); i++ {
			for j := 0; j < k; j++ {
				if taken[i+j] || !inflectionOf(strings.ToLower(text[words[i+j].Start:words[i+j].End]), t.words[j]) {
					continue next
				}
			}
			for j := 0; j < k; j++ {
				taken[i+j] = true
			}
			s, e := words[i].Start, words[i+k-1].End
			out = append(out, Span{Kind: Term, Start: s, End: e, Text: text[s:e], Render: t.english})
		}
	}
	sort.Slice(out, func(i, j int) bool { return out[i].Start < out[j].Start })
	return out
}

var endings = []string{"", "s", "es", "e", "en", "n", "er", "ern", "ns", "ens", "nen"}
var umlautEndings = []string{"", "e", "en", "er", "ern"}

// inflectionOf reports whether word (lower case) is base (lower case) or one
// of the inflected forms the Glossary doc lists.
func inflectionOf(word, base string) bool {
	if rest, ok := strings.CutPrefix(word, base); ok {
		return contains(endings, rest)
	}
	if u := umlaut(base); u != "" {
		if rest, ok := strings.CutPrefix(word, u); ok {
			return contains(umlautEndings, rest)
		}
	}
	return false
}

func contains(list []string, s string) bool {
	for _, x := range list {
		if x == s {
			return true
		}
	}
	return false
}

// umlaut returns base with its last a, o, u or au umlauted, or "".
func umlaut(base string) string {
	i := strings.LastIndexAny(base, "aou")
	if i < 0 {
		return ""
	}
	if base[i] == 'u' && i > 0 && base[i-1] == 'a' {
		return base[:i-1] + "äu" + base[i+1:]
	}
	return base[:i] + map[byte]string{'a': "ä", 'o': "ö", 'u': "ü"}[base[i]] + base[i+1:]
}

// splitWords returns the byte ranges of the words of text: runs of letters
// and digits, with inner hyphens and apostrophes.
func splitWords(text string) []Range {
	var out []Range
	start := -1
	for i, r := range text {
		inWord := unicode.IsLetter(r) || unicode.IsDigit(r)
		if !inWord && (r == '-' || r == '\'') && start >= 0 && i+1 < len(text) {
			n, _ := utf8.DecodeRuneInString(text[i+1:])
			inWord = unicode.IsLetter(n) || unicode.IsDigit(n)
		}
		switch {
		case inWord && start < 0:
			start = i
		case !inWord && start >= 0:
			out = append(out, Range{start, i})
			start = -1
		}
	}
	if start >= 0 {
		out = append(out, Range{start, len(text)})
	}
	return out
}

// Merge returns the spans of a and those of b that overlap none of a,
// sorted by position (for example detected spans and glossary matches).
func Merge(a, b []Span) []Span {
	out := append([]Span(nil), a...)
	for _, s := range b {
		ok := true
		for _, t := range a {
			if t.Start < s.End && s.Start < t.End {
				ok = false
				break
			}
		}
		if ok {
			out = append(out, s)
		}
	}
	sort.SliceStable(out, func(i, j int) bool { return out[i].Start < out[j].Start })
	return out
}
