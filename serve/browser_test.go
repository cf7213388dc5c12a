package serve

import (
	"context"
	"flag"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/chromedp/cdproto/input"
	"github.com/chromedp/chromedp"

	"github.com/deen-mt/deen/translate"
)

var screenshot = flag.String("screenshot", "", "with TestBrowser: write the page's screenshot to this `file` (e.g. ../docs/serve.png)")

// chromium finds a Chromium or Chrome binary, or skips the test.
func chromium(t *testing.T) string {
	t.Helper()
	for _, name := range []string{"chromium", "chromium-browser", "google-chrome", "google-chrome-stable"} {
		if p, err := exec.LookPath(name); err == nil {
			return p
		}
	}
	t.Skip("no Chromium found: install the Debian package chromium (apt-get install chromium; .ci/run does) to run the browser test")
	return ""
}

// pageEngine is the model the page tests translate with: the embedded
// default model (real English on the screenshot) when this build has one.
func pageEngine(t *testing.T) *translate.Translator {
	if tr, err := translate.Default(); err == nil {
		return tr
	}
	return tiny(t)
}

// TestBrowser drives the page in headless Chromium: type German, read the
// English, check the counter, the keyboard order and the phone layout,
// upload a file and download its translation, highlight German words in the
// alignment view, take a screenshot.
func TestBrowser(t *testing.T) {
	if testing.Short() {
		t.Skip("starts a browser")
	}
	exe := chromium(t)
	eng := pageEngine(t)
	ts, _ := newTestServer(t, eng, WithCharLimit(500))
	actx, cancelA := chromedp.NewExecAllocator(context.Background(), append(chromedp.DefaultExecAllocatorOptions[:],
		chromedp.ExecPath(exe), chromedp.NoSandbox, chromedp.DisableGPU, chromedp.WindowSize(1100, 760))...)
	defer cancelA()
	ctx, cancel := chromedp.NewContext(actx)
	defer cancel()
	ctx, cancelT := context.WithTimeout(ctx, 3*time.Minute)
	defer cancelT()

	// Typed in two bursts: the first request is aborted or superseded; the
	// output must be the translation of the whole text.
	// The middle sentence is far from the default model's training data
	// (everyday Tatoeba sentences): its confidence is low.
	first, rest := "Der Hund spielt ", "im Garten. Die Quantenchromodynamik beschreibt die starke Wechselwirkung zwischen Quarks und Gluonen. Wo ist der Bahnhof?"
	text := first + rest
	want, err := eng.Translate(context.Background(), text)
	if err != nil {
		t.Fatal(err)
	}
	css := func(sel string) chromedp.CSS { return chromedp.CSS(sel) }
	err = chromedp.Do(ctx,
		chromedp.Navigate(ts.URL+"/"),
		chromedp.WaitVisible(css("body[data-ready]")),
		chromedp.SendKeys(css("#source"), first),
		chromedp.Sleep(700*time.Millisecond), // past the debounce: a request starts
		chromedp.SendKeys(css("#source"), rest),
	)
	if err != nil {
		t.Fatalf("typing German: %v", err)
	}
	_, err = chromedp.Run(ctx, chromedp.Poll[bool](fmt.Sprintf(`document.getElementById("target").value === %q`, want), chromedp.WithPollingTimeout(2*time.Minute)))
	got, _ := chromedp.Run(ctx, chromedp.Value(css("#target")))
	if err != nil || got != want {
		t.Fatalf("page shows %q, want %q (%v)", got, want, err)
	}
	// Sentences the model is unsure of are listed under the English.
	detail, err := eng.TranslateDetailed(context.Background(), text)
	if err != nil {
		t.Fatal(err)
	}
	unsure := 0
	for _, s := range detail.Sentences {
		if !s.Passthrough && s.Confidence < 0.5 {
			unsure++
		}
	}
	listed, err := chromedp.Run(ctx, chromedp.Evaluate[int](`document.getElementById("lowconf").hidden ? 0 : document.querySelectorAll("#lowlist li").length`))
	if err != nil || listed != unsure {
		t.Errorf("page lists %d low-confidence sentences, want %d (%v)", listed, unsure, err)
	}
	t.Logf("%d of %d sentences below confidence 0.5", unsure, len(detail.Sentences))
	count, err := chromedp.Run(ctx, chromedp.Text(css("#counter")))
	if wantCount := fmt.Sprintf("%d / 500", len([]rune(text))); err != nil || count != wantCount {
		t.Errorf("counter %q, want %q (%v)", count, wantCount, err)
	}
	if err := chromedp.Do(ctx, chromedp.Focus(css("#source")), chromedp.KeyEvent("\t")); err != nil {
		t.Fatal(err)
	}
	if focused, err := chromedp.Run(ctx, chromedp.Evaluate[string](`document.activeElement.id`)); err != nil || focused != "clear" {
		t.Errorf("Tab from the text goes to %q, want the Clear button (%v)", focused, err)
	}

	// A file: upload, wait for the link, download it.
	dir := t.TempDir()
	file := filepath.Join(dir, "brief.txt")
	content := "Guten Morgen!\nDas Wetter ist heute schön.\n"
	if err := os.WriteFile(file, []byte(content), 0o644); err != nil {
		t.Fatal(err)
	}
	var wantFile strings.Builder
	if err := eng.TranslateStream(context.Background(), strings.NewReader(content), &wantFile); err != nil {
		t.Fatal(err)
	}
	err = chromedp.Do(ctx,
		chromedp.SetUploadFiles(css("#file"), []string{file}),
		chromedp.Click(css("#upload")),
		chromedp.WaitVisible(css("#download")),
	)
	if err != nil {
		t.Fatalf("uploading a file: %v", err)
	}
	href, err := chromedp.Run(ctx, chromedp.AttributeValue(css("#download"), "href"))
	if err != nil || !href.Exists {
		t.Fatalf("download link: %v", err)
	}
	if r := get(t, href.Value); r.status != 200 || string(r.body) != wantFile.String() {
		t.Errorf("downloaded %d %q, want %q", r.status, r.body, wantFile.String())
	}

	// Last before the screenshot, which shows its highlight.
	checkAlignmentView(t, ctx, ts.URL, text)
	shot, err := chromedp.Run(ctx, chromedp.FullScreenshot(100)) // quality 100: PNG
	if err != nil {
		t.Fatal(err)
	}
	path := *screenshot
	if path == "" {
		path = filepath.Join(t.TempDir(), "serve.png")
	}
	if err := os.WriteFile(path, shot, 0o644); err != nil {
		t.Fatal(err)
	}
	t.Logf("screenshot: %s (%d bytes)", path, len(shot))

	// Phone width: nothing wider than the screen.
	if err := chromedp.Do(ctx, chromedp.EmulateViewport(390, 844)); err != nil {
		t.Fatal(err)
	}
	fits, err := chromedp.Run(ctx, chromedp.Evaluate[bool](`document.documentElement.scrollWidth <= window.innerWidth`))
	if err != nil || !fits {
		t.Errorf("page wider than a 390 px phone screen (%v)", err)
	}
}

