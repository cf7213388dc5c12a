// Package modelfile holds a translation model in memory and reads and writes
// it as one file.
//
// A Model is everything a translator needs: its Config (architecture
// hyper-parameters, special ids, generation defaults), its weights as named
// row-major float32 Tensors (the canonical names and shapes are listed on
// Config; Config.Tensors lists them and ValidateTensors checks a model against them) and the
// tokenizer files, kept verbatim as Blobs.
//
// Write, WriteFile, Read and ReadFile convert between a Model and the deen
// model file format described in docs/modelfile.md: a magic and version,
// then one zstd stream with a checksummed JSON header and the blobs and
// tensors back to back, each with its own CRC-32C. Tensors may be stored as
// f32, f16 or int8 (WriteOptions.DType). Read and ReadFile load every
// tensor as float32; ReadWith and ReadFileWith can keep f16 matrices as
// their bits and int8 matrices in a store of the caller's layout
// (ReadOptions; nn.StoredReadOptions keeps them as the products read
// them), with no float32 copy until Model.Get asks for one.
// WriteFile replaces the file atomically.
//
// Reading never panics on bad input and allocates in proportion to the input.
// Errors name the problem and wrap ErrNotModel (not a model file at all),
// ErrNewerVersion (written by a newer deen) or ErrCorrupt (truncated,
// checksum mismatch, inconsistent header), which callers test with
// errors.Is.
package modelfile
