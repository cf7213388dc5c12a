package modelfile

import (
	"fmt"
	"slices"
	"sort"
	"sync"
)

// Tensor is one named weight, row-major float32 in memory, or a matrix kept
// as the file stores it (ReadOptions): F16 or Int8 is set and Data is nil
// until Model.Get dequantises it.
type Tensor struct {
	// Name is the canonical tensor name (see Config).
	Name string
	// Shape lists the dimensions, outermost first.
	Shape []int
	// Data holds the product of Shape values; nil for a kept matrix that
	// nobody has asked Model.Get for.
	Data []float32
	// F16 holds a matrix read from f16 storage with ReadOptions.KeepF16:
	// the values' bits, row-major; nil otherwise.
	F16 []uint16
	// Int8 holds a matrix read from int8 storage with ReadOptions.Int8: the
	// store that function made, filled with the stored values; nil
	// otherwise.
	Int8 Int8Store
}

// Int8Store holds an int8 matrix in a layout of its maker's choosing
// (ReadOptions.Int8): the reader puts the stored values in as they arrive,
// and Model.Get reads them back a row at a time.
type Int8Store interface {
	// Put stores the int8 values q (two's-complement bytes, as the file
	// holds them): q[j] is element i+j of the row-major matrix. Pieces may
	// start and end anywhere in a row.
	Put(i int, q []byte)
	// Row sets dst[c] = float32(q[r][c])·scale[r] for every column c: the
	// float32 value the reader gives for a stored int8 value.
	Row(r int, dst []float32)
}

// Kept reports whether t is a matrix kept at its stored precision (F16 or
// Int8 set).
func (t *Tensor) Kept() bool { return t.F16 != nil || t.Int8 != nil }

// dequantMu guards the Data of kept tensors, which Get fills on first use.
var dequantMu sync.Mutex

// float32Data returns t.Data, first dequantising a kept matrix into it.
func (t *Tensor) float32Data() []float32 {
	if !t.Kept() {
		return t.Data
	}
	dequantMu.Lock()
	defer dequantMu.Unlock()
	if t.Data != nil {
		return t.Data
	}
	n, _ := numElements(t.Shape)
	data := make([]float32, n)
	if t.F16 != nil {
		for i, h := range t.F16[:n] {
			data[i] = HalfToFloat32(h)
		}
	} else {
		cols := t.Shape[1]
		for r := range t.Shape[0] {
			t.Int8.Row(r, data[r*cols:(r+1)*cols])
		}
	}
	t.Data = data
	return data
}

// Model is everything a translator needs: the architecture, the weights and
// the tokenizer files.
type Model struct {
	// Config is the architecture, special ids and generation defaults.
	Config Config
	// Tensors maps canonical names to weights.
	Tensors map[string]*Tensor
	// Blobs holds the tokenizer files, verbatim, under BlobSourceSPM,
	// BlobTargetSPM and BlobVocab.
	Blobs map[string][]byte
	// DType is how Read found the weight matrices stored (the dtype of
	// embed.weight); F32 for a model built in memory. Write ignores it
	// (WriteOptions.DType decides).
	DType DType
}

// Dequantize turns every kept matrix of m into float32 (Tensor.Data, the
// values Get gives) and drops its stored form, so that m holds what Read
// would have given: for callers that will multiply float32 (or another
// precision) anyway and need not hold both.
func (m *Model) Dequantize() {
	for _, t := range m.Tensors {
		if t.Kept() {
			t.float32Data()
			t.F16, t.Int8 = nil, nil
		}
	}
}

// Get returns the data of the tensor called name. When shape is given, the
// tensor must have exactly that shape. The error names the tensor and both
// shapes. A kept matrix (Tensor.Kept) is dequantised to float32 on the first
// Get and the float32 values stay in the tensor (memory: 4 bytes a value);
// Get is safe for concurrent use.
func (m *Model) Get(name string, shape ...int) ([]float32, error) {
	t, ok := m.Tensors[name]
	if !ok || t == nil {
		if len(shape) > 0 {
			return nil, fmt.Errorf("model has no tensor %q (want shape %v)", name, shape)
		}
		return nil, fmt.Errorf("model has no tensor %q", name)
	}
	if len(shape) > 0 && !slices.Equal(t.Shape, shape) {
		return nil, fmt.Errorf("tensor %q has shape %v, want %v", name, t.Shape, shape)
	}
	if err := t.checkSize(name); err != nil {
		return nil, err
	}
	return t.float32Data(), nil
}

// checkSize reports a tensor whose values do not fill its shape: float32
// Data, or F16 bits (an Int8 store is sized by its maker from the shape).
func (t *Tensor) checkSize(name string) error {
	n, ok := numElements(t.Shape)
	switch {
	case t.F16 != nil && (!ok || n != len(t.F16)):
		return fmt.Errorf("tensor %q has shape %v but %d f16 values", name, t.Shape, len(t.F16))
	case t.Int8 != nil && (!ok || len(t.Shape) != 2):
		return fmt.Errorf("tensor %q has shape %v, int8 needs 2 dimensions", name, t.Shape)
	case !t.Kept() && (!ok || n != len(t.Data)):
		return fmt.Errorf("tensor %q has shape %v but %d values", name, t.Shape, len(t.Data))
	}
	return nil
}

