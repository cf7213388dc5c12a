package train

import (
	"fmt"
	"math"
	"slices"
)

// Param is one named trainable tensor: a view of the weights and of the
// gradients held in one flat buffer each by Params.
type Param struct {
	// Name is the canonical tensor name (see modelfile.Config).
	Name string
	// Shape lists the dimensions, outermost first.
	Shape []int
	// W is the weight, G its gradient; both views into Params' buffers.
	W, G []float32
	// Decay says whether AdamW's weight decay applies (matrices: not
	// biases or layer-norm parameters).
	Decay bool
	off   int // offset in the flat buffers
}

// Params holds every trainable tensor of a model in two flat buffers
// (weights and gradients), so that the optimizer, gradient clipping and
// checkpoints work on one slice.
type Params struct {
	// List holds the tensors in creation order.
	List   []*Param
	byName map[string]*Param
	// W and G are the flat weight and gradient buffers.
	W, G []float32
}

// NewParams lays out the given tensors in one buffer.
func NewParams(names []string, shapes [][]int, decay []bool) *Params {
	n := 0
	for _, s := range shapes {
		n += numel(s)
	}
	ps := &Params{byName: map[string]*Param{}, W: make([]float32, n), G: make([]float32, n)}
	off := 0
	for i, name := range names {
		k := numel(shapes[i])
		p := &Param{Name: name, Shape: shapes[i], W: ps.W[off : off+k : off+k], G: ps.G[off : off+k : off+k], Decay: decay[i], off: off}
		ps.List = append(ps.List, p)
		ps.byName[name] = p
		off += k
	}
	return ps
}

// Get returns the weights of the tensor called name, which must have
// exactly shape when given (Params is an nn.Getter).
func (ps *Params) Get(name string, shape ...int) ([]float32, error) {
	p, ok := ps.byName[name]
	if !ok {
		return nil, fmt.Errorf("no parameter %q", name)
	}
	if len(shape) > 0 && !slices.Equal(shape, p.Shape) {
		return nil, fmt.Errorf("parameter %q has shape %v, want %v", name, p.Shape, shape)
	}
	return p.W, nil
}

// Grads returns an nn.Getter of the gradients, by tensor name.
func (ps *Params) Grads() GradGetter { return GradGetter{ps, ps.G} }

// GradGetter reads gradients instead of weights: views of one flat
// gradient buffer laid out like Params.G.
type GradGetter struct {
	ps  *Params
	buf []float32
}

// GradsIn returns an nn.Getter of gradients held in buf, a buffer laid out
// like Params.G (a second replica's gradients).
func (ps *Params) GradsIn(buf []float32) GradGetter { return GradGetter{ps, buf[:len(ps.G)]} }

// Get returns the gradient of the tensor called name (see Params.Get).
func (g GradGetter) Get(name string, shape ...int) ([]float32, error) {
	if _, err := g.ps.Get(name, shape...); err != nil {
		return nil, err
	}
	p := g.ps.byName[name]
	return g.buf[p.off : p.off+len(p.W) : p.off+len(p.W)], nil
}

// ZeroGrad clears every gradient.
func (ps *Params) ZeroGrad() { clear(ps.G) }

// ClipGrad scales the gradients so that their global L2 norm is at most
// maxNorm (no clipping when maxNorm <= 0) and returns the norm before
// clipping.
func (ps *Params) ClipGrad(maxNorm float64) float64 {
	var s float64
	for _, g := range ps.G {
		s += float64(g) * float64(g)
	}
	norm := math.Sqrt(s)
	if maxNorm > 0 && norm > maxNorm {
		f := float32(maxNorm / norm)
		for i := range ps.G {
			ps.G[i] *= f
		}
	}
	return norm
}

// numel is the product of a shape.
func numel(shape []int) int {
	n := 1
	for _, s := range shape {
		n *= s
	}
	return n
}

// AdamW is Adam with decoupled weight decay (Loshchilov & Hutter) over a
// Params' flat buffers.
type AdamW struct {
	// Beta1, Beta2 and Eps are Adam's constants; WeightDecay is the
	// decoupled decay rate, applied to tensors with Decay set.
	Beta1, Beta2, Eps, WeightDecay float64
	// M and V are the first and second moment estimates, one per weight.
	M, V []float32
	// Steps counts the updates done so far (for bias correction).
	Steps int
}

// NewAdamW returns an optimizer for n weights.
func NewAdamW(n int, beta1, beta2, eps, wd float64) *AdamW {
	return &AdamW{Beta1: beta1, Beta2: beta2, Eps: eps, WeightDecay: wd, M: make([]float32, n), V: make([]float32, n)}
}

// Step applies one update with learning rate lr from the gradients in ps.
func (o *AdamW) Step(ps *Params, lr float64) {
	o.Steps++
	b1, b2 := float32(o.Beta1), float32(o.Beta2)
	c1 := 1 - math.Pow(o.Beta1, float64(o.Steps))
	c2 := 1 - math.Pow(o.Beta2, float64(o.Steps))
	stepSize := float32(lr / c1)
	sqrtC2 := float32(math.Sqrt(c2))
	eps := float32(o.Eps)
	off := 0
	for _, p := range ps.List {
		decay := float32(1)
		if p.Decay {
			decay = float32(1 - lr*o.WeightDecay)
		}
		m, v := o.M[off:off+len(p.W)], o.V[off:off+len(p.W)]
		w, g := p.W, p.G
		for i := range w {
			gi := g[i]
			m[i] = b1*m[i] + (1-b1)*gi
			v[i] = b2*v[i] + (1-b2)*gi*gi
			w[i] = w[i]*decay - stepSize*m[i]/(float32(math.Sqrt(float64(v[i])))/sqrtC2+eps)
		}
		off += len(p.W)
	}
}

// LearningRate is the schedule: linear warm-up to peak over warmup steps,
// then decay with the inverse square root of the step (Vaswani et al.).
// step counts from 1.
func LearningRate(step, warmup int, peak float64) float64 {
	if step < 1 {
		step = 1
	}
	if warmup < 1 {
		warmup = 1
	}
	if step < warmup {
		return peak * float64(step) / float64(warmup)
	}
	return peak * math.Sqrt(float64(warmup)/float64(step))
}

// CosineLearningRate is nanoGPT's schedule: linear warm-up to peak over
// warmup steps, then a half cosine from peak down to minLR at decaySteps,
// and minLR after. step counts from 1.
func CosineLearningRate(step, warmup, decaySteps int, peak, minLR float64) float64 {
	step, warmup = max(step, 1), max(warmup, 1)
	switch {
	case step < warmup:
		return peak * float64(step) / float64(warmup)
	case step >= decaySteps:
		return minLR
	}
	r := float64(step-warmup) / float64(decaySteps-warmup)
	return minLR + 0.5*(1+math.Cos(math.Pi*r))*(peak-minLR)
}
