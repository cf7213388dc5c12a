package serve

import (
	"embed"
	"mime"
	"net/http"
	"path"
)

// web holds the page served at / and its script and style sheet: no
// external scripts, fonts or CDNs, so the page works offline and sends
// text to this server only.
//
//go:embed web/index.html web/app.js web/style.css
var web embed.FS

// pageCSP allows the page its own script and style and requests to this
// server, nothing else.
const pageCSP = "default-src 'none'; script-src 'self'; style-src 'self'; connect-src 'self'; img-src 'self'; form-action 'self'; base-uri 'none'; frame-ancestors 'none'"

// pageHandler answers GET / and GET /static/NAME from the embedded files.
type pageHandler struct{}

func (pageHandler) serveAPI(w http.ResponseWriter, r *http.Request) error {
	name := "index.html"
	if f := r.PathValue("file"); f != "" {
		name = f
	}
	b, err := web.ReadFile("web/" + name)
	if err != nil || name != path.Base(name) {
		return errorf(http.StatusNotFound, "Not found: %s", r.URL.Path)
	}
	h := w.Header()
	h.Set("Content-Type", mime.TypeByExtension(path.Ext(name)))
	h.Set("Content-Security-Policy", pageCSP)
	h.Set("X-Content-Type-Options", "nosniff")
	h.Set("Cache-Control", "no-cache")
	w.WriteHeader(http.StatusOK)
	w.Write(b)
	return nil
}
