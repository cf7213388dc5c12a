package main

import (
	"bufio"
	"bytes"
	"fmt"
	"io"
)

// textInput passes text through whole line by whole line and fails at the
// first line holding a NUL byte before any of that line is passed on, so
// binary input is refused (as files does) and the lines before it are
// translated. The error does not name the line: the reader of the text
// counts lines and says which one it was reading.
type textInput struct {
	r       *bufio.Reader
	pending []byte // the rest of the current line
	err     error  // after pending
}

// newTextInput wraps r.
func newTextInput(r io.Reader) *textInput {
	return &textInput{r: bufio.NewReaderSize(r, 64<<10)}
}

func (t *textInput) Read(p []byte) (int, error) {
	for len(t.pending) == 0 {
		if t.err != nil {
			return 0, t.err
		}
		var line []byte
		line, t.err = t.r.ReadBytes('\n')
		if i := bytes.IndexByte(line, 0); i >= 0 {
			t.err = fmt.Errorf("NUL byte at byte %d of the line: the input looks binary; only UTF-8 text is translated (for files: translate files PATH)", i+1)
			line = nil
		}
		t.pending = line
	}
	n := copy(p, t.pending)
	t.pending = t.pending[n:]
	return n, nil
}
