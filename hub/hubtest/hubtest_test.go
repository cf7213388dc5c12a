package hubtest

import (
	"io"
	"net/http"
	"strings"
	"testing"
)

func TestLayoutAndHeaders(t *testing.T) {
	s := NewServer()
	defer s.Close()
	weights := []byte(strings.Repeat("0123456789", 1000))
	s.AddFile("o/r", "model.safetensors", weights)
	s.AddFile("o/r", "config.json", []byte(`{}`))

	get := func(path, rng string) *http.Response {
		t.Helper()
		req, _ := http.NewRequest(http.MethodGet, s.URL+path, nil)
		if rng != "" {
			req.Header.Set("Range", rng)
		}
		resp, err := http.DefaultTransport.RoundTrip(req) // no redirects followed
		if err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { resp.Body.Close() })
		return resp
	}
	// A small file: served by the hub, ETag a git blob id.
	r := get("/o/r/resolve/main/config.json", "")
	if body, _ := io.ReadAll(r.Body); r.StatusCode != 200 || string(body) != "{}" || len(r.Header.Get("ETag")) != 42 || r.Header.Get("X-Repo-Commit") != Commit("o/r") {
		t.Errorf("config.json: %s %q %v", r.Status, body, r.Header)
	}
	// An LFS file: a redirect to the CDN with the SHA-256.
	r = get("/o/r/resolve/main/model.safetensors", "")
	loc := r.Header.Get("Location")
	if r.StatusCode != http.StatusFound || !strings.HasPrefix(loc, s.CDNURL+"/"+SHA256(weights)) || r.Header.Get("X-Linked-Etag") != `"`+SHA256(weights)+`"` {
		t.Fatalf("LFS: %s, Location %q, %v", r.Status, loc, r.Header)
	}
	req, _ := http.NewRequest(http.MethodGet, loc, nil)
	req.Header.Set("Range", "bytes=9990-")
	cdn, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	body, _ := io.ReadAll(cdn.Body)
	cdn.Body.Close()
	if cdn.StatusCode != http.StatusPartialContent || string(body) != "0123456789" || cdn.Header.Get("Content-Range") != "bytes 9990-9999/10000" {
		t.Errorf("CDN range: %s %q %v", cdn.Status, body, cdn.Header)
	}
	// Errors with the hub's codes.
	for path, want := range map[string]string{"/x/y/resolve/main/config.json": "401 RepoNotFound",
		"/o/r/resolve/main/none": "404 EntryNotFound", "/o/r/resolve/v2/config.json": "404 RevisionNotFound"} {
		r := get(path, "")
		if got := r.Status[:3] + " " + r.Header.Get("X-Error-Code"); got != want {
			t.Errorf("%s: %s, want %s", path, got, want)
		}
	}
	s.SetToken("tok")
	if r := get("/o/r/resolve/main/config.json", ""); r.StatusCode != 401 || r.Header.Get("X-Error-Code") != "GatedRepo" {
		t.Errorf("gated: %s", r.Status)
	}
	s.SetToken("")
	// A cut response ends early; the next one is whole.
	s.CutAfter("o/r", "config.json", 1)
	r = get("/o/r/resolve/main/config.json", "")
	if body, err := io.ReadAll(r.Body); err == nil || string(body) != "{" {
		t.Errorf("cut: %q, %v", body, err)
	}
	r = get("/o/r/resolve/main/config.json", "")
	if body, err := io.ReadAll(r.Body); err != nil || string(body) != "{}" {
		t.Errorf("after the cut: %q, %v", body, err)
	}
	if n := s.Count("o/r", "config.json"); n != 5 { // main, v2, gated, cut, whole
		t.Errorf("Count = %d, want 5", n)
	}
}
