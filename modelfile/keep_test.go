package modelfile

import (
	"bytes"
	"io"
	"math"
	"slices"
	"testing"
)

// rowMajor is an Int8Store that keeps the values as the file does.
type rowMajor struct {
	cols   int
	scales []float32
	q      []byte
}

func newRowMajor(rows, cols int, scales []float32) Int8Store {
	return &rowMajor{cols: cols, scales: append([]float32(nil), scales...), q: make([]byte, rows*cols)}
}

func (s *rowMajor) Put(i int, q []byte) { copy(s.q[i:], q) }

func (s *rowMajor) Row(r int, dst []float32) {
	for c, q := range s.q[r*s.cols : (r+1)*s.cols] {
		dst[c] = float32(int8(q)) * s.scales[r]
	}
}

var keepAll = ReadOptions{KeepF16: true, Int8: newRowMajor}

// onlyReader hides a reader's size, as a plain stream would.
type onlyReader struct{ io.Reader }

// TestReadKeep: read with ReadOptions, every matrix of an f16 or int8 file
// is kept (no float32 values), 1-D tensors load as float32, Get gives the
// bits Read gives (and keeps them), and writing the kept model gives the
// bytes of writing the float32 one; Dequantize leaves what Read gives.
// From a plain stream an int8 tensor,
// whose store is allocated whole, loads as float32.
func TestReadKeep(t *testing.T) {
	c := tinyConfig()
	for _, dt := range []DType{F16, Int8} {
		file := encode(t, randomModel(c, 21), WriteOptions{DType: dt})
		want, err := Read(bytes.NewReader(file))
		if err != nil {
			t.Fatal(err)
		}
		got, err := ReadWith(bytes.NewReader(file), keepAll)
		if err != nil {
			t.Fatal(err)
		}
		if err := ValidateTensors(got); err != nil {
			t.Fatalf("%v: kept model: %v", dt, err)
		}
		for name, tn := range got.Tensors {
			if kept := len(tn.Shape) == 2; tn.Kept() != kept || (tn.Data == nil) != kept {
				t.Fatalf("%v: %s %v: kept %v, float32 %v", dt, name, tn.Shape, tn.Kept(), tn.Data != nil)
			}
		}
		if !bytes.Equal(encode(t, got, WriteOptions{DType: dt}), encode(t, want, WriteOptions{DType: dt})) {
			t.Fatalf("%v: writing the kept model gives other bytes", dt)
		}
		for name, tn := range want.Tensors {
			g, err := got.Get(name, tn.Shape...)
			if err != nil {
				t.Fatal(err)
			}
			for i := range g {
				if math.Float32bits(g[i]) != math.Float32bits(tn.Data[i]) {
					t.Fatalf("%v: %s[%d] is %v kept, %v read", dt, name, i, g[i], tn.Data[i])
				}
			}
			if got.Tensors[name].Data == nil {
				t.Fatalf("%v: %s: Get did not keep the float32 values", dt, name)
			}
		}
		again, err := ReadWith(bytes.NewReader(file), keepAll)
		if err != nil {
			t.Fatal(err)
		}
		again.Dequantize()
		for name, tn := range again.Tensors {
			if tn.Kept() || !slices.EqualFunc(tn.Data, want.Tensors[name].Data, func(a, b float32) bool { return math.Float32bits(a) == math.Float32bits(b) }) {
				t.Fatalf("%v: %s after Dequantize: kept %v, or other values than Read's", dt, name, tn.Kept())
			}
		}
		stream, err := ReadWith(onlyReader{bytes.NewReader(file)}, keepAll)
		if err != nil {
			t.Fatal(err)
		}
		if e := stream.Tensors["embed.weight"]; e.Kept() != (dt == F16) {
			t.Fatalf("%v from a stream: embed.weight kept %v", dt, e.Kept())
		}
	}
}
