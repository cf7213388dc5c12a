package modelfile

import (
	"fmt"
	"math"
)

// Sane maxima for Config fields. They bound what a model file may claim
// before anything is allocated; real models are far below them.
const (
	MaxVocab     = 1 << 21 // 2M pieces
	MaxDModel    = 1 << 14
	MaxLayers    = 256
	MaxFFN       = 1 << 17
	MaxPositions = 1 << 20
	MaxBeams     = 1024
)

// Validate checks that every field is sane: known architecture, activation
// and position encoding, positive sizes within the maxima above, d divisible
// by the head counts, special ids inside the vocabulary and sane generation
// defaults. It reports all problems at once.
func (c Config) Validate() error {
	var p []string
	bad := func(format string, args ...any) { p = append(p, fmt.Sprintf(format, args...)) }
	inRange := func(name string, v, lo, hi int) {
		if v < lo || v > hi {
			bad("%s = %d, want %d..%d", name, v, lo, hi)
		}
	}
	gpt := c.Arch == ArchGPT
	switch {
	case gpt:
		if c.EncoderLayers != 0 || c.EncoderHeads != 0 || c.EncoderFFN != 0 {
			bad("a gpt model has no encoder: encoder_layers, encoder_heads and encoder_ffn must be 0")
		}
		if !c.PreNorm || !c.FinalLayerNorm || c.Positions != PositionsLearned || c.ScaleEmbedding {
			bad("a gpt model has pre_norm, final_layer_norm, learned positions and no scale_embedding")
		}
		c.EncoderLayers, c.EncoderHeads, c.EncoderFFN = 1, 1, 1 // for the shared checks below
	case c.Arch != ArchTransformer:
		bad("arch %q is unknown (want %q or %q)", c.Arch, ArchTransformer, ArchGPT)
	case c.NoBias:
		bad("no_bias is only supported with arch %q", ArchGPT)
	}
	inRange("vocab_size", c.VocabSize, 2, MaxVocab)
	inRange("d_model", c.DModel, 1, MaxDModel)
	inRange("encoder_layers", c.EncoderLayers, 1, MaxLayers)
	inRange("decoder_layers", c.DecoderLayers, 1, MaxLayers)
	inRange("encoder_heads", c.EncoderHeads, 1, MaxDModel)
	inRange("decoder_heads", c.DecoderHeads, 1, MaxDModel)
	inRange("encoder_ffn", c.EncoderFFN, 1, MaxFFN)
	inRange("decoder_ffn", c.DecoderFFN, 1, MaxFFN)
	inRange("max_positions", c.MaxPositions, 1, MaxPositions)
	if c.EncoderHeads > 0 && c.DModel%c.EncoderHeads != 0 {
		bad("d_model %d is not divisible by encoder_heads %d", c.DModel, c.EncoderHeads)
	}
	if c.DecoderHeads > 0 && c.DModel%c.DecoderHeads != 0 {
		bad("d_model %d is not divisible by decoder_heads %d", c.DModel, c.DecoderHeads)
	}
	if c.Positions != PositionsLearned && c.DModel%2 != 0 {
		bad("d_model %d must be even for sinusoidal positions", c.DModel)
	}
	switch c.Activation {
	case "relu", "swish", "gelu":
	default:
		bad("activation %q is unknown (want relu, swish or gelu)", c.Activation)
	}
	switch c.Positions {
	case PositionsMarian, PositionsInterleaved, PositionsLearned:
	default:
		bad("positions %q is unknown (want %q, %q or %q)", c.Positions, PositionsMarian, PositionsInterleaved, PositionsLearned)
	}
	eps := float64(c.LayerNormEps)
	if !(eps > 0 && eps < 1) {
		bad("layer_norm_eps = %g, want 0 < eps < 1", eps)
	}
	id := func(name string, v int) {
		if v < 0 || v >= c.VocabSize {
			bad("%s = %d is outside the vocabulary 0..%d", name, v, c.VocabSize-1)
		}
	}
	id("pad_id", c.PadID)
	id("eos_id", c.EOSID)
	id("unk_id", c.UnkID)
	id("decoder_start_id", c.DecoderStartID)
	g := c.Generation
	inRange("generation.num_beams", g.NumBeams, 1, MaxBeams)
	inRange("generation.max_length", g.MaxLength, 2, MaxPositions)
	inRange("generation.no_repeat_ngram_size", g.NoRepeatNGram, 0, MaxPositions)
	if lp := float64(g.LengthPenalty); math.IsNaN(lp) || math.IsInf(lp, 0) {
		bad("generation.length_penalty = %g is not finite", lp)
	}
	for _, b := range g.BadWordsIDs {
		id("generation.bad_words_ids entry", b)
	}
	return joinProblems("model config", p)
}
