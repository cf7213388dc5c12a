package translate

import (
	"bytes"
	"context"
	"runtime"
	"testing"

	"github.com/deen-mt/deen/modelfile"
	"github.com/deen-mt/deen/nn"
)

// TestLoadInt8MakesNoFloat32Copy: a translator loaded from an int8 file
// (weights "auto") holds its matrices as int8 only. The Go heap it keeps
// alive after translating is below the int8 bytes plus a third of the
// float32 size of the embedding, so a float32 copy of the embedding alone
// (4 bytes a value) or of the layers' matrices would fail the test.
func TestLoadInt8MakesNoFloat32Copy(t *testing.T) {
	c := smallConfig()
	c.VocabSize, c.DModel, c.EncoderFFN, c.DecoderFFN = 6000, 128, 512, 512
	c.PadID, c.DecoderStartID, c.Generation.BadWordsIDs = c.VocabSize-1, c.VocabSize-1, []int{c.VocabSize - 1}
	file, matrices := int8File(t, c)
	embed := c.VocabSize * c.DModel
	src := [][]int32{{5, 17, 300, 4000, 0}, {9, 2, 0}}
	opts := SearchOptions{BeamSize: 2, MaxNewTokens: 4, LengthPenalty: 1}
	heap := func() uint64 {
		runtime.GC()
		var ms runtime.MemStats
		runtime.ReadMemStats(&ms)
		return ms.HeapAlloc
	}
	heap()
	before := heap()
	tr, err := LoadReader(bytes.NewReader(file))
	if err != nil {
		t.Fatal(err)
	}
	if _, err := tr.TranslateIDs(context.Background(), src, opts); err != nil {
		t.Fatal(err)
	}
	grown := int64(heap()) - int64(before)
	runtime.KeepAlive(tr)
	runtime.KeepAlive(file) // in the heap before too
	if limit := int64(matrices + 4*embed/3); grown > limit {
		t.Fatalf("the translator keeps %d bytes of heap, want at most %d (int8 matrices %d bytes; a float32 embedding alone is %d)", grown, limit, matrices, 4*embed)
	}
	t.Logf("heap kept by the translator: %d bytes (int8 matrices %d bytes, as float32 %d)", grown, matrices, 4*matrices)
	if got := tr.Model().WeightPrecision; got != "int8" {
		t.Fatalf("weights %q, want int8 (auto)", got)
	}
}

// int8File returns a random model of config c written as int8, and the
// number of values of its matrices (its float32 weights are garbage by
// then).
func int8File(t *testing.T, c modelfile.Config) (file []byte, matrices int) {
	m, err := randomWeights(c, false)
	if err != nil {
		t.Fatal(err)
	}
	var buf bytes.Buffer
	if err := modelfile.Write(&buf, m, modelfile.WriteOptions{DType: modelfile.Int8}); err != nil {
		t.Fatal(err)
	}
	for _, tn := range m.Tensors {
		if len(tn.Shape) == 2 {
			matrices += len(tn.Data)
		}
	}
	return buf.Bytes(), matrices
}

// TestExplicitPrecisionDropsStoredForm: a precision other than the file's
// makes its weights from float32, so the model keeps no stored form beside
// them; the file's own precision keeps it.
func TestExplicitPrecisionDropsStoredForm(t *testing.T) {
	c := smallConfig()
	file, _ := int8File(t, c)
	for _, tc := range []struct {
		weights string
		kept    bool
	}{{"f32", false}, {"f16", false}, {"int8", true}, {"auto", true}} {
		m, err := modelfile.ReadWith(bytes.NewReader(file), nn.StoredReadOptions())
		if err != nil {
			t.Fatal(err)
		}
		if _, err := newTranslator(m, WithWeightPrecision(tc.weights)); err != nil {
			t.Fatal(err)
		}
		if got := m.Tensors["embed.weight"].Kept(); got != tc.kept {
			t.Errorf("int8 file, weights %s: embed.weight kept %v, want %v", tc.weights, got, tc.kept)
		}
	}
}
