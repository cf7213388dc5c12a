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
	"maps"
	"math/bits"
	"slices"
)

// Shortlist holds, for a vocabulary of Vocab ids, the frequent target ids
// and the translation candidates of each source id. It is read-only once
// built and safe for concurrent use. In memory it is its blob (the layout
// on Parse) plus one offset per source id: the candidates stay varints,
// decoded for the source ids of a batch only.
type Shortlist struct {
	vocab    int
	frequent []int32 // most frequent first
	data     []byte  // the blob
	// off[s] is the offset in data of source id s's list (its count, then
	// its ids); 0 for none (the magic comes first, so no list starts at 0).
	off []int32
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
	seen := newSet(vocab)
	if err := seen.check(frequent, vocab); err != nil {
		return nil, fmt.Errorf("frequent ids: %w", err)
	}
	b := []byte(magic)
	b = binary.AppendUvarint(b, uint64(vocab))
	b = appendIDs(b, frequent)
	sources := slices.Sorted(maps.Keys(per))
	sources = slices.DeleteFunc(sources, func(s int32) bool { return len(per[s]) == 0 })
	b = binary.AppendUvarint(b, uint64(len(sources)))
	prev := int32(-1)
	for _, src := range sources {
		if src < 0 || int(src) >= vocab {
			return nil, fmt.Errorf("candidates of source id %d: %w (the vocabulary has ids 0..%d)", src, ErrInvalid, vocab-1)
		}
		if err := seen.check(per[src], vocab); err != nil {
			return nil, fmt.Errorf("candidates of source id %d: %w", src, err)
		}
		b = binary.AppendUvarint(b, uint64(src-prev-1))
		prev = src
		b = appendIDs(b, per[src])
	}
	return Parse(b, vocab)
}

// check reports an id of ids outside 0..vocab−1 or repeated; s is empty
// before and after.
func (s set) check(ids []int32, vocab int) error {
	defer func() {
		for _, id := range ids {
			if id >= 0 && int(id) < vocab {
				s.del(id)
			}
		}
	}()
	for _, id := range ids {
		if id < 0 || int(id) >= vocab {
			return fmt.Errorf("id %d: %w (the vocabulary has ids 0..%d)", id, ErrInvalid, vocab-1)
		}
		if s.has(id) {
			return fmt.Errorf("id %d twice: %w", id, ErrInvalid)
		}
		s.add(id)
	}
	return nil
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
// first (a new slice); none for an id outside the vocabulary.
func (sl *Shortlist) Translations(s int32) []int32 {
	var ids []int32
	sl.eachTranslation(s, func(t int32) { ids = append(ids, t) })
	return ids
}

// eachTranslation calls f with each candidate of source id s, best first
// (the blob was checked by Parse).
func (sl *Shortlist) eachTranslation(s int32, f func(int32)) {
	if s < 0 || int(s) >= sl.vocab || sl.off[s] == 0 {
		return
	}
	b := sl.data[sl.off[s]:]
	n, k := binary.Uvarint(b)
	b = b[k:]
	for range n {
		t, k := binary.Uvarint(b)
		b = b[k:]
		f(int32(t))
	}
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
			sl.eachTranslation(s, set.add)
		}
	}
	return set.appendTo(dst)
}

// set is a bit set of ids.
type set []uint64

func newSet(n int) set          { return make(set, (n+63)/64) }
func (s set) add(id int32)      { s[id>>6] |= 1 << (id & 63) }
func (s set) has(id int32) bool { return s[id>>6]&(1<<(id&63)) != 0 }
func (s set) del(id int32)      { s[id>>6] &^= 1 << (id & 63) }
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
func (sl *Shortlist) MarshalBinary() ([]byte, error) { return slices.Clone(sl.data), nil }

func appendIDs(b []byte, ids []int32) []byte {
	b = binary.AppendUvarint(b, uint64(len(ids)))
	for _, id := range ids {
		b = binary.AppendUvarint(b, uint64(id))
	}
	return b
}

