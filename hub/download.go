package hub

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"sync/atomic"
	"syscall"
	"time"

	"github.com/deen-mt/deen/internal/atomicfile"
)

// Files of a MarianMT repository.
const (
	fileConfig      = "config.json"
	fileSafetensors = "model.safetensors"
	fileTorch       = "pytorch_model.bin"
)

var (
	optionalFiles = []string{"generation_config.json", "tokenizer_config.json"}
	tokenizer     = []string{"source.spm", "target.spm", "vocab.json"}
)

// stateName records, in the download directory, which files are complete,
// so a Get after an interrupted one fetches only what is missing.
const stateName = "state.json"

// downloadState is the content of state.json.
type downloadState struct {
	Revision string `json:"revision"`
	Commit   string `json:"commit,omitempty"`
	Files    []File `json:"files"`
}

// fetcher downloads the files of one repository at one revision into dir.
type fetcher struct {
	o         *options
	repo, dir string
	state     downloadState
}

// newFetcher opens the download directory dir, keeping the files of an
// earlier, interrupted download of the same revision.
func newFetcher(o *options, repo, dir string) (*fetcher, error) {
	f := &fetcher{o: o, repo: repo, dir: dir, state: downloadState{Revision: o.revision}}
	// Files of another revision, or all with force, are deleted; files of
	// this one are kept (complete ones are reused, .partial ones resumed).
	if b, err := os.ReadFile(filepath.Join(dir, stateName)); err == nil || o.force {
		var st downloadState
		if err == nil && json.Unmarshal(b, &st) == nil && st.Revision == o.revision && !o.force {
			f.state = st
		} else if err := os.RemoveAll(dir); err != nil {
			return nil, fmt.Errorf("hub: clear %s: %w", dir, err)
		}
	}
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return nil, fmt.Errorf("hub: create %s: %w", dir, diskFull(err))
	}
	return f, nil
}

// fetchAll downloads what a conversion needs: the configuration first
// (checked by check before anything large is fetched), then the weights
// (model.safetensors, or pytorch_model.bin when the hub has none), then the
// tokenizer files.
func (f *fetcher) fetchAll(ctx context.Context, check func(dir string) error) error {
	if _, err := f.fetch(ctx, fileConfig, false); err != nil {
		return err
	}
	for _, name := range optionalFiles {
		if _, err := f.fetch(ctx, name, true); err != nil {
			return err
		}
	}
	if err := check(f.dir); err != nil {
		return err
	}
	if f.done(fileTorch) == nil {
		missing, err := f.fetch(ctx, fileSafetensors, true)
		if err != nil {
			return err
		}
		if missing {
			f.o.logf("%s has no %s; fetching %s", f.repo, fileSafetensors, fileTorch)
			if _, err := f.fetch(ctx, fileTorch, false); err != nil {
				return err
			}
		}
	}
	for _, name := range tokenizer {
		if _, err := f.fetch(ctx, name, false); err != nil {
			return err
		}
	}
	return nil
}

// done returns the record of a file completed earlier that is still there.
func (f *fetcher) done(name string) *File {
	for i, r := range f.state.Files {
		if r.Name == name {
			if st, err := os.Stat(filepath.Join(f.dir, name)); err == nil && st.Size() == r.Size {
				return &f.state.Files[i]
			}
		}
	}
	return nil
}

// fetch downloads one file unless it is complete already. With optional, a
// 404 is no error: missing is then true.
func (f *fetcher) fetch(ctx context.Context, name string, optional bool) (missing bool, err error) {
	if f.done(name) != nil {
		return false, nil
	}
	var rec File
	for attempt := 0; ; attempt++ {
		rec, err = f.fetchOnce(ctx, name)
		var cut *cutError
		if err == nil || !errors.As(err, &cut) || attempt >= f.o.retries || ctx.Err() != nil {
			break
		}
		f.o.logf("%s: connection cut after %d bytes; resuming", name, cut.have)
	}
	if optional && errors.Is(err, ErrNotFound) {
		return true, nil
	}
	if err != nil {
		return false, err
	}
	f.state.Files = append(f.state.Files, rec)
	b, _ := json.Marshal(f.state)
	if err := atomicfile.Write(filepath.Join(f.dir, stateName), "download state", func(w io.Writer) error {
		_, err := w.Write(b)
		return err
	}); err != nil {
		return false, fmt.Errorf("hub: %w", diskFull(err))
	}
	return false, nil
}

// url is the download address of a file.
func (f *fetcher) url(name string) string {
	return f.o.endpoint + "/" + f.repo + "/resolve/" + url.PathEscape(f.o.revision) + "/" + url.PathEscape(name)
}

// cutError is a download that ended early; it resumes from have bytes.
type cutError struct {
	have int64
	err  error
}

func (e *cutError) Error() string { return e.err.Error() }
func (e *cutError) Unwrap() error { return e.err }

// responseMeta is what the hub's responses along a redirect chain said.
type responseMeta struct {
	sha256, commit string
}

