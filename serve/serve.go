// Package serve is deen's HTTP server: LibreTranslate's API (POST
// /translate, /detect, /translate_file; GET /languages, /download_file/NAME,
// /frontend/settings, /health), Prometheus metrics at /metrics and a web
// page at / (embedded, no external resources), on top of the translate
// package.
//
//	tr, err := translate.Default()
//	srv, err := serve.New(tr, serve.WithCharLimit(5000))
//	defer srv.Close()
//	http.ListenAndServe("127.0.0.1:5000", srv)
//
// Requests are translated through one dynamic batcher: the texts of
// concurrent requests that arrive within a short window (or while the
// previous batch is decoding) are handed to
// Translator.TranslateBatchDetailed together, so their sentences share
// decoder batches. It returns for each text what translating it alone
// returns, so batching never changes a translation; it only raises
// throughput under load.
//
// Every request is bounded: body size, characters per text, texts per
// request, requests per minute per API key or client IP, requests in flight
// and time. Errors are JSON objects {"error": "..."} with LibreTranslate's
// status codes and texts; nothing panics on client input and no stack trace
// reaches a client. The server holds no global state: two Servers in one
// process share nothing (each has its own Prometheus registry).
package serve

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net/http"
	"net/netip"
	"sync"
	"time"

	"github.com/prometheus/client_golang/prometheus"

	"github.com/deen-mt/deen/translate"
)

// Engine is what the server needs of a translator; *translate.Translator
// implements it. Tests wrap it to slow it down or make it fail.
type Engine interface {
	// TranslateBatchDetailed translates texts, each as if alone, in input
	// order, with the sentences and (translate.Alternatives) n-best lists.
	TranslateBatchDetailed(ctx context.Context, texts []string, opts ...translate.CallOption) ([]*translate.Translation, error)
	// TranslateHTML translates the text of an HTML document, keeping its
	// markup.
	TranslateHTML(ctx context.Context, doc string, opts ...translate.CallOption) (string, error)
	// SearchOptions returns the default search options.
	SearchOptions() translate.SearchOptions
}

// config holds the limits and settings Options change.
type config struct {
	charLimit        int            // characters per text, -1 = none
	batchLimit       int            // texts per request, -1 = none
	reqLimit         int            // requests per minute per key or IP, -1 = none
	bodyLimit        int64          // bytes of a request body
	timeout          time.Duration  // per request
	maxConcurrent    int            // requests being translated or queued at once
	alternativesMax  int            // most alternatives a request may ask for
	keys             *KeyTable      // nil: no API keys
	requireKey       bool           // refuse requests without a valid key
	corsOrigin       string         // Access-Control-Allow-Origin, "" = no CORS headers
	trusted          []netip.Prefix // proxies whose X-Forwarded-For is believed
	window           time.Duration  // batch collection window
	maxBatch         int            // most texts in one merged batch
	frontendDebounce time.Duration  // the web page's translate-as-you-type delay
	filesMaxBytes    int64          // translated files kept in memory, bytes
	filesMaxCount    int            // translated files kept, count
	filesTTL         time.Duration  // how long a translated file can be downloaded
	logger           *slog.Logger
}

func defaultConfig() config {
	return config{
		charLimit:        5000,
		batchLimit:       50,
		reqLimit:         -1,
		bodyLimit:        1 << 20,
		timeout:          60 * time.Second,
		maxConcurrent:    64,
		alternativesMax:  3,
		corsOrigin:       "*",
		window:           2 * time.Millisecond,
		maxBatch:         64,
		frontendDebounce: 500 * time.Millisecond,
		filesMaxBytes:    64 << 20,
		filesMaxCount:    256,
		filesTTL:         30 * time.Minute,
		logger:           slog.New(slog.DiscardHandler),
	}
}

// Option changes a Server's limits or settings in New.
type Option func(*config) error

// ErrInvalidOption reports a bad Option value.
var ErrInvalidOption = errors.New("invalid server option")

