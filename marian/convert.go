package marian

import (
	"fmt"
	"os"

	"github.com/deen-mt/deen/modelfile"
)

// ConvertOptions control how Convert stores a model.
type ConvertOptions struct {
	// DType is the storage type of the weights: "f32" (default when
	// empty), "f16" or "int8" (per-row scales).
	DType string
	// ZstdLevel is the zstd compression level (1..22); 0 means the default.
	ZstdLevel int
}

// Summary describes a converted model file.
type Summary struct {
	// Activation is the feed-forward activation (swish, relu or gelu).
	Activation string
	// EncoderLayers and DecoderLayers are the depths of the two stacks.
	EncoderLayers, DecoderLayers int
	// DModel is the model width.
	DModel int
	// VocabSize is the size of the joint vocabulary.
	VocabSize int
	// Parameters counts the weights (every tensor element).
	Parameters int64
	// DType is the storage type of the weights in the file.
	DType string
	// Size is the size of the written file in bytes.
	Size int64
}

// Convert reads the MarianMT checkpoint directory dir (as Load) and writes
// it to the model file out, atomically: out is either left as it was or
// holds the complete new model.
func Convert(dir, out string, opt ConvertOptions) (Summary, error) {
	dtype := opt.DType
	if dtype == "" {
		dtype = "f32"
	}
	dt, err := modelfile.ParseDType(dtype)
	if err != nil {
		return Summary{}, fmt.Errorf("marian: %w", err)
	}
	m, err := Load(dir)
	if err != nil {
		return Summary{}, err
	}
	if err := modelfile.WriteFile(out, m, modelfile.WriteOptions{DType: dt, ZstdLevel: opt.ZstdLevel}); err != nil {
		return Summary{}, fmt.Errorf("marian: %w", err)
	}
	st, err := os.Stat(out)
	if err != nil {
		return Summary{}, fmt.Errorf("marian: %w", err)
	}
	c := m.Config
	s := Summary{Activation: c.Activation, EncoderLayers: c.EncoderLayers, DecoderLayers: c.DecoderLayers,
		DModel: c.DModel, VocabSize: c.VocabSize, DType: dt.String(), Size: st.Size()}
	for _, t := range m.Tensors {
		s.Parameters += int64(len(t.Data))
	}
	return s, nil
}

// String is the one-line description the command line prints:
// "swish, 2+2 layers, d=64, vocab 15080, 1.1M parameters, f32, 5.0 MB".
func (s Summary) String() string {
	return fmt.Sprintf("%s, %d+%d layers, d=%d, vocab %d, %.1fM parameters, %s, %.1f MB",
		s.Activation, s.EncoderLayers, s.DecoderLayers, s.DModel, s.VocabSize, float64(s.Parameters)/1e6, s.DType, float64(s.Size)/1e6)
}

// CheckConfig reads only the configuration files of the checkpoint
// directory dir (config.json, and generation_config.json and
// tokenizer_config.json when present) and reports what Load would refuse
// in them, naming each field. It lets a downloader refuse an unsupported
// model before fetching its weights.
func CheckConfig(dir string) error {
	_, err := readConfig(dir)
	return err
}
