package train

import (
	"fmt"
	"math"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
)

func TestSplitDevSharesNoSentence(t *testing.T) {
	var pairs []Pair
	for i := 0; i < 3000; i++ {
		// Repeated sentences, case and spacing variants, and some English
		// sentences that translate two German ones.
		j := i % 400
		de := fmt.Sprintf("Ich sehe %d Hunde.", j)
		if i%3 == 0 {
			de = fmt.Sprintf("ich  sehe %d HUNDE.", j)
		}
		k := j
		if i%50 == 0 {
			k = (j + 1) % 400
		}
		pairs = append(pairs, Pair{De: de, En: fmt.Sprintf("I see %d dogs.", k)})
	}
	train, dev, err := SplitDev(pairs, 5)
	if err != nil {
		t.Fatal(err)
	}
	if len(dev) == 0 || len(train) == 0 {
		t.Fatalf("split gave %d train and %d dev pairs", len(train), len(dev))
	}
	devDe, devEn := map[string]bool{}, map[string]bool{}
	for _, p := range dev {
		devDe[Normalize(p.De)], devEn[Normalize(p.En)] = true, true
		if hashKey(p.De)%5 != 0 {
			t.Fatalf("dev pair %q does not satisfy the hash rule", p.De)
		}
	}
	for _, p := range train {
		if devDe[Normalize(p.De)] || devEn[Normalize(p.En)] {
			t.Fatalf("training pair %+v shares a sentence with dev", p)
		}
	}
	// The split depends on the text only, not on the order.
	rev := slices.Clone(pairs)
	slices.Reverse(rev)
	_, dev2, _ := SplitDev(rev, 5)
	if len(dev2) != len(dev) {
		t.Fatalf("reversed input gives %d dev pairs, not %d", len(dev2), len(dev))
	}
	if _, _, err := SplitDev(pairs, 1); err == nil {
		t.Error("modulus 1 accepted")
	}
}

func TestReadPairs(t *testing.T) {
	dir := t.TempDir()
	a, b := filepath.Join(dir, "a"), filepath.Join(dir, "b")
	os.WriteFile(a, []byte("Hallo\r\n\nEins\n"), 0o644)
	os.WriteFile(b, []byte("Hello\nEmpty\nOne\n"), 0o644)
	pairs, err := ReadPairs(a, b)
	if err != nil {
		t.Fatal(err)
	}
	want := []Pair{{"Hallo", "Hello"}, {"Eins", "One"}}
	if !slices.Equal(pairs, want) {
		t.Fatalf("got %+v, want %+v", pairs, want)
	}
	os.WriteFile(b, []byte("Hello\n"), 0o644)
	if _, err := ReadPairs(a, b); err == nil {
		t.Error("files of different line counts accepted")
	}
	if _, err := ReadPairs(a, filepath.Join(dir, "missing")); err == nil {
		t.Error("missing file accepted")
	}
}

func TestBatches(t *testing.T) {
	var ex []Example
	for i := 0; i < 500; i++ {
		ex = append(ex, Example{Src: make([]int32, 1+i%37), Tgt: make([]int32, 1+(i*7)%23)})
	}
	ex = append(ex, Example{Src: make([]int32, 300), Tgt: make([]int32, 2)}) // longer than the bound
	const maxTokens = 200
	b1 := Batches(ex, maxTokens, 3, 0)
	seen := make([]int, len(ex))
	for _, b := range b1 {
		s, tl := 0, 0
		for _, i := range b {
			seen[i]++
			s, tl = max(s, len(ex[i].Src)), max(tl, len(ex[i].Tgt))
		}
		if len(b) > 1 && paddedTokens(len(b), s, tl) > maxTokens {
			t.Fatalf("batch of %d sentences, longest %d/%d, exceeds %d tokens", len(b), s, tl, maxTokens)
		}
	}
	for i, n := range seen {
		if n != 1 {
			t.Fatalf("example %d is in %d batches", i, n)
		}
	}
	if !slices.EqualFunc(b1, Batches(ex, maxTokens, 3, 0), slices.Equal) {
		t.Error("same seed and epoch give different batches")
	}
	if slices.EqualFunc(b1, Batches(ex, maxTokens, 3, 1), slices.Equal) {
		t.Error("two epochs give the same batches")
	}
}

