package bpe

import (
	"encoding/binary"
	"os"
	"slices"
	"strings"
	"sync"
	"testing"
	"unicode/utf8"
)

// fuzzModelFiles are the models the encode/decode fuzzers run on: unigram
// and BPE, with nmt_nfkc, identity and nfkc_cf rules, byte fallback,
// user-defined symbols, whitespace as suffix and kept extra whitespace.
var fuzzModelFiles = []string{
	oracleDir + "/tiny-marian-A/source.spm",
	oracleDir + "/joint_bpe.spm",
	"testdata/spm/uni_bytes.model",
	"testdata/spm/bpe_bytes.model",
	"testdata/spm/uni_suffix.model",
}

var fuzzModels = sync.OnceValues(func() ([]*Model, error) {
	var ms []*Model
	for _, f := range fuzzModelFiles {
		b, err := os.ReadFile(f)
		if err != nil {
			return nil, err
		}
		m, err := Load(b)
		if err != nil {
			return nil, err
		}
		ms = append(ms, m)
	}
	return ms, nil
})

var fuzzMarian = sync.OnceValues(func() (*Marian, error) {
	var blobs [3][]byte
	for i, name := range []string{"source.spm", "target.spm", "vocab.json"} {
		b, err := os.ReadFile(oracleDir + "/tiny-marian-A/" + name)
		if err != nil {
			return nil, err
		}
		blobs[i] = b
	}
	return NewMarian(blobs[0], blobs[1], blobs[2])
})

// expectedRoundTrip is what decoding the pieces of text must give: the
// normalised text with ▁ shown as spaces and the leading ▁ of the first
// piece dropped, as SentencePiece's decoder does.
func expectedRoundTrip(m *Model, text string) string {
	n := m.Normalize(text)
	if m.norm.spec.AddDummyPrefix || m.norm.spec.RemoveExtraWhitespaces {
		n = strings.TrimPrefix(n, spaceSymbol)
	}
	return strings.ReplaceAll(n, spaceSymbol, " ")
}

// checkEncode checks the invariants of one encoding: pieces and ids agree
// with the vocabulary, offsets are ordered and in range, pieces concatenate
// to the normalised text, and decoding gives the normalised text back.
func checkEncode(t *testing.T, m *Model, text string) {
	toks := m.Encode(text)
	var concat strings.Builder
	pieces := make([]string, len(toks))
	ids := make([]int32, len(toks))
	unkWithSpace := false
	prevEnd := 0
	for i, tk := range toks {
		pieces[i], ids[i] = tk.Piece, tk.ID
		if tk.ID < 0 || int(tk.ID) >= m.Len() {
			t.Fatalf("id %d out of range", tk.ID)
		}
		if !utf8.ValidString(tk.Piece) {
			t.Fatalf("piece %q is not valid UTF-8", tk.Piece)
		}
		if tk.Begin < prevEnd || tk.End < tk.Begin || tk.End > len(text) {
			t.Fatalf("bad offsets %d..%d after %d (len %d)", tk.Begin, tk.End, prevEnd, len(text))
		}
		prevEnd = tk.Begin
		switch {
		case m.Entry(tk.ID).Type == Byte:
			concat.WriteByte(byte(pieceToByte(tk.Piece)))
		case tk.ID == m.UnkID():
			concat.WriteString(tk.Piece)
			unkWithSpace = unkWithSpace || strings.Contains(tk.Piece, spaceSymbol)
		default:
			if m.Entry(tk.ID).Piece != tk.Piece {
				t.Fatalf("piece %q has id %d of %q", tk.Piece, tk.ID, m.Entry(tk.ID).Piece)
			}
			concat.WriteString(tk.Piece)
		}
	}
	if got, want := concat.String(), m.Normalize(text); got != want {
		t.Fatalf("pieces %q do not concatenate to the normalised text %q", pieces, want)
	}
	want := expectedRoundTrip(m, text)
	if !unkWithSpace {
		if got := m.DecodePieces(pieces); got != want {
			t.Fatalf("DecodePieces(%q) = %q, want %q", pieces, got, want)
		}
	}
	decoded, err := m.DecodeIDs(ids)
	if err != nil || !utf8.ValidString(decoded) {
		t.Fatalf("DecodeIDs = %q, %v", decoded, err)
	}
	if m.byteFallback && decoded != want {
		t.Fatalf("DecodeIDs with byte fallback = %q, want %q", decoded, want)
	}
}

// FuzzEncode checks the encoding invariants on arbitrary text (invalid UTF-8
// included) for unigram and BPE models of every flavour.
func FuzzEncode(f *testing.F) {
	for _, v := range loadVectors(f) {
		f.Add(v.Text)
	}
	f.Add("\xff\xfe a\x00b  <sep>Tom://x ")
	f.Fuzz(func(t *testing.T, text string) {
		ms, err := fuzzModels()
		if err != nil {
			t.Fatal(err)
		}
		for _, m := range ms {
			checkEncode(t, m, text)
		}
	})
}

