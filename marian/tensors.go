package marian

import (
	"archive/zip"
	"encoding/binary"
	"encoding/json"
	"fmt"
	"io"
	"math"
	"strings"

	"github.com/deen-mt/deen/modelfile"
)

// hfTensor is one checkpoint tensor, converted to float32.
type hfTensor struct {
	shape []int
	data  []float32
}

// Bounds on what a checkpoint may claim.
const (
	maxHeaderBytes = 100 << 20 // safetensors JSON header
	maxPickleBytes = 256 << 20 // data.pkl
	maxDeflate     = 1032      // deflate's largest expansion ratio
)

// elemSize returns the byte size of a safetensors dtype we read.
func elemSize(dtype string) (int64, bool) {
	switch dtype {
	case "F32":
		return 4, true
	case "F16", "BF16":
		return 2, true
	}
	return 0, false
}

// decodeValues reads len(dst) values of dtype from r into dst in chunks.
func decodeValues(r io.Reader, dtype string, dst []float32) error {
	es, _ := elemSize(dtype)
	buf := make([]byte, 1<<16)
	for done := 0; done < len(dst); {
		k := min(len(dst)-done, len(buf)/int(es))
		p := buf[:k*int(es)]
		if _, err := io.ReadFull(r, p); err != nil {
			return err
		}
		out := dst[done : done+k]
		switch dtype {
		case "F32":
			for i := range out {
				out[i] = math.Float32frombits(binary.LittleEndian.Uint32(p[4*i:]))
			}
		case "F16":
			for i := range out {
				out[i] = modelfile.HalfToFloat32(binary.LittleEndian.Uint16(p[2*i:]))
			}
		case "BF16":
			for i := range out {
				out[i] = modelfile.BFloat16ToFloat32(binary.LittleEndian.Uint16(p[2*i:]))
			}
		}
		done += k
	}
	return nil
}

// shapeElements returns the product of a shape of positive dimensions, or
// false when a dimension is not positive or the product exceeds limit.
func shapeElements(shape []int64, limit int64) (int64, bool) {
	n := int64(1)
	for _, s := range shape {
		if s <= 0 || s > limit || n > limit/s {
			return 0, false
		}
		n *= s
	}
	return n, true
}

// toInts converts a checked shape to []int.
func toInts(shape []int64) []int {
	out := make([]int, len(shape))
	for i, s := range shape {
		out[i] = int(s)
	}
	return out
}

// readSafetensors reads every tensor of a safetensors file: a u64
// little-endian header length, a JSON header (dtype, shape, data_offsets
// relative to the end of the header) and the raw little-endian data.
func readSafetensors(r io.ReaderAt, size int64) (map[string]*hfTensor, error) {
	var nb [8]byte
	if _, err := r.ReadAt(nb[:], 0); err != nil {
		return nil, fmt.Errorf("safetensors: file of %d bytes is too short", size)
	}
	n := binary.LittleEndian.Uint64(nb[:])
	if n < 2 || n > maxHeaderBytes || int64(n) > size-8 {
		return nil, fmt.Errorf("safetensors: header length %d does not fit the file (%d bytes)", n, size)
	}
	js := make([]byte, n)
	if _, err := r.ReadAt(js, 8); err != nil {
		return nil, fmt.Errorf("safetensors: reading header: %w", err)
	}
	var entries map[string]json.RawMessage
	if err := json.Unmarshal(js, &entries); err != nil {
		return nil, fmt.Errorf("safetensors: header is not a JSON object: %w", err)
	}
	base := 8 + int64(n)
	out := map[string]*hfTensor{}
	for name, raw := range entries {
		if name == "__metadata__" {
			continue
		}
		var e struct {
			DType   string  `json:"dtype"`
			Shape   []int64 `json:"shape"`
			Offsets []int64 `json:"data_offsets"`
		}
		if err := json.Unmarshal(raw, &e); err != nil {
			return nil, fmt.Errorf("safetensors: tensor %q: %w", name, err)
		}
		es, ok := elemSize(e.DType)
		if !ok {
			return nil, fmt.Errorf("safetensors: tensor %q has dtype %q; only F32, F16 and BF16 are supported", name, e.DType)
		}
		numel, ok := shapeElements(e.Shape, size)
		if !ok || len(e.Offsets) != 2 || e.Offsets[0] < 0 || e.Offsets[1] < e.Offsets[0] ||
			e.Offsets[1] > size-base || e.Offsets[1]-e.Offsets[0] != numel*es {
			return nil, fmt.Errorf("safetensors: tensor %q: shape %v, dtype %s and data_offsets %v disagree with each other or the file size %d", name, e.Shape, e.DType, e.Offsets, size)
		}
		t := &hfTensor{shape: toInts(e.Shape), data: make([]float32, numel)}
		if err := decodeValues(io.NewSectionReader(r, base+e.Offsets[0], numel*es), e.DType, t.data); err != nil {
			return nil, fmt.Errorf("safetensors: tensor %q: %w", name, err)
		}
		out[name] = t
	}
	return out, nil
}

