package bpe

import (
	"bytes"
	"cmp"
	"container/heap"
	_ "embed"
	"encoding/json"
	"errors"
	"fmt"
	"slices"
	"sort"
	"strings"
	"unicode"
	"unicode/utf8"
)

// nmtNFKC is SentencePiece's precompiled "nmt_nfkc" normalisation rule (NFKC
// plus whitespace clean-up), copied from a model Google's spm_train wrote.
// Models made by Train carry it, so they normalise like SentencePiece's.
//
//go:embed nmt_nfkc.charsmap
var nmtNFKC []byte

// TrainConfig sets up Train.
type TrainConfig struct {
	// ModelType is BPE (the default when zero) or Unigram.
	ModelType ModelType
	// VocabSize is the number of pieces of the model, including </s>,
	// <unk> and <pad>. Train may stop short when the text has no more
	// pairs to merge.
	VocabSize int
	// CharacterCoverage is the fraction of character occurrences the
	// characters of the vocabulary must cover (SentencePiece's
	// character_coverage); rarer characters become <unk>. 0 means 0.9995.
	CharacterCoverage float64
	// MaxPieceLength caps pieces, in characters. 0 means 16.
	MaxPieceLength int
}

// Special pieces of models made by Train, at the ids a Marian vocabulary
// uses: </s>=0, <unk>=1, <pad>=VocabSize-1.
const (
	TrainEOSID = 0
	TrainUnkID = 1
)

// maxTrainSentenceBytes skips longer training lines, as SentencePiece's
// max_sentence_length does.
const maxTrainSentenceBytes = 4192

// Train learns a SentencePiece model (BPE or unigram) from sentences (one per
// element, any mix of languages: a joint vocabulary). The result is
// deterministic for the same input and config, and is an ordinary
// SentencePiece model file (Model.Bytes) that Google's spm_encode loads. Its
// ids are laid out for Marian-style models: </s>=0, <unk>=1, the learned
// pieces, <pad> last, so MarianBlobs can use it for both sides with an
// identity vocab.json.
//
// Both algorithms follow SentencePiece's trainers. Text is normalised with
// nmt_nfkc and split into words at ▁; characters beyond the coverage become
// unknown. A piece never spans two Unicode scripts (digits and punctuation
// count as Common, combining marks as the script before them), ▁ only
// starts a piece, and pieces have at most MaxPieceLength characters.
// BPE merges the most frequent adjacent pair until the vocabulary is full
// (ties: shorter piece, then byte order). Unigram (train_unigram.go) starts
// from frequent substrings and alternates EM with pruning.
func Train(sentences []string, cfg TrainConfig) (*Model, error) {
	if cfg.CharacterCoverage == 0 {
		cfg.CharacterCoverage = 0.9995
	}
	if cfg.MaxPieceLength == 0 {
		cfg.MaxPieceLength = 16
	}
	if cfg.ModelType == 0 {
		cfg.ModelType = BPE
	}
	if cfg.ModelType != BPE && cfg.ModelType != Unigram {
		return nil, fmt.Errorf("bpe: can train BPE (2) or unigram (1) models, not model type %d", cfg.ModelType)
	}
	if cfg.CharacterCoverage < 0 || cfg.CharacterCoverage > 1 {
		return nil, fmt.Errorf("bpe: character coverage %g is outside (0, 1]", cfg.CharacterCoverage)
	}
	if cfg.MaxPieceLength < 1 {
		return nil, fmt.Errorf("bpe: max piece length %d must be at least 1", cfg.MaxPieceLength)
	}
	const specials = 3
	if cfg.VocabSize < specials+1 {
		return nil, fmt.Errorf("bpe: vocabulary size %d is too small (it includes </s>, <unk> and <pad>)", cfg.VocabSize)
	}
	spec := NormalizerSpec{Name: "nmt_nfkc", PrecompiledCharsmap: nmtNFKC, AddDummyPrefix: true, RemoveExtraWhitespaces: true, EscapeWhitespaces: true}
	norm, err := newNormalizer(spec, nil, false)
	if err != nil {
		return nil, err
	}

	// Count words (▁-initial runs) and characters of the normalised text.
	wordFreq := map[string]int64{}
	charFreq := map[rune]int64{}
	for _, s := range sentences {
		if len(s) > maxTrainSentenceBytes || !utf8.ValidString(s) {
			continue
		}
		text, _ := norm.normalize(s, nil)
		for _, w := range splitWords(text) {
			wordFreq[w]++
		}
		for _, r := range text {
			charFreq[r]++
		}
	}
	if len(wordFreq) == 0 {
		return nil, errors.New("bpe: no training text (empty input, or every line invalid UTF-8 or longer than 4192 bytes)")
	}
	chars := keptChars(charFreq, cfg.CharacterCoverage)
	if len(chars)+specials > cfg.VocabSize {
		return nil, fmt.Errorf("bpe: vocabulary size %d is smaller than the %d characters to cover plus 3 specials; raise it or lower the character coverage", cfg.VocabSize, len(chars))
	}
	known := make(map[rune]bool, len(chars))
	for _, c := range chars {
		known[c] = true
	}
	words, freq := trainingWords(wordFreq, known)

	// Assemble the model: specials, learned pieces, <pad>.
	mp := &modelProto{trainer: defaultTrainerSpec(), normalizer: spec}
	mp.pieces = append(mp.pieces, VocabEntry{"</s>", 0, Control}, VocabEntry{"<unk>", 0, Unknown})
	if cfg.ModelType == Unigram {
		mp.pieces = append(mp.pieces, trainUnigram(words, freq, chars, charFreq, cfg.VocabSize-specials, cfg.MaxPieceLength)...)
	} else {
		// Merges (score -i), then the characters.
		for _, p := range newBPETrainer(words, freq, chars, cfg.MaxPieceLength).run(cfg.VocabSize - specials - len(chars)) {
			mp.pieces = append(mp.pieces, VocabEntry{p, -float32(len(mp.pieces) - 2), Normal})
		}
		for _, c := range chars {
			mp.pieces = append(mp.pieces, VocabEntry{string(c), -float32(len(mp.pieces) - 2), Normal})
		}
	}
	mp.pieces = append(mp.pieces, VocabEntry{"<pad>", 0, Control})
	n := int32(len(mp.pieces))
	mp.trainer = TrainerSpec{ModelType: cfg.ModelType, VocabSize: n, CharacterCoverage: float32(cfg.CharacterCoverage),
		UnkID: TrainUnkID, BosID: -1, EosID: TrainEOSID, PadID: n - 1}
	return Load(marshalModelProto(mp))
}