// note reads the hub's headers of one response; hubHost says the response
// came from the endpoint's host, whose ETag may then carry the SHA-256.
func (m *responseMeta) note(h http.Header, hubHost bool) {
	if s := quotedSHA256(h.Get("X-Linked-Etag")); s != "" && m.sha256 == "" {
		m.sha256 = s
	}
	if s := quotedSHA256(h.Get("ETag")); s != "" && hubHost && m.sha256 == "" {
		m.sha256 = s
	}
	if c := h.Get("X-Repo-Commit"); m.commit == "" && isCommit(c) {
		m.commit = c
	}
}

// isCommit reports whether c looks like a git commit id (40 or 64
// lower-case hex digits); anything else a hub sends is not recorded.
func isCommit(c string) bool {
	return (len(c) == 40 || len(c) == 64) && strings.Trim(c, "0123456789abcdef") == ""
}

// quotedSHA256 returns the SHA-256 of an ETag-style value `"<64 hex>"`
// (a weak W/ prefix allowed), in lower case, or "" for anything else.
func quotedSHA256(v string) string {
	v = strings.TrimPrefix(strings.TrimSpace(v), "W/")
	if len(v) != 66 || v[0] != '"' || v[65] != '"' {
		return ""
	}
	s := strings.ToLower(v[1:65])
	if !isSHA256(s) {
		return ""
	}
	return s
}

// fetchOnce makes one request for name, appending to name.partial from
// where it ends, and renames the complete, verified file into place.
func (f *fetcher) fetchOnce(ctx context.Context, name string) (File, error) {
	final := filepath.Join(f.dir, name)
	partial := final + ".partial"
	var have int64
	if st, err := os.Stat(partial); err == nil {
		have = st.Size()
	}
	what := f.repo + "/" + name

	// The stall watchdog cancels the request when nothing arrives for the
	// stall timeout, from the request on.
	rctx, cancel := context.WithCancel(ctx)
	defer cancel()
	var stalled atomic.Bool
	watchdog := time.AfterFunc(f.o.stall, func() { stalled.Store(true); cancel() })
	defer watchdog.Stop()

	req, err := http.NewRequestWithContext(rctx, http.MethodGet, f.url(name), nil)
	if err != nil {
		return File{}, fmt.Errorf("hub: %s: %w", what, err)
	}
	if f.o.token != "" {
		req.Header.Set("Authorization", "Bearer "+f.o.token)
	}
	if have > 0 {
		req.Header.Set("Range", fmt.Sprintf("bytes=%d-", have))
		f.o.logf("%s: resuming at byte %d", name, have)
	}
	var meta responseMeta
	hubHost := req.URL.Host
	client := *f.o.client
	client.CheckRedirect = func(next *http.Request, via []*http.Request) error {
		if len(via) >= 10 {
			return fmt.Errorf("more than 10 redirects")
		}
		if next.Response != nil {
			meta.note(next.Response.Header, next.Response.Request.URL.Host == hubHost)
		}
		if next.URL.Host != hubHost {
			next.Header.Del("Authorization") // never to another host: CDN links are signed
		}
		return nil
	}
	resp, err := client.Do(req)
	if err != nil {
		return File{}, f.transportError(ctx, what, err, &stalled, have)
	}
	defer resp.Body.Close()
	meta.note(resp.Header, resp.Request.URL.Host == hubHost)
	if resp.StatusCode == http.StatusRequestedRangeNotSatisfiable && have > 0 {
		os.Remove(partial) // the partial file does not fit what the hub has now
		return File{}, &cutError{err: fmt.Errorf("hub: %s: the hub refused to resume at byte %d (%s); run the same get again to start over", what, have, resp.Status)}
	}
	if err := statusError(resp, f.repo, name, f.o.revision); err != nil {
		return File{}, err
	}
	total := int64(-1)
	flag := os.O_CREATE | os.O_WRONLY | os.O_APPEND
	switch resp.StatusCode {
	case http.StatusPartialContent:
		start, size, ok := contentRange(resp.Header.Get("Content-Range"))
		if !ok || start != have {
			return File{}, fmt.Errorf("hub: %s: asked for bytes from %d, the hub sent Content-Range %q", what, have, resp.Header.Get("Content-Range"))
		}
		total = size
	default: // 200: the whole file, whatever the partial file held
		if have > 0 {
			f.o.logf("%s: the hub sent the whole file; starting over", name)
		}
		have, flag = 0, os.O_CREATE|os.O_WRONLY|os.O_TRUNC
		if resp.ContentLength >= 0 {
			total = resp.ContentLength
		}
	}
	h := sha256.New()
	if have > 0 { // the hash covers the bytes already there
		pf, err := os.Open(partial)
		if err != nil {
			return File{}, fmt.Errorf("hub: %w", err)
		}
		n, err := io.Copy(h, io.LimitReader(pf, have))
		pf.Close()
		if err != nil || n != have {
			return File{}, fmt.Errorf("hub: reread %s: %d of %d bytes (%v)", partial, n, have, err)
		}
	}
	out, err := os.OpenFile(partial, flag, 0o644)
	if err != nil {
		return File{}, fmt.Errorf("hub: %w", diskFull(err))
	}
	defer out.Close()
	done := have
	buf := make([]byte, 256<<10)
	f.o.progress(name, done, total)
	for {
		n, rerr := resp.Body.Read(buf)
		if n > 0 {
			watchdog.Reset(f.o.stall)
			if _, err := out.Write(buf[:n]); err != nil {
				return File{}, fmt.Errorf("hub: write %s: %w", partial, diskFull(err))
			}
			h.Write(buf[:n])
			done += int64(n)
			f.o.progress(name, done, total)
		}
		if rerr == io.EOF {
			break
		}
		if rerr != nil {
			return File{}, f.transportError(ctx, what, rerr, &stalled, done)
		}
	}
	if total >= 0 && done != total {
		return File{}, &cutError{have: done, err: fmt.Errorf("hub: %s: connection closed after %d of %d bytes; run the same get again to resume", what, done, total)}
	}
	if err := out.Sync(); err != nil {
		return File{}, fmt.Errorf("hub: %w", diskFull(err))
	}
	if err := out.Close(); err != nil {
		return File{}, fmt.Errorf("hub: %w", diskFull(err))
	}
	got := hex.EncodeToString(h.Sum(nil))
	if meta.sha256 != "" && got != meta.sha256 {
		os.Remove(partial)
		return File{}, &ChecksumError{Repo: f.repo, File: name, Want: meta.sha256, Got: got}
	}
	if err := os.Rename(partial, final); err != nil {
		return File{}, fmt.Errorf("hub: %w", err)
	}
	if meta.commit != "" && f.state.Commit == "" {
		f.state.Commit = meta.commit
	}
	return File{Name: name, Size: done, SHA256: got, Verified: meta.sha256 != ""}, nil
}

