// Package translate is deen's public API: load a model, batch sentences,
// run the search (greedy or beam search with Hugging Face generate()
// semantics) and return text or ids.
//
//	tr, err := translate.Load("opus-mt-de-en.deen")
//	en, err := tr.Translate(ctx, "Der Hund spielt im Garten.")
//
// Load a model from a file (Load), a reader (LoadReader) or the default
// model embedded in the build (Default); translate one text (Translate), a
// slice in input order (TranslateBatch), or a stream line by line in
// constant memory (TranslateStream). Every call takes a context and stops
// within one decoder step when it is cancelled. Errors wrap the sentinel
// values below (errors.Is) and never panic on user input.
//
// A Translator is safe for concurrent use. The layers below (encoder,
// crossattn, decoder) know nothing of search: the translator owns batching
// and the search, and drives the decoder one step at a time.
package translate

import (
	"context"
	"errors"
	"fmt"
	"io"
	"math"
	"path/filepath"
	"runtime"
	"slices"
	"sort"
	"strings"

	"github.com/deen-mt/deen/bpe"
	"github.com/deen-mt/deen/decoder"
	"github.com/deen-mt/deen/encoder"
	"github.com/deen-mt/deen/internal/kernels"
	"github.com/deen-mt/deen/modelfile"
	"github.com/deen-mt/deen/nn"
	"github.com/deen-mt/deen/shortlist"
	"github.com/deen-mt/deen/truecase"
)

// Errors returned (wrapped) by the translator; test with errors.Is.
var (
	// ErrInvalidOption reports a bad option or SearchOptions value.
	ErrInvalidOption = errors.New("invalid option")
	// ErrInvalidInput reports input the translator cannot use: source ids
	// the model cannot read, a sentence too long to split, a nil context,
	// reader or writer.
	ErrInvalidInput = errors.New("invalid input")
	// ErrNoTokenizer reports a text call on a model file without tokenizer blobs.
	ErrNoTokenizer = errors.New("model has no tokenizer")
)

// SearchOptions control one search. A zero field means the translator's
// default (Translator.SearchOptions, which come from the model file and
// the Options given to Load), so SearchOptions{BeamSize: 8} is the default
// search with 8 beams; a copy of Translator.SearchOptions, changed, works
// too. To turn off a setting that is on by default use the field's "off"
// value described below.
type SearchOptions struct {
	// BeamSize is the number of beams, 1 (greedy search) to MaxBeamSize;
	// 0 is the default.
	BeamSize int
	// LengthPenalty is the exponent of the length normalisation of scores
	// (HF length_penalty): score = Σ log p / len^LengthPenalty; 0 is the
	// default (use a translator made WithLengthPenalty(0) for an exponent
	// of exactly 0).
	LengthPenalty float32
	// MaxNewTokens is the most target tokens generated, end token included
	// (HF max_new_tokens); 0 is the default. With the model's forced-EOS
	// setting the last one is the end token.
	MaxNewTokens int
	// MaxLenRatio guards against runaway output: when MaxLenRatio > 0 a
	// sentence of n source ids (end token included) gets at most
	// ceil(MaxLenRatio·n)+MaxLenExtra new tokens. The guard (MaxLenRatio
	// and MaxLenExtra) is the default one when MaxNewTokens, MaxLenRatio
	// and MaxLenExtra are all 0; otherwise it is as given, and a
	// MaxLenRatio of 0 or less turns it off: an explicit MaxNewTokens
	// alone is the limit, as HF max_new_tokens (and the command line's
	// --max-len) are.
	MaxLenRatio float32
	// MaxLenExtra is the number of new tokens the guard allows beyond
	// ceil(MaxLenRatio·n); unused when the guard is off.
	MaxLenExtra int
	// NoRepeatNGram forbids repeating any n-gram of this size in the output
	// (HF no_repeat_ngram_size); 0 is the default, negative is off.
	NoRepeatNGram int
	// MinNewTokens forbids the end token before this many tokens were
	// generated (HF min_new_tokens); 0 is off (there is no default).
	MinNewTokens int
}

