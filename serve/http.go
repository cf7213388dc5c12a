package serve

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"mime"
	"net"
	"net/http"
	"net/netip"
	"net/url"
	"runtime/debug"
	"strconv"
	"strings"
	"time"

	"github.com/prometheus/client_golang/prometheus/promhttp"

	"github.com/deen-mt/deen/translate"
)

// apiError is an error answered with its own status and message.
type apiError struct {
	status int
	msg    string
}

func (e *apiError) Error() string { return e.msg }

// errorf makes an apiError with status and a formatted message.
func errorf(status int, format string, args ...any) *apiError {
	return &apiError{status: status, msg: fmt.Sprintf(format, args...)}
}

// apiHandler answers one endpoint; a returned error is answered by
// Server.fail as JSON.
type apiHandler interface {
	serveAPI(w http.ResponseWriter, r *http.Request) error
}

// endpoint wraps an apiHandler with what every request gets: the method
// check, CORS headers, panic recovery, metrics and the error mapping.
// Endpoints that translate (admit) also get the API key check, the rate
// limit, an admission slot and the per-request timeout, in that order.
type endpoint struct {
	s      *Server
	name   string // metrics label: the route, never the raw path
	method string
	admit  bool
	h      apiHandler
}

// statusWriter records the status code written, for metrics.
type statusWriter struct {
	http.ResponseWriter
	code int
}

func (w *statusWriter) WriteHeader(code int) {
	if w.code == 0 {
		w.code = code
	}
	w.ResponseWriter.WriteHeader(code)
}

func (w *statusWriter) Write(b []byte) (int, error) {
	if w.code == 0 {
		w.code = http.StatusOK
	}
	return w.ResponseWriter.Write(b)
}

// Unwrap lets http.ResponseController reach the connection.
func (w *statusWriter) Unwrap() http.ResponseWriter { return w.ResponseWriter }

func (e *endpoint) ServeHTTP(rw http.ResponseWriter, r *http.Request) {
	w := &statusWriter{ResponseWriter: rw}
	s := e.s
	start := time.Now()
	s.metrics.inFlight.Inc()
	defer func() {
		if p := recover(); p != nil {
			s.cfg.logger.Error("panic", "endpoint", e.name, "panic", p, "stack", string(debug.Stack()))
			if w.code == 0 {
				writeJSON(w, http.StatusInternalServerError, errorBody{"Internal server error (logged on the server)"})
			}
		}
		s.metrics.inFlight.Dec()
		code := w.code
		if code == 0 {
			code = statusClientClosed
		}
		s.metrics.requests.WithLabelValues(e.name, strconv.Itoa(code)).Inc()
		s.metrics.latency.WithLabelValues(e.name).Observe(time.Since(start).Seconds())
	}()
	s.cors(w)
	if r.Method == http.MethodOptions {
		w.WriteHeader(http.StatusNoContent)
		return
	}
	allowed := e.method == "" || e.method == r.Method || (e.method == http.MethodGet && r.Method == http.MethodHead)
	if !allowed {
		w.Header().Set("Allow", e.method)
		s.fail(w, r, errorf(http.StatusMethodNotAllowed, "Method %s not allowed on %s (use %s)", r.Method, r.URL.Path, e.method))
		return
	}
	r.Body = http.MaxBytesReader(w, r.Body, s.cfg.bodyLimit)
	if err := e.serve(w, r); err != nil {
		s.fail(w, r, err)
	}
}

// serve runs the handler, with the admission steps when e.admit.
func (e *endpoint) serve(w http.ResponseWriter, r *http.Request) error {
	if !e.admit {
		return e.h.serveAPI(w, r)
	}
	s := e.s
	p, err := readParams(r)
	if err != nil {
		return err
	}
	key := p.apiKey()
	lim, err := s.checkKey(key)
	if err != nil {
		return err
	}
	if reqLimit := cmp(lim.ReqLimit, s.cfg.reqLimit); reqLimit > 0 {
		// Per key only when keys are checked: otherwise a client could
		// send a new made-up key with every request to dodge its IP limit.
		client := s.clientIP(r)
		if key != "" && s.cfg.keys != nil {
			client = "key " + key
		}
		if !s.limiter.allow(client, p.cost(), reqLimit) {
			return errorf(http.StatusTooManyRequests, "Slowdown: %d per 1 minute", reqLimit)
		}
	}
	select {
	case s.slots <- struct{}{}:
		defer func() { <-s.slots }()
	default:
		w.Header().Set("Retry-After", "1")
		return errorf(http.StatusServiceUnavailable, "Server busy: %d requests in flight, the most it admits; retry shortly", s.cfg.maxConcurrent)
	}
	ctx, cancel := context.WithTimeout(r.Context(), s.cfg.timeout)
	defer cancel()
	ctx = context.WithValue(ctx, paramsKey{}, p)
	ctx = context.WithValue(ctx, limitsKey{}, lim)
	return e.h.serveAPI(w, r.WithContext(ctx))
}

