package serve

import (
	"context"
	"strings"
	"testing"
	"time"
)

func TestTranslateFile(t *testing.T) {
	ts, _ := newTestServer(t, nil, WithBatching(0, 2)) // 2 lines per job: the file goes in several
	content := "\uFEFFDer Hund spielt im Garten.\r\n\nWo ist der Bahnhof? Ich weiß es nicht.\nDanke."
	ctype, body := multipartBody(t, "../../Briefe/mai 2026.txt", []byte(content), map[string]string{"source": "de", "target": "en"})
	r := postRaw(t, ts.URL+"/translate_file", ctype, body)
	var got struct{ TranslatedFileURL string }
	r.json(t, &got)
	prefix := ts.URL + "/download_file/"
	if r.status != 200 || !strings.HasPrefix(got.TranslatedFileURL, prefix) {
		t.Fatalf("translate_file: %d %s", r.status, r.body)
	}
	if !strings.HasSuffix(got.TranslatedFileURL, ".mai_2026.txt") {
		t.Errorf("stored name %q does not end in the cleaned upload name", got.TranslatedFileURL)
	}
	var want strings.Builder
	if err := tiny(t).TranslateStream(context.Background(), strings.NewReader(content), &want); err != nil {
		t.Fatal(err)
	}
	d := get(t, got.TranslatedFileURL)
	if d.status != 200 || string(d.body) != want.String() {
		t.Errorf("download: %d %q, want %q", d.status, d.body, want.String())
	}
	if cd := d.header.Get("Content-Disposition"); cd != `attachment; filename="mai_2026.txt"` {
		t.Errorf("Content-Disposition %q", cd)
	}

	name := strings.TrimPrefix(got.TranslatedFileURL, prefix)
	for _, c := range []struct {
		path   string
		status int
	}{
		{"00000000000000000000000000000000.mai_2026.txt", 404},
		{"..%2f..%2fetc%2fpasswd", 400},
		{"%2e%2e", 400},
		{name[:32] + ".%2e%2e%2fx", 400},
		{name + "%2f..", 400},
		{"", 404},
	} {
		r := get(t, prefix+c.path)
		if msg := r.errorText(t); r.status != c.status {
			t.Errorf("download %q: %d %q, want %d", c.path, r.status, msg, c.status)
		}
	}

	// An HTML file keeps its markup and downloads as HTML that cannot run.
	page := "<html><body><h1>Guten Morgen!</h1><p>Das Wetter ist <i>heute</i> schön.</p></body></html>"
	ctype, body = multipartBody(t, "seite.html", []byte(page), map[string]string{"source": "de", "target": "en"})
	r = postRaw(t, ts.URL+"/translate_file", ctype, body)
	got.TranslatedFileURL = ""
	r.json(t, &got)
	wantHTML, err := tiny(t).TranslateHTML(context.Background(), page)
	if err != nil {
		t.Fatal(err)
	}
	if d := get(t, got.TranslatedFileURL); d.status != 200 || string(d.body) != wantHTML ||
		d.header.Get("Content-Type") != "text/html; charset=utf-8" || d.header.Get("Content-Security-Policy") != "sandbox" {
		t.Errorf("html file: %d %v %q, want %q", d.status, d.header, d.body, wantHTML)
	}

	for _, c := range []struct {
		name, filename, content string
		fields                  map[string]string
		want                    string
	}{
		{"no file", "-", "", map[string]string{"source": "de", "target": "en"}, "Invalid request: missing file parameter"},
		{"no source", "a.txt", "Hallo.", map[string]string{"target": "en"}, "Invalid request: missing source parameter"},
		{"no target", "a.txt", "Hallo.", map[string]string{"source": "de"}, "Invalid request: missing target parameter"},
		{"pdf", "a.pdf", "%PDF", map[string]string{"source": "de", "target": "en"}, "Invalid request: file format not supported"},
		{"fr", "a.txt", "Salut.", map[string]string{"source": "fr", "target": "en"}, "fr is not supported"},
		{"binary", "a.txt", "Hallo\x00\xff", map[string]string{"source": "de", "target": "en"}, "Invalid request: a.txt is not UTF-8 text"},
	} {
		ctype, body := multipartBody(t, c.filename, []byte(c.content), c.fields)
		r := postRaw(t, ts.URL+"/translate_file", ctype, body)
		if msg := r.errorText(t); r.status != 400 || !strings.HasPrefix(msg, c.want) {
			t.Errorf("%s: %d %q, want 400 %q", c.name, r.status, msg, c.want)
		}
	}
	if r := postJSON(t, ts.URL+"/translate_file", map[string]string{"source": "de"}); r.status != 400 || r.errorText(t) != "Invalid request: missing file parameter" {
		t.Errorf("JSON to translate_file: %d %s", r.status, r.body)
	}
}

func TestFileStoreBounds(t *testing.T) {
	now := time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)
	s := newFileStore(3, 10, time.Minute)
	s.now = func() time.Time { return now }
	a := s.put("a.txt", []byte("aaaa"))
	b := s.put("b.txt", []byte("bbbb"))
	c := s.put("c.txt", []byte("cc")) // 10 bytes: all fit
	if _, _, ok := s.get(a); !ok {
		t.Fatal("a dropped too early")
	}
	d := s.put("d.txt", []byte("dd")) // 12 bytes: a goes
	if _, _, ok := s.get(a); ok {
		t.Error("oldest file kept over the byte bound")
	}
	e := s.put("e.txt", []byte("e")) // 4 files: b goes
	if _, _, ok := s.get(b); ok {
		t.Error("oldest file kept over the count bound")
	}
	if s.put("big.txt", []byte("01234567890")) != "" {
		t.Error("a file larger than the store accepted")
	}
	for _, n := range []string{c, d, e} {
		if _, _, ok := s.get(n); !ok {
			t.Errorf("%s dropped", n)
		}
	}
	now = now.Add(time.Minute)
	if _, _, ok := s.get(e); ok || len(s.files) != 0 || s.bytes != 0 {
		t.Errorf("expired files kept: %d files, %d bytes", len(s.files), s.bytes)
	}
	for in, want := range map[string]string{"../../x.txt": "x.txt", `C:\a\b.txt`: "b.txt", ".hidden": "hidden", "": "file.txt", "ü ö.txt": "_.txt"} {
		if got := cleanName(in); got != want {
			t.Errorf("cleanName(%q) = %q, want %q", in, got, want)
		}
	}
}
