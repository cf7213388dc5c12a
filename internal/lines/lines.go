// Package lines reads text line by line in batches, keeping each line's
// ending ("\n", "\r\n" or none on a last line without one) so that output
// can reproduce the input's layout exactly.
//
// Reader.Next blocks for the first line of a batch only, then adds the
// complete lines that are already buffered: on a pipe or a file a batch
// holds many lines, while a person typing at a terminal gets each line
// handled as soon as it is entered.
package lines

import (
	"bufio"
	"bytes"
	"io"
	"strings"
)

// Line is one line of input.
type Line struct {
	// Text is the line without its ending.
	Text string
	// EOL is the line's ending as found: "\n", "\r\n", or "" for a last
	// line without one.
	EOL string
}

// bufSize is the read buffer: lines already in it join the current batch.
const bufSize = 64 << 10

// Reader reads lines in batches.
type Reader struct {
	r   *bufio.Reader
	err error // sticky error (io.EOF at the end)
}

// NewReader returns a Reader of r. A *bufio.Reader of at least 64 KiB is
// used as it is, so lines already consumed from it stay consumed.
func NewReader(r io.Reader) *Reader {
	if br, ok := r.(*bufio.Reader); ok && br.Size() >= bufSize {
		return &Reader{r: br}
	}
	return &Reader{r: bufio.NewReaderSize(r, bufSize)}
}

// Next returns up to n lines (at least 1): it blocks until one line is
// read, then adds the lines already buffered. At the end of the input it
// returns io.EOF with no lines; a read error is returned after the lines
// read before it.
func (lr *Reader) Next(n int) ([]Line, error) {
	var out []Line
	for len(out) < max(n, 1) {
		if len(out) > 0 && !lr.lineBuffered() {
			break
		}
		l, ok := lr.read()
		if !ok {
			break
		}
		out = append(out, l)
	}
	if len(out) == 0 {
		return nil, lr.err
	}
	return out, nil
}

// Skip reads and discards n lines, returning how many it skipped (fewer
// at the end of the input, with the error that stopped it).
func (lr *Reader) Skip(n int) (int, error) {
	for i := range n {
		if _, ok := lr.read(); !ok {
			return i, lr.err
		}
	}
	return n, nil
}

// lineBuffered reports whether a complete line (or the end of the input)
// is already in the buffer, so reading it cannot block.
func (lr *Reader) lineBuffered() bool {
	if lr.err != nil {
		return false
	}
	b, _ := lr.r.Peek(lr.r.Buffered())
	return bytes.IndexByte(b, '\n') >= 0
}

// read reads one line; ok is false at the end or on an error (in lr.err).
func (lr *Reader) read() (Line, bool) {
	if lr.err != nil {
		return Line{}, false
	}
	s, err := lr.r.ReadString('\n')
	if err != nil {
		lr.err = err
		if s == "" {
			return Line{}, false
		}
	}
	l := Line{Text: s}
	switch {
	case strings.HasSuffix(s, "\r\n"):
		l.Text, l.EOL = s[:len(s)-2], "\r\n"
	case strings.HasSuffix(s, "\n"):
		l.Text, l.EOL = s[:len(s)-1], "\n"
	}
	return l, true
}