// MarianBlobs returns the source.spm, target.spm and vocab.json blobs of a
// joint vocabulary for a model made by Train: the same spm on both sides and
// vocab.json mapping every piece to its own id, so that NewMarianFromBlobs
// gives model ids equal to SentencePiece ids.
func MarianBlobs(m *Model) (map[string][]byte, error) {
	if m.raw == nil {
		return nil, errors.New("bpe: the model has no file bytes")
	}
	var vocab bytes.Buffer
	vocab.WriteString("{")
	for i, p := range m.pieces {
		if i > 0 {
			vocab.WriteString(",")
		}
		key, err := json.Marshal(p.Piece)
		if err != nil {
			return nil, err
		}
		fmt.Fprintf(&vocab, "\n  %s: %d", key, i)
	}
	vocab.WriteString("\n}\n")
	blobs := map[string][]byte{BlobSourceSPM: m.raw, BlobTargetSPM: m.raw, BlobVocab: vocab.Bytes()}
	if _, err := NewMarianFromBlobs(blobs); err != nil {
		return nil, fmt.Errorf("bpe: the model is not laid out for Marian (train it with Train): %w", err)
	}
	return blobs, nil
}

// splitWords splits normalised text before every ▁ (SplitIntoWords).
func splitWords(text string) []string {
	var words []string
	start := 0
	for i := 1; i < len(text); i++ {
		if strings.HasPrefix(text[i:], spaceSymbol) {
			words = append(words, text[start:i])
			start = i
		}
	}
	if start < len(text) {
		words = append(words, text[start:])
	}
	return words
}

// keptChars returns the most frequent characters covering the given fraction
// of all occurrences (▁ always), most frequent first, ties by code point.
func keptChars(freq map[rune]int64, coverage float64) []rune {
	all := make([]rune, 0, len(freq))
	var total int64
	for r, f := range freq {
		all = append(all, r)
		total += f
	}
	slices.SortFunc(all, func(a, b rune) int {
		if c := cmp.Compare(freq[b], freq[a]); c != 0 {
			return c
		}
		return cmp.Compare(a, b)
	})
	var kept []rune
	var covered int64
	for _, r := range all {
		if covered >= int64(coverage*float64(total)) && r != '\u2581' {
			continue
		}
		if r == 0 || r == utf8.RuneError {
			continue
		}
		kept = append(kept, r)
		covered += freq[r]
	}
	return kept
}

