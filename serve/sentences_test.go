package serve

import (
	"encoding/json"
	"testing"

	"github.com/deen-mt/deen/translate"
)

// TestSentenceInfos carries each sentence's confidence (rounded to three
// places), passthrough flag, invented numbers and recased source into the "sentences"
// extension, and leaves the optional fields out when empty.
func TestSentenceInfos(t *testing.T) {
	tr := &translate.Translation{Sentences: []translate.Sentence{
		{Source: "Er kam um 8 Uhr.", Text: "He came at 9 o'clock.", Confidence: 0.4567, Invented: []string{"9"}},
		{Source: "Hello.", Text: "Hello.", Confidence: 1, Passthrough: true},
		{Source: "ICH KOMME.", Recased: "Ich komme.", Text: "I'm coming.", Confidence: 0.9},
	}}
	b, err := json.Marshal(sentenceInfos(tr))
	if err != nil {
		t.Fatal(err)
	}
	want := `[{"source":"Er kam um 8 Uhr.","translation":"He came at 9 o'clock.","confidence":0.457,"invented":["9"]},` +
		`{"source":"Hello.","translation":"Hello.","confidence":1,"passthrough":true},` +
		`{"source":"ICH KOMME.","recased":"Ich komme.","translation":"I'm coming.","confidence":0.9}]`
	if got := string(b); got != want {
		t.Errorf("sentences extension:\n got %s\nwant %s", got, want)
	}
}
