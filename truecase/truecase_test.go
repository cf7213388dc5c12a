package truecase

import (
	"errors"
	"strings"
	"testing"
)

var corpus = []string{
	"Ich habe einen Hund.", "Der Hund schläft am Abend.", "Wir gehen heute nach Hause.",
	"Er wohnt in der Straße.", "Ich hab's gesehen.", "Das ist eine E-Mail.", "Heute ist es kalt.",
	"Das ist toll.", "Wir treffen uns um acht.", "Die USA sind groß.", "Hallo, wie geht's?",
	"Er sagt: Das ist toll.", "Sie hat einen Hund. Er ist alt.", "Sie hat einen Hund. Er ist alt.",
	"Ich wohne in Berlin.", "ich weiß es nicht.", "Es kommt.", "Weißt du, ich komme.", "Dann kam er.",
}

func learned(t *testing.T) *Model {
	t.Helper()
	return Learn(corpus, 1)
}

func TestLearn(t *testing.T) {
	m := learned(t)
	for word, want := range map[string]string{
		"HUND": "Hund", "hund": "Hund", "STRASSE": "Straße", "strasse": "Straße", "IST": "ist",
		"usa": "USA", "HAB'S": "hab's", "e-mail": "E-Mail", "ER": "er", "toll": "toll",
	} {
		if got, ok := m.Usual(word); !ok || got != want {
			t.Errorf("Usual(%q) = %q, %v; want %q", word, got, ok, want)
		}
	}
	// Only seen first in a sentence (or after a sentence end, or a colon):
	// the capital says nothing, so the word is not learned.
	for _, w := range []string{"Ich", "Wir", "Das", "Hallo", "Sie"} {
		if f, ok := m.Usual(w); ok && f == w {
			t.Errorf("%q learned from sentence starts only", w)
		}
	}
	if f, _ := m.Usual("ICH"); f != "ich" {
		t.Errorf("ICH → %q; the one mid-sentence use is its spelling", f)
	}
	// minCount drops rare words.
	if _, ok := Learn(corpus, 2).Usual("Berlin"); ok {
		t.Error("a word seen once kept with minCount 2")
	}
	if f, ok := Learn(corpus, 2).Usual("Hund"); !ok || f != "Hund" {
		t.Errorf("Hund with minCount 2: %q, %v", f, ok)
	}
}

func TestCasingOf(t *testing.T) {
	for s, want := range map[string]Casing{
		"ICH HABE HEUTE KEINE ZEIT.":    Upper,
		"GROß":                          Upper,
		"ich habe heute keine zeit":     Lower,
		"Ich habe heute keine Zeit.":    Mixed,
		"Die NATO tagt.":                Mixed,
		"A":                             Mixed, // no word of two letters
		"12:30, 03.01.2026":             Mixed,
		"HALLO {name}, WIE GEHT'S?":     Upper, // {name}, is not a plain word
		"www.example.com":               Mixed,
		"":                              Mixed,
		"„ICH KOMME“, SAGT ER.":         Upper,
		"ich komme um 17:42 nach hause": Lower,
	} {
		if got := CasingOf(s); got != want {
			t.Errorf("CasingOf(%q) = %v, want %v", s, got, want)
		}
	}
}

func TestRecase(t *testing.T) {
	m := learned(t)
	for in, want := range map[string]string{
		"ICH HABE EINEN HUND.":                   "Ich habe einen Hund.",
		"ich habe einen hund.":                   "Ich habe einen Hund.",
		"Der Hund schläft.":                      "Der Hund schläft.", // mixed: untouched
		"der hund schläft am abend um 17:42.":    "Der Hund schläft am Abend um 17:42.",
		"DER HUND SCHLÄFT AM 03.01.2026 UM ACHT": "Der Hund schläft am 03.01.2026 um acht",
		"STRASSE":                         "Straße",
		"STRAẞE":                          "STRAẞE", // Straße is a byte shorter: left
		"WWW.EXAMPLE.COM IST TOLL":        "WWW.EXAMPLE.COM ist toll",
		"HALLO {name}, WIE GEHT'S?":       "Hallo {name}, wie geht's?",
		"THOMAS BECKER KOMMT.":            "Thomas Becker kommt.", // unknown words capitalised
		"thomas becker kommt.":            "Thomas becker kommt.", // lower case: unknown words as written
		"DAS IST EINE E-MAIL":             "Das ist eine E-Mail",
		"HAUS-TÜR":                        "Haus-Tür",
		"DIE USA SIND GROSS.":             "Die USA sind groß.",
		"„ICH HAB'S GESEHEN“, SAGT ER.":   "„Ich hab's gesehen“, sagt er.",
		"  ER IST ALT.  ":                 "  Er ist alt.  ",
		"SIE HAT EINEN HUND. ER IST ALT.": "Sie hat einen Hund. Er ist alt.",
		"Wir gehen HEUTE nach Hause.":     "Wir gehen heute nach Hause.", // mixed: a word in capitals for emphasis
		"HEUTE ist es kalt.":              "Heute ist es kalt.",
		"Der Hund schläft am ABEND.":      "Der Hund schläft am Abend.",
		"Wir fahren in die USA.":          "Wir fahren in die USA.",     // usually in capitals
		"ACHTUNG: Der Hund schläft.":      "ACHTUNG: Der Hund schläft.", // unknown: as written
		"A":                               "A",
		"":                                "",
	} {
		got := m.Recase(in)
		if got != want {
			t.Errorf("Recase(%q) = %q, want %q", in, got, want)
		}
		if len(got) != len(in) {
			t.Errorf("Recase(%q) = %q: %d bytes, want %d", in, got, len(got), len(in))
		}
	}
}