// scriptOf returns the script class used to keep pieces within one script:
// a script table name, "" for ▁ (it combines with anything), "Inherited" for
// combining marks (they take the script of the character before them).
func scriptOf(r rune) string {
	if r == '\u2581' {
		return ""
	}
	if unicode.In(r, unicode.Hiragana, unicode.Katakana) || r == 0x30FC {
		return "Han"
	}
	for _, name := range []string{"Latin", "Common", "Inherited", "Greek", "Cyrillic", "Han", "Arabic", "Hebrew", "Hangul"} {
		if unicode.Is(unicode.Scripts[name], r) {
			return name
		}
	}
	names := make([]string, 0, len(unicode.Scripts))
	for name := range unicode.Scripts {
		names = append(names, name)
	}
	sort.Strings(names)
	for _, name := range names {
		if unicode.Is(unicode.Scripts[name], r) {
			return name
		}
	}
	return "Common"
}

// bpeTrainer holds the state of the merge loop. Symbols are interned piece
// strings; every distinct word is a sequence of symbols with a frequency.
type bpeTrainer struct {
	words    [][]int32 // symbol sequence per distinct word
	freq     []int64   // frequency per distinct word
	symbols  []string  // symbol id → piece
	symbolID map[string]int32
	script   []string // symbol id → script ("" combines with any, "mixed" never merges)
	length   []int    // symbol id → length in characters
	pairFreq map[[2]int32]int64
	pairAt   map[[2]int32][]int32 // words that contained the pair (may be stale)
	queue    pairQueue
	stamp    []int // per word: last merge that rewrote it
	maxLen   int
}

// trainingWords splits the words at characters outside known (pieces never
// contain them) and returns the parts in a fixed order with their
// frequencies.
func trainingWords(wordFreq map[string]int64, known map[rune]bool) ([]string, []int64) {
	keys := make([]string, 0, len(wordFreq))
	for w := range wordFreq {
		keys = append(keys, w)
	}
	sort.Strings(keys)
	var words []string
	var freq []int64
	for _, w := range keys {
		start := 0
		for i, r := range w {
			if !known[r] {
				if i > start {
					words, freq = append(words, w[start:i]), append(freq, wordFreq[w])
				}
				start = i + utf8.RuneLen(r)
			}
		}
		if start < len(w) {
			words, freq = append(words, w[start:]), append(freq, wordFreq[w])
		}
	}
	return words, freq
}

// pieceScript returns the script of a candidate piece ("" when it has only
// ▁ and combining marks) and its length in characters, or "mixed" when the
// piece may not exist: ▁ after its start, or two scripts.
func pieceScript(s string) (script string, chars int) {
	for i, r := range s {
		chars++
		if r == '\u2581' {
			if i > 0 {
				script = "mixed"
			}
			continue
		}
		sc := scriptOf(r)
		if sc == "Inherited" || script == "mixed" {
			continue
		}
		if script != "" && script != sc {
			script = "mixed"
			continue
		}
		script = sc
	}
	return script, chars
}

func newBPETrainer(words []string, freq []int64, chars []rune, maxLen int) *bpeTrainer {
	t := &bpeTrainer{symbolID: map[string]int32{}, pairFreq: map[[2]int32]int64{}, pairAt: map[[2]int32][]int32{}, maxLen: maxLen, freq: freq}
	for _, c := range chars {
		t.intern(string(c))
	}
	for _, w := range words {
		seq := make([]int32, 0, len(w))
		for _, r := range w {
			seq = append(seq, t.symbolID[string(r)])
		}
		t.words = append(t.words, seq)
	}
	t.stamp = make([]int, len(t.words))
	for i := range t.words {
		t.countWord(int32(i), +1)
	}
	for p := range t.pairFreq {
		t.push(p)
	}
	return t
}

func (t *bpeTrainer) intern(s string) int32 {
	if id, ok := t.symbolID[s]; ok {
		return id
	}
	id := int32(len(t.symbols))
	t.symbols = append(t.symbols, s)
	t.symbolID[s] = id
	script, n := pieceScript(s)
	t.script = append(t.script, script)
	t.length = append(t.length, n)
	return id
}

