package bpe

import (
	"encoding/json"
	"os"
	"path/filepath"
	"slices"
	"testing"
	"unicode/utf8"
)

const oracleDir = "../testdata/oracle"

// spmVector is the expected output of one SentencePiece model for one input,
// produced by Google's SentencePiece 0.1.97 (see testdata/oracle/NOTES.md).
type spmVector struct {
	Pieces         []string `json:"pieces"`
	IDs            []int32  `json:"ids"`
	Surfaces       []string `json:"surfaces"`
	Begins         []int    `json:"begins"`
	Ends           []int    `json:"ends"`
	DecodeIDs      string   `json:"decode_ids"`
	DecodePieces   string   `json:"decode_pieces"`
	MarianIDs      []int32  `json:"marian_ids"`
	MarianDecodeV5 *string  `json:"marian_decode_v5"`
}

type tokenizerVector struct {
	Index  int       `json:"index"`
	Name   string    `json:"name"`
	Text   string    `json:"text"`
	Source spmVector `json:"source_spm"`
	Target spmVector `json:"target_spm"`
	Joint  spmVector `json:"joint_bpe_spm"`
}

func readOracle(t testing.TB, name string) []byte {
	t.Helper()
	b, err := os.ReadFile(filepath.Join(oracleDir, name))
	if err != nil {
		t.Fatal(err)
	}
	return b
}

func loadVectors(t testing.TB) []tokenizerVector {
	var f struct {
		Vectors []tokenizerVector `json:"vectors"`
	}
	if err := json.Unmarshal(readOracle(t, "tokenizer_vectors.json"), &f); err != nil {
		t.Fatal(err)
	}
	if len(f.Vectors) == 0 {
		t.Fatal("no vectors")
	}
	return f.Vectors
}

func loadOracleModel(t testing.TB, name string) *Model {
	t.Helper()
	m, err := Load(readOracle(t, name))
	if err != nil {
		t.Fatalf("%s: %v", name, err)
	}
	return m
}

func loadOracleMarian(t testing.TB) *Marian {
	t.Helper()
	mt, err := NewMarian(readOracle(t, "tiny-marian-A/source.spm"), readOracle(t, "tiny-marian-A/target.spm"), readOracle(t, "tiny-marian-A/vocab.json"))
	if err != nil {
		t.Fatal(err)
	}
	return mt
}

// TestVectors checks every field of tokenizer_vectors.json for the unigram
// source/target models and the joint BPE model.
func TestVectors(t *testing.T) {
	vectors := loadVectors(t)
	mt := loadOracleMarian(t)
	joint := loadOracleModel(t, "joint_bpe.spm")
	if mt.Source.Type() != Unigram || joint.Type() != BPE {
		t.Fatalf("model types %d %d, want unigram and BPE", mt.Source.Type(), joint.Type())
	}
	for _, v := range vectors {
		for _, c := range []struct {
			name string
			m    *Model
			want spmVector
		}{{"source", mt.Source, v.Source}, {"target", mt.Target, v.Target}, {"joint_bpe", joint, v.Joint}} {
			t.Run(v.Name+"/"+c.name, func(t *testing.T) {
				checkVector(t, c.m, v.Text, c.want)
				if c.want.MarianIDs == nil {
					return
				}
				var got []int32
				var err error
				if c.m == mt.Source {
					got, err = mt.EncodeSource(v.Text)
				} else {
					got, err = mt.EncodeTarget(v.Text)
				}
				if err != nil || !slices.Equal(got, c.want.MarianIDs) {
					t.Errorf("marian ids %v, %v\nwant %v", got, err, c.want.MarianIDs)
				}
				if c.want.MarianDecodeV5 != nil {
					if got, err := mt.DecodeTarget(c.want.MarianIDs); err != nil || got != *c.want.MarianDecodeV5 {
						t.Errorf("marian decode %q, %v\nwant %q", got, err, *c.want.MarianDecodeV5)
					}
				}
			})
		}
	}
}

func checkVector(t *testing.T, m *Model, text string, want spmVector) {
	t.Helper()
	toks := m.Encode(text)
	var pieces, surfaces []string
	var ids []int32
	var begins, ends []int
	for _, tk := range toks {
		pieces = append(pieces, tk.Piece)
		ids = append(ids, tk.ID)
		surfaces = append(surfaces, text[tk.Begin:tk.End])
		// The vectors count offsets in code points (Python string
		// indices), not bytes: convert.
		begins = append(begins, utf8.RuneCountInString(text[:tk.Begin]))
		ends = append(ends, utf8.RuneCountInString(text[:tk.End]))
	}
	if !slices.Equal(pieces, want.Pieces) {
		t.Errorf("pieces %q\nwant   %q", pieces, want.Pieces)
	}
	if !slices.Equal(ids, want.IDs) {
		t.Errorf("ids %v\nwant %v", ids, want.IDs)
	}
	if !slices.Equal(surfaces, want.Surfaces) || !slices.Equal(begins, want.Begins) || !slices.Equal(ends, want.Ends) {
		t.Errorf("surfaces %q %v %v\nwant     %q %v %v", surfaces, begins, ends, want.Surfaces, want.Begins, want.Ends)
	}
	if got, err := m.DecodeIDs(want.IDs); err != nil || got != want.DecodeIDs {
		t.Errorf("DecodeIDs %q, %v\nwant      %q", got, err, want.DecodeIDs)
	}
	if got := m.DecodePieces(want.Pieces); got != want.DecodePieces {
		t.Errorf("DecodePieces %q\nwant         %q", got, want.DecodePieces)
	}
}
