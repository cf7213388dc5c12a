package nn

import (
	"fmt"
	"slices"
	"sync"

	"github.com/deen-mt/deen/internal/kernels"
	"github.com/deen-mt/deen/modelfile"
)

// Low precision stays low. A model file that stores its matrices as int8
// or f16, read with StoredReadOptions, keeps them in memory in the form the
// products read: every int8 matrix packed for the int8 products (filled
// straight from the file as it is read, no float32 or row-major copy), every
// f16 matrix as its bits. Inference layers built through a Weights multiply
// those (Weights.Low) and look embeddings up from their rows (a row
// dequantised per lookup, the same float32 values the file's reader would
// give). The float32 values of a kept matrix are made only when a path
// needs them: at build time when the product's precision is not the
// stored one, or on the first call of a float32 path (teacher forcing),
// which calls Weights.Float32 first.

// StoredReadOptions are the modelfile.ReadOptions that keep a file's int8
// and f16 matrices as stored, in the layouts Weights.Low multiplies.
func StoredReadOptions() modelfile.ReadOptions {
	return modelfile.ReadOptions{KeepF16: true, Int8: newInt8Store}
}

// newInt8Store makes the store of a kept int8 matrix: packed for MulI8T
// (kernels.I8 implements modelfile.Int8Store).
func newInt8Store(rows, cols int, scales []float32) modelfile.Int8Store {
	w := kernels.NewI8(rows, cols, scales)
	return &w
}

// Weights is where inference layers read their weights from a model whose
// matrices may be kept at reduced precision (StoredReadOptions). As a
// Getter it returns nil, with no error, for a kept matrix (its shape still
// checked): the layer's float32 weight stays unread until Float32. It is
// safe for concurrent use once the layers are built.
type Weights struct {
	m     *modelfile.Model
	once  sync.Once
	later []deferred // float32 weights Low left unread
}

// deferred is a float32 weight to read into *dst by Float32.
type deferred struct {
	name string
	dst  *[]float32
}

// NewWeights returns the Weights of m.
func NewWeights(m *modelfile.Model) *Weights { return &Weights{m: m} }

// kept returns the tensor called name when the model keeps it at reduced
// precision, else nil.
func (w *Weights) kept(name string) *modelfile.Tensor {
	if t := w.m.Tensors[name]; t != nil && t.Kept() {
		return t
	}
	return nil
}

// Get is the model's Get, except for a kept matrix: nil data (after the
// shape check) rather than a float32 copy.
func (w *Weights) Get(name string, shape ...int) ([]float32, error) {
	t := w.kept(name)
	if t == nil {
		return w.m.Get(name, shape...)
	}
	if len(shape) > 0 && !slices.Equal(t.Shape, shape) {
		return nil, fmt.Errorf("tensor %q has shape %v, want %v", name, t.Shape, shape)
	}
	return nil, nil
}

// Low returns the product of l (loaded from w, so l.W is nil when the
// weight name is kept) at precision p. A weight kept at p is multiplied as
// stored, with no copy; at Float32 a kept weight is read (dequantised) on
// the product's first use; l.W of both is read by Float32. Otherwise l.W is
// read now (dequantised if kept) and copied to p by NewLowLinear.
func (w *Weights) Low(l *Linear, p Precision, name string) (LowLinear, error) {
	if t := w.kept(name); t != nil {
		switch {
		case p == Float32:
			w.later = append(w.later, deferred{name, &l.W})
			return LowLinear{L: l, lazy: w}, nil
		case p == Int8 && t.Int8 != nil:
			if q, ok := t.Int8.(*kernels.I8); ok {
				w.later = append(w.later, deferred{name, &l.W})
				return LowLinear{L: l, i8: q}, nil
			}
		case p == Float16 && t.F16 != nil:
			for i, h := range t.F16 {
				if h&0x7c00 == 0x7c00 {
					return LowLinear{L: l}, fmt.Errorf("%s[%d] is %v, which %v weights cannot hold; use f32 weights", name, i, modelfile.HalfToFloat32(h), p)
				}
			}
			w.later = append(w.later, deferred{name, &l.W})
			return LowLinear{L: l, f16: &kernels.F16{Rows: l.Out, Cols: l.In, Data: t.F16}}, nil
		}
	}
	if l.W == nil {
		var err error
		if l.W, err = w.m.Get(name, l.Out, l.In); err != nil {
			return LowLinear{L: l}, err
		}
	}
	return NewLowLinear(l, p, name)
}

// Float32 reads every float32 weight left unread (dequantising kept
// matrices; the float32 values then stay in memory), once: call it before
// a float32 product of a Linear of the layers built from w (a LowLinear
// calls it itself). Safe for concurrent use.
func (w *Weights) Float32() {
	w.once.Do(func() {
		for _, d := range w.later {
			data, err := w.m.Get(d.name)
			if err != nil { // the shape was checked when the layer was built
				panic(fmt.Sprintf("nn: Weights.Float32: %v", err))
			}
			*d.dst = data
		}
	})
}

// rowReader gives one row of a kept matrix as float32: *kernels.I8 and
// kernels.F16 are rowReaders.
type rowReader interface {
	Row(r int, dst []float32)
}

// rows returns the row reader of the kept matrix name, or nil when the
// model holds it as float32 (or in a store of another maker).
func (w *Weights) rows(name string) rowReader {
	t := w.kept(name)
	switch {
	case t == nil:
		return nil
	case t.F16 != nil:
		return kernels.F16{Rows: t.Shape[0], Cols: t.Shape[1], Data: t.F16}
	}
	q, _ := t.Int8.(*kernels.I8)
	if q == nil {
		return nil
	}
	return q
}
