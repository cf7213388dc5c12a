package main

import (
	"bufio"
	"context"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"io"
	"strconv"
	"strings"

	"github.com/deen-mt/deen/translate"
)

func init() {
	register("translate", "translate German text to English (the default verb)", runTranslate)
}

// errNoDefaultModel is what translating without --model says until a
// default model is embedded.
const errNoDefaultModel = "no default model is embedded yet; pass --model FILE (see README: convert an opus-mt checkpoint)"

// jsonResult is one line of --json output.
type jsonResult struct {
	Text  string      `json:"text"`
	IDs   []int32     `json:"ids"`
	Score float32     `json:"score"`
	NBest []jsonHypot `json:"nbest,omitempty"`
}

// jsonHypot is one n-best entry of --json --nbest output.
type jsonHypot struct {
	Text  string  `json:"text"`
	IDs   []int32 `json:"ids"`
	Score float32 `json:"score"`
}

// runTranslate is the default verb: translate the arguments, or stdin line
// by line.
func runTranslate(e *env, args []string) int {
	fs := flag.NewFlagSet("translate", flag.ContinueOnError)
	fs.SetOutput(e.stderr)
	fs.Usage = func() {
		usage(e.stderr)
		fmt.Fprintln(e.stderr, "flags of translate (TEXT is the arguments joined by spaces):")
		fs.PrintDefaults()
	}
	model := fs.String("model", "", "model `file` (default: the embedded model)")
	jsonOut := fs.Bool("json", false, "read all of stdin, write one JSON object per input line: text, ids (without the start token, with the end token), score")
	srcIDs := fs.Bool("src-ids", false, "read lines of space-separated source ids (end token included) instead of text")
	nbest := fs.Bool("nbest", false, "with --json, add the n-best list of beam search")
	beam := fs.Int("beam", 0, "beam size, 1 = greedy (default: the model's)")
	lp := fs.Float64("length-penalty", 0, "length penalty exponent of beam scores (default: the model's)")
	maxLen := fs.Int("max-len", 0, "most target tokens generated, end token included, as HF max_new_tokens (default: the model's); turns the guard off unless --max-len-ratio is given")
	ratio := fs.Float64("max-len-ratio", 2, "runaway guard: at most ceil(R·source ids)+extra tokens (source ids include the end token); 0 turns the guard off")
	extra := fs.Int("max-len-extra", 10, "runaway guard: the extra of --max-len-ratio")
	noRepeat := fs.Int("no-repeat-ngram", 0, "forbid repeating n-grams of this size (0 = off)")
	threads := fs.Int("threads", 0, "cores for the matrix kernels (default: all)")
	batch := fs.Int("batch-size", 16, "sentences decoded together")
	if err := fs.Parse(args); err != nil {
		if errors.Is(err, flag.ErrHelp) {
			return exitOK
		}
		return exitUsage
	}
	set := map[string]bool{}
	fs.Visit(func(f *flag.Flag) { set[f.Name] = true })
	if *srcIDs && fs.NArg() > 0 {
		fmt.Fprintln(e.stderr, "translate: --src-ids reads ids from stdin; do not pass TEXT arguments")
		return exitUsage
	}
	if *nbest && !*jsonOut {
		fmt.Fprintln(e.stderr, "translate: --nbest needs --json")
		return exitUsage
	}
	if *model == "" {
		fmt.Fprintln(e.stderr, "translate: "+errNoDefaultModel)
		return exitFailure
	}
	if set["max-len"] && !set["max-len-ratio"] {
		*ratio = 0 // an explicit --max-len is the limit (HF max_new_tokens), not the guard
	}
	opts := []translate.Option{translate.WithLengthGuard(float32(*ratio), *extra), translate.WithBatchSize(*batch), translate.WithNoRepeatNGram(*noRepeat)}
	if set["beam"] {
		opts = append(opts, translate.WithBeamSize(*beam))
	}
	if set["length-penalty"] {
		opts = append(opts, translate.WithLengthPenalty(float32(*lp)))
	}
	if set["max-len"] {
		opts = append(opts, translate.WithMaxNewTokens(*maxLen))
	}
	if set["threads"] {
		opts = append(opts, translate.WithThreads(*threads))
	}
	tr, err := translate.Load(*model, opts...)
	if err != nil {
		fmt.Fprintln(e.stderr, "translate:", err)
		if errors.Is(err, translate.ErrInvalidOption) {
			return exitUsage
		}
		return exitFailure
	}
	out := bufio.NewWriter(e.stdout)
	defer out.Flush()
	ctx := context.Background()
	switch {
	case *jsonOut:
		err = translateJSON(ctx, tr, e.stdin, out, *srcIDs, *nbest)
	case *srcIDs:
		err = translateLines(e.stdin, out, func(line string) (string, error) {
			ids, err := parseIDs(line)
			if err != nil || ids == nil {
				return "", err
			}
			res, err := tr.TranslateIDs(ctx, [][]int32{ids}, tr.SearchOptions())
			if err != nil {
				return "", err
			}
			return decodeOrIDs(tr, res[0].IDs), nil
		})
	case fs.NArg() > 0:
		var text string
		if text, err = tr.Translate(ctx, strings.Join(fs.Args(), " ")); err == nil {
			_, err = fmt.Fprintln(out, text)
		}
	default:
		err = translateLines(e.stdin, out, func(line string) (string, error) { return tr.Translate(ctx, line) })
	}
	if err != nil {
		out.Flush()
		fmt.Fprintln(e.stderr, "translate:", err)
		return exitFailure
	}
	if err := out.Flush(); err != nil {
		fmt.Fprintln(e.stderr, "translate:", err)
		return exitFailure
	}
	return exitOK
}

