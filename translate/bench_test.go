package translate

import (
	"cmp"
	"context"
	"fmt"
	"math"
	"os"
	"path/filepath"
	"runtime"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/deen-mt/deen/modelfile"
	"github.com/deen-mt/deen/nn/nntest"
)

// The benchmarks run an opus-mt-de-en-sized model with deterministic random
// weights (vocab 58101, d 512, 6+6 layers, 8 heads, ffn 2048) on the 16
// German sentences of testdata/bench_de.txt, tokenized with tiny-marian-A's
// SentencePiece models (whose ids fit the larger vocabulary). Every
// sentence gets exactly benchTokens target tokens (the end token is
// forbidden before, forced at the end), so runs are comparable.
//
//	go test ./translate -run '^$' -bench . -benchtime 1x
//
// BenchmarkTranslate's last dimension is the precision of the decoder's
// step weights (WithWeightPrecision); for the effect of int8 and f16 at
// batch 1, in one run:
//
//	go test ./translate -run '^$' -bench 'Translate/beam[14]/batch1$/' -benchtime 1x -count 2

const benchTokens = 32

var bench struct {
	once  sync.Once
	model *modelfile.Model
	src   [][]int32
	err   error
}

// opusSizedConfig is the architecture of Helsinki-NLP/opus-mt-de-en, with
// its generation setting that never produces the pad id.
func opusSizedConfig() modelfile.Config {
	c := nntest.OpusMTConfig()
	c.Generation.BadWordsIDs = []int{c.PadID}
	return c
}

// randomWeights builds a model of cfg with deterministic random weights
// (uniform with std 0.02, embeddings with std 1/√d, layer norms 1 and 0)
// and, with tokenizer, the tokenizer blobs of tiny-marian-A.
func randomWeights(cfg modelfile.Config, tokenizer bool) (*modelfile.Model, error) {
	m := &modelfile.Model{Config: cfg, Tensors: map[string]*modelfile.Tensor{}, Blobs: map[string][]byte{}}
	state := uint64(0x9E3779B97F4A7C15)
	for _, s := range cfg.Tensors() {
		n := 1
		for _, d := range s.Shape {
			n *= d
		}
		data := make([]float32, n)
		switch {
		case strings.HasSuffix(s.Name, "_ln.weight"):
			for i := range data {
				data[i] = 1
			}
		case strings.HasSuffix(s.Name, "_ln.bias"):
		default:
			scale := float32(0.02 * math.Sqrt(3)) // uniform with std 0.02
			if s.Name == "embed.weight" {
				scale = float32(1 / math.Sqrt(float64(cfg.DModel)) * math.Sqrt(3))
			}
			for i := range data {
				state ^= state << 13
				state ^= state >> 7
				state ^= state << 17
				data[i] = scale * (float32(state>>40)/float32(1<<23) - 1)
			}
		}
		m.Tensors[s.Name] = &modelfile.Tensor{Name: s.Name, Shape: s.Shape, Data: data}
	}
	if !tokenizer {
		return m, nil
	}
	for _, name := range []string{modelfile.BlobSourceSPM, modelfile.BlobTargetSPM, modelfile.BlobVocab} {
		b, err := os.ReadFile(filepath.Join("../testdata/oracle/tiny-marian-A", name))
		if err != nil {
			return nil, err
		}
		m.Blobs[name] = b
	}
	return m, nil
}

// benchSetup builds the random model and tokenizes the sentences once.
func benchSetup(b *testing.B) (*modelfile.Model, [][]int32) {
	b.Helper()
	bench.once.Do(func() {
		if bench.model, bench.err = randomWeights(opusSizedConfig(), true); bench.err != nil {
			return
		}
		tr, err := newTranslator(bench.model)
		if err != nil {
			bench.err = err
			return
		}
		text, err := os.ReadFile("testdata/bench_de.txt")
		if err != nil {
			bench.err = err
			return
		}
		for _, line := range strings.Split(strings.TrimSpace(string(text)), "\n") {
			ids, err := tr.Encode(line)
			if err != nil {
				bench.err = err
				return
			}
			bench.src = append(bench.src, ids)
		}
	})
	if bench.err != nil {
		b.Fatal(bench.err)
	}
	return bench.model, bench.src
}

