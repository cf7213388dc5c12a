package decoder

import (
	"fmt"
	"math"
	"math/rand/v2"
	"testing"

	"github.com/deen-mt/deen/crossattn"
	"github.com/deen-mt/deen/encoder"
	"github.com/deen-mt/deen/internal/kernels"
	"github.com/deen-mt/deen/marian"
	"github.com/deen-mt/deen/modelfile"
	"github.com/deen-mt/deen/nn"
	"github.com/deen-mt/deen/nn/nntest"
)

// Tolerances of testdata/oracle/NOTES.md.
const (
	logitMaxAbs   = 1e-3
	logitRelNorm  = 1e-4
	logProbMaxAbs = 5e-4
	hiddenMaxAbs  = 2e-4
	hiddenRelNorm = 2e-5
	// nearTie is the gap between the two best reference logits below which
	// a float32 engine may legitimately pick the other one.
	nearTie = 1e-4
)

// oracle is a reference model with its encoder, decoder and references.
type oracle struct {
	m   *modelfile.Model
	enc *encoder.Encoder
	dec *Decoder
	ref *nntest.Oracle
}

// loadOracle imports a reference checkpoint with the marian importer.
func loadOracle(t *testing.T, c nntest.OracleCase) *oracle {
	t.Helper()
	o := &oracle{}
	var err error
	if o.m, err = marian.Load(c.Dir); err != nil {
		t.Fatal(err)
	}
	if o.ref, err = nntest.LoadOracle(c.Refs); err != nil {
		t.Fatal(err)
	}
	if o.enc, err = encoder.New(o.m); err != nil {
		t.Fatal(err)
	}
	if o.dec, err = New(o.m); err != nil {
		t.Fatal(err)
	}
	return o
}

// memory encodes one sentence alone.
func (o *oracle) memory(s *nntest.OracleSentence) *crossattn.Memory {
	n := len(s.InputIDs)
	return o.dec.CrossAttn().Memory(o.enc.Forward(s.InputIDs, 1, n, nil), 1, n, nil)
}

// logitChecks accumulates the per-position comparisons of NOTES.md.
type logitChecks struct {
	top, probe, lse, top64, probe64, lse64 nntest.Diff
	norms                                  [6]float64
	labelLP, labelLP64                     float64
	argmaxMismatch, nearTies               int
}

// add compares one logits row with the reference of its position.
func (c *logitChecks) add(t *testing.T, where string, row []float32, p *nntest.OraclePos, label int32, probes []int32) {
	t.Helper()
	for k, id := range p.TopIDs {
		c.top.Add(row[id], float64(p.TopLogits[k]), &c.norms[0])
		c.top64.Add(row[id], p.TopLogits64[k], &c.norms[3])
	}
	for k, id := range probes {
		c.probe.Add(row[id], float64(p.ProbeLogits[k]), &c.norms[1])
		c.probe64.Add(row[id], p.ProbeLogits64[k], &c.norms[4])
	}
	lse := nn.LogSumExp(row, make([]float32, len(row)))
	c.lse.Add(lse, float64(p.LogSumExp), &c.norms[2])
	c.lse64.Add(lse, p.LogSumExp64, &c.norms[5])
	lp := float64(row[label]) - float64(lse)
	c.labelLP = max(c.labelLP, math.Abs(lp-float64(p.LabelLogProb)))
	c.labelLP64 = max(c.labelLP64, math.Abs(lp-p.LabelLogProb64))
	if got := int32(kernels.ArgMax(row)); got != p.Argmax {
		if p.TopLogits[0]-p.TopLogits[1] < nearTie {
			c.nearTies++
		} else {
			c.argmaxMismatch++
			t.Errorf("%s: argmax %d, reference %d (gap %g)", where, got, p.Argmax, p.TopLogits[0]-p.TopLogits[1])
		}
	}
}

