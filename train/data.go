package train

import (
	"bufio"
	"fmt"
	"hash/fnv"
	"os"
	"strings"
)

// Pair is one aligned German/English sentence pair.
type Pair struct {
	// De is the German (source) sentence, En its English translation.
	De, En string
}

// ReadPairs reads two line-aligned UTF-8 files, one sentence per line.
// Lines are trimmed; pairs with an empty side are skipped. The files must
// have the same number of lines.
func ReadPairs(srcPath, tgtPath string) ([]Pair, error) {
	src, err := readLines(srcPath)
	if err != nil {
		return nil, err
	}
	tgt, err := readLines(tgtPath)
	if err != nil {
		return nil, err
	}
	if len(src) != len(tgt) {
		return nil, fmt.Errorf("%s has %d lines but %s has %d: the files must align line by line", srcPath, len(src), tgtPath, len(tgt))
	}
	pairs := make([]Pair, 0, len(src))
	for i := range src {
		de, en := strings.TrimSpace(src[i]), strings.TrimSpace(tgt[i])
		if de == "" || en == "" {
			continue
		}
		pairs = append(pairs, Pair{De: de, En: en})
	}
	if len(pairs) == 0 {
		return nil, fmt.Errorf("%s and %s hold no sentence pair", srcPath, tgtPath)
	}
	return pairs, nil
}

// readLines returns the lines of a file without their line endings.
func readLines(path string) ([]string, error) {
	f, err := os.Open(path)
	if err != nil {
		return nil, err
	}
	defer f.Close()
	var lines []string
	sc := bufio.NewScanner(f)
	sc.Buffer(make([]byte, 1<<20), 1<<24)
	for sc.Scan() {
		lines = append(lines, strings.TrimSuffix(sc.Text(), "\r"))
	}
	if err := sc.Err(); err != nil {
		return nil, fmt.Errorf("reading %s: %v", path, err)
	}
	return lines, nil
}

// Normalize is the form under which sentences are compared for the dev
// split: lower case, inner whitespace runs collapsed to one space.
func Normalize(s string) string {
	return strings.Join(strings.Fields(strings.ToLower(s)), " ")
}

// hashKey is the 64-bit FNV-1a hash of a normalised sentence.
func hashKey(s string) uint64 {
	h := fnv.New64a()
	h.Write([]byte(Normalize(s)))
	return h.Sum64()
}

// SplitDev splits pairs into a training set and a development set. A pair
// goes to dev when the hash of its normalised German side is 0 mod k; every
// training pair whose normalised German or English sentence occurs in dev is
// then dropped, so the two sets share no sentence on either side. Duplicate
// dev pairs (same normalised German and English) are kept once. The split
// depends only on the text, never on order or seed.
func SplitDev(pairs []Pair, k int) (trainSet, dev []Pair, err error) {
	if k < 2 {
		return nil, nil, fmt.Errorf("dev split modulus %d is too small (want >= 2)", k)
	}
	devDe, devEn := map[string]bool{}, map[string]bool{}
	seen := map[[2]string]bool{}
	for _, p := range pairs {
		if hashKey(p.De)%uint64(k) != 0 {
			continue
		}
		de, en := Normalize(p.De), Normalize(p.En)
		devDe[de], devEn[en] = true, true
		if !seen[[2]string{de, en}] {
			seen[[2]string{de, en}] = true
			dev = append(dev, p)
		}
	}
	for _, p := range pairs {
		if devDe[Normalize(p.De)] || devEn[Normalize(p.En)] {
			continue
		}
		trainSet = append(trainSet, p)
	}
	return trainSet, dev, nil
}