// Parse reads a shortlist blob (MarshalBinary). Its layout, every number
// an unsigned LEB128 varint (encoding/binary's Uvarint) of its shortest
// form:
//
//	"DEENSL1\n"             magic and layout version
//	V                       vocabulary size
//	K, K ids                the frequent target ids, most frequent first
//	S                       number of source ids with candidates
//	S times: Δ, N, N ids    source id = previous source id + 1 + Δ (the
//	                        first: Δ), then its N ≥ 1 candidates, best first
//
// and nothing after. vocab is the model's vocabulary size, which V must
// equal. A blob that does not follow the layout (truncated, ids out of
// range, repeated ids, trailing bytes) or was built for another vocabulary
// is an error wrapping ErrInvalid that says so; Parse never panics and
// allocates at most in proportion to len(data) and vocab. The Shortlist
// keeps data (do not modify it afterwards): the candidates stay encoded.
func Parse(data []byte, vocab int) (*Shortlist, error) {
	if vocab < 1 || vocab > maxVocab {
		return nil, fmt.Errorf("vocabulary of %d ids: %w (want 1..%d)", vocab, ErrInvalid, maxVocab)
	}
	if len(data) > 1<<31-1 {
		return nil, fmt.Errorf("shortlist of %d bytes: %w (at most 2 GiB)", len(data), ErrInvalid)
	}
	r := reader{data: data, src: -1}
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
	sl := &Shortlist{vocab: vocab, data: data, off: make([]int32, vocab)}
	seen := newSet(vocab)
	sl.frequent = r.ids("frequent ids", nil, seen, vocab)
	sources := r.uvarint("number of source ids", uint64(vocab))
	src := int64(-1)
	var ids []int32
	for i := uint64(0); r.err == nil && i < sources; i++ {
		src += 1 + int64(r.uvarint("source id step", uint64(vocab)))
		if r.err == nil && src >= int64(vocab) {
			r.fail(fmt.Sprintf("source id %d beyond the vocabulary of %d", src, vocab))
		}
		if r.err != nil {
			break
		}
		at := r.pos
		r.src = src
		ids = r.ids("candidates", ids[:0], seen, vocab)
		if r.err == nil && len(ids) == 0 {
			r.fail("no candidates")
		}
		sl.off[src] = int32(at)
	}
	r.src = -1
	if r.err == nil && r.pos != len(data) {
		r.fail(fmt.Sprintf("%d bytes after the end", len(data)-r.pos))
	}
	if r.err != nil {
		return nil, r.err
	}
	return sl, nil
}

// reader decodes Parse's varints; the first error sticks.
type reader struct {
	data []byte
	pos  int
	src  int64 // the source id whose list is being read; −1 for none
	err  error
}

func (r *reader) fail(msg string) {
	if r.err == nil {
		where := fmt.Sprintf("byte %d", r.pos)
		if r.src >= 0 {
			where += fmt.Sprintf(", source id %d", r.src)
		}
		r.err = fmt.Errorf("%s: %s: %w (rebuild the shortlist with translate shortlist)", where, msg, ErrInvalid)
	}
}

// uvarint reads one number of at most limit, in its shortest form (so a
// blob has one encoding, which MarshalBinary gives back).
func (r *reader) uvarint(what string, limit uint64) uint64 {
	if r.err != nil {
		return 0
	}
	v, n := binary.Uvarint(r.data[r.pos:])
	if n <= 0 || n > 1 && r.data[r.pos+n-1] == 0 {
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

// ids appends to dst a count and that many ids (each at least one byte,
// so the count is bounded by the bytes left before anything is
// allocated), each in 0..vocab−1 and none twice (seen, empty before and
// after, tells).
func (r *reader) ids(what string, dst []int32, seen set, vocab int) []int32 {
	n := r.uvarint(what+" count", uint64(len(r.data)-r.pos))
	if r.err != nil {
		return dst
	}
	dst = slices.Grow(dst, int(n))
	for range n {
		dst = append(dst, int32(r.uvarint(what, uint64(vocab-1))))
	}
	if r.err == nil {
		if err := seen.check(dst, vocab); err != nil {
			r.fail(fmt.Sprintf("%s: %v", what, err))
		}
	}
	return dst
}
