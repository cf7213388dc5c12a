package filework

import (
	"bufio"
	"bytes"
	"fmt"
	"io"
	"os"
	"unicode/utf8"
)

// Scan checks that the file at path is UTF-8 text and counts its lines (a
// last line without a line end counts). A NUL byte marks a binary file; a
// byte that is not UTF-8 is an error naming the line and the offset, unless
// replaceInvalid is set (the translators then read it as U+FFFD).
func Scan(path string, replaceInvalid bool) (int64, error) {
	f, err := os.Open(path)
	if err != nil {
		return 0, err
	}
	defer f.Close()
	return scanReader(f, path, 64<<10, replaceInvalid)
}

// scanReader is Scan on r named path, reading bufSize bytes at a time
// (at least utf8.UTFMax).
func scanReader(r io.Reader, path string, bufSize int, replace bool) (int64, error) {
	// Binary before invalid: a NUL near the start (as git looks).
	f := bufio.NewReaderSize(r, 8000)
	head, err := f.Peek(8000)
	if i := bytes.IndexByte(head, 0); i >= 0 {
		return 0, fmt.Errorf("%s looks binary (NUL byte at offset %d); only UTF-8 text files are translated", path, i)
	}
	if err != nil && err != io.EOF {
		return 0, err
	}
	buf := make([]byte, max(bufSize, utf8.UTFMax))
	var lines, pos int64 // pos: the file offset of buf[0]
	keep := 0            // bytes of a rune cut by the previous read, at buf[:keep]
	var last byte
	for {
		n, rerr := f.Read(buf[keep:])
		data := buf[:keep+n]
		eof := rerr == io.EOF
		i := 0
		for i < len(data) {
			c := data[i]
			if c < utf8.RuneSelf {
				if c == 0 {
					return 0, fmt.Errorf("%s looks binary (NUL byte at offset %d); only UTF-8 text files are translated", path, pos+int64(i))
				}
				if c == '\n' {
					lines++
				}
				i++
				continue
			}
			if !eof && !utf8.FullRune(data[i:]) {
				break // the rest of the rune comes with the next read
			}
			r, size := utf8.DecodeRune(data[i:])
			if r == utf8.RuneError && size == 1 && !replace {
				return 0, fmt.Errorf("%s:%d: invalid UTF-8 at byte %d; convert the file to UTF-8 (e.g. iconv -f latin1 -t utf-8) or pass --replace-invalid", path, lines+1, pos+int64(i))
			}
			i += size
		}
		if len(data) > 0 {
			last = data[len(data)-1]
		}
		keep = copy(buf, data[i:])
		pos += int64(i)
		if eof {
			if pos > 0 && last != '\n' {
				lines++ // a last line without a line end
			}
			return lines, nil
		}
		if rerr != nil {
			return 0, rerr
		}
	}
}
