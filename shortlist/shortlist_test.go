package shortlist

import (
	"bytes"
	"context"
	"errors"
	"math/rand"
	"reflect"
	"slices"
	"strings"
	"testing"
)

func example(t testing.TB) *Shortlist {
	sl, err := New(50, []int32{3, 1, 7}, map[int32][]int32{
		4:  {20, 21},
		10: {30},
		49: {0, 48, 12},
	})
	if err != nil {
		t.Fatal(err)
	}
	return sl
}

func TestCandidates(t *testing.T) {
	sl := example(t)
	got := sl.Candidates(nil, [][]int32{{4, 2}, {10, 99, -1}}, 0, 2)
	// frequent 1 3 7; always 0 2; sources 4 2 10 (99, −1 skipped); their
	// candidates 20 21 30.
	want := []int32{0, 1, 2, 3, 4, 7, 10, 20, 21, 30}
	if !reflect.DeepEqual(got, want) {
		t.Fatalf("Candidates = %v, want %v", got, want)
	}
	if got := sl.Candidates([]int32{-5}, nil); !reflect.DeepEqual(got, []int32{-5, 1, 3, 7}) {
		t.Fatalf("Candidates appended to dst = %v", got)
	}
}

func TestMarshalRoundTrip(t *testing.T) {
	for _, sl := range []*Shortlist{example(t), mustNew(t, 1, nil, nil), mustNew(t, 3, []int32{2, 0, 1}, nil)} {
		b, err := sl.MarshalBinary()
		if err != nil {
			t.Fatal(err)
		}
		got, err := Parse(b, sl.Vocab())
		if err != nil {
			t.Fatalf("Parse(MarshalBinary) = %v", err)
		}
		if !equal(got, sl) {
			t.Fatalf("round trip changed the shortlist: %+v, want %+v", got, sl)
		}
	}
}

func mustNew(t *testing.T, vocab int, frequent []int32, per map[int32][]int32) *Shortlist {
	sl, err := New(vocab, frequent, per)
	if err != nil {
		t.Fatal(err)
	}
	return sl
}

func equal(a, b *Shortlist) bool {
	if a.Vocab() != b.Vocab() || !slices.Equal(a.Frequent(), b.Frequent()) {
		return false
	}
	for s := range a.Vocab() {
		if !slices.Equal(a.Translations(int32(s)), b.Translations(int32(s))) {
			return false
		}
	}
	return true
}

func TestNewErrors(t *testing.T) {
	for name, tc := range map[string]struct {
		vocab    int
		frequent []int32
		per      map[int32][]int32
		want     string
	}{
		"empty vocabulary":   {0, nil, nil, "vocabulary of 0"},
		"frequent too big":   {5, []int32{5}, nil, "frequent ids: id 5"},
		"frequent negative":  {5, []int32{-1}, nil, "frequent ids: id -1"},
		"frequent twice":     {5, []int32{1, 1}, nil, "id 1 twice"},
		"candidate too big":  {5, nil, map[int32][]int32{2: {9}}, "source id 2: id 9"},
		"source too big":     {5, nil, map[int32][]int32{7: {1}}, "source id 7"},
		"candidate repeated": {5, nil, map[int32][]int32{0: {1, 2, 1}}, "id 1 twice"},
	} {
		_, err := New(tc.vocab, tc.frequent, tc.per)
		if !errors.Is(err, ErrInvalid) || !strings.Contains(err.Error(), tc.want) {
			t.Errorf("%s: New error %v, want ErrInvalid naming %q", name, err, tc.want)
		}
	}
}

func TestParseErrors(t *testing.T) {
	good, _ := example(t).MarshalBinary()
	for name, tc := range map[string]struct {
		data  []byte
		vocab int
		want  string
	}{
		"empty":            {nil, 50, "not a shortlist"},
		"foreign":          {[]byte("PK\x03\x04 zip file"), 50, "not a shortlist"},
		"newer layout":     {[]byte("DEENSL2\nxyz"), 50, `layout "2\n"`},
		"other vocabulary": {good, 51, "vocabulary of 50 ids, the model has 51"},
		"truncated":        {good[:len(good)-1], 50, "truncated"},
		"trailing":         {append(slices.Clone(good), 0), 50, "1 bytes after the end"},
		"bad vocab arg":    {good, 0, "vocabulary of 0"},
	} {
		_, err := Parse(tc.data, tc.vocab)
		if !errors.Is(err, ErrInvalid) || !strings.Contains(err.Error(), tc.want) {
			t.Errorf("%s: Parse error %v, want ErrInvalid naming %q", name, err, tc.want)
		}
		if err != nil && name != "bad vocab arg" && !strings.Contains(err.Error(), "translate shortlist") && !strings.Contains(err.Error(), "not a shortlist") {
			t.Errorf("%s: error %q does not name the fix", name, err)
		}
	}
}

