package queue

import (
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/nats-io/nats-server/v2/server"
	"github.com/nats-io/nats.go"
	"github.com/nats-io/nats.go/jetstream"

	"github.com/deen-mt/deen/filework"
	"github.com/deen-mt/deen/marian"
	"github.com/deen-mt/deen/modelfile"
	"github.com/deen-mt/deen/translate"
)

// The tests run a JetStream server in this process (file store in a temp
// folder, a random loopback port), the tiny test model with greedy search
// and at most 8 new tokens, and compare every output with what a local
// filework run writes for the same inputs.

var tiny struct {
	once     sync.Once
	tr       *translate.Translator
	checksum string
	lines    []string
	err      error
}

// tinyModel converts testdata/oracle/tiny-marian-A and loads it; model is
// its file's SHA-256.
func tinyModel(t testing.TB) (tr *translate.Translator, model string, lines []string) {
	t.Helper()
	tiny.once.Do(func() {
		m, err := marian.Load("../testdata/oracle/tiny-marian-A")
		if err != nil {
			tiny.err = err
			return
		}
		dir, err := os.MkdirTemp("", "queue-model-")
		if err != nil {
			tiny.err = err
			return
		}
		path := filepath.Join(dir, "tiny-A.deen")
		if tiny.err = modelfile.WriteFile(path, m, modelfile.WriteOptions{}); tiny.err != nil {
			return
		}
		b, err := os.ReadFile(path)
		if err != nil {
			tiny.err = err
			return
		}
		sum := sha256.Sum256(b)
		tiny.checksum = hex.EncodeToString(sum[:])
		tiny.tr, tiny.err = translate.Load(path, translate.WithBeamSize(1), translate.WithMaxNewTokens(8), translate.WithLengthGuard(0, 10))
		os.RemoveAll(dir)
		if tiny.err != nil {
			return
		}
		var refs struct {
			Sentences []struct {
				SourceText string `json:"source_text"`
			} `json:"sentences"`
		}
		b, err = os.ReadFile("../testdata/oracle/refs_A.json")
		if err == nil {
			err = json.Unmarshal(b, &refs)
		}
		for _, s := range refs.Sentences {
			tiny.lines = append(tiny.lines, s.SourceText)
		}
		if err == nil && len(tiny.lines) == 0 {
			err = errors.New("refs_A.json has no sentences")
		}
		tiny.err = err
	})
	if tiny.err != nil {
		t.Fatal(tiny.err)
	}
	return tiny.tr, tiny.checksum, tiny.lines
}

const settings = "beam=1 max-len=8"

// uniqueChunks is the number of different chunks of inputs in chunks of 7
// lines: 13 of a.de (shared with same.de), one of each small file.
const uniqueChunks = 13 + 3

// startServer runs a JetStream server with its store in dir, on port (-1:
// any free port).
func startServer(t testing.TB, dir string, port int) *server.Server {
	t.Helper()
	s, err := server.NewServer(&server.Options{Host: "127.0.0.1", Port: port, JetStream: true, StoreDir: dir, NoLog: true, NoSigs: true})
	if err != nil {
		t.Fatal(err)
	}
	s.Start()
	if !s.ReadyForConnections(10 * time.Second) {
		t.Fatal("nats server not ready")
	}
	return s
}

func connect(t testing.TB, url string) *nats.Conn {
	t.Helper()
	nc, err := nats.Connect(url, nats.MaxReconnects(-1), nats.ReconnectWait(50*time.Millisecond))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(nc.Close)
	return nc
}

