// Package marian imports Hugging Face MarianMT (Helsinki-NLP opus-mt)
// checkpoints: config.json and generation_config.json, the weights from
// model.safetensors or pytorch_model.bin, and the tokenizer files
// source.spm, target.spm and vocab.json, into a deen model
// (modelfile) that computes what transformers' MarianMTModel and
// generate() compute.
package marian

import (
	"encoding/json"
	"errors"
	"fmt"
	"io/fs"
	"math"
	"os"
	"path/filepath"
	"strings"

	"github.com/deen-mt/deen/modelfile"
)

// Files of a checkpoint directory.
const (
	fileConfig      = "config.json"
	fileGeneration  = "generation_config.json"
	fileSafetensors = "model.safetensors"
	fileTorch       = "pytorch_model.bin"
	fileTokenizer   = "tokenizer_config.json"
)

// dirContents says what Load expects, for error messages.
const dirContents = "a Hugging Face MarianMT directory (e.g. Helsinki-NLP/opus-mt-de-en) holds config.json, " +
	"model.safetensors or pytorch_model.bin, source.spm, target.spm and vocab.json (generation_config.json optional)"

// Load reads the MarianMT checkpoint directory dir. It prefers
// model.safetensors and falls back to pytorch_model.bin.
func Load(dir string) (*modelfile.Model, error) {
	return load(dir, "")
}

// load reads dir with the given weights file ("" picks one).
func load(dir, weights string) (*modelfile.Model, error) {
	st, err := os.Stat(dir)
	if err != nil {
		return nil, fmt.Errorf("marian: %w (%s)", err, dirContents)
	}
	if !st.IsDir() {
		return nil, fmt.Errorf("marian: %s is not a directory; %s", dir, dirContents)
	}
	cfg, err := readConfig(dir)
	if err != nil {
		return nil, err
	}
	m := &modelfile.Model{Config: cfg, Blobs: map[string][]byte{}}
	for _, name := range []string{modelfile.BlobSourceSPM, modelfile.BlobTargetSPM, modelfile.BlobVocab} {
		b, err := readFile(dir, name)
		if err != nil {
			return nil, err
		}
		m.Blobs[name] = b
	}
	if m.Config.UnkID, err = unkID(m.Blobs[modelfile.BlobVocab], cfg.VocabSize); err != nil {
		return nil, err
	}
	if weights == "" {
		weights = fileSafetensors
		if _, err := os.Stat(filepath.Join(dir, weights)); errors.Is(err, fs.ErrNotExist) {
			weights = fileTorch
		}
	}
	hf, err := readWeights(filepath.Join(dir, weights))
	if err != nil {
		return nil, err
	}
	if m.Tensors, err = mapTensors(cfg, hf); err != nil {
		return nil, fmt.Errorf("marian: %s: %w", weights, err)
	}
	if err := m.Config.Validate(); err != nil {
		return nil, fmt.Errorf("marian: %s: %w", fileConfig, err)
	}
	if err := modelfile.ValidateTensors(m); err != nil {
		return nil, fmt.Errorf("marian: %s: %w", weights, err)
	}
	return m, nil
}

// readFile reads a required file of the checkpoint directory.
func readFile(dir, name string) ([]byte, error) {
	b, err := os.ReadFile(filepath.Join(dir, name))
	if errors.Is(err, fs.ErrNotExist) {
		return nil, fmt.Errorf("marian: %s has no %s; %s", dir, name, dirContents)
	}
	if err != nil {
		return nil, fmt.Errorf("marian: %w", err)
	}
	return b, nil
}

// readWeights reads model.safetensors or pytorch_model.bin.
func readWeights(path string) (map[string]*hfTensor, error) {
	f, err := os.Open(path)
	if errors.Is(err, fs.ErrNotExist) {
		return nil, fmt.Errorf("marian: %s has neither %s nor %s; %s", filepath.Dir(path), fileSafetensors, fileTorch, dirContents)
	}
	if err != nil {
		return nil, fmt.Errorf("marian: %w", err)
	}
	defer f.Close()
	st, err := f.Stat()
	if err != nil {
		return nil, fmt.Errorf("marian: %w", err)
	}
	var t map[string]*hfTensor
	if filepath.Base(path) == fileTorch {
		t, err = readTorchZip(f, st.Size())
	} else {
		t, err = readSafetensors(f, st.Size())
	}
	if err != nil {
		return nil, fmt.Errorf("marian: %s: %w", path, err)
	}
	return t, nil
}

// unkID returns the id of "<unk>" in vocab.json, checking that every id is
// inside the vocabulary.
func unkID(vocabJSON []byte, vocabSize int) (int, error) {
	var vocab map[string]int
	if err := json.Unmarshal(vocabJSON, &vocab); err != nil {
		return 0, fmt.Errorf("marian: vocab.json is not a JSON object of piece → id: %w", err)
	}
	for piece, id := range vocab {
		if id < 0 || id >= vocabSize {
			return 0, fmt.Errorf("marian: vocab.json maps %q to %d, outside vocab_size %d", piece, id, vocabSize)
		}
	}
	unk, ok := vocab["<unk>"]
	if !ok {
		return 0, fmt.Errorf("marian: vocab.json has no \"<unk>\" piece")
	}
	return unk, nil
}