// BenchmarkTranslate's cells are greedy / beam 4 × batch 1 / 16 × the
// step weights' precision, and for f32 and int8 also with a vocabulary
// shortlist (f32-shortlist, int8-shortlist; see benchShortlist), so that
// -bench 'Translate/beam4/batch16/int8' runs int8 with and without it.
func BenchmarkTranslate(b *testing.B) {
	m, src := benchSetup(b)
	sl := benchShortlist(b, m)
	for _, beams := range []int{1, 4} {
		for _, batch := range []int{1, 16} {
			for _, weights := range []string{"f32", "f16", "int8", "f32-shortlist", "int8-shortlist"} {
				b.Run(fmt.Sprintf("beam%d/batch%d/%s", beams, batch, weights), func(b *testing.B) {
					model, opts := m, []Option{WithBatchSize(batch), WithWeightPrecision(strings.TrimSuffix(weights, "-shortlist"))}
					if strings.HasSuffix(weights, "-shortlist") {
						model, opts = sl, append(opts, WithShortlist(true))
					}
					benchTranslate(b, model, src, beams, opts...)
				})
			}
		}
	}
}

// benchShortlist returns m with a synthetic shortlist (random weights have
// no translations to learn): the 2,000 lowest ids as the frequent ones and
// 20 pseudo-random candidates per source id from a fixed seed, about the
// size of a learned one (Tatoeba: K = 1,000, 11.9 candidates per source id).
func benchShortlist(b *testing.B, m *modelfile.Model) *modelfile.Model {
	v := m.Config.VocabSize
	frequent := make([]int32, 2000)
	for i := range frequent {
		frequent[i] = int32(i)
	}
	per := map[int32][]int32{}
	state := uint64(0x2545F4914F6CDD1D)
	for s := range int32(v) {
		seen := map[int32]bool{}
		for len(per[s]) < 20 {
			state ^= state << 13
			state ^= state >> 7
			state ^= state << 17
			if t := int32(2000 + state%uint64(v-2000)); !seen[t] {
				seen[t] = true
				per[s] = append(per[s], t)
			}
		}
	}
	return withBlob(m, modelfile.BlobShortlist, blobOf(b, v, frequent, per))
}

// benchTranslate translates src with beams beams and the translator
// options opts (batch size, weights, shortlist). The sentence cache is
// off: with it every iteration after the first would be a lookup, and
// -benchtime Nx would divide the decoding time by N.
func benchTranslate(b *testing.B, m *modelfile.Model, src [][]int32, beams int, opts ...Option) {
	tr, err := newTranslator(m, append([]Option{WithSentenceCache(0)}, opts...)...)
	if err != nil {
		b.Fatal(err)
	}
	o := SearchOptions{BeamSize: beams, LengthPenalty: 1, MaxNewTokens: benchTokens, MinNewTokens: benchTokens}
	ctx := context.Background()
	b.ResetTimer()
	start, cpu0 := time.Now(), nntest.CPUTime()
	for range b.N {
		res, err := tr.TranslateIDs(ctx, src, o)
		if err != nil {
			b.Fatal(err)
		}
		if len(res[0].IDs) != benchTokens {
			b.Fatalf("%d tokens, want %d", len(res[0].IDs), benchTokens)
		}
	}
	sec := time.Since(start).Seconds()
	b.ReportMetric(float64(b.N*len(src)*benchTokens)/sec, "tokens/s")
	if cpu := (nntest.CPUTime() - cpu0).Seconds(); cpu > 0 {
		// Throughput per CPU-second: comparable on a busy machine.
		b.ReportMetric(float64(b.N*len(src)*benchTokens)/cpu, "tokens/cpu-s")
	}
	b.ReportMetric(float64(b.N*len(src))/sec, "sentences/s")
	if tr.shortlist != nil {
		b.ReportMetric(meanCandidates(tr, src), "candidates/batch")
	}
	reportMemory(b)
}

// meanCandidates is the mean size of the shortlist's candidate sets over
// the batches tr decodes src in (length-sorted, as translateIDs cuts them).
func meanCandidates(tr *Translator, src [][]int32) float64 {
	sorted := slices.Clone(src)
	slices.SortStableFunc(sorted, func(a, b []int32) int { return cmp.Compare(len(a), len(b)) })
	total, batches := 0, 0
	for lo := 0; lo < len(sorted); lo += tr.batchSize {
		cand, _ := tr.candidates(sorted[lo:min(lo+tr.batchSize, len(sorted))])
		total += len(cand)
		batches++
	}
	return float64(total) / float64(batches)
}

