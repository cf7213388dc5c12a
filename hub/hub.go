// Package hub downloads MarianMT (Helsinki-NLP opus-mt) checkpoints from a
// Hugging Face-style hub, verifies them, converts them through package
// marian into one deen model file, and keeps them in a cache where a model
// is found again by name.
//
//	m, err := hub.Get(ctx, "opus-mt-de-en")      // download once (network); m.Path is the model file
//	path, err := hub.Resolve("opus-mt-de-en")    // later: the cache only, never the network
//	tr, err := translate.Load(path)
//
// # Why two calls and not translate.LoadNamed
//
// hub sits on the same floor as translate (both above the layers, below
// the command line), so neither imports the other: translate stays free of
// HTTP and downloads, and hub of search. Get and Resolve return the path
// of the cached model file and the caller loads it with translate.Load.
// Resolve never touches the network; only Get does.
//
// # Names
//
// A name is a short alias from a small table of German→English models
// known to work (Aliases: "opus-mt-de-en" → "Helsinki-NLP/opus-mt-de-en")
// or a hub repository id given in full ("Helsinki-NLP/opus-mt-de-en").
// Aliases of models known not to work are refused with the reason
// (ErrUnsupported). Any other repository is checked when its config.json
// arrives, before the weights are fetched (marian.CheckConfig): an
// unsupported architecture is refused naming the config.json field.
//
// # Downloads
//
// Files come from {endpoint}/{repo}/resolve/{revision}/{file}, the layout
// of huggingface.co; the endpoint is $HF_ENDPOINT (default
// https://huggingface.co) and the revision "main" unless WithRevision says
// otherwise. Files: config.json, generation_config.json and
// tokenizer_config.json (both optional), model.safetensors or, when the
// hub answers 404 for it, pytorch_model.bin, then source.spm, target.spm
// and vocab.json. Redirects are followed (the hub answers large files with
// a 302 to a CDN). With $HF_TOKEN set (or WithToken), requests to the
// endpoint's host carry "Authorization: Bearer TOKEN"; the header is never
// sent to another host on a redirect: the hub's CDN links are signed URLs
// that need no token, and a token must not leak to a host the user did not
// name (Go's client would forward it to subdomains; we do not).
//
// Each file streams into FILE.partial beside its final name while a
// SHA-256 is computed; when the hub sends the file's SHA-256 (an
// X-Linked-Etag or ETag header holding a quoted 64-digit hex string, as it
// does for LFS files) the download must match it, else the partial file is
// deleted and a *ChecksumError returned. The partial file is synced and
// renamed into place only when complete. An interrupted download resumes
// with an HTTP Range request from the partial file, within the same Get
// (a few times after a cut connection) and in a later Get. A download that
// receives nothing for the stall timeout (WithStallTimeout, default 60 s)
// fails instead of hanging; the caller's context cancels everything.
//
// # Cache
//
// The cache is $DEEN_HOME/models; DEEN_HOME defaults to
// $XDG_CACHE_HOME/deen, else ~/.cache/deen (CacheDir). Each model has a
// directory named after its repository ("Helsinki-NLP--opus-mt-de-en")
// holding model.deen and manifest.json (Manifest: repository, revision and
// commit, the SHA-256 of every downloaded file, dtype, size, parameters,
// date). The manifest is written last, atomically: a directory without one
// is not a cached model, so an interrupted Get never leaves a half-written
// model that Resolve would return. The raw downloads live in its download/
// subdirectory until the conversion succeeded and are then deleted, unless
// WithKeep. A lock file (owner--name.lock beside the directory) serialises
// concurrent Gets of one model, in one process or several: the second
// waits, then finds the model cached.
//
// The default storage type is f16: half the size of f32 (opus-mt-de-en is
// about 300 MB in f32, 150 MB in f16), while the weights load as float32
// so the arithmetic is the same; rounding to f16 moves a weight by at most
// 2⁻¹¹ of its size, which changes a translation only where two candidates
// are nearly tied. int8 is smaller still but its per-row rounding moves
// scores more; f32 reproduces Hugging Face's numbers bit for bit.
//
// # Errors
//
// Every error names the repository and file concerned and what to do, and
// wraps a sentinel a caller can test with errors.Is: ErrNotDownloaded
// (Resolve, Remove), ErrNotFound (404, or a repository the hub does not
// know), ErrUnauthorized (401/403: gated or private, set HF_TOKEN),
// ErrUnreachable (offline, DNS, refused connection), ErrUnsupported,
// ErrDiskFull, ErrStalled; a checksum mismatch is a *ChecksumError
// (errors.As). Context cancellation returns the context's error.
package hub

import (
	"errors"
	"fmt"
	"net/http"
	"os"
	"strings"
	"time"
)

// Errors a caller can test with errors.Is.
var (
	// ErrNotDownloaded: the model is not in the cache (Resolve never downloads).
	ErrNotDownloaded = errors.New("model is not downloaded")
	// ErrNotFound: the hub has no such repository, revision or file (404).
	ErrNotFound = errors.New("not found on the hub")
	// ErrUnauthorized: the hub refused access (401/403): a gated or private
	// repository, or a wrong token.
	ErrUnauthorized = errors.New("access refused by the hub")
	// ErrUnreachable: the hub could not be reached (offline, DNS failure,
	// connection refused).
	ErrUnreachable = errors.New("hub unreachable")
	// ErrUnsupported: the model's architecture is not one deen runs.
	ErrUnsupported = errors.New("model not supported")
	// ErrDiskFull: no space left where the cache is.
	ErrDiskFull = errors.New("disk full")
	// ErrStalled: the hub sent nothing for the stall timeout.
	ErrStalled = errors.New("download stalled")
)

