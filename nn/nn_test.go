package nn

import (
	"math"
	"math/rand/v2"
	"testing"

	"github.com/deen-mt/deen/internal/kernels"
	"github.com/deen-mt/deen/nn/nntest"
)

// randVec returns n values uniform in [-s, s).
func randVec(rng *rand.Rand, n int, s float32) []float32 {
	x := make([]float32, n)
	for i := range x {
		x[i] = (rng.Float32()*2 - 1) * s
	}
	return x
}

// weighted returns Σ out[i]·r[i] in float64: a scalar loss whose gradient
// with respect to out is r.
func weighted(out, r []float32) float64 {
	var s float64
	for i := range out {
		s += float64(out[i]) * float64(r[i])
	}
	return s
}

// checkGrad compares an analytic gradient of loss with respect to x against
// central differences (h = 1e-2 on float32 ops, loss summed in float64).
func checkGrad(t *testing.T, name string, x, analytic []float32, loss func() float64) {
	t.Helper()
	const h = 1e-2
	var num2, diff2 float64
	worst, worstAt := 0.0, -1
	for i := range x {
		n := nntest.CentralDiff(x, i, h, loss)
		d := math.Abs(n - float64(analytic[i]))
		num2 += n * n
		diff2 += d * d
		if tol := 2e-3 + 1e-2*math.Abs(n); d > tol && d > worst {
			worst, worstAt = d, i
		}
	}
	if worstAt >= 0 {
		t.Errorf("%s: gradient[%d] analytic %g, numeric differs by %g", name, worstAt, analytic[worstAt], worst)
	}
	if num2 > 0 && math.Sqrt(diff2/num2) > 1e-2 {
		t.Errorf("%s: relative gradient error %g", name, math.Sqrt(diff2/num2))
	}
}

func TestLinear(t *testing.T) {
	rng := rand.New(rand.NewPCG(1, 2))
	n, in, out := 5, 7, 3
	x, w, b := randVec(rng, n*in, 1), randVec(rng, out*in, 1), randVec(rng, out, 1)
	y := make([]float32, n*out)
	LinearForward(y, x, w, b, n, in, out)
	for i := 0; i < n; i++ {
		for o := 0; o < out; o++ {
			ref := float64(b[o])
			for j := 0; j < in; j++ {
				ref += float64(x[i*in+j]) * float64(w[o*in+j])
			}
			if d := math.Abs(ref - float64(y[i*out+o])); d > 1e-5 {
				t.Fatalf("y[%d,%d] = %g, want %g", i, o, y[i*out+o], ref)
			}
		}
	}
	r := randVec(rng, n*out, 1)
	dx, dw, db := make([]float32, n*in), make([]float32, out*in), make([]float32, out)
	LinearBackward(dx, dw, db, r, x, w, n, in, out)
	loss := func() float64 { LinearForward(y, x, w, b, n, in, out); return weighted(y, r) }
	checkGrad(t, "Linear dx", x, dx, loss)
	checkGrad(t, "Linear dw", w, dw, loss)
	checkGrad(t, "Linear db", b, db, loss)
}

func TestLayerNorm(t *testing.T) {
	rng := rand.New(rand.NewPCG(3, 4))
	n, d := 4, 10
	x, w, b := randVec(rng, n*d, 2), randVec(rng, d, 1), randVec(rng, d, 1)
	y, mean, rstd := make([]float32, n*d), make([]float32, n), make([]float32, n)
	LayerNormForward(y, mean, rstd, x, w, b, n, d, 1e-5)
	for i := 0; i < n; i++ {
		var m, v float64
		for j := 0; j < d; j++ {
			m += float64(x[i*d+j])
		}
		m /= float64(d)
		for j := 0; j < d; j++ {
			v += (float64(x[i*d+j]) - m) * (float64(x[i*d+j]) - m)
		}
		v /= float64(d)
		for j := 0; j < d; j++ {
			ref := (float64(x[i*d+j])-m)/math.Sqrt(v+1e-5)*float64(w[j]) + float64(b[j])
			if dd := math.Abs(ref - float64(y[i*d+j])); dd > 1e-5 {
				t.Fatalf("y[%d,%d] = %g, want %g", i, j, y[i*d+j], ref)
			}
		}
	}
	r := randVec(rng, n*d, 1)
	dx, dw, db := make([]float32, n*d), make([]float32, d), make([]float32, d)
	LayerNormBackward(dx, dw, db, r, x, mean, rstd, w, n, d)
	loss := func() float64 { LayerNormForward(y, nil, nil, x, w, b, n, d, 1e-5); return weighted(y, r) }
	checkGrad(t, "LayerNorm dx", x, dx, loss)
	checkGrad(t, "LayerNorm dw", w, dw, loss)
	checkGrad(t, "LayerNorm db", b, db, loss)
}

