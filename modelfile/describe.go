package modelfile

import (
	"bytes"
	"encoding/binary"
	"fmt"
	"unicode/utf8"
)

// describe guesses what a foreign file is from its first bytes, for the
// "not a deen model file" error.
func describe(p []byte) string {
	switch {
	case bytes.HasPrefix(p, []byte("PK\x03\x04")):
		return "a zip archive, e.g. a PyTorch pytorch_model.bin; import Hugging Face checkpoints with: translate convert marian DIR OUT"
	case len(p) >= 9 && p[8] == '{' && binary.LittleEndian.Uint64(p) < 1<<30:
		return "a safetensors file; import Hugging Face checkpoints with: translate convert marian DIR OUT"
	case bytes.HasPrefix(p, []byte{0x28, 0xb5, 0x2f, 0xfd}):
		return "a bare zstd stream without the deen header"
	case bytes.HasPrefix(p, []byte{0x1f, 0x8b}):
		return "a gzip file"
	case len(p) >= 2 && p[0] == 0x80 && p[1] >= 2 && p[1] <= 5:
		return "a Python pickle (a legacy PyTorch checkpoint?)"
	case bytes.HasPrefix(p, []byte("GGUF")):
		return "a GGUF file"
	case bytes.HasPrefix(p, []byte("\x7fELF")):
		return "an ELF executable"
	}
	t := bytes.TrimLeft(p, " \t\r\n")
	if len(t) > 0 && (t[0] == '{' || t[0] == '[') {
		return "JSON text (a config.json?)"
	}
	if isText(p) {
		return fmt.Sprintf("text starting %q", p)
	}
	return fmt.Sprintf("unknown data starting % x", p)
}

// isText reports whether p is printable UTF-8 (allowing a cut-off rune at
// the end).
func isText(p []byte) bool {
	for len(p) > 0 {
		r, size := utf8.DecodeRune(p)
		if r == utf8.RuneError && size <= 1 {
			return len(p) < utf8.UTFMax && !utf8.FullRune(p)
		}
		if r < 0x20 && r != '\n' && r != '\r' && r != '\t' {
			return false
		}
		p = p[size:]
	}
	return true
}
