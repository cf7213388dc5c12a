package serve

import (
	"bytes"
	"context"
	"encoding/json"
	"io"
	"math"
	"mime/multipart"
	"net/http"
	"net/http/httptest"
	"net/url"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"testing"

	"github.com/deen-mt/deen/marian"
	"github.com/deen-mt/deen/translate"
)

// tinyOnce converts tiny-marian-A (random weights: its translations are
// nonsense but deterministic) and loads it once for all tests, with greedy
// search so they run fast.
var (
	tinyOnce sync.Once
	tinyTr   *translate.Translator
	tinyErr  error
	tinyPath string // the converted model file, removed by TestMain
)

func TestMain(m *testing.M) {
	code := m.Run()
	if tinyPath != "" {
		os.RemoveAll(filepath.Dir(tinyPath))
	}
	os.Exit(code)
}

func tiny(t testing.TB) *translate.Translator {
	t.Helper()
	tinyOnce.Do(func() {
		dir, err := os.MkdirTemp("", "serve-test-")
		if err != nil {
			tinyErr = err
			return
		}
		tinyPath = filepath.Join(dir, "tiny-A.deen")
		if _, tinyErr = marian.Convert("../testdata/oracle/tiny-marian-A", tinyPath, marian.ConvertOptions{}); tinyErr != nil {
			return
		}
		tinyTr, tinyErr = translate.Load(tinyPath, translate.WithBeamSize(1))
	})
	if tinyErr != nil {
		t.Fatal(tinyErr)
	}
	return tinyTr
}

// newTestServer starts a loopback server over eng (tiny-marian-A when nil).
func newTestServer(t testing.TB, eng Engine, opts ...Option) (*httptest.Server, *Server) {
	t.Helper()
	if eng == nil {
		eng = tiny(t)
	}
	s, err := New(eng, opts...)
	if err != nil {
		t.Fatal(err)
	}
	ts := httptest.NewServer(s)
	t.Cleanup(func() {
		ts.Close()
		s.Close()
	})
	return ts, s
}

// reply is a decoded answer.
type reply struct {
	status int
	header http.Header
	body   []byte
}

func (r reply) json(t testing.TB, v any) {
	t.Helper()
	if err := json.Unmarshal(r.body, v); err != nil {
		t.Fatalf("answer %d %q is not JSON: %v", r.status, r.body, err)
	}
}

// errorText returns the error field of an error answer, failing the test
// when the answer is not {"error": ...} JSON.
func (r reply) errorText(t testing.TB) string {
	t.Helper()
	var e map[string]any
	r.json(t, &e)
	msg, ok := e["error"].(string)
	if !ok || len(e) != 1 {
		t.Fatalf("answer %d %s is not {\"error\": ...}", r.status, r.body)
	}
	if ct := r.header.Get("Content-Type"); ct != "application/json" {
		t.Errorf("error answer has Content-Type %q", ct)
	}
	return msg
}

func do(t testing.TB, req *http.Request) reply {
	t.Helper()
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	b, err := io.ReadAll(resp.Body)
	if err != nil {
		t.Fatal(err)
	}
	return reply{resp.StatusCode, resp.Header, b}
}

func postJSON(t testing.TB, url string, v any) reply {
	t.Helper()
	b, err := json.Marshal(v)
	if err != nil {
		t.Fatal(err)
	}
	return postRaw(t, url, "application/json", b)
}

func postRaw(t testing.TB, url, contentType string, body []byte) reply {
	t.Helper()
	req, err := http.NewRequest(http.MethodPost, url, bytes.NewReader(body))
	if err != nil {
		t.Fatal(err)
	}
	req.Header.Set("Content-Type", contentType)
	return do(t, req)
}

func postForm(t testing.TB, u string, v url.Values) reply {
	t.Helper()
	return postRaw(t, u, "application/x-www-form-urlencoded", []byte(v.Encode()))
}

func get(t testing.TB, u string) reply {
	t.Helper()
	req, err := http.NewRequest(http.MethodGet, u, nil)
	if err != nil {
		t.Fatal(err)
	}
	return do(t, req)
}

// multipartBody builds a /translate_file body.
func multipartBody(t testing.TB, filename string, content []byte, fields map[string]string) (string, []byte) {
	t.Helper()
	var b bytes.Buffer
	mw := multipart.NewWriter(&b)
	for k, v := range fields {
		mw.WriteField(k, v)
	}
	if filename != "-" {
		fw, err := mw.CreateFormFile("file", filename)
		if err != nil {
			t.Fatal(err)
		}
		fw.Write(content)
	}
	mw.Close()
	return mw.FormDataContentType(), b.Bytes()
}

