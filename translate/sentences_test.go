package translate

import (
	"reflect"
	"strings"
	"testing"
)

func TestSplitSentences(t *testing.T) {
	for _, c := range []struct {
		in   string
		want []string
	}{
		{"Der Hund bellt. Die Katze schläft.", []string{"Der Hund bellt.", "Die Katze schläft."}},
		{"Kommst du? Ja! Gut…", []string{"Kommst du?", "Ja!", "Gut…"}},
		{"Wir brauchen z. B. Mehl. Dann backen wir.", []string{"Wir brauchen z. B. Mehl.", "Dann backen wir."}},
		{"Wir brauchen z.B. Mehl und Zucker.", []string{"Wir brauchen z.B. Mehl und Zucker."}},
		{"Dr. Müller wohnt in der Hauptstr. Nr. 5. Er ist Arzt.", []string{"Dr. Müller wohnt in der Hauptstr. Nr. 5.", "Er ist Arzt."}},
		{"Am 3. Mai feiern wir. Es gibt Kuchen.", []string{"Am 3. Mai feiern wir.", "Es gibt Kuchen."}},
		{"Im 19. Jahrhundert wuchs die Stadt.", []string{"Im 19. Jahrhundert wuchs die Stadt."}},
		{"Das war 1990. Danach kam die Einheit.", []string{"Das war 1990.", "Danach kam die Einheit."}},
		{"2. Ergebnisse der Studie", []string{"2. Ergebnisse der Studie"}},
		{"Er wurde 3. Das war gut.", []string{"Er wurde 3.", "Das war gut."}},
		{"Der Preis stieg um 3.5 Prozent. Das ist viel.", []string{"Der Preis stieg um 3.5 Prozent.", "Das ist viel."}},
		{"Er sagte: „Ich komme.“ Dann ging er.", []string{"Er sagte: „Ich komme.“", "Dann ging er."}},
		{"„Komm her!“, rief sie. Er kam.", []string{"„Komm her!“, rief sie.", "Er kam."}},
		{"Warte... das stimmt nicht. Oder doch?", []string{"Warte... das stimmt nicht.", "Oder doch?"}},
		{"Und dann... Nichts mehr.", []string{"Und dann...", "Nichts mehr."}},
		{"Äpfel, Birnen usw. Danach Nüsse.", []string{"Äpfel, Birnen usw.", "Danach Nüsse."}},
		{"Das kostet ca. 10 Euro. (Ohne Steuer.)", []string{"Das kostet ca. 10 Euro.", "(Ohne Steuer.)"}},
		{"  Eins.   Zwei.  ", []string{"Eins.", "Zwei."}},
		{"ohne Punkt am Ende", []string{"ohne Punkt am Ende"}},
		{"", nil},
		{"   ", nil},
		{"...", []string{"..."}},
	} {
		if got := SplitSentences(c.in); !reflect.DeepEqual(got, c.want) {
			t.Errorf("SplitSentences(%q) = %q, want %q", c.in, got, c.want)
		}
	}
}

func FuzzSplitSentences(f *testing.F) {
	for _, s := range []string{"Der Hund bellt. Die Katze schläft.", "z. B. 3. Mai „Ja.“ Nein!", "a\xffb. C", "… . ! ?"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		// Sentences are in order, non-empty, trimmed, and only whitespace
		// lies between them.
		pos := 0
		for _, sp := range sentenceSpans(s) {
			if sp[0] < pos || sp[1] <= sp[0] || sp[1] > len(s) {
				t.Fatalf("bad span %v after %d in %q", sp, pos, s)
			}
			if strings.TrimSpace(s[pos:sp[0]]) != "" {
				t.Fatalf("text %q between sentences of %q", s[pos:sp[0]], s)
			}
			if sent := s[sp[0]:sp[1]]; strings.TrimSpace(sent) != sent {
				t.Fatalf("sentence %q not trimmed", sent)
			}
			pos = sp[1]
		}
		if strings.TrimSpace(s[pos:]) != "" {
			t.Fatalf("text %q after the last sentence of %q", s[pos:], s)
		}
		// The layout of a text (lines, sentences, whitespace) rejoins to it.
		l := cut(s)
		var b strings.Builder
		b.WriteString(l.lits[0])
		for i, sent := range l.sentences {
			b.WriteString(sent + l.lits[i+1])
		}
		if b.String() != s || len(l.lits) != len(l.sentences)+1 {
			t.Fatalf("layout of %q rejoins to %q", s, b.String())
		}
	})
}
