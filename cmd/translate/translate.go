package main

import (
	"cmp"
	"context"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"io"
	"io/fs"
	"os"
	"path"
	"runtime/debug"
	"strconv"
	"strings"

	"github.com/deen-mt/deen/internal/defaultmodel"
	"github.com/deen-mt/deen/internal/lines"
	"github.com/deen-mt/deen/translate"
)

func init() {
	register("translate", "translate German text to English (the default verb)", runTranslate)
}

// jsonLine is one line of --json output: the line's translation (as in
// plain mode) and its sentences. A line of at most one sentence (always
// with --src-ids) also has that sentence's ids, score and n-best list at
// the top level, as before sentences were split, for scripts that read them.
type jsonLine struct {
	Text string `json:"text"`
	*jsonIDs
	Sentences []jsonSentence `json:"sentences"`
}

// jsonSentence is one sentence of a --json line.
type jsonSentence struct {
	Source string `json:"source,omitempty"`
	// Recased is the source as the model read it, when it was written all
	// in capitals or all in lower case (--recase).
	Recased string `json:"recased,omitempty"`
	Text    string `json:"text"`
	jsonIDs
	// Confidence is the sentence's confidence in [0, 1] (text input only).
	Confidence *float32 `json:"confidence,omitempty"`
	// Passthrough is true for a sentence copied because it is not German.
	Passthrough bool `json:"passthrough,omitempty"`
	// Repaired lists the spans put back into the model's output.
	Repaired []jsonRepair `json:"repaired,omitempty"`
	// Invented lists numbers of the translation the source does not hold.
	Invented []string `json:"invented,omitempty"`
}

// jsonRepair is one repaired span of a --json sentence.
type jsonRepair struct {
	Kind string `json:"kind"` // number, url, glossary, …
	Span string `json:"span"` // what the output now contains
	How  string `json:"how"`  // aligned, inserted, appended, format
	Was  string `json:"was"`  // the output text it replaced
}

// jsonIDs are a sentence's target ids, score and (--nbest) n-best list.
type jsonIDs struct {
	IDs   []int32     `json:"ids"`
	Score float32     `json:"score"`
	NBest []jsonHypot `json:"nbest,omitempty"`
}

// jsonHypot is one n-best entry of --json --nbest output.
type jsonHypot struct {
	Text  string  `json:"text"`
	IDs   []int32 `json:"ids"`
	Score float32 `json:"score"`
	// LM is the language-model term of --rerank-lm (absent without).
	LM float32 `json:"lm,omitempty"`
}

// newJSONLine makes the --json line of a translation text with sentences.
func newJSONLine(text string, sentences []jsonSentence) jsonLine {
	l := jsonLine{Text: text, Sentences: sentences}
	switch len(sentences) {
	case 0:
		l.Sentences = []jsonSentence{}
		l.jsonIDs = &jsonIDs{IDs: []int32{}}
	case 1:
		l.jsonIDs = &sentences[0].jsonIDs
	}
	return l
}

// modelFlags are the flags that choose and tune the model, shared by the
// verbs that translate.
type modelFlags struct {
	fs                  *flag.FlagSet
	model               *string
	beam, maxLen, extra *int
	noRepeat, threads   *int
	batch, cache        *int
	lp, ratio, lmWeight *float64
	weights, rerankLM   *string
	glossary            *string
	keep, pass          *bool
	shortlist, recase   *bool
}