var germanTexts = []string{
	"Der Hund spielt im Garten.",
	"Kannst du mir bitte das Salz geben? Wir treffen uns um halb acht.",
	"Die Katze schläft auf dem warmen Sofa.\n\nIch habe heute keine Zeit.",
	"Wo ist der Bahnhof?",
}

// alone translates text with the library directly, the reference every
// served translation must equal.
func alone(t testing.TB, text string) string {
	t.Helper()
	out, err := tiny(t).Translate(context.Background(), text)
	if err != nil {
		t.Fatal(err)
	}
	return out
}

func TestTranslateJSONAndForm(t *testing.T) {
	ts, _ := newTestServer(t, nil)
	for _, text := range germanTexts {
		want := alone(t, text)
		var got map[string]any
		r := postJSON(t, ts.URL+"/translate", map[string]any{"q": text, "source": "de", "target": "en"})
		r.json(t, &got)
		if r.status != 200 || got["translatedText"] != want || len(got) != 1 {
			t.Errorf("JSON %q: %d %s, want translatedText %q only", text, r.status, r.body, want)
		}
		r = postForm(t, ts.URL+"/translate", url.Values{"q": {strings.ReplaceAll(text, "\n", "\r\n")}, "source": {"de"}, "target": {"en"}, "format": {"text"}})
		got = nil
		r.json(t, &got)
		if r.status != 200 || got["translatedText"] != want {
			t.Errorf("form %q: %d %s, want %q", text, r.status, r.body, want)
		}
	}
	// An array q gives an array in the same order.
	var got struct{ TranslatedText []string }
	r := postJSON(t, ts.URL+"/translate", map[string]any{"q": germanTexts, "source": "de", "target": "en"})
	r.json(t, &got)
	if r.status != 200 || len(got.TranslatedText) != len(germanTexts) {
		t.Fatalf("array: %d %s", r.status, r.body)
	}
	for i, text := range germanTexts {
		if want := alone(t, text); got.TranslatedText[i] != want {
			t.Errorf("array[%d] = %q, want %q", i, got.TranslatedText[i], want)
		}
	}
}

func TestTranslateAutoAndAlternatives(t *testing.T) {
	ts, _ := newTestServer(t, nil)
	var got struct {
		TranslatedText   string
		DetectedLanguage detection
		Alternatives     []string
	}
	r := postJSON(t, ts.URL+"/translate", map[string]any{"q": germanTexts[0], "source": "auto", "target": "en", "alternatives": 3})
	r.json(t, &got)
	if r.status != 200 || got.DetectedLanguage.Language != "de" || got.DetectedLanguage.Confidence <= 50 {
		t.Fatalf("auto: %d %s, want detectedLanguage de", r.status, r.body)
	}
	if got.TranslatedText != alone(t, germanTexts[0]) {
		t.Errorf("auto translatedText %q, want %q", got.TranslatedText, alone(t, germanTexts[0]))
	}
	if !bytes.Contains(r.body, []byte(`"alternatives":[`)) || len(got.Alternatives) > 3 {
		t.Errorf("alternatives: %s", r.body)
	}
	seen := map[string]bool{got.TranslatedText: true}
	for _, a := range got.Alternatives {
		if seen[a] || a == "" {
			t.Errorf("alternative %q repeats or is empty: %s", a, r.body)
		}
		seen[a] = true
	}
	// English sent with source auto comes back as it was, marked en.
	en := "The weather is nice and we are going to the park."
	var back struct {
		TranslatedText   string
		DetectedLanguage detection
	}
	r = postJSON(t, ts.URL+"/translate", map[string]any{"q": en, "source": "auto", "target": "en"})
	r.json(t, &back)
	if r.status != 200 || back.TranslatedText != en || back.DetectedLanguage.Language != "en" {
		t.Errorf("auto English: %d %s", r.status, r.body)
	}
	// So does text with nothing to translate, with LibreTranslate's answer.
	r = postJSON(t, ts.URL+"/translate", map[string]any{"q": "42 🙂", "source": "auto", "target": "en"})
	if r.status != 200 || string(r.body) != `{"detectedLanguage":{"confidence":0,"language":"en"},"translatedText":"42 🙂"}`+"\n" {
		t.Errorf("auto without letters: %d %s", r.status, r.body)
	}
	// A batch with auto gets one detection per text.
	var batch struct {
		DetectedLanguage []detection
		Alternatives     [][]string
	}
	r = postJSON(t, ts.URL+"/translate", map[string]any{"q": germanTexts[:2], "source": "auto", "target": "en", "alternatives": "1"})
	r.json(t, &batch)
	if r.status != 200 || len(batch.DetectedLanguage) != 2 || len(batch.Alternatives) != 2 {
		t.Errorf("batch auto: %d %s", r.status, r.body)
	}
}

