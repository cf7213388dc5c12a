// Package atomicfile writes files so that readers never see a partial one:
// the content goes to a temporary file in the destination's directory, which
// is synced and then renamed over the destination. A crash leaves either the
// old file or the new one, never a mixture.
package atomicfile

import (
	"bufio"
	"fmt"
	"io"
	"os"
	"path/filepath"
)

// Write creates or replaces path with what write produces. what names the
// file's kind in error messages ("model file", "checkpoint"). On any error
// the temporary file is removed and path is left as it was.
func Write(path, what string, write func(w io.Writer) error) (err error) {
	dir, base := filepath.Split(path)
	if dir == "" {
		dir = "."
	}
	f, err := os.CreateTemp(dir, "."+base+".tmp-*")
	if err != nil {
		return fmt.Errorf("write %s: %w", what, err)
	}
	tmp := f.Name()
	defer func() {
		if err != nil {
			f.Close()
			os.Remove(tmp)
		}
	}()
	bw := bufio.NewWriterSize(f, 1<<20)
	if err = write(bw); err != nil {
		return err
	}
	wrap := func(e error) error { return fmt.Errorf("write %s %s: %w", what, path, e) }
	if err = bw.Flush(); err != nil {
		return wrap(err)
	}
	if err = f.Chmod(0o644); err != nil {
		return wrap(err)
	}
	if err = f.Sync(); err != nil {
		return wrap(err)
	}
	if err = f.Close(); err != nil {
		return wrap(err)
	}
	if err = os.Rename(tmp, path); err != nil {
		return wrap(err)
	}
	if d, derr := os.Open(dir); derr == nil { // make the rename durable
		d.Sync()
		d.Close()
	}
	return nil
}
