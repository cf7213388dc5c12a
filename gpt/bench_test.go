package gpt

import (
	"context"
	"math/rand/v2"
	"testing"
)

// benchModel is the default language model's shape (d 256, 4 blocks, 4
// heads, block 128) over an 8,000-piece vocabulary, randomly initialised.
func benchModel(b *testing.B) *Model {
	m, err := NewRandom(NewConfig(8000, 256, 4, 4, 128, false), 1, nil)
	if err != nil {
		b.Fatal(err)
	}
	g, err := New(m)
	if err != nil {
		b.Fatal(err)
	}
	return g
}

// BenchmarkScore scores 64 sentences of 11 tokens (a beam's n-best for 16
// sentences, as reranking does) and reports scored tokens per second.
func BenchmarkScore(b *testing.B) {
	g := benchModel(b)
	r := rand.New(rand.NewPCG(1, 1))
	seqs := make([][]int32, 64)
	for i := range seqs {
		for range 11 {
			seqs[i] = append(seqs[i], int32(2+r.IntN(7997)))
		}
	}
	var sc Scratch
	b.ResetTimer()
	for range b.N {
		if _, err := g.Score(seqs, &sc); err != nil {
			b.Fatal(err)
		}
	}
	b.ReportMetric(float64(64*12*b.N)/b.Elapsed().Seconds(), "tok/s")
}

// BenchmarkGenerate samples 100 tokens through the key/value cache and
// reports generated tokens per second.
func BenchmarkGenerate(b *testing.B) {
	g := benchModel(b)
	g.eos = -1 // never stop early: always 100 tokens
	b.ResetTimer()
	for i := range b.N {
		out, err := g.Generate(context.Background(), []int32{5}, SampleOptions{MaxNew: 100, Temperature: 1}, rand.New(rand.NewPCG(uint64(i), 1)))
		if err != nil || len(out) != 100 {
			b.Fatalf("%d tokens, %v", len(out), err)
		}
	}
	b.ReportMetric(float64(100*b.N)/b.Elapsed().Seconds(), "tok/s")
}
