#!/usr/bin/env python3
"""Makes the extra MarianMT-shaped reference checkpoints of testdata/layers/.

Run from the repository root with Debian's python3-torch, next to the project's shared oracle:
    /usr/bin/python3 testdata/layers/make_refs.py ../shared/oracle/reference
It imports marian_ref.py (the PyTorch reference of HF MarianMTModel that produced testdata/oracle)
from the given directory, builds random checkpoints of other shapes than tiny-marian-A (their
vocabulary size equals tiny-marian-A's so its tokenizer files can be reused), and writes for each
<name>/config.json, <name>/model.safetensors and <name>/refs.json (the layout of
testdata/oracle/refs_A.json, described in its NOTES.md, for the fields present; top_logits_f64 are
the float64 logits at the float32 top_ids).
"""
import json
import math
import os
import sys

import torch

sys.path.insert(0, sys.argv[1])
import marian_ref  # noqa: E402

VOCAB = 15080  # tiny-marian-A's vocab.json
PAD = VOCAB - 1
OUT = os.path.dirname(os.path.abspath(__file__))

SHAPES = {
    # relu, no embedding scale, 5/2 heads (head dim 8/20), 3 encoder layers, 1 decoder layer
    "relu-noscale-d40": dict(d_model=40, encoder_attention_heads=5, decoder_attention_heads=2, encoder_layers=3,
                             decoder_layers=1, encoder_ffn_dim=72, decoder_ffn_dim=24, activation_function="relu",
                             scale_embedding=False, max_position_embeddings=40),
    # exact gelu, scaled embedding, 3/6 heads (head dim 8/4), 1 encoder layer, 3 decoder layers
    "gelu-d24": dict(d_model=24, encoder_attention_heads=3, decoder_attention_heads=6, encoder_layers=1,
                     decoder_layers=3, encoder_ffn_dim=40, decoder_ffn_dim=56, activation_function="gelu",
                     scale_embedding=True, max_position_embeddings=48),
}


def config(shape):
    c = json.load(open(os.path.join(OUT, "..", "oracle", "tiny-marian-A", "config.json")))
    c.update(shape)
    c["_name_or_path"] = "deen/testdata/layers"
    return c


def random_state(c, seed):
    g = torch.Generator().manual_seed(seed)
    d = c["d_model"]
    sd = {}

    def t(name, *shape, std=0.1, mean=0.0):
        sd[name] = (torch.randn(*shape, generator=g) * std + mean).to(torch.float32)

    t("model.shared.weight", VOCAB, d, std=0.5 if not c["scale_embedding"] else 0.1)
    t("final_logits_bias", 1, VOCAB, std=0.2)
    for side, n, ffn in (("encoder", c["encoder_layers"], c["encoder_ffn_dim"]),
                         ("decoder", c["decoder_layers"], c["decoder_ffn_dim"])):
        for i in range(n):
            p = "model.%s.layers.%d." % (side, i)
            attns = ["self_attn"] + (["encoder_attn"] if side == "decoder" else [])
            for a in attns:
                for proj in ("q_proj", "k_proj", "v_proj", "out_proj"):
                    t(p + a + "." + proj + ".weight", d, d, std=1 / math.sqrt(d))
                    t(p + a + "." + proj + ".bias", d, std=0.05)
                t(p + a + "_layer_norm.weight", d, std=0.1, mean=1.0)
                t(p + a + "_layer_norm.bias", d, std=0.05)
            t(p + "fc1.weight", ffn, d, std=1 / math.sqrt(d))
            t(p + "fc1.bias", ffn, std=0.05)
            t(p + "fc2.weight", d, ffn, std=1 / math.sqrt(ffn))
            t(p + "fc2.bias", d, std=0.05)
            t(p + "final_layer_norm.weight", d, std=0.1, mean=1.0)
            t(p + "final_layer_norm.bias", d, std=0.05)
    return sd


def f32(x):
    return [float(v) for v in x.reshape(-1).tolist()]


def main():
    for idx, (name, shape) in enumerate(sorted(SHAPES.items())):
        c = config(shape)
        sd = random_state(c, 1000 + idx)
        os.makedirs(os.path.join(OUT, name), exist_ok=True)
        json.dump(c, open(os.path.join(OUT, name, "config.json"), "w"), indent=2, sort_keys=True)
        marian_ref.save_safetensors(os.path.join(OUT, name, "model.safetensors"), sd, {"format": "pt"})
        model = marian_ref.Marian(c, sd)
        model64 = marian_ref.Marian(c, sd, dtype=torch.float64)
        g = torch.Generator().manual_seed(2000 + idx)
        probe = sorted(set([0, 1, PAD] + torch.randint(2, VOCAB - 1, (40,), generator=g).tolist()))
        sentences = []
        lengths = [9, 4, 13]
        src = [torch.randint(2, VOCAB - 1, (n - 1,), generator=g).tolist() + [0] for n in lengths]
        for i, ids in enumerate(src):
            tgt = torch.randint(2, VOCAB - 1, (7,), generator=g).tolist() + [0]
            dec_in = [PAD] + tgt[:-1]
            inp = torch.tensor([ids])
            enc, logits = model.forward(inp, torch.ones_like(inp), torch.tensor([dec_in]))
            enc64, logits64 = model64.forward(inp, torch.ones_like(inp), torch.tensor([dec_in]))
            pos = []
            for t_ in range(len(dec_in)):
                row, row64 = logits[0, t_], logits64[0, t_]
                top = torch.topk(row, 10)
                lse, lse64 = torch.logsumexp(row, 0), torch.logsumexp(row64, 0)
                pos.append({"argmax": int(torch.argmax(row)), "top_ids": top.indices.tolist(),
                            "top_logits": f32(top.values), "logsumexp": float(lse),
                            "probe_logits": f32(row[probe]), "label_logprob": float(row[tgt[t_]] - lse),
                            "top_logits_f64": row64[top.indices].tolist(), "logsumexp_f64": float(lse64),
                            "probe_logits_f64": row64[probe].tolist(),
                            "label_logprob_f64": float(row64[tgt[t_]] - lse64)})
            sentences.append({"index": i, "input_ids": ids, "encoder_last_hidden_state": enc[0].tolist(),
                              "encoder_last_hidden_state_f64": enc64[0].tolist(),
                              "teacher_forcing": {"labels": tgt, "decoder_input_ids": dec_in, "per_position": pos}})
        # the three sentences as one right-padded batch
        L = max(lengths)
        ids = torch.tensor([s + [PAD] * (L - len(s)) for s in src])
        mask = torch.tensor([[1] * len(s) + [0] * (L - len(s)) for s in src])
        enc = model.encode(ids, mask)
        batch = {"input_ids": ids.tolist(), "attention_mask": mask.tolist(),
                 "encoder_last_hidden_state_valid_rows": [enc[b, :n].tolist() for b, n in enumerate(lengths)]}
        refs = {"meta": {"probe_ids": probe, "torch_version": torch.__version__,
                         "made_by": "testdata/layers/make_refs.py with marian_ref.py"},
                "sentences": sentences, "batch": batch}
        with open(os.path.join(OUT, name, "refs.json"), "w") as f:
            json.dump(refs, f, separators=(",", ":"))
        print(name, "written")


if __name__ == "__main__":
    main()
