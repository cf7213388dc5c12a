// Package defaultmodel holds the model file embedded into every build:
// data/default.deen when it exists (see data/README.md). The translate
// package loads it for translate.Default and the command line without
// --model; until a trained model is placed there, Open returns ErrNone.
package defaultmodel

import (
	"embed"
	"errors"
	"io"
	"io/fs"
)

// Name is the embedded model's path inside data.
const Name = "data/default.deen"

//go:embed all:data
var data embed.FS

// ErrNone reports a build without an embedded default model.
var ErrNone = errors.New("no default model is embedded in this build")

// Open returns a reader of the embedded model file, or ErrNone when this
// build has none.
func Open() (io.ReadCloser, error) {
	return open(data)
}

// Size returns the embedded model file's size in bytes, or ErrNone.
func Size() (int64, error) {
	st, err := fs.Stat(data, Name)
	if errors.Is(err, fs.ErrNotExist) {
		return 0, ErrNone
	}
	if err != nil {
		return 0, err
	}
	return st.Size(), nil
}

// open opens Name in fsys.
func open(fsys fs.FS) (io.ReadCloser, error) {
	f, err := fsys.Open(Name)
	if errors.Is(err, fs.ErrNotExist) {
		return nil, ErrNone
	}
	if err != nil {
		return nil, err
	}
	return f, nil
}
