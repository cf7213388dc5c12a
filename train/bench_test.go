package train

import (
	"math/rand/v2"
	"testing"
)

// BenchmarkTrainStep times one forward+backward+AdamW step of the default
// model on a batch of random ids shaped like Tatoeba (about 12 tokens a
// side, 4000 tokens), and reports target tokens per second.
func BenchmarkTrainStep(b *testing.B) {
	o := DefaultOptions()
	cfg := o.Config(o.Vocab)
	m, err := NewModel(cfg, 1)
	if err != nil {
		b.Fatal(err)
	}
	m.Dropout, m.Smoothing = float32(o.Dropout), float32(o.Smoothing)
	r := rand.New(rand.NewPCG(1, 1))
	var ex []Example
	for len(ex)*12 < 4000 {
		e := Example{}
		for i := 0; i < 11; i++ {
			e.Src = append(e.Src, int32(2+r.IntN(cfg.VocabSize-3)))
			e.Tgt = append(e.Tgt, int32(2+r.IntN(cfg.VocabSize-3)))
		}
		e.Src, e.Tgt = append(e.Src, 0), append(e.Tgt, 0)
		ex = append(ex, e)
	}
	idx := make([]int, len(ex))
	for i := range idx {
		idx[i] = i
	}
	var batch Batch
	MakeBatch(&batch, ex, idx, int32(cfg.DecoderStartID))
	adam := NewAdamW(len(m.Params.W), o.Beta1, o.Beta2, o.AdamEps, o.WeightDecay)
	b.ResetTimer()
	tokens := 0
	for i := 0; i < b.N; i++ {
		m.Params.ZeroGrad()
		_, n, err := m.Forward(&batch, r)
		if err != nil {
			b.Fatal(err)
		}
		m.Backward(&batch, 1/float32(n))
		m.Params.ClipGrad(1)
		adam.Step(m.Params, 1e-3)
		tokens += n
	}
	b.ReportMetric(float64(tokens)/b.Elapsed().Seconds(), "tgt-tok/s")
}
