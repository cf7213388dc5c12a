package marian

import (
	"fmt"
	"math"
	"slices"
	"sort"
	"strings"

	"github.com/deen-mt/deen/modelfile"
)

// embedAliases are the checkpoint names of the one shared embedding
// (transformers ties them; a checkpoint holds any subset).
var embedAliases = []string{"model.shared.weight", "model.encoder.embed_tokens.weight", "model.decoder.embed_tokens.weight", "lm_head.weight"}

// positionNames are the sinusoidal tables some checkpoints store; they are
// checked, not imported (the engine computes the same table).
var positionNames = []string{"model.encoder.embed_positions.weight", "model.decoder.embed_positions.weight"}

// layerParts maps the middle of canonical layer tensor names to
// transformers' names.
var layerParts = map[string]string{
	"self.q": "self_attn.q_proj", "self.k": "self_attn.k_proj", "self.v": "self_attn.v_proj", "self.o": "self_attn.out_proj",
	"self_ln": "self_attn_layer_norm",
	"cross.q": "encoder_attn.q_proj", "cross.k": "encoder_attn.k_proj", "cross.v": "encoder_attn.v_proj", "cross.o": "encoder_attn.out_proj",
	"cross_ln": "encoder_attn_layer_norm",
	"fc1":      "fc1", "fc2": "fc2", "ffn_ln": "final_layer_norm",
}

// hfName returns transformers' name of a canonical layer tensor
// ("enc.3.self.q.weight" → "model.encoder.layers.3.self_attn.q_proj.weight"),
// or "" for names outside the layers.
func hfName(canonical string) string {
	stack, rest, _ := strings.Cut(canonical, ".")
	idx, rest, _ := strings.Cut(rest, ".")
	dot := strings.LastIndexByte(rest, '.')
	if dot < 0 {
		return ""
	}
	part, ok := layerParts[rest[:dot]]
	full := map[string]string{"enc": "encoder", "dec": "decoder"}[stack]
	if !ok || full == "" {
		return ""
	}
	return "model." + full + ".layers." + idx + "." + part + rest[dot:]
}

// mapTensors gives the checkpoint's tensors their canonical names. Keys may
// carry transformers' "model." prefix or not. The embedding may come from
// any of embedAliases (all present must be equal); final_logits_bias is
// optional; stored position tables must be Marian's sinusoid. Missing,
// misshapen and unknown tensors are reported together.
func mapTensors(c modelfile.Config, hf map[string]*hfTensor) (map[string]*modelfile.Tensor, error) {
	// Normalise keys to the "model."-prefixed form.
	byName := map[string]*hfTensor{}
	orig := map[string]string{}
	for k, t := range hf {
		n := k
		if !strings.HasPrefix(k, "model.") && k != "lm_head.weight" && k != "final_logits_bias" {
			n = "model." + k
		}
		if prev, dup := orig[n]; dup {
			return nil, fmt.Errorf("tensors %q and %q are the same weight", prev, k)
		}
		byName[n], orig[n] = t, k
	}
	used := map[string]bool{}
	out := map[string]*modelfile.Tensor{}
	var problems []string
	take := func(canonical, name string, shape []int) {
		t := byName[name]
		used[name] = true
		if !slices.Equal(t.shape, shape) {
			problems = append(problems, fmt.Sprintf("%s has shape %v, config.json implies %v", orig[name], t.shape, shape))
			return
		}
		out[canonical] = &modelfile.Tensor{Name: canonical, Shape: shape, Data: t.data}
	}
	d, v := c.DModel, c.VocabSize
	for _, s := range c.Tensors() {
		switch s.Name {
		case "embed.weight":
			var first string
			for _, a := range embedAliases {
				if byName[a] == nil {
					continue
				}
				if first == "" {
					first = a
					take(s.Name, a, s.Shape)
					continue
				}
				used[a] = true
				if !slices.Equal(byName[a].shape, byName[first].shape) || !equalData(byName[a].data, byName[first].data) {
					problems = append(problems, fmt.Sprintf("%s differs from %s, but deen ties them (one shared embedding)", orig[a], orig[first]))
				}
			}
			if first == "" {
				problems = append(problems, fmt.Sprintf("no embedding: none of %s", strings.Join(embedAliases, ", ")))
			}
		case "final_logits_bias":
			if t := byName[s.Name]; t != nil {
				if slices.Equal(t.shape, []int{1, v}) {
					t.shape = []int{v}
				}
				take(s.Name, s.Name, s.Shape)
			}
		default:
			name := hfName(s.Name)
			if byName[name] == nil {
				problems = append(problems, fmt.Sprintf("missing %s %v", name, s.Shape))
				continue
			}
			take(s.Name, name, s.Shape)
		}
	}
	for _, name := range positionNames {
		if t := byName[name]; t != nil {
			used[name] = true
			if err := checkPositions(t, c.MaxPositions, d); err != nil {
				problems = append(problems, fmt.Sprintf("%s: %v", orig[name], err))
			}
		}
	}
	var unknown []string
	for name := range byName {
		if !used[name] {
			unknown = append(unknown, orig[name])
		}
	}
	sort.Strings(unknown)
	for _, name := range unknown {
		problems = append(problems, fmt.Sprintf("unexpected tensor %s (not part of a MarianMTModel with this config.json)", name))
	}
	if len(problems) > 0 {
		const show = 12
		msg := fmt.Sprintf("%d problems with the checkpoint's tensors:", len(problems))
		for i, p := range problems {
			if i == show {
				msg += fmt.Sprintf("\n  ... and %d more", len(problems)-show)
				break
			}
			msg += "\n  " + p
		}
		return nil, fmt.Errorf("%s", msg)
	}
	return out, nil
}

// positionTolerance is how far a stored position table may be from the
// computed sinusoid: bfloat16 storage rounds values ≤ 1 by up to 2^-9.
const positionTolerance = 4e-3

// checkPositions checks that a stored position table is Marian's sinusoid
// up to the rounding of its storage type.
func checkPositions(t *hfTensor, maxPos, d int) error {
	if !slices.Equal(t.shape, []int{maxPos, d}) {
		return fmt.Errorf("shape %v, config.json implies [%d %d]", t.shape, maxPos, d)
	}
	want := sinusoidMarian(maxPos, d)
	for i, w := range want {
		if math.Abs(float64(t.data[i]-w)) > positionTolerance {
			return fmt.Errorf("value %g at [%d,%d] is not Marian's sinusoid (%g); deen computes positions and cannot import learned ones", t.data[i], i/d, i%d, w)
		}
	}
	return nil
}

// equalData reports whether two tensors hold bit-identical values.
func equalData(a, b []float32) bool {
	if len(a) != len(b) {
		return false
	}
	if len(a) > 0 && &a[0] == &b[0] {
		return true // one storage
	}
	for i := range a {
		if math.Float32bits(a[i]) != math.Float32bits(b[i]) {
			return false
		}
	}
	return true
}
