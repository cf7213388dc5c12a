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
	register("convert", "import a Hugging Face opus-mt checkpoint: convert marian HF_DIR OUT_MODEL [--dtype f32|f16|int8]", runConvert)
}

// runConvert imports a checkpoint directory and writes a model file.
func runConvert(e *env, args []string) int {
	flags := flag.NewFlagSet("convert", flag.ContinueOnError)
	flags.SetOutput(e.stderr)
	flags.Usage = func() {
		fmt.Fprintln(e.stderr, "usage: translate convert marian HF_DIR OUT_MODEL [--dtype f32|f16|int8] [--level N] [--force]")
		fmt.Fprintln(e.stderr, "  HF_DIR holds config.json, model.safetensors or pytorch_model.bin, source.spm, target.spm, vocab.json")
		flags.PrintDefaults()
	}
	dtype := flags.String("dtype", "f32", "weight storage: f32, f16 or int8 (per-row scales)")
	level := flags.Int("level", 0, "zstd level 1..22 (0: default)")
	force := flags.Bool("force", false, "overwrite OUT_MODEL if it exists")
	if code, ok := parseFlags(flags, args); !ok {
		return code
	}
	pos := flags.Args()
	if len(pos) != 3 || pos[0] != "marian" {
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
	sum, err := marian.Convert(in, out, marian.ConvertOptions{DType: dt.String(), ZstdLevel: *level})
	if err != nil {
		fmt.Fprintln(e.stderr, "convert:", err)
		return exitFailure
	}
	fmt.Fprintf(e.stdout, "%s: %s\n", out, sum)
	return exitOK
}
