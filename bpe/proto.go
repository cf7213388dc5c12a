package bpe

import (
	"encoding/binary"
	"errors"
	"fmt"
	"math"
	"unicode/utf8"
)

// This file reads and writes the subset of SentencePiece's ModelProto
// (sentencepiece_model.proto, proto2) that changes how text is split. Fields
// the encoder does not need are skipped on reading; unknown fields are
// skipped as protobuf requires.

// PieceType is the type of one vocabulary entry (ModelProto.SentencePiece.Type).
type PieceType int32

// Piece types, with SentencePiece's numbers.
const (
	Normal      PieceType = 1 // an ordinary piece
	Unknown     PieceType = 2 // the unknown piece (<unk>), exactly one per model
	Control     PieceType = 3 // control symbols (<s>, </s>, <pad>): never produced by Encode, invisible in Decode
	UserDefined PieceType = 4 // always kept whole, never normalised
	Unused      PieceType = 5 // in the vocabulary but never produced
	Byte        PieceType = 6 // <0xXX> pieces for byte fallback
)

// ModelType is TrainerSpec.model_type.
type ModelType int32

// Model types. Only Unigram and BPE can encode here.
const (
	Unigram ModelType = 1
	BPE     ModelType = 2
	Word    ModelType = 3
	Char    ModelType = 4
)

// VocabEntry is one vocabulary entry of a model file.
type VocabEntry struct {
	// Piece is the text of the piece, with U+2581 (▁) standing for a space.
	Piece string
	// Score is the piece's log probability (Unigram) or merge priority
	// (BPE: higher merges first).
	Score float32
	// Type says how the encoder and decoder treat the piece.
	Type PieceType
}

// TrainerSpec holds the trainer fields that matter for encoding and
// decoding (and that Train writes).
type TrainerSpec struct {
	// ModelType is the segmentation algorithm (Unigram or BPE).
	ModelType ModelType
	// VocabSize is the number of pieces the trainer aimed for.
	VocabSize int32
	// CharacterCoverage is the fraction of training characters the
	// vocabulary covers (0.9995 by default); rarer characters are <unk>.
	CharacterCoverage float32
	// TreatWhitespaceAsSuffix puts ▁ at the end of pieces instead of the
	// start.
	TreatWhitespaceAsSuffix bool
	// ByteFallback spells characters without a piece as <0xXX> byte pieces
	// instead of <unk>.
	ByteFallback bool
	// UnkID is the id of <unk> (0 by default).
	UnkID int32
	// BosID is the id of <s> (1 by default, -1 for none).
	BosID int32
	// EosID is the id of </s> (2 by default, -1 for none).
	EosID int32
	// PadID is the id of <pad> (-1 by default: none).
	PadID int32
	// UnkSurface is what DecodeIDs prints for <unk> (" ⁇ " by default).
	UnkSurface    string
	hasUnkSurface bool
}

// NormalizerSpec is NormalizerSpec of the model file.
type NormalizerSpec struct {
	// Name is the normalization rule's name ("nmt_nfkc", "identity", ...);
	// informational, PrecompiledCharsmap holds the rule itself.
	Name string
	// PrecompiledCharsmap is the compiled normalization map (a
	// double-array trie of replacements); empty means no character
	// normalization.
	PrecompiledCharsmap []byte
	// AddDummyPrefix puts a space before the text, so the first word is
	// split like the others.
	AddDummyPrefix bool
	// RemoveExtraWhitespaces drops leading and trailing spaces and folds
	// runs of spaces into one.
	RemoveExtraWhitespaces bool
	// EscapeWhitespaces replaces spaces by ▁ (U+2581).
	EscapeWhitespaces bool
	present           bool
}

// modelProto is the decoded file.
type modelProto struct {
	pieces       []VocabEntry
	trainer      TrainerSpec
	normalizer   NormalizerSpec
	denormalizer NormalizerSpec
}

// Defaults from sentencepiece_model.proto.
func defaultTrainerSpec() TrainerSpec {
	return TrainerSpec{ModelType: Unigram, VocabSize: 8000, CharacterCoverage: 0.9995,
		UnkID: 0, BosID: 1, EosID: 2, PadID: -1, UnkSurface: " \u2047 "}
}

func defaultNormalizerSpec() NormalizerSpec {
	return NormalizerSpec{AddDummyPrefix: true, RemoveExtraWhitespaces: true, EscapeWhitespaces: true}
}

