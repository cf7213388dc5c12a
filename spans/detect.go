package spans

import (
	"regexp"
	"sort"
	"strings"
	"unicode"
	"unicode/utf8"
)

// Kind names what a span is.
type Kind uint8

// The kinds of protected spans, in the order Detect prefers them when two
// candidates of equal length start at the same byte.
const (
	Code         Kind = iota + 1 // inline code in backticks: `git status`
	URL                          // https://…, www.…, example.de/pfad
	Email                        // name@firma.example
	Path                         // /etc/hosts, ~/x, C:\Programme\x.ini
	Placeholder                  // %s %1$s {name} {{var}} $VAR ${var}
	ISBN                         // ISBN 978-3-16-148410-0
	Phone                        // 0800 123 456, +49 30 1234567
	Date                         // 15.03.2025, 2025-03-15
	Time                         // 17:42, 9:30 Uhr
	Version                      // 2.14.0, v1.2
	ProductCode                  // DE-2024-00817, 4471-XK-93, LH 2031
	Handle                       // @name
	Hashtag                      // #thema
	Number                       // 1.234,56  2,75  1990  3:1  1990-1995
	Ordinal                      // 3. (am 3. Mai)
	Term                         // a glossary term (see Glossary)
	Markup                       // an HTML element kept as is (see ParseHTML)
	Emoji                        // 😀, ❤️, 👍🏽 (runs of pictographs and symbols)
	Abbreviation                 // ADAC, EU: letters in capitals a model does not know (given by the caller)
)

var kindNames = [...]string{"", "code", "url", "email", "path", "placeholder", "isbn", "phone",
	"date", "time", "version", "code-id", "handle", "hashtag", "number", "ordinal", "glossary", "markup", "emoji", "abbreviation"}

// String returns the kind's name as used in JSON reports ("number", "url", …).
func (k Kind) String() string {
	if int(k) < len(kindNames) && k != 0 {
		return kindNames[k]
	}
	return "unknown"
}

// Span is one protected part of a source text.
type Span struct {
	Kind  Kind
	Start int    // byte offset of Text in the source
	End   int    // byte offset just past Text
	Text  string // the source text of the span
	// Render is what the translation must contain: Text itself, or its
	// English number format (see the package doc), or a glossary term's
	// English side.
	Render string
}

// A pattern is one regular expression for one kind; group 1, when the
// expression has one, is the span (the rest is context).
type pattern struct {
	kind Kind
	re   *regexp.Regexp
}

// tlds are the top-level domains a URL without scheme or "www." must end in,
// so that "z.B" or "Haus.Der" are never URLs.
const tlds = `(?:de|com|org|net|eu|io|at|ch|info|edu|gov|uk|fr|it|nl|es|pl|dev|app|example|biz|tv|me|co)`

