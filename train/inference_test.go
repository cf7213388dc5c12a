package train

import (
	"math"
	"slices"
	"testing"

	"github.com/deen-mt/deen/decoder"
	"github.com/deen-mt/deen/encoder"
	"github.com/deen-mt/deen/internal/kernels"
	"github.com/deen-mt/deen/modelfile"
)

// padded lays out packed sentences as a right-padded [batch·maxLen] block.
func padded(ids []int32, off, lens []int, pad int32) ([]int32, int) {
	l := slices.Max(lens)
	out := make([]int32, len(lens)*l)
	for b := range lens {
		for t := 0; t < l; t++ {
			out[b*l+t] = pad
			if t < lens[b] {
				out[b*l+t] = ids[off[b]+t]
			}
		}
	}
	return out, l
}

// inference builds the inference encoder and decoder of mf.
func inference(t *testing.T, mf *modelfile.Model) (*encoder.Encoder, *decoder.Decoder) {
	t.Helper()
	enc, err := encoder.New(mf)
	if err != nil {
		t.Fatal(err)
	}
	dec, err := decoder.New(mf)
	if err != nil {
		t.Fatal(err)
	}
	return enc, dec
}

// TestMatchesInference checks that the training forward pass computes the
// same logits as the inference encoder and decoder on the model file the
// trainer writes.
func TestMatchesInference(t *testing.T) {
	cfg := tinyConfig("swish")
	m, err := NewModel(cfg, 5)
	if err != nil {
		t.Fatal(err)
	}
	b := tinyBatch(cfg)
	if _, _, err := m.Forward(b, nil); err != nil {
		t.Fatal(err)
	}
	mf := m.ModelFile(nil)
	if err := modelfile.ValidateTensors(mf); err != nil {
		t.Fatal(err)
	}
	enc, dec := inference(t, mf)
	pad := int32(cfg.PadID)
	src, sl := padded(b.Src, b.SrcOff, b.SrcLen, pad)
	tgt, tl := padded(b.TgtIn, b.TgtOff, b.TgtLen, pad)
	n := len(b.SrcLen)
	mem := enc.Forward(src, n, sl, b.SrcLen)
	logits := dec.Forward(dec.CrossAttn().Memory(mem, n, sl, b.SrcLen), tgt, n, tl, b.TgtLen)
	v := cfg.VocabSize
	worst := 0.0
	for s := range b.TgtLen {
		for i := 0; i < b.TgtLen[s]; i++ {
			want := logits[(s*tl+i)*v : (s*tl+i+1)*v]
			got := m.reps[0].dec.Logits()[(b.TgtOff[s]+i)*v : (b.TgtOff[s]+i+1)*v]
			for j := range want {
				worst = math.Max(worst, math.Abs(float64(want[j]-got[j])))
			}
		}
	}
	if worst > 1e-4 {
		t.Fatalf("training and inference logits differ by up to %g", worst)
	}
}

// greedy decodes src with the inference encoder and decoder of mf.
func greedy(t *testing.T, mf *modelfile.Model, src []int32, maxLen int) []int32 {
	enc, dec := inference(t, mf)
	mem := enc.Forward(src, 1, len(src), nil)
	st := dec.NewState(dec.CrossAttn().Memory(mem, 1, len(src), nil), []int{0}, maxLen)
	logits := make([]float32, dec.VocabSize())
	tok := int32(mf.Config.DecoderStartID)
	var out []int32
	for len(out) < maxLen {
		dec.Step(st, []int32{tok}, logits)
		tok = int32(kernels.ArgMax(logits))
		out = append(out, tok)
		if tok == int32(mf.Config.EOSID) {
			break
		}
	}
	return out
}

// TestMemorises trains a tiny model on four pairs until it knows them, and
// checks that greedy decoding through the inference path reproduces every
// target.
func TestMemorises(t *testing.T) {
	o := DefaultOptions()
	o.DModel, o.Heads, o.FFN, o.EncoderLayers, o.DecoderLayers = 32, 4, 64, 2, 1
	cfg := o.Config(20)
	cfg.MaxPositions = 32
	m, err := NewModel(cfg, 11)
	if err != nil {
		t.Fatal(err)
	}
	ex := []Example{
		{Src: []int32{2, 3, 4, 0}, Tgt: []int32{5, 6, 7, 0}},
		{Src: []int32{4, 3, 2, 0}, Tgt: []int32{7, 6, 0}},
		{Src: []int32{8, 9, 10, 11, 12, 0}, Tgt: []int32{13, 14, 15, 16, 17, 18, 0}},
		{Src: []int32{3, 0}, Tgt: []int32{16, 16, 16, 0}},
	}
	var b Batch
	MakeBatch(&b, ex, []int{0, 1, 2, 3}, int32(cfg.DecoderStartID))
	adam := NewAdamW(len(m.Params.W), 0.9, 0.98, 1e-9, 0)
	var loss float64
	for step := 1; step <= 300; step++ {
		m.Params.ZeroGrad()
		l, n, err := m.Forward(&b, nil)
		if err != nil {
			t.Fatal(err)
		}
		loss = l / float64(n)
		m.Backward(&b, 1/float32(n))
		m.Params.ClipGrad(1)
		adam.Step(m.Params, LearningRate(step, 30, 3e-3))
	}
	mf := m.ModelFile(nil)
	for i, e := range ex {
		if got := greedy(t, mf, e.Src, 12); !slices.Equal(got, e.Tgt) {
			t.Errorf("pair %d: greedy decoding gives %v, want %v (final loss %.4f)", i, got, e.Tgt, loss)
		}
	}
}
