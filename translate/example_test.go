package translate_test

import (
	"context"
	"errors"
	"fmt"
	"log"
	"os"
	"strings"

	"github.com/deen-mt/deen/translate"
)

// The examples use the default model embedded in this build
// (translate.Default); their outputs are that model's real translations.

// defaultModel loads the embedded default model with opts, as Example does.
func defaultModel(opts ...translate.Option) *translate.Translator {
	tr, err := translate.Default(opts...)
	if errors.Is(err, translate.ErrNoDefaultModel) {
		log.Fatal("this build has no embedded model; use translate.Load(path)")
	}
	if err != nil {
		log.Fatal(err)
	}
	return tr
}

func Example() {
	tr, err := translate.Default() // or translate.Load("model.deen")
	if err != nil {
		log.Fatal(err)
	}
	en, err := tr.Translate(context.Background(), "Der Hund spielt im Garten. Wo ist der Bahnhof?")
	if err != nil {
		log.Fatal(err)
	}
	fmt.Println(en)
	// Output: The dog is playing in the garden. Where is the station?
}

func ExampleTranslator_TranslateDetailed() {
	tr := defaultModel()
	// The three best translations of every sentence, with their scores.
	d, err := tr.TranslateDetailed(context.Background(), "Der Hund spielt im Garten. Ich habe heute keine Zeit.", translate.Alternatives(3))
	if err != nil {
		log.Fatal(err)
	}
	for _, s := range d.Sentences {
		fmt.Printf("%s → %s (%.1f)\n", s.Source, s.Text, s.Score)
		for _, a := range s.Alternatives[1:] {
			fmt.Printf("  or: %s (%.1f)\n", a.Text, a.Score)
		}
	}
	fmt.Println(d.Alternative(1)) // the text with every sentence's second choice
	// Output:
	// Der Hund spielt im Garten. → The dog is playing in the garden. (-0.0)
	//   or: The dog plays in the garden. (-0.3)
	//   or: The dog's playing in the garden. (-0.4)
	// Ich habe heute keine Zeit. → I don't have time today. (-0.0)
	//   or: I don't have the time today. (-0.3)
	//   or: I have no time today. (-0.4)
	// The dog plays in the garden. I don't have the time today.
}

func ExampleSearch() {
	tr := defaultModel()
	ctx := context.Background()
	// Greedy search for this call only; zero fields keep the defaults.
	en, err := tr.Translate(ctx, "Wo ist der Bahnhof?", translate.Search(translate.SearchOptions{BeamSize: 1}))
	if err != nil {
		log.Fatal(err)
	}
	fmt.Println(en)
	// Output: Where is the station?
}

func ExampleTranslator_TranslateIDs() {
	tr := defaultModel()
	ids, err := tr.Encode("Wo ist der Bahnhof?")
	if err != nil {
		log.Fatal(err)
	}
	// Zero fields of SearchOptions are the translator's defaults.
	res, err := tr.TranslateIDs(context.Background(), [][]int32{ids}, translate.SearchOptions{BeamSize: 4})
	if err != nil {
		log.Fatal(err)
	}
	en, err := tr.Decode(res[0].IDs)
	if err != nil {
		log.Fatal(err)
	}
	fmt.Printf("%s (score %.2f, %d hypotheses)\n", en, res[0].Score, len(res[0].NBest))
	// Output: Where is the station? (score -0.17, 4 hypotheses)
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
	tr := defaultModel()
	in := strings.NewReader("Der Hund spielt im Garten. Wo ist der Bahnhof?\n\nIch habe heute keine Zeit.\n")
	// One output line per input line, written as each batch of lines is done.
	if err := tr.TranslateStream(context.Background(), in, os.Stdout); err != nil {
		log.Fatal(err)
	}
	// Output:
	// The dog is playing in the garden. Where is the station?
	//
	// I don't have time today.
}

func ExampleTranslator_TranslateBatch() {
	tr := defaultModel()
	// Decoded together, returned in input order.
	out, err := tr.TranslateBatch(context.Background(), []string{"Ich habe heute keine Zeit.", "Der Hund spielt im Garten."})
	if err != nil {
		log.Fatal(err)
	}
	for _, s := range out {
		fmt.Println(s)
	}
	// Output:
	// I don't have time today.
	// The dog is playing in the garden.
}