// BenchmarkLoad loads the opus-mt-sized model from a file stored as f32,
// f16 or int8 (Load with the default weights "auto": the file's precision),
// in this process: maxRSS includes the benchmark's own float32 copy of the
// model, so for a process's peak memory use BenchmarkProcess. For a CPU
// profile of loading:
//
//	go test ./translate -run '^$' -bench 'Load/int8' -benchtime 6x -cpuprofile load.prof
func BenchmarkLoad(b *testing.B) {
	m, _ := benchSetup(b)
	for _, dt := range []modelfile.DType{modelfile.F32, modelfile.F16, modelfile.Int8} {
		b.Run(dt.String(), func(b *testing.B) {
			path := filepath.Join(b.TempDir(), "opus-sized.deen")
			if err := modelfile.WriteFile(path, m, modelfile.WriteOptions{DType: dt}); err != nil {
				b.Fatal(err)
			}
			st, err := os.Stat(path)
			if err != nil {
				b.Fatal(err)
			}
			b.SetBytes(st.Size())
			runtime.GC()
			b.ResetTimer()
			for range b.N {
				if _, err := Load(path); err != nil {
					b.Fatal(err)
				}
			}
			b.StopTimer()
			b.ReportMetric(float64(st.Size())/(1<<20), "file-MiB")
			b.ReportMetric(b.Elapsed().Seconds()/float64(b.N), "s/load")
			reportMemory(b)
		})
	}
}

// reportMemory reports the Go heap in use and the process's peak resident
// set size so far (maxRSS covers the whole benchmark binary's life).
func reportMemory(b *testing.B) {
	var ms runtime.MemStats
	runtime.ReadMemStats(&ms)
	b.ReportMetric(float64(ms.HeapInuse)/(1<<20), "heap-MiB")
	if rss := maxRSS(); rss > 0 {
		b.ReportMetric(float64(rss)/(1<<20), "maxRSS-MiB")
	}
}

// fixedLogits is a stepper whose every row gets the same precomputed
// logits, so a benchmark measures the search alone.
type fixedLogits struct {
	row  []float32
	rows int
}

func (f *fixedLogits) Step(tokens []int32, logits []float32) {
	for r := range tokens {
		copy(logits[r*len(f.row):], f.row)
	}
}

func (f *fixedLogits) Reorder(parents []int) { f.rows = len(parents) }

// fixedRow returns a row of v deterministic pseudo-random logits in [0, 10).
func fixedRow(v int) []float32 {
	row := make([]float32, v)
	state := uint64(1)
	for i := range row {
		state = state*6364136223846793005 + 1442695040888963407
		row[i] = float32(state>>40) / float32(1<<24) * 10
	}
	return row
}

// benchSpec is the search of the benchmarks on cfg's vocabulary: beams
// beams, length penalty 1, exactly benchTokens tokens, pad never generated.
func benchSpec(cfg modelfile.Config, beams int) *searchSpec {
	return &searchSpec{vocab: cfg.VocabSize, start: int32(cfg.DecoderStartID), eos: int32(cfg.EOSID),
		badWords: []int32{int32(cfg.PadID)}, forcedEOS: true, beams: beams, lengthPenalty: 1, minNewTokens: benchTokens}
}

// BenchmarkSearchOnly measures the search's own work per decoder step
// (log-softmax, processors, top-k, bookkeeping) at opus-mt's vocabulary
// size, without a model: 16 sentences × 4 beams (or greedy), 32 steps.
func BenchmarkSearchOnly(b *testing.B) {
	cfg := opusSizedConfig()
	row := fixedRow(cfg.VocabSize)
	for _, beams := range []int{1, 4} {
		b.Run(fmt.Sprintf("beam%d/batch16", beams), func(b *testing.B) {
			sp := benchSpec(cfg, beams)
			maxLen := make([]int, 16)
			for i := range maxLen {
				maxLen[i] = benchTokens + 1
			}
			ctx := context.Background()
			cpu0 := nntest.CPUTime()
			for range b.N {
				st := &fixedLogits{row: row, rows: 16 * beams}
				var err error
				if beams == 1 {
					_, err = greedySearch(ctx, st, sp, maxLen)
				} else {
					_, err = beamSearch(ctx, st, sp, maxLen)
				}
				if err != nil {
					b.Fatal(err)
				}
			}
			rowSteps := float64(b.N * benchTokens * 16 * beams)
			b.ReportMetric(float64(b.Elapsed().Nanoseconds())/rowSteps/1e3, "µs/row-step")
			// CPU time per row and step: steadier on a shared machine.
			b.ReportMetric(float64((nntest.CPUTime()-cpu0).Nanoseconds())/rowSteps/1e3, "cpu-µs/row-step")
		})
	}
}

// beamSizes are the beam sizes whose cost per beam BenchmarkBeamSize compares.
var beamSizes = []int{4, 16, 64, 128}

