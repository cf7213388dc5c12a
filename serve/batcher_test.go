package serve

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"net/url"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/deen-mt/deen/translate"
)

// blockingEngine signals entered when a batch starts and holds it until
// release is closed or the batch's context ends (which it reports on
// cancelled when set); with hold it then still waits for release, like a
// batch that cannot stop at once.
type blockingEngine struct {
	Engine
	entered   chan struct{}
	release   chan struct{}
	cancelled chan error
	hold      bool
}

func (e *blockingEngine) TranslateBatchDetailed(ctx context.Context, texts []string, opts ...translate.CallOption) ([]*translate.Translation, error) {
	e.entered <- struct{}{}
	select {
	case <-e.release:
		return e.Engine.TranslateBatchDetailed(ctx, texts, opts...)
	case <-ctx.Done():
		if e.cancelled != nil {
			e.cancelled <- ctx.Err()
		}
		if e.hold {
			<-e.release
		}
		return nil, ctx.Err()
	}
}

// failingEngine fails or panics on texts containing "boom".
type failingEngine struct {
	Engine
	panics bool
}

func (e failingEngine) TranslateBatchDetailed(ctx context.Context, texts []string, opts ...translate.CallOption) ([]*translate.Translation, error) {
	for _, t := range texts {
		if strings.Contains(t, "boom") {
			if e.panics {
				panic("engine exploded")
			}
			return nil, errors.New("secret internal detail")
		}
	}
	return e.Engine.TranslateBatchDetailed(ctx, texts, opts...)
}

// TestBatchingEqualsAlone sends many different texts at once: they are
// merged into shared batches, and each answer equals translating its text
// alone.
func TestBatchingEqualsAlone(t *testing.T) {
	ts, s := newTestServer(t, nil, WithBatching(50*time.Millisecond, 64))
	const clients = 24
	texts := make([]string, clients)
	for i := range texts {
		texts[i] = fmt.Sprintf("%s Es ist %d Uhr.", germanTexts[i%len(germanTexts)], i)
	}
	got := make([]string, clients)
	var wg sync.WaitGroup
	start := make(chan struct{})
	for i := range clients {
		wg.Add(1)
		go func() {
			defer wg.Done()
			<-start
			var r struct{ TranslatedText string }
			rep := postJSON(t, ts.URL+"/translate", map[string]any{"q": texts[i], "source": "de", "target": "en"})
			rep.json(t, &r)
			got[i] = r.TranslatedText
		}()
	}
	close(start)
	wg.Wait()
	for i, text := range texts {
		if want := alone(t, text); got[i] != want {
			t.Errorf("text %d: served %q, alone %q", i, got[i], want)
		}
	}
	batches := histogramCount(t, s, "deen_batch_texts")
	if batches >= clients {
		t.Errorf("%d requests in %d batches: nothing was merged", clients, batches)
	}
	t.Logf("%d requests in %d batches", clients, batches)
}

// histogramCount returns the sample count of the server's histogram name.
func histogramCount(t *testing.T, s *Server, name string) uint64 {
	t.Helper()
	mfs, err := s.Metrics().Gather()
	if err != nil {
		t.Fatal(err)
	}
	for _, mf := range mfs {
		if mf.GetName() == name {
			return mf.GetMetric()[0].GetHistogram().GetSampleCount()
		}
	}
	t.Fatalf("no metric %s", name)
	return 0
}

func TestTimeouts(t *testing.T) {
	eng := &blockingEngine{Engine: tiny(t), entered: make(chan struct{}, 8), release: make(chan struct{}), cancelled: make(chan error, 8), hold: true}
	ts, _ := newTestServer(t, eng, WithTimeout(300*time.Millisecond), WithBatching(0, 1))
	form := url.Values{"q": {"Hallo."}, "source": {"de"}, "target": {"en"}}
	var wg sync.WaitGroup
	replies := make([]reply, 2)
	wg.Add(1)
	go func() { defer wg.Done(); replies[0] = postForm(t, ts.URL+"/translate", form) }()
	<-eng.entered // the first request is being translated; the second queues behind it
	wg.Add(1)
	go func() { defer wg.Done(); replies[1] = postForm(t, ts.URL+"/translate", form) }()
	if err := <-eng.cancelled; !errors.Is(err, context.Canceled) {
		t.Errorf("the timed-out batch's context ended with %v", err)
	}
	wg.Wait()
	close(eng.release)
	if r := replies[0]; r.status != http.StatusGatewayTimeout || !strings.HasPrefix(r.errorText(t), "Translation timed out after 300ms") {
		t.Errorf("translating request: %d %s, want 504", r.status, r.body)
	}
	if r := replies[1]; r.status != http.StatusServiceUnavailable || !strings.HasPrefix(r.errorText(t), "Server busy: the request waited 300ms") {
		t.Errorf("queued request: %d %s, want 503", r.status, r.body)
	}
	// The slots are free: a request now succeeds.
	go func() {
		for range eng.entered {
		}
	}()
	if r := postForm(t, ts.URL+"/translate", form); r.status != 200 {
		t.Errorf("after the timeouts: %d %s", r.status, r.body)
	}
	close(eng.entered)
}

