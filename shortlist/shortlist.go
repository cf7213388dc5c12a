// Package shortlist is the vocabulary shortlist of a translation model
// (Marian's lexical shortlist, CTranslate2's vocabulary map): for a batch
// of source sentences, the few thousand target ids a translation of them
// can plausibly use — the K most frequent target ids of the training
// corpus plus, for every source id of the batch, its best translation
// candidates. The translator restricts the decoder's output projection and
// the search to that set, which makes a step's largest product and the
// search's pass over the vocabulary K+… wide instead of V wide.
//
// A Shortlist is learned from a parallel corpus given as model ids (Learn:
// IBM model 1 translation probabilities p(t|s) by expectation
// maximisation), stored in the model file as the blob modelfile.BlobShortlist
// (MarshalBinary, Parse: the byte layout is described on Parse), and asked
// for the candidates of a batch (Candidates). It knows nothing of models,
// text or search: ids in, ids out.
package shortlist

import (
	"encoding/binary"
	"errors"
	"fmt"
	"math/bits"
	"slices"
)

// Shortlist holds, for a vocabulary of Vocab ids, the frequent target ids
// and the translation candidates of each source id. It is read-only once
// built and safe for concurrent use.
type Shortlist struct {
	vocab    int
	frequent []int32 // most frequent first
	// The candidates of source id s are cands[off[s]:off[s+1]], best first.
	off   []int32
	cands []int32
}

// ErrInvalid reports a shortlist that cannot be used: ids outside the
// vocabulary, a damaged or foreign blob. Errors wrap it (errors.Is).
var ErrInvalid = errors.New("invalid shortlist")

// New builds a Shortlist over ids 0..vocab−1 from the frequent target ids
// (most frequent first) and per[s], the translation candidates of source
// id s, best first. Ids out of range, or repeated within one list, are an
// error wrapping ErrInvalid.
func New(vocab int, frequent []int32, per map[int32][]int32) (*Shortlist, error) {
	if vocab < 1 || vocab > maxVocab {
		return nil, fmt.Errorf("vocabulary of %d ids: %w (want 1..%d)", vocab, ErrInvalid, maxVocab)
	}
	sl := &Shortlist{vocab: vocab, off: make([]int32, vocab+1)}
	seen := newSet(vocab)
	check := func(what string, ids []int32) error {
		seen.clear()
		for _, id := range ids {
			if id < 0 || int(id) >= vocab {
				return fmt.Errorf("%s: id %d: %w (the vocabulary has ids 0..%d)", what, id, ErrInvalid, vocab-1)
			}
			if seen.has(id) {
				return fmt.Errorf("%s: id %d twice: %w", what, id, ErrInvalid)
			}
			seen.add(id)
		}
		return nil
	}
	if err := check("frequent ids", frequent); err != nil {
		return nil, err
	}
	sl.frequent = slices.Clone(frequent)
	for s := range vocab {
		ids := per[int32(s)]
		if err := check(fmt.Sprintf("candidates of source id %d", s), ids); err != nil {
			return nil, err
		}
		sl.cands = append(sl.cands, ids...)
		sl.off[s+1] = int32(len(sl.cands))
	}
	for s := range per {
		if s < 0 || int(s) >= vocab {
			return nil, fmt.Errorf("candidates of source id %d: %w (the vocabulary has ids 0..%d)", s, ErrInvalid, vocab-1)
		}
	}
	return sl, nil
}

// maxVocab bounds the vocabulary a shortlist may describe (model ids are
// int32; no real vocabulary comes near).
const maxVocab = 1 << 24

// Vocab returns the size of the vocabulary the shortlist describes; it
// must equal the model's.
func (sl *Shortlist) Vocab() int { return sl.vocab }

// Frequent returns the frequent target ids, most frequent first (do not
// modify).
func (sl *Shortlist) Frequent() []int32 { return sl.frequent }

// Translations returns the translation candidates of source id s, best
// first (do not modify); none for an id outside the vocabulary.
func (sl *Shortlist) Translations(s int32) []int32 {
	if s < 0 || int(s) >= sl.vocab {
		return nil
	}
	return sl.cands[sl.off[s]:sl.off[s+1]]
}

// Candidates appends to dst, in ascending order and each once, the target
// ids a translation of the sentences src may use: the frequent ids, the
// translation candidates of every source id, the source ids themselves
// (names and numbers are often copied in a joint vocabulary) and the ids
// always (the end id, unknown, decoder start: whatever the search needs).
// Ids outside the vocabulary are skipped.
func (sl *Shortlist) Candidates(dst []int32, src [][]int32, always ...int32) []int32 {
	set := newSet(sl.vocab)
	for _, id := range sl.frequent {
		set.add(id)
	}
	add := func(id int32) {
		if id >= 0 && int(id) < sl.vocab {
			set.add(id)
		}
	}
	for _, id := range always {
		add(id)
	}
	for _, sent := range src {
		for _, s := range sent {
			add(s)
			for _, t := range sl.Translations(s) {
				set.add(t)
			}
		}
	}
	return set.appendTo(dst)
}

// set is a bit set of ids.
type set []uint64

func newSet(n int) set          { return make(set, (n+63)/64) }
func (s set) add(id int32)      { s[id>>6] |= 1 << (id & 63) }
func (s set) has(id int32) bool { return s[id>>6]&(1<<(id&63)) != 0 }
func (s set) clear()            { clear(s) }
func (s set) appendTo(dst []int32) []int32 {
	for w, word := range s {
		for word != 0 {
			b := bits.TrailingZeros64(word)
			dst = append(dst, int32(w*64+b))
			word &= word - 1
		}
	}
	return dst
}

