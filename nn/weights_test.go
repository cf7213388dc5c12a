package nn

import (
	"math"
	"slices"
	"testing"

	"github.com/deen-mt/deen/internal/kernels"
	"github.com/deen-mt/deen/modelfile"
	"github.com/deen-mt/deen/nn/nntest"
)

// readBoth writes m as dt and reads it back as float32 and kept as stored.
func readBoth(t *testing.T, m *modelfile.Model, dt modelfile.DType) (f32, kept *modelfile.Model) {
	t.Helper()
	f32, kept, err := nntest.Reread(m, dt, StoredReadOptions())
	if err != nil {
		t.Fatal(err)
	}
	return f32, kept
}

// TestStoredInt8IsTheFile: an int8 matrix kept as stored multiplies exactly
// the file's weights. Its packed bytes are those the old path made
// (QuantizeQ8 of the dequantised floats, then PackI8) and its scales are
// the file's (max|row|/127 of the written floats), so each weight it
// multiplies, q·scale, is bit for bit the float32 value the file's reader
// gives. The old path's re-quantisation moved some scales by one ulp
// (counted and logged; never more than one ulp): keeping the stored scale
// is what makes --weights auto leave every weight where the file put it.
func TestStoredInt8IsTheFile(t *testing.T) {
	c := nntest.Config()
	c.VocabSize, c.DModel, c.EncoderFFN, c.DecoderFFN = 3000, 64, 256, 256
	m := nntest.RandomModel(c, 14)
	f32, kept := readBoth(t, m, modelfile.Int8)
	w := NewWeights(kept)
	moved, rows := 0, 0
	for name, tn := range m.Tensors {
		if len(tn.Shape) != 2 {
			continue
		}
		out, in := tn.Shape[0], tn.Shape[1]
		l := Linear{In: in, Out: out}
		low, err := w.Low(&l, Int8, name)
		if err != nil {
			t.Fatal(err)
		}
		if low.i8 == nil || l.W != nil || kept.Tensors[name].Data != nil {
			t.Fatalf("%s: int8 product %v, float32 weight made %v", name, low.i8 != nil, l.W != nil)
		}
		dequant := f32.Tensors[name].Data
		old := kernels.QuantizeQ8(dequant, out, in)
		if !slices.Equal(low.i8.Data, kernels.PackI8(old).Data) {
			t.Fatalf("%s: kept int8 bytes differ from the old path's", name)
		}
		row := make([]float32, in)
		for r := range out {
			var mx float32
			for _, v := range tn.Data[r*in : (r+1)*in] {
				mx = max(mx, float32(math.Abs(float64(v))))
			}
			if s := low.i8.Scales[r]; s != mx/127 {
				t.Fatalf("%s row %d: kept scale %v, the file's %v", name, r, s, mx/127)
			}
			rows++
			if s, so := low.i8.Scales[r], old.Scales[r]; s != so {
				moved++
				if d := int64(math.Float32bits(s)) - int64(math.Float32bits(so)); d < -1 || d > 1 {
					t.Fatalf("%s row %d: old path's scale %v is %d ulps from the file's %v", name, r, so, d, s)
				}
			}
			low.i8.Row(r, row)
			for col, v := range row {
				if want := dequant[r*in+col]; math.Float32bits(v) != math.Float32bits(want) {
					t.Fatalf("%s [%d,%d] is %v as kept, %v as read from the file", name, r, col, v, want)
				}
			}
		}
	}
	t.Logf("the old path moved %d of %d row scales by one ulp (%.2f%%)", moved, rows, 100*float64(moved)/float64(rows))
}

// TestWeightsFloat32: a kept matrix at Float32 precision is read on the
// product's first use, with the values Read gives, and a kept f16 matrix
// is multiplied as stored at Float16; a float32 model is untouched (Get
// gives its own slices, nothing deferred).
func TestWeightsFloat32(t *testing.T) {
	c := nntest.Config()
	m := nntest.RandomModel(c, 15)
	f32, kept := readBoth(t, m, modelfile.F16)
	w := NewWeights(kept)
	lf := Linear{In: c.DModel, Out: c.DModel}
	low, err := w.Low(&lf, Float32, "enc.0.self.q.weight")
	if err != nil {
		t.Fatal(err)
	}
	if lf.W != nil {
		t.Fatal("Low at Float32 read a kept weight before its first use")
	}
	lf.B = make([]float32, c.DModel)
	x, y := make([]float32, 2*c.DModel), make([]float32, 2*c.DModel)
	for i := range x {
		x[i] = float32(i%7) - 3
	}
	low.Forward(y, x, 2)
	if !slices.Equal(lf.W, f32.Tensors["enc.0.self.q.weight"].Data) {
		t.Fatal("the weight read on first use differs from Read's float32 values")
	}
	lh := Linear{In: c.DModel, Out: c.DModel}
	if low, err = w.Low(&lh, Float16, "enc.0.self.k.weight"); err != nil || low.f16 == nil || lh.W != nil {
		t.Fatalf("f16 weight at Float16: %v, product kept %v, float32 made %v", err, low.f16 != nil, lh.W != nil)
	}
	wf := NewWeights(m)
	if got, err := wf.Get("enc.0.self.q.weight", c.DModel, c.DModel); err != nil || &got[0] != &m.Tensors["enc.0.self.q.weight"].Data[0] {
		t.Fatalf("float32 model: Get gave a copy or %v", err)
	}
	if _, err := w.Get("enc.0.self.q.weight", 3, 3); err == nil {
		t.Fatal("wrong shape of a kept matrix: no error")
	}
}
