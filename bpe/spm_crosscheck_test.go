package bpe

import (
	"bufio"
	"bytes"
	"fmt"
	"math/rand"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
)

// corpusDir finds the German–English corpus: $DEEN_CORPUS, else
// ../shared/corpus beside the repository. It is never committed.
func corpusDir(t testing.TB) string {
	dirs := []string{os.Getenv("DEEN_CORPUS"), filepath.Join("..", "..", "shared", "corpus")}
	for _, d := range dirs {
		if d == "" {
			continue
		}
		if _, err := os.Stat(filepath.Join(d, "tatoeba", "train.de")); err == nil {
			return d
		}
	}
	t.Skip("corpus not found: set DEEN_CORPUS or put it at ../shared/corpus beside the repository")
	return ""
}

// corpusLines returns up to n lines of file, taking every step-th line from
// line offset (0-based), skipping empty lines.
func corpusLines(t testing.TB, file string, offset, step, n int) []string {
	f, err := os.Open(file)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	var out []string
	sc := bufio.NewScanner(f)
	sc.Buffer(nil, 1<<20)
	for i := 0; sc.Scan() && len(out) < n; i++ {
		if i >= offset && (i-offset)%step == 0 && sc.Text() != "" {
			out = append(out, sc.Text())
		}
	}
	if err := sc.Err(); err != nil {
		t.Fatal(err)
	}
	return out
}

// trickyLines returns n random lines (fixed seed) mixing German words, runs
// of spaces, malformed UTF-8 bytes and characters from blocks the
// normaliser rewrites: Latin-1, combining marks, punctuation and spaces,
// enclosed and fullwidth forms, math letters, emoji, variation selectors,
// tags, CJK, Hangul, Greek, Cyrillic, Arabic, control characters.
func trickyLines(n int, seed int64) []string {
	r := rand.New(rand.NewSource(seed))
	blocks := [][2]rune{{0x20, 0x7e}, {0x20, 0x7e}, {0xa0, 0x17f}, {0x300, 0x36f}, {0x2000, 0x206f},
		{0x2460, 0x24ff}, {0x3000, 0x30ff}, {0xff00, 0xffef}, {0x1d400, 0x1d7ff}, {0x1f300, 0x1f6ff},
		{0x1, 0x1f}, {0xfe00, 0xfe0f}, {0x4e00, 0x4e80}, {0x1100, 0x11ff}, {0xac00, 0xac40},
		{0x2150, 0x218f}, {0x370, 0x3ff}, {0x400, 0x4ff}, {0x600, 0x6ff}, {0xe0000, 0xe007f},
		{0xfb00, 0xfb4f}, {0x1e00, 0x1eff}}
	words := []string{"der ", "Hund ", "und ", "A", "a", "ß", "ü", "é", "1.000", "€"}
	out := make([]string, n)
	for i := range out {
		var b strings.Builder
		for l := 1 + r.Intn(30); l > 0; l-- {
			switch x := r.Intn(20); {
			case x == 0:
				b.WriteString(" ")
			case x == 1:
				b.WriteString("  ")
			case x == 2:
				b.WriteByte(byte(0x80 + r.Intn(0x80)))
			case x < 6:
				b.WriteString(words[r.Intn(len(words))])
			default:
				bl := blocks[r.Intn(len(blocks))]
				c := bl[0] + rune(r.Intn(int(bl[1]-bl[0]+1)))
				if c == '\n' || c == '\r' {
					c = ' '
				}
				b.WriteRune(c)
			}
		}
		out[i] = b.String()
	}
	return out
}

// crossCheckLines are 32,000 German and English corpus lines the models in
// testdata/spm were not trained on, the one-line tokenizer vectors and
// 4,000 random tricky lines.
func crossCheckLines(t testing.TB) []string {
	dir := corpusDir(t)
	var lines []string
	for _, f := range []string{"tatoeba/train.de", "tatoeba/train.en", "multi30k/train.de", "multi30k/train.en"} {
		lines = append(lines, corpusLines(t, filepath.Join(dir, f), 2, 3, 8000)...)
	}
	for _, v := range loadVectors(t) {
		if !strings.Contains(v.Text, "\n") {
			lines = append(lines, v.Text)
		}
	}
	return append(lines, trickyLines(4000, 1)...)
}

// runSPM runs a SentencePiece command with lines on stdin and returns its
// output lines.
func runSPM(t testing.TB, name string, input []string, args ...string) []string {
	t.Helper()
	cmd := exec.Command(name, args...)
	cmd.Stdin = strings.NewReader(strings.Join(input, "\n") + "\n")
	var stderr bytes.Buffer
	cmd.Stderr = &stderr
	out, err := cmd.Output()
	if err != nil {
		t.Fatalf("%s %v: %v\n%s", name, args, err, stderr.String())
	}
	got := strings.Split(strings.TrimSuffix(string(out), "\n"), "\n")
	if len(got) != len(input) {
		t.Fatalf("%s printed %d lines for %d", name, len(got), len(input))
	}
	return got
}