// magic starts a shortlist blob; the digit is the layout's version.
const magic = "DEENSL1\n"

// MarshalBinary returns the blob Parse reads (the layout is described on
// Parse).
func (sl *Shortlist) MarshalBinary() ([]byte, error) {
	b := []byte(magic)
	b = binary.AppendUvarint(b, uint64(sl.vocab))
	b = appendIDs(b, sl.frequent)
	sources := 0
	for s := range sl.vocab {
		if sl.off[s+1] > sl.off[s] {
			sources++
		}
	}
	b = binary.AppendUvarint(b, uint64(sources))
	prev := -1
	for s := range sl.vocab {
		ids := sl.Translations(int32(s))
		if len(ids) == 0 {
			continue
		}
		b = binary.AppendUvarint(b, uint64(s-prev-1))
		prev = s
		b = appendIDs(b, ids)
	}
	return b, nil
}

func appendIDs(b []byte, ids []int32) []byte {
	b = binary.AppendUvarint(b, uint64(len(ids)))
	for _, id := range ids {
		b = binary.AppendUvarint(b, uint64(id))
	}
	return b
}

// Parse reads a shortlist blob (MarshalBinary). Its layout, every number
// an unsigned LEB128 varint (encoding/binary's Uvarint):
//
//	"DEENSL1\n"             magic and layout version
//	V                       vocabulary size
//	K, K ids                the frequent target ids, most frequent first
//	S                       number of source ids with candidates
//	S times: Δ, N, N ids    source id = previous source id + 1 + Δ (the
//	                        first: Δ), then its N candidates, best first
//
// and nothing after. vocab is the model's vocabulary size, which V must
// equal. A blob that does not follow the layout (truncated, ids out of
// range, repeated ids, trailing bytes) or was built for another vocabulary
// is an error wrapping ErrInvalid that says so; Parse never panics and
// allocates at most in proportion to len(data) and vocab.
func Parse(data []byte, vocab int) (*Shortlist, error) {
	if vocab < 1 || vocab > maxVocab {
		return nil, fmt.Errorf("vocabulary of %d ids: %w (want 1..%d)", vocab, ErrInvalid, maxVocab)
	}
	r := reader{data: data}
	if len(data) < len(magic) || string(data[:len(magic)]) != magic {
		if len(data) >= 6 && string(data[:6]) == magic[:6] {
			return nil, fmt.Errorf("shortlist layout %q: %w (this build reads %q; rebuild the shortlist with this build's translate shortlist)", data[6:min(len(data), 8)], ErrInvalid, magic[6:7])
		}
		return nil, fmt.Errorf("not a shortlist (no %q magic): %w", magic[:7], ErrInvalid)
	}
	r.pos = len(magic)
	if v := r.uvarint("vocabulary size", maxVocab); r.err == nil && v != uint64(vocab) {
		return nil, fmt.Errorf("shortlist for a vocabulary of %d ids, the model has %d: %w (rebuild it for this model with translate shortlist)", v, vocab, ErrInvalid)
	}
	frequent := r.ids("frequent ids")
	sources := r.uvarint("number of source ids", uint64(vocab))
	per := make(map[int32][]int32, min(sources, uint64(len(data))))
	src := int64(-1)
	for i := uint64(0); r.err == nil && i < sources; i++ {
		src += 1 + int64(r.uvarint("source id step", uint64(vocab)))
		if r.err == nil && src >= int64(vocab) {
			r.fail(fmt.Sprintf("source id %d beyond the vocabulary of %d", src, vocab))
		}
		ids := r.ids(fmt.Sprintf("candidates of source id %d", src))
		if r.err == nil && len(ids) == 0 {
			r.fail(fmt.Sprintf("source id %d has no candidates", src))
		}
		per[int32(src)] = ids
	}
	if r.err == nil && r.pos != len(data) {
		r.fail(fmt.Sprintf("%d bytes after the end", len(data)-r.pos))
	}
	if r.err != nil {
		return nil, r.err
	}
	return New(vocab, frequent, per)
}

// reader decodes Parse's varints; the first error sticks.
type reader struct {
	data []byte
	pos  int
	err  error
}

func (r *reader) fail(msg string) {
	if r.err == nil {
		r.err = fmt.Errorf("byte %d: %s: %w (rebuild the shortlist with translate shortlist)", r.pos, msg, ErrInvalid)
	}
}

// uvarint reads one number of at most limit.
func (r *reader) uvarint(what string, limit uint64) uint64 {
	if r.err != nil {
		return 0
	}
	v, n := binary.Uvarint(r.data[r.pos:])
	if n <= 0 {
		r.fail(what + ": truncated or overlong number")
		return 0
	}
	r.pos += n
	if v > limit {
		r.fail(fmt.Sprintf("%s %d, at most %d", what, v, limit))
		return 0
	}
	return v
}

// ids reads a count and that many ids (each at least one byte, so the
// count is bounded by the bytes left before anything is allocated).
func (r *reader) ids(what string) []int32 {
	n := r.uvarint(what+" count", uint64(len(r.data)-r.pos))
	if r.err != nil {
		return nil
	}
	ids := make([]int32, 0, n)
	for range n {
		ids = append(ids, int32(r.uvarint(what, maxVocab-1)))
	}
	return ids
}
