package bpe

import "sort"

// pieceTrie is a byte trie over vocabulary pieces. The root has a direct
// 256-way table; other nodes keep their children as a sorted run of labels in
// one flat array. It is built once and then only read, so it is safe for
// concurrent use.
type pieceTrie struct {
	root   [256]int32 // child of the root per first byte, 0 = none
	value  []int32    // per node: piece id, or -1
	start  []int32    // per node: first child in labels/child
	count  []int32    // per node: number of children
	labels []byte
	child  []int32
}

// newPieceTrie builds the trie of keys (which must be distinct) mapping to
// the given ids.
func newPieceTrie(keys []string, ids []int32) *pieceTrie {
	order := make([]int, len(keys))
	for i := range order {
		order[i] = i
	}
	sort.Slice(order, func(a, b int) bool { return keys[order[a]] < keys[order[b]] })
	t := &pieceTrie{}
	// Node 0 is the root. Build breadth-first over the sorted keys: each
	// node covers a contiguous range of sorted keys sharing its prefix.
	type span struct {
		node, depth, lo, hi int
	}
	t.value = append(t.value, -1)
	t.start = append(t.start, 0)
	t.count = append(t.count, 0)
	queue := []span{{0, 0, 0, len(order)}}
	for len(queue) > 0 {
		s := queue[0]
		queue = queue[1:]
		lo := s.lo
		if lo < s.hi && len(keys[order[lo]]) == s.depth {
			t.value[s.node] = ids[order[lo]]
			lo++
		}
		t.start[s.node] = int32(len(t.labels))
		for lo < s.hi {
			c := keys[order[lo]][s.depth]
			hi := lo
			for hi < s.hi && keys[order[hi]][s.depth] == c {
				hi++
			}
			id := int32(len(t.value))
			t.value = append(t.value, -1)
			t.start = append(t.start, 0)
			t.count = append(t.count, 0)
			t.labels = append(t.labels, c)
			t.child = append(t.child, id)
			t.count[s.node]++
			if s.node == 0 {
				t.root[c] = id
			}
			queue = append(queue, span{int(id), s.depth + 1, lo, hi})
			lo = hi
		}
	}
	return t
}

// step follows the edge labelled c from node, returning 0 when there is none.
func (t *pieceTrie) step(node int32, c byte) int32 {
	if node == 0 {
		return t.root[c]
	}
	lo, n := t.start[node], t.count[node]
	labels := t.labels[lo : lo+n]
	if n <= 8 {
		for i, l := range labels {
			if l == c {
				return t.child[lo+int32(i)]
			}
			if l > c {
				return 0
			}
		}
		return 0
	}
	i := sort.Search(int(n), func(i int) bool { return labels[i] >= c })
	if i < int(n) && labels[i] == c {
		return t.child[lo+int32(i)]
	}
	return 0
}

// longestMatch returns the length of the longest key that is a prefix of s,
// or 0.
func (t *pieceTrie) longestMatch(s string) int {
	best := 0
	node := int32(0)
	for i := 0; i < len(s); i++ {
		if node = t.step(node, s[i]); node == 0 {
			break
		}
		if t.value[node] >= 0 {
			best = i + 1
		}
	}
	return best
}