func TestLearningRate(t *testing.T) {
	const peak, warm = 1e-3, 100
	if lr := LearningRate(warm, warm, peak); math.Abs(lr-peak) > 1e-12 {
		t.Errorf("lr at the end of warm-up %g, want %g", lr, peak)
	}
	if lr := LearningRate(4*warm, warm, peak); math.Abs(lr-peak/2) > 1e-12 {
		t.Errorf("lr at 4×warm-up %g, want %g (inverse square root)", lr, peak/2)
	}
	for s := 2; s < 1000; s++ {
		up := LearningRate(s, warm, peak) > LearningRate(s-1, warm, peak)
		if up != (s <= warm) {
			t.Fatalf("lr rises=%v at step %d", up, s)
		}
	}
}

// TestCooldown checks the linear fall of the rate before max_steps: the
// schedule's own rate up to the cooldown, then strictly falling to a last
// positive step, and the options that make no sense refused.
func TestCooldown(t *testing.T) {
	o := DefaultOptions()
	o.MaxSteps, o.Cooldown = 5000, 1000
	for s := 1; s <= 4000; s++ {
		if o.learningRate(s) != LearningRate(s, o.Warmup, o.LR) {
			t.Fatalf("step %d: rate %g before the cooldown, want the schedule's %g", s, o.learningRate(s), LearningRate(s, o.Warmup, o.LR))
		}
	}
	for s := 4001; s <= 5000; s++ {
		if lr, prev := o.learningRate(s), o.learningRate(s-1); lr >= prev || lr <= 0 {
			t.Fatalf("step %d: rate %g after %g, want falling and positive", s, lr, prev)
		}
	}
	if f := CooldownFactor(4500, 5000, 1000); math.Abs(f-501.0/1001) > 1e-12 {
		t.Errorf("half way: factor %g, want %g", f, 501.0/1001)
	}
	if f := CooldownFactor(5000, 5000, 0); f != 1 {
		t.Errorf("no cooldown: factor %g", f)
	}
	for _, c := range [][2]int{{0, 100}, {100, 100}, {50, -1}} {
		o.MaxSteps, o.Cooldown = c[0], c[1]
		if err := o.Validate(); err == nil || !strings.Contains(err.Error(), "cooldown") {
			t.Errorf("max_steps %d, cooldown %d: %v", c[0], c[1], err)
		}
	}
}

// TestAdamW checks Adam's first step (each weight moves by lr against the
// sign of its gradient, whatever the gradient's size), that decay touches
// only Decay tensors, and gradient clipping.
func TestAdamW(t *testing.T) {
	ps := NewParams([]string{"w", "b"}, [][]int{{2, 2}, {2}}, []bool{true, false})
	copy(ps.W, []float32{1, -1, 2, 0, 3, 3})
	copy(ps.G, []float32{1e-3, -5, 0, 7, 2, -2})
	norm := ps.ClipGrad(1)
	want := math.Sqrt(1e-6 + 25 + 49 + 4 + 4)
	if math.Abs(norm-want) > 1e-4 {
		t.Fatalf("grad norm %g, want %g", norm, want)
	}
	var s float64
	for _, g := range ps.G {
		s += float64(g) * float64(g)
	}
	if math.Abs(math.Sqrt(s)-1) > 1e-5 {
		t.Fatalf("clipped norm %g, want 1", math.Sqrt(s))
	}
	o := NewAdamW(len(ps.W), 0.9, 0.98, 1e-12, 0.5)
	const lr = 0.01
	o.Step(ps, lr)
	wantW := []float64{1*(1-lr*0.5) - lr, -1*(1-lr*0.5) + lr, 2 * (1 - lr*0.5), 0 - lr, 3 - lr, 3 + lr}
	for i, w := range ps.W {
		if math.Abs(float64(w)-wantW[i]) > 1e-6 {
			t.Errorf("weight %d after one step %g, want %g", i, w, wantW[i])
		}
	}
}
