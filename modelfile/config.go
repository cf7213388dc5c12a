package modelfile

// Config holds the architecture hyper-parameters, special ids and generation
// defaults of a translation model. It is stored as JSON in the model file
// header; every layer is built from it, so nothing is hard-wired to one shape.
//
// Tensor names. A model's weights are named tensors (row-major float32 in
// memory). Linear weights are [out, in] (y = x·Wᵀ + b), as in PyTorch:
//
//	embed.weight                 [V, d]   shared source/target embedding, tied output projection
//	final_logits_bias            [V]      optional; zero when absent
//	enc.pos.weight, dec.pos.weight [P, d] only when Positions == PositionsLearned
//	enc.{i}.self.{q,k,v,o}.{weight,bias}   [d, d], [d]
//	enc.{i}.self_ln.{weight,bias}          [d]
//	enc.{i}.fc1.{weight,bias}              [ffn, d], [ffn]
//	enc.{i}.fc2.{weight,bias}              [d, ffn], [d]
//	enc.{i}.ffn_ln.{weight,bias}           [d]
//	dec.{i}.self.*, dec.{i}.self_ln.*      as in the encoder (causal)
//	dec.{i}.cross.{q,k,v,o}.{weight,bias}  [d, d], [d]  (q reads the decoder, k/v the encoder memory)
//	dec.{i}.cross_ln.{weight,bias}         [d]
//	dec.{i}.fc1.*, dec.{i}.fc2.*, dec.{i}.ffn_ln.*
//	enc.ln.{weight,bias}, dec.ln.{weight,bias}  [d]  only when FinalLayerNorm
//
// A decoder-only language model (Arch == ArchGPT, package gpt) has no
// encoder and no cross-attention: embed.weight (tied output projection),
// dec.pos.weight (learned positions), per layer dec.{i}.self_ln, dec.{i}.self,
// dec.{i}.ffn_ln, dec.{i}.fc1, dec.{i}.fc2 (pre-norm: each norm reads its
// sub-layer's input), and the final norm dec.ln; with NoBias no tensor named
// *.bias. Its encoder fields are zero.
type Config struct {
	// Arch names the architecture: ArchTransformer (encoder-decoder
	// translation model) or ArchGPT (decoder-only language model).
	Arch string `json:"arch"`
	// VocabSize is the size of the joint vocabulary (V).
	VocabSize int `json:"vocab_size"`
	// DModel is the model width (d).
	DModel int `json:"d_model"`
	// EncoderLayers is the number of encoder layers.
	EncoderLayers int `json:"encoder_layers"`
	// DecoderLayers is the number of decoder layers.
	DecoderLayers int `json:"decoder_layers"`
	// EncoderHeads is the number of encoder attention heads; d must divide by it.
	EncoderHeads int `json:"encoder_heads"`
	// DecoderHeads is the number of decoder attention heads (self and cross);
	// d must divide by it.
	DecoderHeads int `json:"decoder_heads"`
	// EncoderFFN is the inner width of the encoder feed-forward blocks (ffn).
	EncoderFFN int `json:"encoder_ffn"`
	// DecoderFFN is the inner width of the decoder feed-forward blocks (ffn).
	DecoderFFN int `json:"decoder_ffn"`
	// Activation is the feed-forward activation: "relu", "swish" (SiLU) or "gelu" (exact erf).
	Activation string `json:"activation"`
	// PreNorm selects pre-layer-norm blocks (GPT style); false is post-norm (paper, Marian).
	PreNorm bool `json:"pre_norm"`
	// FinalLayerNorm adds a layer norm after each stack (enc.ln, dec.ln), usual with PreNorm.
	FinalLayerNorm bool `json:"final_layer_norm"`
	// ScaleEmbedding multiplies token embeddings by sqrt(d).
	ScaleEmbedding bool `json:"scale_embedding"`
	// Positions is the position encoding: PositionsMarian, PositionsInterleaved or PositionsLearned.
	Positions string `json:"positions"`
	// MaxPositions is the number of positions the model supports (P).
	MaxPositions int `json:"max_positions"`
	// LayerNormEps is the epsilon of every layer norm (1e-5 in Marian).
	LayerNormEps float32 `json:"layer_norm_eps"`
	// NoBias drops the biases of every linear layer and layer norm
	// (nanoGPT's bias=False); ArchGPT only.
	NoBias bool `json:"no_bias,omitempty"`

	// PadID is the id of the padding token (<pad>).
	PadID int `json:"pad_id"`
	// EOSID is the id of the end-of-sentence token (</s>), appended to every
	// source sentence and ending every translation.
	EOSID int `json:"eos_id"`
	// UnkID is the id of the unknown token (<unk>).
	UnkID int `json:"unk_id"`
	// DecoderStartID is the token the decoder starts from (the pad id in
	// Marian).
	DecoderStartID int `json:"decoder_start_id"`

	// Generation holds the search defaults stored with the model.
	Generation Generation `json:"generation"`
}

// Generation holds search defaults (Hugging Face generation_config semantics).
type Generation struct {
	// NumBeams is the beam size; 1 means greedy search.
	NumBeams int `json:"num_beams"`
	// LengthPenalty is the exponent of the length normalisation of beam scores.
	LengthPenalty float32 `json:"length_penalty"`
	// MaxLength is the most decoder positions, start token included (HF max_length).
	MaxLength int `json:"max_length"`
	// ForcedEOS forces the end token as the last token when MaxLength is reached.
	ForcedEOS bool `json:"forced_eos"`
	// BadWordsIDs are single token ids never generated (pad, in Marian).
	BadWordsIDs []int `json:"bad_words_ids"`
	// NoRepeatNGram forbids repeating any n-gram of this size in an output
	// (HF no_repeat_ngram_size; 0 = off).
	NoRepeatNGram int `json:"no_repeat_ngram_size,omitempty"`
}

// Architectures.
const (
	// ArchTransformer is the encoder-decoder translation model.
	ArchTransformer = "transformer"
	// ArchGPT is the decoder-only language model of package gpt.
	ArchGPT = "gpt"
)

// Position encodings.
const (
	// PositionsMarian is the sinusoidal table with the sin half then the cos half.
	PositionsMarian = "sinusoidal-marian"
	// PositionsInterleaved is the paper's sinusoidal table, sin and cos interleaved.
	PositionsInterleaved = "sinusoidal-interleaved"
	// PositionsLearned is a learned table stored as enc.pos.weight / dec.pos.weight.
	PositionsLearned = "learned"
)

// Blob names stored in a model file: the tokenizer files, the optional
// vocabulary shortlist and the optional truecase table.
const (
	// BlobSourceSPM is the SentencePiece model of the source language.
	BlobSourceSPM = "source.spm"
	// BlobTargetSPM is the SentencePiece model of the target language.
	BlobTargetSPM = "target.spm"
	// BlobVocab is the JSON piece → model id map (Marian vocab.json).
	BlobVocab = "vocab.json"
	// BlobShortlist is the vocabulary shortlist (package shortlist's
	// layout); optional, written by translate shortlist.
	BlobShortlist = "shortlist.bin"
	// BlobTruecase is the usual spelling of German words (package
	// truecase's text form); optional, written by translate casing.
	BlobTruecase = "truecase.txt"
)
