package hub_test

import (
	"bytes"
	"context"
	"errors"
	"math"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/deen-mt/deen/hub"
	"github.com/deen-mt/deen/hub/hubtest"
	"github.com/deen-mt/deen/marian"
	"github.com/deen-mt/deen/modelfile"
)

// The checkpoints served by the fake hub.
const (
	dirA  = "../testdata/oracle/tiny-marian-A" // model.safetensors and pytorch_model.bin
	dirB  = "../testdata/marian/tiny-B"        // pytorch_model.bin only
	repoA = "test/tiny-marian-A"
	repoB = "test/tiny-B"
)

// fakeHub serves both checkpoints.
func fakeHub(t *testing.T) *hubtest.Server {
	t.Helper()
	s := hubtest.NewServer()
	t.Cleanup(s.Close)
	for repo, dir := range map[string]string{repoA: dirA, repoB: dirB} {
		if err := s.AddDir(repo, dir); err != nil {
			t.Fatal(err)
		}
	}
	return s
}

// opts points the hub package at s and a fresh cache, storing f32 so the
// weights can be compared bit for bit, quiet.
func opts(t *testing.T, s *hubtest.Server, more ...hub.Option) []hub.Option {
	return append([]hub.Option{hub.WithEndpoint(s.URL), hub.WithCacheDir(t.TempDir()), hub.WithDType("f32"), hub.WithToken("")}, more...)
}

// checkSameWeights compares a cached model file with the checkpoint.
func checkSameWeights(t *testing.T, path, dir string) {
	t.Helper()
	want, err := marian.Load(dir)
	if err != nil {
		t.Fatal(err)
	}
	got, err := modelfile.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	if len(got.Tensors) != len(want.Tensors) {
		t.Fatalf("%d tensors, want %d", len(got.Tensors), len(want.Tensors))
	}
	for name, w := range want.Tensors {
		g := got.Tensors[name]
		if g == nil || len(g.Data) != len(w.Data) {
			t.Fatalf("tensor %s missing or resized", name)
		}
		for i := range w.Data {
			if math.Float32bits(g.Data[i]) != math.Float32bits(w.Data[i]) {
				t.Fatalf("tensor %s[%d] = %g, want %g", name, i, g.Data[i], w.Data[i])
			}
		}
	}
	for name, b := range want.Blobs {
		if !bytes.Equal(got.Blobs[name], b) {
			t.Fatalf("blob %s differs", name)
		}
	}
}

