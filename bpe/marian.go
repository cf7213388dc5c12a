package bpe

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"math"
	"strings"
	"unicode"
	"unicode/utf8"

	"github.com/deen-mt/deen/modelfile"
)

// Marian is the tokenizer of a MarianMT (opus-mt) model: SentencePiece models
// for the source and target languages and a joint vocabulary (vocab.json)
// mapping pieces to model ids, as Hugging Face's MarianTokenizer uses them.
// It is immutable and safe for concurrent use.
type Marian struct {
	// Source splits source-language (German) text (source.spm).
	Source *Model
	// Target splits and joins target-language (English) text (target.spm).
	Target *Model

	vocab         map[string]int32 // piece → model id
	pieces        []string         // model id → piece ("" for ids no piece maps to)
	eos, unk, pad int32
}

// Blob names of a Marian tokenizer inside a model file (the model file
// format's names).
const (
	BlobSourceSPM = modelfile.BlobSourceSPM
	BlobTargetSPM = modelfile.BlobTargetSPM
	BlobVocab     = modelfile.BlobVocab
)

// NewMarian builds the tokenizer from the contents of source.spm, target.spm
// and vocab.json. vocab.json must define </s>, <unk> and <pad>.
func NewMarian(sourceSPM, targetSPM, vocabJSON []byte) (*Marian, error) {
	src, err := Load(sourceSPM)
	if err != nil {
		return nil, fmt.Errorf("source.spm: %w", err)
	}
	tgt, err := Load(targetSPM)
	if err != nil {
		return nil, fmt.Errorf("target.spm: %w", err)
	}
	mt := &Marian{Source: src, Target: tgt}
	if mt.vocab, mt.pieces, err = parseVocabJSON(vocabJSON); err != nil {
		return nil, fmt.Errorf("vocab.json: %w", err)
	}
	for _, s := range []struct {
		piece string
		id    *int32
	}{{"</s>", &mt.eos}, {"<unk>", &mt.unk}, {"<pad>", &mt.pad}} {
		id, ok := mt.vocab[s.piece]
		if !ok {
			return nil, fmt.Errorf("vocab.json: no entry for %s (every Marian vocabulary has </s>, <unk> and <pad>)", s.piece)
		}
		*s.id = id
	}
	return mt, nil
}

// NewMarianFromBlobs builds the tokenizer from the named blobs of a model file
// (source.spm, target.spm, vocab.json; see the Blob constants).
func NewMarianFromBlobs(blobs map[string][]byte) (*Marian, error) {
	for _, name := range []string{BlobSourceSPM, BlobTargetSPM, BlobVocab} {
		if len(blobs[name]) == 0 {
			return nil, fmt.Errorf("bpe: the model file has no %s blob", name)
		}
	}
	return NewMarian(blobs[BlobSourceSPM], blobs[BlobTargetSPM], blobs[BlobVocab])
}

// maxVocab bounds vocab.json ids so that a damaged file cannot make us
// allocate an absurd id table.
const maxVocab = 1 << 24

// parseVocabJSON reads a JSON object piece → id, keeping file order so that
// when two pieces share an id the later one names it (as HF's decoder dict).
func parseVocabJSON(b []byte) (map[string]int32, []string, error) {
	dec := json.NewDecoder(bytes.NewReader(b))
	dec.UseNumber()
	if tok, err := dec.Token(); err != nil || tok != json.Delim('{') {
		return nil, nil, errors.New("not a JSON object of piece → id")
	}
	vocab := map[string]int32{}
	var pieces []string
	for dec.More() {
		tok, err := dec.Token()
		if err != nil {
			return nil, nil, err
		}
		piece := tok.(string) // object keys are always strings
		tok, err = dec.Token()
		if err != nil {
			return nil, nil, err
		}
		num, ok := tok.(json.Number)
		if !ok {
			return nil, nil, fmt.Errorf("id of %q is not a number", piece)
		}
		id, err := num.Int64()
		if err != nil || id < 0 || id >= maxVocab {
			return nil, nil, fmt.Errorf("id of %q is %s, want an integer in [0, %d)", piece, num, maxVocab)
		}
		vocab[piece] = int32(id)
		for int(id) >= len(pieces) {
			pieces = append(pieces, "")
		}
		pieces[id] = piece
	}
	if _, err := dec.Token(); err != nil {
		return nil, nil, err
	}
	if len(pieces) > math.MaxInt32 {
		return nil, nil, errors.New("too many entries")
	}
	return vocab, pieces, nil
}