var patterns = []pattern{
	{Code, regexp.MustCompile("`[^`\n]+`")},
	{URL, regexp.MustCompile(`(?i)\b(?:https?|ftps?|file)://[^\s<>"'` + "`" + `]+`)},
	{URL, regexp.MustCompile(`(?i)\bwww\.[a-z0-9-]+(?:\.[a-z0-9-]+)+(?:[/?#][^\s<>"'` + "`" + `]*)?`)},
	{URL, regexp.MustCompile(`(?i)\b[a-z0-9-]+(?:\.[a-z0-9-]+)*\.` + tlds + `(?:/[^\s<>"'` + "`" + `]*)?\b/?`)},
	{Email, regexp.MustCompile(`(?i)\b[a-z0-9._%+-]+@[a-z0-9-]+(?:\.[a-z0-9-]+)+`)},
	{Path, regexp.MustCompile(`\b[A-Za-z]:\\[^\s<>"|?*` + "`" + `]*`)},
	{Path, regexp.MustCompile(`\\\\[A-Za-z0-9._$-]+(?:\\[^\s<>"|?*` + "`" + `\\]+)+`)},
	{Path, regexp.MustCompile(`(?:^|[\s("'=])((?:~|\.\.?)?/[\p{L}\p{N}._+@-]+(?:/[\p{L}\p{N}._+@-]+)+/?|(?:~|\.\.?)/[\p{L}\p{N}._+@-]*)`)},
	{Placeholder, regexp.MustCompile(`(?:^|[^\p{N}%])(%(?:\d+\$)?[-+0#]*\d*(?:\.\d+)?[sdifuxXoeEgGcpqv@])`)},
	{Path, regexp.MustCompile(`(?i)\b[\p{L}\p{N}_-]+(?:\.[\p{L}\p{N}_-]+)*\.(?:pdf|docx?|xlsx?|pptx?|odt|ods|csv|tsv|txt|md|json|ya?ml|toml|xml|html?|ini|cfg|conf|log|zip|tar|gz|tgz|7z|png|jpe?g|gif|svg|webp|mp3|mp4|wav|exe|msi|dmg|sh|bat|ps1|py|go|js|ts|java|rb|rs|c|h|cpp|sql|deen)\b`)},
	{Placeholder, regexp.MustCompile(`%\([\p{L}\p{N}_]+\)[sdifr]`)},
	{Placeholder, regexp.MustCompile(`\{\{\s*[\p{L}\p{N}_.]+\s*\}\}`)},
	{Placeholder, regexp.MustCompile(`\{[\p{L}\p{N}_.:]*\}`)},
	{Placeholder, regexp.MustCompile(`\$\{[\p{L}\p{N}_.]+\}`)},
	{Placeholder, regexp.MustCompile(`\$[A-Za-z_][A-Za-z0-9_]*`)},
	{ISBN, regexp.MustCompile(`ISBN(?:-1[03])?:?\s*((?:97[89][- ]?)?\d{1,5}[- ]?\d{1,7}[- ]?\d{1,7}[- ]?[\dX])\b`)},
	{Phone, regexp.MustCompile(`(?:^|[^\p{N}\p{L}])((?:\+\d{1,3}(?: ?\(0\))?[ ]?|0)\d{1,4}(?:[ /-]\d{2,8}){1,4})\b`)},
	{Phone, regexp.MustCompile(`(?:^|[^\p{N}\p{L}])(\(0\d{2,5}\)\s?\d{3,8}(?:[ -]\d{2,6})?)\b`)},
	{Date, regexp.MustCompile(`\b(?:0?[1-9]|[12]\d|3[01])\.(?:0?[1-9]|1[0-2])\.(?:\d{4}|\d{2})\b`)},
	{Date, regexp.MustCompile(`\b\d{4}-(?:0[1-9]|1[0-2])-(?:0[1-9]|[12]\d|3[01])\b`)},
	{Time, regexp.MustCompile(`\b(?:[01]?\d|2[0-3]):[0-5]\d(?::[0-5]\d)?\b`)},
	{Time, regexp.MustCompile(`\b((?:[01]?\d|2[0-3])\.[0-5]\d)\s?Uhr\b`)},
	{Version, regexp.MustCompile(`\b[vV]?\d+(?:\.\d+){2,}\b|\b[vV]\d+(?:\.\d+)+\b`)},
	// 3.1, 15.03: a dot before one or two digits is no German thousands
	// separator (that is 1.250); copied as written (section, version, day.month).
	{Version, regexp.MustCompile(`\b\d+\.\d{1,2}\b`)},
	{ProductCode, regexp.MustCompile(`\b[\p{Lu}\p{N}]+(?:[-/][\p{Lu}\p{N}]+)+\b`)},
	{ProductCode, regexp.MustCompile(`\b(?:\p{Lu}+\p{N}[\p{Lu}\p{N}]*|\p{N}+\p{Lu}[\p{Lu}\p{N}]*)\b`)},
	{ProductCode, regexp.MustCompile(`\b\p{Lu}{2,3} \d{2,5}\b`)},
	// IBAN: DE89 3704 0044 0532 0130 00 (one span, not six numbers)
	{ProductCode, regexp.MustCompile(`\b\p{Lu}{2}\d{2}(?: ?[\p{Lu}\d]{4}){2,7}(?: ?[\p{Lu}\d]{1,3})?\b`)},
	// house and item numbers with a letter: 12a, 3b
	{ProductCode, regexp.MustCompile(`\b\d{1,4}[a-z]\b`)},
	{Handle, regexp.MustCompile(`(?:^|[^\p{L}\p{N}_@.])(@[A-Za-z0-9_](?:[A-Za-z0-9_.]*[A-Za-z0-9_])?)`)},
	{Hashtag, regexp.MustCompile(`(?:^|[^\p{L}\p{N}_&#])(#[\p{L}\p{N}_]*\p{L}[\p{L}\p{N}_]*)`)},
	{Emoji, regexp.MustCompile(`[\x{1F000}-\x{1FAFF}\x{2600}-\x{27BF}\x{2B00}-\x{2BFF}](?:[\x{1F000}-\x{1FAFF}\x{2600}-\x{27BF}\x{2B00}-\x{2BFF}\x{FE0F}\x{200D}\x{1F3FB}-\x{1F3FF}]|\s)*`)},
	// A number keeps the unit sign written after it (20 %, 2,5‰, 25 °C, 90°): see unitSuffix.
	{Number, regexp.MustCompile(`[-+]?\b\d{1,3}(?:\.\d{3})+(?:,\d+)?\b` + unitSuffix)},
	// thousands grouped by spaces: 10 000, 1 234 567 (normal, no-break or thin space)
	{Number, regexp.MustCompile(`[-+]?\b\d{1,3}(?:[ \x{a0}\x{202f}]\d{3})+(?:,\d+)?\b` + unitSuffix)},
	{Number, regexp.MustCompile(`[-+]?\b\d+(?:,\d+)?(?:[:/–-]\d+(?:,\d+)?)*\b` + unitSuffix)},
	{Ordinal, regexp.MustCompile(`\b(\d{1,3}\.)[ \x{a0}]+(?:\p{Ll}|Januar|Februar|März|April|Mai|Juni|Juli|August|September|Oktober|November|Dezember|Jan\.|Feb\.|Mär\.|Apr\.|Jun\.|Jul\.|Aug\.|Sep\.|Sept\.|Okt\.|Nov\.|Dez\.|Jahrhundert|Platz|Stock|Klasse|Mal|Auflage)`)},
}