// TestClientDisconnect: a client that goes away cancels its batch.
func TestClientDisconnect(t *testing.T) {
	eng := &blockingEngine{Engine: tiny(t), entered: make(chan struct{}, 8), release: make(chan struct{}), cancelled: make(chan error, 8)}
	ts, _ := newTestServer(t, eng)
	ctx, cancel := context.WithCancel(context.Background())
	req, _ := http.NewRequestWithContext(ctx, http.MethodPost, ts.URL+"/translate",
		strings.NewReader(url.Values{"q": {"Hallo."}, "source": {"de"}, "target": {"en"}}.Encode()))
	req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	errc := make(chan error)
	go func() {
		_, err := http.DefaultClient.Do(req)
		errc <- err
	}()
	<-eng.entered
	cancel()
	if err := <-errc; err == nil {
		t.Error("cancelled request succeeded")
	}
	select {
	case err := <-eng.cancelled:
		if !errors.Is(err, context.Canceled) {
			t.Errorf("batch context ended with %v", err)
		}
	case <-time.After(5 * time.Second):
		t.Fatal("the batch of a disconnected client was not cancelled")
	}
}

func TestEngineFailures(t *testing.T) {
	for _, panics := range []bool{false, true} {
		ts, _ := newTestServer(t, failingEngine{Engine: tiny(t), panics: panics}, WithBatching(30*time.Millisecond, 64))
		var wg sync.WaitGroup
		replies := make([]reply, 2)
		for i, q := range []string{"boom", "Hallo Welt."} {
			wg.Add(1)
			go func() {
				defer wg.Done()
				replies[i] = postJSON(t, ts.URL+"/translate", map[string]any{"q": q, "source": "de", "target": "en"})
			}()
		}
		wg.Wait()
		msg := replies[0].errorText(t)
		if replies[0].status != 500 || msg != "Cannot translate text: internal error (logged on the server)" {
			t.Errorf("panics %v: failing text: %d %q", panics, replies[0].status, msg)
		}
		// The other request of the same batch is translated anyway.
		if replies[1].status != 200 || !strings.Contains(string(replies[1].body), alone(t, "Hallo Welt.")) {
			t.Errorf("panics %v: its batch neighbour: %d %s", panics, replies[1].status, replies[1].body)
		}
	}
}

func TestCloseFailsQueued(t *testing.T) {
	eng := &blockingEngine{Engine: tiny(t), entered: make(chan struct{}, 8), release: make(chan struct{})}
	s, err := New(eng, WithBatching(0, 1))
	if err != nil {
		t.Fatal(err)
	}
	errs := make(chan error, 2)
	go func() { _, err := s.batch.translate(context.Background(), []string{"Eins."}, extras{}); errs <- err }()
	<-eng.entered
	go func() { _, err := s.batch.translate(context.Background(), []string{"Zwei."}, extras{}); errs <- err }()
	for len(s.batch.queue) == 0 {
		time.Sleep(time.Millisecond)
	}
	closed := make(chan struct{})
	go func() { s.Close(); close(closed) }()
	time.Sleep(20 * time.Millisecond)
	close(eng.release) // the batch in progress finishes
	<-closed
	got := []error{<-errs, <-errs}
	if !(got[0] == nil && errors.Is(got[1], errClosed)) && !(got[1] == nil && errors.Is(got[0], errClosed)) {
		t.Errorf("after Close: %v, want one success and one %v", got, errClosed)
	}
	if _, err := s.batch.translate(context.Background(), []string{"Drei."}, extras{}); !errors.Is(err, errClosed) {
		t.Errorf("translate after Close: %v", err)
	}
}
