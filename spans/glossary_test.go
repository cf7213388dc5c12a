package spans

import (
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/deen-mt/deen/spans/spanstest"
)

func TestReadGlossaryErrors(t *testing.T) {
	for _, c := range []struct{ in, want string }{
		{"Rechnung invoice\n", "line 1: want \"German<TAB>English\", found 0 tab(s)"},
		{"# c\n\nA\tB\tC\n", "line 3: want"},
		{"A\t \n", "line 1: empty term"},
		{"A\tB\n\xff\tx\n", "line 2: invalid UTF-8"},
		{"--\tx\n", "has no letters"},
	} {
		_, err := ReadGlossary(strings.NewReader(c.in))
		if err == nil || !strings.Contains(err.Error(), c.want) {
			t.Errorf("ReadGlossary(%q) error %v, want %q", c.in, err, c.want)
		}
	}
	g, err := ReadGlossary(strings.NewReader("\ufeffRechnung\tinvoice\r\n# Kommentar\r\nRotes Kreuz\tRed Cross\r\n"))
	if err != nil || g.Len() != 2 {
		t.Fatalf("ReadGlossary: %v, %d terms", err, g.Len())
	}
}

func TestGlossaryInflection(t *testing.T) {
	g, err := ReadGlossary(strings.NewReader("Antrag\tapplication\nRechnung\tinvoice\nHaus\thouse\nKarte\tcard\nRotes Kreuz\tRed Cross\nKreuz\tcross\n"))
	if err != nil {
		t.Fatal(err)
	}
	for _, c := range []struct {
		src  string
		want []string // German forms matched, in order
	}{
		{"Der Antrag, die Anträge, des Antrags, den Anträgen.", []string{"Antrag", "Anträge", "Antrags", "Anträgen"}},
		{"RECHNUNG und rechnungen, aber kein Rechnungsbetrag.", []string{"RECHNUNG", "rechnungen"}},
		{"Die Häuser und dem Hause, zwei Karten.", []string{"Häuser", "Hause", "Karten"}},
		{"Ein Rotes Kreuz und ein Kreuz.", []string{"Rotes Kreuz", "Kreuz"}},
		{"Der Antragsteller, die Hauskatze.", nil},
	} {
		var got []string
		for _, s := range g.Find(c.src) {
			if c.src[s.Start:s.End] != s.Text || s.Kind != Term {
				t.Errorf("bad span %+v", s)
			}
			got = append(got, s.Text)
		}
		if strings.Join(got, "|") != strings.Join(c.want, "|") {
			t.Errorf("Find(%q) = %q, want %q", c.src, got, c.want)
		}
	}
	if (*Glossary)(nil).Find("Antrag") != nil {
		t.Error("nil glossary found something")
	}
}

// Every public glossary example contains a term the glossary finds, whose
// rendering is the required English.
func TestGlossaryPublicExamples(t *testing.T) {
	f, err := os.Open(filepath.Join("..", "testdata", "spans", "glossary_public.tsv"))
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	g, err := ReadGlossary(f)
	if err != nil {
		t.Fatal(err)
	}
	for _, e := range spanstest.ReadExamples(t, "glossary_public.jsonl") {
		found := g.Find(e.Src)
		for _, req := range e.Must {
			ok := false
			for _, s := range found {
				for _, acc := range req {
					ok = ok || s.Render == acc
				}
			}
			if !ok {
				t.Errorf("%q: glossary gives %v, want one of %q", e.Src, found, req)
			}
		}
	}
}

func TestGlossaryRepair(t *testing.T) {
	g, _ := ReadGlossary(strings.NewReader("Rechnung\tinvoice\nLandratsamt\tLandratsamt\n"))
	src := "Die Rechnungen vom Landratsamt kommen morgen."
	tgt := "The bills from the district office come tomorrow."
	// The The=0 bills=1 from=2 the=2 district=3 office=3 come=4 tomorrow=5
	al := wordAlign(src, tgt, []int{0, 1, 2, 2, 3, 3, 4, 5})
	out, fixes := Repair(src, tgt, Merge(Detect(src), g.Find(src)), al)
	if out != "The invoices from the Landratsamt come tomorrow." || len(fixes) != 2 {
		t.Errorf("Repair = %q, %+v", out, fixes)
	}
	// A kept (capitalised) term is never pluralised.
	out, _ = Repair("Die Landratsämter.", "The district offices.", g.Find("Die Landratsämter."), wordAlign("Die Landratsämter.", "The district offices.", []int{0, 1, 1}))
	if out != "The Landratsamt." {
		t.Errorf("kept term: %q", out)
	}
	// An English plural of the term counts as present.
	if m := Missing("The invoices come.", g.Find("Die Rechnungen kommen.")); len(m) != 0 {
		t.Errorf("invoices: missing %v", m)
	}
}
