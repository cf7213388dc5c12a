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
		fmt.Fprintln(e.stderr, "       translate convert model IN_MODEL OUT_MODEL --dtype f32|f16|int8 [--level N] [--force]")
		fmt.Fprintln(e.stderr, "  HF_DIR holds config.json, model.safetensors or pytorch_model.bin, source.spm, target.spm, vocab.json")
		fmt.Fprintln(e.stderr, "  IN_MODEL is a model file (or a name translate get fetched); its blobs (tokenizer, shortlist) are copied")
		flags.PrintDefaults()
	}
	dtype := flags.String("dtype", "f32", "weight storage: f32, f16 or int8 (per-row scales)")
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
		sum, err = restore(in, out, dt, *level)
	}
	if err != nil {
		fmt.Fprintln(e.stderr, "convert:", err)
		return exitFailure
	}
	fmt.Fprintf(e.stdout, "%s: %s\n", out, sum)
	return exitOK
}

// restore writes the model file (or fetched model) in to out with its
// weights stored as dt, blobs and configuration unchanged, and returns a
// summary. Weights stored at lower precision than dt are widened exactly;
// narrowing rounds (f16) or quantises per row (int8).
func restore(in, out string, dt modelfile.DType, level int) (string, error) {
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
	if err := modelfile.WriteFile(out, m, modelfile.WriteOptions{DType: dt, ZstdLevel: level}); err != nil {
		return "", err
	}
	st, err := os.Stat(out)
	if err != nil {
		return "", err
	}
	return fmt.Sprintf("%s weights from %s (%s), %.1f MB", dt, in, m.DType, float64(st.Size())/1e6), nil
}
