package marian

import (
	"archive/zip"
	"bytes"
	"encoding/binary"
	"math"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
)

// tinyPickle is a handmade torch.save state_dict pickle (protocol 2):
// {"a": 2×2 tensor at offset 0 of storage "0", "b": the same storage's last
// 2 values as a parameter}.
func tinyPickle() []byte {
	var p []byte
	str := func(s string) {
		p = append(append(append(p, 'X'), binary.LittleEndian.AppendUint32(nil, uint32(len(s)))...), s...)
	}
	global := func(mod, name string) { p = append(p, "c"+mod+"\n"+name+"\n"...) }
	odict := func() { global("collections", "OrderedDict"); p = append(p, ')', 'R') }
	tensor := func(offset byte, size, stride []byte) {
		global("torch._utils", "_rebuild_tensor_v2")
		p = append(p, '(', '(')
		str("storage")
		global("torch", "FloatStorage")
		str("0")
		str("cpu")
		p = append(p, 'K', 6, 't', 'Q', 'K', offset)
		for _, dims := range [][]byte{size, stride} {
			p = append(p, '(')
			for _, d := range dims {
				p = append(p, 'K', d)
			}
			p = append(p, 't')
		}
		p = append(p, 0x89)
		odict()
		p = append(p, 't', 'R')
	}
	p = append(p, 0x80, 2)
	odict()
	p = append(p, 'q', 0, '(')
	str("a")
	tensor(0, []byte{2, 2}, []byte{2, 1})
	str("b")
	global("torch._utils", "_rebuild_parameter")
	p = append(p, '(')
	tensor(4, []byte{2}, []byte{1})
	p = append(p, 0x88)
	odict()
	p = append(p, 't', 'R', 'u')
	p = append(p, '}', 'b') // BUILD with an (empty) __dict__ state, as for _metadata
	return append(p, '.')
}

// tinyTorchZip wraps tinyPickle with its storage, as torch.save lays it out.
func tinyTorchZip() []byte {
	var buf bytes.Buffer
	zw := zip.NewWriter(&buf)
	w, _ := zw.CreateHeader(&zip.FileHeader{Name: "archive/data.pkl", Method: zip.Store})
	w.Write(tinyPickle())
	w, _ = zw.CreateHeader(&zip.FileHeader{Name: "archive/byteorder", Method: zip.Store})
	w.Write([]byte("little"))
	w, _ = zw.CreateHeader(&zip.FileHeader{Name: "archive/data/0", Method: zip.Store})
	for i := 0; i < 6; i++ {
		w.Write(binary.LittleEndian.AppendUint32(nil, math.Float32bits(float32(i)+0.5)))
	}
	zw.Close()
	return buf.Bytes()
}

func TestTinyTorchZip(t *testing.T) {
	z := tinyTorchZip()
	ts, err := readTorchZip(bytes.NewReader(z), int64(len(z)))
	if err != nil {
		t.Fatal(err)
	}
	a, b := ts["a"], ts["b"]
	if a == nil || b == nil || !slices.Equal(a.shape, []int{2, 2}) || !slices.Equal(b.shape, []int{2}) {
		t.Fatalf("got %v", ts)
	}
	if a.data[0] != 0.5 || a.data[3] != 3.5 || b.data[0] != 4.5 || b.data[1] != 5.5 {
		t.Errorf("values a=%v b=%v", a.data, b.data)
	}
}

func TestPickleErrors(t *testing.T) {
	good := tinyPickle()
	cases := map[string][]byte{
		"no STOP":        good[:len(good)-1],
		"unsupported op": append([]byte{0x80, 2, 'i'}, good[2:]...),
		"callable":       []byte("\x80\x02cos\nsystem\nX\x02\x00\x00\x00ls\x85R."),
		"persistent id":  []byte("\x80\x02X\x01\x00\x00\x00xQ."),
		"stack":          []byte("\x80\x02R."),
		"memo":           []byte("\x80\x02h\x05."),
	}
	for name, data := range cases {
		if _, err := unpickle(data); err == nil {
			t.Errorf("%s: no error", name)
		}
	}
	if _, err := unpickle(cases["callable"]); err == nil || !strings.Contains(err.Error(), "unsupported callable os.system") {
		t.Errorf("callable error: %v", err)
	}
}

// oraclePickle returns data.pkl of the oracle's pytorch_model.bin.
func oraclePickle(f *testing.F) []byte {
	zr, err := zip.OpenReader(filepath.Join(oracleDir, fileTorch))
	if err != nil {
		f.Fatal(err)
	}
	defer zr.Close()
	for _, e := range zr.File {
		if filepath.Base(e.Name) == "data.pkl" {
			b, err := readZipEntry(e, maxPickleBytes)
			if err != nil {
				f.Fatal(err)
			}
			return b
		}
	}
	f.Fatal("no data.pkl")
	return nil
}

// FuzzUnpickle runs the pickle reader on arbitrary bytes.
func FuzzUnpickle(f *testing.F) {
	f.Add(tinyPickle())
	f.Add(oraclePickle(f))
	f.Fuzz(func(t *testing.T, data []byte) {
		unpickle(data)
	})
}

// FuzzTorchZip runs the pytorch_model.bin reader on arbitrary bytes.
func FuzzTorchZip(f *testing.F) {
	f.Add(tinyTorchZip())
	f.Fuzz(func(t *testing.T, data []byte) {
		ts, err := readTorchZip(bytes.NewReader(data), int64(len(data)))
		checkTensors(t, ts, err)
	})
}

// FuzzSafetensors runs the safetensors reader on arbitrary bytes.
func FuzzSafetensors(f *testing.F) {
	header := []byte(`{"__metadata__":{"format":"pt"},"a":{"dtype":"F16","shape":[2,1],"data_offsets":[0,4]},"b":{"dtype":"BF16","shape":[1],"data_offsets":[4,6]},"c":{"dtype":"F32","shape":[1],"data_offsets":[6,10]}}`)
	seed := append(binary.LittleEndian.AppendUint64(nil, uint64(len(header))), header...)
	f.Add(append(seed, 0, 60, 0, 188, 128, 63, 0, 0, 128, 63))
	if b, err := os.ReadFile(filepath.Join(oracleDir, fileSafetensors)); err == nil {
		f.Add(b[:4096]) // a real header, data cut off
	}
	f.Fuzz(func(t *testing.T, data []byte) {
		ts, err := readSafetensors(bytes.NewReader(data), int64(len(data)))
		checkTensors(t, ts, err)
	})
}

// checkTensors checks that every tensor a reader accepted is consistent.
func checkTensors(t *testing.T, ts map[string]*hfTensor, err error) {
	if err != nil {
		return
	}
	for name, tt := range ts {
		n := 1
		for _, d := range tt.shape {
			n *= d
		}
		if n != len(tt.data) {
			t.Fatalf("tensor %q: shape %v but %d values", name, tt.shape, len(tt.data))
		}
	}
}