// resolve fills the zero fields of o from the translator's defaults (see
// SearchOptions) and turns the "off" values into the search's 0.
func (t *Translator) resolve(o SearchOptions) SearchOptions {
	d := t.opts
	if o.BeamSize == 0 {
		o.BeamSize = d.BeamSize
	}
	if o.LengthPenalty == 0 {
		o.LengthPenalty = d.LengthPenalty
	}
	switch {
	case o.MaxNewTokens == 0 && o.MaxLenRatio == 0 && o.MaxLenExtra == 0:
		o.MaxNewTokens, o.MaxLenRatio, o.MaxLenExtra = d.MaxNewTokens, d.MaxLenRatio, d.MaxLenExtra
	case o.MaxNewTokens == 0:
		o.MaxNewTokens = d.MaxNewTokens
	}
	if o.MaxLenRatio <= 0 {
		o.MaxLenRatio, o.MaxLenExtra = 0, 0
	}
	switch {
	case o.NoRepeatNGram == 0:
		o.NoRepeatNGram = d.NoRepeatNGram
	case o.NoRepeatNGram < 0:
		o.NoRepeatNGram = 0
	}
	return o
}

// MaxBeamSize is the largest beam size accepted (WithBeamSize,
// SearchOptions.BeamSize and the command line's --beam). Translation
// quality stops improving after a few beams and then falls, as large beams
// favour short, generic output (Koehn and Knowles 2017, "Six Challenges
// for Neural Machine Translation"), while time and memory grow linearly
// with the beam size: every beam is a decoder row with its own key/value
// self-attention cache of 2·layers·positions·d floats, 1.5 GiB at 128 beams for
// opus-mt-de-en (6 layers, d 512) at its 512 positions. 128 leaves room
// for experiments and rescoring n-best lists and keeps one sentence's
// search within bounded memory.
const MaxBeamSize = 128

// Default guard: at most 2·n+10 new tokens for n source ids.
const (
	defaultMaxLenRatio = 2
	defaultMaxLenExtra = 10
	defaultBatchSize   = 16
	// maxBatchRows bounds the hypotheses decoded together (batch·beams),
	// and so the logits buffer (rows·V floats), whatever the options.
	maxBatchRows = 512
)

// Option changes a Translator's defaults in New, Load or LoadReader.
type Option func(*Translator) error

// WithBeamSize sets the beam size (1 = greedy search).
func WithBeamSize(n int) Option {
	return func(t *Translator) error { t.opts.BeamSize = n; return nil }
}

// WithLengthPenalty sets the length penalty exponent of beam scores.
func WithLengthPenalty(lp float32) Option {
	return func(t *Translator) error { t.opts.LengthPenalty = lp; return nil }
}

// WithMaxNewTokens sets the most target tokens generated per sentence, end
// token included.
func WithMaxNewTokens(n int) Option {
	return func(t *Translator) error { t.opts.MaxNewTokens = n; return nil }
}

// WithLengthGuard sets the runaway-output guard: at most
// ceil(ratio·n)+extra new tokens for n source ids; ratio 0 turns it off.
func WithLengthGuard(ratio float32, extra int) Option {
	return func(t *Translator) error { t.opts.MaxLenRatio, t.opts.MaxLenExtra = ratio, extra; return nil }
}

// WithNoRepeatNGram forbids repeated n-grams of size n in the output (0 = off).
func WithNoRepeatNGram(n int) Option {
	return func(t *Translator) error { t.opts.NoRepeatNGram = n; return nil }
}

// WithBatchSize sets how many sentences are decoded together (default 16;
// fewer when batch·beams would exceed 512 hypotheses).
func WithBatchSize(n int) Option {
	return func(t *Translator) error {
		if n < 1 {
			return fmt.Errorf("batch size %d: %w (want at least 1)", n, ErrInvalidOption)
		}
		t.batchSize = n
		return nil
	}
}

