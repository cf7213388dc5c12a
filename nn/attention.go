package nn

import (
	"fmt"
	"math"

	"github.com/deen-mt/deen/internal/kernels"
)

// MaskValue is the additive mask of a hidden attention score: float32's
// most negative finite value, as Hugging Face uses (not −Inf). A query whose
// keys are all hidden therefore attends uniformly to all of them.
const MaskValue float32 = -math.MaxFloat32

// AttentionScale returns head_dim^-0.5, the factor of the scores q·kᵀ.
func AttentionScale(headDim int) float32 { return float32(math.Pow(float64(headDim), -0.5)) }

// Visible returns how many leading keys of tk query i (of tq) may attend to:
// keys j < keyLen, and with causal also j <= i + tk − tq (the queries are
// the last tq positions of the keys).
func Visible(i, tq, tk, keyLen int, causal bool) int {
	n := min(keyLen, tk)
	if causal {
		n = min(n, i+tk-tq+1)
	}
	return max(n, 0)
}

// AttentionForward is multi-head scaled dot-product attention for one
// sequence: for each head h (columns h·hd..(h+1)·hd of d, hd = d/heads),
// out_h = softmax(q_h·k_hᵀ·hd^-0.5 + mask)·v_h, with q, out [tq·d] and k, v
// [tk·d] row-major. Keys j >= keyLen are masked (source padding), and with
// causal also keys after the query (see Visible). probs [heads·tq·tk]
// receives the attention weights (kept for AttentionBackward). Two Gemms per
// head.
func AttentionForward(out, probs, q, k, v []float32, tq, tk, d, heads, keyLen int, causal bool) {
	checkAttention("AttentionForward", q, k, v, probs, tq, tk, d, heads)
	need("AttentionForward", "out", out, tq*d)
	hd := d / heads
	scale := AttentionScale(hd)
	for h := 0; h < heads; h++ {
		p := probs[h*tq*tk : (h+1)*tq*tk]
		kernels.Gemm(false, true, tq, tk, hd, scale, q[h*hd:], d, k[h*hd:], d, 0, p, tk)
		for i := 0; i < tq; i++ {
			row := p[i*tk : (i+1)*tk]
			n := Visible(i, tq, tk, keyLen, causal)
			if n == 0 {
				for j := range row {
					row[j] = 1 / float32(tk)
				}
				continue
			}
			SoftmaxRow(row[:n])
			clear(row[n:])
		}
		kernels.Gemm(false, false, tq, hd, tk, 1, p, tk, v[h*hd:], d, 0, out[h*hd:], d)
	}
}

// AttentionBackward adds the gradients of AttentionForward to dq [tq·d],
// dk and dv [tk·d] from dout [tq·d], given the forward inputs and probs.
// scratch needs tq·tk values. Masked scores get no gradient (their weight is
// zero); a query with no visible key passes none.
func AttentionBackward(dq, dk, dv, dout, q, k, v, probs, scratch []float32, tq, tk, d, heads int) {
	checkAttention("AttentionBackward", q, k, v, probs, tq, tk, d, heads)
	need("AttentionBackward", "dout", dout, tq*d)
	need("AttentionBackward", "scratch", scratch, tq*tk)
	hd := d / heads
	scale := AttentionScale(hd)
	ds := scratch[:tq*tk]
	for h := 0; h < heads; h++ {
		p := probs[h*tq*tk : (h+1)*tq*tk]
		kernels.Gemm(true, false, tk, hd, tq, 1, p, tk, dout[h*hd:], d, 1, dv[h*hd:], d)
		kernels.Gemm(false, true, tq, tk, hd, 1, dout[h*hd:], d, v[h*hd:], d, 0, ds, tk)
		for i := 0; i < tq; i++ {
			pr, gr := p[i*tk:(i+1)*tk], ds[i*tk:(i+1)*tk]
			s := kernels.Dot(pr, gr)
			for j := range gr {
				gr[j] = pr[j] * (gr[j] - s)
			}
		}
		kernels.Gemm(false, false, tq, hd, tk, scale, ds, tk, k[h*hd:], d, 1, dq[h*hd:], d)
		kernels.Gemm(true, false, tk, hd, tq, scale, ds, tk, q[h*hd:], d, 1, dk[h*hd:], d)
	}
}

// AttentionGather is AttentionForward for a single query q [d] whose keys
// and values are rows scattered in k and v: key j starts at k[offs[j]] and
// v[offs[j]] (all visible, in position order). It lets an incremental
// decoder attend over a cache without gathering it. scores needs
// (heads+1)·len(offs) values.
//
// Each key's and value's row is read once for all heads
// (kernels.DotHeads, kernels.AxpyHeads); the result has the bits of one
// Dot and one Axpy per head and key, heads in turn.
func AttentionGather(out, q, k, v []float32, offs []int, d, heads int, scores []float32) {
	if heads <= 0 || d%heads != 0 {
		panic(fmt.Sprintf("nn: AttentionGather: d %d not divisible by heads %d", d, heads))
	}
	n := len(offs)
	need("AttentionGather", "scores", scores, (heads+1)*n)
	hd := d / heads
	scale := AttentionScale(hd)
	// p[j·heads+h] is head h's score, then probability, of key j; col
	// holds one head's scores for SoftmaxRow.
	p, col := scores[:heads*n], scores[heads*n:(heads+1)*n]
	for j, off := range offs {
		pj := p[j*heads : (j+1)*heads]
		kernels.DotHeads(q, k[off:off+d], hd, pj)
		for h := range pj {
			pj[h] *= scale
		}
	}
	for h := range heads {
		for j := range col {
			col[j] = p[j*heads+h]
		}
		SoftmaxRow(col)
		for j, c := range col {
			p[j*heads+h] = c
		}
	}
	clear(out[:d])
	for j, off := range offs {
		kernels.AxpyHeads(p[j*heads:(j+1)*heads], v[off:off+d], hd, out)
	}
}

func checkAttention(op string, q, k, v, probs []float32, tq, tk, d, heads int) {
	if heads <= 0 || d%heads != 0 {
		panic(fmt.Sprintf("nn: %s: d %d not divisible by heads %d", op, d, heads))
	}
	need(op, "q", q, tq*d)
	need(op, "k", k, tk*d)
	need(op, "v", v, tk*d)
	need(op, "probs", probs, heads*tq*tk)
}