// EOSID returns the model id of </s>, appended to every source sentence.
func (mt *Marian) EOSID() int32 { return mt.eos }

// UnkID returns the model id of <unk>.
func (mt *Marian) UnkID() int32 { return mt.unk }

// PadID returns the model id of <pad> (also the decoder start token).
func (mt *Marian) PadID() int32 { return mt.pad }

// VocabSize returns one more than the largest model id in vocab.json.
func (mt *Marian) VocabSize() int { return len(mt.pieces) }

// IDToPiece returns the vocabulary piece of a model id ("" if none).
func (mt *Marian) IDToPiece(id int32) string {
	if id < 0 || int(id) >= len(mt.pieces) {
		return ""
	}
	return mt.pieces[id]
}

// EncodeSource returns the model ids of a source sentence: source.spm pieces
// mapped through vocab.json (unknown pieces → <unk>), then </s>. Text that is
// not valid UTF-8 is an error (a Latin-1 file, say), since SentencePiece would
// silently turn every bad byte into U+FFFD.
func (mt *Marian) EncodeSource(text string) ([]int32, error) {
	return mt.encode(mt.Source, text)
}

// EncodeTarget is EncodeSource for target-language text with target.spm
// (the labels of training pairs).
func (mt *Marian) EncodeTarget(text string) ([]int32, error) {
	return mt.encode(mt.Target, text)
}

func (mt *Marian) encode(m *Model, text string) ([]int32, error) {
	if !utf8.ValidString(text) {
		return nil, errors.New("bpe: input is not valid UTF-8 (convert the text to UTF-8 first)")
	}
	toks := m.Encode(text)
	ids := make([]int32, 0, len(toks)+1)
	for _, t := range toks {
		id, ok := mt.vocab[t.Piece]
		if !ok {
			id = mt.unk
		}
		ids = append(ids, id)
	}
	return append(ids, mt.eos), nil
}

// DecodeTarget turns model ids into text as transformers ≥ 4.34 decodes with
// skip_special_tokens: </s>, <unk> and <pad> are dropped (so are ids inside
// the vocabulary's range that vocab.json leaves unassigned), the rest become
// pieces joined by target.spm's DecodePieces (pieces target.spm does not
// know are kept verbatim), any ▁ left is replaced by a space, and the result
// is stripped of surrounding whitespace. An id below 0 or at least
// VocabSize is an error naming it (a model never produces one: such ids
// come from bad input).
func (mt *Marian) DecodeTarget(ids []int32) (string, error) {
	return mt.decode(mt.Target, ids)
}

// DecodeSource is DecodeTarget with source.spm (to show source ids as text).
func (mt *Marian) DecodeSource(ids []int32) (string, error) {
	return mt.decode(mt.Source, ids)
}

func (mt *Marian) decode(m *Model, ids []int32) (string, error) {
	pieces := make([]string, 0, len(ids))
	for _, id := range ids {
		if id < 0 || int(id) >= len(mt.pieces) {
			return "", fmt.Errorf("bpe: id %d is out of range (the vocabulary has ids 0 to %d)", id, len(mt.pieces)-1)
		}
		if id == mt.eos || id == mt.unk || id == mt.pad || mt.pieces[id] == "" {
			continue
		}
		pieces = append(pieces, mt.pieces[id])
	}
	s := m.DecodePieces(pieces)
	s = strings.ReplaceAll(s, spaceSymbol, " ")
	return strings.TrimFunc(s, isPythonSpace), nil
}

// isPythonSpace is Python's str.isspace for one character: Go's
// unicode.IsSpace plus the information separators U+001C–U+001F.
func isPythonSpace(r rune) bool {
	return unicode.IsSpace(r) || (r >= 0x1c && r <= 0x1f)
}