func TestActivations(t *testing.T) {
	// Reference values: Φ(1) = 0.8413447460685429, sigmoid(1) = 0.7310585786300049.
	known := []struct {
		a       Activation
		x, want float64
	}{
		{ReLU, -1, 0}, {ReLU, 2, 2},
		{SiLU, 1, 0.7310585786300049}, {SiLU, -1, -0.2689414213699951},
		{GELU, 1, 0.8413447460685429}, {GELU, -1, -0.15865525393145707},
	}
	for _, k := range known {
		out := []float32{0}
		k.a.Forward(out, []float32{float32(k.x)})
		if math.Abs(float64(out[0])-k.want) > 5e-7*max(1, math.Abs(k.want)) {
			t.Errorf("%v(%g) = %g, want %g", k.a, k.x, out[0], k.want)
		}
	}
	// SiLU over a wide range (past exp's float32 range) against float64.
	xs := make([]float32, 1000)
	for i := range xs {
		xs[i] = float32(i-500) * 0.23
	}
	ys := make([]float32, len(xs))
	SiLU.Forward(ys, xs)
	for i, v := range xs {
		want := float64(v) / (1 + math.Exp(-float64(v)))
		if d := math.Abs(float64(ys[i]) - want); d > 5e-7*max(1, math.Abs(want)) {
			t.Fatalf("silu(%g) = %g, want %g", v, ys[i], want)
		}
	}
	rng := rand.New(rand.NewPCG(5, 6))
	for _, a := range []Activation{ReLU, SiLU, GELU} {
		x := randVec(rng, 40, 4)
		for i := range x { // keep ReLU's kink out of the finite differences
			if math.Abs(float64(x[i])) < 0.05 {
				x[i] = 0.5
			}
		}
		y, r, dx := make([]float32, len(x)), randVec(rng, len(x), 1), make([]float32, len(x))
		a.Backward(dx, r, x)
		checkGrad(t, a.String(), x, dx, func() float64 { a.Forward(y, x); return weighted(y, r) })
	}
	for _, name := range []string{"relu", "swish", "silu", "gelu"} {
		if _, err := ParseActivation(name); err != nil {
			t.Error(err)
		}
	}
	if _, err := ParseActivation("tanh"); err == nil {
		t.Error("ParseActivation(tanh) gave no error")
	}
}

func TestSoftmaxAndLogSoftmax(t *testing.T) {
	rng := rand.New(rand.NewPCG(7, 8))
	n, c := 3, 9
	x := randVec(rng, n*c, 5)
	x[4] = 80 // large values must not overflow
	y := make([]float32, n*c)
	soft := func() { copy(y, x); Softmax(y, n, c) }
	soft()
	for i := 0; i < n; i++ {
		var m float64 = -math.MaxFloat64
		for j := 0; j < c; j++ {
			m = max(m, float64(x[i*c+j]))
		}
		var s float64
		for j := 0; j < c; j++ {
			s += math.Exp(float64(x[i*c+j]) - m)
		}
		for j := 0; j < c; j++ {
			ref := math.Exp(float64(x[i*c+j])-m) / s
			if d := math.Abs(ref - float64(y[i*c+j])); d > 1e-6 {
				t.Fatalf("softmax[%d,%d] = %g, want %g", i, j, y[i*c+j], ref)
			}
		}
	}
	x[4] = 1
	r := randVec(rng, n*c, 1)
	soft()
	dx := make([]float32, n*c)
	SoftmaxBackward(dx, r, y, n, c)
	checkGrad(t, "Softmax", x, dx, func() float64 { soft(); return weighted(y, r) })

	soft() // checkGrad left y at a perturbed x
	ls := make([]float32, n*c)
	LogSoftmax(ls, x, n, c)
	for i := range ls {
		if d := math.Abs(math.Exp(float64(ls[i])) - float64(y[i])); d > 1e-6 {
			t.Fatalf("exp(logsoftmax)[%d] = %g, softmax %g", i, math.Exp(float64(ls[i])), y[i])
		}
	}
	clear(dx)
	LogSoftmaxBackward(dx, r, ls, n, c)
	checkGrad(t, "LogSoftmax", x, dx, func() float64 { LogSoftmax(ls, x, n, c); return weighted(ls, r) })
}

