package lines

import (
	"errors"
	"io"
	"reflect"
	"strings"
	"testing"
	"testing/iotest"
)

func readAll(t *testing.T, r io.Reader, n int) ([][]Line, error) {
	t.Helper()
	lr := NewReader(r)
	var batches [][]Line
	for {
		b, err := lr.Next(n)
		if len(b) > 0 {
			batches = append(batches, b)
		}
		if err != nil {
			if err == io.EOF {
				return batches, nil
			}
			return batches, err
		}
	}
}

func TestEndingsKept(t *testing.T) {
	in := "a\r\nb\n\n\r\nlast"
	batches, err := readAll(t, strings.NewReader(in), 100)
	if err != nil {
		t.Fatal(err)
	}
	want := []Line{{"a", "\r\n"}, {"b", "\n"}, {"", "\n"}, {"", "\r\n"}, {"last", ""}}
	var got []Line
	for _, b := range batches {
		got = append(got, b...)
	}
	if !reflect.DeepEqual(got, want) {
		t.Fatalf("got %q, want %q", got, want)
	}
	var back strings.Builder
	for _, l := range got {
		back.WriteString(l.Text + l.EOL)
	}
	if back.String() != in {
		t.Fatalf("rejoined %q, want %q", back.String(), in)
	}
}

func TestBatchLimitAndEmpty(t *testing.T) {
	batches, err := readAll(t, strings.NewReader("1\n2\n3\n4\n5\n"), 2)
	if err != nil {
		t.Fatal(err)
	}
	if len(batches) != 3 || len(batches[0]) != 2 || len(batches[2]) != 1 || batches[2][0].Text != "5" {
		t.Fatalf("batches %q, want 2+2+1 lines", batches)
	}
	if batches, err := readAll(t, strings.NewReader(""), 4); err != nil || len(batches) != 0 {
		t.Fatalf("empty input: %q %v", batches, err)
	}
}

// trickle returns one line per Read, as a terminal does.
type trickle struct{ lines []string }

func (tr *trickle) Read(p []byte) (int, error) {
	if len(tr.lines) == 0 {
		return 0, io.EOF
	}
	n := copy(p, tr.lines[0])
	tr.lines = tr.lines[1:]
	return n, nil
}

func TestInteractiveOneLineAtATime(t *testing.T) {
	// Next must not wait for a second line that has not arrived yet.
	batches, err := readAll(t, &trickle{lines: []string{"eins\n", "zwei\n", "drei\n"}}, 10)
	if err != nil {
		t.Fatal(err)
	}
	if len(batches) != 3 {
		t.Fatalf("got %d batches %q, want one per line", len(batches), batches)
	}
}

type failing struct{ r io.Reader }

var errBroken = errors.New("broken")

func (f failing) Read(p []byte) (int, error) {
	n, err := f.r.Read(p)
	if err == io.EOF {
		return n, errBroken
	}
	return n, err
}

func TestReadErrorAfterLines(t *testing.T) {
	batches, err := readAll(t, failing{strings.NewReader("a\nb")}, 10)
	if !errors.Is(err, errBroken) {
		t.Fatalf("error %v, want %v", err, errBroken)
	}
	var got []string
	for _, b := range batches {
		for _, l := range b {
			got = append(got, l.Text)
		}
	}
	if !reflect.DeepEqual(got, []string{"a", "b"}) {
		t.Fatalf("lines before the error %q", got)
	}
}

func TestSkip(t *testing.T) {
	lr := NewReader(strings.NewReader("1\n2\n3\n"))
	if n, err := lr.Skip(2); n != 2 || err != nil {
		t.Fatalf("Skip(2) = %d, %v", n, err)
	}
	b, err := lr.Next(10)
	if err != nil || len(b) != 1 || b[0].Text != "3" {
		t.Fatalf("after skip: %q %v", b, err)
	}
	if n, err := lr.Skip(5); n != 0 || err != io.EOF {
		t.Fatalf("Skip past the end = %d, %v", n, err)
	}
}

func TestLongLine(t *testing.T) {
	long := strings.Repeat("x", 3*bufSize+17)
	batches, err := readAll(t, strings.NewReader("a\n"+long+"\r\nb\n"), 10)
	if err != nil {
		t.Fatal(err)
	}
	var got []Line
	for _, b := range batches {
		got = append(got, b...)
	}
	if len(got) != 3 || got[1].Text != long || got[1].EOL != "\r\n" || got[2].Text != "b" {
		t.Fatalf("a line longer than the buffer: %d lines", len(got))
	}
}

func FuzzReader(f *testing.F) {
	for _, s := range []string{"", "a", "a\r\nb\n", "\r\n\r", "\n\n\nx", "\r"} {
		f.Add(s, uint8(3))
	}
	f.Fuzz(func(t *testing.T, s string, n uint8) {
		// Whatever the reads and batch size: lines hold no line feed, end
		// with a known ending, and rejoin to the input.
		for _, r := range []io.Reader{strings.NewReader(s), iotest.OneByteReader(strings.NewReader(s))} {
			batches, err := readAll(t, r, int(n))
			if err != nil {
				t.Fatal(err)
			}
			var back strings.Builder
			for _, b := range batches {
				if len(b) == 0 || len(b) > max(int(n), 1) {
					t.Fatalf("batch of %d lines for n=%d", len(b), n)
				}
				for _, l := range b {
					if strings.Contains(l.Text, "\n") || (l.EOL != "\n" && l.EOL != "\r\n" && l.EOL != "") {
						t.Fatalf("bad line %q", l)
					}
					back.WriteString(l.Text + l.EOL)
				}
			}
			if back.String() != s {
				t.Fatalf("rejoined %q, want %q", back.String(), s)
			}
		}
	})
}
