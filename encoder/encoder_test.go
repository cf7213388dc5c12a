package encoder

import (
	"fmt"
	"math"
	"math/rand/v2"
	"slices"
	"strings"
	"testing"

	"github.com/deen-mt/deen/modelfile"
	"github.com/deen-mt/deen/nn"
	"github.com/deen-mt/deen/nn/nntest"
)

// shapes are configs of other shapes than the oracle's: they keep the code
// from depending on one checkpoint.
func shapes() map[string]modelfile.Config {
	out := map[string]modelfile.Config{}
	c := nntest.Config()
	out["marian-swish"] = c
	c = nntest.Config()
	c.DModel, c.EncoderHeads, c.DecoderHeads, c.EncoderLayers, c.DecoderLayers = 32, 2, 8, 3, 1
	c.EncoderFFN, c.DecoderFFN, c.Activation, c.ScaleEmbedding = 40, 20, "relu", false
	out["relu-noscale"] = c
	c = nntest.Config()
	c.DModel, c.EncoderHeads, c.DecoderHeads, c.EncoderFFN, c.DecoderFFN = 24, 3, 6, 64, 8
	c.Activation, c.PreNorm, c.FinalLayerNorm, c.Positions = "gelu", true, true, modelfile.PositionsLearned
	out["gelu-prenorm-learned"] = c
	c = nntest.Config()
	c.DModel, c.EncoderHeads, c.DecoderHeads, c.EncoderLayers = 12, 1, 2, 1
	c.Positions, c.LayerNormEps = modelfile.PositionsInterleaved, 1e-6
	out["interleaved-1head"] = c
	return out
}

func randomIDs(rng *rand.Rand, n, vocab int) []int32 {
	ids := make([]int32, n)
	for i := range ids {
		ids[i] = int32(rng.IntN(vocab))
	}
	return ids
}

func TestAgainstFloat64Reference(t *testing.T) {
	for name, c := range shapes() {
		t.Run(name, func(t *testing.T) {
			m := nntest.RandomModel(c, 1)
			e, err := New(m)
			if err != nil {
				t.Fatal(err)
			}
			ref := &nntest.Ref{M: m, C: c}
			rng := rand.New(rand.NewPCG(2, 3))
			for _, n := range []int{1, 7, 19} {
				ids := randomIDs(rng, n, c.VocabSize)
				got := e.Forward(ids, 1, n, nil)
				if diff, i, j := nntest.MaxDiff(got, ref.Encode(ids)); diff > 1e-4 {
					t.Errorf("length %d: max |Δ| %g at [%d][%d]", n, diff, i, j)
				}
			}
		})
	}
}

// A padded batch gives each sentence's real rows as encoding it alone does.
func TestPaddedBatchEqualsSingle(t *testing.T) {
	for name, c := range shapes() {
		t.Run(name, func(t *testing.T) {
			m := nntest.RandomModel(c, 4)
			e, err := New(m)
			if err != nil {
				t.Fatal(err)
			}
			rng := rand.New(rand.NewPCG(5, 6))
			lengths := []int{3, 9, 1, 6}
			seqLen := 9
			ids := make([]int32, len(lengths)*seqLen)
			for i := range ids {
				ids[i] = int32(c.PadID)
			}
			var singles [][]float32
			for b, l := range lengths {
				s := randomIDs(rng, l, c.VocabSize)
				copy(ids[b*seqLen:], s)
				singles = append(singles, e.Forward(s, 1, l, nil))
			}
			got := e.Forward(ids, len(lengths), seqLen, lengths)
			d := c.DModel
			for b, l := range lengths {
				for i := 0; i < l*d; i++ {
					if diff := got[b*seqLen*d+i] - singles[b][i]; diff > 1e-5 || diff < -1e-5 {
						t.Fatalf("sentence %d value %d: batch %g, single %g", b, i, got[b*seqLen*d+i], singles[b][i])
					}
				}
			}
		})
	}
}

func TestNewErrors(t *testing.T) {
	c := nntest.Config()
	cases := []struct {
		name, want string
		edit       func(m *modelfile.Model)
	}{
		{"missing", `"enc.1.fc2.bias"`, func(m *modelfile.Model) { delete(m.Tensors, "enc.1.fc2.bias") }},
		{"shape", `"enc.0.self.k.weight" has shape [16 15]`, func(m *modelfile.Model) {
			t := m.Tensors["enc.0.self.k.weight"]
			t.Shape, t.Data = []int{16, 15}, t.Data[:16*15]
		}},
		{"activation", `"tanh"`, func(m *modelfile.Model) { m.Config.Activation = "tanh" }},
		{"heads", "not divisible", func(m *modelfile.Model) { m.Config.EncoderHeads = 3 }},
		{"positions", `"rotary"`, func(m *modelfile.Model) { m.Config.Positions = "rotary" }},
		{"learned", `"enc.pos.weight"`, func(m *modelfile.Model) { m.Config.Positions = modelfile.PositionsLearned }},
		{"final norm", `"enc.ln.weight"`, func(m *modelfile.Model) { m.Config.FinalLayerNorm = true }},
		{"embedding", `"embed.weight"`, func(m *modelfile.Model) { m.Config.VocabSize = 51 }},
	}
	for _, tc := range cases {
		m := nntest.RandomModel(c, 7)
		tc.edit(m)
		_, err := New(m)
		if err == nil || !strings.Contains(err.Error(), tc.want) || !strings.HasPrefix(err.Error(), "encoder: ") {
			t.Errorf("%s: error %v, want one mentioning %s", tc.name, err, tc.want)
		}
	}
}

