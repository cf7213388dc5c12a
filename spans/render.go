package spans

import "strings"

// render returns what the translation must contain for a span of kind k
// with source text t (see the package doc: German number formats become
// English ones, everything else is copied).
func render(k Kind, t string) string {
	switch k {
	case Number:
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
	case Time:
		return strings.Replace(t, ".", ":", 1) // 9.30 (Uhr) → 9:30
	case Ordinal:
		return strings.TrimSuffix(t, ".")
	}
	return t
}

// numberWords are the English words a model may use for a small number;
// "4" written as "four" counts as kept.
var numberWords = map[string][]string{
	"0": {"zero", "no"}, "1": {"one", "a", "an"}, "2": {"two"}, "3": {"three"}, "4": {"four"},
	"5": {"five"}, "6": {"six"}, "7": {"seven"}, "8": {"eight"}, "9": {"nine"}, "10": {"ten"},
	"11": {"eleven"}, "12": {"twelve"},
}