// WithThreads sets how many cores the matrix kernels use. The setting is
// process-wide (it is the kernels' thread count), not per Translator.
func WithThreads(n int) Option {
	return func(t *Translator) error {
		if n < 1 {
			return fmt.Errorf("threads %d: %w (want at least 1)", n, ErrInvalidOption)
		}
		kernels.SetThreads(n)
		return nil
	}
}

// WithWeightPrecision sets the precision of the weights the translator
// multiplies: "auto" (the default: the precision the model file stores its
// weights in, Model().DType; f32 for a model built in memory), "f32" (the
// model's own float32 weights), "f16" (half floats, half the bytes, for the
// decoder step) or "int8" (int8 with a scale per row, a quarter of the
// bytes, multiplied with int8 products: x is quantised per row on the
// fly). A file stored as f16 or int8 holds exactly the values of its
// precision, so "auto" multiplies the file's own weights, kept in memory as
// the file stores them (Load reads them straight into the form the products
// read; a quarter or half of the float32 memory, no float32 copy unless a
// float32 path needs one, e.g. the encoder of an f16 file). Reduced
// precision reads fewer bytes (small batches are bound by memory) and, for
// int8, does cheaper arithmetic (large batches), at the cost of slightly
// different logits; a precision other than the file's dequantises the
// file's weights and keeps the float32 weights beside the copies. With int8 the encoder and the cross-attention keys and
// values use int8 products as well; with f16 the encoder runs in float32.
func WithWeightPrecision(p string) Option {
	return func(t *Translator) error {
		if p == "auto" {
			t.autoWeights = true
			return nil
		}
		w, err := decoder.ParsePrecision(p)
		if err != nil {
			return fmt.Errorf("%w: %w (or auto)", ErrInvalidOption, err)
		}
		t.weights, t.autoWeights = w, false
		return nil
	}
}

// WithModelName sets the name Translator.Model reports (by default the
// model file's name without its extension, "default" for the embedded
// model, "" for LoadReader).
func WithModelName(name string) Option {
	return func(t *Translator) error { t.info.Name = name; return nil }
}

// Translator translates with one model. It is read-only once built by
// Load, LoadReader or Default and safe for concurrent use.
type Translator struct {
	info      ModelInfo
	cfg       modelfile.Config
	enc       *encoder.Encoder
	dec       *decoder.Decoder
	tok       *bpe.Marian // nil when the model file has no tokenizer
	opts      SearchOptions
	batchSize int
	weights   decoder.Precision // of the products (see WithWeightPrecision)
	// autoWeights makes weights the model file's storage precision.
	autoWeights bool
	rerank      *reranker  // nil without WithRerankLM
	protect     protection // spans, glossary, pass-through (protect.go)
	// cacheEntries is the sentence cache's size (WithSentenceCache);
	// cache is nil when it is 0.
	cacheEntries int
	cache        *sentenceCache
	// useShortlist is WithShortlist; shortlist is the model's, parsed,
	// when it is on (nil otherwise).
	useShortlist bool
	shortlist    *shortlist.Shortlist
	// recaseSet and recaseOn are WithRecase; truecase is the model's
	// table, parsed, when recasing is on (nil otherwise).
	recaseSet, recaseOn bool
	truecase            *truecase.Model
}

// Load reads the model file at path and builds a Translator. The search
// defaults come from the model's generation settings, then opts.
func Load(path string, opts ...Option) (*Translator, error) {
	m, err := modelfile.ReadFileWith(path, nn.StoredReadOptions())
	if err != nil {
		return nil, err
	}
	name := strings.TrimSuffix(filepath.Base(path), filepath.Ext(path))
	return loaded(newTranslator(m, append([]Option{WithModelName(name)}, opts...)...))
}

