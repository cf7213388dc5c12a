// Package sacrebleu computes corpus BLEU and chrF exactly as sacreBLEU 2.x does
// with its default settings, so scores printed by `translate eval` can be
// compared with published numbers.
//
// BLEU: 13a tokenisation, cased, n-grams 1–4, one reference per segment,
// exponential ("exp", mteval) smoothing, brevity penalty exp(1 − r/c) when the
// hypothesis corpus is shorter than the reference corpus.
//
// chrF: character n-grams 1–6 with whitespace removed, β = 2, no word n-grams,
// statistics summed over the corpus, and sacreBLEU's default effective-order
// averaging (eps_smoothing = false): precisions and recalls are averaged over
// the orders that both sides have, then combined into one F-score.
//
// Strings are treated as sequences of Unicode code points, as in Python.
package sacrebleu

import (
	"fmt"
	"math"
	"regexp"
	"strings"
)

// maxOrder is BLEU's highest n-gram order.
const maxOrder = 4

// BLEUScore holds a corpus BLEU score and its sufficient statistics.
type BLEUScore struct {
	// Score is BLEU on the 0–100 scale.
	Score float64
	// Correct and Total count matched and proposed n-grams per order 1–4.
	Correct, Total [maxOrder]int
	// Precisions are the (smoothed) n-gram precisions on the 0–100 scale.
	Precisions [maxOrder]float64
	// BP is the brevity penalty.
	BP float64
	// SysLen and RefLen are the token counts of hypotheses and references.
	SysLen, RefLen int
}

// String formats the score like sacreBLEU's one-line summary.
func (s BLEUScore) String() string {
	return fmt.Sprintf("BLEU = %.2f %.1f/%.1f/%.1f/%.1f (BP = %.3f ratio = %.3f hyp_len = %d ref_len = %d)",
		s.Score, s.Precisions[0], s.Precisions[1], s.Precisions[2], s.Precisions[3],
		s.BP, float64(s.SysLen)/math.Max(float64(s.RefLen), 1), s.SysLen, s.RefLen)
}

// BLEU returns corpus BLEU of hyps against one or more reference streams,
// each holding one reference per hypothesis (sacreBLEU's corpus_bleu). With
// several references, n-gram counts are clipped by their most frequent
// reference and the reference length is the closest one (the shorter on ties).
func BLEU(hyps []string, refs ...[]string) (BLEUScore, error) {
	var s BLEUScore
	if len(refs) == 0 {
		return s, fmt.Errorf("sacrebleu: no references; give at least one reference stream")
	}
	for k, stream := range refs {
		if len(stream) != len(hyps) {
			return s, fmt.Errorf("sacrebleu: %d hypotheses but reference stream %d has %d lines; give one reference line per hypothesis line", len(hyps), k+1, len(stream))
		}
	}
	for i := range hyps {
		h := strings.Fields(Tokenize13a(hyps[i]))
		s.SysLen += len(h)
		refLen, refMax := -1, make([]map[string]int, maxOrder)
		for _, stream := range refs {
			r := strings.Fields(Tokenize13a(stream[i]))
			if d, best := abs(len(h)-len(r)), abs(len(h)-refLen); refLen < 0 || d < best || (d == best && len(r) < refLen) {
				refLen = len(r)
			}
			for n := 1; n <= maxOrder; n++ {
				if refMax[n-1] == nil {
					refMax[n-1] = map[string]int{}
				}
				for g, c := range ngramCounts(r, n) {
					refMax[n-1][g] = max(refMax[n-1][g], c)
				}
			}
		}
		s.RefLen += refLen
		for n := 1; n <= maxOrder; n++ {
			for g, c := range ngramCounts(h, n) {
				s.Correct[n-1] += min(c, refMax[n-1][g])
				s.Total[n-1] += c
			}
		}
	}
	s.Score = bleuFromStats(&s)
	return s, nil
}

// abs returns |x|.
func abs(x int) int { return max(x, -x) }

// ngramCounts counts the n-grams of toks, keyed by the tokens joined with a
// separator that 13a output never contains.
func ngramCounts(toks []string, n int) map[string]int {
	m := make(map[string]int, len(toks))
	for i := 0; i+n <= len(toks); i++ {
		m[strings.Join(toks[i:i+n], "\x00")]++
	}
	return m
}

// bleuFromStats fills BP and Precisions of s from its counts and returns the
// score, following sacreBLEU's compute_bleu with smooth_method "exp".
func bleuFromStats(s *BLEUScore) float64 {
	s.BP = 1
	if s.SysLen < s.RefLen {
		s.BP = 0
		if s.SysLen > 0 {
			s.BP = math.Exp(1 - float64(s.RefLen)/float64(s.SysLen))
		}
	}
	anyCorrect := false
	for _, c := range s.Correct {
		anyCorrect = anyCorrect || c > 0
	}
	if !anyCorrect {
		return 0
	}
	smooth := 1.0
	for n := range maxOrder {
		if s.Total[n] == 0 {
			break
		}
		if s.Correct[n] == 0 {
			smooth *= 2
			s.Precisions[n] = 100 / (smooth * float64(s.Total[n]))
		} else {
			s.Precisions[n] = 100 * float64(s.Correct[n]) / float64(s.Total[n])
		}
	}
	sum := 0.0
	for _, p := range s.Precisions {
		if p == 0 {
			sum += -9999999999 // sacreBLEU's my_log(0)
		} else {
			sum += math.Log(p)
		}
	}
	return s.BP * math.Exp(sum/maxOrder)
}

