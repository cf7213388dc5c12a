package decoder

import (
	"fmt"
	"math"
	"math/rand/v2"
	"strings"
	"testing"

	"github.com/deen-mt/deen/crossattn"
	"github.com/deen-mt/deen/internal/kernels"
	"github.com/deen-mt/deen/modelfile"
	"github.com/deen-mt/deen/nn/nntest"
)

// shapes are configs of other shapes than the oracle's.
func shapes() map[string]modelfile.Config {
	out := map[string]modelfile.Config{}
	c := nntest.Config()
	out["marian-swish"] = c
	c = nntest.Config()
	c.DModel, c.EncoderHeads, c.DecoderHeads, c.EncoderLayers, c.DecoderLayers = 32, 2, 8, 1, 3
	c.EncoderFFN, c.DecoderFFN, c.Activation, c.ScaleEmbedding = 20, 40, "relu", false
	out["relu-noscale"] = c
	c = nntest.Config()
	c.DModel, c.EncoderHeads, c.DecoderHeads, c.EncoderFFN, c.DecoderFFN = 24, 3, 6, 8, 64
	c.Activation, c.PreNorm, c.FinalLayerNorm, c.Positions = "gelu", true, true, modelfile.PositionsLearned
	out["gelu-prenorm-learned"] = c
	c = nntest.Config()
	c.DModel, c.DecoderHeads, c.DecoderLayers = 12, 1, 1
	c.Positions = modelfile.PositionsInterleaved
	out["interleaved-1head"] = c
	return out
}

// fixture is a random model with a random padded memory of three sentences.
type fixture struct {
	c       modelfile.Config
	m       *modelfile.Model
	dec     *Decoder
	mem     []float32 // [3·seqLen·d]
	seqLen  int
	lengths []int
	memory  *crossattn.Memory
	rng     *rand.Rand
}

func newFixture(t *testing.T, c modelfile.Config, seed uint64) *fixture {
	t.Helper()
	f := &fixture{c: c, m: nntest.RandomModel(c, seed), seqLen: 6, lengths: []int{6, 2, 4}}
	var err error
	if f.dec, err = New(f.m); err != nil {
		t.Fatal(err)
	}
	f.rng = rand.New(rand.NewPCG(seed, 99))
	f.mem = make([]float32, len(f.lengths)*f.seqLen*c.DModel)
	for i := range f.mem {
		f.mem[i] = f.rng.Float32()*2 - 1
	}
	f.memory = f.dec.CrossAttn().Memory(f.mem, len(f.lengths), f.seqLen, f.lengths)
	return f
}

// sentenceMemory returns sentence b's real memory rows, alone.
func (f *fixture) sentenceMemory(b int) []float32 {
	d := f.c.DModel
	return f.mem[b*f.seqLen*d : (b*f.seqLen+f.lengths[b])*d]
}

func (f *fixture) ids(n int) []int32 {
	ids := make([]int32, n)
	for i := range ids {
		ids[i] = int32(f.rng.IntN(f.c.VocabSize))
	}
	return ids
}

// forwardAlone is the teacher-forced logits of ids over sentence b alone.
func (f *fixture) forwardAlone(b int, ids []int32) []float32 {
	mem := f.dec.CrossAttn().Memory(f.sentenceMemory(b), 1, f.lengths[b], nil)
	return f.dec.Forward(mem, ids, 1, len(ids), nil)
}

func TestForwardAgainstFloat64Reference(t *testing.T) {
	for name, c := range shapes() {
		t.Run(name, func(t *testing.T) {
			f := newFixture(t, c, 1)
			ref := &nntest.Ref{M: f.m, C: c}
			tgtLen, tgtLens := 7, []int{7, 3, 5}
			ids := f.ids(3 * tgtLen)
			logits := f.dec.Forward(f.memory, ids, 3, tgtLen, tgtLens)
			v, d := c.VocabSize, c.DModel
			for b, n := range tgtLens {
				mem := make(nntest.Matrix, f.lengths[b])
				for i := range mem {
					mem[i] = make([]float64, d)
					for j := range mem[i] {
						mem[i][j] = float64(f.mem[(b*f.seqLen+i)*d+j])
					}
				}
				want := ref.Decode(mem, ids[b*tgtLen:b*tgtLen+n])
				if diff, i, j := nntest.MaxDiff(logits[b*tgtLen*v:], want); diff > 1e-4 {
					t.Errorf("sequence %d: max |Δ| %g at [%d][%d]", b, diff, i, j)
				}
			}
		})
	}
}

// maxAbs returns max |a[i]−b[i]|, +Inf for a NaN.
func maxAbs(a, b []float32) float64 {
	var m float64
	for i := range a {
		d := math.Abs(float64(a[i]) - float64(b[i]))
		if math.IsNaN(d) {
			return math.Inf(1)
		}
		m = max(m, d)
	}
	return m
}