// translateLines translates in line by line, writing and flushing each
// result before reading the next line (for interactive use and pipes).
func translateLines(in io.Reader, out *bufio.Writer, f func(string) (string, error)) error {
	r := bufio.NewReader(in)
	for n := 1; ; n++ {
		line, rerr := r.ReadString('\n')
		if rerr != nil && rerr != io.EOF {
			return rerr
		}
		if line == "" && rerr == io.EOF {
			return nil
		}
		text, err := f(strings.TrimRight(line, "\r\n"))
		if err != nil {
			return fmt.Errorf("line %d: %w", n, err)
		}
		fmt.Fprintln(out, text)
		if err := out.Flush(); err != nil {
			return err
		}
		if rerr == io.EOF {
			return nil
		}
	}
}

// translateJSON reads every line of in (text, or ids with srcIDs),
// translates them in length-sorted batches and writes one JSON object per
// line, in input order. Empty lines give empty results.
func translateJSON(ctx context.Context, tr *translate.Translator, in io.Reader, out *bufio.Writer, srcIDs, nbest bool) error {
	lines, err := readLines(in)
	if err != nil {
		return err
	}
	var src [][]int32
	var at []int // src[i] is line at[i]
	for n, line := range lines {
		var ids []int32
		if srcIDs {
			ids, err = parseIDs(line)
		} else if strings.TrimSpace(line) != "" {
			ids, err = tr.Encode(line)
		}
		if err != nil {
			return fmt.Errorf("line %d: %w", n+1, err)
		}
		if ids != nil {
			src = append(src, ids)
			at = append(at, n)
		}
	}
	res, err := tr.TranslateIDs(ctx, src, tr.SearchOptions())
	if err != nil {
		return err
	}
	results := make([]jsonResult, len(lines))
	for i := range results {
		results[i].IDs = []int32{}
	}
	for i, r := range res {
		j := jsonResult{Text: decodeOrIDs(tr, r.IDs), IDs: r.IDs, Score: r.Score}
		if nbest {
			for _, h := range r.NBest {
				j.NBest = append(j.NBest, jsonHypot{Text: decodeOrIDs(tr, h.IDs), IDs: h.IDs, Score: h.Score})
			}
		}
		results[at[i]] = j
	}
	enc := json.NewEncoder(out)
	enc.SetEscapeHTML(false)
	for _, r := range results {
		if err := enc.Encode(r); err != nil {
			return err
		}
	}
	return nil
}

// readLines reads all lines of r without their line ends.
func readLines(r io.Reader) ([]string, error) {
	b, err := io.ReadAll(r)
	if err != nil {
		return nil, err
	}
	s := strings.TrimSuffix(string(b), "\n")
	if s == "" && len(b) <= 1 {
		return nil, nil
	}
	lines := strings.Split(s, "\n")
	for i, l := range lines {
		lines[i] = strings.TrimSuffix(l, "\r")
	}
	return lines, nil
}

// parseIDs reads space-separated model ids; an empty line gives nil.
func parseIDs(line string) ([]int32, error) {
	fields := strings.Fields(line)
	if len(fields) == 0 {
		return nil, nil
	}
	ids := make([]int32, len(fields))
	for i, f := range fields {
		v, err := strconv.ParseInt(f, 10, 32)
		if err != nil {
			return nil, fmt.Errorf("%q is not a token id (--src-ids wants space-separated integers)", f)
		}
		ids[i] = int32(v)
	}
	return ids, nil
}

// decodeOrIDs decodes ids to text, or prints them when the model has no tokenizer.
func decodeOrIDs(tr *translate.Translator, ids []int32) string {
	if text, err := tr.Decode(ids); err == nil {
		return text
	}
	parts := make([]string, len(ids))
	for i, id := range ids {
		parts[i] = strconv.Itoa(int(id))
	}
	return strings.Join(parts, " ")
}