// cmp returns own when set (> 0), else def.
func cmp(own, def int) int {
	if own > 0 {
		return own
	}
	return def
}

// statusClientClosed is the metrics label of requests whose client left
// before an answer (nginx's 499); it is never sent.
const statusClientClosed = 499

// checkKey applies the API key rules: a key that is sent must be known;
// with --require-api-key one must be sent. It returns the key's limits.
func (s *Server) checkKey(key string) (KeyLimits, error) {
	if s.cfg.keys == nil {
		return KeyLimits{}, nil
	}
	lim, ok := s.cfg.keys.Lookup(key)
	switch {
	case key != "" && !ok:
		return KeyLimits{}, errorf(http.StatusForbidden, "Invalid API key")
	case key == "" && s.cfg.requireKey:
		return KeyLimits{}, errorf(http.StatusForbidden, "Please contact the server operator to get an API key")
	}
	return lim, nil
}

// clientIP is the address the request came from, without the port: the
// remote address, or, when that is a trusted proxy (WithTrustedProxies),
// the right-most address of X-Forwarded-For that is not one. A header that
// does not parse stops the walk at the last address known to be true.
func (s *Server) clientIP(r *http.Request) string {
	host, _, err := net.SplitHostPort(r.RemoteAddr)
	if err != nil {
		host = r.RemoteAddr
	}
	addr, err := netip.ParseAddr(host)
	if err != nil || !s.trusted(addr) {
		return host
	}
	hops := r.Header.Values("X-Forwarded-For")
	for i := len(hops) - 1; i >= 0; i-- {
		list := strings.Split(hops[i], ",")
		for j := len(list) - 1; j >= 0; j-- {
			a, err := netip.ParseAddr(strings.TrimSpace(list[j]))
			if err != nil {
				return addr.String()
			}
			if addr = a.Unmap(); !s.trusted(addr) {
				return addr.String()
			}
		}
	}
	return addr.String()
}

// trusted reports whether a is one of the trusted proxies.
func (s *Server) trusted(a netip.Addr) bool {
	a = a.Unmap()
	for _, p := range s.cfg.trusted {
		if p.Contains(a) {
			return true
		}
	}
	return false
}

// cors sets LibreTranslate's CORS headers when an origin is configured.
func (s *Server) cors(w http.ResponseWriter) {
	if s.cfg.corsOrigin == "" {
		return
	}
	h := w.Header()
	h.Set("Access-Control-Allow-Origin", s.cfg.corsOrigin)
	h.Set("Access-Control-Allow-Headers", "Authorization, Content-Type")
	h.Set("Access-Control-Expose-Headers", "Authorization")
	h.Set("Access-Control-Allow-Methods", "GET, POST")
	h.Set("Access-Control-Allow-Credentials", "true")
	h.Set("Access-Control-Max-Age", strconv.Itoa(60*60*24*20))
}

// errorBody is every error answer.
type errorBody struct {
	Error string `json:"error"`
}

