package spans

import (
	"strings"
	"testing"
)

// tags returns the tags, comments and other markup of s in order.
func tags(s string) []string {
	var out []string
	for _, t := range tokenize(s) {
		if t.kind != tokText {
			out = append(out, t.raw)
		}
	}
	return out
}

func TestParseHTMLSegments(t *testing.T) {
	for _, c := range []struct {
		in   string
		segs []string
	}{
		{"<p>Bitte <strong>nicht</strong> stören.</p>", []string{"Bitte nicht stören."}},
		{"<ul>\n  <li>Eins</li>\n  <li>Zwei\n  Drei</li></ul>", []string{"Eins", "Zwei Drei"}},
		{"<div translate=\"no\">Hallo</div><pre>x y</pre><script>a<b</script><style>p{}</style><p>Ja</p>", []string{"Ja"}},
		{"<p>Tippe <code>git status</code> &amp; M&uuml;ller<br>weiter</p>", []string{"Tippe git status &amp; Müller", "weiter"}},
		{"Text <b>ohne <i>Ende", []string{"Text ohne Ende"}},
		{"<p>a <span translate=\"no\">Name</span> b</p>", []string{"a Name b"}},
	} {
		d := ParseHTML(c.in)
		var got []string
		for _, s := range d.Segments {
			if s.Text != "" {
				got = append(got, s.Text)
			}
		}
		if strings.Join(got, "|") != strings.Join(c.segs, "|") {
			t.Errorf("ParseHTML(%q) segments %q, want %q", c.in, got, c.segs)
		}
		if out := d.Render(nil); strings.Join(tags(out), "") != strings.Join(tags(c.in), "") {
			t.Errorf("Render(nil) of %q = %q: tags changed", c.in, out)
		}
	}
}

func TestRenderPlacesTagsByAlignment(t *testing.T) {
	for _, c := range []struct {
		in, tr string
		pairs  []int
		want   string
	}{
		{`Lies den <a href="https://example.org/agb">Vertrag</a> bis zum Ende.`, "Read the contract to the end.", []int{0, 1, 2, 4, 4, 5},
			`Read the <a href="https://example.org/agb">contract</a> to the end.`},
		// Word order changes: the tag follows its word.
		{"<p>Gestern habe ich <b>den Hund</b> gesehen.</p>", "Yesterday I saw the dog.", []int{0, 2, 5, 3, 4},
			"<p>Yesterday I saw <b>the dog</b>.</p>"},
		{"<p>Das ist ein <em>wichtiger</em> Hinweis &amp; mehr.</p>", "This is an important note &amp; more.", []int{0, 1, 2, 3, 4, 5, 6},
			"<p>This is an <em>important</em> note &amp; more.</p>"},
		// No alignment: relative position, at word starts.
		{"<p>Eins <b>zwei</b> drei</p>", "One two three", nil, "<p>One <b>two</b> three</p>"},
	} {
		d := ParseHTML(c.in)
		var tr []Translation
		for _, s := range d.Segments {
			var al *Alignment
			if c.pairs != nil {
				al = wordAlign(s.Text, c.tr, c.pairs)
			}
			tr = append(tr, Translation{Text: c.tr, Align: al})
		}
		if got := d.Render(tr); got != c.want {
			t.Errorf("Render(%q → %q) = %q, want %q", c.in, c.tr, got, c.want)
		}
	}
}

func TestEscapeText(t *testing.T) {
	for in, want := range map[string]string{"a < b": "a &lt; b", "Tom & Jerry": "Tom & Jerry", "&amp; &x1": "&amp; &amp;x1", "<b>": "&lt;b>"} {
		if got := escapeText(in); got != want {
			t.Errorf("escapeText(%q) = %q, want %q", in, got, want)
		}
	}
}

// On any input, Render keeps the tag sequence exactly, both with the
// source text as translation and with reversed words under a reversing
// alignment.
func FuzzHTML(f *testing.F) {
	for _, s := range []string{"<p>Bitte <strong>nicht</strong> stören.</p>", `<a href="x>y">a</a> <b>b<i>c</b>d</i>`,
		"<script>a</scr<b>ipt>", "<!-- x <p>", "<p translate=no>x<p>y", "<code>a<b>c</b></code> z", "a &amp; &auml; &#99999999; <", "<b x='", "<br/><img src=a>x"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		d := ParseHTML(s)
		want := strings.Join(tags(s), "\x00")
		if got := d.Render(nil); strings.Join(tags(got), "\x00") != want {
			t.Fatalf("Render(nil) of %q = %q: tags changed", s, got)
		}
		var tr []Translation
		for _, seg := range d.Segments {
			w := splitWords(seg.Text)
			var rev []string
			pairs := make([]int, len(w))
			for j := range w {
				rev = append(rev, seg.Text[w[len(w)-1-j].Start:w[len(w)-1-j].End])
				pairs[j] = len(w) - 1 - j
			}
			text := strings.Join(rev, " ") + " <x> & y"
			tr = append(tr, Translation{Text: text, Align: wordAlign(seg.Text, text, pairs)})
		}
		if got := d.Render(tr); strings.Join(tags(got), "\x00") != want {
			t.Fatalf("Render(reversed) of %q = %q: tags changed", s, got)
		}
	})
}
