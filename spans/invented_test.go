package spans

import (
	"reflect"
	"testing"
)

func TestInvented(t *testing.T) {
	for _, c := range []struct {
		src, tgt string
		want     []string
	}{
		{"Die Bestellung DE-2024-00817 kommt am 3. Mai.", "The DE-2024-00817 is 3,3 of 1,500.", []string{"3,3", "1,500"}},
		{"Ruf mich unter +49 30 1234567 an.", "Call me at 33,5, +49 30 1234567.", []string{"33,5"}},
		{"Die Rechnung über 1.234,56 € ist am 15.03.2025 fällig.", "The invoice of €1,234.56 is due on 03/15/2025.", nil},
		{"Der Zug fährt um 17 Uhr.", "The train leaves at 5 p.m.", nil},
		{"Der Zug fährt um 9.30 Uhr.", "The train leaves at 9:30.", nil},
		{"Wir bleiben drei Tage.", "We're staying 3 days.", nil},
		{"Es ist halb zehn.", "It's 9:30.", []string{"9:30"}}, // 9 is not in the source: flagged, not deleted
		{"Im Jahr 1989 fiel die Mauer.", "In 1988, the wall fell.", []string{"1988"}},
		{"Ich habe 007 gesehen.", "I saw 7.", nil},
		{"Kein Zahl hier.", "No number here.", nil},
		{"Er ist 0 Jahre alt.", "He is 0 years old.", nil},
	} {
		if got := Invented(c.src, c.tgt); !reflect.DeepEqual(got, c.want) {
			t.Errorf("Invented(%q, %q) = %q, want %q", c.src, c.tgt, got, c.want)
		}
	}
}

func FuzzInvented(f *testing.F) {
	f.Add("Im Jahr 1989 fiel die Mauer.", "In 1988, the wall fell.")
	f.Add("1.234,56 €", "€1,234.56 0:0 -/.,")
	f.Fuzz(func(t *testing.T, src, tgt string) {
		for _, s := range Invented(src, tgt) {
			if number(s) == "" {
				t.Fatalf("Invented(%q, %q) returned %q without digits", src, tgt, s)
			}
		}
		if got := Invented(tgt, tgt); len(got) != 0 {
			t.Fatalf("a text invents numbers against itself: %q", got)
		}
	})
}

func TestInventedClock(t *testing.T) {
	for _, c := range []struct {
		src, tgt string
		want     []string
	}{
		{"Um 17:30 Uhr.", "At 5:30 p.m.", nil},
		{"Um 17:30 Uhr.", "At 5:45 p.m.", []string{"5:45"}},
		{"Um 8 Uhr.", "At 8 a.m.", nil},
		{"Um 20 Uhr.", "At 8 p.m.", nil},
		{"Um 20 Uhr.", "At 9 p.m.", []string{"9"}},
	} {
		if got := Invented(c.src, c.tgt); !reflect.DeepEqual(got, c.want) {
			t.Errorf("Invented(%q, %q) = %q, want %q", c.src, c.tgt, got, c.want)
		}
	}
}
