#!/usr/bin/env python3
"""Golden values from PyTorch for TrainLab's Transformer (run offline; CI never needs PyTorch).

    ~/venv-torch/bin/python tools/golden/make_golden_transformer.py

Writes Tests/GoldenTests/Fixtures/transformer_*.json: for fixed weights and token data (stored
in the fixture, so the Swift side starts from exactly the same numbers), the logits, the
cross-entropy loss with some targets ignored (-100) and every parameter gradient.

The module below mirrors docs/interface.md's names and semantics, written out with plain tensor ops
(no nn.MultiheadAttention, whose layout and names differ):
  - attention: softmax(q kᵀ / √head_dim [+ causal mask]) v per head; query head h reads
    key/value head h // (heads // kv_heads) (repeat_interleave); checked against
    F.scaled_dot_product_attention on the same tensors;
  - RoPE as Hugging Face's LlamaRotaryEmbedding + apply_rotary_pos_emb (rotate_half, base 10000);
  - sinusoidal positions PE[t, 2i] = sin(t / 10000^(2i/d)), PE[t, 2i+1] = cos(...);
  - blocks pre / post / deepnorm (alpha = (2N)^(1/4), beta = (8N)^(-1/4) on v, o, up, gate, down);
  - gated FFN down(act(gate(x)) * up(x)) for glu (sigmoid), swiglu (silu), geglu (gelu).
"""
import json
import math
import os

import numpy as np
import torch
import torch.nn.functional as F

torch.set_default_dtype(torch.float32)
OUT = os.path.join(os.path.dirname(__file__), "..", "..", "Tests", "GoldenTests", "Fixtures")


def tensor_list(t):
    # Nine significant digits round-trip any float32 exactly.
    return [float("%.9g" % v) for v in t.detach().reshape(-1).tolist()]


PLAIN = {"gelu": F.gelu, "relu": F.relu, "silu": F.silu, "tanh": torch.tanh}
GATED = {"glu": torch.sigmoid, "swiglu": F.silu, "geglu": F.gelu}


def make_norm(kind, width):
    if kind == "layernorm":
        return torch.nn.LayerNorm(width)
    if kind == "rmsnorm":
        return torch.nn.RMSNorm(width)
    raise ValueError(kind)


def rope_tables(length, head_dim, base=10000.0):
    inv_freq = 1.0 / (base ** (torch.arange(0, head_dim, 2, dtype=torch.float64) / head_dim))
    freqs = torch.outer(torch.arange(length, dtype=torch.float64), inv_freq)
    emb = torch.cat((freqs, freqs), dim=-1)
    return emb.cos().float(), emb.sin().float()


def rotate_half(x):
    half = x.shape[-1] // 2
    return torch.cat((-x[..., half:], x[..., :half]), dim=-1)


def sinusoid_table(length, width):
    table = np.zeros((length, width))
    for t in range(length):
        for c in range(width):
            angle = t / 10000 ** ((c - c % 2) / width)
            table[t, c] = math.sin(angle) if c % 2 == 0 else math.cos(angle)
    return torch.tensor(table, dtype=torch.float32)


class Attention(torch.nn.Module):
    def __init__(self, d, heads, kv_heads, causal, bias, rope):
        super().__init__()
        self.heads, self.kv_heads, self.head_dim = heads, kv_heads, d // heads
        self.causal, self.rope = causal, rope
        self.q = torch.nn.Linear(d, heads * self.head_dim, bias=bias)
        self.k = torch.nn.Linear(d, kv_heads * self.head_dim, bias=bias)
        self.v = torch.nn.Linear(d, kv_heads * self.head_dim, bias=bias)
        self.o = torch.nn.Linear(d, d, bias=bias)

    def forward(self, x):
        b, t, _ = x.shape
        hd = self.head_dim
        q = self.q(x).view(b, t, self.heads, hd).transpose(1, 2)      # (B, H, T, D)
        k = self.k(x).view(b, t, self.kv_heads, hd).transpose(1, 2)   # (B, Hkv, T, D)
        v = self.v(x).view(b, t, self.kv_heads, hd).transpose(1, 2)
        if self.rope:
            cos, sin = rope_tables(t, hd)
            q = q * cos + rotate_half(q) * sin
            k = k * cos + rotate_half(k) * sin
        group = self.heads // self.kv_heads
        k = k.repeat_interleave(group, dim=1)
        v = v.repeat_interleave(group, dim=1)
        scores = q @ k.transpose(-1, -2) / math.sqrt(hd)
        if self.causal:
            mask = torch.triu(torch.ones(t, t, dtype=torch.bool), diagonal=1)
            scores = scores.masked_fill(mask, float("-inf"))
        y = torch.softmax(scores, dim=-1) @ v
        with torch.no_grad():
            check = F.scaled_dot_product_attention(q, k, v, is_causal=self.causal)
            assert torch.allclose(check, y, atol=1e-5, rtol=1e-4), "attention disagrees with F.scaled_dot_product_attention"
        return self.o(y.transpose(1, 2).reshape(b, t, self.heads * hd))


class FeedForward(torch.nn.Module):
    def __init__(self, d, hidden, activation, bias):
        super().__init__()
        self.gated = activation in GATED
        self.act = GATED[activation] if self.gated else PLAIN[activation]
        self.up = torch.nn.Linear(d, hidden, bias=bias)
        if self.gated:
            self.gate = torch.nn.Linear(d, hidden, bias=bias)
        self.down = torch.nn.Linear(hidden, d, bias=bias)

    def forward(self, x):
        if self.gated:
            return self.down(self.act(self.gate(x)) * self.up(x))
        return self.down(self.act(self.up(x)))


