package filework

import (
	"fmt"
	"io"
	"strings"
	"testing"
	"testing/iotest"
	"unicode/utf8"
)

// scanReference is scanReader's contract written the slow way: a NUL in
// the first 8000 bytes, else the first NUL or invalid UTF-8 byte, decides.
func scanReference(s string, replace bool) (int64, string) {
	if i := strings.IndexByte(s[:min(len(s), 8000)], 0); i >= 0 {
		return 0, fmt.Sprintf("f looks binary (NUL byte at offset %d)", i)
	}
	line := int64(1)
	for i := 0; i < len(s); {
		r, size := utf8.DecodeRuneInString(s[i:])
		switch {
		case r == 0:
			return 0, fmt.Sprintf("f looks binary (NUL byte at offset %d)", i)
		case r == utf8.RuneError && size == 1 && !replace:
			return 0, fmt.Sprintf("f:%d: invalid UTF-8 at byte %d", line, i)
		case r == '\n':
			line++
		}
		i += size
	}
	n := int64(strings.Count(s, "\n"))
	if s != "" && !strings.HasSuffix(s, "\n") {
		n++
	}
	return n, ""
}

func FuzzScanReader(f *testing.F) {
	for _, s := range []string{"", "a", "a\n", "a\nb", "\n\n", "Grüße\r\naus München\n", "Gr\xfc\xdfe\n", "x\x00y", "\xef\xbb\xbfBOM\n", "ab\xe2\x82", "€€€\n€"} {
		f.Add(s, uint8(4), false)
		f.Add(s, uint8(5), true)
	}
	f.Fuzz(func(t *testing.T, s string, size uint8, replace bool) {
		wantN, wantErr := scanReference(s, replace)
		// One byte per read, and small buffers, cut runes at every place.
		for _, rd := range []io.Reader{strings.NewReader(s), iotest.OneByteReader(strings.NewReader(s)), iotest.HalfReader(strings.NewReader(s))} {
			n, err := scanReader(rd, "f", int(size), replace)
			switch {
			case wantErr == "" && (err != nil || n != wantN):
				t.Fatalf("scan(%q, buf %d) = %d, %v; want %d lines", s, size, n, err, wantN)
			case wantErr != "" && (err == nil || !strings.HasPrefix(err.Error(), wantErr)):
				t.Fatalf("scan(%q, buf %d) = %d, %v; want error %q", s, size, n, err, wantErr)
			}
		}
	})
}
