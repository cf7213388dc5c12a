package bpe

import (
	"bytes"
	"errors"
	"fmt"
	"io"
	"math"
	"os"
	"slices"
	"strings"
	"sync"
	"unicode/utf8"
)

// Model is a loaded SentencePiece model (unigram or BPE). It is immutable
// after Load and safe for concurrent use by any number of goroutines.
type Model struct {
	raw          []byte // the file Load read, for embedding into model files
	pieces       []VocabEntry
	normal       map[string]int32 // NORMAL, USER_DEFINED and UNUSED pieces
	reserved     map[string]int32 // CONTROL, UNKNOWN and BYTE pieces
	trie         *pieceTrie       // unigram: all pieces of normal
	norm         *normalizer
	denorm       *normalizer // nil unless the file has a denormalizer
	trainer      TrainerSpec
	kind         ModelType
	unkID        int32
	minScore     float32 // over NORMAL pieces, as SentencePiece computes it
	maxScore     float32
	byteFallback bool
	byteIDs      [256]int32
}

// Token is one piece of an encoded text.
type Token struct {
	Piece string // the piece as in the vocabulary (with ▁ for spaces)
	ID    int32  // SentencePiece id
	// Begin and End are the UTF-8 byte offsets of the piece's surface in
	// the original text (SentencePiece's begin/end).
	Begin, End int
}

// Load parses a SentencePiece model file (a serialized ModelProto). Bad files
// give an error saying what is wrong; Load never panics.
func Load(data []byte) (*Model, error) {
	mp, err := parseModelProto(data)
	if err != nil {
		return nil, fmt.Errorf("bpe: not a SentencePiece model file: %w", err)
	}
	m, err := newModel(mp)
	if err != nil {
		return nil, fmt.Errorf("bpe: bad SentencePiece model: %w", err)
	}
	m.raw = data
	return m, nil
}

// MaxFileSize is the largest SentencePiece model file ReadFile reads: real
// models are a few MiB (a 250,000-piece vocabulary is about 5 MiB).
const MaxFileSize = 64 << 20

// ReadFile loads the SentencePiece model file at path. Before reading it
// checks that path is a file of at most MaxFileSize bytes that starts like
// a ModelProto, and it never reads more than MaxFileSize bytes (pipes and
// devices included), so a wrong or huge file is refused at once.
func ReadFile(path string) (*Model, error) {
	f, err := os.Open(path)
	if err != nil {
		return nil, err
	}
	defer f.Close()
	st, err := f.Stat()
	if err != nil {
		return nil, err
	}
	if st.IsDir() {
		return nil, fmt.Errorf("bpe: %s is a directory, not a SentencePiece model file", path)
	}
	if st.Size() > MaxFileSize {
		return nil, fmt.Errorf("bpe: %s is %d bytes, more than a SentencePiece model (at most %d MiB): not a SentencePiece model file", path, st.Size(), MaxFileSize>>20)
	}
	var head [1]byte
	if _, err := io.ReadFull(f, head[:]); err == io.EOF {
		return nil, fmt.Errorf("bpe: %s is empty: not a SentencePiece model file", path)
	} else if err != nil {
		return nil, err
	}
	// A ModelProto starts with one of its length-delimited fields 1 to 5
	// (pieces first, as SentencePiece writes it).
	if head[0]&7 != wireBytes || head[0]>>3 < 1 || head[0]>>3 > 5 {
		return nil, fmt.Errorf("bpe: %s starts with byte 0x%02x: not a SentencePiece model file", path, head[0])
	}
	data, err := io.ReadAll(io.LimitReader(io.MultiReader(bytes.NewReader(head[:]), f), MaxFileSize+1))
	if err != nil {
		return nil, err
	}
	if len(data) > MaxFileSize {
		return nil, fmt.Errorf("bpe: %s holds more than %d MiB: not a SentencePiece model file", path, MaxFileSize>>20)
	}
	m, err := Load(data)
	if err != nil {
		return nil, fmt.Errorf("%s: %w", path, err)
	}
	return m, nil
}