// FuzzParse: Parse never panics, and whatever it accepts survives a
// round trip and yields only ids of the vocabulary.
func FuzzParse(f *testing.F) {
	good, _ := example(f).MarshalBinary()
	f.Add(good, 50)
	f.Add([]byte(magic), 50)
	f.Add(append([]byte(magic), 5, 1, 4, 1, 0, 1, 2), 5)
	f.Fuzz(func(t *testing.T, data []byte, vocab int) {
		vocab = vocab%200 + 1
		if vocab < 1 {
			vocab = -vocab + 1
		}
		sl, err := Parse(data, vocab)
		if err != nil {
			if sl != nil || !errors.Is(err, ErrInvalid) {
				t.Fatalf("Parse returned %v with error %v", sl, err)
			}
			return
		}
		for _, id := range sl.Candidates(nil, [][]int32{{0, int32(vocab - 1)}}) {
			if id < 0 || int(id) >= vocab {
				t.Fatalf("candidate %d outside the vocabulary of %d", id, vocab)
			}
		}
		per := map[int32][]int32{}
		for s := range int32(vocab) {
			if ids := sl.Translations(s); len(ids) > 0 {
				per[s] = ids
			}
		}
		rebuilt, err := New(vocab, sl.Frequent(), per)
		if err != nil {
			t.Fatalf("New of what Parse accepted: %v", err)
		}
		b, err := rebuilt.MarshalBinary()
		if err != nil || !bytes.Equal(b, data) {
			t.Fatalf("the blob Parse accepted is not the one New writes for its contents: %v", err)
		}
	})
}

// The learner finds translations planted in noise: source id 100+i always
// comes with target id 200+i, among random source and target ids that the
// frequent list covers.
func TestLearnFindsPlantedTranslations(t *testing.T) {
	const vocab, planted = 300, 20
	rng := rand.New(rand.NewSource(1))
	var src, tgt [][]int32
	for range 2000 {
		var s, d []int32
		for range 1 + rng.Intn(3) {
			i := int32(rng.Intn(planted))
			s = append(s, 100+i)
			d = append(d, 200+i)
		}
		for range 2 + rng.Intn(5) {
			s = append(s, int32(rng.Intn(50))) // noise, source side
			d = append(d, int32(50+rng.Intn(30)))
		}
		rng.Shuffle(len(d), func(i, j int) { d[i], d[j] = d[j], d[i] })
		src, tgt = append(src, append(s, 0)), append(tgt, append(d, 0)) // 0 ends every sentence
	}
	sl, err := Learn(context.Background(), src, tgt, vocab, LearnOptions{Frequent: 31, PerSource: 3})
	if err != nil {
		t.Fatal(err)
	}
	if f := sl.Frequent(); len(f) != 31 || f[0] != 0 {
		t.Fatalf("frequent ids %v, want 31 starting with the end id 0", f)
	}
	for i := range int32(planted) {
		got := sl.Translations(100 + i)
		if len(got) == 0 || got[0] != 200+i {
			t.Errorf("candidates of %d = %v, want %d first", 100+i, got, 200+i)
		}
		if slices.ContainsFunc(got, func(id int32) bool { return slices.Contains(sl.Frequent(), id) }) {
			t.Errorf("candidates of %d = %v repeat a frequent id", 100+i, got)
		}
	}
}

func TestLearnErrors(t *testing.T) {
	ctx := context.Background()
	for name, tc := range map[string]struct {
		src, tgt [][]int32
		o        LearnOptions
		want     string
	}{
		"unpaired":     {[][]int32{{1}}, nil, LearnOptions{}, "1 source and 0 target"},
		"id too big":   {[][]int32{{1}}, [][]int32{{10}}, LearnOptions{}, "pair 1: id 10"},
		"bad min prob": {nil, nil, LearnOptions{MinProb: 2}, "MinProb"},
	} {
		_, err := Learn(ctx, tc.src, tc.tgt, 10, tc.o)
		if !errors.Is(err, ErrInvalid) || !strings.Contains(err.Error(), tc.want) {
			t.Errorf("%s: Learn error %v, want ErrInvalid naming %q", name, err, tc.want)
		}
	}
	cancelled, cancel := context.WithCancel(ctx)
	cancel()
	if _, err := Learn(cancelled, [][]int32{{1}}, [][]int32{{2}}, 10, LearnOptions{}); !errors.Is(err, context.Canceled) {
		t.Fatalf("Learn with a cancelled context: %v", err)
	}
}
