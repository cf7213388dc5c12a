package serve

import (
	"bytes"
	"encoding/json"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
)

// FuzzTranslateRequest sends arbitrary bodies to /translate and /detect
// (translated by tiny-marian-A, limits kept small so runs stay quick):
// every answer is JSON, errors are {"error": ...} with a 4xx status, and
// nothing panics or answers 500.
func FuzzTranslateRequest(f *testing.F) {
	for _, seed := range []string{
		`{"q":"Hallo Welt.","source":"de","target":"en"}`,
		`{"q":["a","b"],"source":"auto","target":"en","alternatives":1}`,
		`{"q":"x","source":"de","target":"en","format":"html","api_key":3}`,
		`{"q":[1,{}],"source":[],"target":null}`,
		`q=Hallo&source=de&target=en&alternatives=-3`,
		`["not an object"]`,
	} {
		f.Add(seed, strings.HasPrefix(seed, "{") || strings.HasPrefix(seed, "["))
	}
	s, err := New(tiny(f), WithCharLimit(20), WithBatchLimit(3), WithAlternativesLimit(1), WithBodyLimit(512))
	if err != nil {
		f.Fatal(err)
	}
	f.Cleanup(s.Close)
	f.Fuzz(func(t *testing.T, body string, isJSON bool) {
		for _, path := range []string{"/translate", "/detect"} {
			req := httptest.NewRequest(http.MethodPost, path, strings.NewReader(body))
			req.Header.Set("Content-Type", map[bool]string{true: "application/json", false: "application/x-www-form-urlencoded"}[isJSON])
			w := httptest.NewRecorder()
			s.ServeHTTP(w, req)
			var v any
			if err := json.Unmarshal(w.Body.Bytes(), &v); err != nil {
				t.Fatalf("%s %q: answer %d %q is not JSON", path, body, w.Code, w.Body)
			}
			if w.Code >= 500 || (w.Code != 200 && !bytes.HasPrefix(w.Body.Bytes(), []byte(`{"error":`))) {
				t.Fatalf("%s %q: answer %d %s", path, body, w.Code, w.Body)
			}
		}
	})
}
