package translate

import (
	"context"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/deen-mt/deen/modelfile"
	"github.com/deen-mt/deen/nn/nntest"
)

// BenchmarkProcess measures what a user of a model file sees: a fresh
// process (this test binary run again as a helper, TestProcessChild) loads
// the opus-mt-sized random model from a file stored as f32, f16 or int8 (Load,
// weights auto) and translates the 16 benchmark sentences (benchTokens
// tokens each) in one cell: greedy at batch 1, or beam 4 at batch 16. It
// reports the load time (Load alone, timed in the child: wall and CPU
// seconds), the child's peak resident set size after Load and at the end
// (VmHWM, Linux only: the whole process, runtime and binary included) and
// tokens per second and per CPU-second (the steadier on a busy machine). The last dimension is how the file is
// read: "kept" (Load: int8 and f16 matrices kept as stored) or "float32"
// (modelfile.ReadFile, every tensor dequantised, then the products' copies
// made at load: how Load read files before), so one run gives both. The
// int8 file also runs "kept-shortlist": Load with WithShortlist(true), over
// the synthetic shortlist of benchShortlist, which every file carries.
//
//	go test ./translate -run '^$' -bench 'Process/int8' -benchtime 3x
func BenchmarkProcess(b *testing.B) {
	m, _ := benchSetup(b)
	m = benchShortlist(b, m)
	dir := b.TempDir()
	for _, dt := range []modelfile.DType{modelfile.Int8, modelfile.F16, modelfile.F32} {
		path := filepath.Join(dir, dt.String()+".deen")
		if err := modelfile.WriteFile(path, m, modelfile.WriteOptions{DType: dt}); err != nil {
			b.Fatal(err)
		}
		for _, cell := range []struct{ beams, batch int }{{1, 1}, {4, 16}} {
			reads := []string{"kept", "float32"}
			if dt == modelfile.Int8 {
				reads = append(reads, "kept-shortlist")
			}
			for _, read := range reads {
				if dt == modelfile.F32 && read == "float32" {
					continue // the same read
				}
				b.Run(fmt.Sprintf("%v/beam%d/batch%d/%s", dt, cell.beams, cell.batch, read), func(b *testing.B) {
					sum := map[string]float64{}
					for range b.N {
						for k, v := range runChild(b, path, cell.beams, cell.batch, read) {
							if strings.Contains(k, "RSS") {
								sum[k] = max(sum[k], v/1e6) // the largest, in MB
							} else {
								sum[k] += v / float64(b.N)
							}
						}
					}
					for k, v := range sum {
						b.ReportMetric(v, strings.Replace(k, "-bytes", "-MB", 1))
					}
				})
			}
		}
	}
}

// runChild runs TestProcessChild in a new process and returns what it
// printed: load-s and load-cpu-s (Load's wall and CPU seconds),
// load-RSS-bytes and peak-RSS-bytes (the peak resident set after Load and
// at the end; absent where unknown) and tokens/s.
func runChild(b *testing.B, path string, beams, batch int, read string) map[string]float64 {
	b.Helper()
	cmd := exec.Command(os.Args[0], "-test.run=^TestProcessChild$", "-test.count=1")
	cmd.Env = append(os.Environ(), fmt.Sprintf("DEEN_PROCESS_CHILD=%s,%d,%d,%s", path, beams, batch, read))
	out, err := cmd.CombinedOutput()
	if err != nil {
		b.Fatalf("child: %v\n%s", err, out)
	}
	got := map[string]float64{}
	for _, f := range strings.Fields(string(out)) {
		k, v, ok := strings.Cut(f, "=")
		if x, err := strconv.ParseFloat(v, 64); ok && err == nil && (x > 0 || !strings.Contains(k, "RSS")) {
			got[k] = x
		}
	}
	if got["load-s"] == 0 || got["tokens/s"] == 0 {
		b.Fatalf("child printed no load time or speed:\n%s", out)
	}
	return got
}

// TestProcessChild is BenchmarkProcess's helper process; it does nothing
// unless DEEN_PROCESS_CHILD names its work: path,beams,batch,read.
func TestProcessChild(t *testing.T) {
	spec := os.Getenv("DEEN_PROCESS_CHILD")
	if spec == "" {
		t.Skip("the helper process of BenchmarkProcess")
	}
	parts := strings.Split(spec, ",")
	if len(parts) != 4 {
		t.Fatalf("DEEN_PROCESS_CHILD=%q, want path,beams,batch,read", spec)
	}
	beams, err1 := strconv.Atoi(parts[1])
	batch, err2 := strconv.Atoi(parts[2])
	if err1 != nil || err2 != nil {
		t.Fatalf("DEEN_PROCESS_CHILD=%q: beams and batch must be numbers", spec)
	}
	start, cpu0 := time.Now(), nntest.CPUTime()
	var tr *Translator
	var err error
	if parts[3] == "float32" {
		var m *modelfile.Model
		if m, err = modelfile.ReadFile(parts[0]); err == nil {
			tr, err = newTranslator(m, WithBatchSize(batch))
		}
	} else {
		tr, err = Load(parts[0], WithBatchSize(batch), WithShortlist(parts[3] == "kept-shortlist"))
	}
	if err != nil {
		t.Fatal(err)
	}
	load, loadCPU, loadRSS := time.Since(start).Seconds(), (nntest.CPUTime() - cpu0).Seconds(), peakRSS()
	text, err := os.ReadFile("testdata/bench_de.txt")
	if err != nil {
		t.Fatal(err)
	}
	var src [][]int32
	for _, line := range strings.Split(strings.TrimSpace(string(text)), "\n") {
		ids, err := tr.Encode(line)
		if err != nil {
			t.Fatal(err)
		}
		src = append(src, ids)
	}
	o := SearchOptions{BeamSize: beams, LengthPenalty: 1, MaxNewTokens: benchTokens, MinNewTokens: benchTokens}
	start, cpu0 = time.Now(), nntest.CPUTime()
	if _, err := tr.TranslateIDs(context.Background(), src, o); err != nil {
		t.Fatal(err)
	}
	tokens := float64(len(src) * benchTokens)
	fmt.Printf("load-s=%g load-cpu-s=%g load-RSS-bytes=%d tokens/s=%g tokens/cpu-s=%g peak-RSS-bytes=%d\n",
		load, loadCPU, loadRSS, tokens/time.Since(start).Seconds(), tokens/(nntest.CPUTime()-cpu0).Seconds(), peakRSS())
}