// check finishes the sums and applies the tolerances.
func (c *logitChecks) check(t *testing.T) {
	t.Helper()
	for i, d := range []*nntest.Diff{&c.top, &c.probe, &c.lse, &c.top64, &c.probe64, &c.lse64} {
		d.Finish(c.norms[i])
	}
	for _, x := range []struct {
		name string
		d    nntest.Diff
	}{{"top_logits", c.top}, {"probe_logits", c.probe}, {"logsumexp", c.lse},
		{"top_logits_f64", c.top64}, {"probe_logits_f64", c.probe64}, {"logsumexp_f64", c.lse64}} {
		if x.d.MaxAbs > logitMaxAbs || x.d.RelNorm > logitRelNorm {
			t.Errorf("%s: %v, want max|Δ| <= %g and rel <= %g", x.name, x.d, logitMaxAbs, logitRelNorm)
		}
	}
	if c.labelLP > logProbMaxAbs || c.labelLP64 > logProbMaxAbs {
		t.Errorf("label_logprob: max|Δ| %g (float64 ref %g), want <= %g", c.labelLP, c.labelLP64, logProbMaxAbs)
	}
	t.Logf("top %v, probe %v, logsumexp %v; vs float64: top %v, probe %v, logsumexp %v; label_logprob max|Δ| %.3g / %.3g; %d argmax near-ties",
		c.top, c.probe, c.lse, c.top64, c.probe64, c.lse64, c.labelLP, c.labelLP64, c.nearTies)
}

// TestOracleTeacherForcing compares the teacher-forced logits of every
// reference sentence, and the full logits of tiny-marian-A's sentence 1.
func TestOracleTeacherForcing(t *testing.T) {
	for _, oc := range nntest.OracleCases(t) {
		t.Run(oc.Name, func(t *testing.T) {
			o := loadOracle(t, oc)
			var c logitChecks
			v := o.dec.VocabSize()
			for i := range o.ref.Sentences {
				s := &o.ref.Sentences[i]
				tf := &s.TeacherForcing
				tl := len(tf.DecoderInputIDs)
				logits := o.dec.Forward(o.memory(s), tf.DecoderInputIDs, 1, tl, nil)
				for p := range tf.PerPosition {
					c.add(t, fmt.Sprintf("sentence %d position %d", s.Index, p), logits[p*v:(p+1)*v], &tf.PerPosition[p], tf.Labels[p], o.ref.Meta.ProbeIDs)
				}
				if tf.Logits != nil {
					d := nntest.Compare(logits, tf.Logits)
					if d.MaxAbs > logitMaxAbs || d.RelNorm > logitRelNorm {
						t.Errorf("sentence %d full logits: %v", s.Index, d)
					}
					d64 := nntest.Compare(logits[:v], [][]float64{tf.Logits64First})
					if d64.MaxAbs > logitMaxAbs || d64.RelNorm > logitRelNorm {
						t.Errorf("sentence %d full float64 logits of position 0: %v", s.Index, d64)
					}
					t.Logf("sentence %d full logits: %v; position 0 vs float64: %v", s.Index, d, d64)
				}
			}
			c.check(t)
		})
	}
}

// TestOracleDecoderTrace compares the embeddings and every decoder layer's
// output of sentence 1 with PyTorch's trace.
func TestOracleDecoderTrace(t *testing.T) {
	o := loadOracle(t, nntest.OracleCases(t)[0])
	s := &o.ref.Sentences[1]
	ids := s.TeacherForcing.DecoderInputIDs
	n, d := len(ids), o.dec.d
	emb := make([]float32, n*d)
	o.dec.embed.Forward(emb, ids, n, 0)
	checks := []struct {
		name string
		got  []float32
	}{{"decoder.embeddings", emb}}
	for k := 1; k <= len(o.dec.layers); k++ {
		first := *o.dec
		first.layers = o.dec.layers[:k]
		checks = append(checks, struct {
			name string
			got  []float32
		}{fmt.Sprintf("decoder.layers.%d", k-1), first.teacherForced(o.memory(s), ids, 1, n, nil)})
	}
	for _, c := range checks {
		want, ok := s.Trace[c.name]
		if !ok {
			t.Fatalf("trace has no %s", c.name)
		}
		diff := nntest.Compare(c.got, want)
		if diff.MaxAbs > hiddenMaxAbs || diff.RelNorm > hiddenRelNorm {
			t.Errorf("%s: %v, want max|Δ| <= %g and rel <= %g", c.name, diff, hiddenMaxAbs, hiddenRelNorm)
		}
		t.Logf("%s: %v", c.name, diff)
	}
}

