package bpe

import (
	"encoding/binary"
	"errors"
	"fmt"
	"strings"
	"unicode/utf8"
)

// spaceSymbol is U+2581 LOWER ONE EIGHTH BLOCK, SentencePiece's visible space.
const spaceSymbol = "\u2581"

// dartsTrie is a read-only darts-clone double array (the format of
// SentencePiece's precompiled charsmap): 32-bit units, each holding a label,
// an offset and a has-leaf bit; a leaf unit holds a value.
type dartsTrie []uint32

func dartsHasLeaf(u uint32) bool  { return (u>>8)&1 == 1 }
func dartsValue(u uint32) int     { return int(u & (1<<31 - 1)) }
func dartsLabel(u uint32) uint32  { return u & (1<<31 | 0xFF) }
func dartsOffset(u uint32) uint32 { return (u >> 10) << ((u & (1 << 9)) >> 6) }

// longestPrefix returns the value and length of the longest key that is a
// prefix of s, or length 0 when there is none (darts commonPrefixSearch,
// keeping the last, i.e. longest, result). Out-of-range units, possible only
// in a damaged file, end the search.
func (t dartsTrie) longestPrefix(s string) (value, length int) {
	if len(t) == 0 {
		return 0, 0
	}
	pos := dartsOffset(t[0])
	for i := 0; i < len(s); i++ {
		pos ^= uint32(s[i])
		if int(pos) >= len(t) {
			return value, length
		}
		u := t[pos]
		if dartsLabel(u) != uint32(s[i]) {
			return value, length
		}
		pos ^= dartsOffset(u)
		if dartsHasLeaf(u) {
			if int(pos) >= len(t) {
				return value, length
			}
			value, length = dartsValue(t[pos]), i+1
		}
	}
	return value, length
}

// hasPath says whether the trie has a key starting with the bytes a, b.
func (t dartsTrie) hasPath(a, b byte) bool {
	if len(t) == 0 {
		return false
	}
	pos := dartsOffset(t[0])
	for _, c := range []byte{a, b} {
		pos ^= uint32(c)
		if int(pos) >= len(t) || dartsLabel(t[pos]) != uint32(c) {
			return false
		}
		pos ^= dartsOffset(t[pos])
	}
	return true
}

// normalizer applies a NormalizerSpec: the precompiled character map
// (leftmost-longest rewriting, e.g. nmt_nfkc), whitespace removal, the dummy
// prefix and the replacement of ' ' by ▁. It mirrors SentencePiece's
// normalizer.cc line by line; it holds no mutable state.
type normalizer struct {
	spec        NormalizerSpec
	trie        dartsTrie
	replacement string // NUL-terminated replacement strings the trie values point into
	userDefined *pieceTrie
	asSuffix    bool // TrainerSpec.treat_whitespace_as_suffix
	// ASCII fast path: ascii[b] is prefix() of the one-byte string b, valid
	// whenever asciiAlone[b] and the next byte is ASCII too (no rule
	// starts with b followed by an ASCII byte).
	ascii      [128]string
	asciiAlone [128]bool
}

func newNormalizer(spec NormalizerSpec, userDefined *pieceTrie, asSuffix bool) (*normalizer, error) {
	n := &normalizer{spec: spec, userDefined: userDefined, asSuffix: asSuffix}
	blob := spec.PrecompiledCharsmap
	if len(blob) == 0 {
		n.initASCII()
		return n, nil
	}
	if len(blob) <= 4 {
		return nil, errors.New("precompiled charsmap is broken: shorter than its header")
	}
	size := binary.LittleEndian.Uint32(blob)
	if uint64(size) >= uint64(len(blob)) || size%4 != 0 {
		return nil, fmt.Errorf("precompiled charsmap is broken: trie size %d does not fit the %d-byte blob", size, len(blob))
	}
	blob = blob[4:]
	n.trie = make(dartsTrie, size/4)
	for i := range n.trie {
		n.trie[i] = binary.LittleEndian.Uint32(blob[4*i:])
	}
	n.replacement = string(blob[size:])
	if !utf8.ValidString(n.replacement) {
		return nil, errors.New("precompiled charsmap is broken: replacement strings are not valid UTF-8")
	}
	n.initASCII()
	return n, nil
}