func newModel(mp *modelProto) (*Model, error) {
	m := &Model{
		pieces:   mp.pieces,
		normal:   make(map[string]int32, len(mp.pieces)),
		reserved: make(map[string]int32),
		trainer:  mp.trainer,
		kind:     mp.trainer.ModelType,
		unkID:    -1,
		minScore: math.MaxFloat32,
		maxScore: math.SmallestNonzeroFloat32 * (1 << 23), // FLT_MIN
	}
	if m.kind != Unigram && m.kind != BPE {
		return nil, fmt.Errorf("model type %d is not supported (only unigram=1 and bpe=2)", m.kind)
	}
	if len(m.pieces) == 0 {
		return nil, errors.New("the model has no pieces")
	}
	var userKeys []string
	var userIDs []int32
	bytesFound := 0
	for i := range m.byteIDs {
		m.byteIDs[i] = -1
	}
	for i, p := range m.pieces {
		id := int32(i)
		if p.Piece == "" {
			return nil, fmt.Errorf("piece %d is empty", i)
		}
		dict := m.reserved
		if p.Type == Normal || p.Type == UserDefined || p.Type == Unused {
			dict = m.normal
		}
		if _, dup := dict[p.Piece]; dup {
			return nil, fmt.Errorf("piece %q (id %d) is already defined", p.Piece, i)
		}
		dict[p.Piece] = id
		switch p.Type {
		case Normal:
			m.minScore = min(m.minScore, p.Score)
			m.maxScore = max(m.maxScore, p.Score)
		case UserDefined:
			userKeys, userIDs = append(userKeys, p.Piece), append(userIDs, id)
		case Unknown:
			if m.unkID >= 0 {
				return nil, errors.New("the unknown piece is defined twice")
			}
			m.unkID = id
		case Byte:
			if !m.trainer.ByteFallback {
				return nil, fmt.Errorf("byte piece %q is found although byte_fallback is false", p.Piece)
			}
			b := pieceToByte(p.Piece)
			if b < 0 {
				return nil, fmt.Errorf("byte piece %q is invalid", p.Piece)
			}
			if m.byteIDs[b] < 0 {
				bytesFound++
			}
			m.byteIDs[b] = id
		}
	}
	if m.unkID < 0 {
		return nil, errors.New("the unknown piece is not defined")
	}
	if m.trainer.ByteFallback && bytesFound != 256 {
		return nil, errors.New("there are not 256 byte pieces although byte_fallback is true")
	}
	m.byteFallback = m.trainer.ByteFallback
	var user *pieceTrie
	if len(userKeys) > 0 {
		user = newPieceTrie(userKeys, userIDs)
	}
	var err error
	if m.norm, err = newNormalizer(mp.normalizer, user, m.trainer.TreatWhitespaceAsSuffix); err != nil {
		return nil, err
	}
	if mp.denormalizer.present && len(mp.denormalizer.PrecompiledCharsmap) > 0 {
		if m.denorm, err = newNormalizer(mp.denormalizer, nil, false); err != nil {
			return nil, fmt.Errorf("denormalizer: %w", err)
		}
	}
	if m.kind == Unigram {
		keys := make([]string, 0, len(m.normal))
		ids := make([]int32, 0, len(m.normal))
		for k, id := range m.normal {
			keys, ids = append(keys, k), append(ids, id)
		}
		if len(keys) == 0 {
			return nil, errors.New("the unigram model has no normal pieces")
		}
		m.trie = newPieceTrie(keys, ids)
	}
	return m, nil
}

// pieceToByte returns b for a piece "<0xXX>" (upper-case hex), else -1.
func pieceToByte(p string) int {
	const hex = "0123456789ABCDEF"
	if len(p) != 6 || p[:3] != "<0x" || p[5] != '>' {
		return -1
	}
	hi, lo := strings.IndexByte(hex, p[3]), strings.IndexByte(hex, p[4])
	if hi < 0 || lo < 0 {
		return -1
	}
	return hi<<4 | lo
}

// Bytes returns the model file Load read (callers must not modify it).
func (m *Model) Bytes() []byte { return m.raw }

// Type returns the model type (Unigram or BPE).
func (m *Model) Type() ModelType { return m.kind }

// Len returns the number of pieces (the vocabulary size).
func (m *Model) Len() int { return len(m.pieces) }

// UnkID returns the id of the unknown piece.
func (m *Model) UnkID() int32 { return m.unkID }

// Entry returns the vocabulary entry of id, which must be in [0, Len()).
func (m *Model) Entry(id int32) VocabEntry { return m.pieces[id] }

// Trainer returns the model's trainer settings that matter for encoding.
func (m *Model) Trainer() TrainerSpec { return m.trainer }

// PieceToID returns the id of piece, or UnkID when the model does not know it
// (SentencePiece's PieceToId).
func (m *Model) PieceToID(piece string) int32 {
	if id, ok := m.reserved[piece]; ok {
		return id
	}
	if id, ok := m.normal[piece]; ok {
		return id
	}
	return m.unkID
}