// LoadReader reads a model file from r and builds a Translator.
func LoadReader(r io.Reader, opts ...Option) (*Translator, error) {
	m, err := modelfile.ReadWith(r, nn.StoredReadOptions())
	if err != nil {
		return nil, err
	}
	return loaded(newTranslator(m, opts...))
}

// loaded returns what newTranslator returned for a model just read from a
// file, after one garbage collection: reading leaves the decompressor's
// window and buffers behind (tens of MB for an opus-mt-sized file), and
// collecting them now lets translation reuse that memory rather than grow
// the heap towards twice the model (the collector's default goal), so the
// process's peak stays near what loading took. It costs a few ms: the
// weights hold no pointers.
func loaded(t *Translator, err error) (*Translator, error) {
	runtime.GC()
	return t, err
}

// newTranslator builds a Translator from a model. The search defaults come
// from the model's generation settings, then opts. A model without
// tokenizer blobs still translates ids (TranslateIDs); the text calls
// return ErrNoTokenizer.
func newTranslator(m *modelfile.Model, opts ...Option) (*Translator, error) {
	if m == nil {
		return nil, fmt.Errorf("translate: nil model: %w", ErrInvalidInput)
	}
	if m.Config.Arch == modelfile.ArchGPT {
		return nil, fmt.Errorf("translate: the model is a language model (arch %q), not a translation model; use it with translate lm or --rerank-lm: %w", m.Config.Arch, ErrInvalidInput)
	}
	g := m.Config.Generation
	t := &Translator{
		cfg: m.Config, batchSize: defaultBatchSize, cacheEntries: defaultCacheEntries, autoWeights: true,
		protect: protection{spans: true, passthrough: true},
		opts: SearchOptions{
			BeamSize:      max(g.NumBeams, 1),
			LengthPenalty: g.LengthPenalty,
			MaxNewTokens:  max(g.MaxLength-1, 1),
			MaxLenRatio:   defaultMaxLenRatio,
			MaxLenExtra:   defaultMaxLenExtra,
			NoRepeatNGram: g.NoRepeatNGram,
		},
	}
	var err error
	if len(m.Blobs[modelfile.BlobSourceSPM]) > 0 || len(m.Blobs[modelfile.BlobVocab]) > 0 {
		if t.tok, err = bpe.NewMarianFromBlobs(m.Blobs); err != nil {
			return nil, fmt.Errorf("translate: tokenizer: %w", err)
		}
	}
	for _, o := range opts {
		if err := o(t); err != nil {
			return nil, fmt.Errorf("translate: %w", err)
		}
	}
	if err := t.checkOptions(t.opts); err != nil {
		return nil, fmt.Errorf("translate: %w", err)
	}
	if t.autoWeights {
		t.weights = storedPrecision(m.DType)
	} else if t.weights != storedPrecision(m.DType) {
		m.Dequantize() // the weights are made from float32: keep no stored form beside them
	}
	encWeights := decoder.Float32
	if t.weights == decoder.Int8 {
		encWeights = decoder.Int8 // f16 products gain nothing on the encoder's many rows
	}
	if t.enc, err = encoder.New(m, encoder.WithWeights(encWeights)); err != nil {
		return nil, fmt.Errorf("translate: %w", err)
	}
	if t.dec, err = decoder.New(m, decoder.WithWeights(t.weights)); err != nil {
		return nil, fmt.Errorf("translate: %w", err)
	}
	if t.useShortlist {
		if err := t.loadShortlist(m); err != nil {
			return nil, fmt.Errorf("translate: %w", err)
		}
	}
	if err := t.loadRecase(m); err != nil {
		return nil, fmt.Errorf("translate: %w", err)
	}
	if t.cacheEntries > 0 {
		t.cache = newSentenceCache(t.cacheEntries)
	}
	t.describe(m)
	return t, nil
}

// storedPrecision is the product precision that multiplies weights stored
// as d without changing them.
func storedPrecision(d modelfile.DType) decoder.Precision {
	switch d {
	case modelfile.F16:
		return decoder.Float16
	case modelfile.Int8:
		return decoder.Int8
	}
	return decoder.Float32
}