// BenchmarkEncoder encodes batches of 32-token sentences with an
// opus-mt-sized random model and reports source tokens per second.
func BenchmarkEncoder(b *testing.B) {
	c := nntest.OpusMTConfig()
	e, err := New(nntest.RandomModel(c, 1))
	if err != nil {
		b.Fatal(err)
	}
	const seqLen = 32
	for _, batch := range []int{1, 16} {
		b.Run(fmt.Sprintf("batch%d", batch), func(b *testing.B) {
			ids := randomIDs(rand.New(rand.NewPCG(1, 2)), batch*seqLen, c.VocabSize)
			cpu0 := nntest.CPUTime()
			b.ResetTimer()
			for b.Loop() {
				e.Forward(ids, batch, seqLen, nil)
			}
			b.ReportMetric(float64(b.N*batch*seqLen)/b.Elapsed().Seconds(), "tokens/s")
			if cpu := (nntest.CPUTime() - cpu0).Seconds(); cpu > 0 {
				b.ReportMetric(float64(b.N*batch*seqLen)/cpu, "tokens/cpu-s")
			}
		})
	}
}

// Forward may run concurrently on one Encoder (scratch comes from a pool).
func TestConcurrentForward(t *testing.T) {
	c := nntest.Config()
	e, err := New(nntest.RandomModel(c, 8))
	if err != nil {
		t.Fatal(err)
	}
	rng := rand.New(rand.NewPCG(9, 10))
	inputs := make([][]int32, 8)
	want := make([][]float32, len(inputs))
	for i := range inputs {
		inputs[i] = randomIDs(rng, 3+i, c.VocabSize)
		want[i] = e.Forward(inputs[i], 1, len(inputs[i]), nil)
	}
	got := make([][]float32, len(inputs))
	done := make(chan int)
	for i := range inputs {
		go func() {
			for range 20 {
				got[i] = e.Forward(inputs[i], 1, len(inputs[i]), nil)
			}
			done <- i
		}()
	}
	for range inputs {
		<-done
	}
	for i := range inputs {
		for j := range want[i] {
			if got[i][j] != want[i][j] {
				t.Fatalf("input %d value %d: concurrent %g, alone %g", i, j, got[i][j], want[i][j])
			}
		}
	}
}

// With reduced-precision weights the encoder stays close to the float64
// reference: every layer's six products move their outputs by at most eps
// of the weights' row scale (int8: and of the input row's scale), which the
// layer norms keep at the scale of 1; bounded per layer with slack. A NaN
// weight is an error naming the tensor, and f32 is the default's bits.
func TestWithWeights(t *testing.T) {
	for name, c := range shapes() {
		t.Run(name, func(t *testing.T) {
			m := nntest.RandomModel(c, 1)
			def, err := New(m)
			if err != nil {
				t.Fatal(err)
			}
			ref := &nntest.Ref{M: m, C: c}
			ids := randomIDs(rand.New(rand.NewPCG(4, 5)), 13, c.VocabSize)
			want := ref.Encode(ids)
			for _, p := range []nn.Precision{nn.Float32, nn.Float16, nn.Int8} {
				e, err := New(m, WithWeights(p))
				if err != nil {
					t.Fatal(err)
				}
				got := e.Forward(ids, 1, len(ids), nil)
				if p == nn.Float32 {
					if !slices.Equal(got, def.Forward(ids, 1, len(ids), nil)) {
						t.Fatal("f32 weights differ from the default")
					}
					continue
				}
				eps := map[nn.Precision]float64{nn.Float16: 1.0 / 2048, nn.Int8: 1.0 / 127}[p]
				bound := 12 * eps * float64(c.EncoderLayers)
				diff, i, j := nntest.MaxDiff(got, want)
				if diff > bound {
					t.Errorf("%v: max |Δ| %g at [%d][%d], bound %g", p, diff, i, j, bound)
				}
				t.Logf("%v: max |Δ| %.3g (bound %.3g)", p, diff, bound)
			}
			m.Tensors["enc.0.fc2.weight"].Data[3] = float32(math.NaN())
			if _, err := New(m, WithWeights(nn.Int8)); err == nil || !strings.Contains(err.Error(), "enc.0.fc2.weight[3] is NaN") {
				t.Errorf("NaN weight: error %v", err)
			}
		})
	}
}
