// Package hubtest is a fake Hugging Face hub for tests, in the manner of
// net/http/httptest: two loopback servers, the hub and its CDN, serving
// repositories held in memory with the hub's URL layout and headers.
//
//	GET {URL}/{owner}/{name}/resolve/{revision}/{file}
//
// Small files are answered by the hub itself with an ETag holding a git
// blob id (40 hex digits, not a SHA-256, as the real hub does). LFS files
// (*.safetensors, *.bin, *.spm) are answered with a 302 to the CDN, a
// different host, carrying X-Linked-Etag (the quoted SHA-256 of the file)
// and X-Linked-Size; the CDN serves the bytes with Range support. Every
// answer of the hub carries X-Repo-Commit. An unknown repository gives 401
// with X-Error-Code RepoNotFound, an unknown file 404 EntryNotFound, an
// unknown revision 404 RevisionNotFound, as the real hub does. The revision
// may be "main" or the repository's Commit.
//
// Faults for tests: SetToken (401 GatedRepo without it), SetStatus (any
// status for one file), Corrupt (the CDN flips a byte, the announced
// SHA-256 stays), CutAfter (the next response of a file closes the
// connection at a byte offset), Stall (responses hang at a byte offset
// until the client goes away). Requests lists what arrived.
package hubtest

import (
	"bytes"
	"context"
	"crypto/sha1"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"net/url"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"time"
)

// Server is a fake hub and its CDN.
type Server struct {
	// URL is the hub's base URL (for HF_ENDPOINT or hub.WithEndpoint).
	URL string
	// CDNURL is the base URL of the CDN the hub redirects LFS files to.
	CDNURL string

	hub, cdn *httptest.Server

	mu       sync.Mutex
	repos    map[string]map[string][]byte
	token    string
	status   map[string]int
	corrupt  map[string]bool
	cutAt    map[string]int64
	stallAt  map[string]int64
	requests []Request
}

// Request is one request the fake received.
type Request struct {
	// Server is "hub" or "cdn".
	Server string
	// Path is the URL path; for the CDN, "/" + the file's SHA-256.
	Path string
	// Range and Authorization are the request's headers of those names.
	Range, Authorization string
}

// NewServer starts a fake hub with no repositories. Close stops it.
func NewServer() *Server {
	s := &Server{repos: map[string]map[string][]byte{}, status: map[string]int{}, corrupt: map[string]bool{},
		cutAt: map[string]int64{}, stallAt: map[string]int64{}}
	s.hub = httptest.NewServer(http.HandlerFunc(s.serveHub))
	s.cdn = httptest.NewServer(http.HandlerFunc(s.serveCDN))
	s.URL, s.CDNURL = s.hub.URL, s.cdn.URL
	return s
}

// Close shuts both servers down.
func (s *Server) Close() {
	s.hub.CloseClientConnections()
	s.cdn.CloseClientConnections()
	s.hub.Close()
	s.cdn.Close()
}

// AddDir adds every regular file of dir to repo ("owner/name").
func (s *Server) AddDir(repo, dir string) error {
	entries, err := os.ReadDir(dir)
	if err != nil {
		return err
	}
	for _, e := range entries {
		if !e.Type().IsRegular() {
			continue
		}
		b, err := os.ReadFile(filepath.Join(dir, e.Name()))
		if err != nil {
			return err
		}
		s.AddFile(repo, e.Name(), b)
	}
	return nil
}

// AddFile adds (or replaces) one file of repo.
func (s *Server) AddFile(repo, name string, data []byte) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.repos[repo] == nil {
		s.repos[repo] = map[string][]byte{}
	}
	s.repos[repo][name] = bytes.Clone(data)
}

// RemoveFile removes one file of repo.
func (s *Server) RemoveFile(repo, name string) {
	s.mu.Lock()
	defer s.mu.Unlock()
	delete(s.repos[repo], name)
}