// ChecksumError reports a download whose SHA-256 differs from the one the
// hub announced. The downloaded file has been deleted.
type ChecksumError struct {
	// Repo and File name the download.
	Repo, File string
	// Want is the SHA-256 the hub announced, Got the one of the bytes
	// received (lower-case hex).
	Want, Got string
}

// Error says what happened and what to do.
func (e *ChecksumError) Error() string {
	return fmt.Sprintf("hub: checksum mismatch for %s/%s: the hub announced sha256 %s, the download has %s; the file was deleted, run the same get again (if it repeats, the hub or a proxy serves a corrupt file)",
		e.Repo, e.File, e.Want, e.Got)
}

// DefaultEndpoint is the hub used when $HF_ENDPOINT is not set.
const DefaultEndpoint = "https://huggingface.co"

// Option changes how Get, Resolve, List and Remove work.
type Option func(*options)

type options struct {
	endpoint, token, cacheDir, revision, dtype string
	force, keep                                bool
	client                                     *http.Client
	progress                                   func(file string, done, total int64)
	logf                                       func(format string, args ...any)
	stall                                      time.Duration
	retries                                    int
}

// WithEndpoint sets the hub's base URL (default $HF_ENDPOINT, else
// DefaultEndpoint).
func WithEndpoint(url string) Option { return func(o *options) { o.endpoint = url } }

// WithToken sets the bearer token sent to the hub (default $HF_TOKEN).
func WithToken(token string) Option { return func(o *options) { o.token = token } }

// WithCacheDir sets the directory holding the cached models (default
// CacheDir()).
func WithCacheDir(dir string) Option { return func(o *options) { o.cacheDir = dir } }

// WithRevision sets the branch, tag or commit to download (default "main").
func WithRevision(rev string) Option { return func(o *options) { o.revision = rev } }

// WithDType sets the storage type of the converted weights: "f16"
// (default), "f32" or "int8".
func WithDType(dtype string) Option { return func(o *options) { o.dtype = dtype } }

// WithForce downloads and converts again even when the model is cached.
func WithForce(force bool) Option { return func(o *options) { o.force = force } }

// WithKeep keeps the raw downloaded files (in the model's download/
// directory) after the conversion.
func WithKeep(keep bool) Option { return func(o *options) { o.keep = keep } }

// WithHTTPClient sets the HTTP client (default: a client with connection
// timeouts; its CheckRedirect is replaced by Get's).
func WithHTTPClient(c *http.Client) Option { return func(o *options) { o.client = c } }

// WithProgress sets a function called as bytes of file arrive: done of
// total bytes (total -1 when unknown). A resumed file starts at the bytes
// already there.
func WithProgress(f func(file string, done, total int64)) Option {
	return func(o *options) { o.progress = f }
}

// WithLog sets a function receiving one-line notes: resuming, waiting for
// another download of the same model, converting.
func WithLog(f func(format string, args ...any)) Option { return func(o *options) { o.logf = f } }

// WithStallTimeout sets how long a download may receive nothing before it
// fails with ErrStalled (default 60 s).
func WithStallTimeout(d time.Duration) Option { return func(o *options) { o.stall = d } }

// WithRetries sets how many times a cut connection is resumed within one
// Get (default 3; 0 turns it off).
func WithRetries(n int) Option { return func(o *options) { o.retries = n } }

// newOptions applies opts over the defaults from the environment.
func newOptions(opts []Option) (*options, error) {
	o := &options{endpoint: os.Getenv("HF_ENDPOINT"), token: os.Getenv("HF_TOKEN"), revision: "main",
		dtype: "f16", stall: 60 * time.Second, retries: 3}
	for _, opt := range opts {
		opt(o)
	}
	if o.endpoint == "" {
		o.endpoint = DefaultEndpoint
	}
	o.endpoint = strings.TrimRight(o.endpoint, "/")
	if o.cacheDir == "" {
		dir, err := CacheDir()
		if err != nil {
			return nil, err
		}
		o.cacheDir = dir
	}
	if o.logf == nil {
		o.logf = func(string, ...any) {}
	}
	if o.progress == nil {
		o.progress = func(string, int64, int64) {}
	}
	if err := checkRevision(o.revision); err != nil {
		return nil, err
	}
	switch o.dtype {
	case "f32", "f16", "int8":
	default:
		return nil, fmt.Errorf("hub: dtype %q: want f32, f16 or int8", o.dtype)
	}
	if o.stall <= 0 || o.retries < 0 {
		return nil, fmt.Errorf("hub: stall timeout %v must be positive and retries %d not negative", o.stall, o.retries)
	}
	return o, nil
}

// CacheDir returns the directory of cached models: $DEEN_HOME/models, where
// DEEN_HOME defaults to $XDG_CACHE_HOME/deen, else ~/.cache/deen.
func CacheDir() (string, error) {
	home := os.Getenv("DEEN_HOME")
	if home == "" {
		base := os.Getenv("XDG_CACHE_HOME")
		if base == "" {
			h, err := os.UserHomeDir()
			if err != nil {
				return "", fmt.Errorf("hub: no cache directory: set DEEN_HOME (%w)", err)
			}
			base = h + string(os.PathSeparator) + ".cache"
		}
		home = base + string(os.PathSeparator) + "deen"
	}
	return home + string(os.PathSeparator) + "models", nil
}
