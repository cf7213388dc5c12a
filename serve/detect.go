package serve

import (
	"math"
	"strings"
	"unicode"
)

// detection is one entry of a /detect answer and the detectedLanguage of
// /translate with source=auto.
type detection struct {
	Confidence float64 `json:"confidence"`
	Language   string  `json:"language"`
}

// The two languages this server knows. /detect tells only these apart: it
// answers whether a text looks more German or more English, never that it
// is French or Turkish.
var (
	germanWords = setOf(`der die das den dem des ein eine einen einem einer eines und oder aber nicht ist sind
		war waren bin bist hat habe haben hatte ich du er sie wir ihr mich mir dich dir sich uns euch mein
		dein sein ihre unser kein keine mit von zu zum zur auf aus bei nach für über unter vor durch gegen
		ohne um wie wo warum wer wen wem welche dass auch noch schon sehr nur immer hier heute morgen ja nein
		bitte danke gut kann können muss müssen wird werden wurde möchte gern gerne viel nichts etwas alles`)
	englishWords = setOf(`the a an and or but not is are was were be been am has have had i you he she we they
		me my your his her our their it its this that these those of to for with from by on at into about
		what where why who which how there here today tomorrow yes no please thank thanks good can could
		must will would should do does did nothing something everything very only always just`)
)

func setOf(words string) map[string]bool {
	m := map[string]bool{}
	for _, w := range strings.Fields(words) {
		m[w] = true
	}
	return m
}

// detectLanguage guesses whether text is German or English with a simple,
// documented heuristic (until the repository has a language identifier):
// each word that is a common German function word, or that has ä, ö, ü or
// ß, counts for German; each common English function word counts for
// English. The confidences (0..100, LibreTranslate's scale) are the shares
// of the counted words, best first; a text with no counted word gets
// confidence 0 for both, German first (this server's source language).
func detectLanguage(text string) []detection {
	var de, en int
	for _, w := range strings.FieldsFunc(strings.ToLower(text), func(r rune) bool {
		return !unicode.IsLetter(r) && r != '\''
	}) {
		switch {
		case germanWords[w] || strings.ContainsAny(w, "äöüß"):
			de++
		case englishWords[w]:
			en++
		}
	}
	if de+en == 0 {
		return []detection{{0, "de"}, {0, "en"}}
	}
	pDE := math.Round(1000*float64(de)/float64(de+en)) / 10
	d := []detection{{pDE, "de"}, {math.Round(10*(100-pDE)) / 10, "en"}}
	if en > de {
		d[0], d[1] = d[1], d[0]
	}
	return d
}