// fail answers err as JSON: its own status for an apiError, 413 for a body
// over the limit, 503 for a request whose time ran out in the queue or a
// server shutting down, 504 for one whose time ran out while translating,
// 400 for text the model cannot read, and 500 (logged, never with details
// of the failure) for anything else. A client that has gone away gets
// nothing.
func (s *Server) fail(w http.ResponseWriter, r *http.Request, err error) {
	var ae *apiError
	var tooBig *http.MaxBytesError
	switch {
	case errors.As(err, &ae):
		writeJSON(w, ae.status, errorBody{ae.msg})
	case errors.As(err, &tooBig):
		writeJSON(w, http.StatusRequestEntityTooLarge, errorBody{fmt.Sprintf(
			"Request body too large: the limit is %d bytes; send less text or split it over several requests", tooBig.Limit)})
	case r.Context().Err() != nil && !errors.Is(r.Context().Err(), context.DeadlineExceeded) && errors.Is(err, context.Canceled):
		// The client disconnected: nobody reads an answer.
	case errors.Is(err, errQueued) && errors.Is(err, context.DeadlineExceeded):
		w.Header().Set("Retry-After", "1")
		writeJSON(w, http.StatusServiceUnavailable, errorBody{fmt.Sprintf(
			"Server busy: the request waited %v (the per-request limit) without being started; retry later", s.cfg.timeout)})
	case errors.Is(err, context.DeadlineExceeded):
		writeJSON(w, http.StatusGatewayTimeout, errorBody{fmt.Sprintf(
			"Translation timed out after %v (the per-request limit); send less text per request", s.cfg.timeout)})
	case errors.Is(err, errClosed):
		writeJSON(w, http.StatusServiceUnavailable, errorBody{"Server is shutting down; retry on another instance or later"})
	case errors.Is(err, translate.ErrInvalidInput):
		writeJSON(w, http.StatusBadRequest, errorBody{"Invalid request: " + strings.TrimPrefix(err.Error(), "translate: ")})
	default:
		s.cfg.logger.Error("request failed", "path", r.URL.Path, "err", err)
		writeJSON(w, http.StatusInternalServerError, errorBody{"Cannot translate text: internal error (logged on the server)"})
	}
}

// writeJSON writes v as the JSON answer with status. <, > and & are
// written as they are (as Flask's jsonify does), not as \u003c escapes:
// translated HTML stays readable.
func writeJSON(w http.ResponseWriter, status int, v any) {
	var b bytes.Buffer
	enc := json.NewEncoder(&b)
	enc.SetEscapeHTML(false)
	if err := enc.Encode(v); err != nil { // only our own types are written: a programmer error
		panic(fmt.Sprintf("serve: writeJSON: %v", err))
	}
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(status)
	w.Write(b.Bytes())
}

// Context keys of the values endpoint.serve hands to admitted handlers.
type (
	paramsKey struct{}
	limitsKey struct{}
)

// params are a request's fields, from a JSON object or a form (URL query,
// urlencoded or multipart body), as Flask's request.values reads them.
type params struct {
	json map[string]any // nil for a form
	form url.Values
	r    *http.Request
}

func paramsOf(ctx context.Context) *params      { return ctx.Value(paramsKey{}).(*params) }
func keyLimitsOf(ctx context.Context) KeyLimits { return ctx.Value(limitsKey{}).(KeyLimits) }

// readParams reads the request's fields: a JSON object when the content
// type is JSON, else the form.
func readParams(r *http.Request) (*params, error) {
	p := &params{r: r}
	mt, _, _ := mime.ParseMediaType(r.Header.Get("Content-Type"))
	if mt == "application/json" || strings.HasSuffix(mt, "+json") {
		dec := json.NewDecoder(r.Body)
		dec.UseNumber()
		var v any
		if err := dec.Decode(&v); err != nil {
			var tooBig *http.MaxBytesError
			if errors.As(err, &tooBig) {
				return nil, err
			}
			return nil, errorf(http.StatusBadRequest, "Invalid JSON format")
		}
		obj, ok := v.(map[string]any)
		if !ok {
			return nil, errorf(http.StatusBadRequest, "Invalid JSON format")
		}
		p.json = obj
		return p, nil
	}
	var err error
	if mt == "multipart/form-data" {
		err = r.ParseMultipartForm(1 << 20)
	} else {
		err = r.ParseForm()
	}
	if err != nil {
		var tooBig *http.MaxBytesError
		if errors.As(err, &tooBig) {
			return nil, err
		}
		return nil, errorf(http.StatusBadRequest, "Invalid request: cannot read the form (%v)", err)
	}
	p.form = r.Form
	return p, nil
}

