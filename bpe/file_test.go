package bpe

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// TestReadFile checks that ReadFile loads a real model and refuses wrong
// files from their size or first byte, without reading them.
func TestReadFile(t *testing.T) {
	good := oracleDir + "/tiny-marian-A/source.spm"
	m, err := ReadFile(good)
	if err != nil || m.Len() == 0 {
		t.Fatalf("ReadFile(%s) = %v", good, err)
	}
	dir := t.TempDir()
	huge := filepath.Join(dir, "huge.spm")
	f, err := os.Create(huge)
	if err != nil {
		t.Fatal(err)
	}
	// A 50 GB sparse file: reading it whole would run out of memory.
	if err := f.Truncate(50 << 30); err != nil {
		t.Skipf("no sparse files here: %v", err)
	}
	f.Close()
	zeros := filepath.Join(dir, "zeros.spm")
	if err := os.WriteFile(zeros, make([]byte, 1<<20), 0o644); err != nil {
		t.Fatal(err)
	}
	empty := filepath.Join(dir, "empty.spm")
	if err := os.WriteFile(empty, nil, 0o644); err != nil {
		t.Fatal(err)
	}
	for _, c := range []struct{ path, want string }{
		{huge, "is 53687091200 bytes, more than a SentencePiece model (at most 64 MiB)"},
		{zeros, "starts with byte 0x00: not a SentencePiece model file"},
		{empty, "is empty"},
		{dir, "is a directory"},
		{filepath.Join(dir, "none.spm"), "no such file"},
		{"doc.go", "not a SentencePiece model file"},
	} {
		if _, err := ReadFile(c.path); err == nil || !strings.Contains(err.Error(), c.want) {
			t.Errorf("ReadFile(%s) = %v, want %q", c.path, err, c.want)
		}
	}
}

// TestMarianDecodeOutOfRange checks that ids outside the vocabulary are an
// error naming the id, on both sides.
func TestMarianDecodeOutOfRange(t *testing.T) {
	mt := loadOracleMarian(t)
	for _, c := range []struct {
		ids  []int32
		want string
	}{
		{[]int32{-5, 1 << 30}, "id -5 is out of range"},
		{[]int32{5, 1 << 30}, "id 1073741824 is out of range (the vocabulary has ids 0 to 15079)"},
		{[]int32{15080}, "id 15080"},
	} {
		for side, decode := range map[string]func([]int32) (string, error){"target": mt.DecodeTarget, "source": mt.DecodeSource} {
			if s, err := decode(c.ids); err == nil || !strings.Contains(err.Error(), c.want) || s != "" {
				t.Errorf("%s %v: %q, %v; want an error %q", side, c.ids, s, err, c.want)
			}
		}
	}
	if s, err := mt.DecodeTarget([]int32{15079, 0}); err != nil || s != "" {
		t.Errorf("pad and </s>: %q, %v; want empty text", s, err)
	}
}
