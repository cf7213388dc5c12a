package translate_test

import (
	"context"
	"errors"
	"fmt"
	"log"
	"os"
	"strings"

	"github.com/deen-mt/deen/marian"
	"github.com/deen-mt/deen/translate"
)

// The examples use tiny-marian-A, a checkpoint with random weights from the
// test oracle: its "translations" are nonsense, but they are exactly what
// Hugging Face transformers computes for it (testdata/oracle/refs_A.json,
// whose beam4_lp1.0 texts the outputs below are).

// tinyMarian loads tiny-marian-A into a Translator with opts, as Example
// does step by step.
func tinyMarian(opts ...translate.Option) *translate.Translator {
	m, err := marian.Load("../testdata/oracle/tiny-marian-A")
	if err != nil {
		log.Fatal(err)
	}
	tr, err := translate.New(m, opts...)
	if err != nil {
		log.Fatal(err)
	}
	return tr
}

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
	tr := tinyMarian() // marian.Load and translate.New, as in Example
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

func ExampleSplitSentences() {
	for _, s := range translate.SplitSentences("Am 3. Mai kommt z. B. Dr. Müller. Er bringt 2.5 kg Äpfel mit! „Wirklich?“ Ja.") {
		fmt.Println(s)
	}
	// Output:
	// Am 3. Mai kommt z. B. Dr. Müller.
	// Er bringt 2.5 kg Äpfel mit!
	// „Wirklich?“
	// Ja.
}

func ExampleTranslator_TranslateStream() {
	// The reference settings of refs_A.json: 4 beams, 32 new tokens, no guard.
	tr := tinyMarian(translate.WithMaxNewTokens(32), translate.WithLengthGuard(0, 0))
	in := strings.NewReader("Kannst du mir bitte das Salz geben? Die Katze schläft auf dem warmen Sofa.\n\nWir treffen uns um halb acht vor dem Kino.\n")
	// One output line per input line, written as each batch of lines is done.
	if err := tr.TranslateStream(context.Background(), in, os.Stdout); err != nil {
		log.Fatal(err)
	}
	// Output:
	// rechte rechte rechte rechte rechte rechte rechte rechte rechte rechte rechte rechte rechte rechte rechte rechte rechte rechte rechte rechte rechte rechte rechte rechte rechte rechte rechte rechte rechte rechte rechte Vorstellung Segel walking Jo lock walking Vorstellung Vorstellung Vorstellung Vorstellung Vorstellung Vorstellung Vorstellung Vorstellung Vorstellung Vorstellung Vorstellung Vorstellung Vorstellung Vorstellung Vorstellung Vorstellung Vorstellung Vorstellung Vorstellung Vorstellung Vorstellung Vorstellung Vorstellung Vorstellung Vorstellung
	//
	// soundly sound sound sound sound sound characters characters characters characters characters sound characters sound characters sound sound sound sound sound sound sound sound sound sound sound sound sound sound sound
}

func ExampleTranslator_TranslateBatch() {
	tr := tinyMarian(translate.WithMaxNewTokens(32), translate.WithLengthGuard(0, 0))
	// Decoded together, returned in input order.
	out, err := tr.TranslateBatch(context.Background(), []string{"Kannst du mir bitte das Salz geben?", "Die Katze schläft auf dem warmen Sofa."})
	if err != nil {
		log.Fatal(err)
	}
	for _, s := range out {
		fmt.Println(s)
	}
	// Output:
	// rechte rechte rechte rechte rechte rechte rechte rechte rechte rechte rechte rechte rechte rechte rechte rechte rechte rechte rechte rechte rechte rechte rechte rechte rechte rechte rechte rechte rechte rechte rechte
	// Vorstellung Segel walking Jo lock walking Vorstellung Vorstellung Vorstellung Vorstellung Vorstellung Vorstellung Vorstellung Vorstellung Vorstellung Vorstellung Vorstellung Vorstellung Vorstellung Vorstellung Vorstellung Vorstellung Vorstellung Vorstellung Vorstellung Vorstellung Vorstellung Vorstellung Vorstellung Vorstellung Vorstellung
}

func ExampleDefault() {
	tr, err := translate.Default(translate.WithBeamSize(4))
	if errors.Is(err, translate.ErrNoDefaultModel) {
		log.Fatal("this build has no embedded model; use translate.Load(path)")
	}
	if err != nil {
		log.Fatal(err)
	}
	en, err := tr.Translate(context.Background(), "Der Hund spielt im Garten.")
	if err != nil {
		log.Fatal(err)
	}
	fmt.Println(en)
}
