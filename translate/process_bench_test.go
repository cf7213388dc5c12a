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
)

// BenchmarkProcess measures what a user of a model file sees: a fresh
// process (this test binary run again as a helper, TestProcessChild) loads
// the opus-mt-sized random model from a file stored as f32, f16 or int8 (Load,
// weights auto) and translates the 16 benchmark sentences (benchTokens
// tokens each) in one cell: greedy at batch 1, or beam 4 at batch 16. It
// reports the load time (Load alone, timed in the child), the child's peak
// resident set size (VmHWM, Linux only: the whole process, runtime and
// binary included) and tokens/s. The last dimension is how the file is
// read: "kept" (Load: int8 and f16 matrices kept as stored) or "float32"
// (modelfile.ReadFile, every tensor dequantised, then the products' copies
// made at load: how Load read files before), so one run gives both.
//
//	go test ./translate -run '^$' -bench 'Process/int8' -benchtime 3x
func BenchmarkProcess(b *testing.B) {
	m, _ := benchSetup(b)
	dir := b.TempDir()
	for _, dt := range []modelfile.DType{modelfile.Int8, modelfile.F16, modelfile.F32} {
		path := filepath.Join(dir, dt.String()+".deen")
		if err := modelfile.WriteFile(path, m, modelfile.WriteOptions{DType: dt}); err != nil {
			b.Fatal(err)
		}
		for _, cell := range []struct{ beams, batch int }{{1, 1}, {4, 16}} {
			for _, read := range []string{"kept", "float32"} {
				if dt == modelfile.F32 && read == "float32" {
					continue // the same read
				}
				b.Run(fmt.Sprintf("%v/beam%d/batch%d/%s", dt, cell.beams, cell.batch, read), func(b *testing.B) {
					var load, rss, tps float64
					for range b.N {
						l, r, t := runChild(b, path, cell.beams, cell.batch, read)
						load, rss, tps = load+l, max(rss, r), tps+t
					}
					b.ReportMetric(load/float64(b.N), "load-s")
					if rss > 0 {
						b.ReportMetric(rss/1e6, "peak-RSS-MB")
					}
					b.ReportMetric(tps/float64(b.N), "tokens/s")
				})
			}
		}
	}
}

// runChild runs TestProcessChild in a new process and returns its load
// seconds, peak RSS in bytes (0 where unknown) and tokens/s, as it printed
// them.
func runChild(b *testing.B, path string, beams, batch int, read string) (load, rss, tps float64) {
	b.Helper()
	cmd := exec.Command(os.Args[0], "-test.run=^TestProcessChild$", "-test.count=1")
	cmd.Env = append(os.Environ(), fmt.Sprintf("DEEN_PROCESS_CHILD=%s,%d,%d,%s", path, beams, batch, read))
	out, err := cmd.CombinedOutput()
	if err != nil {
		b.Fatalf("child: %v\n%s", err, out)
	}
	for _, f := range strings.Fields(string(out)) {
		k, v, ok := strings.Cut(f, "=")
		x, perr := strconv.ParseFloat(v, 64)
		if !ok || perr != nil {
			continue
		}
		switch k {
		case "load-s":
			load = x
		case "tokens/s":
			tps = x
		case "peak-RSS-bytes":
			rss = x
		}
	}
	if load == 0 || tps == 0 {
		b.Fatalf("child printed no load time or speed:\n%s", out)
	}
	return load, rss, tps
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
	start := time.Now()
	var tr *Translator
	var err error
	if parts[3] == "float32" {
		var m *modelfile.Model
		if m, err = modelfile.ReadFile(parts[0]); err == nil {
			tr, err = newTranslator(m, WithBatchSize(batch))
		}
	} else {
		tr, err = Load(parts[0], WithBatchSize(batch))
	}
	if err != nil {
		t.Fatal(err)
	}
	load := time.Since(start).Seconds()
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
	start = time.Now()
	if _, err := tr.TranslateIDs(context.Background(), src, o); err != nil {
		t.Fatal(err)
	}
	fmt.Printf("load-s=%g tokens/s=%g peak-RSS-bytes=%d\n", load, float64(len(src)*benchTokens)/time.Since(start).Seconds(), peakRSS())
}