// The 13a rules, applied in this order to " line " (sacreBLEU's TokenizerRegexp).
var rules13a = []struct {
	re   *regexp.Regexp
	repl string
}{
	{regexp.MustCompile(`([\{-\~\[-\x60 -\&\(-\+\:-\@\/])`), " $1 "},
	{regexp.MustCompile(`([^0-9])([\.,])`), "$1 $2 "},
	{regexp.MustCompile(`([\.,])([^0-9])`), " $1 $2"},
	{regexp.MustCompile(`([0-9])(-)`), "$1 $2 "},
}

// Tokenize13a is sacreBLEU's "13a" tokeniser (mteval-v13a): it splits
// punctuation from words and returns the tokens joined by single spaces.
func Tokenize13a(line string) string {
	line = strings.ReplaceAll(line, "<skipped>", "")
	line = strings.ReplaceAll(line, "-\n", "")
	line = strings.ReplaceAll(line, "\n", " ")
	if strings.Contains(line, "&") {
		line = strings.NewReplacer("&quot;", `"`, "&amp;", "&", "&lt;", "<", "&gt;", ">").Replace(line)
	}
	line = " " + line + " "
	for _, r := range rules13a {
		line = r.re.ReplaceAllString(line, r.repl)
	}
	return strings.Join(pyFields(line), " ")
}

// pyFields splits s on runs of whitespace as Python's str.split() does, which
// also treats U+001C–U+001F as whitespace (Go's unicode.IsSpace does not).
func pyFields(s string) []string {
	return strings.FieldsFunc(s, isPySpace)
}

// isPySpace reports whether Python's str.isspace holds for r.
func isPySpace(r rune) bool {
	switch r {
	case '\t', '\n', '\v', '\f', '\r', ' ', 0x1c, 0x1d, 0x1e, 0x1f, 0x85, 0xa0, 0x1680, 0x2028, 0x2029, 0x202f, 0x205f, 0x3000:
		return true
	}
	return r >= 0x2000 && r <= 0x200a
}

// chrfOrder and chrfBeta are sacreBLEU's chrF defaults.
const (
	chrfOrder = 6
	chrfBeta  = 2
)

// CHRFScore holds a corpus chrF score and its statistics.
type CHRFScore struct {
	// Score is chrF on the 0–100 scale.
	Score float64
	// Hyp, Ref and Match count hypothesis, reference and matched character
	// n-grams per order 1–6, summed over the corpus.
	Hyp, Ref, Match [chrfOrder]int
}

// String formats the score like sacreBLEU.
func (s CHRFScore) String() string { return fmt.Sprintf("chrF2 = %.2f", s.Score) }

// CHRF returns corpus chrF (n = 6, β = 2) of hyps against refs.
func CHRF(hyps, refs []string) (CHRFScore, error) {
	var s CHRFScore
	if len(hyps) != len(refs) {
		return s, fmt.Errorf("sacrebleu: %d hypotheses but %d references; give one reference line per hypothesis line", len(hyps), len(refs))
	}
	for i := range hyps {
		h := []rune(strings.Join(pyFields(hyps[i]), ""))
		r := []rune(strings.Join(pyFields(refs[i]), ""))
		for n := 1; n <= chrfOrder; n++ {
			hc, rc := charNgrams(h, n), charNgrams(r, n)
			hypCount, refCount, match := 0, 0, 0
			for g, c := range hc {
				hypCount += c
				match += min(c, rc[g])
			}
			for _, c := range rc {
				refCount += c
			}
			if len(rc) == 0 {
				hypCount = 0 // sacreBLEU: no hits counted without a reference n-gram
			}
			s.Hyp[n-1] += hypCount
			s.Ref[n-1] += refCount
			s.Match[n-1] += match
		}
	}
	s.Score = chrfFromStats(&s)
	return s, nil
}

// charNgrams counts the n-grams of the code points r.
func charNgrams(r []rune, n int) map[string]int {
	m := make(map[string]int, len(r))
	for i := 0; i+n <= len(r); i++ {
		m[string(r[i:i+n])]++
	}
	return m
}

// chrfFromStats is sacreBLEU's _compute_f_score with eps_smoothing false.
func chrfFromStats(s *CHRFScore) float64 {
	avgPrec, avgRec, eff := 0.0, 0.0, 0
	for i := range chrfOrder {
		if s.Hyp[i] > 0 && s.Ref[i] > 0 {
			avgPrec += float64(s.Match[i]) / float64(s.Hyp[i])
			avgRec += float64(s.Match[i]) / float64(s.Ref[i])
			eff++
		}
	}
	if eff == 0 {
		return 0
	}
	avgPrec /= float64(eff)
	avgRec /= float64(eff)
	if avgPrec+avgRec == 0 {
		return 0
	}
	const factor = chrfBeta * chrfBeta
	return 100 * (1 + factor) * avgPrec * avgRec / (factor*avgPrec + avgRec)
}
