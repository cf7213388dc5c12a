package modelfile

import (
	"fmt"
	"slices"
	"sort"
)

// Tensor is one named weight, row-major float32 in memory.
type Tensor struct {
	// Name is the canonical tensor name (see Config).
	Name string
	// Shape lists the dimensions, outermost first.
	Shape []int
	// Data holds the product of Shape values.
	Data []float32
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

// Get returns the data of the tensor called name. When shape is given, the
// tensor must have exactly that shape. The error names the tensor and both
// shapes.
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
	if n, ok := numElements(t.Shape); !ok || n != len(t.Data) {
		return nil, fmt.Errorf("tensor %q has shape %v but %d values", name, t.Shape, len(t.Data))
	}
	return t.Data, nil
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
		if n, _ := numElements(t.Shape); n != len(t.Data) {
			problems = append(problems, fmt.Sprintf("tensor %q has shape %v but %d values", s.Name, t.Shape, len(t.Data)))
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
