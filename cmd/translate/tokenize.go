package main

import (
	"bufio"
	"cmp"
	"fmt"
	"io"
	"strconv"
	"strings"

	"github.com/deen-mt/deen/bpe"
	"github.com/deen-mt/deen/internal/defaultmodel"
	"github.com/deen-mt/deen/modelfile"
)

const tokenizeUsage = `usage: translate tokenize [--spm FILE | --model FILE] [--side src|tgt] [--ids] [--decode] < in > out

Splits each line of stdin into SentencePiece pieces (or ids with --ids), one
output line per input line; --decode joins pieces (or ids) back into text.
Without --spm or --model it uses the tokenizer of the embedded model.

examples:
  echo "Der Hund spielt." | translate tokenize                       pieces of the embedded model's source side
  echo "Der Hund spielt." | translate tokenize --ids                 its model ids (</s> appended)
  echo "5 17 0" | translate tokenize --ids --decode --side tgt       ids back to English text
  translate tokenize --spm source.spm --ids < in.de                  SentencePiece's own ids

flags:`

func init() {
	register("tokenize", "split text into SentencePiece pieces or ids, or join them back (--decode)", runTokenize)
}

// runTokenize reads stdin line by line and writes exactly one line per input
// line: the pieces (or ids) of the text, or with --decode the text of the
// pieces (or ids).
func runTokenize(e *env, args []string) int {
	fs := newFlags(e, "tokenize", tokenizeUsage)
	spmPath := fs.String("spm", "", "SentencePiece model `file` (ids are SentencePiece's own)")
	modelPath := fs.String("model", "", "model `file`: use its tokenizer (ids are the model's vocabulary ids, </s> appended; default: the embedded model)")
	side := fs.String("side", "src", "with a model's tokenizer: src (source language) or tgt (target language)")
	ids := fs.Bool("ids", false, "print (or with --decode read) ids instead of pieces")
	decode := fs.Bool("decode", false, "read pieces (or ids) separated by spaces and print the text")
	if code, ok := parseFlags(fs, args); !ok {
		return code
	}
	if fs.NArg() > 0 || (*spmPath != "" && *modelPath != "") || (*side != "src" && *side != "tgt") {
		fmt.Fprintln(e.stderr, "tokenize: give at most one of --spm FILE or --model FILE, --side src or tgt, and no arguments (text comes from stdin)")
		return exitUsage
	}
	f, err := tokenizeFunc(*spmPath, *modelPath, *side == "tgt", *ids, *decode)
	if err != nil {
		fmt.Fprintln(e.stderr, "tokenize:", err)
		return exitFailure
	}
	if err := mapLines(e.stdin, e.stdout, f); err != nil {
		fmt.Fprintln(e.stderr, "tokenize:", err)
		return exitFailure
	}
	return exitOK
}

// tokenizeFunc returns the per-line function the flags ask for.
func tokenizeFunc(spmPath, modelPath string, target, ids, decode bool) (func(string) (string, error), error) {
	if spmPath != "" {
		m, err := bpe.ReadFile(spmPath)
		if err != nil {
			return nil, err
		}
		switch {
		case decode && ids:
			return func(line string) (string, error) {
				v, err := parseIDs(line, decodeIDsWhat)
				if err != nil {
					return "", err
				}
				return m.DecodeIDs(v)
			}, nil
		case decode:
			return func(line string) (string, error) { return m.DecodePieces(splitPieces(line)), nil }, nil
		case ids:
			return func(line string) (string, error) { return formatIDs(m.EncodeIDs(line)), nil }, nil
		}
		return func(line string) (string, error) { return strings.Join(m.EncodePieces(line), " "), nil }, nil
	}
	mf, err := readModelFile(modelPath)
	if err != nil {
		return nil, err
	}
	mt, err := bpe.NewMarianFromBlobs(mf.Blobs)
	if err != nil {
		return nil, fmt.Errorf("%s: %w", cmp.Or(modelPath, "the embedded model"), err)
	}
	spm, encode, decodeIDs := mt.Source, mt.EncodeSource, mt.DecodeSource
	if target {
		spm, encode, decodeIDs = mt.Target, mt.EncodeTarget, mt.DecodeTarget
	}
	switch {
	case decode && ids:
		return func(line string) (string, error) {
			v, err := parseIDs(line, decodeIDsWhat)
			if err != nil {
				return "", err
			}
			return decodeIDs(v)
		}, nil
	case decode:
		return func(line string) (string, error) { return spm.DecodePieces(splitPieces(line)), nil }, nil
	case ids:
		return func(line string) (string, error) {
			v, err := encode(line)
			return formatIDs(v), err
		}, nil
	}
	return func(line string) (string, error) {
		if _, err := encode(line); err != nil { // the same UTF-8 check as the model path
			return "", err
		}
		return strings.Join(spm.EncodePieces(line), " "), nil
	}, nil
}

// readModelFile reads the model file at path, or the model embedded in this
// build when path is "".
func readModelFile(path string) (*modelfile.Model, error) {
	if path != "" {
		return modelfile.ReadFile(path)
	}
	r, err := defaultmodel.Open()
	if err != nil {
		return nil, fmt.Errorf("%w; pass --model FILE or --spm FILE", err)
	}
	defer r.Close()
	return modelfile.Read(r)
}

// mapLines applies f to every line of in (without its "\n"; a "\r" is kept,
// as spm_encode keeps it) and writes one output line per input line.
func mapLines(in io.Reader, out io.Writer, f func(string) (string, error)) error {
	r := bufio.NewReaderSize(in, 1<<16)
	w := bufio.NewWriterSize(out, 1<<16)
	for n := 1; ; n++ {
		line, rerr := r.ReadString('\n')
		if rerr != nil && rerr != io.EOF {
			return rerr
		}
		if line == "" && rerr == io.EOF {
			break
		}
		s, err := f(strings.TrimSuffix(line, "\n"))
		if err != nil {
			return fmt.Errorf("line %d: %w", n, err)
		}
		w.WriteString(s)
		w.WriteByte('\n')
		if rerr == io.EOF {
			break
		}
	}
	return w.Flush()
}

// decodeIDsWhat names the input of --decode --ids in parse errors.
const decodeIDsWhat = "an id (--decode --ids reads space-separated integers)"

// splitPieces splits a line of pieces at single spaces.
func splitPieces(line string) []string {
	if line == "" {
		return nil
	}
	return strings.Split(line, " ")
}

// formatIDs writes ids separated by single spaces.
func formatIDs(ids []int32) string {
	b := make([]byte, 0, len(ids)*6)
	for i, id := range ids {
		if i > 0 {
			b = append(b, ' ')
		}
		b = strconv.AppendInt(b, int64(id), 10)
	}
	return string(b)
}