// FuzzDecode feeds arbitrary ids and pieces to the decoders: no panic,
// valid UTF-8 out.
func FuzzDecode(f *testing.F) {
	f.Add([]byte{0, 1, 2, 3, 200, 17}, "▁a <0xC3> <0xA4> <unk> \xff ▁▁")
	f.Fuzz(func(t *testing.T, raw []byte, pieces string) {
		ms, err := fuzzModels()
		if err != nil {
			t.Fatal(err)
		}
		mt, err := fuzzMarian()
		if err != nil {
			t.Fatal(err)
		}
		ids := make([]int32, len(raw)/2)
		for i := range ids {
			ids[i] = int32(binary.LittleEndian.Uint16(raw[2*i:]))
		}
		s, err := mt.DecodeTarget(ids)
		outside := slices.ContainsFunc(ids, func(id int32) bool { return int(id) >= mt.VocabSize() })
		if (err != nil) != outside || !utf8.ValidString(s) {
			t.Fatalf("DecodeTarget(%v) = %q, %v", ids, s, err)
		}
		for _, m := range ms {
			inRange := make([]int32, len(ids))
			for i, id := range ids {
				inRange[i] = id % int32(m.Len())
			}
			if s, err := m.DecodeIDs(inRange); err != nil || !utf8.ValidString(s) {
				t.Fatalf("DecodeIDs(%v) = %q, %v", inRange, s, err)
			}
			if s := m.DecodePieces(strings.Split(pieces, " ")); !utf8.ValidString(s) {
				t.Fatalf("DecodePieces = %q", s)
			}
		}
	})
}

// tinyModel is a small hand-made unigram model file for the parser fuzzer.
func tinyModel() []byte {
	mp := &modelProto{trainer: defaultTrainerSpec(), normalizer: defaultNormalizerSpec()}
	mp.trainer.ByteFallback = true
	mp.pieces = []VocabEntry{{"<unk>", 0, Unknown}, {"<s>", 0, Control}, {"</s>", 0, Control}, {"▁a", -1, Normal}, {"b", -2, Normal}, {"ab", -1.5, UserDefined}, {"c", -3, Unused}}
	for b := 0; b < 256; b++ {
		mp.pieces = append(mp.pieces, VocabEntry{byteToPiece(byte(b)), 0, Byte})
	}
	return marshalModelProto(mp)
}

// FuzzLoad feeds arbitrary bytes to the model parser: it must return a
// model or an error, never panic, and a model it returns must encode and
// decode without panicking or producing invalid UTF-8.
func FuzzLoad(f *testing.F) {
	f.Add(tinyModel())
	m := tinyModel()
	f.Add(m[:len(m)/2])
	f.Fuzz(func(t *testing.T, data []byte) {
		m, err := Load(data)
		if err != nil {
			if m != nil {
				t.Fatal("model and error")
			}
			return
		}
		for _, text := range []string{"", " a ab b c", "\xffä"} {
			toks := m.Encode(text)
			ids := make([]int32, len(toks))
			for i, tk := range toks {
				ids[i] = tk.ID
			}
			if s, err := m.DecodeIDs(ids); err != nil || !utf8.ValidString(s) {
				t.Fatalf("DecodeIDs = %q, %v", s, err)
			}
		}
	})
}

// FuzzCharsmap feeds arbitrary precompiled charsmaps to the normaliser.
func FuzzCharsmap(f *testing.F) {
	// The first 2,000 units of nmt_nfkc with its replacement strings: a
	// damaged trie whose lookups run off its end.
	short := binary.LittleEndian.AppendUint32(nil, 8000)
	short = append(short, nmtNFKC[4:4+8000]...)
	short = append(short, nmtNFKC[4+binary.LittleEndian.Uint32(nmtNFKC):]...)
	f.Add(short, "Ｆｕｌｌ ① ǅ\u00a0x")
	f.Add([]byte{4, 0, 0, 0, 1, 2, 3, 4, 'a', 0}, "abc")
	f.Fuzz(func(t *testing.T, blob []byte, text string) {
		spec := defaultNormalizerSpec()
		spec.PrecompiledCharsmap = blob
		n, err := newNormalizer(spec, nil, false)
		if err != nil {
			return
		}
		s, align := n.normalize(text, nil)
		if !utf8.ValidString(s) || len(align) != len(s)+1 {
			t.Fatalf("normalize(%q) = %q with %d offsets", text, s, len(align))
		}
	})
}

// FuzzTrain trains on arbitrary text: Train must return a model or an
// error, and a model must encode its training lines into valid pieces.
func FuzzTrain(f *testing.F) {
	f.Add("Der Hund spielt.\nThe dog plays.\n𝕏 ☃ ☃ 1.000", false, uint8(30))
	f.Add("ab ab ab\n\xff\n  \n", true, uint8(12))
	f.Fuzz(func(t *testing.T, text string, unigram bool, size uint8) {
		cfg := TrainConfig{VocabSize: int(size), ModelType: BPE}
		if unigram {
			cfg.ModelType = Unigram
		}
		lines := strings.Split(text, "\n")
		m, err := Train(lines, cfg)
		if err != nil {
			return
		}
		if m.Len() > int(size) {
			t.Fatalf("%d pieces for vocabulary size %d", m.Len(), size)
		}
		for _, l := range lines {
			checkEncode(t, m, l)
		}
	})
}
