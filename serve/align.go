package serve

import (
	"math"
	"unicode"

	"github.com/deen-mt/deen/spans"
	"github.com/deen-mt/deen/translate"
)

// wordAlignment is one sentence of the "alignments" extension: its source
// and target words (the sentence and its translation split at white
// space) and, for every target word, the source words it was translated
// from, strongest first.
type wordAlignment struct {
	Source []string `json:"source"`
	Target []string `json:"target"`
	Links  [][]link `json:"links"`
}

// link is one source word of a target word and its weight: the share of
// the target word's cross-attention on it (0..1).
type link struct {
	Word   int     `json:"word"`
	Weight float64 `json:"weight"`
}

// Links of a target word are its strongest source word and every other
// source word with at least linkShare of the strongest one's weight and
// linkMin, at most maxLinks of them.
const (
	linkShare = 0.5
	linkMin   = 0.15
	maxLinks  = 3
)

// wordAlignments lists the word alignments of tr's sentences; a sentence
// translated in pieces joins its pieces', and one without an alignment
// (an empty translation) has words but no links.
func wordAlignments(tr *translate.Translation) []wordAlignment {
	out := make([]wordAlignment, len(tr.Sentences))
	for i := range tr.Sentences {
		s := &tr.Sentences[i]
		switch {
		case s.Passthrough:
			out[i] = identityWords(s.Source)
		case len(s.Pieces) > 0:
			for k := range s.Pieces {
				p := &s.Pieces[k]
				out[i].append(alignWords(p.Source, p.Text, p.Alignment))
			}
		default:
			out[i] = alignWords(s.Source, s.Text, s.Alignment)
		}
	}
	return out
}

// append adds b's words and links after a's.
func (a *wordAlignment) append(b wordAlignment) {
	off := len(a.Source)
	a.Source = append(a.Source, b.Source...)
	a.Target = append(a.Target, b.Target...)
	for _, ls := range b.Links {
		for k := range ls {
			ls[k].Word += off
		}
		a.Links = append(a.Links, ls)
	}
}

// identityWords aligns a text passed through untranslated with itself.
func identityWords(s string) wordAlignment {
	w := words(s)
	a := wordAlignment{Source: texts(s, w), Target: texts(s, w), Links: make([][]link, len(w))}
	for i := range w {
		a.Links[i] = []link{{Word: i, Weight: 1}}
	}
	return a
}

// alignWords turns a token alignment of src to tgt into a word alignment:
// the weight of target word j on source word i is the mean, over j's
// tokens, of the summed weights of i's tokens, normalised over the source
// words (the end token's share left out).
func alignWords(src, tgt string, al *spans.Alignment) wordAlignment {
	sw, tw := words(src), words(tgt)
	out := wordAlignment{Source: texts(src, sw), Target: texts(tgt, tw), Links: make([][]link, len(tw))}
	for j := range out.Links {
		out.Links[j] = []link{}
	}
	if al == nil || len(al.Weights) != len(al.Src)*len(al.Tgt) {
		return out
	}
	srcWord := tokenWords(al.Src, sw)
	tgtWord := tokenWords(al.Tgt, tw)
	for j, rows := range groupTokens(tgtWord, len(tw)) {
		if len(rows) == 0 {
			continue
		}
		weight := make([]float64, len(sw))
		var total float64
		for _, t := range rows {
			row := al.Weights[t*len(al.Src) : (t+1)*len(al.Src)]
			for k, w := range row {
				if i := srcWord[k]; i >= 0 {
					weight[i] += float64(w)
					total += float64(w)
				}
			}
		}
		if total <= 0 {
			continue
		}
		out.Links[j] = strongest(weight, total)
	}
	return out
}

// strongest returns the links of one target word from its weights on the
// source words (normalised by total), strongest first.
func strongest(weight []float64, total float64) []link {
	var ls []link
	for len(ls) < maxLinks {
		best := -1
		for i, w := range weight {
			if w > 0 && (best < 0 || w > weight[best]) {
				best = i
			}
		}
		if best < 0 {
			break
		}
		w := weight[best] / total
		if len(ls) > 0 && (w < linkMin || w < linkShare*ls[0].Weight) {
			break
		}
		ls = append(ls, link{Word: best, Weight: w})
		weight[best] = 0
	}
	for k := range ls {
		ls[k].Weight = math.Round(1000*ls[k].Weight) / 1000
	}
	return ls
}

// words returns the byte ranges of the white-space-separated words of s.
func words(s string) []spans.Range {
	var out []spans.Range
	start := -1
	for i, r := range s {
		switch {
		case unicode.IsSpace(r) && start >= 0:
			out = append(out, spans.Range{Start: start, End: i})
			start = -1
		case !unicode.IsSpace(r) && start < 0:
			start = i
		}
	}
	if start >= 0 {
		out = append(out, spans.Range{Start: start, End: len(s)})
	}
	return out
}

// texts returns the text of every range of s.
func texts(s string, rs []spans.Range) []string {
	out := make([]string, len(rs))
	for i, r := range rs {
		out[i] = s[r.Start:r.End]
	}
	return out
}

// tokenWords returns, for every token range, the word it overlaps most
// (the first of a tie), or −1 for one in no word (white space, the end).
func tokenWords(toks, ws []spans.Range) []int {
	out := make([]int, len(toks))
	for k, t := range toks {
		out[k] = -1
		best := 0
		for i, w := range ws {
			if n := min(t.End, w.End) - max(t.Start, w.Start); n > best {
				out[k], best = i, n
			}
		}
	}
	return out
}

// groupTokens lists the tokens of every one of n words.
func groupTokens(word []int, n int) [][]int {
	out := make([][]int, n)
	for k, i := range word {
		if i >= 0 {
			out[i] = append(out[i], k)
		}
	}
	return out
}
