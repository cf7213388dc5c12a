// Package bpe is the project's SentencePiece tokenizer: it loads Google
// SentencePiece model files (unigram and BPE), splits text into pieces and
// ids exactly as SentencePiece 0.1.97 does, turns ids and pieces back into
// text, maps pieces to model ids through a MarianMT vocabulary (Marian), and
// trains BPE or unigram vocabularies for our own models (Train).
//
// # Why our own implementation
//
// Byte-exact ids are the requirement: a model only translates well the ids
// it was trained on, and an imported opus-mt model must get the ids Hugging
// Face's tokenizer (SentencePiece) gives, or its translations differ from
// the reference ones (the parity tests compare ids exactly). The encoder
// and normaliser are therefore written here from SentencePiece's C++
// sources (normalizer.cc, unigram_model.cc, bpe_model.cc,
// sentencepiece_processor.cc) rather than taken from
// github.com/sugarme/tokenizer, because that library differs from
// SentencePiece where it matters for byte-exact ids:
//   - its unigram Viterbi adds a length bonus (0.1 per byte) and caps pieces
//     at 20 bytes, so it picks other segmentations than SentencePiece;
//   - it does not run the model's precompiled charsmap (nmt_nfkc, a darts
//     double array) nor SentencePiece's whitespace rules and offsets;
//   - its cache is not safe for concurrent use, and the Encoder must be.
//
// Writing the pieces we need was smaller than patching around those: the
// model file is read with a small protobuf decoder (proto.go, fuzzed), the
// charsmap is looked up in place in its darts-clone double array, and pieces
// are found with a byte trie. A Model holds no mutable state after Load, so
// one Model (and one Marian) can serve any number of goroutines.
//
// # Exactness
//
// The unigram encoder is SentencePiece's EncodeOptimized (the default in
// 0.1.9x): best path per byte position (float32 scores, candidates summed
// and compared in float64 like the C++), first candidate
// kept on equal scores, unknown characters scored min_score-10, runs of
// unknown characters merged into one <unk> piece, user-defined symbols scored
// length·max_score-0.1 and never normalised. The BPE encoder merges the
// highest-scoring adjacent pair first (leftmost on ties) and splits merged
// UNUSED pieces back. Byte fallback, treat_whitespace_as_suffix, unk_surface
// and a denormalizer spec are honoured. Token offsets are UTF-8 byte offsets
// into the original text. Tests check every vector of
// testdata/oracle/tokenizer_vectors.json and compare with spm_encode on
// corpus text when it is available.
//
// Known differences, only for degenerate model files: WORD and CHAR models
// are rejected; a one-character CONTROL piece is treated as unknown by the
// BPE encoder (SentencePiece would fail to encode); pieces that are not valid
// UTF-8 are rejected at load time; DecodePieces replaces invalid UTF-8 in
// pieces it copies verbatim by U+FFFD.
package bpe
