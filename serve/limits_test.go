package serve

import (
	"net/http"
	"net/http/httptest"
	"net/netip"
	"net/url"
	"strings"
	"testing"
	"time"
)

func TestParseKeys(t *testing.T) {
	k, err := ParseKeys(strings.NewReader("# comment\n\nalpha\nbeta 30\ngamma\t5  100\n"))
	if err != nil {
		t.Fatal(err)
	}
	for key, want := range map[string]KeyLimits{"alpha": {}, "beta": {ReqLimit: 30}, "gamma": {ReqLimit: 5, CharLimit: 100}} {
		if got, ok := k.Lookup(key); !ok || got != want {
			t.Errorf("Lookup(%q) = %v, %v; want %v", key, got, ok, want)
		}
	}
	if _, ok := k.Lookup("delta"); ok || k.Len() != 3 {
		t.Errorf("unknown key found or Len %d", k.Len())
	}
	for _, c := range []struct{ in, want string }{
		{"a 1 2 3", "line 1: 4 fields"},
		{"a\nb x", "line 2: limit \"x\" is not a positive whole number"},
		{"a 0", "limit \"0\""},
		{"a\na", "line 2: key \"a\" listed twice"},
	} {
		if _, err := ParseKeys(strings.NewReader(c.in)); err == nil || !strings.Contains(err.Error(), c.want) {
			t.Errorf("ParseKeys(%q) = %v, want %q", c.in, err, c.want)
		}
	}
	if _, err := LoadKeys("testdata/no-such-file"); err == nil || !strings.Contains(err.Error(), "serve: API keys") {
		t.Errorf("LoadKeys of a missing file: %v", err)
	}
}

func FuzzParseKeys(f *testing.F) {
	f.Add("alpha\nbeta 30\ngamma 5 100\n# c\n")
	f.Add("a 1 2 3")
	f.Fuzz(func(t *testing.T, in string) {
		k, err := ParseKeys(strings.NewReader(in))
		if err == nil {
			for _, line := range strings.Split(in, "\n") {
				if f := strings.Fields(line); len(f) > 0 && !strings.HasPrefix(f[0], "#") {
					if _, ok := k.Lookup(f[0]); !ok {
						t.Errorf("key %q of line %q not found", f[0], line)
					}
				}
			}
		}
	})
}

func TestAPIKeys(t *testing.T) {
	keys, err := ParseKeys(strings.NewReader("open\nslow 2\nshort 100 10\n"))
	if err != nil {
		t.Fatal(err)
	}
	ts, _ := newTestServer(t, nil, WithAPIKeys(keys), WithRequireAPIKey(true), WithReqLimit(100))
	req := func(fields map[string]any) reply {
		body := map[string]any{"q": "Hallo Welt.", "source": "de", "target": "en"}
		for k, v := range fields {
			body[k] = v
		}
		return postJSON(t, ts.URL+"/translate", body)
	}
	if r := req(nil); r.status != 403 || r.errorText(t) != "Please contact the server operator to get an API key" {
		t.Errorf("no key: %d %s", r.status, r.body)
	}
	if r := req(map[string]any{"api_key": "wrong"}); r.status != 403 || r.errorText(t) != "Invalid API key" {
		t.Errorf("wrong key: %d %s", r.status, r.body)
	}
	if r := req(map[string]any{"api_key": "open"}); r.status != 200 {
		t.Errorf("good key: %d %s", r.status, r.body)
	}
	if r := req(map[string]any{"apiKey": "open"}); r.status != 200 {
		t.Errorf("apiKey spelling: %d %s", r.status, r.body)
	}
	if r := postForm(t, ts.URL+"/translate", url.Values{"q": {"Hallo."}, "source": {"de"}, "target": {"en"}, "api_key": {"open"}}); r.status != 200 {
		t.Errorf("form key: %d %s", r.status, r.body)
	}
	// A key's own char limit replaces the server's.
	if r := req(map[string]any{"api_key": "short", "q": "Guten Morgen, Welt."}); r.status != 400 || r.errorText(t) != "Invalid request: request (19) exceeds text limit (10)" {
		t.Errorf("key char limit: %d %s", r.status, r.body)
	}
	// A key's own request limit replaces the server's.
	for i := range 3 {
		r := req(map[string]any{"api_key": "slow"})
		if want := map[bool]int{true: 200, false: 429}[i < 2]; r.status != want {
			t.Errorf("slow key request %d: %d %s, want %d", i+1, r.status, r.body, want)
		}
		if r.status == 429 && r.errorText(t) != "Slowdown: 2 per 1 minute" {
			t.Errorf("429 text %q", r.errorText(t))
		}
	}
	if _, err := New(tiny(t), WithRequireAPIKey(true)); err == nil {
		t.Error("require API key without keys accepted")
	}
}