// readTorchZip reads a state_dict written by torch.save (zip format): the
// pickle <prefix>/data.pkl and the storages <prefix>/data/<key>. Tensors
// that share a storage share its float32 data.
func readTorchZip(r io.ReaderAt, size int64) (map[string]*hfTensor, error) {
	zr, err := zip.NewReader(r, size)
	if err != nil {
		return nil, fmt.Errorf("pytorch_model.bin: not a zip archive (a legacy non-zip torch.save file? re-save it with a current PyTorch): %w", err)
	}
	files := map[string]*zip.File{}
	prefix := ""
	for _, f := range zr.File {
		files[f.Name] = f
		if strings.HasSuffix(f.Name, "/data.pkl") || f.Name == "data.pkl" {
			if prefix != "" {
				return nil, fmt.Errorf("pytorch_model.bin: more than one data.pkl")
			}
			prefix = strings.TrimSuffix(f.Name, "data.pkl")
			if prefix == "" {
				prefix = "/" // marks "found at the root"
			}
		}
	}
	if prefix == "" {
		return nil, fmt.Errorf("pytorch_model.bin: no data.pkl in the zip archive")
	}
	prefix = strings.TrimPrefix(prefix, "/")
	if bo, ok := files[prefix+"byteorder"]; ok {
		b, err := readZipEntry(bo, 16)
		if err != nil || strings.TrimSpace(string(b)) != "little" {
			return nil, fmt.Errorf("pytorch_model.bin: byte order %q is not supported (want little)", b)
		}
	}
	pkl, err := readZipEntry(files[prefix+"data.pkl"], maxPickleBytes)
	if err != nil {
		return nil, fmt.Errorf("pytorch_model.bin: %w", err)
	}
	v, err := unpickle(pkl)
	if err != nil {
		return nil, fmt.Errorf("pytorch_model.bin: data.pkl: %w", err)
	}
	dict, ok := v.(*pickleDict)
	if !ok {
		return nil, fmt.Errorf("pytorch_model.bin: data.pkl holds a %T, not a state_dict", v)
	}
	storages := map[string][]float32{}
	out := map[string]*hfTensor{}
	for i, k := range dict.keys {
		name, ok := k.(string)
		tt, ok2 := dict.values[i].(*torchTensor)
		if !ok || !ok2 {
			return nil, fmt.Errorf("pytorch_model.bin: state_dict entry %s is not a named tensor", short(k))
		}
		if _, dup := out[name]; dup {
			return nil, fmt.Errorf("pytorch_model.bin: tensor %q appears twice", name)
		}
		st := tt.storage
		data, ok := storages[st.key]
		if !ok {
			if data, err = readStorage(files[prefix+"data/"+st.key], st, size); err != nil {
				return nil, fmt.Errorf("pytorch_model.bin: storage %s of tensor %q: %w", st.key, name, err)
			}
			storages[st.key] = data
		} else if int64(len(data)) != st.numel {
			return nil, fmt.Errorf("pytorch_model.bin: storage %s is used with two sizes", st.key)
		}
		t, err := tensorView(tt, data)
		if err != nil {
			return nil, fmt.Errorf("pytorch_model.bin: tensor %q: %w", name, err)
		}
		out[name] = t
	}
	return out, nil
}

// readZipEntry reads a whole zip entry of at most limit bytes.
func readZipEntry(f *zip.File, limit int64) ([]byte, error) {
	if f.UncompressedSize64 > uint64(limit) {
		return nil, fmt.Errorf("%s is %d bytes, more than %d", f.Name, f.UncompressedSize64, limit)
	}
	rc, err := f.Open()
	if err != nil {
		return nil, fmt.Errorf("%s: %w", f.Name, err)
	}
	defer rc.Close()
	b, err := io.ReadAll(io.LimitReader(rc, limit))
	if err != nil {
		return nil, fmt.Errorf("%s: %w", f.Name, err)
	}
	return b, nil
}

// readStorage decodes one storage file of an archive of archiveSize bytes
// into float32; sizes the archive cannot back are refused before allocating.
func readStorage(f *zip.File, st *storageRef, archiveSize int64) ([]float32, error) {
	if f == nil {
		return nil, fmt.Errorf("the zip archive has no data/%s", st.key)
	}
	es, _ := elemSize(st.dtype)
	want := uint64(st.numel) * uint64(es)
	if f.UncompressedSize64 != want {
		return nil, fmt.Errorf("%s holds %d bytes, the pickle says %d %s values", f.Name, f.UncompressedSize64, st.numel, st.dtype)
	}
	packed := min(f.CompressedSize64, uint64(archiveSize))
	if f.Method == zip.Store && f.CompressedSize64 != want || want > maxDeflate*packed+1024 {
		return nil, fmt.Errorf("%s: sizes in the zip directory are inconsistent", f.Name)
	}
	rc, err := f.Open()
	if err != nil {
		return nil, err
	}
	defer rc.Close()
	data := make([]float32, st.numel)
	if err := decodeValues(rc, st.dtype, data); err != nil {
		return nil, fmt.Errorf("%s: %w", f.Name, err)
	}
	// Reading to the end makes archive/zip verify the entry's CRC-32.
	if _, err := io.Copy(io.Discard, rc); err != nil {
		return nil, fmt.Errorf("%s: %w", f.Name, err)
	}
	return data, nil
}

// tensorView returns the tensor's values as a slice of its storage; only
// contiguous (row-major) tensors are supported.
func tensorView(t *torchTensor, storage []float32) (*hfTensor, error) {
	numel, ok := shapeElements(t.size, int64(len(storage)))
	if !ok || len(t.stride) != len(t.size) {
		return nil, fmt.Errorf("size %v / stride %v is not a non-empty tensor inside a storage of %d values", t.size, t.stride, len(storage))
	}
	expect := int64(1)
	for i := len(t.size) - 1; i >= 0; i-- {
		if t.size[i] != 1 && t.stride[i] != expect {
			return nil, fmt.Errorf("size %v with stride %v is not contiguous (re-save with .contiguous())", t.size, t.stride)
		}
		expect *= t.size[i]
	}
	if t.offset < 0 || t.offset > int64(len(storage))-numel {
		return nil, fmt.Errorf("offset %d + %d values is outside its storage of %d values", t.offset, numel, len(storage))
	}
	return &hfTensor{shape: toInts(t.size), data: storage[t.offset : t.offset+numel : t.offset+numel]}, nil
}