// TestOracleStepAndReorder decodes all reference sentences at once, one row
// per sentence over a padded memory, with the KV cache; after every step the
// rows are permuted at random. Each row's logits must equal the
// teacher-forced Forward over the same memory (1e-4) and the references.
func TestOracleStepAndReorder(t *testing.T) {
	for _, oc := range nntest.OracleCases(t) {
		t.Run(oc.Name, func(t *testing.T) {
			o := loadOracle(t, oc)
			sents := o.ref.Sentences
			batch, srcLen := len(sents), 0
			for _, s := range sents {
				srcLen = max(srcLen, len(s.InputIDs))
			}
			pad := int32(o.m.Config.PadID)
			ids, lengths := make([]int32, batch*srcLen), make([]int, batch)
			for b, s := range sents {
				for j := range srcLen {
					ids[b*srcLen+j] = pad
				}
				copy(ids[b*srcLen:], s.InputIDs)
				lengths[b] = len(s.InputIDs)
			}
			mem := o.dec.CrossAttn().Memory(o.enc.Forward(ids, batch, srcLen, lengths), batch, srcLen, lengths)
			v := o.dec.VocabSize()
			// The teacher-forced logits of the whole padded batch over the same memory.
			maxT := 0
			for b := range sents {
				maxT = max(maxT, len(sents[b].TeacherForcing.DecoderInputIDs))
			}
			decIDs, decLens := make([]int32, batch*maxT), make([]int, batch)
			for b := range sents {
				in := sents[b].TeacherForcing.DecoderInputIDs
				for j := range maxT {
					decIDs[b*maxT+j] = pad
				}
				copy(decIDs[b*maxT:], in)
				decLens[b] = len(in)
			}
			forward := o.dec.Forward(mem, decIDs, batch, maxT, decLens)
			rowSent := make([]int, batch) // which sentence each row decodes
			for r := range rowSent {
				rowSent[r] = r
			}
			s := o.dec.NewState(mem, rowSent, maxT)
			rng := rand.New(rand.NewPCG(1, 2))
			logits := make([]float32, batch*v)
			tokens := make([]int32, batch)
			var c logitChecks
			var worst float64
			for step := range maxT {
				for r, b := range rowSent {
					tokens[r] = pad // sentences past their end keep going on pad
					if in := sents[b].TeacherForcing.DecoderInputIDs; step < len(in) {
						tokens[r] = in[step]
					}
				}
				o.dec.Step(s, tokens, logits)
				for r, b := range rowSent {
					tf := &sents[b].TeacherForcing
					if step >= len(tf.DecoderInputIDs) {
						continue
					}
					row := logits[r*v : (r+1)*v]
					for j, x := range row {
						worst = max(worst, math.Abs(float64(x-forward[(b*maxT+step)*v+j])))
					}
					c.add(t, fmt.Sprintf("step %d row %d (sentence %d)", step, r, b), row, &tf.PerPosition[step], tf.Labels[step], o.ref.Meta.ProbeIDs)
				}
				perm := rng.Perm(batch)
				s.Reorder(perm)
				next := make([]int, batch)
				for i, p := range perm {
					next[i] = rowSent[p]
				}
				rowSent = next
			}
			if worst > 1e-4 {
				t.Errorf("Step (with reorders) vs teacher-forced Forward: max|Δ| %g, want <= 1e-4", worst)
			}
			t.Logf("Step vs Forward max|Δ| %.3g over %d steps of %d rows", worst, maxT, batch)
			c.check(t)
		})
	}
}