// Protobuf wire types.
const (
	wireVarint  = 0
	wireFixed64 = 1
	wireBytes   = 2
	wireFixed32 = 5
)

var errTruncated = errors.New("truncated protobuf")

// wireReader walks the fields of one protobuf message.
type wireReader struct {
	b []byte
}

func (r *wireReader) varint() (uint64, error) {
	v, n := binary.Uvarint(r.b)
	if n <= 0 {
		return 0, errTruncated
	}
	r.b = r.b[n:]
	return v, nil
}

// next returns the next field: its number, wire type, and value (varint or
// fixed value in v, length-delimited payload in p).
func (r *wireReader) next() (field int, wire int, v uint64, p []byte, err error) {
	key, err := r.varint()
	if err != nil {
		return 0, 0, 0, nil, err
	}
	field, wire = int(key>>3), int(key&7)
	if field == 0 || key>>3 > math.MaxInt32 {
		return 0, 0, 0, nil, fmt.Errorf("invalid protobuf field number %d", key>>3)
	}
	switch wire {
	case wireVarint:
		v, err = r.varint()
	case wireFixed64:
		if len(r.b) < 8 {
			return 0, 0, 0, nil, errTruncated
		}
		v, r.b = binary.LittleEndian.Uint64(r.b), r.b[8:]
	case wireFixed32:
		if len(r.b) < 4 {
			return 0, 0, 0, nil, errTruncated
		}
		v, r.b = uint64(binary.LittleEndian.Uint32(r.b)), r.b[4:]
	case wireBytes:
		var n uint64
		n, err = r.varint()
		if err == nil && n > uint64(len(r.b)) {
			err = errTruncated
		}
		if err == nil {
			p, r.b = r.b[:n], r.b[n:]
		}
	default:
		err = fmt.Errorf("unsupported protobuf wire type %d (field %d)", wire, field)
	}
	return field, wire, v, p, err
}

// want checks that a known field arrived with the wire type the schema says.
func want(field, got, expected int) error {
	if got != expected {
		return fmt.Errorf("protobuf field %d has wire type %d, want %d", field, got, expected)
	}
	return nil
}

// parseModelProto decodes a SentencePiece model file.
func parseModelProto(b []byte) (*modelProto, error) {
	m := &modelProto{trainer: defaultTrainerSpec(), normalizer: defaultNormalizerSpec(), denormalizer: defaultNormalizerSpec()}
	r := wireReader{b}
	for len(r.b) > 0 {
		f, w, _, p, err := r.next()
		if err != nil {
			return nil, err
		}
		switch f {
		case 1, 2, 3, 5:
			if err := want(f, w, wireBytes); err != nil {
				return nil, err
			}
		}
		switch f {
		case 1:
			e, err := parsePiece(p)
			if err != nil {
				return nil, fmt.Errorf("piece %d: %w", len(m.pieces), err)
			}
			m.pieces = append(m.pieces, e)
		case 2:
			if err := parseTrainerSpec(p, &m.trainer); err != nil {
				return nil, fmt.Errorf("trainer_spec: %w", err)
			}
		case 3:
			if err := parseNormalizerSpec(p, &m.normalizer); err != nil {
				return nil, fmt.Errorf("normalizer_spec: %w", err)
			}
		case 5:
			if err := parseNormalizerSpec(p, &m.denormalizer); err != nil {
				return nil, fmt.Errorf("denormalizer_spec: %w", err)
			}
		}
	}
	return m, nil
}

func parsePiece(b []byte) (VocabEntry, error) {
	e := VocabEntry{Type: Normal}
	r := wireReader{b}
	for len(r.b) > 0 {
		f, w, v, p, err := r.next()
		if err != nil {
			return e, err
		}
		switch f {
		case 1:
			if err := want(f, w, wireBytes); err != nil {
				return e, err
			}
			if !utf8.Valid(p) {
				return e, fmt.Errorf("piece %q is not valid UTF-8", p)
			}
			e.Piece = string(p)
		case 2:
			if err := want(f, w, wireFixed32); err != nil {
				return e, err
			}
			e.Score = math.Float32frombits(uint32(v))
		case 3:
			if err := want(f, w, wireVarint); err != nil {
				return e, err
			}
			e.Type = PieceType(int32(v))
			if e.Type < Normal || e.Type > Byte {
				return e, fmt.Errorf("unknown piece type %d", int32(v))
			}
		}
	}
	return e, nil
}