// checkAlignmentView opens the alignment view of the page showing text's
// translation, focuses an English word and then points at "dog" (or the
// first word with links), and checks that exactly the German words the
// server links to it are highlighted.
func checkAlignmentView(t *testing.T, ctx context.Context, url, text string) {
	t.Helper()
	var want struct{ Alignments []wordAlignment }
	r := postJSON(t, url+"/translate", map[string]any{"q": text, "source": "de", "target": "en", "alignments": true})
	r.json(t, &want)
	if r.status != 200 || len(want.Alignments) == 0 {
		t.Fatalf("alignments: %d %s", r.status, r.body)
	}
	first := want.Alignments[0]
	pointed, focused := -1, -1
	for j, w := range first.Target {
		switch {
		case len(first.Links[j]) == 0:
		case strings.Trim(w, ".,") == "dog" || pointed < 0:
			pointed = j
		}
	}
	for j := range first.Target {
		if j != pointed && len(first.Links[j]) > 0 {
			focused = j
		}
	}
	if pointed < 0 || focused < 0 {
		t.Fatalf("fewer than two English words with links in %+v", first)
	}
	word := func(j int) string { return fmt.Sprintf("#alignments .sentpair:first-child .tw:nth-of-type(%d)", j+1) }
	lit := func(what string, j int) {
		t.Helper()
		got, err := chromedp.Run(ctx, chromedp.Evaluate[[]int](`[...document.querySelectorAll("#alignments .sentpair:first-child .sw.hl")].map(e => +e.dataset.i)`))
		if err != nil {
			t.Fatal(err)
		}
		var exp []int
		for _, l := range first.Links[j] {
			exp = append(exp, l.Word)
		}
		slices.Sort(exp)
		if !slices.Equal(got, exp) {
			t.Errorf("%s %q: German words %v highlighted, want %v (%+v)", what, first.Target[j], got, exp, first)
		}
	}
	if n, err := chromedp.Run(ctx, chromedp.Evaluate[int](`document.querySelectorAll("#alignments .sw").length`)); err != nil || n != 0 {
		t.Errorf("%d German words in the closed alignment view, want none: alignments are asked for only while it is open (%v)", n, err)
	}
	err := chromedp.Do(ctx,
		chromedp.Click(chromedp.CSS("#alignview summary")),
		chromedp.WaitVisible(chromedp.CSS(word(pointed))),
		chromedp.Focus(chromedp.CSS(word(focused))),
	)
	if err != nil {
		t.Fatalf("opening the alignment view: %v", err)
	}
	lit("focusing", focused)
	if err := chromedp.Do(ctx, chromedp.ScrollIntoView(chromedp.CSS(word(pointed)))); err != nil {
		t.Fatal(err)
	}
	box, err := chromedp.Run(ctx, chromedp.Evaluate[struct{ X, Y float64 }](fmt.Sprintf(
		`(() => { const r = document.querySelector(%q).getBoundingClientRect(); return {X: r.x + r.width / 2, Y: r.y + r.height / 2}; })()`, word(pointed))))
	if err == nil {
		err = chromedp.Do(ctx, chromedp.MouseEvent(input.DispatchMouseEventTypeMouseMoved, box.X, box.Y))
	}
	if err != nil {
		t.Fatalf("pointing at %q: %v", first.Target[pointed], err)
	}
	lit("pointing at", pointed)
	if st, err := chromedp.Run(ctx, chromedp.Text(chromedp.CSS("#alignstatus"))); err != nil || !strings.Contains(st, first.Target[pointed]+" ← ") {
		t.Errorf("status %q after pointing at %q (%v)", st, first.Target[pointed], err)
	}
}

// TestPageServed checks the page and its files without a browser: served
// from the binary, with a content security policy that allows nothing
// outside this server.
func TestPageServed(t *testing.T) {
	ts, _ := newTestServer(t, nil)
	for path, ctype := range map[string]string{"/": "text/html; charset=utf-8", "/static/app.js": "text/javascript; charset=utf-8", "/static/style.css": "text/css; charset=utf-8"} {
		r := get(t, ts.URL+path)
		if r.status != 200 || r.header.Get("Content-Type") != ctype || !strings.Contains(r.header.Get("Content-Security-Policy"), "default-src 'none'") {
			t.Errorf("%s: %d %v", path, r.status, r.header)
		}
		if strings.Contains(string(r.body), "https://") || strings.Contains(string(r.body), "http://") {
			t.Errorf("%s refers to another server", path)
		}
	}
	if r := get(t, ts.URL+"/static/nothing.js"); r.status != 404 {
		t.Errorf("/static/nothing.js: %d", r.status)
	}
}
