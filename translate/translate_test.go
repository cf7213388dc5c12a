package translate

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"math"
	"math/rand"
	"path/filepath"
	"reflect"
	"sync"
	"testing"

	"github.com/deen-mt/deen/modelfile"
)

// smallConfig is a small random model for API tests (no tokenizer).
func smallConfig() modelfile.Config {
	const v = 97
	return modelfile.Config{
		Arch: "transformer", VocabSize: v, DModel: 16,
		EncoderLayers: 2, DecoderLayers: 2, EncoderHeads: 2, DecoderHeads: 2,
		EncoderFFN: 32, DecoderFFN: 32, Activation: "relu",
		ScaleEmbedding: true, Positions: modelfile.PositionsMarian, MaxPositions: 64,
		LayerNormEps: 1e-5, PadID: v - 1, EOSID: 0, UnkID: 1, DecoderStartID: v - 1,
		Generation: modelfile.Generation{NumBeams: 3, LengthPenalty: 1, MaxLength: 40, ForcedEOS: true, BadWordsIDs: []int{v - 1}},
	}
}

func smallTranslator(t *testing.T, opts ...Option) *Translator {
	t.Helper()
	m, err := randomWeights(smallConfig(), false)
	if err != nil {
		t.Fatal(err)
	}
	tr, err := newTranslator(m, opts...)
	if err != nil {
		t.Fatal(err)
	}
	return tr
}

// randomSources returns n source sentences of varied lengths ending in eos.
func randomSources(n int, cfg modelfile.Config) [][]int32 {
	r := rand.New(rand.NewSource(3))
	src := make([][]int32, n)
	for i := range src {
		l := 1 + r.Intn(20)
		for range l {
			src[i] = append(src[i], int32(2+r.Intn(cfg.VocabSize-3)))
		}
		src[i] = append(src[i], int32(cfg.EOSID))
	}
	return src
}

func sameResults(t *testing.T, what string, got, want []Result) {
	t.Helper()
	if len(got) != len(want) {
		t.Fatalf("%s: %d results, want %d", what, len(got), len(want))
	}
	for i := range got {
		if !reflect.DeepEqual(got[i].IDs, want[i].IDs) || math.Abs(float64(got[i].Score-want[i].Score)) > 1e-5 || len(got[i].NBest) != len(want[i].NBest) {
			t.Fatalf("%s: sentence %d: %+v, want %+v", what, i, got[i], want[i])
		}
	}
}

func TestBatchedEqualsAlone(t *testing.T) {
	batchedEqualsAlone(t, smallTranslator(t, WithBatchSize(5)))
}

// batchedEqualsAlone checks that tr gives each of 12 sentences the same
// result in a batch as alone, greedy and with 3 beams.
func batchedEqualsAlone(t *testing.T, tr *Translator) {
	t.Helper()
	src := randomSources(12, tr.cfg)
	for _, beams := range []int{1, 3} {
		o := tr.SearchOptions()
		o.BeamSize = beams
		batched, err := tr.TranslateIDs(context.Background(), src, o)
		if err != nil {
			t.Fatal(err)
		}
		var alone []Result
		for _, s := range src {
			r, err := tr.TranslateIDs(context.Background(), [][]int32{s}, o)
			if err != nil {
				t.Fatal(err)
			}
			alone = append(alone, r[0])
		}
		sameResults(t, fmt.Sprintf("beams %d", beams), batched, alone)
	}
}

func TestConcurrentUse(t *testing.T) {
	tr := smallTranslator(t, WithBatchSize(4))
	src := randomSources(8, tr.cfg)
	want, err := tr.TranslateIDs(context.Background(), src, tr.SearchOptions())
	if err != nil {
		t.Fatal(err)
	}
	var wg sync.WaitGroup
	got := make([][]Result, 4)
	errs := make([]error, 4)
	for g := range got {
		wg.Add(1)
		go func() {
			defer wg.Done()
			got[g], errs[g] = tr.TranslateIDs(context.Background(), src, tr.SearchOptions())
		}()
	}
	wg.Wait()
	for g := range got {
		if errs[g] != nil {
			t.Fatal(errs[g])
		}
		sameResults(t, "concurrent", got[g], want)
	}
}