func TestRateLimitPerIP(t *testing.T) {
	ts, _ := newTestServer(t, nil, WithReqLimit(3))
	codes := []int{}
	for range 4 {
		codes = append(codes, postForm(t, ts.URL+"/detect", url.Values{"q": {"Hallo"}}).status)
	}
	// An array of 2 texts costs 2: over the limit already.
	r := postJSON(t, ts.URL+"/translate", map[string]any{"q": []string{"a", "b"}, "source": "de", "target": "en"})
	codes = append(codes, r.status)
	if want := []int{200, 200, 200, 429, 429}; !equalInts(codes, want) {
		t.Errorf("codes %v, want %v", codes, want)
	}
	// Without a keys file a made-up key does not open a new allowance.
	r = postJSON(t, ts.URL+"/translate", map[string]any{"q": "Hallo.", "source": "de", "target": "en", "api_key": "made-up"})
	if r.status != 429 {
		t.Errorf("made-up key dodged the IP limit: %d %s", r.status, r.body)
	}
	// Other endpoints are not limited.
	if r := get(t, ts.URL+"/languages"); r.status != 200 {
		t.Errorf("/languages limited: %d", r.status)
	}
}

// TestClientIP checks whose address the per-client limit counts:
// X-Forwarded-For is read only when the request came from a trusted proxy,
// right to left, up to the first address that is not a trusted proxy.
func TestClientIP(t *testing.T) {
	trusted := []netip.Prefix{netip.MustParsePrefix("10.0.0.0/8"), netip.MustParsePrefix("::1/128")}
	for _, c := range []struct {
		remote string
		xff    []string
		want   string
	}{
		{"203.0.113.7:5555", nil, "203.0.113.7"},
		{"203.0.113.7:5555", []string{"1.2.3.4"}, "203.0.113.7"}, // not a proxy: header ignored
		{"10.1.2.3:80", nil, "10.1.2.3"},
		{"10.1.2.3:80", []string{"198.51.100.1"}, "198.51.100.1"},
		{"10.1.2.3:80", []string{"6.6.6.6, 198.51.100.1, 10.9.9.9"}, "198.51.100.1"}, // the left one is the client's own claim
		{"10.1.2.3:80", []string{"6.6.6.6", "198.51.100.1 , 10.9.9.9"}, "198.51.100.1"},
		{"10.1.2.3:80", []string{"10.4.4.4, 10.5.5.5"}, "10.4.4.4"}, // only proxies: the farthest
		{"10.1.2.3:80", []string{"6.6.6.6, not-an-address, 10.5.5.5"}, "10.5.5.5"},
		{"10.1.2.3:80", []string{""}, "10.1.2.3"},
		{"[::1]:80", []string{"2001:db8::1"}, "2001:db8::1"},
		{"[::ffff:10.0.0.1]:80", []string{"::ffff:198.51.100.2"}, "198.51.100.2"},
		{"pipe", []string{"1.2.3.4"}, "pipe"},
	} {
		s, err := New(tiny(t), WithTrustedProxies(trusted...))
		if err != nil {
			t.Fatal(err)
		}
		r := httptest.NewRequest("POST", "/translate", nil)
		r.RemoteAddr = c.remote
		for _, v := range c.xff {
			r.Header.Add("X-Forwarded-For", v)
		}
		if got := s.clientIP(r); got != c.want {
			t.Errorf("remote %s, X-Forwarded-For %q: client %q, want %q", c.remote, c.xff, got, c.want)
		}
		s.Close()
	}
}

