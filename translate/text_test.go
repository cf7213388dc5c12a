package translate

import (
	"context"
	"errors"
	"fmt"
	"io"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/deen-mt/deen/internal/defaultmodel"
)

// refTranslator is the oracle model with the reference settings of
// beam4_lp1.0 (4 beams, length penalty 1, 32 new tokens, no guard), and
// exact returns the indices of sentences whose reference has no near-tie,
// with their reference texts.
func refTranslator(t *testing.T) (*Translator, map[int]string) {
	t.Helper()
	refs, m := loadOracle(t)
	tr, err := newTranslator(m, WithBeamSize(4), WithLengthPenalty(1), WithMaxNewTokens(refs.Meta.MaxNewTokens), WithLengthGuard(0, 0))
	if err != nil {
		t.Fatal(err)
	}
	want := map[int]string{}
	for i, s := range refs.Sentences {
		if s.Beam4.MinCandidateGap >= nearTie && len(SplitSentences(s.SourceText)) == 1 {
			want[i] = strings.TrimSpace(strings.ReplaceAll(s.Beam4.Text, "▁", " "))
		}
	}
	if len(want) < 4 {
		t.Fatalf("only %d references without near-ties", len(want))
	}
	return tr, want
}

// pick returns n reference indices in a fixed order.
func pick(want map[int]string, n int) []int {
	var idx []int
	for i := range 100 {
		if _, ok := want[i]; ok && len(idx) < n {
			idx = append(idx, i)
		}
	}
	return idx
}

func TestTranslateLayout(t *testing.T) {
	tr, want := refTranslator(t)
	refs, _ := loadOracle(t)
	k := pick(want, 4)
	src := func(i int) string { return refs.Sentences[k[i]].SourceText }
	en := func(i int) string { return want[k[i]] }
	// Two sentences on a line, an empty line, indentation, CRLF, trailing
	// spaces, a last line without a line end.
	in := "  " + src(0) + "   " + src(1) + "\n\n\t" + src(2) + "  \r\n" + src(3)
	wantOut := "  " + en(0) + "   " + en(1) + "\n\n\t" + en(2) + "  \r\n" + en(3)
	got, err := tr.Translate(context.Background(), in)
	if err != nil {
		t.Fatal(err)
	}
	if got != wantOut {
		t.Fatalf("Translate:\n got %q\nwant %q", got, wantOut)
	}
	for _, blank := range []string{"", "   ", "\n\n", " \r\n"} {
		if got, err := tr.Translate(context.Background(), blank); err != nil || got != blank {
			t.Errorf("Translate(%q) = %q, %v; want it unchanged", blank, got, err)
		}
	}
}

func TestTranslateBatchOrder(t *testing.T) {
	tr, want := refTranslator(t)
	refs, _ := loadOracle(t)
	k := pick(want, 6)
	var texts, wantOut []string
	for j := range 12 { // long and short texts mixed, so the length sort reorders
		a, b := k[j%len(k)], k[(j*5+1)%len(k)]
		if j%3 == 0 {
			texts = append(texts, refs.Sentences[a].SourceText)
			wantOut = append(wantOut, want[a])
		} else {
			texts = append(texts, refs.Sentences[a].SourceText+" "+refs.Sentences[b].SourceText)
			wantOut = append(wantOut, want[a]+" "+want[b])
		}
	}
	got, err := tr.TranslateBatch(context.Background(), texts)
	if err != nil {
		t.Fatal(err)
	}
	for i := range got {
		if got[i] != wantOut[i] {
			t.Errorf("text %d: %q, want %q", i, got[i], wantOut[i])
		}
	}
}

func TestTranslateStream(t *testing.T) {
	tr, want := refTranslator(t)
	refs, _ := loadOracle(t)
	k := pick(want, 5)
	var in, wantOut strings.Builder
	in.WriteString("\uFEFF")
	wantOut.WriteString("\uFEFF")
	nLines := 200 // more than one batch
	for j := range nLines {
		eol := "\n"
		if j%7 == 3 {
			eol = "\r\n"
		}
		if j == nLines-1 {
			eol = "" // last line without a line end
		}
		if j%11 == 5 {
			in.WriteString(eol)
			wantOut.WriteString(eol)
			continue
		}
		i := k[j%len(k)]
		in.WriteString(refs.Sentences[i].SourceText + eol)
		wantOut.WriteString(want[i] + eol)
	}
	var out strings.Builder
	var reported []int
	err := tr.TranslateStream(context.Background(), strings.NewReader(in.String()), &out, OnBatch(func(n int) error {
		reported = append(reported, n)
		return nil
	}))
	if err != nil {
		t.Fatal(err)
	}
	if out.String() != wantOut.String() {
		t.Fatalf("stream output differs:\n got %q\nwant %q", out.String(), wantOut.String())
	}
	if len(reported) < 2 || reported[len(reported)-1] != nLines {
		t.Fatalf("OnBatch reported %v, want several batches ending at %d", reported, nLines)
	}
	// An error from the callback stops the stream.
	stop := errors.New("stop")
	err = tr.TranslateStream(context.Background(), strings.NewReader(in.String()), io.Discard, OnBatch(func(int) error { return stop }))
	if !errors.Is(err, stop) {
		t.Fatalf("callback error: %v, want %v", err, stop)
	}
}

