package serve

import (
	"bytes"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"os"
	"slices"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/deen-mt/deen/translate"
)

// loadSentences are the German sentences the load tests send, one per
// request (serve/testdata/load_de.txt, written for the benchmarks).
func loadSentences(t testing.TB) []string {
	t.Helper()
	b, err := os.ReadFile("testdata/load_de.txt")
	if err != nil {
		t.Fatal(err)
	}
	return strings.Split(strings.TrimSpace(string(b)), "\n")
}

// loadResult is what a load run measured.
type loadResult struct {
	requests  int
	codes     map[int]int
	latencies []time.Duration // of the 200s, sorted
	elapsed   time.Duration
}

func (r *loadResult) quantile(q float64) time.Duration {
	if len(r.latencies) == 0 {
		return 0
	}
	return r.latencies[min(len(r.latencies)-1, int(q*float64(len(r.latencies))))]
}

func (r *loadResult) String() string {
	return fmt.Sprintf("%d requests in %.1fs (%.1f/s), codes %v, p50 %v, p99 %v", r.requests, r.elapsed.Seconds(),
		float64(r.requests)/r.elapsed.Seconds(), r.codes, r.quantile(0.5).Round(time.Millisecond), r.quantile(0.99).Round(time.Millisecond))
}

// runLoad sends one-sentence /translate requests from clients goroutines
// over loopback keep-alive connections until total requests are sent
// (total > 0) or d has passed, and checks each 200's translation against
// want (when not nil).
func runLoad(t testing.TB, base string, clients, total int, d time.Duration, sentences []string, want map[string]string) *loadResult {
	t.Helper()
	client := &http.Client{Transport: &http.Transport{MaxIdleConnsPerHost: clients}, Timeout: time.Minute}
	defer client.CloseIdleConnections()
	var (
		next   atomic.Int64
		mu     sync.Mutex
		res    = &loadResult{codes: map[int]int{}}
		wg     sync.WaitGroup
		start  = time.Now()
		stop   = start.Add(d)
		failed atomic.Bool
		bodies = make([][]byte, len(sentences))
	)
	for i, s := range sentences {
		bodies[i], _ = json.Marshal(map[string]string{"q": s, "source": "de", "target": "en"})
	}
	for range clients {
		wg.Add(1)
		go func() {
			defer wg.Done()
			var lat []time.Duration
			codes := map[int]int{}
			for {
				i := int(next.Add(1) - 1)
				if (total > 0 && i >= total) || (total == 0 && time.Now().After(stop)) || failed.Load() {
					break
				}
				k := i % len(sentences)
				t0 := time.Now()
				resp, err := client.Post(base+"/translate", "application/json", bytes.NewReader(bodies[k]))
				if err != nil {
					t.Error(err)
					failed.Store(true)
					break
				}
				b, err := io.ReadAll(resp.Body)
				resp.Body.Close()
				codes[resp.StatusCode]++
				if err != nil || resp.StatusCode != 200 {
					continue
				}
				lat = append(lat, time.Since(t0))
				if want != nil {
					var got struct{ TranslatedText string }
					if json.Unmarshal(b, &got) != nil || got.TranslatedText != want[sentences[k]] {
						t.Errorf("%q: served %s, alone %q", sentences[k], b, want[sentences[k]])
						failed.Store(true)
					}
				}
			}
			mu.Lock()
			res.latencies = append(res.latencies, lat...)
			for c, n := range codes {
				res.codes[c] += n
				res.requests += n
			}
			mu.Unlock()
		}()
	}
	wg.Wait()
	res.elapsed = time.Since(start)
	slices.Sort(res.latencies)
	return res
}

// TestLoad: 16 clients for a few seconds over loopback, every answer a 200
// equal to translating its sentence alone. (The 60 s version is
// BenchmarkLoad60s.)
func TestLoad(t *testing.T) {
	d := 3 * time.Second
	if testing.Short() {
		d = time.Second
	}
	sentences := loadSentences(t)
	want := map[string]string{}
	for _, s := range sentences {
		want[s] = alone(t, s)
	}
	ts, s := newTestServer(t, nil)
	r := runLoad(t, ts.URL, 16, 0, d, sentences, want)
	if r.codes[200] != r.requests || r.requests == 0 {
		t.Errorf("not all 200: %v", r)
	}
	t.Logf("16 clients × %v: %v; %d batches", d, r, histogramCount(t, s, "deen_batch_texts"))
}

