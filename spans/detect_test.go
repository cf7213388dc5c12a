package spans

import (
	"strings"
	"testing"

	"github.com/deen-mt/deen/spans/spanstest"
)

func TestDetect(t *testing.T) {
	type want struct {
		kind   Kind
		text   string
		render string
	}
	cases := []struct {
		src  string
		want []want
	}{
		{"Der Termin ist am 12.05.2026 um 14:30 Uhr.", []want{{Date, "12.05.2026", "12.05.2026"}, {Time, "14:30", "14:30"}}},
		{"Die Miete beträgt 1.150,00 Euro, also 318,40 pro Woche für 1.250 Leute.", []want{{Number, "1.150,00", "1,150.00"}, {Number, "318,40", "318.40"}, {Number, "1.250", "1,250"}}},
		{"Mehr auf https://www.example.com/hilfe?id=42&lang=de.", []want{{URL, "https://www.example.com/hilfe?id=42&lang=de", ""}}},
		{"Siehe www.bahn.de, example.org/agb oder (https://x.example/a_(b)).", []want{{URL, "www.bahn.de", ""}, {URL, "example.org/agb", ""}, {URL, "https://x.example/a_(b)", ""}}},
		{"Schreib an bewerbung@firma.example oder @baeckerei_mueller #sommer2025.", []want{{Email, "bewerbung@firma.example", ""}, {Handle, "@baeckerei_mueller", ""}, {Hashtag, "#sommer2025", ""}}},
		{`Öffne C:\Programme\Werkzeug\config.ini, /etc/hosts und ~/bin/run.sh.`, []want{{Path, `C:\Programme\Werkzeug\config.ini`, ""}, {Path, "/etc/hosts", ""}, {Path, "~/bin/run.sh", ""}}},
		{"Tippe `git status` ein.", []want{{Code, "`git status`", ""}}},
		{"Hallo {name}, noch %1$s von %d, {{var}}, $HOME und ${user}.", []want{{Placeholder, "{name}", ""}, {Placeholder, "%1$s", ""}, {Placeholder, "%d", ""}, {Placeholder, "{{var}}", ""}, {Placeholder, "$HOME", ""}, {Placeholder, "${user}", ""}}},
		{"Bestellung DE-2024-00817, Teil 4471-XK-93, Flug LH 2031.", []want{{ProductCode, "DE-2024-00817", ""}, {ProductCode, "4471-XK-93", ""}, {ProductCode, "LH 2031", ""}}},
		{"Das Buch hat die ISBN 978-3-16-148410-0.", []want{{ISBN, "978-3-16-148410-0", ""}}},
		{"Ruf 0800 123 456 oder +49 30 1234567 an.", []want{{Phone, "0800 123 456", ""}, {Phone, "+49 30 1234567", ""}}},
		{"Tel. +49 (0)30 1234567, 030/1234567 oder +4930123456.", []want{{Phone, "+49 (0)30 1234567", ""}, {Phone, "030/1234567", ""}, {Number, "+4930123456", ""}}},
		{"Es endete 3:1, Version 2.14.0, von 1990-1995.", []want{{Number, "3:1", ""}, {Version, "2.14.0", ""}, {Number, "1990-1995", ""}}},
		{"Wir treffen uns am 3. Mai um 9.30 Uhr.", []want{{Ordinal, "3.", "3"}, {Time, "9.30", "9:30"}}},
		{"Sie wurde 50% billiger und das Modell A4 kam 2019.", []want{{Number, "50%", "50%"}, {ProductCode, "A4", ""}, {Number, "2019", ""}}},
		{"Plus 2,5 %, 1.200 ‰, bei 25 °C, -4\u00a0°F und 90°.", []want{{Number, "2,5 %", "2.5%"}, {Number, "1.200 ‰", "1,200‰"}, {Number, "25 °C", "25 °C"}, {Number, "-4\u00a0°F", "-4\u00a0°F"}, {Number, "90°", "90°"}}},
		{"Ich habe heute keine Zeit 😀 👍🏽!", []want{{Emoji, "😀 👍🏽", ""}}},
		{"Siehe bericht_2024.pdf, Kapitel 3.1 und %(name)s bis 15.03.", []want{{Path, "bericht_2024.pdf", ""}, {Version, "3.1", ""}, {Placeholder, "%(name)s", ""}, {Version, "15.03", ""}}},
		{"Es kamen 10 000 Besucher, 1\u202f234\u202f567,5 Euro.", []want{{Number, "10 000", "10,000"}, {Number, "1\u202f234\u202f567,5", "1,234,567.5"}}},
		{"Die IBAN lautet DE89 3704 0044 0532 0130 00, Hauptstraße 12a.", []want{{ProductCode, "DE89 3704 0044 0532 0130 00", ""}, {ProductCode, "12a", ""}}},
		// Nothing to protect.
		{"Der Hund spielt im Garten.", nil},
		{"Ich gehe z.B. nach Hause, u.a. morgen.", nil},
		{"Das Haus.Der Garten.", nil},
		{"Die EU-Kommission tagt.", nil},
	}
	for _, c := range cases {
		got := Detect(c.src)
		if len(got) != len(c.want) {
			t.Errorf("Detect(%q) = %v, want %d spans %v", c.src, got, len(c.want), c.want)
			continue
		}
		for i, w := range c.want {
			if w.render == "" {
				w.render = w.text
			}
			g := got[i]
			if g.Kind != w.kind || g.Text != w.text || g.Render != w.render || c.src[g.Start:g.End] != g.Text {
				t.Errorf("Detect(%q)[%d] = %v %q→%q [%d,%d), want %v %q→%q", c.src, i, g.Kind, g.Text, g.Render, g.Start, g.End, w.kind, w.text, w.render)
			}
		}
	}
}

