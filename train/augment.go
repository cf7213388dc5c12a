package train

import (
	"math/rand/v2"
	"strings"
	"unicode"
	"unicode/utf8"
)

// Augmentation says which synthetic training pairs are added to the
// corpus before the vocabulary is trained (see Augment). Shares are
// fractions of the number of training pairs; all zero adds nothing (the
// first default model's recipe).
type Augmentation struct {
	// Caps adds this share of pairs in ALL CAPS on both sides.
	Caps float64 `json:"caps"`
	// Lower adds this share of pairs in lower case on both sides.
	Lower float64 `json:"lower"`
	// ShortRepeat adds this many extra copies of each pair whose German
	// side has at most two words ("Nein.", "Vielen Dank!").
	ShortRepeat int `json:"short_repeat"`
	// Concat adds this share of pairs made of 2–3 random pairs joined by a
	// space on both sides, so multi-sentence lines are seen.
	Concat float64 `json:"concat"`
	// Names adds this share of pairs in which a word written identically
	// on both sides (mostly a name: Tom, Mary, Boston) is replaced on both
	// sides by the same random name, so unknown names are copied.
	Names float64 `json:"names"`
	// Spans adds this share of pairs carrying a protected span (a number,
	// time, date, URL, e-mail, handle, path, code, placeholder, product
	// code, …) copied verbatim to the English side (numbers in English
	// format there): substituted for a shared word or number, or added in
	// parentheses or as a prefix.
	Spans float64 `json:"spans"`
}

// On reports whether the augmentation adds anything.
func (a Augmentation) On() bool {
	return a.Caps > 0 || a.Lower > 0 || a.ShortRepeat > 0 || a.Concat > 0 || a.Names > 0 || a.Spans > 0
}

// Augment returns pairs followed by the synthetic pairs a asks for, drawn
// deterministically from seed (the same pairs, options and seed give the
// same result). The originals are never changed.
func Augment(pairs []Pair, a Augmentation, seed uint64) []Pair {
	out := append([]Pair(nil), pairs...)
	if len(pairs) == 0 || !a.On() {
		return out
	}
	r := rand.New(rand.NewPCG(seed, 0xa0a0))
	pick := func() Pair { return pairs[r.IntN(len(pairs))] }
	count := func(share float64) int { return int(share*float64(len(pairs)) + 0.5) }

	for range count(a.Caps) {
		p := pick()
		out = append(out, Pair{De: upperDE(p.De), En: strings.ToUpper(p.En)})
	}
	for range count(a.Lower) {
		p := pick()
		out = append(out, Pair{De: strings.ToLower(p.De), En: strings.ToLower(p.En)})
	}
	if a.ShortRepeat > 0 {
		for _, p := range pairs {
			if len(strings.Fields(p.De)) <= 2 {
				for range a.ShortRepeat {
					out = append(out, p)
				}
			}
		}
	}
	for range count(a.Concat) {
		n := 2 + r.IntN(2)
		var de, en []string
		for range n {
			p := pick()
			de, en = append(de, p.De), append(en, p.En)
		}
		out = append(out, Pair{De: strings.Join(de, " "), En: strings.Join(en, " ")})
	}
	// Names and spans: pairs with a word or number written the same on
	// both sides are the natural places to put a copied string.
	var shared []int
	for i, p := range pairs {
		if len(sharedTokens(p)) > 0 {
			shared = append(shared, i)
		}
	}
	for range count(a.Names) {
		if len(shared) == 0 {
			break
		}
		p := pairs[shared[r.IntN(len(shared))]]
		name := randomName(r)
		out = append(out, substitute(p, r, name, name))
	}
	for range count(a.Spans) {
		de, en := randomSpan(r)
		switch k := r.IntN(10); {
		case k < 5 && len(shared) > 0: // in place of a shared word or number
			out = append(out, substitute(pairs[shared[r.IntN(len(shared))]], r, de, en))
		case k < 8: // in parentheses before the final punctuation
			p := pick()
			out = append(out, Pair{De: beforeFinalPunct(p.De, " ("+de+")"), En: beforeFinalPunct(p.En, " ("+en+")")})
		default: // as a prefix
			p := pick()
			out = append(out, Pair{De: de + ": " + p.De, En: en + ": " + p.En})
		}
	}
	return out
}

// upperDE is German upper case: ß becomes SS, as German capitals write it.
func upperDE(s string) string {
	return strings.ToUpper(strings.ReplaceAll(s, "ß", "SS"))
}

// wordsOf splits s into words: runs of letters, digits, apostrophes and
// hyphens, with their byte offsets.
func wordsOf(s string) (words []string, offs []int) {
	start := -1
	for i, c := range s {
		in := unicode.IsLetter(c) || unicode.IsDigit(c)
		if in && start < 0 {
			start = i
		}
		if !in && start >= 0 {
			words, offs = append(words, s[start:i]), append(offs, start)
			start = -1
		}
	}
	if start >= 0 {
		words, offs = append(words, s[start:]), append(offs, start)
	}
	return words, offs
}

// sharedTokens returns the words of p written identically on both sides
// that start with a capital letter or are all digits: names (Tom, Boston)
// and numbers, the strings a translation copies.
func sharedTokens(p Pair) []string {
	de, _ := wordsOf(p.De)
	en, _ := wordsOf(p.En)
	inEn := map[string]bool{}
	for _, w := range en {
		inEn[w] = true
	}
	var out []string
	seen := map[string]bool{}
	for _, w := range de {
		c, _ := utf8.DecodeRuneInString(w)
		if seen[w] || !inEn[w] || !(unicode.IsUpper(c) && len(w) > 1 || isDigits(w)) {
			continue
		}
		seen[w] = true
		out = append(out, w)
	}
	return out
}

func isDigits(s string) bool {
	for _, c := range s {
		if c < '0' || c > '9' {
			return false
		}
	}
	return s != ""
}

// substitute replaces every whole-word occurrence of one shared token of p
// by de on the German side and en on the English side.
func substitute(p Pair, r *rand.Rand, de, en string) Pair {
	tok := sharedTokens(p)
	w := tok[r.IntN(len(tok))]
	return Pair{De: replaceWord(p.De, w, de), En: replaceWord(p.En, w, en)}
}

// replaceWord replaces the whole-word occurrences of w in s by by.
func replaceWord(s, w, by string) string {
	words, offs := wordsOf(s)
	var b strings.Builder
	last := 0
	for i, x := range words {
		if x == w {
			b.WriteString(s[last:offs[i]])
			b.WriteString(by)
			last = offs[i] + len(x)
		}
	}
	b.WriteString(s[last:])
	return b.String()
}

// beforeFinalPunct inserts ins before the sentence's final punctuation
// (.!?… and closing quotes) or at its end.
func beforeFinalPunct(s, ins string) string {
	i := len(s)
	for i > 0 {
		c, n := utf8.DecodeLastRuneInString(s[:i])
		if !strings.ContainsRune(".!?…\"'“”»«", c) {
			break
		}
		i -= n
	}
	return s[:i] + ins + s[i:]
}
