package encoder

import (
	"fmt"
	"testing"

	"github.com/deen-mt/deen/marian"
	"github.com/deen-mt/deen/nn/nntest"
)

// Tolerances of testdata/oracle/NOTES.md for hidden states.
const (
	hiddenMaxAbs  = 2e-4
	hiddenRelNorm = 2e-5
)

func checkHidden(t *testing.T, what string, d nntest.Diff) {
	t.Helper()
	if d.MaxAbs > hiddenMaxAbs || d.RelNorm > hiddenRelNorm {
		t.Errorf("%s: %v, want max|Δ| <= %g and rel <= %g", what, d, hiddenMaxAbs, hiddenRelNorm)
	}
}

// loadCase imports a reference checkpoint with the marian importer and
// reads its references.
func loadCase(t *testing.T, c nntest.OracleCase) (*Encoder, *nntest.Oracle) {
	t.Helper()
	m, err := marian.Load(c.Dir)
	if err != nil {
		t.Fatal(err)
	}
	o, err := nntest.LoadOracle(c.Refs)
	if err != nil {
		t.Fatal(err)
	}
	e, err := New(m)
	if err != nil {
		t.Fatal(err)
	}
	return e, o
}

// TestOracleEncoder compares the encoder output of every reference
// sentence with PyTorch's float32 and float64 results, and the real rows of
// the reference's right-padded batch.
func TestOracleEncoder(t *testing.T) {
	for _, c := range nntest.OracleCases(t) {
		t.Run(c.Name, func(t *testing.T) {
			e, o := loadCase(t, c)
			var worst32, worst64 nntest.Diff
			for _, s := range o.Sentences {
				got := e.Forward(s.InputIDs, 1, len(s.InputIDs), nil)
				d32, d64 := nntest.Compare(got, s.Encoder), nntest.Compare(got, s.Encoder64)
				checkHidden(t, fmt.Sprintf("sentence %d vs float32", s.Index), d32)
				checkHidden(t, fmt.Sprintf("sentence %d vs float64", s.Index), d64)
				worst32.MaxAbs, worst32.RelNorm = max(worst32.MaxAbs, d32.MaxAbs), max(worst32.RelNorm, d32.RelNorm)
				worst64.MaxAbs, worst64.RelNorm = max(worst64.MaxAbs, d64.MaxAbs), max(worst64.RelNorm, d64.RelNorm)
			}
			t.Logf("%d sentences: worst vs float32 %v, vs float64 %v", len(o.Sentences), worst32, worst64)

			b := o.Batch
			batch, seqLen := len(b.InputIDs), len(b.InputIDs[0])
			ids := make([]int32, 0, batch*seqLen)
			lengths := make([]int, batch)
			for i, row := range b.InputIDs {
				ids = append(ids, row...)
				for _, v := range b.AttentionMask[i] {
					lengths[i] += v
				}
			}
			got := e.Forward(ids, batch, seqLen, lengths)
			for i := range batch {
				if len(b.EncoderRows[i]) != lengths[i] {
					t.Fatalf("batch row %d: %d reference rows for length %d", i, len(b.EncoderRows[i]), lengths[i])
				}
				d := nntest.Compare(got[i*seqLen*e.d:], b.EncoderRows[i])
				checkHidden(t, fmt.Sprintf("padded batch row %d", i), d)
				t.Logf("padded batch row %d (length %d of %d): %v", i, lengths[i], seqLen, d)
			}
		})
	}
}

// TestOracleEncoderTrace compares the embeddings and every layer's output
// of sentence 1 of tiny-marian-A with PyTorch's trace.
func TestOracleEncoderTrace(t *testing.T) {
	e, o := loadCase(t, nntest.OracleCases(t)[0])
	s := o.Sentences[1]
	if s.Trace == nil {
		t.Fatal("sentence 1 has no trace")
	}
	n := len(s.InputIDs)
	emb := make([]float32, n*e.d)
	e.embed.Forward(emb, s.InputIDs, n, 0)
	checkHidden(t, "encoder.embeddings", nntest.Compare(emb, s.Trace["encoder.embeddings"]))
	for k := 1; k <= len(e.layers); k++ {
		first := &Encoder{d: e.d, preNorm: e.preNorm, embed: e.embed, layers: e.layers[:k]}
		name := fmt.Sprintf("encoder.layers.%d", k-1)
		want, ok := s.Trace[name]
		if !ok {
			t.Fatalf("trace has no %s", name)
		}
		d := nntest.Compare(first.Forward(s.InputIDs, 1, n, nil), want)
		checkHidden(t, name, d)
		t.Logf("%s: %v", name, d)
	}
}
