# Makes tiny-B: a MarianMT-shaped checkpoint with another shape and key set
# than the oracle's tiny-marian-A, written by torch.save itself (PyTorch 1.13)
# in float16, for the marian importer's tests. Run: /usr/bin/python3 make.py
import json, math, struct, collections
import torch

torch.manual_seed(7)
V, d, ffn_e, ffn_d, L_e, L_d, P = 300, 32, 48, 40, 3, 1, 64
cfg = {
    "model_type": "marian", "architectures": ["MarianMTModel"], "vocab_size": V, "decoder_vocab_size": V,
    "d_model": d, "encoder_layers": L_e, "decoder_layers": L_d, "encoder_attention_heads": 2,
    "decoder_attention_heads": 4, "encoder_ffn_dim": ffn_e, "decoder_ffn_dim": ffn_d,
    "activation_function": "relu", "scale_embedding": False, "static_position_embeddings": True,
    "normalize_before": False, "max_position_embeddings": P, "pad_token_id": V - 1, "eos_token_id": 0,
    "decoder_start_token_id": V - 1, "forced_eos_token_id": 0, "bad_words_ids": [[V - 1]],
    "num_beams": 6, "max_length": 100, "share_encoder_decoder_embeddings": True,
}
json.dump(cfg, open("config.json", "w"), indent=2)

def table(n, dim):  # Marian's sinusoid: sin half, cos half, float64 math
    t = torch.zeros(n, dim, dtype=torch.float64)
    for pos in range(n):
        for i in range(dim // 2):
            a = pos / math.pow(10000, 2 * i / dim)
            t[pos, i], t[pos, dim // 2 + i] = math.sin(a), math.cos(a)
    return t.float()

sd = collections.OrderedDict()
emb = torch.randn(V, d) * 0.3
sd["model.encoder.embed_tokens.weight"] = emb
sd["model.decoder.embed_tokens.weight"] = emb  # tied: one storage
sd["model.encoder.embed_positions.weight"] = table(P, d)
sd["model.decoder.embed_positions.weight"] = table(P, d)
def lin(p, o, i):
    sd[p + ".weight"] = torch.randn(o, i) * 0.2
    sd[p + ".bias"] = torch.randn(o) * 0.1
def ln(p):
    sd[p + ".weight"] = 1 + torch.randn(d) * 0.1
    sd[p + ".bias"] = torch.randn(d) * 0.1
for side, L, f in (("encoder", L_e, ffn_e), ("decoder", L_d, ffn_d)):
    for n in range(L):
        p = "model.%s.layers.%d." % (side, n)
        for a in ("self_attn",) + (("encoder_attn",) if side == "decoder" else ()):
            for q in "qkv":
                lin(p + a + "." + q + "_proj", d, d)
            lin(p + a + ".out_proj", d, d)
            ln(p + a + "_layer_norm")
        lin(p + "fc1", f, d)
        lin(p + "fc2", d, f)
        ln(p + "final_layer_norm")
sd["lm_head.weight"] = emb
half = collections.OrderedDict((k, v.half()) for k, v in sd.items())
# keep the ties through the conversion: the three embedding keys share one storage
for k in ("model.decoder.embed_tokens.weight", "lm_head.weight"):
    half[k] = half["model.encoder.embed_tokens.weight"]
torch.save(half, "pytorch_model.bin")

# The same values, float32, as safetensors (what the importer must produce).
hdr, blobs, off = {"__metadata__": {"format": "pt"}}, [], 0
for k in sorted(half):
    b = half[k].float().contiguous().numpy().astype("<f4").tobytes()
    hdr[k] = {"dtype": "F32", "shape": list(half[k].shape), "data_offsets": [off, off + len(b)]}
    blobs.append(b); off += len(b)
h = json.dumps(hdr, separators=(",", ":")).encode()
h += b" " * ((8 - len(h) % 8) % 8)
with open("expected_f32.safetensors", "wb") as f:
    f.write(struct.pack("<Q", len(h))); f.write(h); [f.write(b) for b in blobs]

vocab = {"</s>": 0, "<unk>": 1}
for i in range(2, V - 1):
    vocab["▁p%d" % i] = i
vocab["<pad>"] = V - 1
json.dump(vocab, open("vocab.json", "w"), ensure_ascii=False)
for name in ("source.spm", "target.spm"):
    open(name, "wb").write(b"placeholder: the importer stores tokenizer files verbatim\n")
