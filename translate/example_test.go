package translate_test

import (
	"context"
	"fmt"
	"log"

	"github.com/deen-mt/deen/marian"
	"github.com/deen-mt/deen/translate"
)

// The examples use tiny-marian-A, a checkpoint with random weights from the
// test oracle: its "translations" are nonsense, but they are exactly what
// Hugging Face transformers computes for it (testdata/oracle/refs_A.json).

func Example() {
	m, err := marian.Load("../testdata/oracle/tiny-marian-A") // or translate.Load("model.deen")
	if err != nil {
		log.Fatal(err)
	}
	tr, err := translate.New(m, translate.WithBeamSize(1))
	if err != nil {
		log.Fatal(err)
	}
	en, err := tr.Translate(context.Background(), "Die Katze schläft auf dem warmen Sofa.")
	if err != nil {
		log.Fatal(err)
	}
	fmt.Println(en)
	// Output: Information Information fightorangen Gokart
}

func ExampleTranslator_TranslateIDs() {
	m, err := marian.Load("../testdata/oracle/tiny-marian-A")
	if err != nil {
		log.Fatal(err)
	}
	tr, err := translate.New(m)
	if err != nil {
		log.Fatal(err)
	}
	// Hugging Face's settings: 4 beams, length penalty 1, 32 new tokens, no length guard.
	opts := translate.SearchOptions{BeamSize: 4, LengthPenalty: 1, MaxNewTokens: 32}
	src := [][]int32{{8, 69, 144, 90, 34, 943, 757, 2, 0}} // "Ein Hund springt über einen hohen Zaun."
	res, err := tr.TranslateIDs(context.Background(), src, opts)
	if err != nil {
		log.Fatal(err)
	}
	fmt.Printf("ids %v score %.3f, %d hypotheses\n", res[0].IDs, res[0].Score, len(res[0].NBest))
	// Output: ids [0] score -0.838, 4 hypotheses
}