// ModelInfo describes a translator's model (Translator.Model): what it is,
// how large, and how it is stored.
type ModelInfo struct {
	// Name names the model: the file name without its extension for Load
	// ("opus-mt-de-en" for opus-mt-de-en.deen), "default" for Default, ""
	// for LoadReader; WithModelName sets it.
	Name string
	// Arch is the architecture: "transformer" (encoder-decoder).
	Arch string
	// EncoderLayers is the number of encoder layers.
	EncoderLayers int
	// DecoderLayers is the number of decoder layers.
	DecoderLayers int
	// DModel is the model width (d_model).
	DModel int
	// EncoderHeads is the number of attention heads of the encoder.
	EncoderHeads int
	// DecoderHeads is the number of attention heads of the decoder.
	DecoderHeads int
	// EncoderFFN is the inner width of the encoder's feed-forward blocks.
	EncoderFFN int
	// DecoderFFN is the inner width of the decoder's feed-forward blocks.
	DecoderFFN int
	// Activation is the feed-forward activation: "relu", "swish" or "gelu".
	Activation string
	// VocabSize is the size of the joint source/target vocabulary: model
	// ids are 0..VocabSize-1.
	VocabSize int
	// MaxPositions is the most source ids (end token included) a sentence
	// may have; longer sentences in text are translated in pieces.
	MaxPositions int
	// EOSID is the end token's id, which ends every source sentence given
	// to TranslateIDs and every translation.
	EOSID int
	// Parameters is the number of weights (the tied embedding counted once).
	Parameters int64
	// DType is how the model file stores the weights: "f32", "f16" or
	// "int8" (with weights "auto" kept so in memory).
	DType string
	// WeightPrecision is the precision of the products
	// (WithWeightPrecision, "auto" resolved): "f32", "f16" or "int8".
	WeightPrecision string
	// Tokenizer reports whether the model file holds the SentencePiece
	// models; without them only TranslateIDs works.
	Tokenizer bool
	// Shortlist reports whether translations are decoded over the model's
	// vocabulary shortlist (WithShortlist).
	Shortlist bool
	// Recase reports whether sentences in capitals or in lower case are
	// given their usual case before translation (WithRecase).
	Recase bool
}

// describe fills t.info from the model (keeping the name an Option set).
func (t *Translator) describe(m *modelfile.Model) {
	c := m.Config
	var params int64
	for _, w := range m.Tensors {
		n := int64(1)
		for _, s := range w.Shape {
			n *= int64(s)
		}
		params += n
	}
	t.info = ModelInfo{
		Name: t.info.Name, Arch: c.Arch,
		EncoderLayers: c.EncoderLayers, DecoderLayers: c.DecoderLayers, DModel: c.DModel,
		EncoderHeads: c.EncoderHeads, DecoderHeads: c.DecoderHeads, EncoderFFN: c.EncoderFFN, DecoderFFN: c.DecoderFFN,
		Activation: c.Activation, VocabSize: c.VocabSize, MaxPositions: t.enc.MaxLen(), EOSID: c.EOSID,
		Parameters: params, DType: m.DType.String(), WeightPrecision: t.weights.String(), Tokenizer: t.tok != nil,
		Shortlist: t.shortlist != nil, Recase: t.truecase != nil,
	}
}

// Model describes the translator's model.
func (t *Translator) Model() ModelInfo { return t.info }

// SearchOptions returns the translator's default search options.
func (t *Translator) SearchOptions() SearchOptions { return t.opts }

