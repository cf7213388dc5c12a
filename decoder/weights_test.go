package decoder

import (
	"math"
	"strings"
	"testing"
)

// eps is the largest error of one stored weight relative to its row's
// largest magnitude: half an int8 step or half an ulp of a half float.
func eps(p Precision) float64 {
	if p == Int8 {
		return 0.5 / 127
	}
	return 1.0 / 2048
}

// stepAll feeds the same token histories to a fresh State of dec and
// returns the logits of every step.
func stepAll(dec *Decoder, f *fixture, sentence []int, hist [][]int32) [][]float32 {
	s := dec.NewState(f.memory, sentence, 4)
	v := dec.VocabSize()
	tokens := make([]int32, len(sentence))
	var out [][]float32
	for step := range hist[0] {
		for r := range tokens {
			tokens[r] = hist[r][step]
		}
		logits := make([]float32, len(sentence)*v)
		dec.Step(s, tokens, logits)
		out = append(out, logits)
	}
	return out
}

// With int8 or half-float weights Step stays close to float32 Step. Each of
// the P = 8·layers+1 reduced-precision products adds an error of at most
// eps of the weights' row scale; layer norms keep the activations' scale,
// so to first order the errors add up: the bound is P·eps·max|logit|.
// Batched rows equal the same rows decoded alone bit for bit when no two
// adjacent rows read the same sentence (the products' rows do not depend on
// each other up to 64 rows); cross-attention joins adjacent rows of one
// sentence into one product, which moves the last bits, in float32 too.
func TestStepLowPrecision(t *testing.T) {
	for name, c := range shapes() {
		t.Run(name, func(t *testing.T) {
			f := newFixture(t, c, 2)
			sentence := []int{0, 0, 1, 2, 2, 1}
			hist := make([][]int32, len(sentence))
			for r := range hist {
				hist[r] = f.ids(9)
			}
			apartRows := []int{0, 2, 1, 4} // sentences 0, 1, 0, 2: no neighbours alike
			ref := stepAll(f.dec, f, sentence, hist)
			var scale float64
			for _, l := range ref {
				for _, x := range l {
					scale = max(scale, math.Abs(float64(x)))
				}
			}
			for _, p := range []Precision{Float32, Float16, Int8} {
				dec, err := New(f.m, WithWeights(p))
				if err != nil {
					t.Fatal(err)
				}
				got := stepAll(dec, f, sentence, hist)
				var worst float64
				for step := range got {
					worst = max(worst, maxAbs(got[step], ref[step]))
				}
				bound := float64(8*c.DecoderLayers+1) * eps(p) * scale
				if !(worst <= bound) {
					t.Errorf("%v: Step vs float32 Step max |Δ| %g, want <= %g (max |logit| %g)", p, worst, bound, scale)
				}
				t.Logf("%v: max |Δ| %.3g = %.2g of max |logit| %.3g (bound %.3g)", p, worst, worst/scale, scale, bound)
				v := c.VocabSize
				var joined float64
				for r, b := range sentence {
					alone := stepAll(dec, f, []int{b}, hist[r:r+1])
					for step := range alone {
						joined = max(joined, maxAbs(got[step][r*v:(r+1)*v], alone[step]))
					}
				}
				if joined > 1e-4 {
					t.Errorf("%v: batched rows (neighbours of one sentence) vs alone: max |Δ| %g, want <= 1e-4", p, joined)
				}
				t.Logf("%v: batched (neighbours of one sentence) vs alone max |Δ| %.3g", p, joined)
				sents, hists := make([]int, len(apartRows)), make([][]int32, len(apartRows))
				for i, r := range apartRows {
					sents[i], hists[i] = sentence[r], hist[r]
				}
				batched := stepAll(dec, f, sents, hists)
				for i, b := range sents {
					alone := stepAll(dec, f, []int{b}, hists[i:i+1])
					for step := range alone {
						row := batched[step][i*v : (i+1)*v]
						for j := range row {
							if math.Float32bits(row[j]) != math.Float32bits(alone[step][j]) {
								t.Fatalf("%v: step %d row %d: batched logit %d is %v, alone %v", p, step, i, j, row[j], alone[step][j])
							}
						}
					}
				}
			}
		})
	}
}

func TestWeightsErrors(t *testing.T) {
	c := shapes()["marian-swish"]
	f := newFixture(t, c, 1)
	for _, tc := range []struct {
		p      Precision
		tensor string
		v      float32
		want   string
	}{
		{Int8, "embed.weight", float32(math.NaN()), `embed.weight[5] is NaN, which int8 weights cannot hold`},
		{Int8, "dec.1.fc2.weight", float32(math.Inf(-1)), `dec.1.fc2.weight[5] is -Inf`},
		{Float16, "dec.0.self.k.weight", 1e5, `dec.0.self.k.weight[5] is 100000, which f16 weights cannot hold`},
		{Float16, "dec.1.cross.o.weight", float32(math.NaN()), `dec.1.cross.o.weight[5] is NaN`},
		{Precision(7), "embed.weight", 0, `weight precision Precision(7): want f32, f16 or int8`},
	} {
		data := f.m.Tensors[tc.tensor].Data
		old := data[5]
		data[5] = tc.v
		_, err := New(f.m, WithWeights(tc.p))
		data[5] = old
		if err == nil || !strings.Contains(err.Error(), tc.want) {
			t.Errorf("%v with %s[5] = %v: error %v, want one containing %q", tc.p, tc.tensor, tc.v, err, tc.want)
		}
	}
	if _, err := New(f.m, WithWeights(Float16)); err != nil {
		t.Fatal(err)
	}
}
