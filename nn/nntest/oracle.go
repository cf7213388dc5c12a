package nntest

import (
	"encoding/json"
	"fmt"
	"math"
	"os"
)

// Oracle is the part of testdata/oracle/refs_*.json (see NOTES.md there)
// that the layer tests compare against.
type Oracle struct {
	// Meta holds the run's settings; ProbeIDs are the fixed vocabulary ids
	// whose logits every position records (OraclePos.ProbeLogits).
	Meta struct {
		ProbeIDs []int32 `json:"probe_ids"`
	} `json:"meta"`
	// Sentences are the per-sentence references.
	Sentences []OracleSentence `json:"sentences"`
	// Batch is the padded batch run of some of the sentences: their
	// indices, padded input ids and mask, and the encoder output's valid
	// rows per sentence ([sentence][row][d_model]).
	Batch struct {
		SentenceIndices []int         `json:"sentence_indices"`
		InputIDs        [][]int32     `json:"input_ids"`
		AttentionMask   [][]int       `json:"attention_mask"`
		EncoderRows     [][][]float32 `json:"encoder_last_hidden_state_valid_rows"`
	} `json:"batch"`
}

// OracleSentence is one reference sentence.
type OracleSentence struct {
	// Index is the sentence's number in the oracle's sentence list.
	Index int `json:"index"`
	// InputIDs are the source token ids, </s> included.
	InputIDs []int32 `json:"input_ids"`
	// Encoder is the encoder output [len(InputIDs)][d_model], float32.
	Encoder [][]float32 `json:"encoder_last_hidden_state"`
	// Encoder64 is Encoder computed in float64.
	Encoder64 [][]float64 `json:"encoder_last_hidden_state_f64"`
	// Trace maps activation names ("encoder.embeddings",
	// "encoder.layers.N", "decoder.embeddings", "decoder.layers.N") to
	// their rows under teacher forcing; only some sentences have it.
	Trace map[string][][]float32 `json:"trace"`
	// TeacherForcing is the decoder run on the reference labels: the
	// labels, the decoder inputs (start id then labels shifted right), one
	// OraclePos per position, the full logits [positions][V] and, for one
	// sentence, the float64 logits of position 0.
	TeacherForcing struct {
		Labels          []int32     `json:"labels"`
		DecoderInputIDs []int32     `json:"decoder_input_ids"`
		PerPosition     []OraclePos `json:"per_position"`
		Logits          [][]float32 `json:"logits"`
		Logits64First   []float64   `json:"logits_f64_first_position"`
	} `json:"teacher_forcing"`
}

// OraclePos is the reference of one teacher-forced decoder position.
type OraclePos struct {
	// Argmax is the id of the largest logit.
	Argmax int32 `json:"argmax"`
	// TopIDs are the ids of the 10 largest logits, descending.
	TopIDs []int32 `json:"top_ids"`
	// TopLogits are the logits of TopIDs.
	TopLogits []float32 `json:"top_logits"`
	// LogSumExp is log Σ exp(logit) over the vocabulary.
	LogSumExp float32 `json:"logsumexp"`
	// ProbeLogits are the logits of Oracle.Meta.ProbeIDs, in that order.
	ProbeLogits []float32 `json:"probe_logits"`
	// LabelLogProb is logit[label] − LogSumExp, the label's log probability.
	LabelLogProb float32 `json:"label_logprob"`
	// TopLogits64 is TopLogits computed in float64.
	TopLogits64 []float64 `json:"top_logits_f64"`
	// LogSumExp64 is LogSumExp computed in float64.
	LogSumExp64 float64 `json:"logsumexp_f64"`
	// ProbeLogits64 is ProbeLogits computed in float64.
	ProbeLogits64 []float64 `json:"probe_logits_f64"`
	// LabelLogProb64 is LabelLogProb computed in float64.
	LabelLogProb64 float64 `json:"label_logprob_f64"`
}

// LoadOracle reads a refs_*.json file.
func LoadOracle(path string) (*Oracle, error) {
	data, err := os.ReadFile(path)
	if err != nil {
		return nil, err
	}
	var o Oracle
	if err := json.Unmarshal(data, &o); err != nil {
		return nil, fmt.Errorf("%s: %w", path, err)
	}
	if len(o.Sentences) == 0 {
		return nil, fmt.Errorf("%s: no sentences", path)
	}
	return &o, nil
}

// Diff measures got against want: the largest absolute difference and the
// relative norm ‖got−want‖/‖want‖ (a NaN gives +Inf for both).
type Diff struct {
	// MaxAbs is max |got − want|.
	MaxAbs float64
	// RelNorm is ‖got − want‖ / ‖want‖ (the plain ‖got − want‖ when want
	// is all zeros).
	RelNorm float64
}

// Add accumulates one more pair into d; call Finish after the last one.
// (RelNorm holds the running Σ(got−want)² and norm the Σwant² until then.)
func (d *Diff) Add(got float32, want float64, norm *float64) {
	e := float64(got) - want
	if math.IsNaN(e) {
		e = math.Inf(1)
	}
	d.MaxAbs = math.Max(d.MaxAbs, math.Abs(e))
	d.RelNorm += e * e
	*norm += want * want
}

// Finish turns the accumulated sums into the relative norm.
func (d *Diff) Finish(norm float64) {
	if norm > 0 {
		d.RelNorm = math.Sqrt(d.RelNorm / norm)
	} else {
		d.RelNorm = math.Sqrt(d.RelNorm)
	}
}

// Compare measures got [len(want)·w] against the rows of want.
func Compare[T float32 | float64](got []float32, want [][]T) Diff {
	var d Diff
	var norm float64
	for i, row := range want {
		for j, w := range row {
			d.Add(got[i*len(row)+j], float64(w), &norm)
		}
	}
	d.Finish(norm)
	return d
}

// String formats d for test messages: "max|Δ| … rel …".
func (d Diff) String() string { return fmt.Sprintf("max|Δ| %.3g rel %.3g", d.MaxAbs, d.RelNorm) }
