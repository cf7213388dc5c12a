package train

import (
	"fmt"
	"math/rand/v2"
	"testing"

	"github.com/deen-mt/deen/gpt"
	"github.com/deen-mt/deen/modelfile"
	"github.com/deen-mt/deen/nn/nntest"
)

// BenchmarkTrainStep times one forward+backward+AdamW step of the default
// model on a batch of random ids shaped like Tatoeba (12 tokens a side,
// about 4000 tokens), and reports target tokens per second, per CPU-second
// (stable on a busy machine), and the GFLOPS of the matrix products
// (6 FLOPs per weight per token for forward + backward, plus attention).
func BenchmarkTrainStep(b *testing.B) {
	for _, reps := range []int{1, 2} {
		b.Run(fmt.Sprintf("replicas=%d", reps), func(b *testing.B) { benchStep(b, reps) })
	}
}

func benchStep(b *testing.B, reps int) {
	o := DefaultOptions()
	cfg := o.Config(o.Vocab)
	m, err := NewModel(cfg, 1)
	if err != nil {
		b.Fatal(err)
	}
	m.Dropout, m.Smoothing = float32(o.Dropout), float32(o.Smoothing)
	if err := m.SetReplicas(reps); err != nil {
		b.Fatal(err)
	}
	r := rand.New(rand.NewPCG(1, 1))
	ex, idx := benchExamples(r, cfg.VocabSize, true)
	var batch Batch
	MakeBatch(&batch, ex, idx, int32(cfg.DecoderStartID))
	flops := stepFLOPs(cfg, &batch)
	tokens, cpu := timeSteps(b, m, o, ex, idx, r, 1, 1e-3)
	b.ReportMetric(float64(tokens)/b.Elapsed().Seconds(), "tgt-tok/s")
	b.ReportMetric(float64(tokens)/cpu, "tgt-tok/cpu-s")
	b.ReportMetric(flops*float64(b.N)/b.Elapsed().Seconds()/1e9, "GFLOPS")
	b.ReportMetric(flops*float64(b.N)/cpu/1e9, "GFLOPS/cpu-s")
}

// timeSteps resets b's timer and runs b.N training steps of m on the
// examples idx of ex (gradients clipped to norm clip, then an AdamW update
// with o's settings at learning rate lr), returning the tokens the steps
// counted and the CPU seconds they took.
func timeSteps(b *testing.B, m net, o Options, ex []Example, idx []int, r *rand.Rand, clip, lr float64) (tokens int, cpu float64) {
	adam := NewAdamW(len(m.params().W), o.Beta1, o.Beta2, o.AdamEps, o.WeightDecay)
	b.ResetTimer()
	cpu0 := nntest.CPUTime()
	for i := 0; i < b.N; i++ {
		_, n, err := m.Step(ex, idx, r)
		if err != nil {
			b.Fatal(err)
		}
		m.params().ClipGrad(clip)
		adam.Step(m.params(), lr)
		tokens += n
	}
	return tokens, (nntest.CPUTime() - cpu0).Seconds()
}

// stepFLOPs counts the multiply-adds ×2 of the matrix products of one
// training step (forward 1×, backward 2×).
func stepFLOPs(c modelfile.Config, b *Batch) float64 {
	d := float64(c.DModel)
	ns, nt := float64(len(b.Src)), float64(len(b.TgtIn))
	var attn float64 // q·kᵀ and p·v per sentence, forward
	for i := range b.SrcLen {
		s, t := float64(b.SrcLen[i]), float64(b.TgtLen[i])
		attn += float64(c.EncoderLayers)*2*s*s*d + float64(c.DecoderLayers)*2*(t*t*d+t*s*d)
	}
	enc := ns * float64(c.EncoderLayers) * (4*d*d + 2*d*float64(c.EncoderFFN))
	dec := nt*float64(c.DecoderLayers)*(6*d*d+2*d*float64(c.DecoderFFN)) + ns*float64(c.DecoderLayers)*2*d*d
	out := nt * d * float64(c.VocabSize)
	return 2 * 3 * (enc + dec + out + attn)
}

// benchExamples returns about 4000 tokens of random 12-token sentences
// (11 ids and the end id) on the target side and, with src, on the source
// side, and the indices of all of them (one batch).
func benchExamples(r *rand.Rand, vocab int, src bool) ([]Example, []int) {
	var ex []Example
	var idx []int
	for len(ex)*12 < 4000 {
		e := Example{}
		for i := 0; i < 11; i++ {
			if src {
				e.Src = append(e.Src, int32(2+r.IntN(vocab-3)))
			}
			e.Tgt = append(e.Tgt, int32(2+r.IntN(vocab-3)))
		}
		if src {
			e.Src = append(e.Src, 0)
		}
		e.Tgt = append(e.Tgt, 0)
		idx = append(idx, len(ex))
		ex = append(ex, e)
	}
	return ex, idx
}

// BenchmarkLMStep times one step of the default language model
// (DefaultLMOptions over an 8,000-piece vocabulary, 2 replicas) on about
// 4000 tokens of Tatoeba-length sentences, and reports tokens per second
// and per CPU-second: the figure that sets the real run's --max-steps
// (docs/gpt.md).
func BenchmarkLMStep(b *testing.B) {
	o := DefaultLMOptions()
	m, err := NewLM(gpt.NewConfig(8000, o.DModel, o.DecoderLayers, o.Heads, o.MaxLen, false), 1)
	if err != nil {
		b.Fatal(err)
	}
	m.Dropout = float32(o.Dropout)
	if err := m.SetReplicas(o.Replicas); err != nil {
		b.Fatal(err)
	}
	r := rand.New(rand.NewPCG(1, 1))
	ex, idx := benchExamples(r, 8000, false)
	tokens, cpu := timeSteps(b, m, o, ex, idx, r, o.Clip, o.LR)
	b.ReportMetric(float64(tokens)/b.Elapsed().Seconds(), "tok/s")
	b.ReportMetric(float64(tokens)/cpu, "tok/cpu-s")
}
