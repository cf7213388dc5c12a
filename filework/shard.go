package filework

import (
	"bufio"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"

	"github.com/deen-mt/deen/internal/atomicfile"
)

// partInfix marks the output of one part of a file: OUT.deen-part-I-of-N.
const partInfix = ".deen-part-"

// partName matches the suffix of a part's output after OUT.
var partName = regexp.MustCompile(`^\.deen-part-(\d+)-of-(\d+)$`)

// Shard returns the work of shard i of n (0 ≤ i < n): with at least n
// files, the files i, i+n, i+2n, … of files (by file); with fewer, part i
// of every file (see Part), whose outputs Merge puts together. files must
// be what Collect returned for the same paths on every shard (before
// anything is left out), so that the shards are disjoint and together
// cover everything.
func Shard(files []*File, i, n int) ([]*File, error) {
	if n < 1 || i < 0 || i >= n {
		return nil, fmt.Errorf("shard %d/%d: want I/N with 0 ≤ I < N", i, n)
	}
	var out []*File
	for k, f := range files {
		switch {
		case len(files) < n:
			out = append(out, f.Part(i, n))
		case k%n == i:
			out = append(out, f)
		}
	}
	return out, nil
}

// Part returns part i of n of f: a File of its own whose output is
// OUT.deen-part-I-of-N and which translates the lines from i·L/n to
// (i+1)·L/n of the input's L lines (set by its Check), resumable like any
// file. Merge appends the parts' outputs into OUT.
func (f *File) Part(i, n int) *File {
	return &File{In: f.In, Out: fmt.Sprintf("%s%s%d-of-%d", f.Out, partInfix, i, n), whole: f, part: i, parts: n}
}

// Merge assembles f's output from the parts that shards wrote
// (OUT.deen-part-I-of-N for every I from 0 to N-1): their bytes in order,
// written atomically, then the parts are removed. It returns false and no
// error when f has no finished parts; an error names the missing ones.
func Merge(f *File) (bool, error) {
	matches, err := filepath.Glob(globEscape(f.Out) + partInfix + "*")
	if err != nil {
		return false, err
	}
	n := 0
	have := map[int]string{}
	for _, m := range matches {
		sub := partName.FindStringSubmatch(m[len(f.Out):])
		if sub == nil {
			continue // a partial file or checkpoint of a part
		}
		i, _ := strconv.Atoi(sub[1])
		parts, _ := strconv.Atoi(sub[2])
		if n != 0 && parts != n {
			return false, fmt.Errorf("%s: parts of different splits (%d and %d); remove the stale ones", f.Out, n, parts)
		}
		n, have[i] = parts, m
	}
	if n == 0 {
		return false, nil
	}
	var missing []string
	for i := range n {
		if _, ok := have[i]; !ok {
			missing = append(missing, strconv.Itoa(i))
		}
	}
	if len(missing) > 0 {
		return false, fmt.Errorf("%s: parts %s of %d are missing (run those --shard I/%d first)", f.Out, strings.Join(missing, ", "), n, n)
	}
	err = atomicfile.Write(f.Out, "merged output", func(w io.Writer) error {
		for i := range n {
			if err := appendFile(w, have[i]); err != nil {
				return err
			}
		}
		return nil
	})
	if err != nil {
		return false, err
	}
	for i := range n {
		if err := os.Remove(have[i]); err != nil && !errors.Is(err, os.ErrNotExist) {
			return true, err
		}
	}
	return true, nil
}

// appendFile copies the file at path to w.
func appendFile(w io.Writer, path string) error {
	f, err := os.Open(path)
	if err != nil {
		return err
	}
	defer f.Close()
	_, err = io.Copy(w, f)
	return err
}

// globEscape escapes the pattern characters of a path for filepath.Glob.
func globEscape(path string) string {
	var b strings.Builder
	for _, r := range path {
		if strings.ContainsRune(`*?[\`, r) {
			b.WriteByte('\\')
		}
		b.WriteRune(r)
	}
	return b.String()
}

// lineLimit reads at most n more lines from r.
type lineLimit struct {
	r   *bufio.Reader
	n   int64
	buf []byte // the rest of the current line
}

func (l *lineLimit) Read(p []byte) (int, error) {
	for len(l.buf) == 0 {
		if l.n <= 0 {
			return 0, io.EOF
		}
		line, err := l.r.ReadSlice('\n')
		switch {
		case err == nil || (err == io.EOF && len(line) > 0):
			l.n-- // a whole line, or the last one without a line end
		case errors.Is(err, bufio.ErrBufferFull):
			// the line goes on in the next read
		default:
			return 0, err
		}
		l.buf = line
	}
	n := copy(p, l.buf)
	l.buf = l.buf[n:]
	return n, nil
}