func TestGetVerifyConvertCache(t *testing.T) {
	s := fakeHub(t)
	s.SetToken("secret")
	o := opts(t, s, hub.WithToken("secret"))
	ctx := context.Background()
	m, err := hub.Get(ctx, repoA, o...)
	if err != nil {
		t.Fatal(err)
	}
	checkSameWeights(t, m.Path, dirA)
	if m.Repo != repoA || m.Revision != "main" || m.Commit != hubtest.Commit(repoA) || m.DType != "f32" || m.Endpoint != s.URL {
		t.Errorf("manifest %+v", m.Manifest)
	}
	if st, _ := os.Stat(m.Path); st == nil || st.Size() != m.Size || m.Parameters < 1e6 {
		t.Errorf("manifest size %d, parameters %d", m.Size, m.Parameters)
	}
	wantFiles := map[string]bool{"config.json": false, "generation_config.json": false, "tokenizer_config.json": false,
		"model.safetensors": true, "source.spm": true, "target.spm": true, "vocab.json": false} // name → verified (LFS)
	if len(m.Files) != len(wantFiles) {
		t.Errorf("manifest lists %d files, want %d: %+v", len(m.Files), len(wantFiles), m.Files)
	}
	for _, f := range m.Files {
		b, err := os.ReadFile(filepath.Join(dirA, f.Name))
		verified, ok := wantFiles[f.Name]
		if err != nil || !ok || f.SHA256 != hubtest.SHA256(b) || f.Size != int64(len(b)) || f.Verified != verified {
			t.Errorf("manifest file %+v: want sha256 %s, size %d, verified %v", f, hubtest.SHA256(b), len(b), verified)
		}
	}
	if _, err := os.Stat(filepath.Join(filepath.Dir(m.Path), "download")); !errors.Is(err, os.ErrNotExist) {
		t.Errorf("raw downloads kept without WithKeep: %v", err)
	}
	// The token reaches the hub and never the CDN.
	var hubAuth, cdn int
	for _, r := range s.Requests() {
		if r.Server == "cdn" {
			cdn++
			if r.Authorization != "" {
				t.Errorf("the CDN received Authorization %q", r.Authorization)
			}
		} else if r.Authorization == "Bearer secret" {
			hubAuth++
		}
	}
	if cdn != 3 || hubAuth == 0 {
		t.Errorf("%d CDN requests (want 3 LFS files), %d hub requests with the token", cdn, hubAuth)
	}

	// Cached: no network at all, the same file.
	before := len(s.Requests())
	again, err := hub.Get(ctx, repoA, o...)
	if err != nil || again.Path != m.Path || len(s.Requests()) != before {
		t.Fatalf("second Get: %v, path %s, %d new requests", err, again.Path, len(s.Requests())-before)
	}
	if p, err := hub.Resolve(repoA, o...); err != nil || p != m.Path {
		t.Fatalf("Resolve: %q, %v", p, err)
	}
	list, err := hub.List(o...)
	if err != nil || len(list) != 1 || list[0].Repo != repoA {
		t.Fatalf("List: %v, %v", list, err)
	}
	// Another dtype is a new conversion, which replaces the cached one.
	f16, err := hub.Get(ctx, repoA, append(o, hub.WithDType("f16"), hub.WithKeep(true))...)
	if err != nil || f16.DType != "f16" || f16.Size >= m.Size {
		t.Fatalf("f16: %v, %+v", err, f16)
	}
	if _, err := os.Stat(filepath.Join(filepath.Dir(m.Path), "download", "model.safetensors")); err != nil {
		t.Errorf("WithKeep: %v", err)
	}
	if err := hub.Remove(repoA, o...); err != nil {
		t.Fatal(err)
	}
	if _, err := hub.Resolve(repoA, o...); !errors.Is(err, hub.ErrNotDownloaded) {
		t.Fatalf("Resolve after Remove: %v", err)
	}
	if err := hub.Remove(repoA, o...); !errors.Is(err, hub.ErrNotDownloaded) {
		t.Fatalf("second Remove: %v", err)
	}
}

func TestGetFallsBackToPytorchBin(t *testing.T) {
	s := fakeHub(t)
	m, err := hub.Get(context.Background(), repoB, opts(t, s)...)
	if err != nil {
		t.Fatal(err)
	}
	checkSameWeights(t, m.Path, dirB)
	var names []string
	for _, f := range m.Files {
		names = append(names, f.Name)
	}
	if got := strings.Join(names, " "); got != "config.json pytorch_model.bin source.spm target.spm vocab.json" {
		t.Errorf("files %s", got)
	}
	if s.Count(repoB, "model.safetensors") != 1 {
		t.Errorf("model.safetensors asked %d times, want once (404)", s.Count(repoB, "model.safetensors"))
	}
}

// cdnRanges lists the Range headers the CDN received.
func cdnRanges(s *hubtest.Server) []string {
	var out []string
	for _, r := range s.Requests() {
		if r.Server == "cdn" && r.Range != "" {
			out = append(out, r.Range)
		}
	}
	return out
}

