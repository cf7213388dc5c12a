package translate

import (
	"fmt"
	"sort"

	"github.com/deen-mt/deen/bpe"
	"github.com/deen-mt/deen/gpt"
	"github.com/deen-mt/deen/modelfile"
)

// reranker reorders each sentence's n-best list by the translation score
// plus weight × the length-normalised log-probability of a GPT language
// model over the same target vocabulary.
type reranker struct {
	lm     *gpt.Model
	weight float32
}

// WithRerankLM reranks the n-best list of every sentence (beam search)
// with the language model file at path (made by translate lm train over
// this model's target vocabulary): each finished hypothesis h gets
// Score(h) + weight · log p_LM(h) / len(h), where Score is the
// translation score (Hugging Face sequences_scores) and len(h) counts its
// ids with the end id (the LM's predictions), and the best of that sum
// becomes the translation. Result.NBest is then in reranked order, each
// entry keeping its translation Score and its LM term in LM; Result.Score
// is the chosen hypothesis' translation score. Greedy search has one
// hypothesis and nothing to rerank. weight 0 turns reranking off.
func WithRerankLM(path string, weight float32) Option {
	return func(t *Translator) error {
		if weight == 0 {
			t.rerank = nil
			return nil
		}
		m, err := modelfile.ReadFile(path)
		if err != nil {
			return fmt.Errorf("rerank language model: %w", err)
		}
		lm, err := gpt.New(m)
		if err != nil {
			return fmt.Errorf("rerank language model %s: %w", path, err)
		}
		if err := sameVocabulary(t, lm, m.Blobs); err != nil {
			return fmt.Errorf("rerank language model %s: %w: %w", path, err, ErrInvalidOption)
		}
		t.rerank = &reranker{lm: lm, weight: weight}
		return nil
	}
}

// sameVocabulary checks that the language model reads the translator's
// target ids: same vocabulary size, end and start ids, and (when both
// have tokenizers) the same piece for every id.
func sameVocabulary(t *Translator, lm *gpt.Model, blobs map[string][]byte) error {
	c := lm.Config()
	if c.VocabSize != t.cfg.VocabSize || c.EOSID != t.cfg.EOSID || c.DecoderStartID != t.cfg.DecoderStartID {
		return fmt.Errorf("its vocabulary (%d ids, end %d, start %d) is not the translation model's (%d ids, end %d, start %d); train it with --vocab-from the translation model",
			c.VocabSize, c.EOSID, c.DecoderStartID, t.cfg.VocabSize, t.cfg.EOSID, t.cfg.DecoderStartID)
	}
	if t.tok == nil {
		return nil
	}
	tok, err := bpe.NewMarianFromBlobs(blobs)
	if err != nil {
		return fmt.Errorf("its tokenizer: %w", err)
	}
	for id := int32(0); int(id) < c.VocabSize; id++ {
		if tok.IDToPiece(id) != t.tok.IDToPiece(id) {
			return fmt.Errorf("id %d is %q to it but %q to the translation model; train it with --vocab-from the translation model", id, tok.IDToPiece(id), t.tok.IDToPiece(id))
		}
	}
	return nil
}

// apply reranks the n-best lists of res in place. Hypotheses longer than
// the language model's block keep an LM term of 0.
func (r *reranker) apply(res []Result, eos int32) error {
	var seqs [][]int32
	var where [][2]int
	for i := range res {
		if len(res[i].NBest) < 2 {
			continue
		}
		for j, h := range res[i].NBest {
			ids := h.IDs
			if n := len(ids); n > 0 && ids[n-1] == eos {
				ids = ids[:n-1]
			}
			if len(ids)+1 >= r.lm.BlockSize() {
				continue
			}
			seqs, where = append(seqs, ids), append(where, [2]int{i, j})
		}
	}
	if len(seqs) == 0 {
		return nil
	}
	var sc gpt.Scratch
	lps, err := r.lm.Score(seqs, &sc)
	if err != nil {
		return fmt.Errorf("rerank: %w", err)
	}
	for k, w := range where {
		res[w[0]].NBest[w[1]].LM = float32(lps[k] / float64(len(seqs[k])+1))
	}
	for i := range res {
		nb := res[i].NBest
		if len(nb) < 2 {
			continue
		}
		sort.SliceStable(nb, func(a, b int) bool {
			return nb[a].Score+r.weight*nb[a].LM > nb[b].Score+r.weight*nb[b].LM
		})
		res[i].IDs, res[i].Score = nb[0].IDs, nb[0].Score
	}
	return nil
}