// BenchmarkBeamSize shows that a beam search step costs about the same per
// beam at every beam size, so a step's cost grows linearly with the beam
// size: one sentence, 32 steps (end token forbidden before, forced at the
// end), reported per beam and step (wall and CPU time). "search" is the search alone on fixed
// logits at opus-mt's vocabulary (58101); "model" translates with the
// embedded default model (skipped in a build without one).
//
//	go test ./translate -run '^$' -bench BeamSize -benchtime 1x
func BenchmarkBeamSize(b *testing.B) {
	cfg := opusSizedConfig()
	row := fixedRow(cfg.VocabSize)
	for _, beams := range beamSizes {
		b.Run(fmt.Sprintf("search/beam%d", beams), func(b *testing.B) {
			sp := benchSpec(cfg, beams)
			cpu0 := nntest.CPUTime()
			for range b.N {
				if _, err := beamSearch(context.Background(), &fixedLogits{row: row, rows: beams}, sp, []int{benchTokens + 1}); err != nil {
					b.Fatal(err)
				}
			}
			reportPerBeamStep(b, beams, nntest.CPUTime()-cpu0)
		})
	}
	tr, err := Default(WithBatchSize(1))
	if err != nil {
		b.Skip(err)
	}
	src, err := tr.Encode("Der kleine Hund spielt jeden Morgen mit dem roten Ball im Garten.")
	if err != nil {
		b.Fatal(err)
	}
	for _, beams := range beamSizes {
		b.Run(fmt.Sprintf("model/beam%d", beams), func(b *testing.B) {
			o := SearchOptions{BeamSize: beams, MaxNewTokens: benchTokens, MinNewTokens: benchTokens}
			cpu0 := nntest.CPUTime()
			for range b.N {
				res, err := tr.TranslateIDs(context.Background(), [][]int32{src}, o)
				if err != nil {
					b.Fatal(err)
				}
				if len(res[0].IDs) != benchTokens {
					b.Fatalf("%d tokens, want %d", len(res[0].IDs), benchTokens)
				}
			}
			reportPerBeamStep(b, beams, nntest.CPUTime()-cpu0)
		})
	}
}

// reportPerBeamStep reports the wall and CPU time per beam and step of b's
// runs (CPU time is the steadier figure on a shared machine).
func reportPerBeamStep(b *testing.B, beams int, cpu time.Duration) {
	n := float64(b.N * benchTokens * beams)
	b.ReportMetric(float64(b.Elapsed().Nanoseconds())/n/1e3, "µs/beam-step")
	b.ReportMetric(float64(cpu.Nanoseconds())/n/1e3, "cpu-µs/beam-step")
}

// BenchmarkSentenceCache translates testdata/repetitive_de.txt (a report
// of 413 lines with page headers, ticket fields and a signature repeated
// on every page: 104 distinct lines) as a stream with the embedded default
// model and its default search, with the sentence cache (WithSentenceCache,
// emptied before every run) and without it, and reports both rates and
// their ratio. Skipped in a build without a default model.
//
//	go test ./translate -run '^$' -bench SentenceCache -benchtime 1x
func BenchmarkSentenceCache(b *testing.B) {
	text, err := os.ReadFile("testdata/repetitive_de.txt")
	if err != nil {
		b.Fatal(err)
	}
	lines := strings.Count(string(text), "\n")
	cached, err := Default()
	if err != nil {
		b.Skip(err)
	}
	plain, err := Default(WithSentenceCache(0))
	if err != nil {
		b.Fatal(err)
	}
	run := func(tr *Translator) (time.Duration, string) {
		var out strings.Builder
		start := time.Now()
		if err := tr.TranslateStream(context.Background(), strings.NewReader(string(text)), &out); err != nil {
			b.Fatal(err)
		}
		return time.Since(start), out.String()
	}
	var withCache, without time.Duration
	decoded := 0
	for range b.N {
		cached.cache = newSentenceCache(defaultCacheEntries)
		d, got := run(cached)
		withCache += d
		decoded += cached.cache.puts
		d, want := run(plain)
		without += d
		if got != want {
			b.Fatal("translations with the cache differ from those without")
		}
	}
	b.ReportMetric(float64(b.N*lines)/withCache.Seconds(), "lines/s-cache")
	b.ReportMetric(float64(b.N*lines)/without.Seconds(), "lines/s-nocache")
	b.ReportMetric(without.Seconds()/withCache.Seconds(), "speedup")
	b.ReportMetric(float64(decoded)/float64(b.N), "sentences-decoded")
}
