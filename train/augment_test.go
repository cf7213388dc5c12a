package train

import (
	"math/rand/v2"
	"reflect"
	"strings"
	"testing"
)

var augPairs = []Pair{
	{"Tom ist müde.", "Tom is tired."},
	{"Nein.", "No."},
	{"Ich bin 30 Jahre alt.", "I'm 30 years old."},
	{"Die Straße ist lang.", "The street is long."},
	{"Mary wohnt in Boston.", "Mary lives in Boston."},
	{"Wir essen um zwölf.", "We eat at twelve."},
}

func TestAugmentDeterministicAndKeepsOriginals(t *testing.T) {
	a := Augmentation{Caps: 1, Lower: 1, ShortRepeat: 2, Concat: 1, Names: 1, Spans: 2}
	orig := append([]Pair(nil), augPairs...)
	x, y := Augment(augPairs, a, 7), Augment(augPairs, a, 7)
	if !reflect.DeepEqual(x, y) {
		t.Fatal("same input and seed gave different augmentations")
	}
	if !reflect.DeepEqual(augPairs, orig) || !reflect.DeepEqual(x[:len(orig)], orig) {
		t.Fatal("originals changed or not first")
	}
	// 6 caps + 6 lower + 2 copies of "Nein." + 6 concat + 6 names + 12 spans
	if want := len(orig) + 6 + 6 + 2 + 6 + 6 + 12; len(x) != want {
		t.Fatalf("%d pairs, want %d", len(x), want)
	}
	if z := Augment(augPairs, a, 8); reflect.DeepEqual(x, z) {
		t.Fatal("another seed gave the same augmentation")
	}
	if z := Augment(augPairs, Augmentation{}, 7); !reflect.DeepEqual(z, orig) {
		t.Fatal("zero augmentation changed the pairs")
	}
}

func TestAugmentKinds(t *testing.T) {
	x := Augment(augPairs, Augmentation{Caps: 1}, 1)[len(augPairs):]
	for _, p := range x {
		if p.De != strings.ToUpper(p.De) || p.En != strings.ToUpper(p.En) || strings.Contains(p.De, "ß") {
			t.Errorf("caps pair %q", p)
		}
	}
	if got := upperDE("Die Straße"); got != "DIE STRASSE" {
		t.Errorf("upperDE = %q", got)
	}
	for _, p := range Augment(augPairs, Augmentation{Names: 3}, 1)[len(augPairs):] {
		// every name pair keeps the rest of a sentence with a shared token
		ok := false
		for _, q := range augPairs {
			for _, w := range sharedTokens(q) {
				de, en := strings.SplitN(q.De, w, 2), strings.SplitN(q.En, w, 2)
				if strings.HasPrefix(p.De, de[0]) && strings.HasSuffix(p.De, de[1]) && strings.HasPrefix(p.En, en[0]) && strings.HasSuffix(p.En, en[1]) {
					ok = true
				}
			}
		}
		if !ok {
			t.Errorf("name pair %q is not a substitution of a shared token", p)
		}
	}
}

func TestSharedTokensAndReplace(t *testing.T) {
	for _, c := range []struct {
		p    Pair
		want []string
	}{
		{Pair{"Tom ist müde.", "Tom is tired."}, []string{"Tom"}},
		{Pair{"Ich bin 30 Jahre alt.", "I'm 30 years old."}, []string{"30"}},
		{Pair{"Mary wohnt in Boston.", "Mary lives in Boston."}, []string{"Mary", "Boston"}},
		{Pair{"Die Straße ist lang.", "The street is long."}, nil},
		{Pair{"Er hat 3 Tomaten.", "He has 3 tomatoes."}, []string{"3"}},
	} {
		if got := sharedTokens(c.p); !reflect.DeepEqual(got, c.want) {
			t.Errorf("sharedTokens(%q) = %q, want %q", c.p, got, c.want)
		}
	}
	if got := replaceWord("Tom und Tomas sehen Tom.", "Tom", "Anna"); got != "Anna und Tomas sehen Anna." {
		t.Errorf("replaceWord = %q", got)
	}
	for in, want := range map[string]string{
		"Er kommt.": "Er kommt (X).", "Kommt er?!": "Kommt er (X)?!", "Warte…": "Warte (X)…",
		"„Ja.“": "„Ja (X).“", "ohne": "ohne (X)", "": " (X)",
	} {
		if got := beforeFinalPunct(in, " (X)"); got != want {
			t.Errorf("beforeFinalPunct(%q) = %q, want %q", in, got, want)
		}
	}
}

func TestRandomSpan(t *testing.T) {
	r := rand.New(rand.NewPCG(1, 2))
	kinds := map[string]bool{}
	for range 2000 {
		de, en := randomSpan(r)
		if de == "" || en == "" || strings.ContainsAny(de+en, "\n\t") {
			t.Fatalf("bad span %q → %q", de, en)
		}
		if de != en { // only number separators may differ, digits never
			if strings.Map(keepDigit, de) != strings.Map(keepDigit, en) || strings.Count(de, ",") != strings.Count(en, ".") {
				t.Fatalf("span %q → %q changes more than separators", de, en)
			}
		}
		for _, c := range "@{}%$`\\/:#~" {
			if strings.ContainsRune(de, c) {
				kinds[string(c)] = true
			}
		}
	}
	if len(kinds) < 11 {
		t.Errorf("symbols seen in 2000 spans: %v, want all of @{}%%$`\\/:#~", kinds)
	}
	if got := groupThousands(1234567, "."); got != "1.234.567" {
		t.Errorf("groupThousands = %q", got)
	}
}

func keepDigit(c rune) rune {
	if c >= '0' && c <= '9' {
		return c
	}
	return -1
}
