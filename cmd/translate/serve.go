package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"log/slog"
	"net"
	"net/http"
	"net/netip"
	"os"
	"os/signal"
	"strings"
	"syscall"
	"time"

	"github.com/deen-mt/deen/serve"
)

func init() {
	register("serve", "serve the LibreTranslate API, metrics and a web page over HTTP", runServe)
}

// serveExamples is the end of serve --help.
const serveExamples = `examples:
  translate serve                                      http://127.0.0.1:5000 (the page at /, the API beside it)
  translate serve --addr :8080 --req-limit 60          all interfaces, 60 requests per minute per client
  translate serve --api-keys keys.txt --require-api-key
  translate serve --req-limit 60 --trusted-proxy 127.0.0.1,10.0.0.0/8   behind nginx: limit the clients it forwards
  curl -s localhost:5000/translate -H 'Content-Type: application/json' \
       -d '{"q":"Der Hund spielt im Garten.","source":"de","target":"en"}'
keys file: one key per line, optionally followed by its requests per minute and its character limit.
SIGINT or SIGTERM: stop accepting, finish the requests in flight (at most --shutdown-timeout), exit 0;
requests still running after --shutdown-timeout are dropped and the exit code is 1.
exit codes: 0 stopped by a signal, 1 runtime failure (address in use, bad model, requests dropped), 2 usage error`