// Every required string that occurs in the source must be found: as a
// span (text or rendering) in text mode; in HTML mode, as markup that no
// segment gives the model and that Render puts back.
func TestDetectPublicExamples(t *testing.T) {
	checked := 0
	for _, e := range spanstest.ReadExamples(t, "spans_public.jsonl") {
		var found []string
		if e.HTML {
			d := ParseHTML(e.Src)
			out := d.Render(nil)
			for _, req := range e.Must {
				for _, acc := range req {
					hidden := strings.Contains(out, acc)
					for _, s := range d.Segments {
						hidden = hidden && !strings.Contains(s.Text, acc)
					}
					if hidden {
						found = append(found, acc)
					}
				}
			}
		} else {
			for _, s := range Detect(e.Src) {
				found = append(found, s.Text, s.Render)
			}
		}
		for _, req := range e.Must {
			inSource := false
			for _, acc := range req {
				inSource = inSource || strings.Contains(e.Src, acc)
			}
			if !inSource {
				continue
			}
			ok := false
			for _, acc := range req {
				for _, f := range found {
					ok = ok || f == acc
				}
			}
			checked++
			if !ok {
				t.Errorf("%q: none of %q detected (found %q)", e.Src, req, found)
			}
		}
	}
	if checked < 20 {
		t.Errorf("only %d requirements checked", checked)
	}
}

// Detect's contract on any input: sorted, non-overlapping spans whose Text
// is the source at [Start, End) and whose rendering keeps its digits.
func checkSpans(t *testing.T, text string, got []Span) {
	last := 0
	for _, s := range got {
		if s.Start < last || s.End <= s.Start || s.End > len(text) || text[s.Start:s.End] != s.Text {
			t.Fatalf("Detect(%q): bad span %+v after offset %d", text, s, last)
		}
		last = s.End
		if digits(s.Text) != digits(s.Render) {
			t.Fatalf("Detect(%q): %q rendered %q changes digits", text, s.Text, s.Render)
		}
	}
}

func digits(s string) string {
	return strings.Map(func(r rune) rune {
		if r >= '0' && r <= '9' {
			return r
		}
		return -1
	}, s)
}

func FuzzDetect(f *testing.F) {
	for _, e := range []string{"Am 12.05.2026 um 14:30 Uhr, 1.150,00 €.", "https://a.example/x?y=1.", "`x` %1$s {a} {{b}} ${c} $D",
		`C:\a\b.txt /usr/bin ~/x`, "@a #b c@d.example", "0800 123 456 +49 30 123", "DE-2024-00817 LH 2031 ISBN 978-3-16-148410-0", "3. Mai 9.30 Uhr 3:1 2.14.0", "\xff\xfe%"} {
		f.Add(e)
	}
	f.Fuzz(func(t *testing.T, s string) {
		checkSpans(t, s, Detect(s))
	})
}
