package nntest

import (
	"encoding/binary"
	"encoding/json"
	"math"
	"os"
	"path/filepath"
	"testing"

	"github.com/deen-mt/deen/modelfile"
)

// GPTRef is the JSON of a GPT reference case in testdata/gpt (ref.json,
// made by testdata/gpt/make_ref.py, an independent PyTorch reference of
// nanoGPT's model semantics, or a trained model's model.json): the model's
// shape, its tensors in the order weights.bin stores them, and a batch in
// nanoGPT's form with, for ref.json, PyTorch's logits and loss on it.
type GPTRef struct {
	// Config is the model's shape in nanoGPT's names.
	Config struct {
		Vocab     int  `json:"vocab"`
		BlockSize int  `json:"block_size"`
		D         int  `json:"d"`
		Layers    int  `json:"layers"`
		Heads     int  `json:"heads"`
		Bias      bool `json:"bias"`
	} `json:"config"`
	// Tensors name the tensors of weights.bin in order.
	Tensors []GPTRefTensor `json:"tensors"`
	// Batch and SeqLen are the batch's shape; Idx and Targets its
	// inputs and targets (−1 where not counted), row-major.
	Batch   int     `json:"batch"`
	SeqLen  int     `json:"seq_len"`
	Idx     []int32 `json:"idx"`
	Targets []int32 `json:"targets"`
	// Logits and Loss are PyTorch's results on the batch (ref.json only).
	Logits []float32 `json:"logits,omitempty"`
	Loss   float64   `json:"loss,omitempty"`
}

// GPTRefTensor names one tensor of weights.bin and gives its shape.
type GPTRefTensor struct {
	Name  string `json:"name"`
	Shape []int  `json:"shape"`
}

// LoadGPTRef reads the case dir/name (ref.json or model.json) and the
// tensors it lists from dir/weights.bin (little-endian float32, in order,
// nothing after the last), failing tb on any error.
func LoadGPTRef(tb testing.TB, dir, name string) (*GPTRef, map[string]*modelfile.Tensor) {
	tb.Helper()
	js, err := os.ReadFile(filepath.Join(dir, name))
	if err != nil {
		tb.Fatal(err)
	}
	var ref GPTRef
	if err := json.Unmarshal(js, &ref); err != nil {
		tb.Fatal(err)
	}
	raw, err := os.ReadFile(filepath.Join(dir, "weights.bin"))
	if err != nil {
		tb.Fatal(err)
	}
	tensors := map[string]*modelfile.Tensor{}
	for _, tn := range ref.Tensors {
		n := 1
		for _, s := range tn.Shape {
			n *= s
		}
		if len(raw) < 4*n {
			tb.Fatalf("weights.bin ends inside %s", tn.Name)
		}
		data := make([]float32, n)
		for i := range data {
			data[i] = math.Float32frombits(binary.LittleEndian.Uint32(raw[4*i:]))
		}
		raw = raw[4*n:]
		tensors[tn.Name] = &modelfile.Tensor{Name: tn.Name, Shape: tn.Shape, Data: data}
	}
	if len(raw) != 0 {
		tb.Fatalf("weights.bin has %d bytes after the last tensor", len(raw))
	}
	return &ref, tensors
}