// TensorSpec is one tensor a Config implies.
type TensorSpec struct {
	// Name is the canonical tensor name.
	Name string
	// Shape is the shape the Config implies.
	Shape []int
	// Optional tensors may be absent (final_logits_bias reads as zero then).
	Optional bool
}

// Tensors lists every tensor the Config implies, in a fixed order
// (embedding, positions, encoder layers, decoder layers, final norms).
// Names follow the table in the Config doc comment.
func (c Config) Tensors() []TensorSpec {
	d, v := c.DModel, c.VocabSize
	var specs []TensorSpec
	add := func(name string, shape ...int) { specs = append(specs, TensorSpec{Name: name, Shape: shape}) }
	linear := func(prefix string, out, in int) {
		add(prefix+".weight", out, in)
		if !c.NoBias {
			add(prefix+".bias", out)
		}
	}
	norm := func(prefix string) {
		add(prefix+".weight", d)
		if !c.NoBias {
			add(prefix+".bias", d)
		}
	}
	attention := func(prefix string) {
		for _, p := range []string{"q", "k", "v", "o"} {
			linear(prefix+"."+p, d, d)
		}
	}
	add("embed.weight", v, d)
	if c.Arch == ArchGPT {
		add("dec.pos.weight", c.MaxPositions, d)
		for i := 0; i < c.DecoderLayers; i++ {
			p := fmt.Sprintf("dec.%d.", i)
			norm(p + "self_ln")
			attention(p + "self")
			norm(p + "ffn_ln")
			linear(p+"fc1", c.DecoderFFN, d)
			linear(p+"fc2", d, c.DecoderFFN)
		}
		norm("dec.ln")
		return specs
	}
	specs = append(specs, TensorSpec{Name: "final_logits_bias", Shape: []int{v}, Optional: true})
	if c.Positions == PositionsLearned {
		add("enc.pos.weight", c.MaxPositions, d)
		add("dec.pos.weight", c.MaxPositions, d)
	}
	for i := 0; i < c.EncoderLayers; i++ {
		p := fmt.Sprintf("enc.%d.", i)
		attention(p + "self")
		norm(p + "self_ln")
		linear(p+"fc1", c.EncoderFFN, d)
		linear(p+"fc2", d, c.EncoderFFN)
		norm(p + "ffn_ln")
	}
	for i := 0; i < c.DecoderLayers; i++ {
		p := fmt.Sprintf("dec.%d.", i)
		attention(p + "self")
		norm(p + "self_ln")
		attention(p + "cross")
		norm(p + "cross_ln")
		linear(p+"fc1", c.DecoderFFN, d)
		linear(p+"fc2", d, c.DecoderFFN)
		norm(p + "ffn_ln")
	}
	if c.FinalLayerNorm {
		norm("enc.ln")
		norm("dec.ln")
	}
	return specs
}

// ValidateTensors checks that every tensor the Config implies exists with
// the right shape and length, and that the model holds no other tensor.
// It reports all problems it finds, not just the first.
func ValidateTensors(m *Model) error {
	if err := m.Config.Validate(); err != nil {
		return err
	}
	var problems []string
	known := map[string]bool{}
	for _, s := range m.Config.Tensors() {
		known[s.Name] = true
		t, ok := m.Tensors[s.Name]
		if !ok || t == nil {
			if !s.Optional {
				problems = append(problems, fmt.Sprintf("missing tensor %q %v", s.Name, s.Shape))
			}
			continue
		}
		if !slices.Equal(t.Shape, s.Shape) {
			problems = append(problems, fmt.Sprintf("tensor %q has shape %v, the config implies %v", s.Name, t.Shape, s.Shape))
			continue
		}
		if err := t.checkSize(s.Name); err != nil {
			problems = append(problems, err.Error())
		}
	}
	var unknown []string
	for name := range m.Tensors {
		if !known[name] {
			unknown = append(unknown, name)
		}
	}
	sort.Strings(unknown)
	for _, name := range unknown {
		problems = append(problems, fmt.Sprintf("unknown tensor %q (not implied by the config)", name))
	}
	return joinProblems("model tensors", problems)
}

// joinProblems turns a list of problems into one error, or nil.
func joinProblems(what string, problems []string) error {
	switch len(problems) {
	case 0:
		return nil
	case 1:
		return fmt.Errorf("%s: %s", what, problems[0])
	}
	msg := fmt.Sprintf("%s: %d problems:", what, len(problems))
	const show = 20
	for i, p := range problems {
		if i == show {
			msg += fmt.Sprintf("\n  ... and %d more", len(problems)-show)
			break
		}
		msg += "\n  " + p
	}
	return fmt.Errorf("%s", msg)
}

// maxElements bounds the size of any one tensor (2^34 values, 64 GiB).
const maxElements = 1 << 34

// numElements returns the product of shape; ok is false when a dimension is
// not positive or the product exceeds maxElements.
func numElements(shape []int) (n int, ok bool) {
	n = 1
	for _, s := range shape {
		if s <= 0 || s > maxElements || n > maxElements/s {
			return 0, false
		}
		n *= s
	}
	return n, true
}
