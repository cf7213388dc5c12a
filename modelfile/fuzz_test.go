package modelfile

import (
	"bytes"
	"encoding/json"
	"hash/crc32"
	"math"
	"slices"
	"testing"
)

// microModel is the smallest valid model, so fuzz inputs stay short.
func microModel(dt DType) []byte {
	c := tinyConfig()
	c.VocabSize, c.DModel, c.EncoderHeads, c.DecoderHeads = 4, 2, 1, 1
	c.EncoderFFN, c.DecoderFFN, c.DecoderLayers, c.PadID, c.DecoderStartID = 2, 2, 1, 3, 3
	c.Generation.BadWordsIDs = []int{3}
	var buf bytes.Buffer
	if err := Write(&buf, randomModel(c, 12), WriteOptions{DType: dt}); err != nil {
		panic(err)
	}
	return buf.Bytes()
}

// checkRead reads data; whatever it accepts must be a valid model that
// survives a write/read round trip, and reading it with its matrices kept
// (ReadWith) must accept it too, with the same values.
func checkRead(t *testing.T, data []byte) {
	m, err := Read(bytes.NewReader(data))
	k, kerr := ReadWith(bytes.NewReader(data), keepAll)
	if (err == nil) != (kerr == nil) {
		t.Fatalf("Read: %v; ReadWith keeping matrices: %v", err, kerr)
	}
	if err != nil {
		if m != nil || k != nil {
			t.Fatal("model returned with an error")
		}
		return
	}
	for name, tn := range m.Tensors {
		g, err := k.Get(name, tn.Shape...)
		if err != nil || !slices.EqualFunc(g, tn.Data, func(a, b float32) bool { return math.Float32bits(a) == math.Float32bits(b) }) {
			t.Fatalf("%s kept: %v, or other values than Read's", name, err)
		}
	}
	if err := ValidateTensors(m); err != nil {
		t.Fatalf("Read accepted an invalid model: %v", err)
	}
	var buf bytes.Buffer
	if err := Write(&buf, m, WriteOptions{}); err != nil {
		t.Fatalf("rewrite: %v", err)
	}
	if _, err := Read(&buf); err != nil {
		t.Fatalf("re-read: %v", err)
	}
}

// FuzzRead feeds arbitrary bytes to Read.
func FuzzRead(f *testing.F) {
	for _, dt := range []DType{F32, F16, Int8} {
		valid := microModel(dt)
		f.Add(valid)
		f.Add(valid[:len(valid)/2])
	}
	f.Add([]byte(Magic + "\x01\x00\x00\x00"))
	f.Add([]byte("PK\x03\x04"))
	f.Fuzz(checkRead)
}

// FuzzReadHeader frames an arbitrary JSON header and data with correct
// checksums (where the header parses and its entries lie inside data), so
// the fuzzer explores header validation and decoding rather than checksums.
func FuzzReadHeader(f *testing.F) {
	valid := microModel(Int8)
	m, err := Read(bytes.NewReader(valid))
	if err != nil {
		f.Fatal(err)
	}
	for _, dt := range []DType{F32, F16, Int8} {
		h := header{Config: m.Config}
		var data bytes.Buffer
		for _, name := range sortedKeys(m.Tensors) {
			tt := m.Tensors[name]
			d := storedDType(dt, tt.Shape)
			start := data.Len()
			if err := encodeTensor(tt, d, &data); err != nil {
				f.Fatal(err)
			}
			h.Tensors = append(h.Tensors, entry{Name: name, DType: d.String(), Shape: tt.Shape, Offset: int64(start), Size: int64(data.Len() - start)})
		}
		js, _ := json.Marshal(h)
		f.Add(js, data.Bytes())
	}
	f.Fuzz(func(t *testing.T, js, data []byte) {
		if len(js) == 0 {
			return
		}
		checkRead(t, frame([]byte(Magic+"\x01\x00\x00\x00"), fixChecksums(js, data), data))
	})
}

// fixChecksums sets the crc32c of every entry of the JSON header js whose
// range lies inside data; js comes back unchanged when it does not parse.
func fixChecksums(js, data []byte) []byte {
	var h header
	if json.Unmarshal(js, &h) != nil {
		return js
	}
	for _, list := range [][]entry{h.Blobs, h.Tensors} {
		for i := range list {
			e := &list[i]
			if e.Offset >= 0 && e.Size >= 0 && e.Offset+e.Size <= int64(len(data)) {
				e.CRC32C = crc32.Checksum(data[e.Offset:e.Offset+e.Size], castagnoli)
			}
		}
	}
	fixed, err := json.Marshal(h)
	if err != nil {
		return js
	}
	return fixed
}