// addModelFlags defines the model flags on fs.
func addModelFlags(fs *flag.FlagSet) *modelFlags {
	return &modelFlags{
		fs:        fs,
		model:     fs.String("model", "", "model `file`, or the name of a model fetched by translate get (default: $DEEN_MODEL, else the model embedded in this build)"),
		beam:      fs.Int("beam", 0, "beam size, 1 = greedy (default: the model's)"),
		lp:        fs.Float64("length-penalty", 0, "length penalty exponent of beam scores (default: the model's)"),
		maxLen:    fs.Int("max-len", 0, "most target tokens generated, end token included, as HF max_new_tokens (default: the model's); turns the guard off unless --max-len-ratio is given"),
		ratio:     fs.Float64("max-len-ratio", 2, "runaway guard: at most ceil(R·source ids)+extra tokens (source ids include the end token); 0 turns the guard off"),
		extra:     fs.Int("max-len-extra", 10, "runaway guard: the extra of --max-len-ratio"),
		noRepeat:  fs.Int("no-repeat-ngram", 0, "forbid repeating n-grams of this size (0 = off; default: the model's)"),
		threads:   fs.Int("threads", 0, "cores for the matrix kernels (default: all)"),
		batch:     fs.Int("batch-size", 16, "sentences decoded together"),
		cache:     fs.Int("sentence-cache", 1024, "recent sentence translations kept, so repeated sentences (headers, boilerplate, list items) are decoded once; 0 = off (same output either way)"),
		weights:   fs.String("weights", "auto", "precision of the weights: auto (the model file's), f32, f16 (decoder step) or int8 (int8 products in encoder and decoder); f16/int8 are faster, output may differ slightly"),
		rerankLM:  fs.String("rerank-lm", "", "language model `file` (translate lm train) that reranks each sentence's beam n-best: translation score + W·LM log-probability per token"),
		lmWeight:  fs.Float64("lm-weight", 0.1, "the weight W of --rerank-lm (choose it on held-out data: docs/gpt.md)"),
		glossary:  fs.String("glossary", "", "glossary `file` (TSV: German TAB English; the same term twice keeps it): every German term, also inflected, comes out as its English term"),
		keep:      fs.Bool("keep-spans", true, "keep numbers, dates, URLs, e-mail addresses, paths, code, placeholders and codes exactly as written (repaired through the alignment when the model changes them); --keep-spans=false turns it off"),
		shortlist: fs.Bool("shortlist", false, "decode over the model's vocabulary shortlist (translate shortlist builds one): faster steps, output may differ slightly (default: on for the embedded model, which carries one; off for --model files)"),
		recase:    fs.Bool("recase", true, "give sentences written all in capitals or all in lower case their usual case before translating, from the model's truecase table (translate casing learns one; on when the model carries one), and give the translation of a sentence in capitals back in capitals; --recase=false reads them as written"),
		pass:      fs.Bool("passthrough", true, "copy sentences that are not German (English, other scripts, only symbols, emoji, URLs or numbers) unchanged; --passthrough=false translates everything"),
	}
}

// options turns the parsed flags into translator options.
func (m *modelFlags) options() []translate.Option {
	set := map[string]bool{}
	m.fs.Visit(func(f *flag.Flag) { set[f.Name] = true })
	ratio := *m.ratio
	if set["max-len"] && !set["max-len-ratio"] {
		ratio = 0 // an explicit --max-len is the limit (HF max_new_tokens), not the guard
	}
	opts := []translate.Option{translate.WithLengthGuard(float32(ratio), *m.extra), translate.WithBatchSize(*m.batch),
		translate.WithWeightPrecision(*m.weights), translate.WithSentenceCache(*m.cache),
		translate.WithProtectedSpans(*m.keep), translate.WithPassthrough(*m.pass)}
	if set["shortlist"] {
		opts = append(opts, translate.WithShortlist(*m.shortlist))
	}
	if set["no-repeat-ngram"] {
		opts = append(opts, translate.WithNoRepeatNGram(*m.noRepeat))
	}
	if set["recase"] {
		opts = append(opts, translate.WithRecase(*m.recase))
	}
	if *m.glossary != "" {
		opts = append(opts, translate.WithGlossaryFile(*m.glossary))
	}
	if set["beam"] {
		opts = append(opts, translate.WithBeamSize(*m.beam))
	}
	if set["length-penalty"] {
		opts = append(opts, translate.WithLengthPenalty(float32(*m.lp)))
	}
	if set["max-len"] {
		opts = append(opts, translate.WithMaxNewTokens(*m.maxLen))
	}
	if set["threads"] {
		opts = append(opts, translate.WithThreads(*m.threads))
	}
	if *m.rerankLM != "" {
		opts = append(opts, translate.WithRerankLM(*m.rerankLM, float32(*m.lmWeight)))
	}
	return opts
}

