package translate

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"strings"
	"testing"
)

// With f16 weights greedy search on tiny-marian-A gives the reference ids
// wherever the reference's smallest top-2 logit margin is wide enough for
// the weights' error (f16 moves the logits by about 1e-3, see the decoder's
// tests); int8 moves them about ten times more, so it is only reported.
func TestWeightPrecisionParity(t *testing.T) {
	const wideMargin = 0.05
	for _, p := range []string{"f16", "int8"} {
		tr, refs := parityTranslator(t, WithWeightPrecision(p))
		eos := int32(tr.cfg.EOSID)
		src := make([][]int32, len(refs.Sentences))
		for i, s := range refs.Sentences {
			src[i] = s.InputIDs
		}
		got, err := tr.TranslateIDs(context.Background(), src, parityOptions(refs, 1, 1))
		if err != nil {
			t.Fatal(err)
		}
		wide, wideSame, same := 0, 0, 0
		for i, s := range refs.Sentences {
			eq := slices.Equal(got[i].IDs, refGenerated(s.Greedy.IDs, eos))
			if eq {
				same++
			}
			if s.Greedy.MinTop2Margin >= wideMargin {
				wide++
				if eq {
					wideSame++
				}
			}
			if !eq && s.Greedy.MinTop2Margin >= wideMargin && p == "f16" {
				t.Errorf("f16 sentence %d (margin %.3g): ids %v, want %v", i, s.Greedy.MinTop2Margin, got[i].IDs, refGenerated(s.Greedy.IDs, eos))
			}
		}
		t.Logf("%s greedy: %d/%d sentences equal the reference; %d/%d of those with margin >= %g", p, same, len(src), wideSame, wide, wideMargin)
	}
}

func TestBatchedEqualsAloneLowPrecision(t *testing.T) {
	for _, p := range []string{"int8", "f16"} {
		t.Run(p, func(t *testing.T) {
			batchedEqualsAlone(t, smallTranslator(t, WithBatchSize(5), WithWeightPrecision(p)))
		})
	}
}

func TestWeightPrecisionErrors(t *testing.T) {
	m, err := randomWeights(smallConfig(), false)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := newTranslator(m, WithWeightPrecision("bf16")); !errors.Is(err, ErrInvalidOption) || !strings.Contains(err.Error(), "want f32, f16 or int8") {
		t.Errorf("bf16: %v, want ErrInvalidOption naming f32, f16, int8", err)
	}
	m.Tensors["dec.0.fc1.weight"].Data[3] = 1e6
	if _, err := newTranslator(m, WithWeightPrecision("f16")); err == nil || !strings.Contains(err.Error(), "dec.0.fc1.weight[3]") {
		t.Errorf("f16 with a weight of 1e6: %v, want an error naming dec.0.fc1.weight[3]", err)
	}
	for _, p := range []string{"f32", "int8"} {
		if _, err := newTranslator(m, WithWeightPrecision(p)); err != nil {
			t.Errorf("%s with a weight of 1e6: %v", p, fmt.Sprint(err))
		}
	}
}