// TestStreamStartLine cuts a text at several lines, one of which starts
// with U+FEFF, and translates each piece as a continuation: the pieces put
// together equal the whole text's translation, and errors name the line of
// the whole text.
func TestStreamStartLine(t *testing.T) {
	tr, want := refTranslator(t)
	refs, _ := loadOracle(t)
	k := pick(want, 4)
	var src []string
	for j := range 12 {
		src = append(src, refs.Sentences[k[j%len(k)]].SourceText+"\n")
	}
	src[0] = "\uFEFF" + src[0]
	src[5] = "\uFEFF" + src[5] // not a byte-order mark: not the start of the text
	whole := strings.Join(src, "")
	var wantOut strings.Builder
	if err := tr.TranslateStream(context.Background(), strings.NewReader(whole), &wantOut); err != nil {
		t.Fatal(err)
	}
	var got strings.Builder
	for _, cut := range [][2]int{{0, 5}, {5, 9}, {9, 12}} {
		piece := strings.Join(src[cut[0]:cut[1]], "")
		if err := tr.TranslateStream(context.Background(), strings.NewReader(piece), &got, StartLine(cut[0])); err != nil {
			t.Fatal(err)
		}
	}
	if got.String() != wantOut.String() {
		t.Fatalf("pieces differ from the whole:\n got %q\nwant %q", got.String(), wantOut.String())
	}
	err := tr.TranslateStream(context.Background(), brokenReader{strings.NewReader("Hallo.\n")}, io.Discard, StartLine(40))
	if err == nil || !strings.Contains(err.Error(), "reading line 42") {
		t.Fatalf("read error after a continued line: %v, want it to name line 42", err)
	}
}

// brokenReader fails after its data.
type brokenReader struct{ r io.Reader }

var errBroken = errors.New("disk on fire")

func (b brokenReader) Read(p []byte) (int, error) {
	n, err := b.r.Read(p)
	if err == io.EOF {
		err = errBroken
	}
	return n, err
}

func TestStreamErrors(t *testing.T) {
	tr, _ := refTranslator(t)
	var out strings.Builder
	err := tr.TranslateStream(context.Background(), brokenReader{strings.NewReader("Hallo.\nWelt.\n")}, &out)
	if !errors.Is(err, errBroken) || strings.Count(out.String(), "\n") != 2 {
		t.Fatalf("read error: %v after %q; want %v after two lines", err, out.String(), errBroken)
	}
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	if err := tr.TranslateStream(ctx, strings.NewReader("Hallo.\n"), io.Discard); !errors.Is(err, context.Canceled) {
		t.Fatalf("cancelled stream: %v", err)
	}
	if _, err := tr.Translate(ctx, "Hallo."); !errors.Is(err, context.Canceled) {
		t.Fatalf("cancelled Translate: %v", err)
	}
	// A model that reads at most one position cannot take any sentence:
	// the error names the line.
	cfg := smallConfig()
	cfg.MaxPositions = 1
	m, err := randomWeights(cfg, true)
	if err != nil {
		t.Fatal(err)
	}
	tiny, err := newTranslator(m)
	if err != nil {
		t.Fatal(err)
	}
	err = tiny.TranslateStream(context.Background(), strings.NewReader("\n\nHallo.\n"), io.Discard)
	var le *LineError
	if !errors.As(err, &le) || le.Line != 3 || !errors.Is(err, ErrInvalidInput) {
		t.Fatalf("unreadable line: %v, want a LineError for line 3 wrapping ErrInvalidInput", err)
	}
}

