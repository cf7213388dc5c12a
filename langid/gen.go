//go:build ignore

// gen.go builds model.bin from the Tatoeba training pairs, holding out the
// translation trainer's dev pairs (FNV-1a of the normalised German side
// mod 50 == 0), and prints the accuracy on them:
//
//	go run gen.go -corpus ../../shared/corpus/tatoeba
package main

import (
	"bufio"
	"flag"
	"fmt"
	"hash/fnv"
	"log"
	"math"
	"os"
	"path/filepath"
	"strings"

	"github.com/deen-mt/deen/langid"
)

func main() {
	dir := flag.String("corpus", "../../shared/corpus/tatoeba", "folder with train.de and train.en")
	flag.Parse()
	de, en := readLines(filepath.Join(*dir, "train.de")), readLines(filepath.Join(*dir, "train.en"))
	if len(de) != len(en) {
		log.Fatal("train.de and train.en differ in length")
	}
	var counts [2][]float64
	var devDe, devEn []string
	for l := range counts {
		counts[l] = make([]float64, 1<<15)
	}
	inDev := map[string]bool{}
	for i := range de {
		if isDev(de[i]) {
			devDe, devEn = append(devDe, de[i]), append(devEn, en[i])
			inDev[norm(de[i])], inDev[norm(en[i])] = true, true
		}
	}
	for i := range de {
		if inDev[norm(de[i])] || inDev[norm(en[i])] {
			continue // dev, or shares a sentence with dev
		}
		for l, s := range []string{de[i], en[i]} {
			langid.Trigrams(s, func(h uint32) { counts[l][h%(1<<15)]++ })
		}
	}
	var logp [2][]float32
	for l, c := range counts {
		total := 0.0
		for _, v := range c {
			total += v + 0.5
		}
		logp[l] = make([]float32, len(c))
		for b, v := range c {
			logp[l][b] = float32(math.Log((v + 0.5) / total))
		}
	}
	bin, err := langid.Encode(logp)
	if err != nil {
		log.Fatal(err)
	}
	if err := os.WriteFile("model.bin", bin, 0o644); err != nil {
		log.Fatal(err)
	}
	d, err := langid.Load(bin)
	if err != nil {
		log.Fatal(err)
	}
	okDe, okEn := 0, 0
	for _, s := range devDe {
		if d.IsGerman(s) {
			okDe++
		}
	}
	for _, s := range devEn {
		if !d.IsGerman(s) {
			okEn++
		}
	}
	fmt.Printf("held-out dev pairs: %d; German recognised %.2f%%, English recognised %.2f%%\n",
		len(devDe), 100*float64(okDe)/float64(len(devDe)), 100*float64(okEn)/float64(len(devEn)))
}

// isDev is the translation trainer's dev rule.
func isDev(de string) bool {
	h := fnv.New64a()
	h.Write([]byte(norm(de)))
	return h.Sum64()%50 == 0
}

func norm(s string) string { return strings.Join(strings.Fields(strings.ToLower(s)), " ") }

func readLines(path string) []string {
	f, err := os.Open(path)
	if err != nil {
		log.Fatal(err)
	}
	defer f.Close()
	var out []string
	sc := bufio.NewScanner(f)
	sc.Buffer(make([]byte, 1<<20), 1<<20)
	for sc.Scan() {
		out = append(out, sc.Text())
	}
	return out
}