// IDToPiece returns the piece of id, or "" when id is out of range.
func (m *Model) IDToPiece(id int32) string {
	if id < 0 || int(id) >= len(m.pieces) {
		return ""
	}
	return m.pieces[id].Piece
}

// Normalize returns text as the model sees it: normalised, with ▁ for spaces
// and the dummy prefix.
func (m *Model) Normalize(text string) string {
	s, _ := m.norm.normalize(text, nil)
	return s
}

// Encode splits text into pieces exactly as SentencePiece's Encode does,
// with the original-text byte offsets of every piece.
func (m *Model) Encode(text string) []Token {
	sc := scratchPool.Get().(*scratch)
	defer scratchPool.Put(sc)
	var normalized string
	normalized, sc.align = m.norm.normalize(text, sc.align)
	if normalized == "" {
		return nil
	}
	if m.kind == Unigram {
		m.encodeUnigram(normalized, sc)
	} else {
		m.encodeBPE(normalized, sc)
	}
	return m.populate(normalized, sc.align, sc.raw)
}

// scratch holds the buffers of one Encode call; they are reused through
// scratchPool, so a Model stays safe for concurrent use.
type scratch struct {
	align  []int
	ends   []unigramBest
	syms   []bpeSymbol
	agenda bpeAgenda
	raw    []rawPiece
}

var scratchPool = sync.Pool{New: func() any { return new(scratch) }}

// EncodePieces returns the pieces of text.
func (m *Model) EncodePieces(text string) []string {
	toks := m.Encode(text)
	out := make([]string, len(toks))
	for i, t := range toks {
		out[i] = t.Piece
	}
	return out
}

// EncodeIDs returns the SentencePiece ids of text.
func (m *Model) EncodeIDs(text string) []int32 {
	toks := m.Encode(text)
	out := make([]int32, len(toks))
	for i, t := range toks {
		out[i] = t.ID
	}
	return out
}

// rawPiece is one piece of the model's segmentation of the normalised text,
// as a byte range of it.
type rawPiece struct {
	begin, end int
	id         int32
}

// populate turns the segmentation into tokens with original offsets: runs of
// unknown pieces are merged into one, or split into byte pieces with byte
// fallback (SentencePieceProcessor::PopulateSentencePieceText).
func (m *Model) populate(normalized string, align []int, raw []rawPiece) []Token {
	toks := make([]Token, 0, len(raw))
	prevUnk := false
	for _, r := range raw {
		isUnk := r.id == m.unkID
		begin, end := align[r.begin], align[r.end]
		w := normalized[r.begin:r.end]
		switch {
		case isUnk && m.byteFallback:
			for i := 0; i < len(w); i++ {
				t := Token{Piece: byteToPiece(w[i]), ID: m.byteIDs[w[i]], Begin: begin, End: begin}
				if i == len(w)-1 {
					t.End = end
				}
				toks = append(toks, t)
			}
		case isUnk && prevUnk:
			last := &toks[len(toks)-1]
			last.Piece += w
			last.End = end
		default:
			toks = append(toks, Token{Piece: w, ID: r.id, Begin: begin, End: end})
		}
		prevUnk = isUnk
	}
	return toks
}

func byteToPiece(b byte) string {
	const hex = "0123456789ABCDEF"
	return "<0x" + string(hex[b>>4]) + string(hex[b&15]) + ">"
}

// oneCharLen is SentencePiece's OneCharLen: the UTF-8 length announced by
// the leading byte (1 for continuation bytes).
func oneCharLen(b byte) int {
	return int("\x01\x01\x01\x01\x01\x01\x01\x01\x01\x01\x01\x01\x02\x02\x03\x04"[b>>4])
}

// unkPenalty is SentencePiece's kUnkPenalty: an unknown character costs the
// lowest piece score minus this.
const unkPenalty = 10.0

