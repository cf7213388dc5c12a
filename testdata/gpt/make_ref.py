#!/usr/bin/env python3
"""Independent PyTorch reference of nanoGPT's model semantics, for gpt's parity test.

Written from a reading of karpathy/nanoGPT's model.py (not copied). It builds small random GPTs and
writes, per case, weights.bin (little-endian float32 tensors back to back) and ref.json (config, tensor
names and shapes in file order, inputs, targets, logits and loss), which gpt/parity_test.go reads.

Semantics reproduced (eval mode, dropout 0):
  * x = wte(idx) + wpe(arange(T))
  * per block: x = x + proj(attn(ln_1(x)));  x = x + fc2(gelu(fc1(ln_2(x))))
      - LayerNorm eps 1e-5, with or without bias (bias=False drops the biases of every Linear and LayerNorm)
      - c_attn is one Linear(d, 3d) whose output splits into q, k, v; heads of width d/n_head;
        att = softmax(q k^T / sqrt(hd) with future positions masked to -inf) v
      - gelu is the exact (erf) GELU
  * x = ln_f(x); logits = x @ wte.weight^T (tied)
  * loss = cross_entropy(logits, targets, ignore_index=-1), mean over counted targets

Run with Debian's python3-torch:  /usr/bin/python3 testdata/gpt/make_ref.py

With the argument "trained" it instead reads the model that Go trained (testdata/gpt/trained/model.json and
weights.bin, written by `go test ./train -run TestLMTrainedParity -update-trained`) and writes its loss on the
held-out sequences stored there to testdata/gpt/trained/torch.json.
"""
import json
import math
import os
import struct

import torch
import torch.nn.functional as F

HERE = os.path.dirname(os.path.abspath(__file__))


class LayerNorm(torch.nn.Module):
    def __init__(self, d, bias):
        super().__init__()
        self.weight = torch.nn.Parameter(torch.ones(d))
        self.bias = torch.nn.Parameter(torch.zeros(d)) if bias else None

    def forward(self, x):
        return F.layer_norm(x, self.weight.shape, self.weight, self.bias, 1e-5)


class Block(torch.nn.Module):
    def __init__(self, d, heads, bias):
        super().__init__()
        self.heads = heads
        self.ln_1 = LayerNorm(d, bias)
        self.c_attn = torch.nn.Linear(d, 3 * d, bias=bias)
        self.c_proj = torch.nn.Linear(d, d, bias=bias)
        self.ln_2 = LayerNorm(d, bias)
        self.c_fc = torch.nn.Linear(d, 4 * d, bias=bias)
        self.mlp_proj = torch.nn.Linear(4 * d, d, bias=bias)

    def attn(self, x):
        B, T, C = x.shape
        hd = C // self.heads
        q, k, v = self.c_attn(x).split(C, dim=2)
        q, k, v = (t.view(B, T, self.heads, hd).transpose(1, 2) for t in (q, k, v))
        att = (q @ k.transpose(-2, -1)) / math.sqrt(hd)
        future = torch.triu(torch.ones(T, T, dtype=torch.bool), diagonal=1)
        att = att.masked_fill(future, float("-inf")).softmax(dim=-1)
        y = (att @ v).transpose(1, 2).contiguous().view(B, T, C)
        return self.c_proj(y)

    def forward(self, x):
        x = x + self.attn(self.ln_1(x))
        return x + self.mlp_proj(F.gelu(self.c_fc(self.ln_2(x))))


class GPT(torch.nn.Module):
    def __init__(self, vocab, block, d, layers, heads, bias):
        super().__init__()
        self.wte = torch.nn.Embedding(vocab, d)
        self.wpe = torch.nn.Embedding(block, d)
        self.h = torch.nn.ModuleList(Block(d, heads, bias) for _ in range(layers))
        self.ln_f = LayerNorm(d, bias)

    def forward(self, idx, targets):
        T = idx.shape[1]
        x = self.wte(idx) + self.wpe(torch.arange(T))
        for b in self.h:
            x = b(x)
        logits = self.ln_f(x) @ self.wte.weight.t()
        loss = F.cross_entropy(logits.view(-1, logits.size(-1)), targets.view(-1), ignore_index=-1)
        return logits, loss


