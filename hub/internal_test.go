package hub

import (
	"errors"
	"io/fs"
	"os"
	"strings"
	"syscall"
	"testing"
)

func TestQuotedSHA256(t *testing.T) {
	sum := strings.Repeat("ab", 32)
	for in, want := range map[string]string{
		`"` + sum + `"`:                  sum,
		`W/"` + sum + `"`:                sum,
		`"` + strings.ToUpper(sum) + `"`: sum,
		sum:                              "", // unquoted
		`"` + sum[:40] + `"`:             "", // a git blob id
		`"` + sum[:63] + `g"`:            "",
		`"` + sum + `"x`:                 "",
		"":                               "",
	} {
		if got := quotedSHA256(in); got != want {
			t.Errorf("quotedSHA256(%q) = %q, want %q", in, got, want)
		}
	}
}

func TestContentRange(t *testing.T) {
	type r struct {
		start, size int64
		ok          bool
	}
	for in, want := range map[string]r{
		"bytes 100-199/200": {100, 200, true},
		"bytes 0-0/*":       {0, -1, true},
		"bytes 100-199/50":  {0, 0, false},
		"bytes -1-5/10":     {0, 0, false},
		"items 0-1/2":       {0, 0, false},
		"bytes 5/10":        {0, 0, false},
		"":                  {0, 0, false},
	} {
		start, size, ok := contentRange(in)
		if (r{start, size, ok}) != want {
			t.Errorf("contentRange(%q) = %d, %d, %v; want %+v", in, start, size, ok, want)
		}
	}
}

func TestDiskFull(t *testing.T) {
	err := diskFull(&fs.PathError{Op: "write", Path: "/c/model.safetensors.partial", Err: syscall.ENOSPC})
	if !errors.Is(err, ErrDiskFull) || !errors.Is(err, syscall.ENOSPC) || !strings.Contains(err.Error(), "DEEN_HOME") {
		t.Errorf("ENOSPC: %v", err)
	}
	other := &fs.PathError{Op: "write", Path: "x", Err: syscall.EACCES}
	if got := diskFull(other); got != error(other) {
		t.Errorf("EACCES changed to %v", got)
	}
	// A real full device, where there is one.
	f, err := os.OpenFile("/dev/full", os.O_WRONLY, 0)
	if err != nil {
		t.Skip("no /dev/full")
	}
	defer f.Close()
	_, werr := f.Write([]byte("x"))
	if !errors.Is(diskFull(werr), ErrDiskFull) {
		t.Errorf("/dev/full: %v", diskFull(werr))
	}
}