func badOption(what string, v any, want string) error {
	return fmt.Errorf("serve: %s %v: %w (want %s)", what, v, ErrInvalidOption, want)
}

// WithCharLimit sets the most characters (Unicode code points) of one text
// of q; -1 is no limit. Default 5000.
func WithCharLimit(n int) Option {
	return func(c *config) error {
		if n < -1 || n == 0 {
			return badOption("char limit", n, "-1 (none) or at least 1")
		}
		c.charLimit = n
		return nil
	}
}

// WithBatchLimit sets the most texts in one request's q array; -1 is no
// limit. Default 50.
func WithBatchLimit(n int) Option {
	return func(c *config) error {
		if n < -1 || n == 0 {
			return badOption("batch limit", n, "-1 (none) or at least 1")
		}
		c.batchLimit = n
		return nil
	}
}

// WithReqLimit sets the requests per minute allowed to one API key or,
// without a key, to one client IP; -1 is no limit (the default). An API
// key's own limit (KeyTable) replaces it for that key.
func WithReqLimit(n int) Option {
	return func(c *config) error {
		if n < -1 || n == 0 {
			return badOption("request limit", n, "-1 (none) or at least 1 per minute")
		}
		c.reqLimit = n
		return nil
	}
}

// WithBodyLimit sets the most bytes of a request body (files included);
// larger bodies get 413. Default 1 MiB.
func WithBodyLimit(n int64) Option {
	return func(c *config) error {
		if n < 1 {
			return badOption("body limit", n, "at least 1 byte")
		}
		c.bodyLimit = n
		return nil
	}
}

// WithTimeout sets how long one request may take; past it the request gets
// 503 (still queued) or 504 (being translated) and its work is dropped.
// Default 60 s.
func WithTimeout(d time.Duration) Option {
	return func(c *config) error {
		if d <= 0 {
			return badOption("timeout", d, "a positive duration")
		}
		c.timeout = d
		return nil
	}
}

// WithMaxConcurrent sets how many translating requests (/translate,
// /translate_file, /detect) are admitted at once; more get 503 at once.
// Default 64.
func WithMaxConcurrent(n int) Option {
	return func(c *config) error {
		if n < 1 {
			return badOption("max concurrent requests", n, "at least 1")
		}
		c.maxConcurrent = n
		return nil
	}
}

// WithAlternativesLimit sets the most alternatives one request may ask for
// (LibreTranslate's --alternatives-limit). Default 3.
func WithAlternativesLimit(n int) Option {
	return func(c *config) error {
		if n < 0 || n > 15 {
			return badOption("alternatives limit", n, "0..15")
		}
		c.alternativesMax = n
		return nil
	}
}

// WithAPIKeys sets the API keys (and their own limits). A request that sends
// a key not in the table gets 403 "Invalid API key".
func WithAPIKeys(k *KeyTable) Option {
	return func(c *config) error {
		c.keys = k
		return nil
	}
}

// WithRequireAPIKey makes a valid API key mandatory: requests without one
// get 403. Needs WithAPIKeys.
func WithRequireAPIKey(on bool) Option {
	return func(c *config) error {
		c.requireKey = on
		return nil
	}
}

// WithCORSOrigin sets the Access-Control-Allow-Origin sent with every
// response ("*", LibreTranslate's, by default); "" sends no CORS headers.
func WithCORSOrigin(origin string) Option {
	return func(c *config) error {
		c.corsOrigin = origin
		return nil
	}
}

// WithTrustedProxies names the reverse proxies (addresses or networks)
// whose X-Forwarded-For header is believed. The client of a request, whose
// address the per-client request limit counts, is then the right-most
// address of X-Forwarded-For that is not itself a trusted proxy, when the
// request came from one; without trusted proxies (the default) the header
// is ignored, since any client can write it.
func WithTrustedProxies(proxies ...netip.Prefix) Option {
	return func(c *config) error {
		for _, p := range proxies {
			if !p.IsValid() {
				return badOption("trusted proxy", p, "an address or a network such as 10.0.0.0/8")
			}
			c.trusted = append(c.trusted, p.Masked())
		}
		return nil
	}
}