func parseTrainerSpec(b []byte, t *TrainerSpec) error {
	r := wireReader{b}
	for len(r.b) > 0 {
		f, w, v, p, err := r.next()
		if err != nil {
			return err
		}
		expect := wireVarint
		switch f {
		case 10:
			expect = wireFixed32
		case 44:
			expect = wireBytes
		}
		switch f {
		case 3, 4, 10, 24, 35, 40, 41, 42, 43, 44:
			if err := want(f, w, expect); err != nil {
				return err
			}
		}
		switch f {
		case 3:
			t.ModelType = ModelType(int32(v))
		case 4:
			t.VocabSize = int32(v)
		case 10:
			t.CharacterCoverage = math.Float32frombits(uint32(v))
		case 24:
			t.TreatWhitespaceAsSuffix = v != 0
		case 35:
			t.ByteFallback = v != 0
		case 40:
			t.UnkID = int32(v)
		case 41:
			t.BosID = int32(v)
		case 42:
			t.EosID = int32(v)
		case 43:
			t.PadID = int32(v)
		case 44:
			if !utf8.Valid(p) {
				return errors.New("unk_surface is not valid UTF-8")
			}
			t.UnkSurface, t.hasUnkSurface = string(p), true
		}
	}
	return nil
}

func parseNormalizerSpec(b []byte, n *NormalizerSpec) error {
	n.present = true
	r := wireReader{b}
	for len(r.b) > 0 {
		f, w, v, p, err := r.next()
		if err != nil {
			return err
		}
		switch f {
		case 1, 2:
			if err := want(f, w, wireBytes); err != nil {
				return err
			}
		case 3, 4, 5:
			if err := want(f, w, wireVarint); err != nil {
				return err
			}
		}
		switch f {
		case 1:
			n.Name = string(p)
		case 2:
			n.PrecompiledCharsmap = p
		case 3:
			n.AddDummyPrefix = v != 0
		case 4:
			n.RemoveExtraWhitespaces = v != 0
		case 5:
			n.EscapeWhitespaces = v != 0
		}
	}
	return nil
}

// wireWriter appends protobuf fields.
type wireWriter struct {
	b []byte
}

func (w *wireWriter) key(field, wire int) {
	w.b = binary.AppendUvarint(w.b, uint64(field)<<3|uint64(wire))
}

func (w *wireWriter) varint(field int, v int64) {
	w.key(field, wireVarint)
	w.b = binary.AppendUvarint(w.b, uint64(v)) // negative int32 → 10 bytes, as protobuf does
}

func (w *wireWriter) bool(field int, v bool) {
	x := int64(0)
	if v {
		x = 1
	}
	w.varint(field, x)
}

func (w *wireWriter) float(field int, v float32) {
	w.key(field, wireFixed32)
	w.b = binary.LittleEndian.AppendUint32(w.b, math.Float32bits(v))
}

func (w *wireWriter) bytes(field int, p []byte) {
	w.key(field, wireBytes)
	w.b = binary.AppendUvarint(w.b, uint64(len(p)))
	w.b = append(w.b, p...)
}

// marshalModelProto writes a model file that Google's SentencePiece loads.
func marshalModelProto(m *modelProto) []byte {
	var out wireWriter
	for _, e := range m.pieces {
		var p wireWriter
		p.bytes(1, []byte(e.Piece))
		p.float(2, e.Score)
		if e.Type != Normal {
			p.varint(3, int64(e.Type))
		}
		out.bytes(1, p.b)
	}
	t := m.trainer
	var ts wireWriter
	ts.varint(3, int64(t.ModelType))
	ts.varint(4, int64(t.VocabSize))
	ts.float(10, t.CharacterCoverage)
	ts.bool(24, t.TreatWhitespaceAsSuffix)
	ts.bool(35, t.ByteFallback)
	ts.varint(40, int64(t.UnkID))
	ts.varint(41, int64(t.BosID))
	ts.varint(42, int64(t.EosID))
	ts.varint(43, int64(t.PadID))
	if t.hasUnkSurface {
		ts.bytes(44, []byte(t.UnkSurface))
	}
	out.bytes(2, ts.b)
	n := m.normalizer
	var ns wireWriter
	ns.bytes(1, []byte(n.Name))
	ns.bytes(2, n.PrecompiledCharsmap)
	ns.bool(3, n.AddDummyPrefix)
	ns.bool(4, n.RemoveExtraWhitespaces)
	ns.bool(5, n.EscapeWhitespaces)
	out.bytes(3, ns.b)
	return out.b
}