// TestSPMCrossCheck encodes ≥32,000 corpus lines (and tricky random ones) with Google's spm_encode
// and with this package, for models trained by spm_train (testdata/spm, the
// oracle models) and by Train, and requires identical pieces and ids line
// for line; spm_decode must agree with DecodeIDs. It skips when the corpus
// or spm_encode is absent (.ci/run installs the Debian package
// sentencepiece).
func TestSPMCrossCheck(t *testing.T) {
	if testing.Short() {
		t.Skip("-short")
	}
	for _, tool := range []string{"spm_encode", "spm_decode"} {
		if _, err := exec.LookPath(tool); err != nil {
			t.Skipf("%s not found (apt-get install sentencepiece)", tool)
		}
	}
	lines := crossCheckLines(t)
	tmp := t.TempDir()
	models := map[string]string{
		"oracle_source":   filepath.Join(oracleDir, "tiny-marian-A/source.spm"),
		"oracle_target":   filepath.Join(oracleDir, "tiny-marian-A/target.spm"),
		"oracle_jointbpe": filepath.Join(oracleDir, "joint_bpe.spm"),
	}
	spmModels, _ := filepath.Glob("testdata/spm/*.model")
	for _, p := range spmModels {
		models["spm_train_"+strings.TrimSuffix(filepath.Base(p), ".model")] = p
	}
	// Our trainer, on lines disjoint from the check lines.
	dir := corpusDir(t)
	var train []string
	for _, f := range []string{"tatoeba/train.de", "tatoeba/train.en"} {
		train = append(train, corpusLines(t, filepath.Join(dir, f), 0, 3, 30000)...)
	}
	for _, kind := range []struct {
		name string
		typ  ModelType
	}{{"train_bpe", BPE}, {"train_unigram", Unigram}} {
		ours, err := Train(train, TrainConfig{VocabSize: 4000, ModelType: kind.typ})
		if err != nil {
			t.Fatal(err)
		}
		models[kind.name] = filepath.Join(tmp, kind.name+".model")
		if err := os.WriteFile(models[kind.name], ours.Bytes(), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	// A BPE model with UNUSED pieces, to check resegmentation.
	models["spm_train_bpe_unused"] = filepath.Join(tmp, "bpe_unused.model")
	if err := os.WriteFile(models["spm_train_bpe_unused"], withUnusedPieces(t, "testdata/spm/bpe.model"), 0o644); err != nil {
		t.Fatal(err)
	}
	for name, path := range models {
		t.Run(name, func(t *testing.T) {
			data, err := os.ReadFile(path)
			if err != nil {
				t.Fatal(err)
			}
			m, err := Load(data)
			if err != nil {
				t.Fatal(err)
			}
			wantPieces := runSPM(t, "spm_encode", lines, "--model="+path, "--output_format=piece")
			wantIDs := runSPM(t, "spm_encode", lines, "--model="+path, "--output_format=id")
			wantText := runSPM(t, "spm_decode", wantIDs, "--model="+path, "--input_format=id")
			bad := 0
			for i, line := range lines {
				toks := m.Encode(line)
				pieces := make([]string, len(toks))
				ids := make([]string, len(toks))
				idv := make([]int32, len(toks))
				for j, tk := range toks {
					pieces[j], ids[j], idv[j] = tk.Piece, strconv.Itoa(int(tk.ID)), tk.ID
				}
				text, err := m.DecodeIDs(idv)
				if got := strings.Join(pieces, " "); got != wantPieces[i] || strings.Join(ids, " ") != wantIDs[i] || err != nil || text != wantText[i] {
					bad++
					if bad <= 5 {
						t.Errorf("line %d %q:\n ours %q %v %q\n spm  %q %v %q", i, line, got, ids, text, wantPieces[i], wantIDs[i], wantText[i])
					}
				}
			}
			if bad > 0 {
				t.Errorf("%d of %d lines differ", bad, len(lines))
			}
			t.Logf("%d lines agree with spm_encode/spm_decode", len(lines)-bad)
		})
	}
}

// withUnusedPieces returns the model file with every 5th normal piece of
// two or more characters marked UNUSED.
func withUnusedPieces(t testing.TB, path string) []byte {
	data, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	mp, err := parseModelProto(data)
	if err != nil {
		t.Fatal(err)
	}
	n := 0
	for i, p := range mp.pieces {
		if p.Type == Normal && len([]rune(p.Piece)) > 1 {
			if n++; n%5 == 0 {
				mp.pieces[i].Type = Unused
			}
		}
	}
	if n < 5 {
		t.Fatal(fmt.Sprintf("%s has too few pieces", path))
	}
	return marshalModelProto(mp)
}