// hfConfig holds the config.json and generation_config.json fields we use;
// pointers tell absent from zero.
type hfConfig struct {
	ModelType           string          `json:"model_type"`
	Architectures       []string        `json:"architectures"`
	VocabSize           *int            `json:"vocab_size"`
	DecoderVocabSize    *int            `json:"decoder_vocab_size"`
	DModel              *int            `json:"d_model"`
	EncoderLayers       *int            `json:"encoder_layers"`
	DecoderLayers       *int            `json:"decoder_layers"`
	EncoderHeads        *int            `json:"encoder_attention_heads"`
	DecoderHeads        *int            `json:"decoder_attention_heads"`
	EncoderFFN          *int            `json:"encoder_ffn_dim"`
	DecoderFFN          *int            `json:"decoder_ffn_dim"`
	Activation          *string         `json:"activation_function"`
	ScaleEmbedding      *bool           `json:"scale_embedding"`
	MaxPositions        *int            `json:"max_position_embeddings"`
	ShareEmbeddings     *bool           `json:"share_encoder_decoder_embeddings"`
	TieWordEmbeddings   *bool           `json:"tie_word_embeddings"`
	PadTokenID          json.RawMessage `json:"pad_token_id"`
	EOSTokenID          json.RawMessage `json:"eos_token_id"`
	DecoderStartTokenID json.RawMessage `json:"decoder_start_token_id"`
	ForcedEOSTokenID    json.RawMessage `json:"forced_eos_token_id"`
	NumBeams            *int            `json:"num_beams"`
	MaxLength           *int            `json:"max_length"`
	LengthPenalty       *float64        `json:"length_penalty"`
	BadWordsIDs         *[][]int        `json:"bad_words_ids"`
	NoRepeatNGram       *int            `json:"no_repeat_ngram_size"`
	SeparateVocabs      *bool           `json:"separate_vocabs"` // tokenizer_config.json
}

