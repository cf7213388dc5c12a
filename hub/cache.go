package hub

import (
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"path/filepath"
	"sort"
	"strings"
	"time"

	"github.com/deen-mt/deen/internal/atomicfile"
)

// Names inside a model's cache directory.
const (
	manifestName = "manifest.json"
	modelName    = "model.deen"
	downloadDir  = "download"
)

// manifestFormat is the version of manifest.json.
const manifestFormat = 1

// Manifest describes a cached model; it is stored as manifest.json beside
// the model file.
type Manifest struct {
	// Format is the manifest's version (1).
	Format int `json:"format"`
	// Repo is the hub repository id.
	Repo string `json:"repo"`
	// Revision is the branch, tag or commit asked for; Commit the commit
	// the hub resolved it to (its X-Repo-Commit header), when it said.
	Revision string `json:"revision"`
	Commit   string `json:"commit,omitempty"`
	// Endpoint is the hub the files came from.
	Endpoint string `json:"endpoint"`
	// DType is the storage type of the weights in the model file.
	DType string `json:"dtype"`
	// Parameters counts the model's weights.
	Parameters int64 `json:"parameters"`
	// Size is the model file's size in bytes.
	Size int64 `json:"size"`
	// Files are the downloaded files with their SHA-256.
	Files []File `json:"files"`
	// Created is when the model was converted.
	Created time.Time `json:"created"`
}

// File is one downloaded file of a manifest.
type File struct {
	// Name is the file's name in the repository.
	Name string `json:"name"`
	// Size is its size in bytes.
	Size int64 `json:"size"`
	// SHA256 is the SHA-256 of its bytes (lower-case hex).
	SHA256 string `json:"sha256"`
	// Verified says the hub announced this SHA-256 and the bytes matched
	// it; false for files the hub sent no checksum for.
	Verified bool `json:"verified"`
}

// maxManifest bounds what ParseManifest reads.
const maxManifest = 1 << 20

