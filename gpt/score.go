package gpt

import (
	"fmt"

	"github.com/deen-mt/deen/nn"
)

// scoreRows bounds the rows (sequences × longest length) of one Forward
// inside Score, so the logits stay near rows·V floats.
const scoreRows = 1024

// Score returns the log-probability (natural log) of each sequence of ids
// followed by the end id, given the start id: log p(ids[0..], </s>) =
// Σ_t log softmax(logits_t)[next_t]. Sequence i makes len(seqs[i])+1
// predictions. Sequences are run in right-padded batches of up to
// scoreRows rows. An id outside the vocabulary or a sequence of more than
// BlockSize−1 ids is an error naming it.
func (g *Model) Score(seqs [][]int32, s *Scratch) ([]float64, error) {
	for i, ids := range seqs {
		if len(ids)+1 > g.embed.MaxPos {
			return nil, fmt.Errorf("gpt: sequence %d has %d tokens, the model reads at most %d (block size %d with the start id)", i, len(ids), g.embed.MaxPos-1, g.embed.MaxPos)
		}
		for _, id := range ids {
			if id < 0 || int(id) >= g.vocab {
				return nil, fmt.Errorf("gpt: sequence %d: id %d outside the vocabulary 0..%d", i, id, g.vocab-1)
			}
		}
	}
	out := make([]float64, len(seqs))
	var in []int32
	var lengths []int
	var lse []float32
	for lo := 0; lo < len(seqs); {
		hi, T := lo, 0
		for hi < len(seqs) && (hi == lo || (hi-lo+1)*max(T, len(seqs[hi])+1) <= scoreRows) {
			T = max(T, len(seqs[hi])+1)
			hi++
		}
		batch := hi - lo
		in, lengths = in[:0], lengths[:0]
		for _, ids := range seqs[lo:hi] {
			in = append(in, g.start)
			in = append(in, ids...)
			for k := len(ids) + 1; k < T; k++ {
				in = append(in, g.start) // padding, never read
			}
			lengths = append(lengths, len(ids)+1)
		}
		logits := g.Forward(in, batch, T, lengths, s)
		v := g.vocab
		for b, ids := range seqs[lo:hi] {
			var sum float64
			for t := 0; t <= len(ids); t++ {
				next := g.eos
				if t < len(ids) {
					next = ids[t]
				}
				row := logits[(b*T+t)*v : (b*T+t+1)*v]
				sum += float64(row[next] - nn.LogSumExp(row, nn.Resize(&lse, v))) // softmax over the vocabulary, in log form
			}
			out[lo+b] = sum
		}
		lo = hi
	}
	return out, nil
}