func TestStepMatchesForward(t *testing.T) {
	for name, c := range shapes() {
		t.Run(name, func(t *testing.T) {
			f := newFixture(t, c, 2)
			sentence := []int{0, 0, 1, 2, 2, 1}
			steps := 9
			hist := make([][]int32, len(sentence))
			for r := range hist {
				hist[r] = f.ids(steps)
			}
			s := f.dec.NewState(f.memory, sentence, 4) // fewer than steps: the cache grows
			v := c.VocabSize
			logits := make([]float32, len(sentence)*v)
			tokens := make([]int32, len(sentence))
			for step := 0; step < steps; step++ {
				for r := range tokens {
					tokens[r] = hist[r][step]
				}
				f.dec.Step(s, tokens, logits)
				if s.Len() != step+1 || s.Rows() != len(sentence) {
					t.Fatalf("Len %d Rows %d after step %d", s.Len(), s.Rows(), step)
				}
				for r, b := range sentence {
					want := f.forwardAlone(b, hist[r][:step+1])[step*v:]
					if diff := maxAbs(logits[r*v:(r+1)*v], want); diff > 1e-4 {
						t.Fatalf("step %d row %d: Step vs Forward max |Δ| %g", step, r, diff)
					}
				}
			}
		})
	}
}

// After random reorders (rows dropped, duplicated, moved across sentences'
// order), each row's logits equal a recomputation over its own history.
func TestReorderMatchesRecomputation(t *testing.T) {
	for name, c := range shapes() {
		t.Run(name, func(t *testing.T) {
			f := newFixture(t, c, 3)
			sentence := []int{0, 0, 0, 1, 1, 2, 2, 2}
			hist := make([][]int32, len(sentence))
			s := f.dec.NewState(f.memory, sentence, 16)
			v := c.VocabSize
			logits := make([]float32, 16*v)
			for step := 0; step < 8; step++ {
				rows := s.Rows()
				tokens := f.ids(rows)
				for r := range tokens {
					hist[r] = append(hist[r], tokens[r])
				}
				f.dec.Step(s, tokens, logits)
				for r := 0; r < rows; r++ {
					want := f.forwardAlone(sentence[r], hist[r])[step*v:]
					if diff := maxAbs(logits[r*v:(r+1)*v], want); diff > 1e-4 {
						t.Fatalf("step %d row %d: Step vs recomputation max |Δ| %g", step, r, diff)
					}
				}
				// New rows: between 1 and 12 of them, random parents.
				parents := make([]int, 1+f.rng.IntN(12))
				newHist, newSent := make([][]int32, len(parents)), make([]int, len(parents))
				for i := range parents {
					p := f.rng.IntN(rows)
					parents[i] = p
					newHist[i] = append([]int32(nil), hist[p]...)
					newSent[i] = sentence[p]
				}
				s.Reorder(parents)
				hist, sentence = newHist, newSent
				if s.Rows() != len(parents) {
					t.Fatalf("Rows() = %d after Reorder of %d", s.Rows(), len(parents))
				}
			}
		})
	}
}

func TestStepAllocatesNothing(t *testing.T) {
	if raceEnabled {
		t.Skip("the race detector allocates: allocation counts are only meaningful without -race")
	}
	f := newFixture(t, shapes()["marian-swish"], 4)
	saved := kernels.Threads()
	defer kernels.SetThreads(saved)
	// 5 rows run serially; 64 rows on 2 threads are split (minParallelRows).
	many, manyParents := make([]int, 64), make([]int, 64)
	for r := range many {
		many[r], manyParents[r] = r/4%len(f.lengths), r/4*4+(r+1)%4
	}
	for _, c := range []struct {
		sentence, parents []int
		threads           int
	}{{[]int{0, 0, 1, 1, 2}, []int{1, 0, 2, 2, 4}, 1}, {many, manyParents, 2}} {
		kernels.SetThreads(c.threads)
		for _, p := range []Precision{Float32, Float16, Int8} {
			dec, err := New(f.m, WithWeights(p))
			if err != nil {
				t.Fatal(err)
			}
			s := dec.NewState(f.memory, c.sentence, 40)
			logits := make([]float32, len(c.sentence)*f.c.VocabSize)
			tokens := f.ids(len(c.sentence))
			dec.Step(s, tokens, logits)
			s.Reorder(c.parents)
			dec.Step(s, tokens, logits)
			allocs := testing.AllocsPerRun(20, func() {
				s.Reorder(c.parents)
				dec.Step(s, tokens, logits)
			})
			if allocs != 0 {
				t.Errorf("%v, %d rows, %d threads: Step+Reorder allocates %g times per call after warm-up", p, len(c.sentence), c.threads, allocs)
			}
		}
	}
}