// initASCII fills the ASCII fast path.
func (n *normalizer) initASCII() {
	for b := range n.ascii {
		n.ascii[b], _ = n.prefix(string(rune(b)))
		n.asciiAlone[b] = n.userDefined == nil
		for c := 0; c < 0x80 && n.asciiAlone[b]; c++ {
			if n.trie.hasPath(byte(b), byte(c)) {
				n.asciiAlone[b] = false
			}
		}
	}
}

// prefix returns the normalised form of the first character (or rule match)
// of s and how many bytes of s it consumed (Normalizer::NormalizePrefix).
func (n *normalizer) prefix(s string) (string, int) {
	if n.userDefined != nil {
		if l := n.userDefined.longestMatch(s); l > 0 {
			return s[:l], l
		}
	}
	if v, l := n.trie.longestPrefix(s); l > 0 && v < len(n.replacement) {
		r := n.replacement[v:]
		if end := strings.IndexByte(r, 0); end >= 0 {
			r = r[:end]
		}
		return r, l
	}
	r, size := utf8.DecodeRuneInString(s)
	if r == utf8.RuneError && size <= 1 {
		return "\uFFFD", 1 // malformed byte: U+FFFD, one byte consumed
	}
	return s[:size], size
}

// normalize returns the normalised text and, for each byte of it plus one
// past the end, the byte offset in s it came from (appended to align[:0]).
func (n *normalizer) normalize(s string, align []int) (string, []int) {
	align = align[:0]
	if s == "" {
		return "", append(align, 0)
	}
	consumed := 0
	if n.spec.RemoveExtraWhitespaces {
		for s != "" {
			p, l := n.prefix(s)
			if p != " " {
				break
			}
			s = s[l:]
			consumed += l
		}
	}
	if s == "" {
		return "", append(align, consumed)
	}
	var out strings.Builder
	out.Grow(len(s) * 3)
	addWS := func() {
		if n.spec.EscapeWhitespaces {
			out.WriteString(spaceSymbol)
			align = append(align, consumed, consumed, consumed)
		} else {
			out.WriteByte(' ')
			align = append(align, consumed)
		}
	}
	if !n.asSuffix && n.spec.AddDummyPrefix {
		addWS()
	}
	prevSpace := n.spec.RemoveExtraWhitespaces
	for s != "" {
		var p string
		var l int
		if b := s[0]; b < 0x80 && n.asciiAlone[b] && (len(s) == 1 || s[1] < 0x80) {
			p, l = n.ascii[b], 1
		} else {
			p, l = n.prefix(s)
		}
		for prevSpace && strings.HasPrefix(p, " ") {
			p = p[1:]
		}
		if p != "" {
			for i := 0; i < len(p); i++ {
				if n.spec.EscapeWhitespaces && p[i] == ' ' {
					out.WriteString(spaceSymbol)
					align = append(align, consumed, consumed, consumed)
				} else {
					out.WriteByte(p[i])
					align = append(align, consumed)
				}
			}
			prevSpace = p[len(p)-1] == ' '
		}
		consumed += l
		s = s[l:]
		if !n.spec.RemoveExtraWhitespaces {
			prevSpace = false
		}
	}
	text := out.String()
	if n.spec.RemoveExtraWhitespaces {
		space := " "
		if n.spec.EscapeWhitespaces {
			space = spaceSymbol
		}
		for strings.HasSuffix(text, space) {
			l := len(text) - len(space)
			consumed = align[l]
			text, align = text[:l], align[:l]
		}
	}
	if n.asSuffix && n.spec.AddDummyPrefix {
		out.Reset()
		out.WriteString(text)
		addWS()
		text = out.String()
	}
	return text, append(align, consumed)
}
