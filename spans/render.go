package spans

import "strings"

// render returns what the translation must contain for a span of kind k
// with source text t (see the package doc: German number formats become
// English ones, everything else is copied).
func render(k Kind, t string) string {
	switch k {
	case Number:
		num, unit := splitUnit(t)
		return renderNumber(num) + unit
	case Time:
		return strings.Replace(t, ".", ":", 1) // 9.30 (Uhr) → 9:30
	case Ordinal:
		return strings.TrimSuffix(t, ".")
	}
	return t
}

// numberUnits are the unit signs a number span may end in (unitSuffix),
// longest first.
var numberUnits = []string{"°C", "°F", "%", "‰", "°"}

// unitWords are the English words that may stand for a unit sign after a
// number ("20 percent" keeps "20 %").
var unitWords = map[string][]string{
	"%": {"percent", "per cent"}, "‰": {"per mille", "per thousand"},
	"°C": {"degrees Celsius", "degrees"}, "°F": {"degrees Fahrenheit", "degrees"}, "°": {"degrees"},
}

// splitUnit splits a number span's text into the number and its unit
// sign as English writes it: per cent and per mille glued to the number
// (20 % → 20%), degrees as the source spaced them (25 °C).
func splitUnit(t string) (num, unit string) {
	for _, u := range numberUnits {
		if strings.HasSuffix(t, u) {
			num = strings.TrimRight(t[:len(t)-len(u)], " \u00a0\u202f")
			if u == "%" || u == "‰" {
				return num, u
			}
			return num, t[len(num):]
		}
	}
	return t, ""
}

// renderNumber writes a German number in English format.
func renderNumber(t string) string {
	// Only German formats reach here with a dot or comma: the dot (or a
	// space) is a thousands separator, the comma the decimal mark. Swap
	// them.
	return strings.Map(func(r rune) rune {
		switch r {
		case '.', ' ', '\u00a0', '\u202f':
			return ','
		case ',':
			return '.'
		}
		return r
	}, t)
}

// numberWords are the English words a model may use for a small number;
// "4" written as "four" counts as kept.
var numberWords = map[string][]string{
	"0": {"zero", "no"}, "1": {"one", "a", "an"}, "2": {"two"}, "3": {"three"}, "4": {"four"},
	"5": {"five"}, "6": {"six"}, "7": {"seven"}, "8": {"eight"}, "9": {"nine"}, "10": {"ten"},
	"11": {"eleven"}, "12": {"twelve"},
}
