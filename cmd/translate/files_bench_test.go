//go:build unix

package main

import (
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
)

// BenchmarkFiles translates one file of 10,000 and one of 100,000 lines
// through the files verb of the real binary with the tiny test model and
// reports lines per second and the child's peak resident memory: the
// memory must stay flat when the file is ten times longer.
//
//	go test ./cmd/translate -run '^$' -bench Files -benchtime 1x
func BenchmarkFiles(b *testing.B) {
	bin, model, refs := setup(b)
	for _, c := range []struct {
		name  string
		lines int
		flags []string
	}{
		{"lines=10000/greedy-maxlen8", 10000, []string{"--beam", "1", "--max-len", "8"}},
		{"lines=100000/greedy-maxlen8", 100000, []string{"--beam", "1", "--max-len", "8"}},
		{"lines=10000/greedy", 10000, []string{"--beam", "1"}},
	} {
		b.Run(c.name, func(b *testing.B) {
			dir := b.TempDir()
			in := filepath.Join(dir, "big.de")
			if err := os.WriteFile(in, []byte(strings.Join(germanLines(refs, c.lines), "\n")+"\n"), 0o644); err != nil {
				b.Fatal(err)
			}
			var peak int64
			for b.Loop() {
				os.Remove(filepath.Join(dir, "big.en"))
				// The file repeats 20 sentences: without --sentence-cache 0 it
				// would measure the cache, not the decoding.
				cmd := exec.Command(bin, append(append([]string{"files", "--quiet", "--sentence-cache", "0", "--model", model}, c.flags...), in)...)
				out, err := cmd.CombinedOutput()
				if err != nil {
					b.Fatalf("%v: %s", err, out)
				}
				if ru, ok := cmd.ProcessState.SysUsage().(*syscall.Rusage); ok {
					peak = max(peak, ru.Maxrss*1024)
				}
			}
			b.ReportMetric(float64(c.lines)*float64(b.N)/b.Elapsed().Seconds(), "lines/s")
			b.ReportMetric(float64(peak)/(1<<20), "peak-MiB")
		})
	}
}