// naiveAttention is multi-head attention in float64 with an explicit
// additive mask, written from the formula.
func naiveAttention(q, k, v []float32, tq, tk, d, heads, keyLen int, causal bool) []float64 {
	hd := d / heads
	out := make([]float64, tq*d)
	for h := 0; h < heads; h++ {
		for i := 0; i < tq; i++ {
			s := make([]float64, tk)
			for j := 0; j < tk; j++ {
				for c := 0; c < hd; c++ {
					s[j] += float64(q[i*d+h*hd+c]) * float64(k[j*d+h*hd+c])
				}
				s[j] /= math.Sqrt(float64(hd))
				if j >= keyLen || (causal && j > i+tk-tq) {
					s[j] += float64(MaskValue)
				}
			}
			m := s[0]
			for _, x := range s {
				m = max(m, x)
			}
			var z float64
			for j := range s {
				s[j] = math.Exp(s[j] - m)
				z += s[j]
			}
			for j := range s {
				for c := 0; c < hd; c++ {
					out[i*d+h*hd+c] += s[j] / z * float64(v[j*d+h*hd+c])
				}
			}
		}
	}
	return out
}

func TestAttention(t *testing.T) {
	rng := rand.New(rand.NewPCG(9, 10))
	cases := []struct {
		tq, tk, d, heads, keyLen int
		causal                   bool
	}{
		{4, 6, 8, 2, 6, false},
		{4, 6, 8, 2, 3, false},
		{5, 5, 12, 3, 5, true},
		{2, 5, 12, 3, 4, true},
		{3, 4, 6, 1, 0, false}, // no visible key: uniform
	}
	for _, c := range cases {
		q, k, v := randVec(rng, c.tq*c.d, 1), randVec(rng, c.tk*c.d, 1), randVec(rng, c.tk*c.d, 1)
		out, probs := make([]float32, c.tq*c.d), make([]float32, c.heads*c.tq*c.tk)
		AttentionForward(out, probs, q, k, v, c.tq, c.tk, c.d, c.heads, c.keyLen, c.causal)
		ref := naiveAttention(q, k, v, c.tq, c.tk, c.d, c.heads, c.keyLen, c.causal)
		for i := range ref {
			if d := math.Abs(ref[i] - float64(out[i])); d > 1e-5 {
				t.Fatalf("%+v: out[%d] = %g, want %g", c, i, out[i], ref[i])
			}
		}
		if c.keyLen == 0 {
			continue
		}
		r := randVec(rng, len(out), 1)
		dq, dk, dv := make([]float32, len(q)), make([]float32, len(k)), make([]float32, len(v))
		AttentionBackward(dq, dk, dv, r, q, k, v, probs, make([]float32, c.tq*c.tk), c.tq, c.tk, c.d, c.heads)
		loss := func() float64 {
			AttentionForward(out, probs, q, k, v, c.tq, c.tk, c.d, c.heads, c.keyLen, c.causal)
			return weighted(out, r)
		}
		checkGrad(t, "Attention dq", q, dq, loss)
		checkGrad(t, "Attention dk", k, dk, loss)
		checkGrad(t, "Attention dv", v, dv, loss)
	}
}

func TestAttentionGather(t *testing.T) {
	rng := rand.New(rand.NewPCG(11, 12))
	tk, d, heads := 5, 12, 3
	k, v := randVec(rng, 3*tk*d, 1), randVec(rng, 3*tk*d, 1) // keys scattered at stride 3 rows
	q := randVec(rng, d, 1)
	kc, vc := make([]float32, tk*d), make([]float32, tk*d)
	offs := make([]int, tk)
	for j := range offs {
		offs[j] = (3*j + 1) * d
		copy(kc[j*d:], k[offs[j]:offs[j]+d])
		copy(vc[j*d:], v[offs[j]:offs[j]+d])
	}
	out := make([]float32, d)
	AttentionGather(out, q, k, v, offs, d, heads, make([]float32, (heads+1)*tk))
	ref := naiveAttention(q, kc, vc, 1, tk, d, heads, tk, false)
	for i := range ref {
		if dd := math.Abs(ref[i] - float64(out[i])); dd > 1e-5 {
			t.Fatalf("out[%d] = %g, want %g", i, out[i], ref[i])
		}
	}
}