// load loads --model, or the embedded default model without it. The exit
// code is exitUsage for bad option values, exitFailure otherwise.
func (m *modelFlags) load() (*translate.Translator, int, error) {
	if err := m.checkRanges(); err != nil {
		return nil, exitUsage, err
	}
	tr, err := openModel(m.modelName(), m.options()...)
	switch {
	case errors.Is(err, translate.ErrInvalidOption):
		return nil, exitUsage, err
	case errors.Is(err, fs.ErrNotExist):
		return nil, exitFailure, fmt.Errorf("%w (check the --model path)", err)
	case err != nil:
		return nil, exitFailure, err
	}
	return tr, exitOK, nil
}

// Sane ranges of the real-valued search flags: beyond them float32 search
// arithmetic overflows (a 512-token hypothesis to the power 10 is 1.2e27).
const (
	maxLengthPenalty = 10
	maxLenRatio      = 100
)

// checkRanges refuses real-valued flags that are not finite or outside
// their sane range, naming the value as given (the library sees them as
// float32, where 1e308 is already +Inf).
func (m *modelFlags) checkRanges() error {
	if lp := *m.lp; !(lp >= -maxLengthPenalty && lp <= maxLengthPenalty) {
		return fmt.Errorf("--length-penalty %s: want a number from -%d to %d (a beam score is the sum of log-probabilities divided by length^penalty: 0 sums, 1 averages per token)",
			m.fs.Lookup("length-penalty").Value, maxLengthPenalty, maxLengthPenalty)
	}
	if r := *m.ratio; !(r >= 0 && r <= maxLenRatio) {
		return fmt.Errorf("--max-len-ratio %s: want a number from 0 (guard off) to %d", m.fs.Lookup("max-len-ratio").Value, maxLenRatio)
	}
	return nil
}

// openModel loads the model file or fetched model name with opts, or the
// model embedded in this build when name is "".
func openModel(name string, opts ...translate.Option) (*translate.Translator, error) {
	if name == "" {
		return translate.Default(opts...)
	}
	path, err := resolveModel(name)
	if err != nil {
		return nil, err
	}
	return translate.Load(path, opts...)
}

// describe names the model and the search settings, for checkpoints: a
// partial output is only continued with the same model and settings.
func (m *modelFlags) describe() string {
	model, name := "embedded", m.modelName()
	if n, err := defaultmodel.Size(); err == nil && name == "" {
		model = fmt.Sprintf("embedded size %d", n)
	}
	if name != "" {
		model = name
		if path, err := resolveModel(name); err == nil {
			if st, err := os.Stat(path); err == nil {
				model = fmt.Sprintf("%s size %d mtime %d", name, st.Size(), st.ModTime().UnixNano())
			}
		}
	}
	var flags []string
	m.fs.Visit(func(f *flag.Flag) {
		switch f.Name {
		case "beam", "length-penalty", "max-len", "max-len-ratio", "max-len-extra", "no-repeat-ngram", "weights", "rerank-lm", "lm-weight", "glossary", "keep-spans", "passthrough", "shortlist", "recase":
			flags = append(flags, f.Name+"="+f.Value.String())
		}
	})
	return model + "; " + strings.Join(flags, " ")
}

// errText is err's message without the library's "translate: " prefix,
// which the command's own prefix replaces.
func errText(err error) string {
	return strings.TrimPrefix(err.Error(), "translate: ")
}

// version describes this build: the module version, or the VCS revision
// and time Go stamps into builds from a git checkout, and the embedded
// default model's file name, size and SHA-256 prefix.
func version() string {
	v, rev, when, dirty := "(devel)", "", "", ""
	if bi, ok := debug.ReadBuildInfo(); ok {
		v = cmp.Or(bi.Main.Version, v)
		for _, s := range bi.Settings {
			switch {
			case s.Key == "vcs.revision":
				rev = s.Value
			case s.Key == "vcs.time":
				when = s.Value
			case s.Key == "vcs.modified" && s.Value == "true":
				dirty = ", modified"
			}
		}
	}
	switch {
	case rev != "":
		v += fmt.Sprintf(" (revision %.12s, %s%s)", rev, when, dirty)
	case v == "(devel)":
		v += " (no version stamped: built with -buildvcs=false, from a git worktree or outside a git checkout; go install MODULE@VERSION stamps the version)"
	}
	return fmt.Sprintf("translate (deen) %s\ndefault model: %s", v, embeddedModel())
}

