package gpt

import (
	"context"
	"math"
	"math/rand/v2"
	"slices"
	"testing"

	"github.com/deen-mt/deen/modelfile"
	"github.com/deen-mt/deen/nn"
	"github.com/deen-mt/deen/nn/nntest"
)

// tiny returns a random small GPT (vocabulary 23, d 16, 2 layers, 4 heads,
// block 12) with weights of a larger scale than nanoGPT's init, so that
// the logits are far from uniform and every path matters.
func tiny(t testing.TB, noBias bool, seed uint64) *modelfile.Model {
	t.Helper()
	m, err := NewRandom(NewConfig(23, 16, 2, 4, 12, noBias), seed, nil)
	if err != nil {
		t.Fatal(err)
	}
	rng := rand.New(rand.NewPCG(seed, 9))
	for _, tn := range m.Tensors {
		for i := range tn.Data {
			tn.Data[i] += float32(rng.NormFloat64() * 0.3)
		}
	}
	return m
}

// zeros returns a model of zero tensors shaped like m's (gradients).
func zeros(m *modelfile.Model) *modelfile.Model {
	g := &modelfile.Model{Config: m.Config, Tensors: map[string]*modelfile.Tensor{}}
	for name, t := range m.Tensors {
		g.Tensors[name] = &modelfile.Tensor{Name: name, Shape: t.Shape, Data: make([]float32, len(t.Data))}
	}
	return g
}

// packed returns two sequences packed end to end: inputs (start id first)
// and labels (the next ids, end id last).
func packed(start int32) (ids, labels []int32, s nn.Seqs) {
	a, b := []int32{3, 7, 7, 12}, []int32{5, 20, 1}
	for _, seq := range [][]int32{a, b} {
		s.Off, s.Len = append(s.Off, len(ids)), append(s.Len, len(seq)+1)
		ids = append(ids, start)
		ids = append(ids, seq...)
		labels = append(labels, seq...)
		labels = append(labels, 0)
	}
	return ids, labels, s
}

// TestTrainerGradients checks every weight gradient of the whole model
// (loss = mean cross-entropy of two packed sequences, dropout under a
// fixed mask) against central differences, with and without biases.
func TestTrainerGradients(t *testing.T) {
	for _, noBias := range []bool{false, true} {
		t.Run(map[bool]string{false: "bias", true: "nobias"}[noBias], func(t *testing.T) {
			m := tiny(t, noBias, 1)
			g := zeros(m)
			tr, err := NewTrainer(m, g, m.Config)
			if err != nil {
				t.Fatal(err)
			}
			ids, labels, s := packed(int32(m.Config.DecoderStartID))
			loss := func() float64 {
				l, n := tr.Forward(ids, labels, s, 0.1, rand.New(rand.NewPCG(3, 3)))
				return l / float64(n)
			}
			_, n := tr.Forward(ids, labels, s, 0.1, rand.New(rand.NewPCG(3, 3)))
			tr.Backward(labels, 1/float32(n))
			for name, w := range m.Tensors {
				checkGrad(t, name, w.Data, g.Tensors[name].Data, loss)
			}
		})
	}
}

// checkGrad compares analytic gradients with central differences (h 1e-2
// on float32 ops) at up to 48 elements spread over the tensor: the
// relative L2 error over them must be below 2%.
// Where the numeric gradient is float32 noise (norm below 1e-4, as for
// the key bias, which softmax ignores) the analytic one must be too.
func checkGrad(t *testing.T, name string, x, analytic []float32, loss func() float64) {
	t.Helper()
	const h = 1e-2
	var num2, diff2, an2 float64
	stride := max(1, len(x)/48)
	for i := 0; i < len(x); i += stride {
		n := nntest.CentralDiff(x, i, h, loss)
		num2 += n * n
		diff2 += (n - float64(analytic[i])) * (n - float64(analytic[i]))
		an2 += float64(analytic[i]) * float64(analytic[i])
	}
	if num2 < 1e-8 {
		if an2 > 1e-8 {
			t.Errorf("%s: numeric gradient norm %g, analytic %g", name, math.Sqrt(num2), math.Sqrt(an2))
		}
		return
	}
	if rel := math.Sqrt(diff2 / num2); rel > 0.02 {
		t.Errorf("%s: relative gradient error %.4f (numeric norm %.4g)", name, rel, math.Sqrt(num2))
	}
}

