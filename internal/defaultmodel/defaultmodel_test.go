package defaultmodel

import (
	"errors"
	"io"
	"io/fs"
	"testing"
	"testing/fstest"
)

func TestOpenMatchesEmbeddedFiles(t *testing.T) {
	// Whether or not a model is embedded, Open agrees with the files.
	_, statErr := fs.Stat(data, Name)
	r, err := Open()
	switch {
	case errors.Is(statErr, fs.ErrNotExist):
		if !errors.Is(err, ErrNone) || r != nil {
			t.Fatalf("no %s: Open = %v, %v; want ErrNone", Name, r, err)
		}
		if _, err := Size(); !errors.Is(err, ErrNone) {
			t.Fatalf("Size without a model: %v, want ErrNone", err)
		}
	case statErr != nil:
		t.Fatal(statErr)
	default:
		if err != nil {
			t.Fatalf("Open with %s present: %v", Name, err)
		}
		r.Close()
	}
	if _, err := fs.Stat(data, "data/README.md"); err != nil {
		t.Fatalf("data/README.md is not embedded: %v", err)
	}
}

func TestOpenPresent(t *testing.T) {
	fsys := fstest.MapFS{Name: {Data: []byte("model bytes")}}
	r, err := open(fsys)
	if err != nil {
		t.Fatal(err)
	}
	defer r.Close()
	b, err := io.ReadAll(r)
	if err != nil || string(b) != "model bytes" {
		t.Fatalf("read %q, %v", b, err)
	}
	if _, err := open(fstest.MapFS{}); !errors.Is(err, ErrNone) {
		t.Fatalf("absent: %v, want ErrNone", err)
	}
}