// embeddedModel names the embedded default model: file name, size and the
// first 12 hex digits of its SHA-256.
func embeddedModel() string {
	r, err := defaultmodel.Open()
	if err != nil {
		return "none embedded (pass --model FILE)"
	}
	defer r.Close()
	h := sha256.New()
	n, err := io.Copy(h, r)
	if err != nil {
		return fmt.Sprintf("%s, unreadable: %v", path.Base(defaultmodel.Name), err)
	}
	return fmt.Sprintf("%s, %d bytes, sha256 %s", path.Base(defaultmodel.Name), n, hex.EncodeToString(h.Sum(nil))[:12])
}

// translateExamples is the end of --help.
const translateExamples = `examples:
  translate "Der Hund spielt im Garten."            translate the arguments
  translate < brief.de > brief.en                    translate a file line by line
  translate                                          type lines, get each translated at once
  translate --json --beam 5 < in.de > out.jsonl      one JSON object per line: text, ids, score
  translate files --out en/ docs/                    translate a folder tree (see: translate files --help)
  translate get opus-mt-de-en                        download a better model once (see: translate get --help)
  translate --model opus-mt-de-en "Guten Tag!"       use it (or a model file; DEEN_MODEL sets the default)
exit codes: 0 success, 1 runtime failure, 2 usage error`

// runTranslate is the default verb: translate the arguments, or stdin line
// by line.
func runTranslate(e *env, args []string) int {
	fs := flag.NewFlagSet("translate", flag.ContinueOnError)
	fs.SetOutput(e.stderr)
	fs.Usage = func() {
		usage(e.stderr)
		fmt.Fprintln(e.stderr, "flags of translate (TEXT is the arguments joined by spaces):")
		fs.PrintDefaults()
		fmt.Fprintln(e.stderr, translateExamples)
	}
	mf := addModelFlags(fs)
	jsonOut := fs.Bool("json", false, "write one JSON object per input line as soon as it is done: text (as plain output), sentences (each with source, text, ids without the start token and with the end token, score); a line of one sentence also has its ids and score at the top")
	srcIDs := fs.Bool("src-ids", false, "read lines of space-separated source ids (end token included) instead of text")
	nbest := fs.Bool("nbest", false, "with --json, add each sentence's n-best list of beam search")
	showVersion := fs.Bool("version", false, "print the version and the embedded model, and exit")
	format := fs.String("format", "text", "input format: text, or html (the whole input is one HTML document: tags, attributes and entities kept, <code>/<pre>/<script>/<style> and translate=\"no\" left alone, inline tags around the aligned words)")
	warnBelow := fs.Float64("warn-below", 0, "in plain text mode, warn on stderr about each sentence whose confidence (0-1) is below this, naming its line (0 = off)")
	if code, ok := parseFlags(fs, args); !ok {
		return code
	}
	if *format != "text" && *format != "html" {
		fmt.Fprintf(e.stderr, "translate: --format %q: want text or html\n", *format)
		return exitUsage
	}
	if !(*warnBelow >= 0 && *warnBelow <= 1) {
		fmt.Fprintf(e.stderr, "translate: --warn-below %v: want a confidence from 0 (off) to 1\n", *warnBelow)
		return exitUsage
	}
	if *format == "html" && (*jsonOut || *srcIDs) {
		fmt.Fprintln(e.stderr, "translate: --format html writes HTML; it does not combine with --json or --src-ids")
		return exitUsage
	}
	if *showVersion {
		fmt.Fprintln(e.stdout, version())
		return exitOK
	}
	if *srcIDs && fs.NArg() > 0 {
		fmt.Fprintln(e.stderr, "translate: --src-ids reads ids from stdin; do not pass TEXT arguments")
		return exitUsage
	}
	if *nbest && !*jsonOut {
		fmt.Fprintln(e.stderr, "translate: --nbest needs --json")
		return exitUsage
	}
	tr, code, err := mf.load()
	if err != nil {
		fmt.Fprintln(e.stderr, "translate:", errText(err))
		return code
	}
	// No signal handling here: Ctrl-C ends the command at once, also while
	// it waits for a line, and every finished line is already written.
	ctx := context.Background()
	switch {
	case *format == "html":
		err = translateHTML(ctx, tr, fs.Args(), e)
	case *warnBelow > 0 && !*jsonOut && !*srcIDs:
		var in io.Reader = newTextInput(e.stdin)
		if fs.NArg() > 0 {
			in = strings.NewReader(strings.Join(fs.Args(), " ") + "\n")
		}
		err = translateResults(ctx, tr, in, e.stdout, false, false, false, warner(e.stderr, float32(*warnBelow)))
	case *jsonOut || *srcIDs:
		var in io.Reader = newTextInput(e.stdin)
		if fs.NArg() > 0 { // --json "TEXT": the arguments are the one input line
			in = strings.NewReader(strings.Join(fs.Args(), " ") + "\n")
		}
		err = translateResults(ctx, tr, in, e.stdout, *srcIDs, *jsonOut, *nbest, nil)
	case fs.NArg() > 0:
		var text string
		if text, err = tr.Translate(ctx, strings.Join(fs.Args(), " ")); err == nil {
			_, err = fmt.Fprintln(e.stdout, text)
		}
	default:
		err = tr.TranslateStream(ctx, newTextInput(e.stdin), e.stdout)
	}
	if err != nil {
		fmt.Fprintln(e.stderr, "translate:", errText(err))
		return exitFailure
	}
	return exitOK
}

