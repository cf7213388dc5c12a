package marian

import (
	"encoding/json"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/deen-mt/deen/modelfile"
)

func TestConvert(t *testing.T) {
	want, err := Load(oracleDir)
	if err != nil {
		t.Fatal(err)
	}
	out := filepath.Join(t.TempDir(), "m.deen")
	for _, dtype := range []string{"", "f16"} {
		s, err := Convert(oracleDir, out, ConvertOptions{DType: dtype})
		if err != nil {
			t.Fatal(err)
		}
		st, err := os.Stat(out)
		if err != nil {
			t.Fatal(err)
		}
		var params int64
		for _, w := range want.Tensors {
			params += int64(len(w.Data))
		}
		wantType := map[string]string{"": "f32", "f16": "f16"}[dtype]
		c := want.Config
		if s.Parameters != params || s.Size != st.Size() || s.DType != wantType || s.DModel != c.DModel ||
			s.VocabSize != c.VocabSize || s.EncoderLayers != c.EncoderLayers || s.DecoderLayers != c.DecoderLayers || s.Activation != c.Activation {
			t.Errorf("dtype %q: summary %+v, want %d parameters, %d bytes, %s", dtype, s, params, st.Size(), wantType)
		}
		got, err := modelfile.ReadFile(out)
		if err != nil {
			t.Fatal(err)
		}
		if dtype == "" && !equalData(got.Tensors["embed.weight"].Data, want.Tensors["embed.weight"].Data) {
			t.Error("f32 conversion changed the embedding")
		}
	}
	if !strings.Contains(Summary{Activation: "relu", DType: "f16", Parameters: 1500000}.String(), "relu, 0+0 layers, d=0, vocab 0, 1.5M parameters, f16") {
		t.Error("Summary.String lost a field")
	}
	if _, err := Convert(oracleDir, out, ConvertOptions{DType: "f8"}); err == nil || !strings.Contains(err.Error(), `unknown dtype "f8"`) {
		t.Errorf("dtype f8: err = %v", err)
	}
}

func TestCheckConfig(t *testing.T) {
	if err := CheckConfig(oracleDir); err != nil {
		t.Fatal(err)
	}
	// Only the configuration files are read: a directory without weights passes.
	dir := t.TempDir()
	var c map[string]any
	readJSON(t, filepath.Join(oracleDir, fileConfig), &c)
	write := func() {
		b, _ := json.Marshal(c)
		if err := os.WriteFile(filepath.Join(dir, fileConfig), b, 0o644); err != nil {
			t.Fatal(err)
		}
	}
	write()
	if err := CheckConfig(dir); err != nil {
		t.Fatalf("config alone: %v", err)
	}
	c["model_type"] = "fsmt"
	write()
	if err := CheckConfig(dir); err == nil || !strings.Contains(err.Error(), `model_type "fsmt" is not "marian"`) {
		t.Errorf("fsmt: err = %v", err)
	}
}
