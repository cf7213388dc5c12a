package spans

import (
	"strconv"
	"strings"
	"unicode"
)

// germanNumberWords are the German number words a translation may rightly write
// as digits ("drei Stunden" → "3 hours", "halb zehn" → "9:30").
var germanNumberWords = map[string]string{
	"null": "0", "ein": "1", "eine": "1", "einen": "1", "einem": "1", "einer": "1", "eins": "1",
	"zwei": "2", "drei": "3", "vier": "4", "fünf": "5", "sechs": "6", "sieben": "7", "acht": "8",
	"neun": "9", "zehn": "10", "elf": "11", "zwölf": "12", "zwanzig": "20", "dreißig": "30",
	"vierzig": "40", "fünfzig": "50", "hundert": "100", "tausend": "1000", "halb": "30",
	"viertel": "15", "dreiviertel": "45",
}

// Invented returns the numbers of a translation tgt that its source src
// does not hold: written with digits in tgt, and with digits found neither
// in a number of src (separators and leading zeros ignored, so 1.234,56 →
// 1,234.56 and 15.03.2025 → 03/15/2025 are no inventions; a 12-hour clock
// hour may stand for a 24-hour one) nor among the German number words up
// to tausend. A translation that invents a number cannot be trusted as it
// stands; the caller flags it rather than deleting words.
func Invented(src, tgt string) []string {
	have := map[string]bool{}
	for _, f := range strings.FieldsFunc(strings.ToLower(src), notNumberPart) {
		if d, ok := germanNumberWords[f]; ok {
			have[d] = true
		}
		have[number(f)] = true
		for _, p := range strings.FieldsFunc(f, isSeparator) {
			have[number(p)] = true
		}
	}
	delete(have, "")
	var out []string
	for _, f := range strings.FieldsFunc(tgt, notNumberPart) {
		if number(f) == "" || have[number(f)] {
			continue
		}
		if !knownParts(strings.FieldsFunc(f, isSeparator), have) {
			out = append(out, strings.Trim(f, ".,:-/"))
		}
	}
	return out
}

// knownParts reports whether a number written in other parts than in the
// source is still the source's: a date reordered (all of three or more
// parts in the source) or a time on a 12-hour clock (the hour as a 24-hour
// one, the other parts as they are).
func knownParts(parts []string, have map[string]bool) bool {
	switch len(parts) {
	case 0:
		return true
	case 1: // an hour: 5 (p.m.) for 17 (Uhr)
		return have[plus12(number(parts[0]))]
	case 2: // a time: the hour on a 12-hour clock, the minutes as they are
		return have[plus12(number(parts[0]))] && have[number(parts[1])]
	}
	for _, p := range parts { // a date, reordered
		if d := number(p); d != "" && !have[d] {
			return false
		}
	}
	return true
}

// notNumberPart splits text into tokens that keep a number's separators
// (1,234.56, 17:42, 03/15/2025) together.
func notNumberPart(r rune) bool {
	return !unicode.IsLetter(r) && !unicode.IsDigit(r) && !isSeparator(r)
}

func isSeparator(r rune) bool { return strings.ContainsRune(".,:-/", r) }

// number returns the ASCII digits of s without leading zeros ("0" for
// zeros only, "" for none).
func number(s string) string {
	var b strings.Builder
	for _, r := range s {
		if r >= '0' && r <= '9' && (b.Len() > 0 || r != '0') {
			b.WriteRune(r)
		}
	}
	if b.Len() == 0 && strings.ContainsRune(s, '0') {
		return "0"
	}
	return b.String()
}

// plus12 is the 24-hour reading of a 12-hour clock hour ("5" → "17"), ""
// for anything else.
func plus12(d string) string {
	n, err := strconv.Atoi(d)
	if err != nil || n < 1 || n > 12 {
		return ""
	}
	return strconv.Itoa(n + 12)
}
