package decoder

import (
	"math"
	"strings"
	"testing"

	"github.com/deen-mt/deen/modelfile"
	"github.com/deen-mt/deen/nn"
	"github.com/deen-mt/deen/nn/nntest"
)

// storedPair writes m as dt and reads it back as float32 and kept as stored.
func storedPair(t *testing.T, m *modelfile.Model, dt modelfile.DType) (f32, kept *modelfile.Model) {
	t.Helper()
	f32, kept, err := nntest.Reread(m, dt, nn.StoredReadOptions())
	if err != nil {
		t.Fatal(err)
	}
	return f32, kept
}

// powerOfTwoScales rescales every row of every matrix of m so that its
// largest magnitude is 127·2⁻⁸: its int8 scale is then 2⁻⁸ exactly, and
// re-quantising the stored values (the old path) gives back the same scale
// (in general it may move it by an ulp: TestStoredScalesAreTheFiles).
func powerOfTwoScales(m *modelfile.Model) {
	for _, t := range m.Tensors {
		if len(t.Shape) != 2 {
			continue
		}
		cols := t.Shape[1]
		for r := range t.Shape[0] {
			row := t.Data[r*cols : (r+1)*cols]
			var mx float32
			for _, v := range row {
				mx = max(mx, float32(math.Abs(float64(v))))
			}
			for c := range row {
				row[c] = float32(float64(row[c]) / float64(mx) * 127 / 256)
			}
		}
	}
}

// stillKept fails unless every matrix of m is still kept without a float32
// copy (Data nil); learned position tables are the exception (read as
// float32 at build: small, and added to every row).
func stillKept(t *testing.T, m *modelfile.Model, when string) {
	t.Helper()
	for name, tn := range m.Tensors {
		if strings.HasSuffix(name, ".pos.weight") {
			continue
		}
		if len(tn.Shape) == 2 && (!tn.Kept() || tn.Data != nil) {
			t.Fatalf("%s: %s kept %v, float32 copy %v", when, name, tn.Kept(), tn.Data != nil)
		}
	}
}

// TestStepFromStoredWeights: a decoder over a model kept as its int8 or f16
// file stores it steps to the same logits, bit for bit, as the old path
// (float32 read, copies made again at the same precision), with no float32
// copy of any matrix, nor does Alignment (which multiplies Step's weights);
// Forward then dequantises on first use and equals the old path's Forward
// bit for bit; the embedding rows looked up from the
// kept matrix equal the dequantised table.
func TestStepFromStoredWeights(t *testing.T) {
	for name, c := range shapes() {
		for _, dt := range []modelfile.DType{modelfile.Int8, modelfile.F16} {
			t.Run(name+"/"+dt.String(), func(t *testing.T) {
				f := newFixture(t, c, 5)
				p := map[modelfile.DType]Precision{modelfile.Int8: Int8, modelfile.F16: Float16}[dt]
				powerOfTwoScales(f.m)
				old, kept := storedPair(t, f.m, dt)
				stillKept(t, kept, "read")
				decOld, err := New(old, WithWeights(p))
				if err != nil {
					t.Fatal(err)
				}
				decNew, err := New(kept, WithWeights(p))
				if err != nil {
					t.Fatal(err)
				}
				memOld := decOld.StepCrossAttn().Memory(f.mem, len(f.lengths), f.seqLen, f.lengths)
				memNew := decNew.StepCrossAttn().Memory(f.mem, len(f.lengths), f.seqLen, f.lengths)
				sentence := []int{0, 1, 2, 2}
				hist := make([][]int32, len(sentence))
				for r := range hist {
					hist[r] = f.ids(5)
				}
				f.memory = memOld
				want := stepAll(decOld, f, sentence, hist)
				f.memory = memNew
				got := stepAll(decNew, f, sentence, hist)
				for step := range want {
					equalBits(t, "step logits", got[step], want[step])
				}
				stillKept(t, kept, "after Step")
				al := decNew.Alignment(memNew, f.ids(3*4), 3, 4, []int{4, 1, 3})
				for r := range 3 * 4 {
					if r%4 < []int{4, 1, 3}[r/4] {
						var sum float64
						for _, v := range al[r*f.seqLen : (r+1)*f.seqLen] {
							sum += float64(v)
						}
						if math.Abs(sum-1) > 1e-5 {
							t.Fatalf("alignment row %d sums to %v", r, sum)
						}
					}
				}
				stillKept(t, kept, "after Alignment (Step's weights)")

				d := c.DModel
				ids := make([]int32, c.VocabSize)
				for i := range ids {
					ids[i] = int32(i)
				}
				rowsNew, rowsOld := make([]float32, len(ids)*d), make([]float32, len(ids)*d)
				decNew.embed.Forward(rowsNew, ids, len(ids)+1, 0)
				decOld.embed.Forward(rowsOld, ids, len(ids)+1, 0)
				equalBits(t, "embedding rows", rowsNew, rowsOld)

				fwd := f.ids(3 * 4)
				equalBits(t, "Forward logits", decNew.Forward(memNew, fwd, 3, 4, nil), decOld.Forward(memOld, fwd, 3, 4, nil))
				if tn := kept.Tensors["embed.weight"]; tn.Data == nil {
					t.Fatal("Forward did not dequantise embed.weight")
				}
			})
		}
	}
}

// equalBits fails unless got and want hold the same float32 bits.
func equalBits(t *testing.T, what string, got, want []float32) {
	t.Helper()
	if len(got) != len(want) {
		t.Fatalf("%s: %d values, want %d", what, len(got), len(want))
	}
	for i := range got {
		if math.Float32bits(got[i]) != math.Float32bits(want[i]) {
			t.Fatalf("%s: value %d is %v, want %v", what, i, got[i], want[i])
		}
	}
}

// The old path re-quantised the dequantised float32 values, which moves
// the scale of some rows by an ulp; the kept matrix multiplies the file's
// own scales. On a random model both give logits within float32 noise of
// each other; the kept ones are the file's weights exactly
// (nn.TestStoredInt8IsTheFile checks the bytes and scales).
func TestStepFromStoredWeightsRandomScales(t *testing.T) {
	c := shapes()["marian-swish"]
	f := newFixture(t, c, 6)
	old, kept := storedPair(t, f.m, modelfile.Int8)
	decOld, err := New(old, WithWeights(Int8))
	if err != nil {
		t.Fatal(err)
	}
	decNew, err := New(kept, WithWeights(Int8))
	if err != nil {
		t.Fatal(err)
	}
	hist := [][]int32{f.ids(6), f.ids(6)}
	f.memory = decOld.StepCrossAttn().Memory(f.mem, len(f.lengths), f.seqLen, f.lengths)
	want := stepAll(decOld, f, []int{0, 1}, hist)
	f.memory = decNew.StepCrossAttn().Memory(f.mem, len(f.lengths), f.seqLen, f.lengths)
	got := stepAll(decNew, f, []int{0, 1}, hist)
	var worst, scale float64
	for step := range want {
		worst = max(worst, maxAbs(got[step], want[step]))
		for _, v := range want[step] {
			scale = max(scale, math.Abs(float64(v)))
		}
	}
	if worst > 1e-5*scale {
		t.Errorf("kept vs old int8 step logits differ by %g (max |logit| %g)", worst, scale)
	}
	t.Logf("kept vs old int8 step logits: max |Δ| %.3g of max |logit| %.3g", worst, scale)
	stillKept(t, kept, "after Step")
}
