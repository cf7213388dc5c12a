package kernels

import (
	"cmp"
	"fmt"
	"math"
	"slices"
)

// softmaxBlock is how many values SoftmaxTopK folds at a time: the block is
// read from memory once, then from L1.
const softmaxBlock = 256

// softmaxState is the running state of SoftmaxTopK in 16 lanes (the
// assembly's vector lanes; the Go versions use lane 0): m[l] is the largest
// value lane l has seen and s[l] the sum of exp(x−m[l]) over them.
type softmaxState struct {
	m, s [16]float32
}

// SoftmaxTopK computes the softmax normaliser of x and its top k in one
// pass over x: it returns m = max(x) and s = Σ exp(x[i]−m), so that
// log Σ exp(x) = m + log(s), and writes to idx the indices of the len(idx)
// largest values of x in descending order of value, ties broken by lower
// index first (exactly TopK's result). It needs len(idx) <= len(x) and
// len(x) >= 1.
//
// x is read in blocks of 256 values: a block's maximum is taken first and
// the running sums are rescaled when it grows (exp(old−new), once per
// block), then every value adds exp(x−m); only blocks whose maximum beats
// the current k-th best are scanned for the top k. s differs from
// ExpSub(x, Max(x)) by the order of summation and the rescaling, a few
// ulps per block. NaN values give unspecified results; m is ±Inf when x
// holds an infinity (s is then unspecified).
func SoftmaxTopK(x []float32, idx []int32) (m, s float32) {
	if len(x) == 0 || len(idx) > len(x) {
		panic(fmt.Sprintf("kernels: SoftmaxTopK with len(x)=%d, len(idx)=%d; need len(x) >= 1 and len(idx) <= len(x)", len(x), len(idx)))
	}
	var st softmaxState
	for l := range st.m {
		st.m[l] = float32(math.Inf(-1))
	}
	n, worst, add := 0, len(idx)-1, insertTop // worst: where the k-th best is once full
	if len(idx) >= heapTopMin {
		worst, add = 0, heapTop
	}
	for b0 := 0; b0 < len(x); b0 += softmaxBlock {
		blk := x[b0:min(b0+softmaxBlock, len(x))]
		bm := cur.maxExpSum(blk, &st)
		if len(idx) > 0 && (n < len(idx) || bm > x[idx[worst]]) {
			n = add(x, b0, len(blk), idx, n)
		}
	}
	if len(idx) >= heapTopMin {
		sortTop(x, idx)
	}
	m = st.m[0]
	for _, v := range st.m[1:] {
		m = max(m, v)
	}
	for l, v := range st.s {
		if v != 0 {
			s += v * exp32(st.m[l]-m)
		}
	}
	return m, s
}

// insertTop inserts the values x[b0:b0+count] into idx, the indices of the
// n (n <= len(idx)) largest values seen so far in descending order, ties to
// the lower index, and returns the new count: an insertion into a sorted
// list, skipping values that do not beat a full list's last entry.
func insertTop(x []float32, b0, count int, idx []int32, n int) int {
	k := len(idx)
	for i, v := range x[b0 : b0+count] {
		if n == k && !(v > x[idx[k-1]]) {
			continue
		}
		pos := min(n, k-1)
		for pos > 0 && v > x[idx[pos-1]] {
			idx[pos] = idx[pos-1]
			pos--
		}
		idx[pos] = int32(b0 + i)
		if n < k {
			n++
		}
	}
	return n
}

// heapTopMin is the list length from which SoftmaxTopK and TopK keep the
// top k in a heap (heapTop: O(log k) per value that enters) instead of a
// sorted list (insertTop: O(k) per value, faster for short lists). Beam
// search asks for 2·beams+8 entries per row, so beams above 12 take the
// heap and a row's cost stays near one pass over x at 128 beams.
const heapTopMin = 32

// heapTop is insertTop for long lists: idx[:n] is a binary heap whose root
// idx[0] is the worst entry (smallest value, higher index on ties); once
// full, a value enters only if it beats the root. sortTop puts the final
// heap in insertTop's order.
func heapTop(x []float32, b0, count int, idx []int32, n int) int {
	k := len(idx)
	worse := func(a, b int32) bool { return x[a] < x[b] || x[a] == x[b] && a > b }
	for i, v := range x[b0 : b0+count] {
		j := int32(b0 + i)
		if n < k { // filling: sift the new entry up
			c := n
			idx[c] = j
			n++
			for c > 0 {
				p := (c - 1) / 2
				if !worse(idx[c], idx[p]) {
					break
				}
				idx[c], idx[p] = idx[p], idx[c]
				c = p
			}
			continue
		}
		if !(v > x[idx[0]]) {
			continue
		}
		idx[0] = j
		for c := 0; ; { // sift the new root down
			l, m := 2*c+1, c
			if l < k && worse(idx[l], idx[m]) {
				m = l
			}
			if r := l + 1; r < k && worse(idx[r], idx[m]) {
				m = r
			}
			if m == c {
				break
			}
			idx[c], idx[m] = idx[m], idx[c]
			c = m
		}
	}
	return n
}

// sortTop orders idx by value descending, lower index first on ties.
func sortTop(x []float32, idx []int32) {
	slices.SortFunc(idx, func(a, b int32) int {
		if x[a] != x[b] {
			return cmp.Compare(x[b], x[a])
		}
		return cmp.Compare(a, b)
	})
}

// maxExpSumGeneric folds x (at most softmaxBlock values) into lane 0 of st
// and returns max(x) (−Inf for no values).
func maxExpSumGeneric(x []float32, st *softmaxState) float32 {
	return maxExpSumLane0(x, st, maxGeneric, expSubGeneric)
}

// maxExpSumLane0 is maxExpSumGeneric with the given max and exp kernels: the
// block is copied to the stack, its maximum taken, lane 0's sum rescaled if
// the maximum grew, and the block's exps added.
func maxExpSumLane0(x []float32, st *softmaxState, maxf func([]float32) float32,
	expSub func([]float32, float32) float32) float32 {
	if len(x) == 0 {
		return float32(math.Inf(-1))
	}
	var buf [softmaxBlock]float32
	b := buf[:copy(buf[:], x)]
	c := maxf(b)
	if c > st.m[0] {
		st.s[0] *= exp32(st.m[0] - c)
		st.m[0] = c
	}
	if !math.IsInf(float64(st.m[0]), -1) { // else every value is −Inf: exp 0
		st.s[0] += expSub(b, st.m[0])
	}
	return c
}