// readConfig maps config.json (and generation_config.json when present) to
// a Config. Like transformers' MarianMTModel it always builds post-norm
// layers with Marian's sinusoidal positions and no final layer norms: the
// normalize_before, static_position_embeddings, add_final_layer_norm and
// normalize_embedding fields that opus-mt configs carry from older
// converters are not read by transformers, so they are not read here.
func readConfig(dir string) (modelfile.Config, error) {
	var c modelfile.Config
	raw, err := readFile(dir, fileConfig)
	if err != nil {
		return c, err
	}
	var hc, gen hfConfig
	if err := json.Unmarshal(raw, &hc); err != nil {
		return c, fmt.Errorf("marian: %s: %w", fileConfig, err)
	}
	if graw, err := os.ReadFile(filepath.Join(dir, fileGeneration)); err == nil {
		if err := json.Unmarshal(graw, &gen); err != nil {
			return c, fmt.Errorf("marian: %s: %w", fileGeneration, err)
		}
	} else if !errors.Is(err, fs.ErrNotExist) {
		return c, fmt.Errorf("marian: %w", err)
	}
	if traw, err := os.ReadFile(filepath.Join(dir, fileTokenizer)); err == nil {
		var tc hfConfig
		if json.Unmarshal(traw, &tc) == nil && tc.SeparateVocabs != nil && *tc.SeparateVocabs {
			return c, fmt.Errorf("marian: %s: separate_vocabs true (separate source/target vocabularies) is not supported", fileTokenizer)
		}
	}
	var p []string
	bad := func(format string, args ...any) { p = append(p, fmt.Sprintf(format, args...)) }
	if hc.ModelType != "marian" {
		bad("model_type %q is not \"marian\"", hc.ModelType)
	}
	for _, a := range hc.Architectures {
		if a != "MarianMTModel" && a != "MarianModel" {
			bad("architecture %q is not MarianMTModel", a)
		}
	}
	need := func(name string, v *int) int {
		if v == nil {
			bad("%s is missing", name)
			return 0
		}
		return *v
	}
	c.Arch = "transformer"
	c.VocabSize = need("vocab_size", hc.VocabSize)
	c.DModel = need("d_model", hc.DModel)
	c.EncoderLayers = need("encoder_layers", hc.EncoderLayers)
	c.DecoderLayers = need("decoder_layers", hc.DecoderLayers)
	c.EncoderHeads = need("encoder_attention_heads", hc.EncoderHeads)
	c.DecoderHeads = need("decoder_attention_heads", hc.DecoderHeads)
	c.EncoderFFN = need("encoder_ffn_dim", hc.EncoderFFN)
	c.DecoderFFN = need("decoder_ffn_dim", hc.DecoderFFN)
	if hc.DecoderVocabSize != nil && *hc.DecoderVocabSize != c.VocabSize {
		bad("decoder_vocab_size %d differs from vocab_size %d (separate vocabularies are not supported)", *hc.DecoderVocabSize, c.VocabSize)
	}
	if hc.ShareEmbeddings != nil && !*hc.ShareEmbeddings {
		bad("share_encoder_decoder_embeddings false is not supported")
	}
	act := "gelu" // transformers' MarianConfig default
	if hc.Activation != nil {
		act = *hc.Activation
	}
	switch act {
	case "swish", "silu":
		c.Activation = "swish"
	case "relu", "gelu":
		c.Activation = act
	default:
		bad("activation_function %q is not supported (want swish, silu, relu or gelu)", act)
	}
	c.ScaleEmbedding = hc.ScaleEmbedding != nil && *hc.ScaleEmbedding
	c.Positions = modelfile.PositionsMarian
	c.MaxPositions = 1024
	if hc.MaxPositions != nil {
		c.MaxPositions = *hc.MaxPositions
	}
	c.LayerNormEps = 1e-5

	// Special ids and generation defaults: generation_config.json first,
	// then config.json, then transformers' defaults.
	id := func(name string, fallback int, vals ...json.RawMessage) int {
		for _, v := range vals {
			if n, ok, err := tokenID(v); err != nil {
				bad("%s: %v", name, err)
				return fallback
			} else if ok {
				return n
			}
		}
		return fallback
	}
	c.PadID = id("pad_token_id", -1, gen.PadTokenID, hc.PadTokenID)
	c.EOSID = id("eos_token_id", -1, gen.EOSTokenID, hc.EOSTokenID)
	if c.PadID < 0 || c.EOSID < 0 {
		bad("pad_token_id and eos_token_id are required")
	}
	c.DecoderStartID = id("decoder_start_token_id", c.PadID, gen.DecoderStartTokenID, hc.DecoderStartTokenID)
	g := &c.Generation
	g.NumBeams = firstInt(1, gen.NumBeams, hc.NumBeams)
	g.MaxLength = firstInt(20, gen.MaxLength, hc.MaxLength)
	g.NoRepeatNGram = firstInt(0, gen.NoRepeatNGram, hc.NoRepeatNGram)
	g.LengthPenalty = 1
	for _, lp := range []*float64{gen.LengthPenalty, hc.LengthPenalty} {
		if lp != nil {
			g.LengthPenalty = float32(*lp)
			break
		}
	}
	if forced := id("forced_eos_token_id", -1, gen.ForcedEOSTokenID, hc.ForcedEOSTokenID); forced >= 0 {
		if forced != c.EOSID {
			bad("forced_eos_token_id %d differs from eos_token_id %d (not supported)", forced, c.EOSID)
		}
		g.ForcedEOS = true
	}
	bw := gen.BadWordsIDs
	if bw == nil {
		bw = hc.BadWordsIDs
	}
	if bw != nil {
		for _, seq := range *bw {
			if len(seq) != 1 {
				bad("bad_words_ids entry %v: only single-token entries are supported", seq)
				continue
			}
			g.BadWordsIDs = append(g.BadWordsIDs, seq[0])
		}
	}
	if len(p) > 0 {
		return c, fmt.Errorf("marian: %s: %s", fileConfig, strings.Join(p, "; "))
	}
	return c, nil
}

// tokenID decodes an id field that may be absent, null, a number or a
// one-element list (newer generation configs allow lists).
func tokenID(raw json.RawMessage) (id int, ok bool, err error) {
	if len(raw) == 0 || string(raw) == "null" {
		return 0, false, nil
	}
	var n int
	if json.Unmarshal(raw, &n) == nil {
		return n, true, nil
	}
	var list []int
	if json.Unmarshal(raw, &list) == nil && len(list) == 1 {
		return list[0], true, nil
	}
	return 0, false, fmt.Errorf("%s is not a token id", raw)
}

// firstInt returns the first non-nil value, or fallback.
func firstInt(fallback int, vals ...*int) int {
	for _, v := range vals {
		if v != nil {
			return *v
		}
	}
	return fallback
}

// sinusoidMarian returns the position table transformers'
// MarianSinusoidalPositionalEmbedding holds: for i < d/2,
// P[pos][i] = sin(pos/10000^(2i/d)) and P[pos][d/2+i] = cos(same),
// computed in float64. Used only to check tables stored in checkpoints.
func sinusoidMarian(n, d int) []float32 {
	out := make([]float32, n*d)
	for pos := 0; pos < n; pos++ {
		for i := 0; i < d/2; i++ {
			a := float64(pos) / math.Pow(10000, float64(2*i)/float64(d))
			out[pos*d+i] = float32(math.Sin(a))
			out[pos*d+d/2+i] = float32(math.Cos(a))
		}
	}
	return out
}