// benchEngine is the model the benchmarks translate with: the embedded
// default model (realistic cost per sentence) when this build has one,
// else tiny-marian-A.
func benchEngine(b *testing.B) (*translate.Translator, string) {
	b.Helper()
	tr, err := translate.Default()
	if err == nil {
		return tr, "default"
	}
	b.Logf("no embedded default model (%v): using tiny-marian-A", err)
	return tiny(b), "tiny-marian-A"
}

// BenchmarkServe compares dynamic batching with sequential handling (one
// request at a time: WithBatching(0, 1)) at 1, 8 and 32 concurrent
// clients, each sending one sentence per request; it reports sentences/s
// and the p50/p99 latency.
//
//	go test ./serve -run '^$' -bench Serve -benchtime 200x
func BenchmarkServe(b *testing.B) {
	eng, model := benchEngine(b)
	sentences := loadSentences(b)
	b.Logf("model: %s", model)
	for _, mode := range []string{"sequential", "batched"} {
		for _, clients := range []int{1, 8, 32} {
			b.Run(fmt.Sprintf("%s/clients=%d", mode, clients), func(b *testing.B) {
				opt := WithBatching(2*time.Millisecond, 64)
				if mode == "sequential" {
					opt = WithBatching(0, 1)
				}
				ts, _ := newTestServer(b, eng, opt)
				runLoad(b, ts.URL, clients, 2*clients, 0, sentences, nil) // warm up
				b.ResetTimer()
				cpu0 := cpuTime()
				r := runLoad(b, ts.URL, clients, b.N, 0, sentences, nil)
				cpu := cpuTime() - cpu0
				b.StopTimer()
				if r.codes[200] != r.requests {
					b.Fatalf("not all 200: %v", r)
				}
				b.ReportMetric(float64(r.requests)/r.elapsed.Seconds(), "sentences/s")
				if cpu > 0 { // on a shared machine the CPU time is the steadier measure
					b.ReportMetric(float64(r.requests)/cpu.Seconds(), "sentences/CPU-s")
				}
				b.ReportMetric(float64(r.quantile(0.5).Microseconds())/1000, "p50-ms")
				b.ReportMetric(float64(r.quantile(0.99).Microseconds())/1000, "p99-ms")
			})
		}
	}
}

// BenchmarkLoad60s is the long load test: 16 clients for 60 s.
//
//	go test ./serve -run '^$' -bench Load60s -benchtime 1x
func BenchmarkLoad60s(b *testing.B) {
	eng, _ := benchEngine(b)
	ts, _ := newTestServer(b, eng)
	for range b.N {
		r := runLoad(b, ts.URL, 16, 0, time.Minute, loadSentences(b), nil)
		if r.codes[200] != r.requests {
			b.Fatalf("not all 200: %v", r)
		}
		b.Log(r)
		b.ReportMetric(float64(r.requests)/r.elapsed.Seconds(), "sentences/s")
		b.ReportMetric(float64(r.quantile(0.5).Microseconds())/1000, "p50-ms")
		b.ReportMetric(float64(r.quantile(0.99).Microseconds())/1000, "p99-ms")
	}
}

// BenchmarkSoak sends 10⁵ requests from 32 clients and reports the
// process's resident memory after the first 10⁴ and at the end: memory
// must stay flat. tiny-marian-A with at most 4 new tokens per sentence
// keeps the run to minutes; the server's own memory is what is measured.
//
//	go test ./serve -run '^$' -bench Soak -benchtime 1x
func BenchmarkSoak(b *testing.B) {
	tiny(b)
	eng, err := translate.Load(tinyPath, translate.WithBeamSize(1), translate.WithMaxNewTokens(4))
	if err != nil {
		b.Fatal(err)
	}
	ts, _ := newTestServer(b, eng)
	sentences := loadSentences(b)
	for range b.N {
		warm := runLoad(b, ts.URL, 32, 10_000, 0, sentences, nil)
		start := rssBytes()
		r := runLoad(b, ts.URL, 32, 90_000, 0, sentences, nil)
		end := rssBytes()
		if warm.codes[200] != warm.requests || r.codes[200] != r.requests {
			b.Fatalf("not all 200: %v; %v", warm, r)
		}
		b.Logf("after 10⁴ requests RSS %.1f MiB; after 10⁵ %.1f MiB; last 9·10⁴: %v", float64(start)/(1<<20), float64(end)/(1<<20), r)
		b.ReportMetric(float64(start)/(1<<20), "rss-start-MiB")
		b.ReportMetric(float64(end)/(1<<20), "rss-end-MiB")
		b.ReportMetric(float64(r.requests)/r.elapsed.Seconds(), "requests/s")
	}
}
