package serve

import (
	"math"

	"github.com/deen-mt/deen/langid"
)

// detection is one entry of a /detect answer and the detectedLanguage of
// /translate with source=auto.
type detection struct {
	Confidence float64 `json:"confidence"`
	Language   string  `json:"language"`
}

// detectLanguage tells German from English with package langid, the
// detector the translator's pass-through uses: it answers only these two
// languages, never that a text is French or Turkish.
//
// For Latin-script text langid compares character-trigram models of German
// and English; the mean log-likelihood ratio per trigram s over n
// trigrams, shifted by langid's German-favouring margin m (0.4 + 2/n), is
// the naive Bayes log-odds (s+m)·n, and the confidences (0..100,
// LibreTranslate's scale) are the posterior probabilities of German and of
// English, best first. Text without letters (numbers, emoji, URLs) or
// mostly in another script is not German and cannot be called English
// either: both get confidence 0, English first (LibreTranslate answers
// untranslatable text with {"confidence": 0, "language": "en"}).
func detectLanguage(text string) []detection {
	r := langid.Default().Detect(text)
	if r.Trigrams == 0 || r.Reason != "trigrams" {
		return []detection{{0, "en"}, {0, "de"}}
	}
	margin := 0.4 + 2/float64(r.Trigrams)
	logOdds := (r.Score + margin) * float64(r.Trigrams)
	pDE := math.Round(1000/(1+math.Exp(-logOdds))) / 10
	d := []detection{{pDE, "de"}, {math.Round(10*(100-pDE)) / 10, "en"}}
	if !r.German {
		d[0], d[1] = d[1], d[0]
	}
	return d
}
