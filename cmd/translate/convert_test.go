package main

import (
	"bytes"
	"math"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/deen-mt/deen/marian"
	"github.com/deen-mt/deen/modelfile"
)

// runConvertArgs runs "translate convert ARGS" in process.
func runConvertArgs(args ...string) (stdout, stderr string, code int) {
	var out, errb bytes.Buffer
	code = run(&env{stdin: strings.NewReader(""), stdout: &out, stderr: &errb}, append([]string{"convert"}, args...))
	return out.String(), errb.String(), code
}

func TestConvertMarian(t *testing.T) {
	const hf = "../../testdata/oracle/tiny-marian-A"
	want, err := marian.Load(hf)
	if err != nil {
		t.Fatal(err)
	}
	out := filepath.Join(t.TempDir(), "tiny.deen")
	stdout, stderr, code := runConvertArgs("marian", hf, out)
	if code != exitOK || strings.Count(stdout, "\n") != 1 || !strings.Contains(stdout, "f32") {
		t.Fatalf("exit %d, stdout %q, stderr %q", code, stdout, stderr)
	}
	got, err := modelfile.ReadFile(out)
	if err != nil {
		t.Fatal(err)
	}
	for name, w := range want.Tensors {
		if g := got.Tensors[name]; g == nil || !bytes.Equal(f32bytes(g.Data), f32bytes(w.Data)) {
			t.Fatalf("tensor %s differs after convert", name)
		}
	}
	if _, stderr, code := runConvertArgs("marian", hf, out); code != exitFailure || !strings.Contains(stderr, "exists; use --force") {
		t.Errorf("overwrite without --force: exit %d, %q", code, stderr)
	}
	if _, stderr, code := runConvertArgs("marian", hf, out, "--dtype", "int8", "--force"); code != exitOK {
		t.Fatalf("--force int8: exit %d, %q", code, stderr)
	}
	if got, err = modelfile.ReadFile(out); err != nil {
		t.Fatal(err)
	}
	w, g := want.Tensors["embed.weight"].Data, got.Tensors["embed.weight"].Data
	d := want.Config.DModel
	for r := 0; r < len(w)/d; r++ {
		var scale float64
		for _, v := range w[r*d : (r+1)*d] {
			scale = math.Max(scale, math.Abs(float64(v))/127)
		}
		for i := r * d; i < (r+1)*d; i++ {
			if math.Abs(float64(w[i]-g[i])) > scale*0.5001 {
				t.Fatalf("int8 embed[%d] = %g, want %g ± %g", i, g[i], w[i], scale/2)
			}
		}
	}
}

// f32bytes views float32 bits for exact comparison.
func f32bytes(v []float32) []byte {
	b := make([]byte, 0, 4*len(v))
	for _, x := range v {
		u := math.Float32bits(x)
		b = append(b, byte(u), byte(u>>8), byte(u>>16), byte(u>>24))
	}
	return b
}

func TestConvertErrors(t *testing.T) {
	dir := t.TempDir()
	out := filepath.Join(dir, "m.deen")
	cases := []struct {
		args []string
		code int
		want string
	}{
		{[]string{"marian", "../../testdata/oracle/tiny-marian-A"}, exitUsage, "usage"},
		{[]string{"fairseq", "x", out}, exitUsage, "usage"},
		{[]string{"marian", "x", out, "--dtype", "f8"}, exitUsage, `unknown dtype "f8"`},
		{[]string{"marian", "--bogus", "x", out}, exitUsage, "bogus"},
		{[]string{"marian", dir, out}, exitFailure, "has no config.json"},
	}
	for _, tc := range cases {
		_, stderr, code := runConvertArgs(tc.args...)
		if code != tc.code || !strings.Contains(stderr, tc.want) {
			t.Errorf("%v: exit %d, stderr %q; want exit %d containing %q", tc.args, code, stderr, tc.code, tc.want)
		}
	}
	if _, err := os.Stat(out); err == nil {
		t.Error("a failed convert left an output file")
	}
}