// TestForwardMatchesTrainer checks that the inference Forward (padded
// batch) and the Trainer (packed, no dropout) compute the same logits, and
// that Score is the negative of the trainer's summed loss per sequence.
func TestForwardMatchesTrainer(t *testing.T) {
	m := tiny(t, false, 2)
	g, err := New(m)
	if err != nil {
		t.Fatal(err)
	}
	tr, err := NewTrainer(m, zeros(m), m.Config)
	if err != nil {
		t.Fatal(err)
	}
	start := int32(m.Config.DecoderStartID)
	ids, labels, s := packed(start)
	loss, _ := tr.Forward(ids, labels, s, 0, nil)
	packedLogits := tr.Logits()
	// The same two sequences right-padded to 5 positions.
	T := 5
	in := []int32{start, 3, 7, 7, 12, start, 5, 20, 1, start}
	var sc Scratch
	logits := g.Forward(in, 2, T, []int{5, 4}, &sc)
	v := g.VocabSize()
	for b := range s.Off {
		for r := 0; r < s.Len[b]; r++ {
			want := packedLogits[(s.Off[b]+r)*v : (s.Off[b]+r+1)*v]
			got := logits[(b*T+r)*v : (b*T+r+1)*v]
			for j := range want {
				if d := math.Abs(float64(got[j] - want[j])); d > 1e-5*(1+math.Abs(float64(want[j]))) {
					t.Fatalf("sequence %d row %d logit %d: Forward %g, Trainer %g", b, r, j, got[j], want[j])
				}
			}
		}
	}
	scores, err := g.Score([][]int32{{3, 7, 7, 12}, {5, 20, 1}}, &sc)
	if err != nil {
		t.Fatal(err)
	}
	if sum := -(scores[0] + scores[1]); math.Abs(sum-loss) > 1e-4*math.Abs(loss) {
		t.Errorf("Score sums to %g, trainer loss %g", sum, loss)
	}
	// Scoring one at a time equals scoring in a batch.
	for i, seq := range [][]int32{{3, 7, 7, 12}, {5, 20, 1}} {
		one, err := g.Score([][]int32{seq}, &sc)
		if err != nil {
			t.Fatal(err)
		}
		if math.Abs(one[0]-scores[i]) > 1e-5*math.Abs(scores[i]) {
			t.Errorf("sequence %d alone %g, in a batch %g", i, one[0], scores[i])
		}
	}
}

// TestStepMatchesForward checks the KV-cache path: the logits of every
// Step equal Forward's row for that position, and Generate with a seed
// gives the same tokens as sampling with full recomputation of the prefix
// at every step.
func TestStepMatchesForward(t *testing.T) {
	for _, noBias := range []bool{false, true} {
		m := tiny(t, noBias, 3)
		g, err := New(m)
		if err != nil {
			t.Fatal(err)
		}
		seq := []int32{int32(m.Config.DecoderStartID), 4, 9, 9, 2, 17, 5, 11}
		var sc Scratch
		full := g.Forward(seq, 1, len(seq), nil, &sc)
		st := g.NewState()
		v := g.VocabSize()
		for i, id := range seq {
			got, err := st.Step(id)
			if err != nil {
				t.Fatal(err)
			}
			for j, w := range full[i*v : (i+1)*v] {
				if math.Abs(float64(got[j]-w)) > 1e-5*(1+math.Abs(float64(w))) {
					t.Fatalf("nobias=%v position %d logit %d: Step %g, Forward %g", noBias, i, j, got[j], w)
				}
			}
		}
		for _, opts := range []SampleOptions{{MaxNew: 9, Temperature: 1}, {MaxNew: 9, Temperature: 0.7, TopK: 5}, {MaxNew: 9}} {
			prompt := []int32{4, 9}
			cached, err := g.Generate(context.Background(), prompt, opts, rand.New(rand.NewPCG(7, 7)))
			if err != nil {
				t.Fatal(err)
			}
			recomputed := sampleRecomputing(g, prompt, opts, rand.New(rand.NewPCG(7, 7)))
			if !slices.Equal(cached, recomputed) {
				t.Errorf("nobias=%v %+v: cached sampling %v, full recomputation %v", noBias, opts, cached, recomputed)
			}
			again, _ := g.Generate(context.Background(), prompt, opts, rand.New(rand.NewPCG(7, 7)))
			if !slices.Equal(cached, again) {
				t.Errorf("same seed, different text: %v then %v", cached, again)
			}
		}
	}
}