// unitSuffix is the unit sign a number span may end in, after at most
// one (normal, no-break or thin) space: per cent, per mille, degrees
// (Celsius, Fahrenheit, or an angle). A model that drops it ("um 20 %" →
// "by 20") loses the number's meaning, so the sign is part of the span.
var unitSuffix = `(?:[ \x{a0}\x{202f}]?(?:` + strings.Join(numberUnits, "|") + `))?` // numberUnits: longest first, no regexp metacharacters

// trailing punctuation that ends a sentence rather than a URL or path.
const trailing = ".,;:!?'\")]}»“”"

// Detect returns the protected spans of text, sorted by position and never
// overlapping (the longest candidate wins; on equal length, the earlier
// kind in the Kind list). It never fails: text that is not valid UTF-8 is
// searched as it is.
func Detect(text string) []Span {
	var cands []Span
	for _, p := range patterns {
		for _, m := range p.re.FindAllStringSubmatchIndex(text, -1) {
			s, e := m[0], m[1]
			if len(m) >= 4 && m[2] >= 0 {
				s, e = m[2], m[3]
			}
			s, e = trim(text, p.kind, s, e)
			if e <= s || !accept(text, p.kind, s, e) {
				continue
			}
			cands = append(cands, Span{Kind: p.kind, Start: s, End: e})
		}
	}
	sort.SliceStable(cands, func(i, j int) bool {
		a, b := cands[i], cands[j]
		if a.Start != b.Start {
			return a.Start < b.Start
		}
		if a.End != b.End {
			return a.End > b.End
		}
		return a.Kind < b.Kind
	})
	// Longest-first among overlapping candidates: take a candidate only if
	// no longer one overlaps it.
	var out []Span
	for i, c := range cands {
		ok := true
		for j, d := range cands {
			if i == j || d.End <= c.Start || d.Start >= c.End {
				continue
			}
			dl, cl := d.End-d.Start, c.End-c.Start
			if dl > cl || (dl == cl && j < i) {
				ok = false
				break
			}
		}
		if ok && (len(out) == 0 || out[len(out)-1].End <= c.Start) {
			out = append(out, c)
		}
	}
	for i := range out {
		out[i].Text = text[out[i].Start:out[i].End]
		out[i].Render = render(out[i].Kind, out[i].Text)
	}
	return out
}

// trim drops sentence punctuation from the end of URLs, e-mail addresses and
// paths (a closing bracket is kept when the span opened one).
func trim(text string, k Kind, s, e int) (int, int) {
	switch k {
	case URL, Email, Path, Handle:
	case Emoji:
		for e > s && (text[e-1] == ' ' || text[e-1] == '\t' || text[e-1] == '\n') {
			e--
		}
		return s, e
	default:
		return s, e
	}
	for e > s {
		r, n := utf8.DecodeLastRuneInString(text[s:e])
		if !strings.ContainsRune(trailing, r) {
			break
		}
		if r == ')' && strings.Count(text[s:e], "(") >= strings.Count(text[s:e], ")") {
			break
		}
		e -= n
	}
	return s, e
}

// accept applies the checks a regular expression cannot express.
func accept(text string, k Kind, s, e int) bool {
	t := text[s:e]
	switch k {
	case ProductCode:
		// A code has a digit; all-letter words ("EU-USA") are not codes,
		// and plain digit ranges are numbers.
		hasDigit, hasOther := false, false
		for _, r := range t {
			if unicode.IsDigit(r) {
				hasDigit = true
			} else {
				hasOther = true
			}
		}
		return hasDigit && hasOther && !isNumberRange(t)
	case Phone:
		// At least 6 digits, so "0 3" or a year pair are not phone numbers.
		n := 0
		for _, r := range t {
			if r >= '0' && r <= '9' {
				n++
			}
		}
		return n >= 6
	case Number:
		// Not part of a word ("A4" is a code, "x2" is left alone).
		if s > 0 {
			r, _ := utf8.DecodeLastRuneInString(text[:s])
			if unicode.IsLetter(r) || r == '_' {
				return false
			}
		}
		if e < len(text) {
			r, _ := utf8.DecodeRuneInString(text[e:])
			if unicode.IsLetter(r) && r != 'x' {
				return false
			}
		}
	}
	return true
}

// isNumberRange reports a span made of digits and -, –, / only.
func isNumberRange(t string) bool {
	for _, r := range t {
		if !(r >= '0' && r <= '9' || r == '-' || r == '–' || r == '/') {
			return false
		}
	}
	return true
}