func TestLongSentenceIsSplit(t *testing.T) {
	tr, _ := refTranslator(t)
	long := strings.TrimSpace(strings.Repeat("Der kleine Hund spielt im Garten, und die Katze schläft ", 40)) + "."
	ids, err := tr.Encode(long)
	if err != nil {
		t.Fatal(err)
	}
	if len(ids) <= tr.enc.MaxLen() {
		t.Fatalf("test sentence has %d ids, not more than the model's %d", len(ids), tr.enc.MaxLen())
	}
	if _, err := tr.TranslateIDs(context.Background(), [][]int32{ids}, tr.SearchOptions()); !errors.Is(err, ErrInvalidInput) {
		t.Fatalf("whole sentence through TranslateIDs: %v, want ErrInvalidInput", err)
	}
	got, err := tr.Translate(context.Background(), long)
	if err != nil {
		t.Fatal(err)
	}
	// The translation is the pieces' translations joined by spaces.
	var pieces []string
	var split func(s string)
	split = func(s string) {
		ids, _ := tr.Encode(s)
		if len(ids) <= tr.enc.MaxLen() {
			pieces = append(pieces, s)
			return
		}
		a, b := splitLong(s)
		split(a)
		split(b)
	}
	split(long)
	if len(pieces) < 2 {
		t.Fatalf("split into %d pieces", len(pieces))
	}
	var want []string
	for _, p := range pieces {
		r, err := tr.TranslateIDs(context.Background(), [][]int32{mustEncode(t, tr, p)}, tr.SearchOptions())
		if err != nil {
			t.Fatal(err)
		}
		text, err := tr.tok.DecodeTarget(r[0].IDs)
		if err != nil {
			t.Fatal(err)
		}
		want = append(want, text)
	}
	if got != strings.Join(want, " ") {
		t.Fatalf("long sentence: %q, want the pieces %q", got, want)
	}
}

func mustEncode(t *testing.T, tr *Translator, s string) []int32 {
	t.Helper()
	ids, err := tr.Encode(s)
	if err != nil {
		t.Fatal(err)
	}
	return ids
}

func TestSplitLong(t *testing.T) {
	for _, c := range []struct{ in, a, b string }{
		{"eins zwei drei vier", "eins zwei", "drei vier"},
		{"eins zwei, drei vier fünf sechs", "eins zwei,", "drei vier fünf sechs"},
		{"abcdef", "abc", "def"},
		{"äöü", "ä", "öü"},
		{"x", "", "x"},
	} {
		if a, b := splitLong(c.in); a != c.a || b != c.b {
			t.Errorf("splitLong(%q) = %q, %q; want %q, %q", c.in, a, b, c.a, c.b)
		}
	}
}

func TestConcurrentTextEqualsSequential(t *testing.T) {
	tr, want := refTranslator(t)
	refs, _ := loadOracle(t)
	var texts []string
	for _, i := range pick(want, 6) {
		texts = append(texts, refs.Sentences[i].SourceText)
	}
	seq := make([]string, len(texts))
	for i, s := range texts {
		var err error
		if seq[i], err = tr.Translate(context.Background(), s); err != nil {
			t.Fatal(err)
		}
	}
	const workers = 6
	var wg sync.WaitGroup
	errs := make(chan error, workers)
	for g := range workers {
		wg.Add(1)
		go func() {
			defer wg.Done()
			// Each goroutine translates the texts in its own rotation, one
			// by one and as a batch.
			for j := range texts {
				i := (j + g) % len(texts)
				got, err := tr.Translate(context.Background(), texts[i])
				if err != nil || got != seq[i] {
					errs <- fmt.Errorf("goroutine %d text %d: %q, %v; want %q", g, i, got, err, seq[i])
					return
				}
			}
			got, err := tr.TranslateBatch(context.Background(), texts)
			if err != nil {
				errs <- err
				return
			}
			for i := range got {
				if got[i] != seq[i] {
					errs <- fmt.Errorf("goroutine %d batch text %d: %q, want %q", g, i, got[i], seq[i])
					return
				}
			}
		}()
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		t.Error(err)
	}
}

func TestDefault(t *testing.T) {
	_, openErr := defaultmodel.Open()
	tr, err := Default()
	if errors.Is(openErr, defaultmodel.ErrNone) {
		if !errors.Is(err, ErrNoDefaultModel) || !strings.Contains(err.Error(), "no default model is embedded in this build; pass --model FILE or see README") {
			t.Fatalf("Default without a model: %v", err)
		}
		return
	}
	if err != nil || tr == nil {
		t.Fatalf("Default with an embedded model: %v", err)
	}
}

// endless repeats a line forever.
type endless struct{ line string }

func (e endless) Read(p []byte) (int, error) {
	n := 0
	for n+len(e.line) <= len(p) {
		n += copy(p[n:], e.line)
	}
	return n, nil
}

func TestCancelStopsStream(t *testing.T) {
	tr, _ := refTranslator(t)
	refs, _ := loadOracle(t)
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	batches := 0
	go func() {
		done <- tr.TranslateStream(ctx, endless{refs.Sentences[0].SourceText + "\n"}, io.Discard, OnBatch(func(int) error {
			if batches++; batches == 2 {
				cancel() // mid-stream, while more input is waiting
			}
			return nil
		}))
	}()
	select {
	case err := <-done:
		if !errors.Is(err, context.Canceled) {
			t.Fatalf("endless stream ended with %v, want context.Canceled", err)
		}
	case <-time.After(time.Minute):
		t.Fatal("the stream did not stop after its context was cancelled")
	}
}