// checkOptions validates o against the model.
func (t *Translator) checkOptions(o SearchOptions) error {
	bad := func(what string, v any, want string) error {
		return fmt.Errorf("%s %v: %w (want %s)", what, v, ErrInvalidOption, want)
	}
	switch {
	case o.BeamSize < 1 || o.BeamSize > MaxBeamSize:
		return bad("beam size", o.BeamSize, fmt.Sprintf("1..%d", MaxBeamSize))
	case math.IsNaN(float64(o.LengthPenalty)) || math.IsInf(float64(o.LengthPenalty), 0):
		return bad("length penalty", o.LengthPenalty, "a finite number")
	case o.MaxNewTokens < 1:
		return bad("max new tokens", o.MaxNewTokens, "at least 1")
	case o.MaxLenRatio < 0 || math.IsNaN(float64(o.MaxLenRatio)) || math.IsInf(float64(o.MaxLenRatio), 0):
		return bad("max length ratio", o.MaxLenRatio, "0 (off) or a positive number")
	case o.MaxLenExtra < 0:
		return bad("max length extra", o.MaxLenExtra, "at least 0")
	case o.NoRepeatNGram < 0:
		return bad("no-repeat n-gram size", o.NoRepeatNGram, "0 (off) or more")
	case o.MinNewTokens < 0:
		return bad("min new tokens", o.MinNewTokens, "0 (off) or more")
	}
	return nil
}

// Translate translates German text: each line is split into sentences
// (SplitSentences), translated, and rejoined with the whitespace found
// between them, so the output has one line per input line, empty lines and
// leading and trailing whitespace kept. Sentences longer than the model's
// positions are split at spaces (commas first) rather than truncated.
// Invalid UTF-8 is replaced by U+FFFD. opts change this call's search
// (Search); TranslateDetailed returns the sentences, scores and
// alternatives too.
func (t *Translator) Translate(ctx context.Context, text string, opts ...CallOption) (string, error) {
	out, err := t.TranslateBatch(ctx, []string{text}, opts...)
	if err != nil {
		return "", err
	}
	return out[0], nil
}

// TranslateBatch translates texts as Translate does, all their sentences
// decoded together in length-sorted batches; the results are in input order
// and equal translating each text alone.
//
// When ctx ends midway, TranslateBatch returns the translations already
// done together with the error (which wraps ctx.Err()): the slice has one
// entry per text, the translation for every text whose sentences were all
// translated and "" for the others (TranslateBatchDetailed tells them
// apart by a nil entry). On any other error the slice is nil.
func (t *Translator) TranslateBatch(ctx context.Context, texts []string, opts ...CallOption) ([]string, error) {
	res, err := t.TranslateBatchDetailed(ctx, texts, opts...)
	if res == nil {
		return nil, err
	}
	out := make([]string, len(texts))
	for i, r := range res {
		if r != nil {
			out[i] = r.Text
		}
	}
	return out, err
}

// Decode turns target ids into text (Hugging Face's current Marian decoding).
func (t *Translator) Decode(ids []int32) (string, error) {
	if t.tok == nil {
		return "", fmt.Errorf("translate: %w", ErrNoTokenizer)
	}
	return t.tok.DecodeTarget(ids)
}

// decodeOutput decodes ids the search produced. They lie below the model's
// vocabulary size; an id at or beyond the tokenizer's (only a model whose
// output layer is larger than its vocab.json has such ids, and they have no
// text) is left out, as Hugging Face's skip of unknown ids does.
func (t *Translator) decodeOutput(ids []int32) string {
	text, err := t.tok.DecodeTarget(ids)
	if err != nil {
		known := slices.DeleteFunc(slices.Clone(ids), func(id int32) bool { return id < 0 || int(id) >= t.tok.VocabSize() })
		text, _ = t.tok.DecodeTarget(known) // every id is in range now
	}
	return text
}

// Encode turns a source sentence into model ids (end token included).
func (t *Translator) Encode(text string) ([]int32, error) {
	if t.tok == nil {
		return nil, fmt.Errorf("translate: %w", ErrNoTokenizer)
	}
	return t.tok.EncodeSource(text)
}

