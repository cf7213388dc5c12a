package modelfile

import (
	"bufio"
	"bytes"
	"encoding/binary"
	"encoding/json"
	"errors"
	"fmt"
	"hash"
	"hash/crc32"
	"io"
	"math"
	"os"
	"slices"
	"sort"
	"unsafe"

	"github.com/deen-mt/deen/internal/atomicfile"
	"github.com/klauspost/compress/zstd"
)

// Magic is the first 8 bytes of every model file.
const Magic = "DEENMODL"

// FormatVersion is the newest format version this package writes and reads.
const FormatVersion = 1

// Bounds on what a file may claim; see docs/modelfile.md.
const (
	maxHeaderBytes = 64 << 20 // JSON header
	maxBlobBytes   = 1 << 30  // one tokenizer file
	maxBlobs       = 64
	allocFloor     = 1 << 22 // values allocated before any data arrives
	budgetRatio    = 16      // up-front float32 bytes allowed per byte of input
	maxZstdWindow  = 64 << 20
)

// Errors a reader can test for with errors.Is.
var (
	// ErrNotModel means the input is not a deen model file at all.
	ErrNotModel = errors.New("not a deen model file")
	// ErrNewerVersion means the file was written by a newer deen.
	ErrNewerVersion = errors.New("model file written by a newer deen")
	// ErrCorrupt means the file is a deen model file but damaged: truncated,
	// checksum mismatch, inconsistent header.
	ErrCorrupt = errors.New("corrupt model file")
)

// DType is how a tensor's values are stored in the file. In memory every
// tensor is float32.
type DType uint8

// Storage types.
const (
	// F32 stores IEEE float32, little-endian.
	F32 DType = iota
	// F16 stores IEEE float16 (round to nearest even), little-endian.
	F16
	// Int8 stores 2-D tensors as one float32 scale per row followed by int8
	// values (value = q · scale, symmetric, scale = max|row| / 127). Tensors
	// of other ranks are stored as F32.
	Int8
)

// String returns the name used in the file header and on the command line.
func (d DType) String() string {
	switch d {
	case F32:
		return "f32"
	case F16:
		return "f16"
	case Int8:
		return "int8"
	}
	return fmt.Sprintf("dtype(%d)", uint8(d))
}

// ParseDType parses "f32", "f16" or "int8".
func ParseDType(s string) (DType, error) {
	for _, d := range []DType{F32, F16, Int8} {
		if s == d.String() {
			return d, nil
		}
	}
	return 0, fmt.Errorf("unknown dtype %q (want f32, f16 or int8)", s)
}

// WriteOptions control how Write stores a model.
type WriteOptions struct {
	// DType is the storage type of the weights.
	DType DType
	// ZstdLevel is the zstd compression level (1..22); 0 means the default (3).
	ZstdLevel int
}

// header is the JSON header of a model file.
type header struct {
	Config  Config  `json:"config"`
	Blobs   []entry `json:"blobs"`
	Tensors []entry `json:"tensors"`
}

// entry locates one blob or tensor in the data section.
type entry struct {
	Name   string `json:"name"`
	DType  string `json:"dtype,omitempty"`
	Shape  []int  `json:"shape,omitempty"`
	Offset int64  `json:"offset"`
	Size   int64  `json:"size"`
	CRC32C uint32 `json:"crc32c"`
}

var castagnoli = crc32.MakeTable(crc32.Castagnoli)