// TestRateLimitBehindProxy checks that clients behind a trusted proxy are
// limited one by one, and that without trust the header opens nothing.
func TestRateLimitBehindProxy(t *testing.T) {
	send := func(ts string, client string) int {
		req, err := http.NewRequest("POST", ts+"/detect", strings.NewReader(url.Values{"q": {"Hallo"}}.Encode()))
		if err != nil {
			t.Fatal(err)
		}
		req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
		req.Header.Set("X-Forwarded-For", client)
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		resp.Body.Close()
		return resp.StatusCode
	}
	behind, _ := newTestServer(t, nil, WithReqLimit(2), WithTrustedProxies(netip.MustParsePrefix("127.0.0.0/8"), netip.MustParsePrefix("::1/128")))
	open, _ := newTestServer(t, nil, WithReqLimit(2))
	var got, want []int
	for _, c := range []string{"198.51.100.1", "198.51.100.2", "198.51.100.1", "198.51.100.2", "198.51.100.1"} {
		got = append(got, send(behind.URL, c))
	}
	want = []int{200, 200, 200, 200, 429}
	if !equalInts(got, want) {
		t.Errorf("behind a trusted proxy: codes %v, want %v", got, want)
	}
	got = got[:0]
	for _, c := range []string{"198.51.100.1", "198.51.100.2", "198.51.100.3"} {
		got = append(got, send(open.URL, c))
	}
	if want = []int{200, 200, 429}; !equalInts(got, want) {
		t.Errorf("untrusted X-Forwarded-For: codes %v, want %v", got, want)
	}
}

func equalInts(a, b []int) bool {
	if len(a) != len(b) {
		return false
	}
	for i := range a {
		if a[i] != b[i] {
			return false
		}
	}
	return true
}

func TestRateLimiterSlides(t *testing.T) {
	now := time.Date(2026, 1, 1, 12, 0, 0, 0, time.UTC)
	l := newRateLimiter(time.Minute)
	l.now = func() time.Time { return now }
	for i := range 10 {
		if !l.allow("a", 1, 10) {
			t.Fatalf("request %d refused", i+1)
		}
	}
	if l.allow("a", 1, 10) || !l.allow("b", 1, 10) {
		t.Fatal("limit not per client")
	}
	// Half a window later half of the previous window still counts.
	now = now.Add(90 * time.Second)
	n := 0
	for l.allow("a", 1, 10) {
		n++
	}
	if n != 5 {
		t.Errorf("after 1.5 periods %d requests allowed, want 5", n)
	}
	// Long idle clients are pruned.
	now = now.Add(10 * time.Minute)
	l.allow("c", 1, 10)
	if len(l.clients) != 1 {
		t.Errorf("%d clients kept after pruning, want 1", len(l.clients))
	}
	if l.allow("d", 11, 10) {
		t.Error("a cost over the limit allowed")
	}
}

func TestOptionErrors(t *testing.T) {
	for _, o := range []Option{
		WithCharLimit(0), WithBatchLimit(-2), WithReqLimit(0), WithBodyLimit(0), WithTimeout(0),
		WithMaxConcurrent(0), WithAlternativesLimit(16), WithBatching(-1, 1), WithBatching(0, 0),
		WithFileStore(0, 1, time.Second), WithLogger(nil), WithTrustedProxies(netip.Prefix{}),
	} {
		if _, err := New(tiny(t), o); err == nil || !strings.Contains(err.Error(), "want") {
			t.Errorf("bad option accepted or unexplained: %v", err)
		}
	}
	if _, err := New(nil); err == nil {
		t.Error("nil engine accepted")
	}
}

func TestMaxConcurrent(t *testing.T) {
	eng := &blockingEngine{Engine: tiny(t), entered: make(chan struct{}, 8), release: make(chan struct{})}
	ts, _ := newTestServer(t, eng, WithMaxConcurrent(1))
	done := make(chan reply)
	go func() {
		done <- postForm(t, ts.URL+"/translate", url.Values{"q": {"Hallo."}, "source": {"de"}, "target": {"en"}})
	}()
	<-eng.entered
	r := postForm(t, ts.URL+"/translate", url.Values{"q": {"Hallo."}, "source": {"de"}, "target": {"en"}})
	if r.status != http.StatusServiceUnavailable || !strings.HasPrefix(r.errorText(t), "Server busy: 1 requests in flight") || r.header.Get("Retry-After") == "" {
		t.Errorf("second request: %d %s", r.status, r.body)
	}
	close(eng.release)
	if r := <-done; r.status != 200 {
		t.Errorf("first request: %d %s", r.status, r.body)
	}
	// The slot is free again.
	if r := postForm(t, ts.URL+"/translate", url.Values{"q": {"Hallo."}, "source": {"de"}, "target": {"en"}}); r.status != 200 {
		t.Errorf("third request: %d %s", r.status, r.body)
	}
}
