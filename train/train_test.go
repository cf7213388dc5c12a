package train

import (
	"bytes"
	"context"
	"encoding/binary"
	"fmt"
	"hash/crc32"
	"math/rand/v2"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
)

// writeToyCorpus writes n made-up line-aligned pairs (a toy "language" of
// numbers spelled out) to dir and returns the two paths.
func writeToyCorpus(t testing.TB, dir string, n int) (string, string) {
	de := []string{"null", "eins", "zwei", "drei", "vier", "fünf", "sechs", "sieben", "acht", "neun"}
	en := []string{"zero", "one", "two", "three", "four", "five", "six", "seven", "eight", "nine"}
	r := rand.New(rand.NewPCG(1, 2))
	var src, tgt strings.Builder
	for i := 0; i < n; i++ {
		k := 1 + r.IntN(4)
		var a, b []string
		for j := 0; j < k; j++ {
			w := r.IntN(10)
			a, b = append(a, de[w]), append(b, en[w])
		}
		fmt.Fprintf(&src, "Ich sehe %s.\n", strings.Join(a, " "))
		fmt.Fprintf(&tgt, "I see %s.\n", strings.Join(b, " "))
	}
	sp, tp := filepath.Join(dir, "c.de"), filepath.Join(dir, "c.en")
	if err := os.WriteFile(sp, []byte(src.String()), 0o644); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(tp, []byte(tgt.String()), 0o644); err != nil {
		t.Fatal(err)
	}
	return sp, tp
}

func toyOptions() Options {
	o := DefaultOptions()
	o.Vocab, o.DModel, o.Heads, o.FFN, o.EncoderLayers, o.DecoderLayers = 160, 16, 2, 32, 2, 1
	o.BatchTokens, o.Warmup, o.LR, o.LogEvery, o.DevEvery, o.DevK = 200, 10, 3e-3, 5, 0, 7
	o.Hours, o.DType = 0, "f32"
	return o
}

// TestResumeIsExact trains N steps straight, and N/2 steps, then resumes
// for the other N/2 from the checkpoint: the weights and moments must be
// bit-identical. The cooldown before the end is given only on resume (as
// a real run learns its end late) and still matches the straight run.
func TestResumeIsExact(t *testing.T) {
	dir := t.TempDir()
	sp, tp := writeToyCorpus(t, dir, 300)
	o := toyOptions()
	run := func(out string, steps, cooldown int) *Checkpoint {
		o.MaxSteps, o.Cooldown = steps, cooldown
		var log bytes.Buffer
		if err := Run(context.Background(), o, sp, tp, out, &log, nil); err != nil {
			t.Fatalf("%v\n%s", err, log.String())
		}
		ck, err := ReadCheckpoint(filepath.Join(out, CheckpointName))
		if err != nil {
			t.Fatal(err)
		}
		return ck
	}
	const n, cool = 24, 8 // more than one epoch of toy batches; the cooldown starts after n/2
	straight := run(filepath.Join(dir, "a"), n, cool)
	run(filepath.Join(dir, "b"), n/2, 0)
	resumed := run(filepath.Join(dir, "b"), n, cool)
	if straight.State.Step != n || resumed.State.Step != n {
		t.Fatalf("steps %d and %d, want %d", straight.State.Step, resumed.State.Step, n)
	}
	if straight.State.Epoch < 1 {
		t.Fatalf("the run stayed in epoch 0; make the test cross an epoch boundary")
	}
	if straight.EMA == nil {
		t.Fatal("the run kept no moving average of the weights")
	}
	if !slices.Equal(straight.Params.W, resumed.Params.W) || !slices.Equal(straight.Adam.V, resumed.Adam.V) || !slices.Equal(straight.EMA, resumed.EMA) {
		t.Fatal("resumed run ended with different weights than the straight run")
	}
	if straight.State.Epoch != resumed.State.Epoch || straight.State.Batch != resumed.State.Batch {
		t.Fatalf("data positions differ: %+v vs %+v", straight.State, resumed.State)
	}
	if resumed.Options.Cooldown != cool {
		t.Errorf("the checkpoint records cooldown %d, want %d", resumed.Options.Cooldown, cool)
	}
	if plain := run(filepath.Join(dir, "c"), n, 0); slices.Equal(plain.Params.W, straight.Params.W) {
		t.Error("the cooldown changed nothing")
	}
}

// TestCheckpointRejectsDamage flips a byte and truncates.
func TestCheckpointRejectsDamage(t *testing.T) {
	cfg := tinyConfig("relu")
	m, err := NewModel(cfg, 1)
	if err != nil {
		t.Fatal(err)
	}
	path := filepath.Join(t.TempDir(), CheckpointName)
	ck := &Checkpoint{Config: cfg, Options: DefaultOptions(), State: State{Step: 5}, Params: m.Params, Adam: NewAdamW(len(m.Params.W), .9, .98, 1e-9, 0)}
	if err := WriteCheckpoint(path, ck); err != nil {
		t.Fatal(err)
	}
	back, err := ReadCheckpoint(path)
	if err != nil {
		t.Fatal(err)
	}
	if back.State.Step != 5 || !slices.Equal(back.Params.W, m.Params.W) {
		t.Fatal("checkpoint round trip changed the state")
	}
	data, _ := os.ReadFile(path)
	for name, bad := range map[string][]byte{
		"flipped":   append(append([]byte(nil), data[:100]...), append([]byte{data[100] ^ 1}, data[101:]...)...),
		"truncated": data[:len(data)/2],
		"empty":     nil,
	} {
		os.WriteFile(path, bad, 0o644)
		if _, err := ReadCheckpoint(path); err == nil {
			t.Errorf("%s checkpoint accepted", name)
		}
	}
}

// FuzzDecodeCheckpoint checks that no input makes the checkpoint reader
// panic or allocate beyond what the input holds.
func FuzzDecodeCheckpoint(f *testing.F) {
	cfg := tinyConfig("relu")
	m, err := NewModel(cfg, 1)
	if err != nil {
		f.Fatal(err)
	}
	var buf bytes.Buffer
	ck := &Checkpoint{Config: cfg, Options: DefaultOptions(), Params: m.Params, Adam: NewAdamW(len(m.Params.W), .9, .98, 1e-9, 0)}
	if err := encodeCheckpoint(&buf, ck); err != nil {
		f.Fatal(err)
	}
	f.Add(buf.Bytes())
	f.Add(buf.Bytes()[:100])
	f.Fuzz(func(t *testing.T, data []byte) {
		if len(data) >= 20 { // fix the checksum so mutations reach the parser
			binary.LittleEndian.PutUint32(data[len(data)-4:], crc32.ChecksumIEEE(data[:len(data)-4]))
		}
		ck, err := decodeCheckpoint(data, "fuzz")
		if err == nil {
			bindModel(ck.Config, ck.Params) // must not panic either
		}
	})
}