func TestResumeAfterCut(t *testing.T) {
	const cut = 1 << 20
	t.Run("next get", func(t *testing.T) {
		s := fakeHub(t)
		o := opts(t, s, hub.WithRetries(0))
		s.CutAfter(repoA, "model.safetensors", cut)
		_, err := hub.Get(context.Background(), repoA, o...)
		if err == nil || !strings.Contains(err.Error(), "run the same get again to resume") {
			t.Fatalf("cut: err = %v", err)
		}
		m, err := hub.Get(context.Background(), repoA, o...)
		if err != nil {
			t.Fatal(err)
		}
		if r := cdnRanges(s); len(r) != 1 || r[0] != "bytes=1048576-" {
			t.Errorf("CDN ranges %q, want one from the cut", r)
		}
		checkSameWeights(t, m.Path, dirA)
		if s.Count(repoA, "config.json") != 1 {
			t.Errorf("config.json fetched %d times; complete files are kept", s.Count(repoA, "config.json"))
		}
	})
	t.Run("same get", func(t *testing.T) {
		s := fakeHub(t)
		var notes []string
		o := opts(t, s, hub.WithLog(func(f string, a ...any) { notes = append(notes, f) }))
		s.CutAfter(repoA, "model.safetensors", cut)
		m, err := hub.Get(context.Background(), repoA, o...)
		if err != nil {
			t.Fatal(err)
		}
		if r := cdnRanges(s); len(r) != 1 || r[0] != "bytes=1048576-" {
			t.Errorf("CDN ranges %q", r)
		}
		if !strings.Contains(strings.Join(notes, "\n"), "connection cut") {
			t.Errorf("no note of the cut: %q", notes)
		}
		checkSameWeights(t, m.Path, dirA)
	})
}

func TestChecksumMismatch(t *testing.T) {
	s := fakeHub(t)
	cache := t.TempDir()
	o := opts(t, s, hub.WithCacheDir(cache))
	s.Corrupt(repoA, "model.safetensors")
	_, err := hub.Get(context.Background(), repoA, o...)
	var ce *hub.ChecksumError
	b, _ := os.ReadFile(filepath.Join(dirA, "model.safetensors"))
	if !errors.As(err, &ce) || ce.Want != hubtest.SHA256(b) || ce.Got == ce.Want || ce.File != "model.safetensors" || ce.Repo != repoA {
		t.Fatalf("err = %v, want a ChecksumError", err)
	}
	if !strings.Contains(err.Error(), "the file was deleted") {
		t.Errorf("no advice: %v", err)
	}
	if _, err := hub.Resolve(repoA, o...); !errors.Is(err, hub.ErrNotDownloaded) {
		t.Errorf("after a mismatch Resolve says %v", err)
	}
	// Nothing half-written is left: neither the bad weights nor a model.
	dir := filepath.Join(cache, "test--tiny-marian-A")
	for _, name := range []string{"download/model.safetensors", "download/model.safetensors.partial", "model.deen", "manifest.json"} {
		if _, err := os.Stat(filepath.Join(dir, name)); !errors.Is(err, os.ErrNotExist) {
			t.Errorf("%s left behind (%v)", name, err)
		}
	}
	// A healthy hub then gives the model.
	s2 := fakeHub(t)
	if _, err := hub.Get(context.Background(), repoA, append(o, hub.WithEndpoint(s2.URL))...); err != nil {
		t.Fatalf("retry: %v", err)
	}
}

