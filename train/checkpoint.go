package train

import (
	"encoding/binary"
	"encoding/json"
	"fmt"
	"hash/crc32"
	"io"
	"math"
	"os"

	"github.com/deen-mt/deen/internal/atomicfile"
	"github.com/deen-mt/deen/modelfile"
)

// checkpointMagic starts every checkpoint file; the version follows it.
const (
	checkpointMagic   = "DEENCKPT"
	checkpointVersion = 1
	// CheckpointName is the checkpoint's file name inside the output folder.
	CheckpointName = "checkpoint.bin"
)

// State is where a run stands: everything besides the weights and the
// optimizer moments that a resumed run needs to continue exactly.
type State struct {
	// Step counts the optimizer updates done.
	Step int `json:"step"`
	// Epoch is the pass over the training data the next batch belongs to.
	Epoch int `json:"epoch"`
	// Batch is the index of the next batch within Epoch's batch order.
	Batch int `json:"batch"`
	// RNG is the dropout generator's state (math/rand/v2 PCG binary form).
	RNG []byte `json:"rng"`
	// Seconds is the training wall time spent so far, over all sessions.
	Seconds float64 `json:"seconds"`
	// Tokens counts the target tokens trained on so far.
	Tokens int64 `json:"tokens"`
	// BestBLEU is the best dev BLEU of the interval evaluations so far (on
	// the first DevSentences dev pairs; 0 before the first).
	BestBLEU float64 `json:"best_bleu"`
	// Examples is the number of training examples, a check that a resumed
	// run reads the same data.
	Examples int `json:"examples"`
}

// checkpointHeader is the JSON header of a checkpoint.
type checkpointHeader struct {
	Config  modelfile.Config `json:"config"`
	Options Options          `json:"options"`
	State   State            `json:"state"`
	Adam    int              `json:"adam_steps"`
	EMA     bool             `json:"ema"`
	Names   []string         `json:"names"`
	Shapes  [][]int          `json:"shapes"`
}

// Checkpoint is the full state of a run: weights, AdamW moments, the model
// configuration, the options and the run State.
type Checkpoint struct {
	// Config is the model's architecture.
	Config modelfile.Config
	// Options are the run's options.
	Options Options
	// State is where the run stands.
	State State
	// Params holds the weights.
	Params *Params
	// Adam holds the optimizer's moments and step count.
	Adam *AdamW
	// EMA is the exponential moving average of the weights (nil when off).
	EMA []float32
}

// WriteCheckpoint writes c to path atomically (temporary file in the same
// folder, fsync, rename, fsync of the folder), so path always holds either
// the previous or the new checkpoint, never a torn one.
func WriteCheckpoint(path string, c *Checkpoint) error {
	return atomicfile.Write(path, "checkpoint", func(w io.Writer) error { return encodeCheckpoint(w, c) })
}

// encodeCheckpoint writes magic, version, header length and JSON header,
// then weights, first and second moments and (when kept) the weights'
// moving average as little-endian float32, then the CRC-32 (IEEE) of
// everything before it.
func encodeCheckpoint(w io.Writer, c *Checkpoint) error {
	h := checkpointHeader{Config: c.Config, Options: c.Options, State: c.State, Adam: c.Adam.Steps, EMA: c.EMA != nil}
	for _, p := range c.Params.List {
		h.Names = append(h.Names, p.Name)
		h.Shapes = append(h.Shapes, p.Shape)
	}
	js, err := json.Marshal(h)
	if err != nil {
		return fmt.Errorf("write checkpoint: %w", err)
	}
	crc := crc32.NewIEEE()
	mw := io.MultiWriter(w, crc)
	var pre [16]byte
	copy(pre[:8], checkpointMagic)
	binary.LittleEndian.PutUint32(pre[8:], checkpointVersion)
	binary.LittleEndian.PutUint32(pre[12:], uint32(len(js)))
	if _, err := mw.Write(pre[:]); err != nil {
		return err
	}
	if _, err := mw.Write(js); err != nil {
		return err
	}
	buf := make([]byte, 1<<16)
	arrays := [][]float32{c.Params.W, c.Adam.M, c.Adam.V}
	if c.EMA != nil {
		arrays = append(arrays, c.EMA)
	}
	for _, xs := range arrays {
		for len(xs) > 0 {
			n := min(len(xs), len(buf)/4)
			for i, v := range xs[:n] {
				binary.LittleEndian.PutUint32(buf[4*i:], math.Float32bits(v))
			}
			if _, err := mw.Write(buf[:4*n]); err != nil {
				return err
			}
			xs = xs[n:]
		}
	}
	var sum [4]byte
	binary.LittleEndian.PutUint32(sum[:], crc.Sum32())
	_, err = w.Write(sum[:])
	return err
}