// WithBatching sets the dynamic batcher: how long it waits for more
// requests after the first one arrives at an idle batcher (window; 0 merges
// only what is already queued) and the most texts merged into one
// TranslateBatch call (maxTexts). Defaults 2 ms and 64.
func WithBatching(window time.Duration, maxTexts int) Option {
	return func(c *config) error {
		if window < 0 || window > time.Second {
			return badOption("batch window", window, "0..1s")
		}
		if maxTexts < 1 {
			return badOption("max batch", maxTexts, "at least 1 text")
		}
		c.window, c.maxBatch = window, maxTexts
		return nil
	}
}

// WithFileStore bounds the translated files kept for /download_file: at
// most maxFiles files and maxBytes bytes (the oldest are dropped first),
// each for ttl. Defaults 256 files, 64 MiB, 30 minutes.
func WithFileStore(maxFiles int, maxBytes int64, ttl time.Duration) Option {
	return func(c *config) error {
		if maxFiles < 1 || maxBytes < 1 || ttl <= 0 {
			return badOption("file store", fmt.Sprintf("%d files, %d bytes, %v", maxFiles, maxBytes, ttl), "at least 1 file, 1 byte and a positive duration")
		}
		c.filesMaxCount, c.filesMaxBytes, c.filesTTL = maxFiles, maxBytes, ttl
		return nil
	}
}

// WithLogger sets where the server logs failures (500s, panics). Default:
// nowhere.
func WithLogger(l *slog.Logger) Option {
	return func(c *config) error {
		if l == nil {
			return badOption("logger", l, "a non-nil *slog.Logger")
		}
		c.logger = l
		return nil
	}
}

// Server serves the API. It is an http.Handler; Close stops its batcher.
type Server struct {
	cfg     config
	eng     Engine
	mux     *http.ServeMux
	batch   *batcher
	limiter *rateLimiter
	slots   chan struct{} // admission: one token per request in flight
	files   *fileStore
	metrics *metrics
	closed  sync.Once
}

// New builds a Server translating with eng (a *translate.Translator).
func New(eng Engine, opts ...Option) (*Server, error) {
	if eng == nil {
		return nil, fmt.Errorf("serve: nil engine: %w (load a model with translate.Load or translate.Default)", ErrInvalidOption)
	}
	cfg := defaultConfig()
	for _, o := range opts {
		if err := o(&cfg); err != nil {
			return nil, err
		}
	}
	if cfg.requireKey && cfg.keys == nil {
		return nil, fmt.Errorf("serve: require API key: %w (give the keys with WithAPIKeys)", ErrInvalidOption)
	}
	s := &Server{
		cfg:     cfg,
		eng:     eng,
		limiter: newRateLimiter(time.Minute),
		slots:   make(chan struct{}, cfg.maxConcurrent),
		files:   newFileStore(cfg.filesMaxCount, cfg.filesMaxBytes, cfg.filesTTL),
		metrics: newMetrics(),
	}
	s.batch = newBatcher(eng, cfg.window, cfg.maxBatch, cfg.maxConcurrent, s.metrics)
	s.routes()
	return s, nil
}

// Metrics returns the server's Prometheus registry, for tests and for
// programs that add their own collectors.
func (s *Server) Metrics() *prometheus.Registry { return s.metrics.reg }

// Close stops the batcher: queued requests fail with 503. Call it after
// http.Server.Shutdown has let the requests in flight finish.
func (s *Server) Close() {
	s.closed.Do(s.batch.close)
}

// ServeHTTP routes r, with CORS headers, metrics and panic recovery.
func (s *Server) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	s.mux.ServeHTTP(w, r)
}