func TestHTTPErrors(t *testing.T) {
	cases := []struct {
		name  string
		setup func(s *hubtest.Server)
		repo  string
		extra []hub.Option
		is    error
		want  string
	}{
		{"gated without token", func(s *hubtest.Server) { s.SetToken("t") }, repoA, nil, hub.ErrUnauthorized, "set HF_TOKEN"},
		{"wrong token", func(s *hubtest.Server) { s.SetToken("t") }, repoA, []hub.Option{hub.WithToken("x")}, hub.ErrUnauthorized, "gated or private"},
		{"403", func(s *hubtest.Server) { s.SetStatus(repoA, "config.json", 403) }, repoA, nil, hub.ErrUnauthorized, "HF_TOKEN"},
		{"unknown repo", nil, "test/none", nil, hub.ErrUnauthorized, "does not exist"},
		{"404", func(s *hubtest.Server) { s.RemoveFile(repoA, "target.spm") }, repoA, nil, hub.ErrNotFound, "test/tiny-marian-A has no file target.spm at revision main"},
		{"no weights", func(s *hubtest.Server) { s.RemoveFile(repoB, "pytorch_model.bin") }, repoB, nil, hub.ErrNotFound, "has no file pytorch_model.bin"},
		{"revision", nil, repoA, []hub.Option{hub.WithRevision("v9")}, hub.ErrNotFound, `has no revision "v9"`},
		{"500", func(s *hubtest.Server) { s.SetStatus(repoA, "vocab.json", 500) }, repoA, nil, nil, "500 Internal Server Error for test/tiny-marian-A/vocab.json; try again later"},
		{"unreachable", func(s *hubtest.Server) { s.Close() }, repoA, nil, hub.ErrUnreachable, "check the network connection"},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			s := fakeHub(t)
			if c.setup != nil {
				c.setup(s)
			}
			_, err := hub.Get(context.Background(), c.repo, opts(t, s, c.extra...)...)
			if err == nil || (c.is != nil && !errors.Is(err, c.is)) || !strings.Contains(err.Error(), c.want) {
				t.Fatalf("err = %v; want %v containing %q", err, c.is, c.want)
			}
		})
	}
}

func TestUnsupported(t *testing.T) {
	s := fakeHub(t)
	cfg, err := os.ReadFile(filepath.Join(dirA, "config.json"))
	if err != nil {
		t.Fatal(err)
	}
	if err := s.AddDir("test/fsmt", dirA); err != nil {
		t.Fatal(err)
	}
	s.AddFile("test/fsmt", "config.json", bytes.Replace(cfg, []byte(`"model_type": "marian"`), []byte(`"model_type": "fsmt"`), 1))
	_, err = hub.Get(context.Background(), "test/fsmt", opts(t, s)...)
	if !errors.Is(err, hub.ErrUnsupported) || !strings.Contains(err.Error(), `model_type "fsmt" is not "marian"`) {
		t.Fatalf("err = %v", err)
	}
	if n := s.Count("test/fsmt", "model.safetensors"); n != 0 {
		t.Errorf("weights fetched %d times for an unsupported model", n)
	}
	if _, err := hub.Get(context.Background(), "wmt19-de-en", opts(t, s)...); !errors.Is(err, hub.ErrUnsupported) || !strings.Contains(err.Error(), "model_type") {
		t.Errorf("alias of an unsupported model: %v", err)
	}
}

func TestStall(t *testing.T) {
	s := fakeHub(t)
	s.Stall(repoA, "model.safetensors", 4096)
	ctx, cancel := context.WithTimeout(context.Background(), 300*time.Millisecond)
	defer cancel()
	start := time.Now()
	_, err := hub.Get(ctx, repoA, opts(t, s)...)
	if !errors.Is(err, context.DeadlineExceeded) || time.Since(start) > 5*time.Second {
		t.Fatalf("deadline: err = %v after %v", err, time.Since(start))
	}
	// (A second, not less: on a loaded machine the first bytes may take a while.)
	_, err = hub.Get(context.Background(), repoA, opts(t, s, hub.WithStallTimeout(time.Second))...)
	if !errors.Is(err, hub.ErrStalled) || !strings.Contains(err.Error(), "nothing received for 1s") {
		t.Fatalf("stall timeout: err = %v", err)
	}
}