// encodeUnigram is the Viterbi segmentation of SentencePiece's
// unigram::Model::EncodeOptimized (the default encoder of 0.1.9x): best path
// scores per byte position (stored as float32, piece candidates summed and
// compared in float64 as the C++ does), candidates visited by start then
// length, the first of equal scores kept.
func (m *Model) encodeUnigram(s string, sc *scratch) {
	n := len(s)
	unkScore := m.minScore - unkPenalty
	ends := slices.Grow(sc.ends[:0], n+1)[:n+1]
	clear(ends)
	sc.ends = ends
	for start := 0; start < n; {
		base := ends[start].score
		mblen := min(oneCharLen(s[start]), n-start)
		single := false
		node := int32(0)
		for pos := start; pos < n; pos++ {
			if node = m.trie.step(node, s[pos]); node == 0 {
				break
			}
			id := m.trie.value[node]
			if id < 0 {
				continue
			}
			p := &m.pieces[id]
			if p.Type == Unused {
				continue
			}
			length := pos + 1 - start
			// As in C++, the score is a double (the user-defined
			// branch subtracts the double 0.1), so the candidate is
			// summed and compared in float64 and stored as float32.
			score := float64(p.Score)
			if p.Type == UserDefined {
				score = float64(float32(length)*m.maxScore) - 0.1
			}
			cand := score + float64(base)
			if t := &ends[pos+1]; !t.filled || cand > float64(t.score) {
				*t = unigramBest{float32(cand), start, id, true}
			}
			if length == mblen {
				single = true
			}
		}
		if !single {
			cand := unkScore + base
			if t := &ends[start+mblen]; !t.filled || cand > t.score {
				*t = unigramBest{cand, start, m.unkID, true}
			}
		}
		start += mblen
	}
	out := sc.raw[:0]
	for e := n; e > 0; e = ends[e].start {
		out = append(out, rawPiece{ends[e].start, e, ends[e].id})
	}
	slices.Reverse(out)
	sc.raw = out
}

// unigramBest is the best path ending at one byte position.
type unigramBest struct {
	score  float32
	start  int
	id     int32
	filled bool
}

// bpeSymbol is a symbol of the BPE merge loop: a byte range of the text in a
// doubly linked list.
type bpeSymbol struct {
	begin, end int
	prev, next int
	freeze     bool
}

// bpePair is a candidate merge of the symbols left and right.
type bpePair struct {
	left, right int
	score       float32
	size        int
}

// bpeAgenda is a max-heap of pairs: higher score first, then leftmost
// (SentencePiece's SymbolPairComparator). It is hand-written rather than
// container/heap to avoid boxing every pair.
type bpeAgenda []bpePair

func (a bpeAgenda) less(i, j int) bool {
	return a[i].score > a[j].score || (a[i].score == a[j].score && a[i].left < a[j].left)
}

func (a *bpeAgenda) push(p bpePair) {
	*a = append(*a, p)
	h := *a
	for i := len(h) - 1; i > 0; {
		parent := (i - 1) / 2
		if !h.less(i, parent) {
			break
		}
		h[i], h[parent] = h[parent], h[i]
		i = parent
	}
}

func (a *bpeAgenda) pop() bpePair {
	h := *a
	top := h[0]
	last := len(h) - 1
	h[0] = h[last]
	h = h[:last]
	for i := 0; ; {
		l, r, best := 2*i+1, 2*i+2, i
		if l < len(h) && h.less(l, best) {
			best = l
		}
		if r < len(h) && h.less(r, best) {
			best = r
		}
		if best == i {
			break
		}
		h[i], h[best] = h[best], h[i]
		i = best
	}
	*a = h
	return top
}