// SetToken makes the hub require "Authorization: Bearer token" ("" turns
// it off); without it every file is 401 with X-Error-Code GatedRepo.
func (s *Server) SetToken(token string) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.token = token
}

// SetStatus makes the hub answer requests for repo's file with code and
// an empty body (0 restores normal service).
func (s *Server) SetStatus(repo, name string, code int) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.status[repo+"/"+name] = code
}

// Corrupt makes the CDN serve repo's file with its middle byte flipped,
// while the hub keeps announcing the true SHA-256.
func (s *Server) Corrupt(repo, name string) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.corrupt[repo+"/"+name] = true
}

// CutAfter makes the next response carrying repo's file close the
// connection when it reaches byte offset n of the file.
func (s *Server) CutAfter(repo, name string, n int64) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.cutAt[repo+"/"+name] = n
}

// Stall makes every response carrying repo's file stop sending at byte
// offset n of the file and wait until the client goes away.
func (s *Server) Stall(repo, name string, n int64) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.stallAt[repo+"/"+name] = n
}

// Requests returns the requests received so far, in order.
func (s *Server) Requests() []Request {
	s.mu.Lock()
	defer s.mu.Unlock()
	return append([]Request(nil), s.requests...)
}

// Count returns how many requests for repo's file reached the hub.
func (s *Server) Count(repo, name string) int {
	n := 0
	for _, r := range s.Requests() {
		if r.Server == "hub" && strings.HasPrefix(r.Path, "/"+repo+"/resolve/") && strings.HasSuffix(r.Path, "/"+name) {
			n++
		}
	}
	return n
}

// Commit is the fake commit id of repo, sent as X-Repo-Commit.
func Commit(repo string) string {
	h := sha1.Sum([]byte("commit " + repo))
	return hex.EncodeToString(h[:])
}

// SHA256 returns the lower-case hex SHA-256 of data.
func SHA256(data []byte) string {
	h := sha256.Sum256(data)
	return hex.EncodeToString(h[:])
}

// isLFS says whether the real hub would store name with Git LFS.
func isLFS(name string) bool {
	for _, ext := range []string{".safetensors", ".bin", ".spm"} {
		if strings.HasSuffix(name, ext) {
			return true
		}
	}
	return false
}

func (s *Server) log(server string, r *http.Request) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.requests = append(s.requests, Request{Server: server, Path: r.URL.Path, Range: r.Header.Get("Range"), Authorization: r.Header.Get("Authorization")})
}

// serveHub answers /{owner}/{name}/resolve/{revision}/{file}.
func (s *Server) serveHub(w http.ResponseWriter, r *http.Request) {
	s.log("hub", r)
	parts := strings.SplitN(strings.TrimPrefix(r.URL.EscapedPath(), "/"), "/", 5)
	if len(parts) != 5 || parts[2] != "resolve" || (r.Method != http.MethodGet && r.Method != http.MethodHead) {
		http.Error(w, "not a resolve URL", http.StatusNotFound)
		return
	}
	repo := parts[0] + "/" + parts[1]
	rev, err1 := url.PathUnescape(parts[3])
	name, err2 := url.PathUnescape(parts[4])
	if err1 != nil || err2 != nil {
		http.Error(w, "bad escape", http.StatusBadRequest)
		return
	}
	s.mu.Lock()
	files, known := s.repos[repo]
	data, ok := files[name]
	token, code := s.token, s.status[repo+"/"+name]
	s.mu.Unlock()
	w.Header().Set("X-Repo-Commit", Commit(repo))
	switch {
	case !known:
		hubError(w, http.StatusUnauthorized, "RepoNotFound")
	case token != "" && r.Header.Get("Authorization") != "Bearer "+token:
		hubError(w, http.StatusUnauthorized, "GatedRepo")
	case code != 0:
		w.WriteHeader(code)
	case rev != "main" && rev != Commit(repo):
		hubError(w, http.StatusNotFound, "RevisionNotFound")
	case !ok:
		hubError(w, http.StatusNotFound, "EntryNotFound")
	case isLFS(name):
		sum := SHA256(data)
		w.Header().Set("X-Linked-Etag", `"`+sum+`"`)
		w.Header().Set("X-Linked-Size", fmt.Sprint(len(data)))
		w.Header().Set("ETag", `"`+gitBlobID(data)+`"`)
		http.Redirect(w, r, s.cdn.URL+"/"+sum+"?repo="+repo+"&file="+name, http.StatusFound)
	default:
		w.Header().Set("ETag", `"`+gitBlobID(data)+`"`)
		s.serveBytes(w, r, repo, name, data)
	}
}