// translateResults reads lines of text, or of ids with srcIDs (each line
// one sentence), translates each batch of buffered lines and writes it at
// once: one JSON object per line with jsonOut, else the text. Text lines
// are split into sentences as in plain mode. Empty lines give empty
// results.
func translateResults(ctx context.Context, tr *translate.Translator, in io.Reader, out io.Writer, srcIDs, jsonOut, nbest bool, warn func(line int, s jsonSentence)) error {
	lr := lines.NewReader(in)
	var buf strings.Builder
	enc := json.NewEncoder(&buf)
	enc.SetEscapeHTML(false)
	for done := 0; ; {
		batch, rerr := lr.Next(64)
		texts := make([]string, len(batch))
		for i, l := range batch {
			texts[i] = l.Text
			if done+i == 0 {
				texts[i] = strings.TrimPrefix(l.Text, "\uFEFF") // a byte-order mark
			}
		}
		var res []jsonLine
		var err error
		if srcIDs {
			res, err = idLines(ctx, tr, texts, done, nbest)
		} else {
			res, err = textLines(ctx, tr, texts, done, nbest)
		}
		if err != nil {
			return err
		}
		buf.Reset()
		for i, l := range res {
			for _, s := range l.Sentences {
				if warn != nil {
					warn(done+i+1, s)
				}
			}
			if !jsonOut {
				buf.WriteString(l.Text + "\n")
				continue
			}
			if err := enc.Encode(l); err != nil {
				return err
			}
		}
		if _, err := io.WriteString(out, buf.String()); err != nil {
			return fmt.Errorf("writing line %d: %w", done+1, err)
		}
		done += len(batch)
		if rerr == io.EOF {
			return nil
		}
		if rerr != nil {
			return fmt.Errorf("reading line %d: %w", done+1, rerr)
		}
	}
}

// warner returns a translateResults callback that warns on w about every
// sentence whose confidence is below min, naming the line.
func warner(w io.Writer, min float32) func(int, jsonSentence) {
	return func(line int, s jsonSentence) {
		if s.Confidence != nil && *s.Confidence < min {
			fmt.Fprintf(w, "translate: line %d: confidence %.2f below %.2f, check by hand: %q → %q\n", line, *s.Confidence, min, s.Source, s.Text)
		}
	}
}

// translateHTML translates the arguments, or all of stdin, as one HTML
// document.
func translateHTML(ctx context.Context, tr *translate.Translator, args []string, e *env) error {
	doc := strings.Join(args, " ")
	if len(args) == 0 {
		b, err := io.ReadAll(e.stdin)
		if err != nil {
			return fmt.Errorf("reading stdin: %w", err)
		}
		doc = string(b)
	}
	out, err := tr.TranslateHTML(ctx, doc)
	if err != nil {
		return err
	}
	if len(args) > 0 {
		out += "\n"
	}
	_, err = io.WriteString(e.stdout, out)
	return err
}

