package bpe

import (
	"slices"
	"strings"
	"sync"
	"testing"
)

// TestLoadErrors checks that broken files give errors naming the problem.
func TestLoadErrors(t *testing.T) {
	good := tinyModel()
	mp, err := parseModelProto(good)
	if err != nil {
		t.Fatal(err)
	}
	edit := func(f func(m *modelProto)) []byte {
		c := *mp
		c.pieces = slices.Clone(mp.pieces)
		f(&c)
		return marshalModelProto(&c)
	}
	cases := []struct {
		name, want string
		data       []byte
	}{
		{"empty", "no pieces", nil},
		{"text", "not a SentencePiece model", []byte("hello, world\n")},
		{"truncated", "truncated", good[:len(good)-3]},
		{"no unk", "unknown piece is not defined", edit(func(m *modelProto) { m.pieces[0].Type = Normal })},
		{"two unk", "defined twice", edit(func(m *modelProto) { m.pieces[1].Type = Unknown })},
		{"duplicate", "already defined", edit(func(m *modelProto) { m.pieces[4].Piece = "▁a" })},
		{"empty piece", "is empty", edit(func(m *modelProto) { m.pieces[3].Piece = "" })},
		{"bad byte", "byte piece", edit(func(m *modelProto) { m.pieces[10].Piece = "<0xZZ>" })},
		{"missing bytes", "256 byte pieces", edit(func(m *modelProto) { m.pieces = m.pieces[:100] })},
		{"bytes without fallback", "byte_fallback is false", edit(func(m *modelProto) { m.trainer.ByteFallback = false })},
		{"word model", "not supported", edit(func(m *modelProto) { m.trainer.ModelType = Word })},
		{"bad charsmap", "charsmap is broken", edit(func(m *modelProto) { m.normalizer.PrecompiledCharsmap = []byte{200, 0, 0, 0, 1} })},
	}
	for _, c := range cases {
		m, err := Load(c.data)
		if err == nil || m != nil || !strings.Contains(err.Error(), c.want) {
			t.Errorf("%s: got %v, want an error containing %q", c.name, err, c.want)
		}
	}
	if _, err := Load(good); err != nil {
		t.Fatalf("tiny model: %v", err)
	}
}

// TestProtoRoundTrip checks that marshalModelProto writes what
// parseModelProto reads.
func TestProtoRoundTrip(t *testing.T) {
	mp, err := parseModelProto(readOracle(t, "joint_bpe.spm"))
	if err != nil {
		t.Fatal(err)
	}
	again, err := parseModelProto(marshalModelProto(mp))
	if err != nil {
		t.Fatal(err)
	}
	if !slices.Equal(mp.pieces, again.pieces) || mp.trainer != again.trainer ||
		string(mp.normalizer.PrecompiledCharsmap) != string(again.normalizer.PrecompiledCharsmap) {
		t.Fatal("model changed in a write/read round trip")
	}
}

// TestConcurrentEncode runs one Model from many goroutines (run with -race).
func TestConcurrentEncode(t *testing.T) {
	mt := loadOracleMarian(t)
	vectors := loadVectors(t)
	var wg sync.WaitGroup
	for g := 0; g < 8; g++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for _, v := range vectors {
				ids, err := mt.EncodeSource(v.Text)
				if err != nil || !slices.Equal(ids, v.Source.MarianIDs) {
					t.Errorf("%s: concurrent encode differs", v.Name)
				}
				if _, err := mt.DecodeTarget(ids); err != nil {
					t.Errorf("%s: concurrent decode: %v", v.Name, err)
				}
			}
		}()
	}
	wg.Wait()
}

// TestMarianErrors checks the Marian constructor's and encoder's errors.
func TestMarianErrors(t *testing.T) {
	src, tgt := readOracle(t, "tiny-marian-A/source.spm"), readOracle(t, "tiny-marian-A/target.spm")
	for _, c := range []struct{ vocab, want string }{
		{`[1, 2]`, "not a JSON object"},
		{`{"</s>": 0, "<unk>": 1}`, "no entry for <pad>"},
		{`{"</s>": 0, "<unk>": -1, "<pad>": 2}`, "want an integer"},
		{`{"</s>": 0, "<unk>": 1.5, "<pad>": 2}`, "want an integer"},
		{`{"</s>": "x"}`, "not a number"},
		{`{"</s>": 0,`, "EOF"},
	} {
		if _, err := NewMarian(src, tgt, []byte(c.vocab)); err == nil || !strings.Contains(err.Error(), c.want) {
			t.Errorf("vocab %s: got %v, want %q", c.vocab, err, c.want)
		}
	}
	if _, err := NewMarianFromBlobs(map[string][]byte{"source.spm": src}); err == nil || !strings.Contains(err.Error(), "target.spm") {
		t.Errorf("missing blob: got %v", err)
	}
	mt := loadOracleMarian(t)
	if mt.EOSID() != 0 || mt.UnkID() != 1 || mt.PadID() != 15079 || mt.VocabSize() != 15080 {
		t.Errorf("special ids %d %d %d, size %d; want 0 1 15079, 15080 (NOTES.md)", mt.EOSID(), mt.UnkID(), mt.PadID(), mt.VocabSize())
	}
	if _, err := mt.EncodeSource("Gr\xf6\xdfe"); err == nil || !strings.Contains(err.Error(), "UTF-8") {
		t.Errorf("Latin-1 input: got %v", err)
	}
	if _, err := mt.Source.DecodeIDs([]int32{3, 8000}); err == nil {
		t.Error("DecodeIDs accepted an id out of range")
	}
}