// str returns field name as a string ("" when absent). A JSON number is
// taken as its text; other JSON types are an error naming the field.
func (p *params) str(name string) (string, error) {
	if p.json == nil {
		return p.form.Get(name), nil
	}
	switch v := p.json[name].(type) {
	case nil:
		return "", nil
	case string:
		return v, nil
	case json.Number:
		return v.String(), nil
	default:
		return "", errorf(http.StatusBadRequest, "Invalid request: %s parameter must be a string", name)
	}
}

// flag returns a yes/no field: JSON true, or "true" or "1" (false when
// absent).
func (p *params) flag(name string) bool {
	if b, ok := p.json[name].(bool); ok {
		return b
	}
	v, err := p.str(name)
	return err == nil && (v == "true" || v == "1")
}

// apiKey returns api_key, or apiKey (which the npm libretranslate client
// sends).
func (p *params) apiKey() string {
	for _, name := range []string{"api_key", "apiKey"} {
		if k, err := p.str(name); err == nil && k != "" {
			return k
		}
	}
	return ""
}

// texts returns q: one text, or (JSON only) an array of texts (batch).
func (p *params) texts() (texts []string, batch bool, err error) {
	missing := errorf(http.StatusBadRequest, "Invalid request: missing q parameter")
	if p.json == nil {
		q := p.form.Get("q")
		if q == "" {
			return nil, false, missing
		}
		// As LibreTranslate: line ends of form input become "\n".
		q = strings.ReplaceAll(strings.ReplaceAll(q, "\r\n", "\n"), "\r", "\n")
		return []string{q}, false, nil
	}
	switch v := p.json["q"].(type) {
	case string:
		if v == "" {
			return nil, false, missing
		}
		return []string{v}, false, nil
	case []any:
		if len(v) == 0 {
			return nil, false, missing
		}
		texts = make([]string, len(v))
		for i, e := range v {
			s, ok := e.(string)
			if !ok {
				return nil, false, errorf(http.StatusBadRequest, "Invalid request: q[%d] is not a string (q is a string or an array of strings)", i)
			}
			texts[i] = s
		}
		return texts, true, nil
	case nil:
		return nil, false, missing
	default:
		return nil, false, errorf(http.StatusBadRequest, "Invalid request: q must be a string or an array of strings")
	}
}

// cost is what a request counts against the rate limit: the number of
// texts of a batch, else 1 (as LibreTranslate).
func (p *params) cost() int {
	if q, ok := p.json["q"].([]any); ok && len(q) > 1 {
		return len(q)
	}
	return 1
}

// routes builds the mux. Unknown paths get 404 as JSON.
func (s *Server) routes() {
	s.mux = http.NewServeMux()
	handle := func(pattern, name, method string, admit bool, h apiHandler) {
		s.mux.Handle(pattern, &endpoint{s: s, name: name, method: method, admit: admit, h: h})
	}
	handle("/translate", "/translate", http.MethodPost, true, translateHandler{s})
	handle("/detect", "/detect", http.MethodPost, true, detectHandler{})
	handle("/translate_file", "/translate_file", http.MethodPost, true, fileHandler{s})
	handle("/download_file/{name}", "/download_file", http.MethodGet, false, downloadHandler{s})
	handle("/languages", "/languages", http.MethodGet, false, languagesHandler{})
	handle("/frontend/settings", "/frontend/settings", http.MethodGet, false, settingsHandler{s})
	handle("/health", "/health", http.MethodGet, false, healthHandler{})
	handle("/metrics", "/metrics", http.MethodGet, false, metricsHandler{promhttp.HandlerFor(s.metrics.reg, promhttp.HandlerOpts{})})
	handle("/{$}", "/", http.MethodGet, false, pageHandler{})
	handle("/static/{file}", "/static", http.MethodGet, false, pageHandler{})
	handle("/", "other", "", false, notFound{})
}

// notFound answers paths that are no endpoint.
type notFound struct{}

func (notFound) serveAPI(w http.ResponseWriter, r *http.Request) error {
	return errorf(http.StatusNotFound, "Not found: %s (see GET /languages, POST /translate)", r.URL.Path)
}

// metricsHandler serves the Prometheus text format.
type metricsHandler struct{ h http.Handler }

func (m metricsHandler) serveAPI(w http.ResponseWriter, r *http.Request) error {
	m.h.ServeHTTP(w, r)
	return nil
}
