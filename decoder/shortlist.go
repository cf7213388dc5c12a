package decoder

import "fmt"

// Shortlist makes Step compute the logits of the target ids ids only, in
// that order: from then on a logits row of Step holds len(ids) values,
// value j being the logit of id ids[j], exactly as it is in a full row. It
// gathers those rows of the output projection (at the step weights'
// precision) and of final_logits_bias once, so a step multiplies
// len(ids)·d weights there instead of V·d. The decoder does not know how
// ids were chosen (package shortlist, driven by the translator, chooses
// them per batch). ids must lie in 0..V−1 (a programmer's error
// otherwise: Shortlist panics); nil restores every id.
func (s *State) Shortlist(ids []int32) {
	d := s.dec
	if ids == nil {
		s.out, s.bias = nil, nil
		return
	}
	for _, id := range ids {
		if id < 0 || int(id) >= d.vocab {
			panic(fmt.Sprintf("decoder: Shortlist id %d, want 0..%d", id, d.vocab-1))
		}
	}
	out := d.out.Rows(ids)
	s.out, s.bias = &out, nil
	if d.bias != nil {
		s.bias = make([]float32, len(ids))
		for i, id := range ids {
			s.bias[i] = d.bias[id]
		}
	}
}

// Width returns the number of logits per row Step writes: V, or the
// number of ids given to Shortlist.
func (s *State) Width() int {
	if s.out != nil {
		return s.out.L.Out
	}
	return s.dec.vocab
}
