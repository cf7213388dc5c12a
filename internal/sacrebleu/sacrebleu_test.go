package sacrebleu

import (
	"math"
	"testing"
)

// The expected values below are sacreBLEU's own test cases
// (github.com/mjpost/sacrebleu, test/test_bleu.py and test/test_chrf.py).

var readmeHyps = []string{
	"The dog bit the man.",
	"It wasn't surprising.",
	"The man had just bitten him.",
}

var readmeRefs = [][]string{
	{"The dog bit the man.", "It was not unexpected.", "The man bit him first."},
	{"The dog had bit the man.", "No one was surprised.", "The man had bitten the dog."},
}

func TestCorpusBLEU(t *testing.T) {
	cases := []struct {
		name string
		hyps []string
		refs [][]string
		want float64
	}{
		{"readme", readmeHyps, readmeRefs, 48.530827},
		{"empty hypotheses", []string{"", "", ""}, readmeRefs, 0},
		{"no matches", []string{"this is a test", "another test"}, [][]string{{"ref1", "ref2"}}, 0},
		{"identical", []string{"this is a test"}, [][]string{{"this is a test"}}, 100},
	}
	for _, c := range cases {
		got, err := BLEU(c.hyps, c.refs...)
		if err != nil {
			t.Fatalf("%s: %v", c.name, err)
		}
		if math.Abs(got.Score-c.want) > 1e-6 {
			t.Errorf("%s: BLEU = %.8f, want %.8f (%v)", c.name, got.Score, c.want, got)
		}
	}
}

func TestBLEUStatistics(t *testing.T) {
	got, err := BLEU([]string{"am I am a character sequence"}, []string{"I am a symbol string sequence a a"})
	if err != nil {
		t.Fatal(err)
	}
	if got.Correct != [4]int{4, 2, 1, 0} || got.Total != [4]int{6, 5, 4, 3} {
		t.Errorf("counts %v totals %v, want [4 2 1 0] [6 5 4 3]", got.Correct, got.Total)
	}
}

func TestBLEUFromStats(t *testing.T) {
	s := BLEUScore{Correct: [4]int{9, 7, 5, 3}, Total: [4]int{10, 8, 6, 4}, SysLen: 11, RefLen: 11}
	if got := bleuFromStats(&s); math.Abs(got-83.75922397) > 1e-6 {
		t.Errorf("BLEU = %.8f, want 83.75922397", got)
	}
}

func TestBLEUErrors(t *testing.T) {
	if _, err := BLEU([]string{"a"}, []string{"a", "b"}); err == nil {
		t.Error("length mismatch: no error")
	}
	if _, err := BLEU([]string{"a"}); err == nil {
		t.Error("no references: no error")
	}
	if _, err := CHRF([]string{"a"}, nil); err == nil {
		t.Error("chrF length mismatch: no error")
	}
}

func TestTokenize13a(t *testing.T) {
	cases := map[string]string{
		"Hello, world!":              "Hello , world !",
		"It costs $3.50, or 3,50 €.": "It costs $ 3.50 , or 3,50 € .",
		"1990-2000 &amp; A&lt;B":     "1990 - 2000 & A < B",
		"don't \"quote\"":            "don't \" quote \"",
		"  spaced\tout  ":            "spaced out",
	}
	for in, want := range cases {
		if got := Tokenize13a(in); got != want {
			t.Errorf("Tokenize13a(%q) = %q, want %q", in, got, want)
		}
	}
}

func TestCorpusCHRF(t *testing.T) {
	cases := []struct {
		hyps, refs []string
		want       float64
	}{
		// test_cases_effective_order (sacreBLEU's default, eps_smoothing=False)
		{[]string{"a"}, []string{"a"}, 100},
		{[]string{""}, []string{"reference"}, 0},
		{[]string{"a b c"}, []string{"a b c"}, 100},
		{[]string{"a b c"}, []string{"abc"}, 100},
		{[]string{""}, []string{"c"}, 0},
		{[]string{"a", "b"}, []string{"a", "c"}, 50},
		{[]string{"aa"}, []string{"ab"}, 25},
	}
	for _, c := range cases {
		got, err := CHRF(c.hyps, c.refs)
		if err != nil {
			t.Fatal(err)
		}
		if math.Abs(got.Score-c.want) > 1e-4 {
			t.Errorf("chrF(%q, %q) = %.5f, want %.5f", c.hyps, c.refs, got.Score, c.want)
		}
	}
}