class Block(torch.nn.Module):
    def __init__(self, c, alpha):
        super().__init__()
        self.placement, self.alpha = c["placement"], alpha
        d = c["d_model"]
        self.attn_norm = make_norm(c["norm"], d)
        self.attn = Attention(d, c["heads"], c["kv_heads"], c["causal"], c["bias"], c["positional"] == "rope")
        self.ffn_norm = make_norm(c["norm"], d)
        self.ffn = FeedForward(d, c["ffn_hidden"], c["activation"], c["bias"])

    def forward(self, x):
        if self.placement == "pre":
            x = x + self.attn(self.attn_norm(x))
            return x + self.ffn(self.ffn_norm(x))
        x = self.attn_norm(self.alpha * x + self.attn(x))
        return self.ffn_norm(self.alpha * x + self.ffn(x))


class Transformer(torch.nn.Module):
    def __init__(self, c):
        super().__init__()
        self.c = c
        d, n = c["d_model"], c["layers"]
        self.embed = torch.nn.Embedding(c["vocab"], d)
        if c["positional"] == "learned":
            self.pos = torch.nn.Embedding(c["max_len"], d)
        deep = c["placement"] == "deepnorm"
        alpha = (2 * n) ** 0.25 if deep else 1.0
        beta = (8 * n) ** -0.25 if deep else 1.0
        self.blocks = torch.nn.ModuleList(Block(c, alpha) for _ in range(n))
        if deep:
            with torch.no_grad():
                for block in self.blocks:
                    for linear in [block.attn.v, block.attn.o, block.ffn.up, block.ffn.down] + \
                            ([block.ffn.gate] if block.ffn.gated else []):
                        linear.weight.mul_(beta)
        if c["placement"] == "pre":
            self.final_norm = make_norm(c["norm"], d)
        if not c["tie_embeddings"]:
            self.head = torch.nn.Linear(d, c["vocab"], bias=c["bias"])

    def forward(self, tokens):
        b, t = tokens.shape
        h = self.embed(tokens)
        if self.c["positional"] == "learned":
            h = h + self.pos(torch.arange(t))
        elif self.c["positional"] == "sinusoidal":
            h = h + sinusoid_table(self.c["max_len"], self.c["d_model"])[:t]
        for block in self.blocks:
            h = block(h)
        if self.c["placement"] == "pre":
            h = self.final_norm(h)
        logits = h @ self.embed.weight.T if self.c["tie_embeddings"] else self.head(h)
        return logits.reshape(b * t, -1)


def make_case(name, seed, **overrides):
    c = dict(vocab=11, max_len=8, d_model=12, layers=2, heads=4, kv_heads=4, ffn_hidden=20, activation="gelu",
             norm="layernorm", placement="pre", causal=False, bias=True, positional="learned", tie_embeddings=False)
    c.update(overrides)
    batch, length = 3, 7
    torch.manual_seed(seed)
    g = np.random.default_rng(seed)
    model = Transformer(c)
    with torch.no_grad():
        # Norm gains and biases away from 1 and 0, so that swapping or dropping them shows.
        for pname, p in model.named_parameters():
            if "norm" in pname:
                base = 1.0 if pname.endswith("weight") else 0.0
                p.copy_(torch.tensor(base + 0.2 * g.standard_normal(p.shape), dtype=torch.float32))
    tokens = torch.tensor(g.integers(0, c["vocab"], size=(batch, length)))
    targets = g.integers(0, c["vocab"], size=batch * length)
    targets[g.random(batch * length) < 0.3] = -100
    targets[0] = -100
    targets = torch.tensor(targets)

    parameters = {n: {"shape": list(p.shape), "values": tensor_list(p)} for n, p in model.named_parameters()}
    logits = model(tokens)
    loss = F.cross_entropy(logits, targets, ignore_index=-100)
    loss.backward()
    return {
        "name": name,
        "config": c,
        "batch": batch,
        "length": length,
        "tokens": tokens.reshape(-1).tolist(),
        "targets": targets.tolist(),
        "parameters": parameters,
        "logits": tensor_list(logits),
        "loss": float("%.9g" % loss.item()),
        "gradients": {n: tensor_list(p.grad) for n, p in model.named_parameters()},
    }


def main():
    os.makedirs(OUT, exist_ok=True)
    cases = [
        make_case("transformer_pre_layernorm_gelu_mha_learned", seed=11),
        make_case("transformer_post_layernorm_swiglu_gqa_causal", seed=12, placement="post", activation="swiglu",
                  kv_heads=2, causal=True),
        # RoPE needs an even head size: 2 heads of 6 (d_model 12).
        make_case("transformer_pre_rmsnorm_geglu_mqa_rope_tied", seed=13, norm="rmsnorm", activation="geglu",
                  heads=2, kv_heads=1, causal=True, bias=False, positional="rope", tie_embeddings=True),
        make_case("transformer_deepnorm_layernorm_relu", seed=14, placement="deepnorm", activation="relu"),
        make_case("transformer_pre_layernorm_silu_sinusoidal_gqa_causal", seed=15, activation="silu", kv_heads=2,
                  causal=True, positional="sinusoidal"),
    ]
    for case in cases:
        path = os.path.join(OUT, case["name"] + ".json")
        with open(path, "w") as f:
            json.dump(case, f, indent=None, separators=(",", ":"))
        print("wrote", os.path.relpath(path), "loss", case["loss"])


if __name__ == "__main__":
    main()