// TestCapitals: plain words go to capitals; numbers, times, URLs,
// placeholders and spacing stay as written.
func TestCapitals(t *testing.T) {
	cases := [][2]string{
		{"The train leaves at 14:30.", "THE TRAIN LEAVES AT 14:30."},
		{"I don't know, {name}.", "I DON'T KNOW, {name}."},
		{"See https://bahn.example/fahrplan, Tom!", "SEE https://bahn.example/fahrplan, TOM!"},
		{"„Müller-Lüdenscheidt“  came\tat 8am", "„MÜLLER-LÜDENSCHEIDT“  CAME\tAT 8am"},
		{"", ""},
	}
	for _, c := range cases {
		if got := Capitals(c[0]); got != c[1] {
			t.Errorf("Capitals(%q) = %q, want %q", c[0], got, c[1])
		}
	}
}

func TestUnknown(t *testing.T) {
	m := learned(t)
	cases := []struct {
		src  string
		want []string
	}{
		{"Der ADAC hilft, die EU auch.", []string{"ADAC", "EU"}},
		{"Die USA sind groß, der HUND schläft.", nil}, // known: usually so, or another case
		{"„(NATO)“ und BMW-Werk, AÖÜ!", []string{"NATO", "AÖÜ"}},
		{"Die BUNDESREPUBLIK und A und X-Y und ICE4.", nil}, // too long, one letter, joined, digit
		{"DER ADAC HILFT.", nil},                            // all in capitals
		{"", nil},
	}
	for _, c := range cases {
		var got []string
		for _, r := range m.Unknown(c.src) {
			got = append(got, c.src[r[0]:r[1]])
		}
		if strings.Join(got, "|") != strings.Join(c.want, "|") {
			t.Errorf("Unknown(%q) = %q, want %q", c.src, got, c.want)
		}
	}
}

func TestMarshalRoundTrip(t *testing.T) {
	m := learned(t)
	b, err := m.MarshalBinary()
	if err != nil {
		t.Fatal(err)
	}
	var back Model
	if err := back.UnmarshalBinary(b); err != nil {
		t.Fatal(err)
	}
	if back.Len() != m.Len() || back.Len() == 0 {
		t.Fatalf("%d words back, want %d", back.Len(), m.Len())
	}
	for k, f := range m.forms {
		if back.forms[k] != f {
			t.Errorf("%s: %q back, want %q", k, back.forms[k], f)
		}
	}
	b2, _ := back.MarshalBinary()
	if string(b2) != string(b) {
		t.Error("marshalling again gives other bytes")
	}
	for name, bad := range map[string]string{
		"header":    "deen-truecase 2\nHund\n",
		"no header": "Hund\n",
		"two words": header + "Hund Katze\n",
		"digits":    header + "Hund3\n",
		"twice":     header + "Hund\nHUND\n",
		"empty":     header + "\n",
		"utf8":      header + "H\xffund\n",
	} {
		var m Model
		if err := m.UnmarshalBinary([]byte(bad)); !errors.Is(err, ErrFormat) {
			t.Errorf("%s: %v, want ErrFormat", name, err)
		}
	}
}

// FuzzRecase checks on any text that Recase keeps the byte length and
// changes only the case of words (their folded forms stay), and never
// panics.
func FuzzRecase(f *testing.F) {
	m := Learn(corpus, 1)
	for _, s := range []string{"ICH HABE EINEN HUND.", "straße", "STRAẞE İI", "„A-B' 'C-“", "ıi hund", "ǅ ǈ"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		got := m.Recase(s)
		if len(got) != len(s) {
			t.Fatalf("Recase(%q) = %q: length %d, want %d", s, got, len(got), len(s))
		}
		a, b := tokens(s), tokens(got)
		if len(a) != len(b) {
			t.Fatalf("Recase(%q) = %q: %d tokens, want %d", s, got, len(b), len(a))
		}
		for i := range a {
			if a[i].word == "" && a[i].text != b[i].text || Fold(a[i].text) != Fold(b[i].text) && !strings.ContainsRune(a[i].text, 'ẞ') {
				t.Fatalf("Recase(%q) = %q: token %q became %q", s, got, a[i].text, b[i].text)
			}
		}
		// Capitals changes plain words only.
		up := tokens(Capitals(s))
		if len(up) != len(a) {
			t.Fatalf("Capitals(%q): %d tokens, want %d", s, len(up), len(a))
		}
		for i := range a {
			if a[i].word == "" && a[i].text != up[i].text {
				t.Fatalf("Capitals(%q): token %q became %q", s, a[i].text, up[i].text)
			}
		}
	})
}

// FuzzUnmarshal checks that no input makes UnmarshalBinary panic, and that
// what it accepts marshals back to an input it reads the same.
func FuzzUnmarshal(f *testing.F) {
	b, _ := Learn(corpus, 1).MarshalBinary()
	f.Add(b)
	f.Add([]byte(header + "Hund\nE-Mail\nhab's\n"))
	f.Add([]byte("deen-truecase 1\n\n"))
	f.Fuzz(func(t *testing.T, data []byte) {
		var m Model
		if err := m.UnmarshalBinary(data); err != nil {
			return
		}
		out, _ := m.MarshalBinary()
		var back Model
		if err := back.UnmarshalBinary(out); err != nil || back.Len() != m.Len() {
			t.Fatalf("re-read of %q: %v, %d words, want %d", out, err, back.Len(), m.Len())
		}
	})
}