// ReadCheckpoint reads a checkpoint written by WriteCheckpoint. A damaged
// file (wrong magic, newer version, bad sizes, checksum mismatch) gives an
// error naming the problem.
func ReadCheckpoint(path string) (*Checkpoint, error) {
	data, err := os.ReadFile(path)
	if err != nil {
		return nil, err
	}
	return decodeCheckpoint(data, path)
}

// decodeCheckpoint parses a checkpoint file's bytes; path names it in
// errors.
func decodeCheckpoint(data []byte, path string) (*Checkpoint, error) {
	bad := func(format string, args ...any) error {
		return fmt.Errorf("checkpoint %s: %s; delete it to start the run afresh", path, fmt.Sprintf(format, args...))
	}
	if len(data) < 20 || string(data[:8]) != checkpointMagic {
		return nil, bad("not a deen checkpoint")
	}
	if v := binary.LittleEndian.Uint32(data[8:]); v != checkpointVersion {
		return nil, bad("format version %d, this build reads %d", v, checkpointVersion)
	}
	body, sum := data[:len(data)-4], binary.LittleEndian.Uint32(data[len(data)-4:])
	if crc32.ChecksumIEEE(body) != sum {
		return nil, bad("checksum mismatch (truncated or damaged)")
	}
	hl := int(binary.LittleEndian.Uint32(data[12:]))
	if hl > len(body)-16 {
		return nil, bad("header length %d exceeds the file", hl)
	}
	var h checkpointHeader
	if err := json.Unmarshal(body[16:16+hl], &h); err != nil {
		return nil, bad("header: %v", err)
	}
	if len(h.Names) != len(h.Shapes) {
		return nil, bad("%d names but %d shapes", len(h.Names), len(h.Shapes))
	}
	n := 0
	for _, s := range h.Shapes {
		k := 1
		for _, d := range s {
			if d <= 0 || d > 1<<30 || k > (1<<34)/d {
				return nil, bad("bad tensor shape %v", s)
			}
			k *= d
		}
		if n += k; n > 1<<34 {
			return nil, bad("tensors claim more than 2^34 values")
		}
	}
	raw := body[16+hl:]
	k := 3
	if h.EMA {
		k = 4
	}
	if len(raw) != k*4*n {
		return nil, bad("%d data bytes, the header implies %d", len(raw), k*4*n)
	}
	decay := make([]bool, len(h.Names))
	for i, s := range h.Shapes {
		decay[i] = len(s) == 2
	}
	c := &Checkpoint{Config: h.Config, Options: h.Options, State: h.State,
		Params: NewParams(h.Names, h.Shapes, decay)}
	c.Adam = NewAdamW(n, h.Options.Beta1, h.Options.Beta2, h.Options.AdamEps, h.Options.WeightDecay)
	c.Adam.Steps = h.Adam
	arrays := [][]float32{c.Params.W, c.Adam.M, c.Adam.V}
	if h.EMA {
		c.EMA = make([]float32, n)
		arrays = append(arrays, c.EMA)
	}
	for i, xs := range arrays {
		b := raw[i*4*n:]
		for j := range xs {
			xs[j] = math.Float32frombits(binary.LittleEndian.Uint32(b[4*j:]))
		}
	}
	return c, nil
}