func TestTranslateErrors(t *testing.T) {
	ts, _ := newTestServer(t, nil, WithCharLimit(40), WithBatchLimit(2), WithBodyLimit(4096))
	ok := map[string]any{"q": "Hallo.", "source": "de", "target": "en"}
	with := func(k string, v any) map[string]any {
		m := map[string]any{}
		for k, v := range ok {
			m[k] = v
		}
		if v == nil {
			delete(m, k)
		} else {
			m[k] = v
		}
		return m
	}
	for _, c := range []struct {
		name   string
		body   any
		status int
		want   string
	}{
		{"no q", with("q", nil), 400, "Invalid request: missing q parameter"},
		{"empty q", with("q", ""), 400, "Invalid request: missing q parameter"},
		{"empty array", with("q", []string{}), 400, "Invalid request: missing q parameter"},
		{"q number", with("q", 3), 400, "Invalid request: q must be a string or an array of strings"},
		{"q array of numbers", with("q", []any{"a", 1}), 400, "Invalid request: q[1] is not a string"},
		{"no source", with("source", nil), 400, "Invalid request: missing source parameter"},
		{"no target", with("target", nil), 400, "Invalid request: missing target parameter"},
		{"source object", with("source", map[string]int{}), 400, "Invalid request: source parameter must be a string"},
		{"source fr", with("source", "fr"), 400, "fr is not supported"},
		{"target xx", with("target", "xx"), 400, "xx is not supported"},
		{"en to de", with("source", "en"), 400, "English (en) is not available as a target language from English (en)"},
		{"de to de", with("target", "de"), 400, "German (de) is not available as a target language from German (de)"},
		{"xml", with("format", "xml"), 400, "xml format is not supported"},
		{"alternatives word", with("alternatives", "many"), 400, "Invalid request: alternatives parameter is not a number"},
		{"alternatives 2.5", with("alternatives", 2.5), 400, "Invalid request: alternatives parameter is not a number"},
		{"alternatives 4", with("alternatives", 4), 400, "Invalid request: alternatives parameter must be <= 3"},
		{"char limit", with("q", strings.Repeat("ä", 41)), 400, "Invalid request: request (41) exceeds text limit (40)"},
		{"batch limit", with("q", []string{"a", "b", "c"}), 400, "Invalid request: request (3) exceeds text limit (2)"},
		{"body limit", with("q", strings.Repeat("a", 5000)), 413, "Request body too large: the limit is 4096 bytes"},
	} {
		r := postJSON(t, ts.URL+"/translate", c.body)
		if msg := r.errorText(t); r.status != c.status || !strings.HasPrefix(msg, c.want) {
			t.Errorf("%s: %d %q, want %d %q", c.name, r.status, msg, c.status, c.want)
		}
	}
	for _, c := range []struct {
		name, ctype, body string
		status            int
		want              string
	}{
		{"bad JSON", "application/json", `{"q": `, 400, "Invalid JSON format"},
		{"JSON array", "application/json", `["q"]`, 400, "Invalid JSON format"},
		{"empty form", "application/x-www-form-urlencoded", ``, 400, "Invalid request: missing q parameter"},
		{"bad form", "application/x-www-form-urlencoded", `q=%zz`, 400, "Invalid request: cannot read the form"},
	} {
		r := postRaw(t, ts.URL+"/translate", c.ctype, []byte(c.body))
		if msg := r.errorText(t); r.status != c.status || !strings.HasPrefix(msg, c.want) {
			t.Errorf("%s: %d %q, want %d %q", c.name, r.status, msg, c.status, c.want)
		}
	}
	r := get(t, ts.URL+"/translate")
	if msg := r.errorText(t); r.status != 405 || r.header.Get("Allow") != "POST" || !strings.Contains(msg, "use POST") {
		t.Errorf("GET /translate: %d %q Allow %q", r.status, msg, r.header.Get("Allow"))
	}
	r = get(t, ts.URL+"/nowhere")
	if msg := r.errorText(t); r.status != 404 || !strings.Contains(msg, "/nowhere") {
		t.Errorf("GET /nowhere: %d %q", r.status, msg)
	}
	r = postJSON(t, ts.URL+"/languages", ok)
	if msg := r.errorText(t); r.status != 405 {
		t.Errorf("POST /languages: %d %q", r.status, msg)
	}
}