// transportError classifies a failed request or body read: the caller's
// cancellation, a stall, a cut connection (resumable from have bytes), or
// an unreachable hub.
func (f *fetcher) transportError(ctx context.Context, what string, err error, stalled *atomic.Bool, have int64) error {
	switch {
	case ctx.Err() != nil:
		return fmt.Errorf("hub: %s: %w", what, ctx.Err())
	case stalled.Load():
		return fmt.Errorf("hub: %s: %w: nothing received for %v after %d bytes; run the same get again to resume", what, ErrStalled, f.o.stall, have)
	}
	var ue *url.Error
	if errors.As(err, &ue) { // the request itself failed: no connection
		return fmt.Errorf("hub: cannot reach %s for %s: %w (%v); check the network connection, or set HF_ENDPOINT to a reachable hub or mirror",
			f.o.endpoint, what, ErrUnreachable, ue.Err)
	}
	return &cutError{have: have, err: fmt.Errorf("hub: %s: connection lost after %d bytes (%v); run the same get again to resume", what, have, err)}
}

// statusError maps an unsuccessful status to an error naming the
// repository and file.
func statusError(resp *http.Response, repo, name, rev string) error {
	code := resp.StatusCode
	if code == http.StatusOK || code == http.StatusPartialContent {
		return nil
	}
	hubCode := resp.Header.Get("X-Error-Code")
	switch {
	case hubCode == "RepoNotFound" || code == http.StatusUnauthorized && hubCode == "":
		return fmt.Errorf("hub: %s: %w: the hub answered %s for %s: the repository does not exist, or it is private or gated: check the name, or set HF_TOKEN to a token with access",
			repo, ErrUnauthorized, resp.Status, name)
	case code == http.StatusUnauthorized || code == http.StatusForbidden:
		return fmt.Errorf("hub: %s: %w: the hub answered %s for %s: the repository is gated or private; accept its terms on the hub and set HF_TOKEN to a token with access",
			repo, ErrUnauthorized, resp.Status, name)
	case code == http.StatusNotFound && hubCode == "RevisionNotFound":
		return fmt.Errorf("hub: %s has no revision %q (%w)", repo, rev, ErrNotFound)
	case code == http.StatusNotFound:
		return fmt.Errorf("hub: %s has no file %s at revision %s (%w)", repo, name, rev, ErrNotFound)
	}
	return fmt.Errorf("hub: the hub answered %s for %s/%s; try again later", resp.Status, repo, name)
}

// contentRange parses "bytes START-END/SIZE" (SIZE may be "*": -1).
func contentRange(v string) (start, size int64, ok bool) {
	rest, found := strings.CutPrefix(v, "bytes ")
	if !found {
		return 0, 0, false
	}
	rng, sz, found := strings.Cut(rest, "/")
	s, _, found2 := strings.Cut(rng, "-")
	if !found || !found2 {
		return 0, 0, false
	}
	start, err := strconv.ParseInt(s, 10, 64)
	if err != nil || start < 0 {
		return 0, 0, false
	}
	size = -1
	if sz != "*" {
		if size, err = strconv.ParseInt(sz, 10, 64); err != nil || size < start {
			return 0, 0, false
		}
	}
	return start, size, true
}

// diskFull marks a full disk with ErrDiskFull and advice.
func diskFull(err error) error {
	if errors.Is(err, syscall.ENOSPC) {
		return fmt.Errorf("%w (%w): free some space, or set DEEN_HOME to a disk with room", ErrDiskFull, err)
	}
	return err
}