// TestAttentionGatherBits checks that AttentionGather gives the bits of a
// Dot, SoftmaxRow and Axpy per head (key by key), for head widths on the
// kernels' vector path (64) and off it (4, 12).
func TestAttentionGatherBits(t *testing.T) {
	rng := rand.New(rand.NewPCG(15, 16))
	for _, s := range []struct{ d, heads, tk int }{{512, 8, 1}, {512, 8, 19}, {12, 3, 5}, {48, 4, 7}} {
		hd := s.d / s.heads
		k, v := randVec(rng, 2*s.tk*s.d, 1), randVec(rng, 2*s.tk*s.d, 1)
		q := randVec(rng, s.d, 1)
		offs := make([]int, s.tk)
		for j := range offs {
			offs[j] = 2 * j * s.d
		}
		want := make([]float32, s.d)
		sc := make([]float32, s.tk)
		for h := range s.heads {
			for j, off := range offs {
				sc[j] = kernels.Dot(q[h*hd:(h+1)*hd], k[off+h*hd:off+(h+1)*hd]) * AttentionScale(hd)
			}
			SoftmaxRow(sc)
			for j, off := range offs {
				kernels.Axpy(sc[j], v[off+h*hd:off+(h+1)*hd], want[h*hd:(h+1)*hd])
			}
		}
		got := randVec(rng, s.d, 1) // overwritten
		AttentionGather(got, q, k, v, offs, s.d, s.heads, make([]float32, (s.heads+1)*s.tk))
		for i := range want {
			if math.Float32bits(got[i]) != math.Float32bits(want[i]) {
				t.Fatalf("%+v: out[%d] = %v, per-head %v", s, i, got[i], want[i])
			}
		}
	}
}

func TestEmbeddingAndResidual(t *testing.T) {
	rng := rand.New(rand.NewPCG(13, 14))
	vocab, d := 6, 4
	table := randVec(rng, vocab*d, 1)
	ids := []int32{2, 5, 2, 0}
	out := make([]float32, len(ids)*d)
	Embedding(out, ids, table, d, 2)
	for i, id := range ids {
		for j := 0; j < d; j++ {
			if out[i*d+j] != 2*table[int(id)*d+j] {
				t.Fatalf("embedding row %d col %d", i, j)
			}
		}
	}
	r := randVec(rng, len(out), 1)
	dt := make([]float32, len(table))
	EmbeddingBackward(dt, r, ids, d, 2)
	checkGrad(t, "Embedding", table, dt, func() float64 { Embedding(out, ids, table, d, 2); return weighted(out, r) })

	a, b := randVec(rng, 8, 1), randVec(rng, 8, 1)
	s := make([]float32, 8)
	da, db := make([]float32, 8), make([]float32, 8)
	ResidualBackward(da, db, r[:8])
	loss := func() float64 { Residual(s, a, b); return weighted(s, r[:8]) }
	checkGrad(t, "Residual a", a, da, loss)
	checkGrad(t, "Residual b", b, db, loss)
}

func TestSinusoidal(t *testing.T) {
	n, d := 7, 10
	m := SinusoidalMarian(n, d)
	il := SinusoidalInterleaved(n, d)
	for pos := 0; pos < n; pos++ {
		for i := 0; i < d/2; i++ {
			a := float64(pos) / math.Pow(10000, float64(2*i)/float64(d))
			s, c := float32(math.Sin(a)), float32(math.Cos(a))
			if m[pos*d+i] != s || m[pos*d+d/2+i] != c {
				t.Fatalf("marian[%d][%d]: got %g,%g want %g,%g", pos, i, m[pos*d+i], m[pos*d+d/2+i], s, c)
			}
			if il[pos*d+2*i] != s || il[pos*d+2*i+1] != c {
				t.Fatalf("interleaved[%d][%d]", pos, i)
			}
		}
	}
	if m[0] != 0 || m[d/2] != 1 {
		t.Errorf("position 0 should be sin 0 = 0, cos 0 = 1: %v", m[:d])
	}
	// odd width: ceil(d/2) sines then floor(d/2) cosines
	o := SinusoidalMarian(3, 5)
	if a := 2 / math.Pow(10000, 4.0/5); o[2*5+2] != float32(math.Sin(a)) || o[2*5+4] != float32(math.Cos(2/math.Pow(10000, 2.0/5))) {
		t.Errorf("odd width table row 2: %v", o[10:15])
	}
}

