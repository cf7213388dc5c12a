package nntest

import (
	"math"
	"os"
	"testing"

	"github.com/deen-mt/deen/modelfile"
)

func TestRandomModelIsValidAndDeterministic(t *testing.T) {
	c := Config()
	c.PreNorm, c.FinalLayerNorm, c.Positions = true, true, modelfile.PositionsLearned
	a, b := RandomModel(c, 7), RandomModel(c, 7)
	if err := modelfile.ValidateTensors(a); err != nil {
		t.Fatal(err)
	}
	for name, ta := range a.Tensors {
		if tb := b.Tensors[name]; len(tb.Data) != len(ta.Data) || tb.Data[0] != ta.Data[0] {
			t.Fatalf("tensor %s differs between two models of one seed", name)
		}
	}
	if w := a.Tensors["enc.0.self_ln.weight"].Data; w[0] < 0.8 || w[0] > 1.2 {
		t.Errorf("layer norm weight %g, want near 1", w[0])
	}
}

// With one head, zero weights except identity value/output projections
// and no layer norm effect, attention of a single key returns that key's
// value: a hand-checkable case of Ref.attention.
func TestRefAttentionSingleKey(t *testing.T) {
	c := Config()
	c.DModel, c.DecoderHeads = 2, 1
	m := RandomModel(c, 1)
	set := func(name string, v ...float32) { copy(m.Tensors[name].Data, v) }
	for _, p := range []string{"q", "k", "v", "o"} {
		set("dec.0.cross."+p+".bias", 0, 0)
	}
	set("dec.0.cross.v.weight", 1, 0, 0, 1)
	set("dec.0.cross.o.weight", 2, 0, 0, 3)
	r := &Ref{M: m, C: c}
	out := r.attention(Matrix{{0.3, -0.1}}, Matrix{{5, 7}}, "dec.0.cross", 1, false)
	if math.Abs(out[0][0]-10) > 1e-6 || math.Abs(out[0][1]-21) > 1e-6 {
		t.Errorf("attention over one key = %v, want [10 21]", out[0])
	}
}

// LoadGPTRef reads every byte of weights.bin into the tensors ref.json
// lists, in order, with their shapes.
func TestLoadGPTRef(t *testing.T) {
	ref, tensors := LoadGPTRef(t, "../../testdata/gpt/bias-d24", "ref.json")
	if len(tensors) != len(ref.Tensors) || len(ref.Logits) == 0 {
		t.Fatalf("%d tensors for %d listed, %d logits", len(tensors), len(ref.Tensors), len(ref.Logits))
	}
	emb := tensors["embed.weight"]
	if emb == nil || len(emb.Data) != ref.Config.Vocab*ref.Config.D {
		t.Fatalf("embed.weight %v, want %d×%d values", emb, ref.Config.Vocab, ref.Config.D)
	}
	fi, err := os.Stat("../../testdata/gpt/bias-d24/weights.bin")
	if err != nil {
		t.Fatal(err)
	}
	n := 0
	for _, tn := range tensors {
		n += len(tn.Data)
	}
	if int64(4*n) != fi.Size() {
		t.Errorf("tensors hold %d values, weights.bin %d bytes", n, fi.Size())
	}
}

// CentralDiff of x₀² at 3 is 6 (exact for a quadratic up to float32
// rounding of the steps) and leaves x as it found it.
func TestCentralDiff(t *testing.T) {
	x := []float32{3, 5}
	got := CentralDiff(x, 0, 1e-2, func() float64 { return float64(x[0]) * float64(x[0]) })
	if math.Abs(got-6) > 1e-4 || x[0] != 3 || x[1] != 5 {
		t.Errorf("CentralDiff %g, x %v; want 6, [3 5]", got, x)
	}
}