// Write writes m to w in the model file format. The model must pass
// ValidateTensors, so that every file written can be read back.
func Write(w io.Writer, m *Model, opt WriteOptions) error {
	if err := ValidateTensors(m); err != nil {
		return err
	}
	if opt.DType > Int8 {
		return fmt.Errorf("write model: unknown dtype %v", opt.DType)
	}
	if opt.ZstdLevel < 0 || opt.ZstdLevel > 22 {
		return fmt.Errorf("write model: zstd level %d, want 1..22 (0 for the default)", opt.ZstdLevel)
	}
	h := header{Config: m.Config, Blobs: []entry{}, Tensors: []entry{}}
	var off int64
	blobNames := sortedKeys(m.Blobs)
	if len(blobNames) > maxBlobs {
		return fmt.Errorf("write model: %d blobs, at most %d allowed", len(blobNames), maxBlobs)
	}
	for _, name := range blobNames {
		b := m.Blobs[name]
		if name == "" || len(b) > maxBlobBytes {
			return fmt.Errorf("write model: blob %q: empty name or larger than %d bytes", name, maxBlobBytes)
		}
		h.Blobs = append(h.Blobs, entry{Name: name, Offset: off, Size: int64(len(b)), CRC32C: crc32.Checksum(b, castagnoli)})
		off += int64(len(b))
	}
	tensorNames := sortedKeys(m.Tensors)
	for _, name := range tensorNames {
		t := m.Tensors[name]
		dt := storedDType(opt.DType, t.Shape)
		crc := crc32.New(castagnoli)
		if err := encodeTensor(t, dt, crc); err != nil {
			return err
		}
		size := storedSize(dt, t.Shape)
		h.Tensors = append(h.Tensors, entry{Name: name, DType: dt.String(), Shape: t.Shape, Offset: off, Size: size, CRC32C: crc.Sum32()})
		off += size
	}
	js, err := json.Marshal(h)
	if err != nil {
		return fmt.Errorf("write model: encode header: %w", err)
	}
	if len(js) > maxHeaderBytes {
		return fmt.Errorf("write model: header is %d bytes, at most %d allowed", len(js), maxHeaderBytes)
	}

	var pre [12]byte
	copy(pre[:], Magic)
	binary.LittleEndian.PutUint32(pre[8:], FormatVersion)
	if _, err := w.Write(pre[:]); err != nil {
		return fmt.Errorf("write model: %w", err)
	}
	level := zstd.SpeedDefault
	if opt.ZstdLevel > 0 {
		level = zstd.EncoderLevelFromZstd(opt.ZstdLevel)
	}
	zw, err := zstd.NewWriter(w, zstd.WithEncoderLevel(level), zstd.WithEncoderCRC(true))
	if err != nil {
		return fmt.Errorf("write model: %w", err)
	}
	var hl [8]byte
	binary.LittleEndian.PutUint32(hl[0:], uint32(len(js)))
	binary.LittleEndian.PutUint32(hl[4:], crc32.Checksum(js, castagnoli))
	err = writeAll(zw, hl[:], js)
	for _, name := range blobNames {
		if err == nil {
			err = writeAll(zw, m.Blobs[name])
		}
	}
	for i, name := range tensorNames {
		if err == nil {
			dt, _ := ParseDType(h.Tensors[i].DType)
			err = encodeTensor(m.Tensors[name], dt, zw)
		}
	}
	if cerr := zw.Close(); err == nil {
		err = cerr
	}
	if err != nil {
		return fmt.Errorf("write model: %w", err)
	}
	return nil
}

// writeAll writes each slice in turn.
func writeAll(w io.Writer, parts ...[]byte) error {
	for _, p := range parts {
		if _, err := w.Write(p); err != nil {
			return err
		}
	}
	return nil
}