def tensors(m, bias):
    """The weights under deen's canonical names (modelfile.Config, arch gpt), c_attn split in q, k, v."""
    d = m.wte.weight.shape[1]
    out = [("embed.weight", m.wte.weight), ("dec.pos.weight", m.wpe.weight)]
    for i, b in enumerate(m.h):
        p = f"dec.{i}."
        w = b.c_attn.weight
        out += [(p + "self_ln.weight", b.ln_1.weight)] + ([(p + "self_ln.bias", b.ln_1.bias)] if bias else [])
        for j, n in enumerate("qkv"):
            out.append((p + f"self.{n}.weight", w[j * d:(j + 1) * d]))
            if bias:
                out.append((p + f"self.{n}.bias", b.c_attn.bias[j * d:(j + 1) * d]))
        out.append((p + "self.o.weight", b.c_proj.weight))
        if bias:
            out.append((p + "self.o.bias", b.c_proj.bias))
        out += [(p + "ffn_ln.weight", b.ln_2.weight)] + ([(p + "ffn_ln.bias", b.ln_2.bias)] if bias else [])
        out.append((p + "fc1.weight", b.c_fc.weight))
        if bias:
            out.append((p + "fc1.bias", b.c_fc.bias))
        out.append((p + "fc2.weight", b.mlp_proj.weight))
        if bias:
            out.append((p + "fc2.bias", b.mlp_proj.bias))
    out += [("dec.ln.weight", m.ln_f.weight)] + ([("dec.ln.bias", m.ln_f.bias)] if bias else [])
    return out


def make(name, seed, vocab, block, d, layers, heads, bias):
    torch.manual_seed(seed)
    m = GPT(vocab, block, d, layers, heads, bias)
    with torch.no_grad():
        for n, p in m.named_parameters():  # far from nanoGPT's init scale, so every path shows in the logits
            if "ln" in n and n.endswith("weight"):
                p.copy_(1 + 0.2 * torch.randn_like(p))
            else:
                p.copy_(0.3 * torch.randn_like(p))
    B, T = 3, block
    idx = torch.randint(0, vocab, (B, T))
    targets = torch.randint(0, vocab, (B, T))
    targets[1, -3:] = -1  # ignored positions
    targets[2, 0] = -1
    with torch.no_grad():
        logits, loss = m(idx, targets)
    out = os.path.join(HERE, name)
    os.makedirs(out, exist_ok=True)
    named = tensors(m, bias)
    with open(os.path.join(out, "weights.bin"), "wb") as f:
        for _, t in named:
            f.write(t.detach().contiguous().numpy().astype("<f4").tobytes())
    ref = {
        "config": {"vocab": vocab, "block_size": block, "d": d, "layers": layers, "heads": heads, "bias": bias},
        "tensors": [{"name": n, "shape": list(t.shape)} for n, t in named],
        "batch": B, "seq_len": T,
        "idx": idx.flatten().tolist(), "targets": targets.flatten().tolist(),
        "logits": logits.flatten().tolist(), "loss": loss.item(),
        "torch": torch.__version__,
    }
    with open(os.path.join(out, "ref.json"), "w") as f:
        json.dump(ref, f)
    print(name, "loss", loss.item())


def trained():
    """Loss of the Go-trained model on its held-out sequences."""
    out = os.path.join(HERE, "trained")
    with open(os.path.join(out, "model.json")) as f:
        ref = json.load(f)
    c = ref["config"]
    m = GPT(c["vocab"], c["block_size"], c["d"], c["layers"], c["heads"], c["bias"])
    raw = open(os.path.join(out, "weights.bin"), "rb").read()
    named, off = {}, 0
    for t in ref["tensors"]:
        n = math.prod(t["shape"])
        named[t["name"]] = torch.tensor(struct.unpack("<%df" % n, raw[off:off + 4 * n])).view(*t["shape"])
        off += 4 * n
    assert off == len(raw), "weights.bin is longer than model.json says"
    with torch.no_grad():
        for name, dst in tensors(m, c["bias"]):  # q, k, v are views of c_attn: copying fills it
            dst.copy_(named[name])
        B, T = ref["batch"], ref["seq_len"]
        idx = torch.tensor(ref["idx"]).view(B, T)
        targets = torch.tensor(ref["targets"]).view(B, T)
        _, loss = m(idx, targets)
    with open(os.path.join(out, "torch.json"), "w") as f:
        json.dump({"loss": loss.item(), "torch": torch.__version__}, f)
    print("trained model: held-out loss", loss.item())


if __name__ == "__main__":
    import sys
    if sys.argv[1:] == ["trained"]:
        trained()
    else:
        make("bias-d24", 1, vocab=29, block=16, d=24, layers=2, heads=3, bias=True)
        make("nobias-d32", 2, vocab=41, block=12, d=32, layers=3, heads=4, bias=False)
