package decoder

import (
	"math"
	"math/rand/v2"
	"strings"
	"testing"
)

// With a shortlist Step writes exactly the shortlisted columns of the full
// logits (bias included), at every precision, also after Reorder; nil
// restores full rows.
func TestStepShortlist(t *testing.T) {
	for name, c := range shapes() {
		t.Run(name, func(t *testing.T) {
			f := newFixture(t, c, 3)
			rng := rand.New(rand.NewPCG(8, 9))
			ids := []int32{int32(c.VocabSize - 1), 0}
			for range 5 {
				ids = append(ids, int32(rng.IntN(c.VocabSize)))
			}
			sentence := []int{0, 1, 1, 2}
			v, w := c.VocabSize, len(ids)
			for _, p := range []Precision{Float32, Float16, Int8} {
				dec, err := New(f.m, WithWeights(p))
				if err != nil {
					t.Fatal(err)
				}
				full, short := dec.NewState(f.memory, sentence, 4), dec.NewState(f.memory, sentence, 4)
				short.Shortlist(ids)
				if short.Width() != w || full.Width() != v {
					t.Fatalf("Width %d and %d, want %d and %d", short.Width(), full.Width(), w, v)
				}
				for step := range 4 {
					tokens := f.ids(full.Rows())
					a, b := make([]float32, full.Rows()*v), make([]float32, short.Rows()*w)
					dec.Step(full, tokens, a)
					dec.Step(short, tokens, b)
					for r := range full.Rows() {
						for j, id := range ids {
							if math.Float32bits(b[r*w+j]) != math.Float32bits(a[r*v+int(id)]) {
								t.Fatalf("%v step %d row %d: shortlisted logit %d (id %d) is %v, full %v", p, step, r, j, id, b[r*w+j], a[r*v+int(id)])
							}
						}
					}
					parents := []int{full.Rows() - 1, 0, full.Rows() - 1}
					full.Reorder(parents)
					short.Reorder(parents)
				}
				short.Shortlist(nil)
				if short.Width() != v {
					t.Fatalf("Width after Shortlist(nil) = %d, want %d", short.Width(), v)
				}
			}
			s := f.dec.NewState(f.memory, sentence, 4)
			func() {
				defer func() {
					if r := recover(); r == nil || !strings.Contains(r.(string), "Shortlist id") {
						t.Errorf("Shortlist of an id beyond V: recover() = %v", r)
					}
				}()
				s.Shortlist([]int32{int32(v)})
			}()
		})
	}
}
