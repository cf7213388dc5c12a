package hub

import (
	"context"
	"fmt"
	"net"
	"net/http"
	"os"
	"path/filepath"
	"time"

	"github.com/deen-mt/deen/marian"
)

// defaultClient is the HTTP client when none is given: bounded connection
// set-up; the body has no deadline (the stall timeout and the caller's
// context bound it).
var defaultClient = &http.Client{Transport: &http.Transport{
	Proxy:                 http.ProxyFromEnvironment,
	DialContext:           (&net.Dialer{Timeout: 30 * time.Second}).DialContext,
	TLSHandshakeTimeout:   30 * time.Second,
	ResponseHeaderTimeout: 60 * time.Second,
	IdleConnTimeout:       90 * time.Second,
	ForceAttemptHTTP2:     true,
}}

// Get returns the cached model of name, first downloading, verifying and
// converting it when it is not cached, or when the cached one has another
// revision or dtype than asked, or with WithForce. Concurrent Gets of one
// model (goroutines or processes) download it once: the others wait for
// the lock and then find it cached.
func Get(ctx context.Context, name string, opts ...Option) (*Model, error) {
	repo, dir, o, err := locate(name, opts)
	if err != nil {
		return nil, err
	}
	if o.client == nil {
		o.client = defaultClient
	}
	if m := o.cached(dir); m != nil {
		return m, nil
	}
	unlock, err := lockModel(ctx, dir+".lock", o)
	if err != nil {
		return nil, err
	}
	defer unlock()
	if m := o.cached(dir); m != nil { // another Get finished it meanwhile
		return m, nil
	}
	raw := filepath.Join(dir, downloadDir)
	f, err := newFetcher(o, repo, raw)
	if err != nil {
		return nil, err
	}
	check := func(dir string) error {
		if err := marian.CheckConfig(dir); err != nil {
			return fmt.Errorf("hub: %s is not supported: %w: %w", repo, err, ErrUnsupported)
		}
		return nil
	}
	if err := f.fetchAll(ctx, check); err != nil {
		return nil, err
	}
	if err := ctx.Err(); err != nil {
		return nil, fmt.Errorf("hub: %s: %w", repo, err)
	}
	o.logf("converting %s to one model file (%s)", repo, o.dtype)
	sum, err := marian.Convert(raw, filepath.Join(dir, modelName), marian.ConvertOptions{DType: o.dtype})
	if err != nil {
		return nil, fmt.Errorf("hub: convert %s (the raw files stay in %s): %w", repo, raw, diskFull(err))
	}
	man := &Manifest{Format: manifestFormat, Repo: repo, Revision: o.revision, Commit: f.state.Commit, Endpoint: o.endpoint,
		DType: sum.DType, Parameters: sum.Parameters, Size: sum.Size, Files: f.state.Files, Created: time.Now().UTC().Truncate(time.Second)}
	if err := writeManifest(dir, man); err != nil {
		return nil, fmt.Errorf("hub: %w", diskFull(err))
	}
	if !o.keep {
		if err := os.RemoveAll(raw); err != nil {
			return nil, fmt.Errorf("hub: delete the raw files: %w", err)
		}
	}
	return readModel(dir)
}

// cached returns the model in dir when it can be used as it is: present,
// of the asked revision and dtype, and no WithForce.
func (o *options) cached(dir string) *Model {
	if o.force {
		return nil
	}
	m, err := readModel(dir)
	if err != nil || m.Revision != o.revision || m.DType != o.dtype {
		return nil
	}
	return m
}
