package bpe

import (
	"bytes"
	"fmt"
	"slices"
	"strings"
	"testing"
)

// trainSample is a small German/English text for trainer tests (written for
// these tests).
func trainSample() []string {
	base := []string{
		"Der Hund spielt im Garten.", "The dog is playing in the garden.",
		"Eine Frau fährt mit dem Fahrrad zur Arbeit.", "A woman rides her bike to work.",
		"Die Kinder spielen im Park mit einem Ball.", "The children play with a ball in the park.",
		"Ich habe 1234 Bücher gelesen!", "I have read 1234 books!",
		"Größe, Übermaß und Äpfel schmecken süß.", "Tom isn't here: he's at home.",
	}
	var out []string
	for i := 0; i < 30; i++ {
		for _, s := range base {
			out = append(out, fmt.Sprintf("%s %d", s, i%7))
		}
	}
	return append(out, "Ein seltenes Zeichen: 𝕏")
}

// TestTrain checks the trainer's contract: deterministic, the requested
// size, Marian id layout, valid pieces, and a model that encodes its own
// training text without <unk> (except characters beyond the coverage).
func TestTrain(t *testing.T) {
	t.Run("bpe", func(t *testing.T) { testTrain(t, BPE) })
	t.Run("unigram", func(t *testing.T) { testTrain(t, Unigram) })
}

func testTrain(t *testing.T, typ ModelType) {
	text := trainSample()
	// The sample supports about 130 unigram pieces (EM drops rarer ones).
	size := 200
	if typ == Unigram {
		size = 100
	}
	m, err := Train(text, TrainConfig{VocabSize: size, ModelType: typ})
	if err != nil {
		t.Fatal(err)
	}
	again, err := Train(text, TrainConfig{VocabSize: size, ModelType: typ})
	if err != nil || !bytes.Equal(m.Bytes(), again.Bytes()) {
		t.Fatalf("Train is not deterministic (%v)", err)
	}
	if m.Len() != size || m.Type() != typ {
		t.Fatalf("%d pieces of type %d, want %d of type %d", m.Len(), m.Type(), size, typ)
	}
	pad := int32(size - 1)
	if m.IDToPiece(0) != "</s>" || m.IDToPiece(1) != "<unk>" || m.IDToPiece(pad) != "<pad>" || m.UnkID() != 1 {
		t.Fatalf("special pieces %q %q %q", m.IDToPiece(0), m.IDToPiece(1), m.IDToPiece(pad))
	}
	for id := int32(2); id < pad; id++ {
		p := m.IDToPiece(id)
		if i := strings.Index(p, spaceSymbol); i > 0 || len([]rune(p)) > 16 {
			t.Errorf("piece %q breaks the piece rules", p)
		}
		if strings.ContainsAny(p, "0123456789") && strings.ContainsAny(p, "abcdefghijklmnopqrstuvwxyz") {
			t.Errorf("piece %q mixes scripts", p)
		}
	}
	for _, s := range text[:len(text)-1] {
		if ids := m.EncodeIDs(s); slices.Contains(ids, m.UnkID()) {
			t.Errorf("%q has an unknown piece: %q", s, m.EncodePieces(s))
		}
	}
	if ids := m.EncodeIDs("𝕏"); !slices.Contains(ids, m.UnkID()) {
		t.Errorf("the rare character should be beyond the 0.9995 coverage: %q", m.EncodePieces("𝕏"))
	}
	blobs, err := MarianBlobs(m)
	if err != nil {
		t.Fatal(err)
	}
	mt, err := NewMarianFromBlobs(blobs)
	if err != nil {
		t.Fatal(err)
	}
	if mt.EOSID() != 0 || mt.UnkID() != 1 || mt.PadID() != pad {
		t.Errorf("Marian ids %d %d %d", mt.EOSID(), mt.UnkID(), mt.PadID())
	}
	for _, s := range text[:20] {
		ids, err := mt.EncodeSource(s)
		if err != nil || !slices.Equal(ids[:len(ids)-1], m.EncodeIDs(s)) || ids[len(ids)-1] != 0 {
			t.Errorf("%q: Marian ids %v are not the spm ids + </s>", s, ids)
		}
		if got, err := mt.DecodeTarget(ids); err != nil || got != s {
			t.Errorf("DecodeTarget(EncodeSource(%q)) = %q, %v", s, got, err)
		}
	}
	for _, c := range []TrainConfig{{VocabSize: 3}, {VocabSize: 10}, {VocabSize: 100, CharacterCoverage: 2}, {VocabSize: 100, ModelType: Word}} {
		if _, err := Train(text, c); err == nil {
			t.Errorf("%+v: no error", c)
		}
	}
	if _, err := Train([]string{"", "\xff"}, TrainConfig{VocabSize: 100, ModelType: typ}); err == nil {
		t.Error("no error for no text")
	}
}