// TranslateIDs translates sentences given as source model ids (each ending
// with the end token, no padding) with the search settings o (zero fields:
// the translator's defaults, see SearchOptions). Sentences are decoded in
// length-sorted batches; results are in input order and equal translating
// each alone. A cancelled ctx stops the search within one decoder step;
// the results of the sentences finished by then are returned with the
// error, the others have nil IDs.
func (t *Translator) TranslateIDs(ctx context.Context, src [][]int32, o SearchOptions) ([]Result, error) {
	if err := checkContext(ctx); err != nil {
		return nil, err
	}
	o = t.resolve(o)
	if err := t.checkOptions(o); err != nil {
		return nil, fmt.Errorf("translate: %w", err)
	}
	return t.translateIDs(ctx, src, o)
}

// checkContext refuses a nil context (a programmer's slip that would
// otherwise panic deep in the search).
func checkContext(ctx context.Context) error {
	if ctx == nil {
		return fmt.Errorf("translate: nil context: %w (pass context.Background() or a request's context)", ErrInvalidInput)
	}
	return nil
}

// translateIDs is TranslateIDs with resolved, checked options o.
func (t *Translator) translateIDs(ctx context.Context, src [][]int32, o SearchOptions) ([]Result, error) {
	maxSrc := t.enc.MaxLen()
	for i, ids := range src {
		if len(ids) == 0 {
			return nil, fmt.Errorf("translate: sentence %d has no ids: %w (a source sentence ends with the end token %d)", i+1, ErrInvalidInput, t.cfg.EOSID)
		}
		if len(ids) > maxSrc {
			return nil, fmt.Errorf("translate: sentence %d has %d ids: %w (the model reads at most %d; split the text into sentences)", i+1, len(ids), ErrInvalidInput, maxSrc)
		}
		for _, id := range ids {
			if id < 0 || int(id) >= t.cfg.VocabSize {
				return nil, fmt.Errorf("translate: sentence %d: id %d: %w (the vocabulary has ids 0..%d)", i+1, id, ErrInvalidInput, t.cfg.VocabSize-1)
			}
		}
	}
	res := make([]Result, len(src))
	if err := ctx.Err(); err != nil { // also when every sentence is cached
		return res, err
	}
	order, keys, repeats := t.lookUp(src, o, res)
	defer copyRepeats(res, repeats) // also after an error: what is done is returned
	sort.SliceStable(order, func(a, b int) bool { return len(src[order[a]]) < len(src[order[b]]) })
	per := max(1, min(t.batchSize, maxBatchRows/o.BeamSize))
	for lo := 0; lo < len(order); lo += per {
		if err := ctx.Err(); err != nil {
			return res, err
		}
		batch := order[lo:min(lo+per, len(order))]
		sents := make([][]int32, len(batch))
		for i, s := range batch {
			sents[i] = src[s]
		}
		out, err := t.translateBatch(ctx, sents, o)
		if err != nil {
			return res, err
		}
		for i, s := range batch {
			res[s] = out[i]
			if t.cache != nil {
				t.cache.put(keys[s], out[i])
			}
		}
	}
	return res, nil
}

// lookUp fills res with the cached results of src under o and returns the
// sentences left to decode (each distinct one once, in input order), the
// cache keys, and repeats[i], the earlier sentence that sentence i repeats
// (-1 for none). Without a cache every sentence is left to decode.
func (t *Translator) lookUp(src [][]int32, o SearchOptions, res []Result) (todo []int, keys []string, repeats []int) {
	todo = make([]int, 0, len(src))
	if t.cache == nil {
		for i := range src {
			todo = append(todo, i)
		}
		return todo, nil, nil
	}
	keys = make([]string, len(src))
	repeats = make([]int, len(src))
	first := make(map[string]int, len(src))
	for i, ids := range src {
		keys[i], repeats[i] = cacheKey(o, ids), -1
		if j, ok := first[keys[i]]; ok {
			repeats[i] = j
			continue
		}
		first[keys[i]] = i
		if r, ok := t.cache.get(keys[i]); ok {
			res[i] = r
			continue
		}
		todo = append(todo, i)
	}
	return todo, keys, repeats
}