func TestConcurrentGet(t *testing.T) {
	s := fakeHub(t)
	o := opts(t, s)
	var wg sync.WaitGroup
	paths := make([]string, 4)
	errs := make([]error, 4)
	for i := range paths {
		wg.Add(1)
		go func() {
			defer wg.Done()
			m, err := hub.Get(context.Background(), repoA, o...)
			if err == nil {
				paths[i] = m.Path
			}
			errs[i] = err
		}()
	}
	wg.Wait()
	for i, err := range errs {
		if err != nil || paths[i] != paths[0] {
			t.Fatalf("Get %d: %v, %s", i, err, paths[i])
		}
	}
	if n := s.Count(repoA, "model.safetensors"); n != 1 {
		t.Errorf("weights fetched %d times, want once", n)
	}
	checkSameWeights(t, paths[0], dirA)
}

func TestCancelled(t *testing.T) {
	s := fakeHub(t)
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	if _, err := hub.Get(ctx, repoA, opts(t, s)...); !errors.Is(err, context.Canceled) {
		t.Fatalf("err = %v", err)
	}
}

func TestCacheDir(t *testing.T) {
	t.Setenv("DEEN_HOME", "")
	t.Setenv("XDG_CACHE_HOME", "/x")
	if d, _ := hub.CacheDir(); d != filepath.Join("/x", "deen", "models") {
		t.Errorf("XDG: %s", d)
	}
	t.Setenv("XDG_CACHE_HOME", "")
	t.Setenv("HOME", "/h")
	if d, _ := hub.CacheDir(); d != filepath.Join("/h", ".cache", "deen", "models") {
		t.Errorf("HOME: %s", d)
	}
	t.Setenv("DEEN_HOME", "/d")
	if d, _ := hub.CacheDir(); d != filepath.Join("/d", "models") {
		t.Errorf("DEEN_HOME: %s", d)
	}
}

func TestParseName(t *testing.T) {
	for name, want := range map[string]string{
		"opus-mt-de-en":                      "Helsinki-NLP/opus-mt-de-en",
		"Helsinki-NLP/opus-mt-de-en":         "Helsinki-NLP/opus-mt-de-en",
		"opus-mt-tc-big-de-en":               "Helsinki-NLP/opus-mt-tc-big-de-en",
		"someone/my_model.v2":                "someone/my_model.v2",
		"opus-mt-fr-en":                      "",
		"a/b/c":                              "",
		"a//b":                               "",
		"../x":                               "",
		"a/b--c":                             "",
		"a/.b":                               "",
		"a/b c":                              "",
		"wmt19-de-en":                        "",
		"/abs/path.deen":                     "",
		strings.Repeat("a", 97) + "/b":       "",
		"ok/" + strings.Repeat("b", 96):      "ok/" + strings.Repeat("b", 96),
		"Helsinki-NLP/opus-mt-de-en\x00evil": "",
	} {
		got, err := hub.ParseName(name)
		if got != want || (err == nil) != (want != "") {
			t.Errorf("ParseName(%q) = %q, %v; want %q", name, got, err, want)
		}
	}
	if _, err := hub.ParseName("de-en"); err == nil || !strings.Contains(err.Error(), "opus-mt-de-en") {
		t.Errorf("a bad name should list the aliases: %v", err)
	}
	if got := hub.Aliases()["opus-mt-de-en"]; got != "Helsinki-NLP/opus-mt-de-en" {
		t.Errorf("Aliases: %q", got)
	}
}

func TestOptionErrors(t *testing.T) {
	for _, o := range []hub.Option{hub.WithDType("bf16"), hub.WithRevision(""), hub.WithRevision("a b"), hub.WithStallTimeout(-1), hub.WithRetries(-1)} {
		if _, err := hub.Get(context.Background(), repoA, hub.WithCacheDir(t.TempDir()), o); err == nil {
			t.Errorf("no error for a bad option")
		}
	}
	if _, err := hub.Get(context.Background(), repoA, hub.WithCacheDir(t.TempDir()), hub.WithHTTPClient(&http.Client{}), hub.WithEndpoint("http://127.0.0.1:1")); !errors.Is(err, hub.ErrUnreachable) {
		t.Errorf("closed port: %v", err)
	}
}
