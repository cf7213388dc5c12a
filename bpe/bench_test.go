package bpe

import (
	"testing"
)

// BenchmarkEncode encodes 32,000 German and English corpus lines (skipped
// without the corpus) with a unigram and a BPE model, reporting MB/s of
// input and tokens/s. scripts/spm_crosscheck.sh compares it with spm_encode.
func BenchmarkEncode(b *testing.B) {
	lines := crossCheckLines(b)
	size := 0
	for _, l := range lines {
		size += len(l) + 1
	}
	for _, c := range []struct{ name, file string }{
		{"unigram", "tiny-marian-A/source.spm"},
		{"bpe", "joint_bpe.spm"},
	} {
		m := loadOracleModel(b, c.file)
		b.Run(c.name, func(b *testing.B) {
			b.SetBytes(int64(size))
			tokens := 0
			for b.Loop() {
				for _, l := range lines {
					tokens += len(m.Encode(l))
				}
			}
			b.ReportMetric(float64(tokens)/b.Elapsed().Seconds(), "tokens/s")
		})
	}
}
