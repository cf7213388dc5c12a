package translate

import (
	"container/list"
	"encoding/binary"
	"fmt"
	"math"
	"slices"
	"sync"
)

// The sentence cache. Real files repeat sentences: headers, signatures,
// boilerplate, list items. A Translator therefore (1) decodes each distinct
// sentence of a call once and copies its result to the repeats, and (2)
// keeps the results of recently translated sentences in a small LRU, so a
// repeat in a later call (the next batch of a stream, the next request) is
// not decoded again. Both are keyed by the source ids and every search
// setting of the call (SearchOptions after defaults), so a hit is the
// result the search computes: the search of a sentence does not depend on
// the sentences decoded with it (batched equals alone: the same ids and
// text; the score moves in the last bits, within a relative 1e-5, with
// the padding of the batch, cached or not), and the weights' precision is fixed per
// Translator. Results are copied in and out, so callers may change what
// they get.

// defaultCacheEntries is the LRU's default size in sentences.
const defaultCacheEntries = 1024

// maxCacheBytes bounds the LRU's memory whatever its size in entries
// (results of 128 beams of 512 tokens are large): least recently used
// entries are dropped until the total is below it.
const maxCacheBytes = 32 << 20

// WithSentenceCache sets how many recent sentence translations the
// Translator keeps (default 1024, at most 32 MiB of them); repeats of a
// sentence with the same search settings are then not decoded again, and
// repeats within one call are decoded once. 0 turns both off: every
// sentence is decoded. Results are the same either way.
func WithSentenceCache(entries int) Option {
	return func(t *Translator) error {
		if entries < 0 {
			return fmt.Errorf("sentence cache size %d: %w (want 0 (off) or more)", entries, ErrInvalidOption)
		}
		t.cacheEntries = entries
		return nil
	}
}

// sentenceCache is a bounded LRU of sentence results, safe for concurrent use.
type sentenceCache struct {
	mu         sync.Mutex
	maxEntries int
	bytes      int
	order      *list.List // of *cacheEntry, most recently used first
	byKey      map[string]*list.Element
	hits, puts int // lookups answered and results stored (sentences decoded), for tests and benchmarks
}

// cacheEntry is one cached sentence result.
type cacheEntry struct {
	key string
	res Result
}

func newSentenceCache(entries int) *sentenceCache {
	return &sentenceCache{maxEntries: entries, order: list.New(), byKey: map[string]*list.Element{}}
}

// cacheKey identifies a sentence (its source ids) under search settings o.
func cacheKey(o SearchOptions, ids []int32) string {
	b := make([]byte, 0, 7*4+4*len(ids))
	for _, v := range []uint32{uint32(o.BeamSize), math.Float32bits(o.LengthPenalty), uint32(o.MaxNewTokens),
		math.Float32bits(o.MaxLenRatio), uint32(o.MaxLenExtra), uint32(o.NoRepeatNGram), uint32(o.MinNewTokens)} {
		b = binary.LittleEndian.AppendUint32(b, v)
	}
	for _, id := range ids {
		b = binary.LittleEndian.AppendUint32(b, uint32(id))
	}
	return string(b)
}

// get returns a copy of the result cached under key.
func (c *sentenceCache) get(key string) (Result, bool) {
	c.mu.Lock()
	defer c.mu.Unlock()
	e, ok := c.byKey[key]
	if !ok {
		return Result{}, false
	}
	c.order.MoveToFront(e)
	c.hits++
	return cloneResult(e.Value.(*cacheEntry).res), true
}

// put caches a copy of r under key, dropping the least recently used
// entries beyond the bounds.
func (c *sentenceCache) put(key string, r Result) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.puts++
	if _, ok := c.byKey[key]; ok {
		return // a concurrent call translated the same sentence
	}
	e := &cacheEntry{key: key, res: cloneResult(r)}
	c.byKey[key] = c.order.PushFront(e)
	c.bytes += e.size()
	for c.order.Len() > c.maxEntries || c.bytes > maxCacheBytes {
		old := c.order.Remove(c.order.Back()).(*cacheEntry)
		delete(c.byKey, old.key)
		c.bytes -= old.size()
	}
}

// size estimates an entry's memory in bytes.
func (e *cacheEntry) size() int {
	n := len(e.key) + 4*len(e.res.IDs) + 128
	for _, h := range e.res.NBest {
		n += 4*len(h.IDs) + 32
	}
	return n
}

// cloneResult copies r with its slices (the hypotheses' ids included).
func cloneResult(r Result) Result {
	out := r
	out.IDs = slices.Clone(r.IDs)
	out.NBest = slices.Clone(r.NBest)
	for i := range out.NBest {
		out.NBest[i].IDs = slices.Clone(r.NBest[i].IDs)
	}
	return out
}