func TestLengthGuard(t *testing.T) {
	// min_new_tokens keeps eos away, so only the limits end the output.
	tr := smallTranslator(t)
	src := [][]int32{{5, 6, 0}} // 3 source ids
	o := tr.SearchOptions()
	o.MinNewTokens = 100
	o.MaxLenRatio, o.MaxLenExtra = 2, 1 // at most 2·3+1 = 7 new tokens
	res, err := tr.TranslateIDs(context.Background(), src, o)
	if err != nil {
		t.Fatal(err)
	}
	if n := len(res[0].IDs); n != 7 || res[0].IDs[6] != 0 {
		t.Fatalf("guarded output %v, want 7 tokens ending in eos", res[0].IDs)
	}
	o.MaxLenRatio, o.MaxNewTokens = 0, 12
	res, err = tr.TranslateIDs(context.Background(), src, o)
	if err != nil {
		t.Fatal(err)
	}
	if n := len(res[0].IDs); n != 12 {
		t.Fatalf("unguarded output has %d tokens, want max new tokens 12", n)
	}
}

func TestErrors(t *testing.T) {
	m, err := randomWeights(smallConfig(), false)
	if err != nil {
		t.Fatal(err)
	}
	for _, opt := range []Option{WithBeamSize(0), WithBatchSize(0), WithThreads(0), WithMaxNewTokens(0),
		WithLengthPenalty(float32(math.NaN())), WithLengthGuard(-1, 0), WithNoRepeatNGram(-2)} {
		if _, err := newTranslator(m, opt); !errors.Is(err, ErrInvalidOption) {
			t.Errorf("New with a bad option: %v, want ErrInvalidOption", err)
		}
	}
	tr := smallTranslator(t)
	ctx := context.Background()
	for name, src := range map[string][][]int32{
		"empty":        {{}},
		"negative id":  {{3, -1, 0}},
		"id too large": {{3, 97, 0}},
		"too long":     {make([]int32, 100000)},
	} {
		if _, err := tr.TranslateIDs(ctx, src, tr.SearchOptions()); !errors.Is(err, ErrInvalidInput) {
			t.Errorf("%s: %v, want ErrInvalidInput", name, err)
		}
	}
	bad := tr.SearchOptions()
	bad.BeamSize = -1
	if _, err := tr.TranslateIDs(ctx, [][]int32{{3, 0}}, bad); !errors.Is(err, ErrInvalidOption) {
		t.Errorf("bad SearchOptions: %v, want ErrInvalidOption", err)
	}
	if _, err := tr.Translate(ctx, "Hallo"); !errors.Is(err, ErrNoTokenizer) {
		t.Errorf("Translate without tokenizer: %v, want ErrNoTokenizer", err)
	}
	cancelled, cancel := context.WithCancel(ctx)
	cancel()
	if _, err := tr.TranslateIDs(cancelled, [][]int32{{3, 0}}, tr.SearchOptions()); !errors.Is(err, context.Canceled) {
		t.Errorf("cancelled: %v, want context.Canceled", err)
	}
	if _, err := LoadReader(bytes.NewReader([]byte("not a model file at all"))); err == nil {
		t.Error("LoadReader of garbage: no error")
	}
	if _, err := Load("testdata/bench_de.txt"); err == nil {
		t.Error("Load of a text file: no error")
	}
	if _, err := newTranslator(nil); !errors.Is(err, ErrInvalidInput) {
		t.Errorf("newTranslator(nil): %v, want ErrInvalidInput", err)
	}
}

func TestLoadRoundTrip(t *testing.T) {
	m, err := randomWeights(smallConfig(), false)
	if err != nil {
		t.Fatal(err)
	}
	var buf bytes.Buffer
	if err := modelfile.Write(&buf, m, modelfile.WriteOptions{}); err != nil {
		t.Fatal(err)
	}
	loaded, err := LoadReader(&buf)
	if err != nil {
		t.Fatal(err)
	}
	direct, err := newTranslator(m)
	if err != nil {
		t.Fatal(err)
	}
	src := randomSources(3, m.Config)
	a, err := loaded.TranslateIDs(context.Background(), src, loaded.SearchOptions())
	if err != nil {
		t.Fatal(err)
	}
	b, err := direct.TranslateIDs(context.Background(), src, direct.SearchOptions())
	if err != nil {
		t.Fatal(err)
	}
	sameResults(t, "loaded vs direct", a, b)
}