// sampleRecomputing is Generate without the cache: Forward over the whole
// prefix before every token.
func sampleRecomputing(g *Model, prompt []int32, opts SampleOptions, rng *rand.Rand) []int32 {
	seq := append([]int32{g.start}, prompt...)
	var gen []int32
	var sc Scratch
	var scratch []float32
	for len(gen) < opts.MaxNew && len(seq) <= g.BlockSize() {
		logits := g.Forward(seq, 1, len(seq), nil, &sc)
		last := slices.Clone(logits[(len(seq)-1)*g.vocab:])
		last[g.start] = float32(math.Inf(-1))
		next := SampleToken(last, opts.Temperature, opts.TopK, rng, &scratch)
		if next == g.eos {
			break
		}
		gen = append(gen, next)
		seq = append(seq, next)
	}
	return gen
}

// TestErrors checks that bad inputs give errors, not panics.
func TestErrors(t *testing.T) {
	m := tiny(t, false, 4)
	g, err := New(m)
	if err != nil {
		t.Fatal(err)
	}
	var sc Scratch
	if _, err := g.Score([][]int32{{1, 2, 99}}, &sc); err == nil {
		t.Error("Score accepted id 99 of a 23-piece vocabulary")
	}
	if _, err := g.Score([][]int32{make([]int32, 12)}, &sc); err == nil {
		t.Error("Score accepted 12 ids with block size 12")
	}
	if _, err := g.Generate(context.Background(), nil, SampleOptions{MaxNew: 1, Temperature: -1}, rand.New(rand.NewPCG(1, 1))); err == nil {
		t.Error("Generate accepted temperature -1")
	}
	st := g.NewState()
	for i := 0; i < 12; i++ {
		if _, err := st.Step(1); err != nil {
			t.Fatal(err)
		}
	}
	if _, err := st.Step(1); err == nil {
		t.Error("Step past the block size gave no error")
	}
	tm := *m
	tm.Config.Arch = modelfile.ArchTransformer
	if _, err := New(&tm); err == nil {
		t.Error("New accepted a translation model")
	}
}

// TestBigram checks the add-one estimates on a hand-counted example and
// that each conditional distribution sums to one.
func TestBigram(t *testing.T) {
	b := NewBigram(4, 3, 0) // ids 0 (end), 1, 2, 3 (start)
	b.Add([]int32{1, 2})
	b.Add([]int32{1})
	// p(1|start) = (2+1)/(2+4), p(0|1) = (1+1)/(2+4): log of their product.
	lp, err := b.LogProb([]int32{1})
	if err != nil {
		t.Fatal(err)
	}
	if want := math.Log(3.0 / 6 * 2.0 / 6); math.Abs(lp-want) > 1e-12 {
		t.Errorf("LogProb = %g, want %g", lp, want)
	}
	for _, u := range []int32{3, 1, 2, 0} {
		var sum float64
		for w := int32(0); w < 4; w++ {
			sum += float64(b.pairs[[2]int32{u, w}]+1) / float64(b.unigrams[u]+4)
		}
		if math.Abs(sum-1) > 1e-12 {
			t.Errorf("p(·|%d) sums to %g", u, sum)
		}
	}
	if _, err := b.LogProb([]int32{7}); err == nil {
		t.Error("LogProb accepted id 7 of 4")
	}
}