// copyRepeats gives every repeated sentence a copy of its first
// occurrence's result, when that one is done.
func copyRepeats(res []Result, repeats []int) {
	for i, j := range repeats {
		if j >= 0 && res[j].IDs != nil {
			res[i] = cloneResult(res[j])
		}
	}
}

// translateBatch encodes one batch, builds the decoder state (BeamSize rows
// per sentence in beam search) and runs the search.
func (t *Translator) translateBatch(ctx context.Context, src [][]int32, o SearchOptions) ([]Result, error) {
	n := len(src)
	seqLen := 0
	lengths := make([]int, n)
	for i, s := range src {
		lengths[i] = len(s)
		seqLen = max(seqLen, len(s))
	}
	ids := make([]int32, n*seqLen)
	for i, s := range src {
		row := ids[i*seqLen : (i+1)*seqLen]
		copy(row, s)
		for j := len(s); j < seqLen; j++ {
			row[j] = int32(t.cfg.PadID)
		}
	}
	memory := t.enc.Forward(ids, n, seqLen, lengths)
	mem := t.dec.StepCrossAttn().Memory(memory, n, seqLen, lengths)

	sp := t.spec(o)
	maxLen := make([]int, n)
	longest := 0
	for i, s := range src {
		maxLen[i] = t.maxLength(len(s), o)
		longest = max(longest, maxLen[i])
	}
	sentence := make([]int, 0, n*sp.beams)
	for i := range n {
		for range sp.beams {
			sentence = append(sentence, i)
		}
	}
	st := &decoderStepper{dec: t.dec, state: t.dec.NewState(mem, sentence, longest)}
	var res []Result
	var err error
	if cand, masks := t.candidates(src); cand != nil {
		st.state.Shortlist(cand)
		res, err = searchCandidates(ctx, st, sp, maxLen, cand, masks)
	} else {
		res, err = search(ctx, st, sp, maxLen)
	}
	if err == nil && sp.beams > 1 && t.rerank != nil {
		err = t.rerank.apply(res, int32(t.cfg.EOSID))
	}
	return res, err
}

// spec resolves the search rules of o for this model.
func (t *Translator) spec(o SearchOptions) *searchSpec {
	sp := &searchSpec{
		vocab:         t.dec.VocabSize(),
		start:         int32(t.cfg.DecoderStartID),
		eos:           int32(t.cfg.EOSID),
		forcedEOS:     t.cfg.Generation.ForcedEOS,
		beams:         o.BeamSize,
		lengthPenalty: float64(o.LengthPenalty),
		noRepeatNGram: o.NoRepeatNGram,
		minNewTokens:  o.MinNewTokens,
	}
	for _, b := range t.cfg.Generation.BadWordsIDs {
		if b >= 0 && b < sp.vocab {
			sp.badWords = append(sp.badWords, int32(b))
		}
	}
	return sp
}

// maxLength returns the HF max_length (decoder positions, start token
// included) for a source of srcLen ids: 1 + the new-token limit after the
// guard, within the decoder's position table.
func (t *Translator) maxLength(srcLen int, o SearchOptions) int {
	n := min(o.MaxNewTokens, t.dec.MaxLen())
	if o.MaxLenRatio > 0 {
		if g := math.Ceil(float64(o.MaxLenRatio)*float64(srcLen)) + float64(o.MaxLenExtra); g < float64(n) {
			n = int(g)
		}
	}
	return 1 + max(n, 1)
}

// decoderStepper drives a decoder State for the search.
type decoderStepper struct {
	dec   *decoder.Decoder
	state *decoder.State
}

func (d *decoderStepper) Step(tokens []int32, logits []float32) { d.dec.Step(d.state, tokens, logits) }

func (d *decoderStepper) Reorder(parents []int) { d.state.Reorder(parents) }