// textLines translates lines of text (the lines after the first done),
// split into sentences, with the n-best lists when nbest is set.
func textLines(ctx context.Context, tr *translate.Translator, texts []string, done int, nbest bool) ([]jsonLine, error) {
	var opts []translate.CallOption
	if nbest {
		opts = append(opts, translate.Alternatives(tr.SearchOptions().BeamSize))
	}
	res, err := tr.TranslateBatchDetailed(ctx, texts, opts...)
	if le := (*translate.LineError)(nil); errors.As(err, &le) {
		return nil, fmt.Errorf("line %d: %w", done+le.Line, le.Err)
	}
	if err != nil {
		return nil, fmt.Errorf("lines %d-%d: %w", done+1, done+len(texts), err)
	}
	out := make([]jsonLine, len(res))
	for i, r := range res {
		var sents []jsonSentence
		for _, s := range r.Sentences {
			conf := s.Confidence
			js := jsonSentence{Source: s.Source, Recased: s.Recased, Text: s.Text, jsonIDs: jsonIDs{IDs: s.IDs, Score: s.Score}, Confidence: &conf, Passthrough: s.Passthrough, Invented: s.Invented}
			for _, f := range s.Repaired {
				js.Repaired = append(js.Repaired, jsonRepair{Kind: f.Span.Kind.String(), Span: f.Span.Render, How: f.How, Was: f.Replaced})
			}
			for _, a := range s.Alternatives {
				js.NBest = append(js.NBest, jsonHypot{Text: a.Text, IDs: a.IDs, Score: a.Score, LM: a.LM})
			}
			sents = append(sents, js)
		}
		out[i] = newJSONLine(r.Text, sents)
	}
	return out, nil
}

// idLines translates lines of space-separated source ids (the lines after
// the first done), each one sentence, with the n-best lists when nbest is set.
func idLines(ctx context.Context, tr *translate.Translator, texts []string, done int, nbest bool) ([]jsonLine, error) {
	var src [][]int32
	at := make([]int, len(texts)) // line i is src[at[i]], or empty when -1
	for i, text := range texts {
		ids, err := parseIDs(text, "a token id (--src-ids wants space-separated integers)")
		if err != nil {
			return nil, fmt.Errorf("line %d: %w", done+i+1, err)
		}
		at[i] = -1
		if ids != nil {
			at[i] = len(src)
			src = append(src, ids)
		}
	}
	res, err := tr.TranslateIDs(ctx, src, translate.SearchOptions{})
	if err != nil {
		return nil, fmt.Errorf("lines %d-%d: %w", done+1, done+len(texts), err)
	}
	out := make([]jsonLine, len(texts))
	for i := range texts {
		if at[i] < 0 {
			out[i] = newJSONLine("", nil)
			continue
		}
		r := res[at[i]]
		s := jsonSentence{Text: decodeOrIDs(tr, r.IDs), jsonIDs: jsonIDs{IDs: r.IDs, Score: r.Score}}
		if nbest {
			for _, h := range r.NBest {
				s.NBest = append(s.NBest, jsonHypot{Text: decodeOrIDs(tr, h.IDs), IDs: h.IDs, Score: h.Score, LM: h.LM})
			}
		}
		out[i] = newJSONLine(s.Text, []jsonSentence{s})
	}
	return out, nil
}

// readLines reads all lines of r without their line ends (for eval).
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

// parseIDs reads space-separated model ids; an empty line gives nil. A
// field that is not an int32 gives the error "FIELD is not " + what, so
// what says which flag reads the ids and how.
func parseIDs(line, what string) ([]int32, error) {
	fields := strings.Fields(line)
	if len(fields) == 0 {
		return nil, nil
	}
	ids := make([]int32, len(fields))
	for i, f := range fields {
		v, err := strconv.ParseInt(f, 10, 32)
		if err != nil {
			return nil, fmt.Errorf("%q is not %s", f, what)
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