func TestCrossEntropy(t *testing.T) {
	rng := rand.New(rand.NewPCG(15, 16))
	n, v := 4, 7
	const ignore = 6
	logits := randVec(rng, n*v, 3)
	targets := []int32{1, ignore, 0, 5}
	for _, eps := range []float32{0, 0.1} {
		losses, probs := make([]float32, n), make([]float32, n*v)
		sum, count := CrossEntropyForward(losses, probs, logits, targets, n, v, eps, ignore)
		if count != 3 {
			t.Fatalf("count = %d, want 3", count)
		}
		var ref float64
		for i := 0; i < n; i++ {
			if targets[i] == ignore {
				if losses[i] != 0 {
					t.Errorf("ignored row %d has loss %g", i, losses[i])
				}
				continue
			}
			var z float64
			for j := 0; j < v; j++ {
				z += math.Exp(float64(logits[i*v+j]))
			}
			var l float64
			for j := 0; j < v; j++ {
				w := float64(eps) / float64(v)
				if j == int(targets[i]) {
					w += 1 - float64(eps)
				}
				l -= w * (float64(logits[i*v+j]) - math.Log(z))
			}
			if math.Abs(l-float64(losses[i])) > 1e-5 {
				t.Errorf("eps %g row %d: loss %g, want %g", eps, i, losses[i], l)
			}
			ref += l
		}
		if math.Abs(sum-ref) > 1e-5 {
			t.Errorf("sum %g, want %g", sum, ref)
		}
		dl := make([]float32, n*v)
		CrossEntropyBackward(dl, probs, targets, n, v, eps, ignore, 1)
		checkGrad(t, "CrossEntropy", logits, dl, func() float64 {
			s, _ := CrossEntropyForward(losses, probs, logits, targets, n, v, eps, ignore)
			return s
		})
	}
}

func TestDropout(t *testing.T) {
	x := []float32{1, 2, 3, 4}
	Dropout(x, nil, 0, nil)
	if x[0] != 1 || x[3] != 4 {
		t.Fatal("Dropout with p=0 changed x")
	}
	rng := rand.New(rand.NewPCG(17, 18))
	n := 10000
	y, mask := make([]float32, n), make([]float32, n)
	for i := range y {
		y[i] = 1
	}
	Dropout(y, mask, 0.25, rng)
	var s float64
	zeros := 0
	for i, v := range y {
		s += float64(v)
		if v == 0 {
			zeros++
		} else if v != float32(1/0.75) || mask[i] != v {
			t.Fatalf("kept value %g, mask %g", v, mask[i])
		}
	}
	if zeros < 2200 || zeros > 2800 {
		t.Errorf("%d of %d dropped, want about 2500", zeros, n)
	}
	dx := make([]float32, n)
	DropoutBackward(dx, y, mask)
	for i := range dx {
		if dx[i] != y[i]*mask[i] {
			t.Fatalf("dx[%d] = %g", i, dx[i])
		}
	}
}

func TestFeedForward(t *testing.T) {
	rng := rand.New(rand.NewPCG(19, 20))
	n, d, ffn := 3, 4, 6
	f := FeedForward{
		FC1: Linear{W: randVec(rng, ffn*d, 1), B: randVec(rng, ffn, 1), In: d, Out: ffn},
		FC2: Linear{W: randVec(rng, d*ffn, 1), B: randVec(rng, d, 1), In: ffn, Out: d},
		Act: GELU,
	}
	x := randVec(rng, n*d, 1)
	out := make([]float32, n*d)
	f.Forward(out, x, make([]float32, n*ffn), n)
	for i := 0; i < n; i++ {
		h := make([]float64, ffn)
		for o := range h {
			h[o] = float64(f.FC1.B[o])
			for j := 0; j < d; j++ {
				h[o] += float64(x[i*d+j]) * float64(f.FC1.W[o*d+j])
			}
			h[o] = 0.5 * h[o] * (1 + math.Erf(h[o]/math.Sqrt2))
		}
		for o := 0; o < d; o++ {
			ref := float64(f.FC2.B[o])
			for j := range h {
				ref += h[j] * float64(f.FC2.W[o*ffn+j])
			}
			if dd := math.Abs(ref - float64(out[i*d+o])); dd > 1e-5 {
				t.Fatalf("out[%d,%d] = %g, want %g", i, o, out[i*d+o], ref)
			}
		}
	}
}