// TestStoredSearchDefaults checks that the model file's search defaults
// (beam, length penalty, repetition guard) are the translator's, and that
// options override them.
func TestStoredSearchDefaults(t *testing.T) {
	cfg := smallConfig()
	cfg.Generation.NumBeams, cfg.Generation.LengthPenalty, cfg.Generation.NoRepeatNGram = 5, 0.8, 3
	m, err := randomWeights(cfg, false)
	if err != nil {
		t.Fatal(err)
	}
	tr, err := newTranslator(m)
	if err != nil {
		t.Fatal(err)
	}
	if o := tr.SearchOptions(); o.BeamSize != 5 || o.LengthPenalty != 0.8 || o.NoRepeatNGram != 3 {
		t.Errorf("defaults %+v, want beam 5, length penalty 0.8, no-repeat 3 from the file", o)
	}
	off, err := newTranslator(m, WithNoRepeatNGram(0), WithBeamSize(2))
	if err != nil {
		t.Fatal(err)
	}
	if o := off.SearchOptions(); o.BeamSize != 2 || o.NoRepeatNGram != 0 {
		t.Errorf("with options: %+v, want beam 2 and no guard", o)
	}
}

func TestModelInfo(t *testing.T) {
	m, err := randomWeights(smallConfig(), false)
	if err != nil {
		t.Fatal(err)
	}
	path := filepath.Join(t.TempDir(), "small-model.deen")
	if err := modelfile.WriteFile(path, m, modelfile.WriteOptions{DType: modelfile.F16}); err != nil {
		t.Fatal(err)
	}
	tr, err := Load(path, WithWeightPrecision("int8"))
	if err != nil {
		t.Fatal(err)
	}
	var params int64
	for _, w := range m.Tensors {
		params += int64(len(w.Data))
	}
	c := smallConfig()
	want := ModelInfo{Name: "small-model", Arch: c.Arch, EncoderLayers: c.EncoderLayers, DecoderLayers: c.DecoderLayers,
		DModel: c.DModel, EncoderHeads: c.EncoderHeads, DecoderHeads: c.DecoderHeads, EncoderFFN: c.EncoderFFN, DecoderFFN: c.DecoderFFN,
		Activation: c.Activation, VocabSize: c.VocabSize, MaxPositions: c.MaxPositions, EOSID: c.EOSID, Parameters: params,
		DType: "f16", WeightPrecision: "int8", Tokenizer: false}
	if got := tr.Model(); got != want {
		t.Fatalf("Model() = %+v\nwant %+v", got, want)
	}
	named, err := Load(path, WithModelName("mine"))
	if err != nil {
		t.Fatal(err)
	}
	// Without WithWeightPrecision (auto) the products take the file's
	// precision; a model built in memory is float32.
	if got := named.Model(); got.Name != "mine" || got.DType != "f16" || got.WeightPrecision != "f16" {
		t.Fatalf("WithModelName: %+v", got)
	}
	mem, err := newTranslator(m)
	if err != nil {
		t.Fatal(err)
	}
	if got := mem.Model().WeightPrecision; got != "f32" {
		t.Fatalf("in-memory model: weights %q, want f32", got)
	}
	if err := modelfile.WriteFile(path, m, modelfile.WriteOptions{DType: modelfile.Int8}); err != nil {
		t.Fatal(err)
	}
	for _, p := range []string{"auto", "f32"} {
		q, err := Load(path, WithWeightPrecision(p))
		if err != nil {
			t.Fatal(err)
		}
		want := map[string]string{"auto": "int8", "f32": "f32"}[p]
		if got := q.Model(); got.DType != "int8" || got.WeightPrecision != want {
			t.Fatalf("int8 file with %s: %+v, want weights %s", p, got, want)
		}
	}
}