// encodeBPE is SentencePiece's bpe::Model::SampleEncode without dropout:
// start from characters (user-defined symbols kept whole), repeatedly merge
// the adjacent pair whose merged piece has the highest score (leftmost on
// ties), then split merged pieces of type UNUSED back into their parts.
func (m *Model) encodeBPE(s string, sc *scratch) {
	syms := sc.syms[:0]
	for pos := 0; pos < len(s); {
		l, freeze := 0, false
		if m.norm.userDefined != nil {
			l = m.norm.userDefined.longestMatch(s[pos:])
			freeze = l > 0
		}
		if l == 0 {
			l = min(oneCharLen(s[pos]), len(s)-pos)
		}
		i := len(syms)
		syms = append(syms, bpeSymbol{begin: pos, end: pos + l, prev: i - 1, next: i + 1, freeze: freeze})
		pos += l
	}
	syms[len(syms)-1].next = -1
	sc.syms = syms
	// revMerge records, for merged pieces of type UNUSED, the two pieces
	// they were made of (the last merge seen wins, as in SentencePiece).
	var revMerge map[string][2]string
	agenda := sc.agenda[:0]
	defer func() { sc.agenda = agenda[:0] }()
	add := func(left, right int) {
		if left < 0 || right < 0 || syms[left].freeze || syms[right].freeze {
			return
		}
		piece := s[syms[left].begin:syms[right].end]
		id, ok := m.normal[piece]
		if !ok {
			return
		}
		agenda.push(bpePair{left, right, m.pieces[id].Score, len(piece)})
		if m.pieces[id].Type == Unused {
			if revMerge == nil {
				revMerge = map[string][2]string{}
			}
			revMerge[piece] = [2]string{s[syms[left].begin:syms[left].end], s[syms[right].begin:syms[right].end]}
		}
	}
	for i := 1; i < len(syms); i++ {
		add(i-1, i)
	}
	for len(agenda) > 0 {
		top := agenda.pop()
		l, r := &syms[top.left], &syms[top.right]
		if l.begin == l.end || r.begin == r.end || (l.end-l.begin)+(r.end-r.begin) != top.size {
			continue // stale: one side was merged elsewhere
		}
		l.end = r.end
		l.next = r.next
		if r.next >= 0 {
			syms[r.next].prev = top.left
		}
		r.begin = r.end // empty
		add(l.prev, top.left)
		add(top.left, l.next)
	}
	out := sc.raw[:0]
	var resegment func(begin, end int)
	resegment = func(begin, end int) {
		w := s[begin:end]
		id, ok := m.normal[w]
		if !ok {
			out = append(out, rawPiece{begin, end, m.unkID})
			return
		}
		if m.pieces[id].Type == Unused {
			if parts, ok := revMerge[w]; ok {
				mid := begin + len(parts[0])
				resegment(begin, mid)
				resegment(mid, end)
				return
			}
		}
		out = append(out, rawPiece{begin, end, id})
	}
	for i := 0; i >= 0; i = syms[i].next {
		resegment(syms[i].begin, syms[i].end)
	}
	sc.raw = out
}

// DecodePieces turns pieces back into text (SentencePiece's DecodePieces):
// control pieces vanish, <unk> becomes the unknown surface (" ⁇ "), pieces
// the model does not know are copied verbatim, byte pieces are reassembled
// into UTF-8 (invalid bytes become U+FFFD), ▁ becomes a space and the
// leading space of the dummy prefix is dropped.
func (m *Model) DecodePieces(pieces []string) string {
	ids := make([]int32, len(pieces))
	for i, p := range pieces {
		ids[i] = m.PieceToID(p)
	}
	return m.decode(pieces, ids)
}

// DecodeIDs turns SentencePiece ids back into text; ids out of range are an
// error.
func (m *Model) DecodeIDs(ids []int32) (string, error) {
	pieces := make([]string, len(ids))
	for i, id := range ids {
		if id < 0 || int(id) >= len(m.pieces) {
			return "", fmt.Errorf("bpe: invalid id %d (the model has %d pieces)", id, len(m.pieces))
		}
		pieces[i] = m.pieces[id].Piece
	}
	return m.decode(pieces, ids), nil
}

func (m *Model) decode(pieces []string, ids []int32) string {
	var text strings.Builder
	var pendingBytes []byte
	flushBytes := func() {
		for len(pendingBytes) > 0 {
			r, size := utf8.DecodeRune(pendingBytes)
			if r == utf8.RuneError && size <= 1 {
				text.WriteString("\uFFFD")
				size = 1
			} else {
				text.Write(pendingBytes[:size])
			}
			pendingBytes = pendingBytes[size:]
		}
	}
	stripLeading := m.norm.spec.AddDummyPrefix || m.norm.spec.RemoveExtraWhitespaces
	isBosWS, bosWSSeen := true, false
	for i, piece := range pieces {
		id := ids[i]
		t := m.pieces[id].Type
		if t == Byte {
			pendingBytes = append(pendingBytes, byte(pieceToByte(m.pieces[id].Piece)))
			continue
		}
		flushBytes()
		if bosWSSeen || text.Len() > 0 {
			isBosWS = false
		}
		bosWSSeen = false
		switch {
		case t == Control:
		case id == m.unkID:
			if m.pieces[id].Piece == piece {
				text.WriteString(m.trainer.UnkSurface)
			} else {
				text.WriteString(strings.ToValidUTF8(piece, "\uFFFD"))
			}
		default:
			if isBosWS && stripLeading {
				var had bool
				piece, had = strings.CutPrefix(piece, spaceSymbol)
				bosWSSeen = had && !m.norm.spec.RemoveExtraWhitespaces
			}
			text.WriteString(strings.ReplaceAll(piece, spaceSymbol, " "))
		}
	}
	flushBytes()
	if m.denorm != nil {
		s, _ := m.denorm.normalize(text.String(), nil)
		return s
	}
	return text.String()
}
