package hub

import (
	"encoding/json"
	"strings"
	"testing"
)

// FuzzParseName: any string gives a repository id or an error, never a
// panic; an accepted id has one slash, and its cache key maps back to it.
func FuzzParseName(f *testing.F) {
	for _, s := range []string{"opus-mt-de-en", "Helsinki-NLP/opus-mt-de-en", "a/b/c", "../x", "a/b--c", "wmt19-de-en", "x/.y", "ü/ö"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, name string) {
		repo, err := ParseName(name)
		if err != nil {
			return
		}
		if strings.Count(repo, "/") != 1 || strings.Contains(repo, "..") || strings.ContainsAny(repo, "\\\x00 ") {
			t.Fatalf("ParseName(%q) accepted %q", name, repo)
		}
		if back := strings.Replace(cacheKey(repo), "--", "/", 1); back != repo {
			t.Fatalf("cache key %q of %q maps back to %q", cacheKey(repo), repo, back)
		}
	})
}

// FuzzParseManifest: any bytes give a manifest or an error, never a panic;
// an accepted manifest survives a round trip and names no path outside
// its directory.
func FuzzParseManifest(f *testing.F) {
	good := `{"format":1,"repo":"Helsinki-NLP/opus-mt-de-en","revision":"main","endpoint":"https://huggingface.co","dtype":"f16",` +
		`"parameters":74410496,"size":150000000,"files":[{"name":"config.json","size":1,"sha256":"` + strings.Repeat("0", 64) + `","verified":false}],"created":"2026-11-30T20:00:00Z"}`
	for _, s := range []string{good, "{}", `{"format":1}`, strings.Replace(good, "config.json", "../x", 1), "[", ""} {
		f.Add([]byte(s))
	}
	f.Fuzz(func(t *testing.T, b []byte) {
		m, err := ParseManifest(b)
		if err != nil {
			return
		}
		for _, file := range m.Files {
			if strings.ContainsAny(file.Name, `/\`) || file.Name == ".." {
				t.Fatalf("accepted file name %q", file.Name)
			}
		}
		again, err := json.Marshal(m)
		if err != nil {
			t.Fatal(err)
		}
		if _, err := ParseManifest(again); err != nil {
			t.Fatalf("round trip: %v", err)
		}
	})
}

func TestParseManifestErrors(t *testing.T) {
	for _, c := range []struct{ in, want string }{
		{`{"format":2,"repo":"a/b","revision":"main","dtype":"f16"}`, "format 2"},
		{`{"format":1,"repo":"a","revision":"main","dtype":"f16"}`, "not a model name"},
		{`{"format":1,"repo":"a/b","revision":"","dtype":"f16"}`, "revision"},
		{`{"format":1,"repo":"a/b","revision":"main","dtype":"bf16"}`, `dtype "bf16"`},
		{`{"format":1,"repo":"a/b","revision":"main","dtype":"f16","files":[{"name":"../x","sha256":"` + strings.Repeat("0", 64) + `"}]}`, `file name "../x"`},
		{`{"format":1,"repo":"a/b","revision":"main","dtype":"f16","files":[{"name":"x","sha256":"zz"}]}`, `sha256 "zz"`},
		{`{"format":1,"repo":"a/b","revision":"main","dtype":"f16","size":-1}`, "negative"},
		{`{"format":1,"repo":"a/b","revision":"main","dtype":"f16","commit":"\u001b[31m"}`, "commit"},
		{`nope`, "manifest: invalid character"},
	} {
		if _, err := ParseManifest([]byte(c.in)); err == nil || !strings.Contains(err.Error(), c.want) {
			t.Errorf("%s: err = %v, want %q", c.in, err, c.want)
		}
	}
	if _, err := ParseManifest(make([]byte, maxManifest+1)); err == nil {
		t.Error("no error for an oversized manifest")
	}
}