// TestSentencesExtension: "sentences": true adds each sentence with its
// translation and confidence, as TranslateDetailed gives them; without it
// the answer is LibreTranslate's.
func TestSentencesExtension(t *testing.T) {
	ts, _ := newTestServer(t, nil)
	text := germanTexts[2]
	want, err := tiny(t).TranslateDetailed(context.Background(), text)
	if err != nil {
		t.Fatal(err)
	}
	var got struct {
		TranslatedText string
		Sentences      []sentenceInfo
	}
	r := postJSON(t, ts.URL+"/translate", map[string]any{"q": text, "source": "de", "target": "en", "sentences": true})
	r.json(t, &got)
	if r.status != 200 || got.TranslatedText != want.Text || len(got.Sentences) != len(want.Sentences) || len(got.Sentences) < 2 {
		t.Fatalf("sentences: %d %s", r.status, r.body)
	}
	for i, s := range want.Sentences {
		g := got.Sentences[i]
		if g.Source != s.Source || g.Translation != s.Text || math.Abs(g.Confidence-float64(s.Confidence)) > 0.0005 || g.Confidence < 0 || g.Confidence > 1 {
			t.Errorf("sentence %d: %+v, want %q → %q (%v)", i, g, s.Source, s.Text, s.Confidence)
		}
	}
	r = postForm(t, ts.URL+"/translate", url.Values{"q": {text}, "source": {"de"}, "target": {"en"}, "sentences": {"1"}})
	if !strings.Contains(string(r.body), `"sentences":[{`) {
		t.Errorf("form sentences=1: %s", r.body)
	}
	r = postJSON(t, ts.URL+"/translate", map[string]any{"q": text, "source": "de", "target": "en"})
	if strings.Contains(string(r.body), "sentences") {
		t.Errorf("sentences without asking: %s", r.body)
	}
}

func TestTranslateHTML(t *testing.T) {
	ts, _ := newTestServer(t, nil)
	docs := []string{`<p>Der Hund <b>spielt</b> im Garten.</p>`, `<ul><li>Wo ist der <a href="/bahnhof">Bahnhof</a>?</li></ul>`}
	var got struct {
		TranslatedText []string
		Alternatives   [][]string
	}
	r := postJSON(t, ts.URL+"/translate", map[string]any{"q": docs, "source": "de", "target": "en", "format": "html", "alternatives": 2})
	r.json(t, &got)
	if r.status != 200 || len(got.TranslatedText) != 2 || len(got.Alternatives) != 2 || len(got.Alternatives[0]) != 0 {
		t.Fatalf("html: %d %s", r.status, r.body)
	}
	for i, d := range docs {
		want, err := tiny(t).TranslateHTML(context.Background(), d)
		if err != nil {
			t.Fatal(err)
		}
		if got.TranslatedText[i] != want {
			t.Errorf("html %q: served %q, alone %q", d, got.TranslatedText[i], want)
		}
	}
	if !strings.Contains(got.TranslatedText[1], `<a href="/bahnhof">`) {
		t.Errorf("markup lost: %q", got.TranslatedText[1])
	}
}

func TestCORS(t *testing.T) {
	ts, _ := newTestServer(t, nil)
	req, _ := http.NewRequest(http.MethodOptions, ts.URL+"/translate", nil)
	r := do(t, req)
	if r.status != 204 || r.header.Get("Access-Control-Allow-Origin") != "*" || r.header.Get("Access-Control-Allow-Headers") != "Authorization, Content-Type" {
		t.Errorf("preflight: %d %v", r.status, r.header)
	}
	ts2, _ := newTestServer(t, nil, WithCORSOrigin(""))
	if r := get(t, ts2.URL+"/health"); r.header.Get("Access-Control-Allow-Origin") != "" {
		t.Errorf("CORS off still sends %v", r.header)
	}
	ts3, _ := newTestServer(t, nil, WithCORSOrigin("https://example.org"))
	if r := get(t, ts3.URL+"/health"); r.header.Get("Access-Control-Allow-Origin") != "https://example.org" {
		t.Errorf("CORS origin: %v", r.header)
	}
}