// ParseManifest decodes and checks a manifest.json: known format, a valid
// repository id and revision, a known dtype, non-negative sizes, plain file
// names and 64-digit hex SHA-256s.
func ParseManifest(b []byte) (*Manifest, error) {
	if len(b) > maxManifest {
		return nil, fmt.Errorf("manifest: %d bytes, more than %d", len(b), maxManifest)
	}
	var m Manifest
	if err := json.Unmarshal(b, &m); err != nil {
		return nil, fmt.Errorf("manifest: %w", err)
	}
	var p []string
	if m.Format != manifestFormat {
		p = append(p, fmt.Sprintf("format %d (want %d)", m.Format, manifestFormat))
	}
	if err := checkRepoID(m.Repo); err != nil {
		p = append(p, err.Error())
	}
	if err := checkRevision(m.Revision); err != nil {
		p = append(p, strings.TrimPrefix(err.Error(), "hub: "))
	}
	switch m.DType {
	case "f32", "f16", "int8":
	default:
		p = append(p, fmt.Sprintf("dtype %q", m.DType))
	}
	if m.Commit != "" && !isCommit(m.Commit) {
		p = append(p, fmt.Sprintf("commit %q", m.Commit))
	}
	if m.Size < 0 || m.Parameters < 0 {
		p = append(p, "negative size or parameter count")
	}
	for _, f := range m.Files {
		if f.Name == "" || f.Name != filepath.Base(f.Name) || strings.ContainsAny(f.Name, `/\`) || f.Name == "." || f.Name == ".." {
			p = append(p, fmt.Sprintf("file name %q", f.Name))
		}
		if !isSHA256(f.SHA256) || f.Size < 0 {
			p = append(p, fmt.Sprintf("file %q: sha256 %q, size %d", f.Name, f.SHA256, f.Size))
		}
	}
	if len(p) > 0 {
		return nil, fmt.Errorf("manifest: %s", strings.Join(p, "; "))
	}
	return &m, nil
}

// isSHA256 reports whether s is 64 lower-case hex digits.
func isSHA256(s string) bool {
	if len(s) != 64 {
		return false
	}
	for _, c := range s {
		if !(c >= '0' && c <= '9' || c >= 'a' && c <= 'f') {
			return false
		}
	}
	return true
}

// Model is a cached model.
type Model struct {
	// Name is the model's short name when it has one, else its repository id.
	Name string
	// Path is the model file, for translate.Load.
	Path string
	// Manifest describes where it came from.
	Manifest
}

// readModel reads the cached model in dir; fs.ErrNotExist when there is none.
func readModel(dir string) (*Model, error) {
	b, err := os.ReadFile(filepath.Join(dir, manifestName))
	if err != nil {
		return nil, err
	}
	m, err := ParseManifest(b)
	if err != nil {
		return nil, fmt.Errorf("hub: %s: %w (remove the directory, or get the model again with --force)", filepath.Join(dir, manifestName), err)
	}
	path := filepath.Join(dir, modelName)
	if _, err := os.Stat(path); err != nil {
		return nil, err
	}
	return &Model{Name: displayName(m.Repo), Path: path, Manifest: *m}, nil
}

// writeManifest writes dir's manifest.json atomically.
func writeManifest(dir string, m *Manifest) error {
	b, err := json.MarshalIndent(m, "", "  ")
	if err != nil {
		return err
	}
	return atomicfile.Write(filepath.Join(dir, manifestName), "manifest", func(w io.Writer) error {
		_, err := w.Write(append(b, '\n'))
		return err
	})
}

// Resolve returns the path of the cached model file of name without any
// network access; ErrNotDownloaded when it is not cached.
func Resolve(name string, opts ...Option) (string, error) {
	m, err := Lookup(name, opts...)
	if err != nil {
		return "", err
	}
	return m.Path, nil
}

// Lookup returns the cached model of name, as Resolve, with its manifest.
func Lookup(name string, opts ...Option) (*Model, error) {
	_, dir, _, err := locate(name, opts)
	if err != nil {
		return nil, err
	}
	m, err := readModel(dir)
	if errors.Is(err, fs.ErrNotExist) {
		return nil, notDownloaded(name)
	}
	return m, err
}

// notDownloaded is the ErrNotDownloaded error for name.
func notDownloaded(name string) error {
	return fmt.Errorf("hub: %w: %q (translate get %s, or hub.Get, downloads it)", ErrNotDownloaded, name, name)
}

// List returns the cached models, sorted by name. Directories without a
// valid manifest (downloads in progress or interrupted) are left out.
func List(opts ...Option) ([]*Model, error) {
	o, err := newOptions(opts)
	if err != nil {
		return nil, err
	}
	entries, err := os.ReadDir(o.cacheDir)
	if errors.Is(err, fs.ErrNotExist) {
		return nil, nil
	}
	if err != nil {
		return nil, fmt.Errorf("hub: list models: %w", err)
	}
	var out []*Model
	for _, e := range entries {
		if !e.IsDir() {
			continue
		}
		if m, err := readModel(filepath.Join(o.cacheDir, e.Name())); err == nil {
			out = append(out, m)
		}
	}
	sort.Slice(out, func(i, j int) bool { return out[i].Name < out[j].Name })
	return out, nil
}

// Remove deletes the cached model of name (and any unfinished download of
// it); ErrNotDownloaded when there is nothing to delete. It waits for a
// Get of the same model in progress.
func Remove(name string, opts ...Option) error {
	_, dir, o, err := locate(name, opts)
	if err != nil {
		return err
	}
	if _, err := os.Stat(dir); errors.Is(err, fs.ErrNotExist) {
		return notDownloaded(name)
	}
	unlock, err := lockModel(nil, dir+".lock", o)
	if err != nil {
		return err
	}
	defer unlock()
	// The manifest goes first: from then on the directory is no model.
	if err := os.Remove(filepath.Join(dir, manifestName)); err != nil && !errors.Is(err, fs.ErrNotExist) {
		return fmt.Errorf("hub: remove %s: %w", name, err)
	}
	if err := os.RemoveAll(dir); err != nil {
		return fmt.Errorf("hub: remove %s: %w", name, err)
	}
	return nil
}

// locate parses name and the options and returns the repository id and its
// directory in the cache.
func locate(name string, opts []Option) (repo, dir string, o *options, err error) {
	if repo, err = ParseName(name); err != nil {
		return "", "", nil, err
	}
	if o, err = newOptions(opts); err != nil {
		return "", "", nil, err
	}
	return repo, filepath.Join(o.cacheDir, cacheKey(repo)), o, nil
}