// sortedKeys returns the keys of m in ascending order.
func sortedKeys[V any](m map[string]V) []string {
	keys := make([]string, 0, len(m))
	for k := range m {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	return keys
}

// storedDType is the type a tensor of this shape is stored as under want.
func storedDType(want DType, shape []int) DType {
	if want == Int8 && len(shape) != 2 {
		return F32
	}
	return want
}

// storedSize is the number of bytes a tensor of this shape takes as dt.
func storedSize(dt DType, shape []int) int64 {
	n, _ := numElements(shape)
	switch dt {
	case F16:
		return 2 * int64(n)
	case Int8:
		return 4*int64(shape[0]) + int64(n)
	}
	return 4 * int64(n)
}

// chunkValues is how many values encodeTensor and readTensor convert at a time.
const chunkValues = 1 << 14

// encodeTensor writes t's values stored as dt to w in chunks, so that no
// encoded copy of the whole tensor exists. A kept matrix is written from its
// float32 values (Model.Get).
func encodeTensor(t *Tensor, dt DType, w io.Writer) error {
	data := t.float32Data()
	buf := make([]byte, 0, 4*chunkValues)
	flush := func() error {
		_, err := w.Write(buf)
		buf = buf[:0]
		return err
	}
	switch dt {
	case F32:
		for _, v := range data {
			buf = binary.LittleEndian.AppendUint32(buf, math.Float32bits(v))
			if len(buf) == cap(buf) {
				if err := flush(); err != nil {
					return err
				}
			}
		}
	case F16:
		for i, v := range data {
			h, ok := Float32ToHalf(v)
			if !ok {
				return fmt.Errorf("write model: tensor %q value %g at index %d does not fit float16; store as f32", t.Name, v, i)
			}
			buf = binary.LittleEndian.AppendUint16(buf, h)
			if len(buf) == cap(buf) {
				if err := flush(); err != nil {
					return err
				}
			}
		}
	case Int8:
		rows, cols := t.Shape[0], t.Shape[1]
		scales, err := rowScales(t.Name, data, rows, cols)
		if err != nil {
			return err
		}
		for _, s := range scales {
			buf = binary.LittleEndian.AppendUint32(buf, math.Float32bits(s))
			if len(buf) == cap(buf) {
				if err := flush(); err != nil {
					return err
				}
			}
		}
		for r := 0; r < rows; r++ {
			inv := float32(0)
			if scales[r] > 0 {
				inv = 1 / scales[r]
			}
			for _, v := range data[r*cols : (r+1)*cols] {
				q := math.RoundToEven(float64(v * inv))
				buf = append(buf, byte(int8(max(-127, min(127, q)))))
				if len(buf) == cap(buf) {
					if err := flush(); err != nil {
						return err
					}
				}
			}
		}
	}
	return flush()
}

// rowScales returns max|row|/127 for each row of a 2-D tensor; it rejects
// non-finite values, which int8 cannot represent.
func rowScales(name string, data []float32, rows, cols int) ([]float32, error) {
	scales := make([]float32, rows)
	for r := range scales {
		var m float32
		for c, v := range data[r*cols : (r+1)*cols] {
			if math.IsNaN(float64(v)) || math.IsInf(float64(v), 0) {
				return nil, fmt.Errorf("write model: tensor %q has %g at [%d,%d]; int8 needs finite values", name, v, r, c)
			}
			m = max(m, float32(math.Abs(float64(v))))
		}
		scales[r] = m / 127
	}
	return scales, nil
}

// WriteFile writes m to path atomically: it writes a temporary file in the
// same directory, syncs it and renames it over path, so path never holds a
// partial model.
func WriteFile(path string, m *Model, opt WriteOptions) error {
	return atomicfile.Write(path, "model file", func(w io.Writer) error { return Write(w, m, opt) })
}

// ReadOptions choose how Read keeps matrices stored at reduced precision.
// The zero value dequantises every tensor to float32 (Tensor.Data).
type ReadOptions struct {
	// KeepF16 keeps every 2-D tensor stored as f16 as its bits
	// (Tensor.F16), half the memory of float32; 1-D ones load as float32.
	KeepF16 bool
	// Int8, when not nil, keeps every tensor stored as int8 (all 2-D): the
	// reader calls it with the tensor's shape and row scales once they are
	// read, then puts the int8 values into the store it returned as they
	// arrive (Tensor.Int8; Put is called from one goroutine at a time, not
	// necessarily the reader's); the store is sized by its maker, so this
	// happens only while the input backs the allocation (a file or an
	// in-memory reader of its size; a plain stream loads as float32).
	Int8 func(rows, cols int, scales []float32) Int8Store
}

// ReadFile reads the model file at path, every tensor as float32.
func ReadFile(path string) (*Model, error) { return ReadFileWith(path, ReadOptions{}) }

// ReadFileWith reads the model file at path, keeping reduced-precision
// matrices as opt says.
func ReadFileWith(path string, opt ReadOptions) (*Model, error) {
	st, err := os.Stat(path)
	if err != nil {
		return nil, fmt.Errorf("read model: %w", err)
	}
	if st.IsDir() {
		return nil, fmt.Errorf("read model: %s is a directory, not a model file (to import a Hugging Face opus-mt directory run: translate convert marian %s OUT.deen): %w", path, path, ErrNotModel)
	}
	f, err := os.Open(path)
	if err != nil {
		return nil, fmt.Errorf("read model: %w", err)
	}
	defer f.Close()
	m, err := ReadWith(f, opt)
	if err != nil {
		return nil, fmt.Errorf("%s: %w", path, err)
	}
	return m, nil
}

// Read reads a model file from r. It streams through the zstd decoder and
// decodes each tensor straight into its float32 slice; every length in the
// header is checked against the Config and the bounds of the format before
// anything is allocated.
func Read(r io.Reader) (*Model, error) { return ReadWith(r, ReadOptions{}) }

// ReadWith is Read keeping reduced-precision matrices as opt says: each is
// decoded straight into its kept form, never into float32.
func ReadWith(r io.Reader, opt ReadOptions) (*Model, error) {
	br := bufio.NewReaderSize(r, 1<<16)
	pre, err := br.Peek(16)
	if err != nil && err != io.EOF && len(pre) < 12 {
		return nil, fmt.Errorf("read model: %w", err)
	}
	if len(pre) == 0 {
		return nil, fmt.Errorf("read model: empty file: %w", ErrNotModel)
	}
	if len(pre) < 12 || string(pre[:8]) != Magic {
		if len(pre) < 12 && bytes.HasPrefix([]byte(Magic), pre[:min(len(pre), 8)]) {
			return nil, fmt.Errorf("read model: truncated after %d bytes: %w", len(pre), ErrCorrupt)
		}
		return nil, fmt.Errorf("read model: %w (looks like %s)", ErrNotModel, describe(pre))
	}
	v := binary.LittleEndian.Uint32(pre[8:12])
	switch {
	case v == 0:
		return nil, fmt.Errorf("read model: format version 0 is invalid: %w", ErrCorrupt)
	case v > FormatVersion:
		return nil, fmt.Errorf("read model: format version %d, this build reads up to %d; upgrade deen: %w", v, FormatVersion, ErrNewerVersion)
	}
	br.Discard(12)
	zr, err := zstd.NewReader(br, zstd.WithDecoderConcurrency(1), zstd.WithDecoderLowmem(true),
		zstd.WithDecoderMaxWindow(maxZstdWindow))
	if err != nil {
		return nil, fmt.Errorf("read model: %w", err)
	}
	defer zr.Close()
	body := &bodyReader{r: zr, budget: budgetRatio * inputSize(r), opt: opt}
	m, err := readBody(body)
	if err != nil {
		return nil, fmt.Errorf("read model: %w", err)
	}
	return m, nil
}

// bodyReader reads the decompressed body and turns decoder failures into
// ErrCorrupt errors that say where they happened.
type bodyReader struct {
	r   io.Reader
	pos int64
	// budget is how many bytes of tensors may still be allocated at their
	// full size before their data arrives (a multiple of the input size).
	budget int64
	opt    ReadOptions
	buf    []byte    // the chunk buffer every tensor reads through
	spare  [2][]byte // two more, for readStored
}

// chunk returns the reader's chunk buffer (4·chunkValues bytes).
func (b *bodyReader) chunk() []byte {
	if b.buf == nil {
		b.buf = make([]byte, 4*chunkValues)
	}
	return b.buf
}

// readFull fills p or fails with an error saying what was being read.
func (b *bodyReader) readFull(p []byte, what string) error {
	n, err := io.ReadFull(b.r, p)
	b.pos += int64(n)
	if err == io.EOF || err == io.ErrUnexpectedEOF {
		return fmt.Errorf("truncated in %s (%d bytes into the body): %w", what, b.pos, ErrCorrupt)
	}
	if err != nil {
		return fmt.Errorf("damaged in %s (%d bytes into the body): %v: %w", what, b.pos, err, ErrCorrupt)
	}
	return nil
}

// readBody reads the header and data sections.
func readBody(b *bodyReader) (*Model, error) {
	var hl [8]byte
	if err := b.readFull(hl[:], "header length"); err != nil {
		return nil, err
	}
	n := binary.LittleEndian.Uint32(hl[0:])
	if n == 0 || n > maxHeaderBytes {
		return nil, fmt.Errorf("header length %d is outside 1..%d: %w", n, maxHeaderBytes, ErrCorrupt)
	}
	js, err := readBytes(b, int64(n), "header")
	if err != nil {
		return nil, err
	}
	if crc32.Checksum(js, castagnoli) != binary.LittleEndian.Uint32(hl[4:]) {
		return nil, fmt.Errorf("header checksum mismatch: %w", ErrCorrupt)
	}
	var h header
	if err := json.Unmarshal(js, &h); err != nil {
		return nil, fmt.Errorf("header is not valid JSON: %v: %w", err, ErrCorrupt)
	}
	dtypes, err := checkHeader(&h)
	if err != nil {
		return nil, err
	}
	m := &Model{Config: h.Config, Tensors: make(map[string]*Tensor, len(h.Tensors)), Blobs: make(map[string][]byte, len(h.Blobs))}
	for _, e := range h.Blobs {
		data, err := readBytes(b, e.Size, "blob "+e.Name)
		if err != nil {
			return nil, err
		}
		if crc32.Checksum(data, castagnoli) != e.CRC32C {
			return nil, fmt.Errorf("checksum mismatch in blob %q: %w", e.Name, ErrCorrupt)
		}
		m.Blobs[e.Name] = data
	}
	for i, e := range h.Tensors {
		t, err := readTensor(b, e, dtypes[i])
		if err != nil {
			return nil, err
		}
		m.Tensors[e.Name] = t
		if e.Name == "embed.weight" {
			m.DType = dtypes[i]
		}
	}
	var one [1]byte
	if n, err := io.ReadFull(b.r, one[:]); n > 0 {
		return nil, fmt.Errorf("unexpected data after the last tensor: %w", ErrCorrupt)
	} else if err != io.EOF {
		return nil, fmt.Errorf("damaged after the last tensor: %v: %w", err, ErrCorrupt)
	}
	return m, nil
}

// checkHeader validates the header before any data is read: the config,
// and every entry's name, dtype, shape (against the config), size and
// offset (contiguous, blobs then tensors). It returns the tensors' dtypes.
func checkHeader(h *header) ([]DType, error) {
	if err := h.Config.Validate(); err != nil {
		return nil, fmt.Errorf("%v: %w", err, ErrCorrupt)
	}
	if len(h.Blobs) > maxBlobs {
		return nil, fmt.Errorf("%d blobs, at most %d allowed: %w", len(h.Blobs), maxBlobs, ErrCorrupt)
	}
	var off int64
	seen := map[string]bool{}
	for _, e := range h.Blobs {
		if e.Name == "" || seen["blob:"+e.Name] {
			return nil, fmt.Errorf("blob name %q is empty or repeated: %w", e.Name, ErrCorrupt)
		}
		seen["blob:"+e.Name] = true
		if e.Size < 0 || e.Size > maxBlobBytes || e.Offset != off {
			return nil, fmt.Errorf("blob %q has offset %d size %d (want offset %d, size 0..%d): %w", e.Name, e.Offset, e.Size, off, maxBlobBytes, ErrCorrupt)
		}
		off += e.Size
	}
	specs := map[string]TensorSpec{}
	for _, s := range h.Config.Tensors() {
		specs[s.Name] = s
	}
	dtypes := make([]DType, len(h.Tensors))
	for i, e := range h.Tensors {
		s, ok := specs[e.Name]
		switch {
		case !ok:
			return nil, fmt.Errorf("tensor %q is not implied by the config: %w", e.Name, ErrCorrupt)
		case seen[e.Name]:
			return nil, fmt.Errorf("tensor %q appears twice: %w", e.Name, ErrCorrupt)
		case !slices.Equal(e.Shape, s.Shape):
			return nil, fmt.Errorf("tensor %q has shape %v, the config implies %v: %w", e.Name, e.Shape, s.Shape, ErrCorrupt)
		}
		seen[e.Name] = true
		dt, err := ParseDType(e.DType)
		if err != nil {
			return nil, fmt.Errorf("tensor %q: %v: %w", e.Name, err, ErrCorrupt)
		}
		if dt == Int8 && len(e.Shape) != 2 {
			return nil, fmt.Errorf("tensor %q: int8 needs 2 dimensions, has shape %v: %w", e.Name, e.Shape, ErrCorrupt)
		}
		if want := storedSize(dt, e.Shape); e.Size != want || e.Offset != off {
			return nil, fmt.Errorf("tensor %q has offset %d size %d, want offset %d size %d: %w", e.Name, e.Offset, e.Size, off, want, ErrCorrupt)
		}
		dtypes[i] = dt
		off += e.Size
	}
	var missing []string
	for _, s := range h.Config.Tensors() {
		if !s.Optional && !seen[s.Name] {
			missing = append(missing, s.Name)
		}
	}
	if len(missing) > 0 {
		return nil, fmt.Errorf("file lacks %d tensors the config implies (first: %q): %w", len(missing), missing[0], ErrCorrupt)
	}
	return dtypes, nil
}

// readBytes reads n bytes, growing the buffer only as data arrives so that a
// lying length cannot force a large allocation.
func readBytes(b *bodyReader, n int64, what string) ([]byte, error) {
	var buf bytes.Buffer
	buf.Grow(int(min(n, allocFloor)))
	got, err := io.CopyN(&buf, b.r, n)
	b.pos += got
	if err == io.EOF {
		return nil, fmt.Errorf("truncated in %s (%d bytes into the body): %w", what, b.pos, ErrCorrupt)
	}
	if err != nil {
		return nil, fmt.Errorf("damaged in %s (%d bytes into the body): %v: %w", what, b.pos, err, ErrCorrupt)
	}
	return buf.Bytes(), nil
}

// readTensor decodes one tensor from the stream, checking its checksum:
// into float32, or kept as stored when b.opt asks for it (readKept). A
// tensor is allocated at full size while the input-size budget lasts (the
// usual case: weights barely compress), else the slice grows (doubling from
// allocFloor) as data arrives, so a header cannot make the reader allocate
// memory the input does not back.
func readTensor(b *bodyReader, e entry, dt DType) (*Tensor, error) {
	n, _ := numElements(e.Shape)
	crc := crc32.New(castagnoli)
	what := "tensor " + e.Name
	t := &Tensor{Name: e.Name, Shape: e.Shape}
	buf := b.chunk()
	var scales []float32
	if dt == Int8 {
		var err error
		if scales, err = readScales(b, crc, e.Shape[0], what); err != nil {
			return nil, err
		}
	}
	var err error
	switch {
	case dt == Int8 && b.opt.Int8 != nil && b.upFront(int64(n)):
		t.Int8 = b.opt.Int8(e.Shape[0], e.Shape[1], scales)
		err = readStored(b, crc, n, what, t.Int8)
	case dt == F16 && b.opt.KeepF16 && len(e.Shape) == 2:
		t.F16, err = readGrowing(b, crc, n, 2, buf, what, func(data []uint16, i int, p []byte) {
			for j := range data[i:] {
				data[i+j] = binary.LittleEndian.Uint16(p[2*j:])
			}
		})
	default:
		t.Data, err = readFloat32(b, crc, n, dt, buf, what, scales, e.Shape)
	}
	if err != nil {
		return nil, err
	}
	if crc.Sum32() != e.CRC32C {
		return nil, fmt.Errorf("checksum mismatch in tensor %q: %w", e.Name, ErrCorrupt)
	}
	return t, nil
}

// upFront reports whether a tensor of size bytes may be allocated before
// its data arrives, and if so takes it from the budget.
func (b *bodyReader) upFront(size int64) bool {
	if size > b.budget {
		return false
	}
	b.budget -= size
	return true
}

// readChunks reads n values of size bytes each in chunks, passing each
// chunk with the index of its first value to put.
func readChunks(b *bodyReader, crc hash.Hash32, n, size int, buf []byte, what string, put func(i int, p []byte)) error {
	for i := 0; i < n; {
		k := min(n-i, chunkValues)
		p := buf[:size*k]
		if err := readChecked(b, crc, p, what); err != nil {
			return err
		}
		put(i, p)
		i += k
	}
	return nil
}

// readStored reads the n int8 values of a kept tensor into store, a chunk
// at a time: each chunk is put into the store on a second goroutine while
// the next is decompressed and checksummed, so on two cores the packing
// costs no load time.
func readStored(b *bodyReader, crc hash.Hash32, n int, what string, store Int8Store) error {
	type piece struct {
		i int
		p []byte
	}
	size := len(b.chunk())
	if b.spare[0] == nil {
		b.spare = [2][]byte{make([]byte, size), make([]byte, size)}
	}
	free, full, done := make(chan []byte, 3), make(chan piece, 2), make(chan struct{})
	free <- b.chunk()
	free <- b.spare[0]
	free <- b.spare[1]
	go func() {
		for c := range full {
			store.Put(c.i, c.p)
			free <- c.p[:size]
		}
		close(done)
	}()
	var err error
	for i := 0; i < n && err == nil; {
		p := (<-free)[:min(n-i, size)]
		if err = readChecked(b, crc, p, what); err == nil {
			full <- piece{i, p}
			i += len(p)
		}
	}
	close(full)
	<-done
	return err
}

// readGrowing reads n values of size bytes each into a new slice, decoding
// each chunk p with decode into data[i:] (data holds the values so far and
// room for the chunk's); the slice is allocated whole when the budget
// allows, else grown as data arrives.
func readGrowing[T any](b *bodyReader, crc hash.Hash32, n, size int, buf []byte, what string, decode func(data []T, i int, p []byte)) ([]T, error) {
	first := min(n, allocFloor)
	var zero T
	if b.upFront(int64(n) * int64(unsafe.Sizeof(zero))) {
		first = n
	}
	data := make([]T, 0, first)
	err := readChunks(b, crc, n, size, buf, what, func(i int, p []byte) {
		k := len(p) / size
		data = growTo(data, i+k, n)[:i+k]
		decode(data, i, p)
	})
	return data, err
}

// readFloat32 reads a tensor of n values stored as dt into float32; for
// int8, scales are its row scales (already read).
func readFloat32(b *bodyReader, crc hash.Hash32, n int, dt DType, buf []byte, what string, scales []float32, shape []int) ([]float32, error) {
	switch dt {
	case F16:
		return readGrowing(b, crc, n, 2, buf, what, func(data []float32, i int, p []byte) {
			for j := range data[i:] {
				data[i+j] = HalfToFloat32(binary.LittleEndian.Uint16(p[2*j:]))
			}
		})
	case Int8:
		return readGrowing(b, crc, n, 1, buf, what, func(data []float32, i int, p []byte) {
			appendInt8(data[:i], p, scales, shape[1])
		})
	}
	return readGrowing(b, crc, n, 4, buf, what, func(data []float32, i int, p []byte) {
		for j := range data[i:] {
			data[i+j] = math.Float32frombits(binary.LittleEndian.Uint32(p[4*j:]))
		}
	})
}

// appendInt8 appends the int8 values p, each times its row's scale, to
// data, whose length is the index of p[0] in the row-major tensor of cols
// columns; data must have room for them. It works a row's run at a time,
// so no value pays for finding its row.
func appendInt8(data []float32, p []byte, scales []float32, cols int) []float32 {
	for len(p) > 0 {
		n := len(data)
		run := p[:min(len(p), cols-n%cols)]
		s, out := scales[n/cols], data[n:n+len(run)]
		for i, q := range run {
			out[i] = float32(int8(q)) * s
		}
		data, p = data[:n+len(run)], p[len(run):]
	}
	return data
}

// readScales reads the per-row scales of an int8 tensor; they must be
// finite and non-negative.
func readScales(b *bodyReader, crc hash.Hash32, rows int, what string) ([]float32, error) {
	scales := make([]float32, 0, rows)
	buf := b.chunk()
	for len(scales) < rows {
		p := buf[:4*min(rows-len(scales), chunkValues)]
		if err := readChecked(b, crc, p, what+" scales"); err != nil {
			return nil, err
		}
		for i := 0; i < len(p); i += 4 {
			s := math.Float32frombits(binary.LittleEndian.Uint32(p[i:]))
			if !(s >= 0 && s <= math.MaxFloat32) {
				return nil, fmt.Errorf("%s: row %d has scale %g: %w", what, len(scales), s, ErrCorrupt)
			}
			scales = append(scales, s)
		}
	}
	return scales, nil
}

// readChecked fills p and adds it to the checksum.
func readChecked(b *bodyReader, crc hash.Hash32, p []byte, what string) error {
	if err := b.readFull(p, what); err != nil {
		return err
	}
	crc.Write(p)
	return nil
}

// growTo makes room for need values, doubling the capacity but never
// beyond total.
func growTo[T any](data []T, need, total int) []T {
	if need <= cap(data) {
		return data
	}
	c := min(max(2*cap(data), need), total)
	grown := make([]T, len(data), c)
	copy(grown, data)
	return grown
}

// inputSize returns the size of r in bytes when r knows it (files,
// bytes.Reader, strings.Reader, io.SectionReader), else 0.
func inputSize(r io.Reader) int64 {
	switch v := r.(type) {
	case interface{ Size() int64 }:
		return v.Size()
	case interface{ Stat() (os.FileInfo, error) }:
		if st, err := v.Stat(); err == nil && st.Mode().IsRegular() {
			return st.Size()
		}
	}
	return 0
}