func TestNewErrorsAndOptionalBias(t *testing.T) {
	c := nntest.Config()
	m := nntest.RandomModel(c, 5)
	delete(m.Tensors, "dec.1.cross_ln.bias")
	if _, err := New(m); err == nil || !strings.Contains(err.Error(), `"dec.1.cross_ln.bias"`) || !strings.HasPrefix(err.Error(), "decoder: ") {
		t.Errorf("missing tensor: error %v", err)
	}
	m = nntest.RandomModel(c, 5)
	m.Tensors["final_logits_bias"].Shape = []int{1, c.VocabSize}
	if _, err := New(m); err == nil || !strings.Contains(err.Error(), "final_logits_bias") {
		t.Errorf("misshaped bias: error %v", err)
	}
	// Without final_logits_bias the logits are those of a zero bias.
	m = nntest.RandomModel(c, 5)
	with, err := New(m)
	if err != nil {
		t.Fatal(err)
	}
	clear(m.Tensors["final_logits_bias"].Data)
	zero := with.Forward(with.CrossAttn().Memory(make([]float32, 3*c.DModel), 1, 3, nil), []int32{5, 7}, 1, 2, nil)
	delete(m.Tensors, "final_logits_bias")
	without, err := New(m)
	if err != nil {
		t.Fatal(err)
	}
	got := without.Forward(without.CrossAttn().Memory(make([]float32, 3*c.DModel), 1, 3, nil), []int32{5, 7}, 1, 2, nil)
	if diff := maxAbs(got, zero); diff != 0 {
		t.Errorf("absent bias differs from a zero bias by %g", diff)
	}
	if without.VocabSize() != c.VocabSize || without.MaxLen() != c.MaxPositions {
		t.Errorf("VocabSize %d MaxLen %d", without.VocabSize(), without.MaxLen())
	}
}

// BenchmarkDecoderStep runs decoder steps over 32-token sources with an
// opus-mt-sized random model, for 1 and 16 rows (hypotheses) and each weight
// precision, restarting the state every 32 steps, and reports generated
// tokens per second.
func BenchmarkDecoderStep(b *testing.B) {
	c := nntest.OpusMTConfig()
	m := nntest.RandomModel(c, 1)
	const srcLen, steps = 32, 32
	rng := rand.New(rand.NewPCG(1, 2))
	for _, p := range []Precision{Float32, Float16, Int8} {
		dec, err := New(m, WithWeights(p))
		if err != nil {
			b.Fatal(err)
		}
		for _, rows := range []int{1, 16} {
			b.Run(fmt.Sprintf("%v/rows%d", p, rows), func(b *testing.B) {
				enc := make([]float32, rows*srcLen*c.DModel)
				for i := range enc {
					enc[i] = rng.Float32()*2 - 1
				}
				mem := dec.CrossAttn().Memory(enc, rows, srcLen, nil)
				sentence := make([]int, rows)
				for r := range sentence {
					sentence[r] = r
				}
				tokens := make([]int32, rows)
				for r := range tokens {
					tokens[r] = int32(rng.IntN(c.VocabSize))
				}
				logits := make([]float32, rows*c.VocabSize)
				s := dec.NewState(mem, sentence, steps)
				cpu0 := nntest.CPUTime()
				b.ResetTimer()
				for b.Loop() {
					if s.Len() == steps {
						s = dec.NewState(mem, sentence, steps)
					}
					dec.Step(s, tokens, logits)
				}
				b.ReportMetric(float64(b.N*rows)/b.Elapsed().Seconds(), "tokens/s")
				if cpu := (nntest.CPUTime() - cpu0).Seconds(); cpu > 0 {
					b.ReportMetric(float64(b.N*rows)/cpu, "tokens/cpu-s")
				}
			})
		}
	}
}

// TestThreadsSameBits checks that splitting a step's 64 rows (self-attention
// over the cache, cross-attention by runs of one sentence) and a
// teacher-forced batch's cross-attention and alignment over two threads
// gives the bits of one thread. Run it with -race too.
func TestThreadsSameBits(t *testing.T) {
	f := newFixture(t, shapes()["marian-swish"], 6)
	saved := kernels.Threads()
	defer kernels.SetThreads(saved)
	sentence := make([]int, 64)
	parents := make([]int, 64)
	for r := range sentence {
		sentence[r] = r / 4 % len(f.lengths)
		parents[r] = r/4*4 + (r+1)%4 // stay within the sentence's run
	}
	tokens := f.ids(len(sentence))
	ids := f.ids(len(f.lengths) * 8)
	for _, p := range []Precision{Float32, Int8} {
		dec, err := New(f.m, WithWeights(p))
		if err != nil {
			t.Fatal(err)
		}
		run := func(threads int) (steps, align []float32) {
			kernels.SetThreads(threads)
			s := dec.NewState(f.memory, sentence, 8)
			logits := make([]float32, len(sentence)*f.c.VocabSize)
			for range 3 {
				dec.Step(s, tokens, logits)
				steps = append(steps, logits...)
				s.Reorder(parents)
			}
			return steps, dec.Alignment(f.memory, ids, len(f.lengths), 8, nil)
		}
		steps1, align1 := run(1)
		steps2, align2 := run(2)
		for i := range steps1 {
			if math.Float32bits(steps1[i]) != math.Float32bits(steps2[i]) {
				t.Fatalf("%v: step logit %d: %g with 1 thread, %g with 2", p, i, steps1[i], steps2[i])
			}
		}
		for i := range align1 {
			if math.Float32bits(align1[i]) != math.Float32bits(align2[i]) {
				t.Fatalf("%v: alignment %d: %g with 1 thread, %g with 2", p, i, align1[i], align2[i])
			}
		}
	}
}
