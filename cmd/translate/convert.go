package main

import (
	"errors"
	"flag"
	"fmt"
	"io/fs"
	"os"

	"github.com/deen-mt/deen/marian"
	"github.com/deen-mt/deen/modelfile"
)

func init() {
	register("convert", "import a Hugging Face opus-mt checkpoint (convert marian HF_DIR OUT), or store a model file's weights at another precision (convert model IN OUT --dtype int8)", runConvert)
}

// runConvert imports a checkpoint directory and writes a model file.
func runConvert(e *env, args []string) int {
	flags := flag.NewFlagSet("convert", flag.ContinueOnError)
	flags.SetOutput(e.stderr)
	flags.Usage = func() {
		fmt.Fprintln(e.stderr, "usage: translate convert marian HF_DIR OUT_MODEL [--dtype f32|f16|int8] [--level N] [--force]")
		fmt.Fprintln(e.stderr, "       translate convert model IN_MODEL OUT_MODEL [--dtype f32|f16|int8] [--beam N] [--length-penalty X] [--no-repeat-ngram N] [--level N] [--force]")
		fmt.Fprintln(e.stderr, "  HF_DIR holds config.json, model.safetensors or pytorch_model.bin, source.spm, target.spm, vocab.json")
		fmt.Fprintln(e.stderr, "  IN_MODEL is a model file (or a name translate get fetched); its blobs (tokenizer, shortlist) are copied;")
		fmt.Fprintln(e.stderr, "  --beam, --length-penalty and --no-repeat-ngram store new search defaults in OUT_MODEL (default: kept)")
		flags.PrintDefaults()
	}
	dtype := flags.String("dtype", "f32", "weight storage: f32, f16 or int8 (per-row scales); convert model keeps IN_MODEL's unless given")
	var gen generationFlags
	flags.IntVar(&gen.beams, "beam", 0, "convert model: store this beam size as the model's default (1 = greedy)")
	flags.Float64Var(&gen.lp, "length-penalty", 0, "convert model: store this length penalty as the model's default")
	flags.IntVar(&gen.noRepeat, "no-repeat-ngram", 0, "convert model: store this repetition guard as the model's default (0 = off)")
	level := flags.Int("level", 0, "zstd level 1..22 (0: default)")
	force := flags.Bool("force", false, "overwrite OUT_MODEL if it exists")
	if code, ok := parseFlags(flags, args); !ok {
		return code
	}
	pos := flags.Args()
	if len(pos) != 3 || pos[0] != "marian" && pos[0] != "model" {
		flags.Usage()
		return exitUsage
	}
	dt, err := modelfile.ParseDType(*dtype)
	if err != nil {
		fmt.Fprintln(e.stderr, "convert:", err)
		return exitUsage
	}
	set := map[string]bool{}
	flags.Visit(func(f *flag.Flag) { set[f.Name] = true })
	gen.set = set
	if pos[0] == "marian" && (set["beam"] || set["length-penalty"] || set["no-repeat-ngram"]) {
		fmt.Fprintln(e.stderr, "convert: --beam, --length-penalty and --no-repeat-ngram set a model file's defaults: use translate convert model on the imported file")
		return exitUsage
	}
	keepDType := pos[0] == "model" && !set["dtype"]
	in, out := pos[1], pos[2]
	if _, err := os.Stat(out); err == nil && !*force {
		fmt.Fprintf(e.stderr, "convert: %s exists; use --force to overwrite it\n", out)
		return exitFailure
	} else if err != nil && !errors.Is(err, fs.ErrNotExist) {
		fmt.Fprintln(e.stderr, "convert:", err)
		return exitFailure
	}
	var sum string
	if pos[0] == "marian" {
		var ms marian.Summary
		ms, err = marian.Convert(in, out, marian.ConvertOptions{DType: dt.String(), ZstdLevel: *level})
		sum = ms.String()
	} else {
		sum, err = restore(in, out, dt, keepDType, gen, *level)
	}
	if err != nil {
		fmt.Fprintln(e.stderr, "convert:", err)
		return exitFailure
	}
	fmt.Fprintf(e.stdout, "%s: %s\n", out, sum)
	return exitOK
}

// generationFlags are convert model's search defaults; set holds the
// flags given.
type generationFlags struct {
	beams, noRepeat int
	lp              float64
	set             map[string]bool
}

// apply stores the given defaults in g.
func (f generationFlags) apply(g *modelfile.Generation) {
	if f.set["beam"] {
		g.NumBeams = f.beams
	}
	if f.set["length-penalty"] {
		g.LengthPenalty = float32(f.lp)
	}
	if f.set["no-repeat-ngram"] {
		g.NoRepeatNGram = f.noRepeat
	}
}

// restore writes the model file (or fetched model) in to out with its
// weights stored as dt (as they were, with keepDType) and the search
// defaults gen gives, blobs and the rest of the configuration unchanged,
// and returns a summary. Weights stored at lower precision than dt are
// widened exactly; narrowing rounds (f16) or quantises per row (int8).
func restore(in, out string, dt modelfile.DType, keepDType bool, gen generationFlags, level int) (string, error) {
	path, err := resolveModel(in)
	if err != nil {
		return "", err
	}
	if a, errA := os.Stat(path); errA == nil {
		if b, errB := os.Stat(out); errB == nil && os.SameFile(a, b) {
			return "", fmt.Errorf("%s is the input; write the converted model to another file", out)
		}
	}
	m, err := modelfile.ReadFile(path)
	if err != nil {
		return "", err
	}
	if keepDType {
		dt = m.DType
	}
	gen.apply(&m.Config.Generation)
	if err := m.Config.Validate(); err != nil {
		return "", err
	}
	if err := modelfile.WriteFile(out, m, modelfile.WriteOptions{DType: dt, ZstdLevel: level}); err != nil {
		return "", err
	}
	st, err := os.Stat(out)
	if err != nil {
		return "", err
	}
	g := m.Config.Generation
	return fmt.Sprintf("%s weights from %s (%s), %.1f MB; search defaults: beam %d, length penalty %g, no-repeat n-gram %d",
		dt, in, m.DType, float64(st.Size())/1e6, g.NumBeams, g.LengthPenalty, g.NoRepeatNGram), nil
}