func TestInfoEndpoints(t *testing.T) {
	ts, _ := newTestServer(t, nil, WithCharLimit(1234))
	var langs []language
	r := get(t, ts.URL+"/languages")
	r.json(t, &langs)
	if r.status != 200 || len(langs) != 2 || langs[0].Code != "de" || langs[0].Name != "German" || len(langs[0].Targets) != 1 || langs[0].Targets[0] != "en" {
		t.Errorf("/languages: %d %s", r.status, r.body)
	}
	var health map[string]string
	r = get(t, ts.URL+"/health")
	r.json(t, &health)
	if r.status != 200 || health["status"] != "ok" {
		t.Errorf("/health: %d %s", r.status, r.body)
	}
	var settings struct {
		CharLimit            int
		FrontendTimeout      int
		APIKeys, KeyRequired bool
		FilesTranslation     bool
		SupportedFilesFormat []string
		Language             struct{ Source, Target struct{ Code, Name string } }
	}
	r = get(t, ts.URL+"/frontend/settings")
	r.json(t, &settings)
	if r.status != 200 || settings.CharLimit != 1234 || settings.FrontendTimeout != 500 || settings.APIKeys ||
		!settings.FilesTranslation || len(settings.SupportedFilesFormat) != 2 || settings.Language.Source.Code != "de" || settings.Language.Target.Name != "English" {
		t.Errorf("/frontend/settings: %d %s", r.status, r.body)
	}
}

func TestDetect(t *testing.T) {
	ts, _ := newTestServer(t, nil)
	for _, c := range []struct{ q, want string }{
		{"Ich habe heute keine Zeit, aber morgen gerne.", "de"},
		{"Die Straße ist nass.", "de"},
		{"I have no time today, but tomorrow I would like to.", "en"},
		{"Where is the station?", "en"},
		{"12345 🙂", ""},           // no letters: neither, confidence 0, en first (untranslatable)
		{"Привет, как дела?", ""}, // another script: the same
	} {
		var got []detection
		r := postForm(t, ts.URL+"/detect", url.Values{"q": {c.q}})
		r.json(t, &got)
		switch {
		case r.status != 200 || len(got) != 2:
			t.Errorf("detect %q: %d %s", c.q, r.status, r.body)
		case c.want == "" && (got[0] != detection{0, "en"} || got[1] != detection{0, "de"}):
			t.Errorf("detect %q: %s, want both confidence 0, en first", c.q, r.body)
		case c.want != "" && (got[0].Language != c.want || got[0].Confidence <= 50 || got[0].Confidence+got[1].Confidence != 100):
			t.Errorf("detect %q: %s, want %s first with more than 50", c.q, r.body, c.want)
		}
	}
	r := postJSON(t, ts.URL+"/detect", map[string]any{})
	if msg := r.errorText(t); r.status != 400 || msg != "Invalid request: missing q parameter" {
		t.Errorf("detect without q: %d %q", r.status, msg)
	}
}

func TestMetrics(t *testing.T) {
	ts, _ := newTestServer(t, nil)
	postJSON(t, ts.URL+"/translate", map[string]any{"q": germanTexts[0], "source": "de", "target": "en"})
	postJSON(t, ts.URL+"/translate", map[string]any{"source": "de", "target": "en"})
	get(t, ts.URL+"/nowhere/x")
	r := get(t, ts.URL+"/metrics")
	text := string(r.body)
	chars := len([]rune(germanTexts[0]))
	for _, want := range []string{
		`deen_http_requests_total{code="200",endpoint="/translate"} 1`,
		`deen_http_requests_total{code="400",endpoint="/translate"} 1`,
		`deen_http_requests_total{code="404",endpoint="other"} 1`,
		`deen_batch_texts_count 1`,
		`deen_characters_translated_total ` + strconv.Itoa(chars),
		`deen_batch_queue_depth 0`,
		`deen_http_request_duration_seconds_bucket{endpoint="/translate",le="+Inf"} 2`,
		`go_goroutines`,
	} {
		if !strings.Contains(text, want) {
			t.Errorf("/metrics lacks %q", want)
		}
	}
}