// mergeable says whether a and b may form a piece.
func (t *bpeTrainer) mergeable(a, b int32) bool {
	if t.length[a]+t.length[b] > t.maxLen || t.script[a] == "mixed" || t.script[b] == "mixed" {
		return false
	}
	if strings.HasPrefix(t.symbols[b], spaceSymbol) {
		return false
	}
	sa, sb := t.script[a], t.script[b]
	return sa == "" || sb == "" || sa == sb
}

// countWord adds (sign +1) or removes (-1) the pairs of word w.
func (t *bpeTrainer) countWord(w int32, sign int64) {
	seq := t.words[w]
	for i := 1; i < len(seq); i++ {
		p := [2]int32{seq[i-1], seq[i]}
		if !t.mergeable(p[0], p[1]) {
			continue
		}
		t.pairFreq[p] += sign * t.freq[w]
		if sign > 0 {
			t.pairAt[p] = append(t.pairAt[p], w)
		}
	}
}

func (t *bpeTrainer) push(p [2]int32) {
	f := t.pairFreq[p]
	if f <= 0 {
		return
	}
	heap.Push(&t.queue, queued{pair: p, freq: f, length: t.length[p[0]] + t.length[p[1]], left: t.symbols[p[0]], right: t.symbols[p[1]]})
}

// run performs up to n merges that create new pieces and returns the new
// pieces in order.
func (t *bpeTrainer) run(n int) []string {
	var out []string
	have := map[string]bool{}
	for _, s := range t.symbols {
		have[s] = true
	}
	for merge := 1; len(out) < n && t.queue.Len() > 0; merge++ {
		top := heap.Pop(&t.queue).(queued)
		if t.pairFreq[top.pair] != top.freq {
			continue // stale entry
		}
		a, b := top.pair[0], top.pair[1]
		merged := t.intern(t.symbols[a] + t.symbols[b])
		if !have[t.symbols[merged]] {
			have[t.symbols[merged]] = true
			out = append(out, t.symbols[merged])
		}
		changed := map[[2]int32]bool{}
		for _, w := range t.pairAt[top.pair] {
			if t.stamp[w] == merge {
				continue
			}
			t.stamp[w] = merge
			seq := t.words[w]
			if !containsPair(seq, a, b) {
				continue
			}
			t.countWordChanged(w, -1, changed)
			next := seq[:0]
			for i := 0; i < len(seq); i++ {
				if i+1 < len(seq) && seq[i] == a && seq[i+1] == b {
					next = append(next, merged)
					i++
				} else {
					next = append(next, seq[i])
				}
			}
			t.words[w] = next
			t.countWordChanged(w, +1, changed)
		}
		delete(t.pairAt, top.pair)
		delete(t.pairFreq, top.pair)
		for p := range changed {
			if p != top.pair {
				t.push(p)
			}
		}
	}
	return out
}

// countWordChanged is countWord that also records the pairs it touched.
func (t *bpeTrainer) countWordChanged(w int32, sign int64, changed map[[2]int32]bool) {
	seq := t.words[w]
	for i := 1; i < len(seq); i++ {
		changed[[2]int32{seq[i-1], seq[i]}] = true
	}
	t.countWord(w, sign)
}

func containsPair(seq []int32, a, b int32) bool {
	for i := 1; i < len(seq); i++ {
		if seq[i-1] == a && seq[i] == b {
			return true
		}
	}
	return false
}

// queued is a heap entry: a pair with the frequency it had when pushed.
type queued struct {
	pair        [2]int32
	freq        int64
	length      int
	left, right string
}

// pairQueue pops the most frequent pair; ties go to the shorter piece, then
// to the smaller piece in byte order, then to the smaller left part.
type pairQueue []queued

func (q pairQueue) Len() int { return len(q) }
func (q pairQueue) Less(i, j int) bool {
	a, b := q[i], q[j]
	if a.freq != b.freq {
		return a.freq > b.freq
	}
	if a.length != b.length {
		return a.length < b.length
	}
	if c := strings.Compare(a.left+a.right, b.left+b.right); c != 0 {
		return c < 0
	}
	return a.left < b.left
}
func (q pairQueue) Swap(i, j int) { q[i], q[j] = q[j], q[i] }
func (q *pairQueue) Push(x any)   { *q = append(*q, x.(queued)) }
func (q *pairQueue) Pop() any {
	old := *q
	x := old[len(old)-1]
	*q = old[:len(old)-1]
	return x
}