// runServe runs the HTTP server until SIGINT or SIGTERM.
func runServe(e *env, args []string) int {
	fs := flag.NewFlagSet("serve", flag.ContinueOnError)
	fs.SetOutput(e.stderr)
	fs.Usage = func() {
		fmt.Fprintln(e.stderr, "usage: translate serve [flags]")
		fs.PrintDefaults()
		fmt.Fprintln(e.stderr, serveExamples)
	}
	mf := addModelFlags(fs)
	addr := fs.String("addr", "127.0.0.1:5000", "listen `address` (host:port; :0 picks a free port)")
	charLimit := fs.Int("char-limit", 5000, "most characters of one text (-1 = no limit)")
	batchLimit := fs.Int("batch-limit", 50, "most texts in one request's q array (-1 = no limit)")
	reqLimit := fs.Int("req-limit", -1, "requests per minute per API key or client IP (-1 = no limit)")
	maxBody := fs.Int64("max-body", 1<<20, "most `bytes` of a request body, files included")
	timeout := fs.Duration("timeout", 60*time.Second, "most time one request may take (503 when still queued, 504 when translating)")
	maxConc := fs.Int("max-concurrent", 64, "translating requests admitted at once; more get 503")
	altLimit := fs.Int("alternatives-limit", 3, "most alternatives a request may ask for")
	keysFile := fs.String("api-keys", "", "API keys `file`: KEY [REQ-PER-MINUTE [CHAR-LIMIT]] per line")
	requireKey := fs.Bool("require-api-key", false, "refuse requests without a valid API key (needs --api-keys)")
	proxies := fs.String("trusted-proxy", "", "comma-separated `addresses` or networks of reverse proxies whose X-Forwarded-For names the client (for --req-limit)")
	cors := fs.String("cors", "*", "Access-Control-Allow-Origin of every answer (\"\" = no CORS headers)")
	window := fs.Duration("batch-window", 2*time.Millisecond, "dynamic batching: how long an idle server waits for more requests to batch together")
	maxBatch := fs.Int("max-batch", 64, "dynamic batching: most texts translated together")
	fileTTL := fs.Duration("file-ttl", 30*time.Minute, "how long a translated file can be downloaded")
	shutdown := fs.Duration("shutdown-timeout", 30*time.Second, "on SIGINT/SIGTERM, how long requests in flight may still take")
	if code, ok := parseFlags(fs, args); !ok {
		return code
	}
	if fs.NArg() > 0 {
		fmt.Fprintf(e.stderr, "translate serve: unexpected argument %q (serve takes only flags; see translate serve --help)\n", fs.Arg(0))
		return exitUsage
	}
	opts := []serve.Option{
		serve.WithCharLimit(*charLimit), serve.WithBatchLimit(*batchLimit), serve.WithReqLimit(*reqLimit),
		serve.WithBodyLimit(*maxBody), serve.WithTimeout(*timeout), serve.WithMaxConcurrent(*maxConc),
		serve.WithAlternativesLimit(*altLimit), serve.WithCORSOrigin(*cors), serve.WithBatching(*window, *maxBatch),
		serve.WithFileStore(256, 64<<20, *fileTTL), serve.WithRequireAPIKey(*requireKey),
		serve.WithLogger(slog.New(slog.NewTextHandler(e.stderr, nil))),
	}
	if *proxies != "" {
		p, err := parseProxies(*proxies)
		if err != nil {
			fmt.Fprintln(e.stderr, "translate serve:", err)
			return exitUsage
		}
		opts = append(opts, serve.WithTrustedProxies(p...))
	}
	if *keysFile != "" {
		keys, err := serve.LoadKeys(*keysFile)
		if err != nil {
			fmt.Fprintln(e.stderr, "translate serve:", err)
			return exitUsage
		}
		opts = append(opts, serve.WithAPIKeys(keys))
	}
	tr, code, err := mf.load()
	if err != nil {
		fmt.Fprintln(e.stderr, "translate serve:", errText(err))
		return code
	}
	srv, err := serve.New(tr, opts...)
	if errors.Is(err, serve.ErrInvalidOption) {
		fmt.Fprintln(e.stderr, "translate serve:", err)
		return exitUsage
	}
	if err != nil {
		fmt.Fprintln(e.stderr, "translate serve:", err)
		return exitFailure
	}
	defer srv.Close()
	ln, err := net.Listen("tcp", *addr)
	if err != nil {
		fmt.Fprintf(e.stderr, "translate serve: %v (choose another --addr)\n", err)
		return exitFailure
	}
	hs := &http.Server{
		Handler:           srv,
		ReadHeaderTimeout: 10 * time.Second,
		ReadTimeout:       *timeout,
		WriteTimeout:      *timeout + 10*time.Second,
		IdleTimeout:       2 * time.Minute,
	}
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	errc := make(chan error, 1)
	go func() { errc <- hs.Serve(ln) }()
	fmt.Fprintf(e.stderr, "translate serve: listening on http://%s (Ctrl-C to stop)\n", ln.Addr())
	select {
	case err := <-errc:
		fmt.Fprintln(e.stderr, "translate serve:", err)
		return exitFailure
	case <-ctx.Done():
	}
	stop() // a second signal ends the process at once
	fmt.Fprintf(e.stderr, "translate serve: stopping; waiting up to %v for requests in flight\n", *shutdown)
	sctx, cancel := context.WithTimeout(context.Background(), *shutdown)
	defer cancel()
	if err := hs.Shutdown(sctx); err != nil {
		hs.Close() // drops the connections: their requests' contexts end and their work stops
		fmt.Fprintf(e.stderr, "translate serve: requests still in flight after %v were dropped: %v\n", *shutdown, err)
		return exitFailure
	}
	fmt.Fprintln(e.stderr, "translate serve: stopped")
	return exitOK
}

// parseProxies reads --trusted-proxy: addresses ("127.0.0.1", "::1") and
// networks ("10.0.0.0/8") separated by commas.
func parseProxies(list string) ([]netip.Prefix, error) {
	var out []netip.Prefix
	for _, f := range strings.Split(list, ",") {
		f = strings.TrimSpace(f)
		if p, err := netip.ParsePrefix(f); err == nil {
			out = append(out, p)
			continue
		}
		a, err := netip.ParseAddr(f)
		if err != nil {
			return nil, fmt.Errorf("--trusted-proxy %q: %q is neither an address nor a network (write 10.0.0.1 or 10.0.0.0/8, separated by commas)", list, f)
		}
		out = append(out, netip.PrefixFrom(a, a.BitLen()))
	}
	return out, nil
}
