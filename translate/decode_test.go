package translate

import (
	"strings"
	"testing"
)

// TestDecodeOutOfRange checks that ids outside the vocabulary are an error
// naming the id, not silently dropped.
func TestDecodeOutOfRange(t *testing.T) {
	tr, _ := parityTranslator(t)
	if s, err := tr.Decode([]int32{-5, 1 << 30}); err == nil || !strings.Contains(err.Error(), "id -5 is out of range") {
		t.Errorf("Decode(-5, 1<<30) = %q, %v; want an error naming -5", s, err)
	}
	if s, err := tr.Decode([]int32{4, 1 << 30}); err == nil || !strings.Contains(err.Error(), "id 1073741824") {
		t.Errorf("Decode(4, 1<<30) = %q, %v; want an error naming 1073741824", s, err)
	}
}