// inputs is a tree with nested folders, CRLF, a byte-order mark, an empty
// file, empty lines, a last line without a line end, and repeated chunks.
func inputs(lines []string) map[string]string {
	var big strings.Builder
	for i := range 90 {
		if i%9 == 4 {
			big.WriteString("\n")
			continue
		}
		big.WriteString(lines[(i*7)%len(lines)] + "\n")
	}
	return map[string]string{
		"a.de":             big.String(),
		"same.de":          big.String(), // the same chunks as a.de: shared jobs
		"sub/b.txt":        "\uFEFF" + strings.Join(lines[:5], "\r\n") + "\r\n\r\n" + lines[6],
		"sub/deep/c.de":    "  " + lines[0] + "\n\t" + lines[1] + "  \n",
		"sub/deep/bom2.de": lines[2] + "\n\uFEFF" + lines[3] + "\n" + lines[4], // U+FEFF starting a later chunk
		"empty.de":         "",
	}
}

func writeTree(t testing.TB, dir string, files map[string]string) {
	t.Helper()
	for name, content := range files {
		p := filepath.Join(dir, name)
		if err := os.MkdirAll(filepath.Dir(p), 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(p, []byte(content), 0o644); err != nil {
			t.Fatal(err)
		}
	}
}

// runFiles translates the tree dir with tr as the files verb does and
// returns the per-file errors by input name.
func runFiles(t testing.TB, ctx context.Context, dir string, tr filework.Translator) map[string]error {
	t.Helper()
	files, err := filework.Collect([]string{dir}, filework.Naming{Suffix: ".en"}, func(p string, err error) { t.Errorf("%s: %v", p, err) })
	if err != nil {
		t.Fatal(err)
	}
	var todo []*filework.File
	for _, f := range files {
		if f.Exists() {
			continue
		}
		if err := f.Check(settings, false); err != nil {
			t.Fatal(err)
		}
		todo = append(todo, f)
	}
	errs := filework.Run(ctx, todo, tr, filework.Jobs(8))
	byName := map[string]error{}
	for i, f := range todo {
		rel, _ := filepath.Rel(dir, f.In)
		byName[rel] = errs[i]
	}
	return byName
}

// outputs reads every file under dir but the inputs.
func outputs(t testing.TB, dir string, in map[string]string) map[string]string {
	t.Helper()
	out := map[string]string{}
	filepath.WalkDir(dir, func(p string, d os.DirEntry, err error) error {
		if err != nil || d.IsDir() {
			return err
		}
		rel, _ := filepath.Rel(dir, p)
		if _, ok := in[rel]; !ok {
			b, _ := os.ReadFile(p)
			out[rel] = string(b)
		}
		return nil
	})
	return out
}

// localOutputs is the local run's outputs of in.
func localOutputs(t testing.TB, in map[string]string) map[string]string {
	t.Helper()
	tr, _, _ := tinyModel(t)
	dir := t.TempDir()
	writeTree(t, dir, in)
	for name, err := range runFiles(t, context.Background(), dir, filework.Local(tr)) {
		if err != nil {
			t.Fatalf("local %s: %v", name, err)
		}
	}
	return outputs(t, dir, in)
}

func sameOutputs(t testing.TB, got, want map[string]string) {
	t.Helper()
	if len(got) != len(want) {
		t.Fatalf("%d outputs %v, want %d", len(got), keys(got), len(want))
	}
	for name, w := range want {
		if got[name] != w {
			t.Fatalf("%s differs from the local run:\n got %q\nwant %q", name, got[name], w)
		}
	}
}

// fixture is one test's server, inputs and local reference outputs.
type fixture struct {
	tr       *translate.Translator
	model    string
	lines    []string
	in, want map[string]string
	s        *server.Server
	store    string
	dir      string // the inputs, where the queued run writes
}

// newFixture starts a server and writes the inputs (with extra files).
func newFixture(t *testing.T, extra map[string]string) *fixture {
	t.Helper()
	tr, model, lines := tinyModel(t)
	f := &fixture{tr: tr, model: model, lines: lines, in: inputs(lines), store: t.TempDir(), dir: t.TempDir()}
	f.want = localOutputs(t, f.in)
	for name, content := range extra {
		f.in[name] = content
	}
	writeTree(t, f.dir, f.in)
	f.s = startServer(t, f.store, -1)
	t.Cleanup(func() { f.s.Shutdown() })
	return f
}

// client is a Client on its own connection, with chunks of 7 lines.
func (f *fixture) client(t *testing.T) *Client {
	t.Helper()
	c, err := NewClient(context.Background(), connect(t, f.s.ClientURL()), f.model, settings, WithChunk(7, 0))
	if err != nil {
		t.Fatal(err)
	}
	return c
}

// check fails on a file's error or an output that differs from the local
// run's.
func (f *fixture) check(t *testing.T, errs map[string]error) {
	t.Helper()
	for name, err := range errs {
		if err != nil {
			t.Fatalf("%s: %v", name, err)
		}
	}
	sameOutputs(t, outputs(t, f.dir, f.in), f.want)
}

func keys(m map[string]string) []string {
	var k []string
	for n := range m {
		k = append(k, n)
	}
	return k
}

// counting wraps a Translator: it counts the chunks translated, can delay
// each, and can fail (or hang on) chunks holding a marker.
type counting struct {
	tr    filework.Translator
	calls atomic.Int64
	delay time.Duration
	fail  string // chunks containing it fail with a transient error
	hang  func(ctx context.Context) error
}

func (c *counting) TranslateLines(ctx context.Context, r io.Reader, first int64, w io.Writer, done func(int64) error) error {
	c.calls.Add(1)
	data, err := io.ReadAll(r)
	if err != nil {
		return err
	}
	if c.hang != nil {
		if err := c.hang(ctx); err != nil {
			return err
		}
	}
	if c.fail != "" && bytes.Contains(data, []byte(c.fail)) {
		return errors.New("worker fell over")
	}
	select {
	case <-time.After(c.delay):
	case <-ctx.Done():
		return ctx.Err()
	}
	return c.tr.TranslateLines(ctx, bytes.NewReader(data), first, w, done)
}

// startWorkers runs n workers on their own connections until the test
// ends.
func startWorkers(t testing.TB, url, model string, tr filework.Translator, n int, opts ...Option) []*Worker {
	t.Helper()
	ctx, cancel := context.WithCancel(context.Background())
	var wg sync.WaitGroup
	t.Cleanup(func() { cancel(); wg.Wait() })
	var ws []*Worker
	for range n {
		w, err := NewWorker(ctx, connect(t, url), model, settings, tr, opts...)
		if err != nil {
			t.Fatal(err)
		}
		ws = append(ws, w)
		wg.Add(1)
		go func() { defer wg.Done(); w.Run(ctx) }()
	}
	return ws
}

func TestQueueMatchesLocal(t *testing.T) {
	f := newFixture(t, nil)
	c := f.client(t)
	// The workers wait until every file holds its chunks: a file that
	// started only after another sharing its chunks was written (and its
	// results purged) would rightly translate them again.
	ready := untilRefs(t, c, 2*13+3)
	worker := &counting{tr: filework.Local(f.tr), hang: func(ctx context.Context) error {
		select {
		case <-ready:
			return nil
		case <-ctx.Done():
			return ctx.Err()
		}
	}}
	startWorkers(t, f.s.ClientURL(), f.model, worker, 2, WithAckWait(5*time.Second))
	f.check(t, runFiles(t, context.Background(), f.dir, c))
	// a.de and same.de share their chunks: each chunk was translated once.
	if got := worker.calls.Load(); got > uniqueChunks {
		t.Errorf("%d chunks translated, want at most %d (shared chunks once)", got, uniqueChunks)
	}
	// The results were purged after the files were written.
	js, _ := jetstream.New(connect(t, f.s.ClientURL()))
	kv, _ := js.KeyValue(context.Background(), ResultBucket)
	if keys, _ := kv.Keys(context.Background()); len(keys) > 0 {
		t.Errorf("%d results left in the bucket", len(keys))
	}
	// The same text again within the duplicate window (the outputs
	// removed): the jobs are done and their results purged, so they are
	// published again rather than dropped as duplicates.
	for name := range f.want {
		os.Remove(filepath.Join(f.dir, name))
	}
	calls := worker.calls.Load()
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	f.check(t, runFiles(t, ctx, f.dir, f.client(t)))
	if worker.calls.Load() == calls {
		t.Error("the second run translated nothing")
	}
}

// untilRefs returns a channel closed once c's files hold n references to
// job IDs in all, or after a minute (the outputs then tell what went
// wrong), or when the test ends.
func untilRefs(t testing.TB, c *Client, n int) <-chan struct{} {
	ready, stop := make(chan struct{}), make(chan struct{})
	t.Cleanup(func() { close(stop) })
	go func() {
		defer close(ready)
		for deadline := time.Now().Add(time.Minute); time.Now().Before(deadline); {
			c.mu.Lock()
			held := 0
			for _, k := range c.refs {
				held += k
			}
			c.mu.Unlock()
			if held >= n {
				return
			}
			select {
			case <-stop:
				return
			case <-time.After(5 * time.Millisecond):
			}
		}
	}()
	return ready
}

// TestQueueWorkerKilled: the first worker takes a job and loses its
// connection without acking (as a killed process does); the job is
// redelivered after the ack wait to the other worker.
func TestQueueWorkerKilled(t *testing.T) {
	f := newFixture(t, nil)
	doomed := connect(t, f.s.ClientURL())
	dying := &counting{tr: filework.Local(f.tr), hang: func(context.Context) error {
		doomed.Close()
		return errors.New("killed")
	}}
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	w, err := NewWorker(ctx, doomed, f.model, settings, dying, WithAckWait(300*time.Millisecond))
	if err != nil {
		t.Fatal(err)
	}
	done := make(chan error, 1)
	go func() { done <- w.Run(ctx) }()
	result := make(chan map[string]error, 1)
	c := f.client(t)
	go func() { result <- runFiles(t, ctx, f.dir, c) }()
	// The survivor starts once the first worker has died.
	select {
	case err := <-done:
		if !errors.Is(err, nats.ErrConnectionClosed) || dying.calls.Load() != 1 {
			t.Fatalf("dead worker's Run: %v after %d jobs", err, dying.calls.Load())
		}
	case <-time.After(time.Minute):
		t.Fatal("the first worker never took a job")
	}
	startWorkers(t, f.s.ClientURL(), f.model, filework.Local(f.tr), 1, WithAckWait(300*time.Millisecond))
	f.check(t, <-result)
}

// TestQueueDuplicateDelivery publishes every job a second time under
// another message ID (which the server does not de-duplicate): each chunk
// is delivered twice, and every output still holds each line once.
func TestQueueDuplicateDelivery(t *testing.T) {
	f := newFixture(t, nil)
	result := make(chan map[string]error, 1)
	c := f.client(t)
	go func() { result <- runFiles(t, context.Background(), f.dir, c) }()

	// Copy the jobs once they are all published, before any worker runs.
	js, _ := jetstream.New(connect(t, f.s.ClientURL()))
	stream, err := js.Stream(context.Background(), JobStream)
	if err != nil {
		t.Fatal(err)
	}
	msgs := func() uint64 {
		info, err := stream.Info(context.Background())
		if err != nil {
			t.Fatal(err)
		}
		return info.State.Msgs
	}
	deadline := time.Now().Add(time.Minute)
	for msgs() < uniqueChunks && time.Now().Before(deadline) {
		time.Sleep(20 * time.Millisecond)
	}
	for seq := uint64(1); seq <= uniqueChunks; seq++ {
		m, err := stream.GetMsg(context.Background(), seq)
		if err != nil {
			t.Fatal(err)
		}
		dup := &nats.Msg{Subject: m.Subject, Header: m.Header, Data: m.Data}
		dup.Header.Del(jetstream.MsgIDHeader)
		if _, err := js.PublishMsg(context.Background(), dup, jetstream.WithMsgID(fmt.Sprintf("dup-%d", seq))); err != nil {
			t.Fatal(err)
		}
	}
	if n := msgs(); n != 2*uniqueChunks {
		t.Fatalf("%d jobs in the stream, want %d", n, 2*uniqueChunks)
	}
	worker := &counting{tr: filework.Local(f.tr), delay: 20 * time.Millisecond}
	ws := startWorkers(t, f.s.ClientURL(), f.model, worker, 2)
	f.check(t, <-result)
	// Every delivery is handled (the copies too), and the outputs stay.
	for msgs() > 0 && time.Now().Before(deadline) {
		time.Sleep(20 * time.Millisecond)
	}
	if got := ws[0].Jobs() + ws[1].Jobs(); got != 2*uniqueChunks {
		t.Errorf("workers handled %d deliveries, want %d (each job twice)", got, 2*uniqueChunks)
	}
	f.check(t, nil)
}

// TestQueueOtherModel: a worker with another model (or other settings)
// never translates these jobs; a hand-made job that does not match the
// worker that receives it is refused with a log line.
func TestQueueOtherModel(t *testing.T) {
	f := newFixture(t, nil)
	other := &counting{tr: filework.Local(f.tr)}
	startWorkers(t, f.s.ClientURL(), strings.Repeat("0", 64), other, 1)
	var logs safeLog
	startWorkers(t, f.s.ClientURL(), f.model, &counting{tr: filework.Local(f.tr), delay: 50 * time.Millisecond}, 1, WithLog(logs.printf))
	// A job on this model's subject claiming another model.
	js, _ := jetstream.New(connect(t, f.s.ClientURL()))
	bad := &nats.Msg{Subject: JobSubjects + Key(f.model, settings), Header: nats.Header{}, Data: []byte("Hallo.\n")}
	bad.Header.Set(hdrModel, "f00d")
	bad.Header.Set(hdrSettings, settings)
	bad.Header.Set(hdrFirst, "0")
	if _, err := js.PublishMsg(context.Background(), bad); err != nil {
		t.Fatal(err)
	}
	f.check(t, runFiles(t, context.Background(), f.dir, f.client(t)))
	if n := other.calls.Load(); n != 0 {
		t.Errorf("the worker with another model translated %d chunks", n)
	}
	if !strings.Contains(logs.String(), "is for model f00d") {
		t.Errorf("no log line for the mismatching job: %q", logs.String())
	}
}

type safeLog struct {
	mu sync.Mutex
	b  strings.Builder
}

func (l *safeLog) printf(format string, args ...any) {
	l.mu.Lock()
	defer l.mu.Unlock()
	fmt.Fprintf(&l.b, format+"\n", args...)
}

func (l *safeLog) String() string {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.b.String()
}

// TestQueueServerRestart stops the server (file store) in the middle of a
// run and starts it again on the same port and store: the run completes
// with the same outputs.
func TestQueueServerRestart(t *testing.T) {
	f := newFixture(t, nil)
	port := f.s.Addr().(*net.TCPAddr).Port
	worker := &counting{tr: filework.Local(f.tr), delay: 30 * time.Millisecond}
	startWorkers(t, f.s.ClientURL(), f.model, worker, 2, WithAckWait(2*time.Second))
	result := make(chan map[string]error, 1)
	c := f.client(t)
	go func() { result <- runFiles(t, context.Background(), f.dir, c) }()
	for worker.calls.Load() < 4 {
		time.Sleep(5 * time.Millisecond)
	}
	f.s.Shutdown()
	f.s.WaitForShutdown()
	time.Sleep(300 * time.Millisecond)
	f.s = startServer(t, f.store, port)
	select {
	case errs := <-result:
		f.check(t, errs)
	case <-time.After(2 * time.Minute):
		t.Fatal("the run did not complete after the restart")
	}
}

// TestQueuePoison: a chunk that fails on every worker is dead-lettered
// after the attempts; its file fails naming the lines, the others finish.
func TestQueuePoison(t *testing.T) {
	_, _, lines := tinyModel(t)
	f := newFixture(t, map[string]string{"poison.de": strings.Join(lines[:10], "\n") + "\nGIFT\n" + strings.Join(lines[10:20], "\n") + "\n"})
	startWorkers(t, f.s.ClientURL(), f.model, &counting{tr: filework.Local(f.tr), fail: "GIFT"}, 2, WithAttempts(3), WithAckWait(400*time.Millisecond))
	errs := runFiles(t, context.Background(), f.dir, f.client(t))
	if err := errs["poison.de"]; err == nil || !strings.Contains(err.Error(), "lines 8-14: gave up after 3 attempts") {
		t.Errorf("poison.de: %v; want the dead-lettered lines 8-14 named", err)
	}
	if _, err := os.Stat(filepath.Join(f.dir, "poison.en")); err == nil {
		t.Fatal("the poisoned file has an output")
	}
	delete(errs, "poison.de")
	for _, name := range []string{"poison.en" + filework.PartialSuffix, "poison.en" + filework.CheckpointSuffix} {
		f.in[name] = "" // not outputs to compare
	}
	f.check(t, errs)
}

// TestQueueJobTimeout: a chunk that makes the translator hang is given
// back after the job timeout, each time, and ends dead-lettered; the other
// chunks finish.
func TestQueueJobTimeout(t *testing.T) {
	_, _, lines := tinyModel(t)
	f := newFixture(t, map[string]string{"hang.de": strings.Join(lines[:3], "\n") + "\nHÄNG\n"})
	startWorkers(t, f.s.ClientURL(), f.model, &hangOn{counting: &counting{tr: filework.Local(f.tr)}, marker: "HÄNG"}, 2, WithAttempts(2), WithJobTimeout(300*time.Millisecond), WithAckWait(time.Second))
	errs := runFiles(t, context.Background(), f.dir, f.client(t))
	if err := errs["hang.de"]; err == nil || !strings.Contains(err.Error(), "lines 1-4: gave up after 2 attempts") {
		t.Errorf("hang.de: %v; want lines 1-4 dead-lettered", err)
	}
	delete(errs, "hang.de")
	f.in["hang.en"+filework.PartialSuffix] = "" // not an output to compare
	f.check(t, errs)
}

// hangOn blocks on chunks holding marker until its context ends.
type hangOn struct {
	*counting
	marker string
}

func (h *hangOn) TranslateLines(ctx context.Context, r io.Reader, first int64, w io.Writer, done func(int64) error) error {
	data, err := io.ReadAll(r)
	if err != nil {
		return err
	}
	if bytes.Contains(data, []byte(h.marker)) {
		<-ctx.Done()
		return ctx.Err()
	}
	return h.counting.TranslateLines(ctx, bytes.NewReader(data), first, w, done)
}

// TestQueueRerunContinues interrupts the submitting side, then reruns it:
// finished chunks are not translated again.
func TestQueueRerunContinues(t *testing.T) {
	f := newFixture(t, nil)
	worker := &counting{tr: filework.Local(f.tr), delay: 30 * time.Millisecond}
	startWorkers(t, f.s.ClientURL(), f.model, worker, 1)
	c := f.client(t)
	ctx, cancel := context.WithCancel(context.Background())
	go func() {
		for worker.calls.Load() < 6 {
			time.Sleep(5 * time.Millisecond)
		}
		cancel()
	}()
	interrupted := 0
	for _, err := range runFiles(t, ctx, f.dir, c) {
		if errors.Is(err, context.Canceled) {
			interrupted++
		}
	}
	if interrupted == 0 {
		t.Fatal("nothing was interrupted")
	}
	f.check(t, runFiles(t, context.Background(), f.dir, c))
	if got := worker.calls.Load(); got > uniqueChunks {
		t.Errorf("%d chunks translated over both runs, want at most %d (none twice)", got, uniqueChunks)
	}
}