// serveCDN answers /{sha256}?repo=...&file=... with Range support.
func (s *Server) serveCDN(w http.ResponseWriter, r *http.Request) {
	s.log("cdn", r)
	repo, name := r.URL.Query().Get("repo"), r.URL.Query().Get("file")
	s.mu.Lock()
	data, ok := s.repos[repo][name]
	s.mu.Unlock()
	if !ok || "/"+SHA256(data) != r.URL.Path {
		http.Error(w, "no such object", http.StatusNotFound)
		return
	}
	w.Header().Set("ETag", `"`+SHA256([]byte(r.URL.Path))[:32]+`"`) // a CDN's own tag, not the content's SHA-256
	s.serveBytes(w, r, repo, name, data)
}

// serveBytes serves data with Range support and the file's faults.
func (s *Server) serveBytes(w http.ResponseWriter, r *http.Request, repo, name string, data []byte) {
	key := repo + "/" + name
	s.mu.Lock()
	if s.corrupt[key] && len(data) > 0 {
		data = bytes.Clone(data)
		data[len(data)/2] ^= 0x55
	}
	cut, hasCut := s.cutAt[key]
	delete(s.cutAt, key)
	stall, hasStall := s.stallAt[key]
	s.mu.Unlock()
	c := &content{data: data, ctx: r.Context(), cut: -1, stall: -1}
	if hasCut {
		c.cut = cut
	}
	if hasStall {
		c.stall = stall
	}
	w.Header().Set("Content-Type", "application/octet-stream") // no sniffing reads
	http.ServeContent(w, r, name, time.Time{}, c)
}

// hubError answers with the hub's error code header.
func hubError(w http.ResponseWriter, code int, hubCode string) {
	w.Header().Set("X-Error-Code", hubCode)
	http.Error(w, hubCode, code)
}

// gitBlobID is git's object id of data as a blob.
func gitBlobID(data []byte) string {
	h := sha1.New()
	fmt.Fprintf(h, "blob %d\x00", len(data))
	h.Write(data)
	return hex.EncodeToString(h.Sum(nil))
}

// content is a ReadSeeker over data that fails at offset cut and blocks at
// offset stall until ctx ends (each -1 when off).
type content struct {
	data       []byte
	pos        int64
	cut, stall int64
	ctx        context.Context
}

// errCut ends a response early; the server then closes the connection.
var errCut = errors.New("hubtest: connection cut")

func (c *content) Read(p []byte) (int, error) {
	if c.pos >= int64(len(c.data)) {
		return 0, io.EOF
	}
	end := int64(len(c.data))
	for _, at := range []int64{c.cut, c.stall} {
		if at >= c.pos && at < end {
			end = at
		}
	}
	if end == c.pos {
		if c.pos == c.stall {
			<-c.ctx.Done()
			return 0, c.ctx.Err()
		}
		return 0, errCut
	}
	n := copy(p, c.data[c.pos:end])
	c.pos += int64(n)
	return n, nil
}

func (c *content) Seek(off int64, whence int) (int64, error) {
	switch whence {
	case io.SeekStart:
	case io.SeekCurrent:
		off += c.pos
	case io.SeekEnd:
		off += int64(len(c.data))
	}
	if off < 0 {
		return 0, errors.New("hubtest: negative seek")
	}
	c.pos = off
	return off, nil
}