// TestConvertModel re-stores a model file at other precisions: blobs and
// configuration are copied, f32 → f16 → f32 widens exactly, int8 is within
// half a quantisation step per row, and the input is never overwritten.
func TestConvertModel(t *testing.T) {
	dir := t.TempDir()
	src := filepath.Join(dir, "a.deen")
	if _, stderr, code := runConvertArgs("marian", "../../testdata/oracle/tiny-marian-A", src); code != exitOK {
		t.Fatalf("import: exit %d, %s", code, stderr)
	}
	want, err := modelfile.ReadFile(src)
	if err != nil {
		t.Fatal(err)
	}
	half, back, q := filepath.Join(dir, "h.deen"), filepath.Join(dir, "b.deen"), filepath.Join(dir, "q.deen")
	for _, c := range [][3]string{{src, half, "f16"}, {half, back, "f32"}, {src, q, "int8"}} {
		stdout, stderr, code := runConvertArgs("model", c[0], c[1], "--dtype", c[2])
		if code != exitOK || !strings.Contains(stdout, c[2]+" weights from") {
			t.Fatalf("convert model %s → %s: exit %d, %q %q", c[2], c[1], code, stdout, stderr)
		}
	}
	h, err := modelfile.ReadFile(half)
	if err != nil {
		t.Fatal(err)
	}
	b, err := modelfile.ReadFile(back)
	if err != nil {
		t.Fatal(err)
	}
	if h.DType != modelfile.F16 || b.DType != modelfile.F32 {
		t.Fatalf("stored as %v and %v, want f16 and f32", h.DType, b.DType)
	}
	for name, w := range want.Tensors {
		hb, bb := f32bytes(h.Tensors[name].Data), f32bytes(b.Tensors[name].Data)
		if !bytes.Equal(hb, bb) {
			t.Fatalf("tensor %s: f16 widened to f32 changed", name)
		}
		if len(w.Shape) == 2 && bytes.Equal(hb, f32bytes(w.Data)) {
			t.Fatalf("tensor %s: f16 kept every float32 bit; the conversion did nothing", name)
		}
	}
	for name, blob := range want.Blobs {
		if !bytes.Equal(b.Blobs[name], blob) {
			t.Errorf("blob %s not copied", name)
		}
	}
	if b.Config.DModel != want.Config.DModel || b.Config.VocabSize != want.Config.VocabSize {
		t.Errorf("configuration changed: %+v", b.Config)
	}
	if m, err := modelfile.ReadFile(q); err != nil || m.DType != modelfile.Int8 {
		t.Fatalf("int8 file: %v, %v", err, m)
	}
	// Search defaults: stored, the dtype kept when not given; bad ones refused.
	def := filepath.Join(dir, "d.deen")
	if stdout, stderr, code := runConvertArgs("model", half, def, "--beam", "6", "--length-penalty", "0.8", "--no-repeat-ngram", "3"); code != exitOK ||
		!strings.Contains(stdout, "f16 weights") || !strings.Contains(stdout, "beam 6, length penalty 0.8, no-repeat n-gram 3") {
		t.Fatalf("search defaults: exit %d, %q %q", code, stdout, stderr)
	}
	if d, err := modelfile.ReadFile(def); err != nil || d.DType != modelfile.F16 || d.Config.Generation.NumBeams != 6 || d.Config.Generation.NoRepeatNGram != 3 {
		t.Fatalf("stored defaults: %v, %v", err, d)
	}
	if _, stderr, code := runConvertArgs("model", half, filepath.Join(dir, "e.deen"), "--beam", "0"); code != exitFailure || !strings.Contains(stderr, "num_beams") {
		t.Errorf("--beam 0: exit %d, %q", code, stderr)
	}
	if _, stderr, code := runConvertArgs("marian", "../../testdata/oracle/tiny-marian-A", filepath.Join(dir, "f.deen"), "--beam", "2"); code != exitUsage || !strings.Contains(stderr, "convert model") {
		t.Errorf("marian --beam: exit %d, %q", code, stderr)
	}
	if _, stderr, code := runConvertArgs("model", src, src, "--dtype", "f16", "--force"); code != exitFailure || !strings.Contains(stderr, "is the input") {
		t.Errorf("converting over the input: exit %d, %q", code, stderr)
	}
	if _, stderr, code := runConvertArgs("model", src, q, "--dtype", "f16"); code != exitFailure || !strings.Contains(stderr, "exists; use --force") {
		t.Errorf("overwrite without --force: exit %d, %q", code, stderr)
	}
	if _, stderr, code := runConvertArgs("model", filepath.Join(dir, "none.deen"), filepath.Join(dir, "n.deen"), "--dtype", "f16"); code != exitFailure || !strings.Contains(stderr, "none.deen") {
		t.Errorf("missing input: exit %d, %q", code, stderr)
	}
}
