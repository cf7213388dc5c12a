//go:build !unix

package hub

import (
	"errors"
	"io/fs"
	"os"
)

// tryLock creates path exclusively; the lock is the file's existence and
// unlock removes it. Without flock a killed process leaves the file behind:
// delete it by hand if no download is running.
func tryLock(path string) (unlock func(), busy bool, err error) {
	f, err := os.OpenFile(path, os.O_CREATE|os.O_EXCL|os.O_RDWR, 0o644)
	if errors.Is(err, fs.ErrExist) {
		return nil, true, nil
	}
	if err != nil {
		return nil, false, err
	}
	f.Close()
	return func() { os.Remove(path) }, false, nil
}
