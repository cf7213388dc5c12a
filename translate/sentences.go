package translate

import (
	"strings"
	"unicode"
	"unicode/utf8"
)

// SplitSentences splits a paragraph of German text into sentences, without
// the whitespace around them. It splits after '.', '!', '?' or '…' (and
// closing quotes or brackets after them) when whitespace and the start of a
// new sentence (a capital letter, a digit or an opening quote or bracket)
// follow, except after abbreviations (z. B., Dr., Nr., ca.), initials,
// ordinals (am 3. Mai, im 19. Jahrhundert) and heading numbers (2. Ergebnisse).
// Decimals (3.5), times (8.30) and dotted abbreviations (z.B.) never split,
// having no space after the dot.
func SplitSentences(text string) []string {
	var out []string
	for _, sp := range sentenceSpans(text) {
		out = append(out, text[sp[0]:sp[1]])
	}
	return out
}

// sentenceSpans returns the byte ranges [start, end) of the sentences of
// text, trimmed of whitespace, in order.
func sentenceSpans(text string) [][2]int {
	var spans [][2]int
	start := skipSpace(text, 0)
	for i := start; i < len(text); {
		r, size := utf8.DecodeRuneInString(text[i:])
		if !isTerminator(r) {
			i += size
			continue
		}
		// The terminator run: .?! and …, then closing quotes and brackets.
		end := i
		for end < len(text) {
			r, size := utf8.DecodeRuneInString(text[end:])
			if !isTerminator(r) {
				break
			}
			end += size
		}
		for end < len(text) {
			r, size := utf8.DecodeRuneInString(text[end:])
			if !isCloser(r) {
				break
			}
			end += size
		}
		next := skipSpace(text, end)
		if next > end && next < len(text) && startsSentence(text[next:]) && !noBreakAfter(text[start:i], text[i:end], text[next:]) {
			spans = append(spans, [2]int{start, trimRightSpace(text, end)})
			start = next
		}
		i = max(end, i+size)
	}
	if end := trimRightSpace(text, len(text)); end > start {
		spans = append(spans, [2]int{start, end})
	}
	return spans
}

// noBreakAfter reports whether a full stop does not end the sentence
// before, given the terminator run term and the text after it.
func noBreakAfter(before, term, after string) bool {
	if term != "." {
		return false // ?! … and "." followed by quotes end sentences
	}
	word := lastWord(before)
	switch {
	case word == "":
		return false
	case abbreviations[word], strings.HasSuffix(word, "str"): // Dr., Hauptstr.
		return true
	case isInitials(word):
		return true // z. B., u. a., z.B., A. Merkel
	case isDigits(word) && len(word) <= 3:
		// An ordinal: "am 3. Mai", "im 19. Jahrhundert", "der 2. Weltkrieg",
		// or a numbered heading: "2. Ergebnisse".
		prev := strings.TrimRightFunc(strings.TrimSuffix(strings.TrimRightFunc(before, unicode.IsSpace), word), unicode.IsSpace)
		return prev == "" || months[firstWord(after)] || ordinalBefore[strings.ToLower(lastWord(prev))]
	}
	return false
}

// lastWord returns the word at the end of s: the letters, digits and dots
// after its last space or opening punctuation.
func lastWord(s string) string {
	s = strings.TrimRightFunc(s, unicode.IsSpace)
	i := strings.LastIndexFunc(s, func(r rune) bool {
		return !(unicode.IsLetter(r) || unicode.IsDigit(r) || r == '.')
	})
	return s[i+1:]
}

// firstWord returns the letters at the start of s.
func firstWord(s string) string {
	i := strings.IndexFunc(s, func(r rune) bool { return !unicode.IsLetter(r) })
	if i < 0 {
		return s
	}
	return s[:i]
}

// isInitials reports whether w is single letters joined by dots: "z", "B", "z.B", "u.a".
func isInitials(w string) bool {
	for _, part := range strings.Split(w, ".") {
		r, size := utf8.DecodeRuneInString(part)
		if size != len(part) || !unicode.IsLetter(r) {
			return false
		}
	}
	return true
}

func isDigits(w string) bool {
	for _, r := range w {
		if r < '0' || r > '9' {
			return false
		}
	}
	return w != ""
}

// startsSentence reports whether s can begin a sentence.
func startsSentence(s string) bool {
	r, _ := utf8.DecodeRuneInString(s)
	return unicode.IsUpper(r) || unicode.IsDigit(r) || isOpener(r)
}

func isTerminator(r rune) bool { return r == '.' || r == '!' || r == '?' || r == '…' }

// isCloser reports closing quotes and brackets (German „…“ closes with “).
func isCloser(r rune) bool { return strings.ContainsRune(`"'“”‘’»«›‹)]}`, r) }

// isOpener reports opening quotes and brackets.
func isOpener(r rune) bool { return strings.ContainsRune(`"'„“‚‘»«›‹([{¿¡`, r) }

func skipSpace(s string, i int) int {
	for i < len(s) {
		r, size := utf8.DecodeRuneInString(s[i:])
		if !unicode.IsSpace(r) {
			break
		}
		i += size
	}
	return i
}

func trimRightSpace(s string, end int) int {
	return len(strings.TrimRightFunc(s[:end], unicode.IsSpace))
}

// abbreviations are words that a full stop does not end a sentence after
// (dotted ones like z.B. and i.d.R. are initials). Words that often end a
// sentence (usw., etc.) are not in the list.
var abbreviations = setOf(`Dr Prof Nr Nrn Str Hr Hrn Fr Frl Mio Mrd Tsd Jh Jhd Jhdt St Abs Art Bd Bde
	Kap Abb Anm Tab Hrsg Tel geb gest ehem sog Dipl Ing Dt Min Std Sek ca bzw vgl ggf evtl inkl
	exkl zzgl abzgl bspw ff Co Mr Mrs Ms Gebr Verf Ziff lt gem urspr bzgl insb mind Jan Feb Mär
	Apr Jun Jul Aug Sep Sept Okt Nov Dez Mo Di Mi Do Sa Pkt Ca Vgl Bzw Ggf Evtl Inkl Zzgl Bspw`)

// months are the words after which "3." is an ordinal date.
var months = setOf(`Januar Jänner Februar März April Mai Juni Juli August September Oktober November Dezember
	Jan Feb Mär Apr Jun Jul Aug Sep Sept Okt Nov Dez`)

// ordinalBefore are words after which a number with a full stop is an ordinal.
var ordinalBefore = setOf(`am im vom zum zur beim bis ab seit an in auf für vor nach über unter zu
	der die das dem den des ein eine einem einen einer eines jeder jede jedes jedem jeden ihr ihre sein seine`)

func setOf(words string) map[string]bool {
	m := map[string]bool{}
	for _, w := range strings.Fields(words) {
		m[w] = true
	}
	return m
}
