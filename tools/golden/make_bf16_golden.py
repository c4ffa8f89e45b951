#!/usr/bin/env python3
"""bf16 golden values from PyTorch (run offline; CI never needs PyTorch).

    ~/venv-torch/bin/python tools/golden/make_bf16_golden.py

Writes Tests/GoldenTests/Fixtures/bf16_gemm.json:
- `rounding`: float32 bit patterns and the bits of `torch.Tensor.bfloat16()` of each (round to
  nearest even; NaN to the quiet NaN), random values plus ties, carries into the exponent,
  infinities, NaNs and subnormals;
- `gemm`: A (m, k) and B (k, n) and C = A.bfloat16().double() @ B.bfloat16().double(), rounded
  to float32 once: the exact product of the rounded operands, for TrainLab's bf16 GEMM to meet
  within FP32 summation error.

and Tests/GoldenTests/Fixtures/bf16_mlp.json, bf16_transformer.json: an MLP and a Transformer
(the modules of make_golden.py and make_golden_transformer.py) with fixed weights and data,
trained 20 steps three ways, the loss of each step recorded (and the first step's gradients of
`emulated`):
- `fp32`: plain float32;
- `emulated`: TrainLab's `training.precision: bf16` written out in PyTorch: every matrix product,
  forward and both gradients (linear layers, the attention's four products with the backward
  TrainLab's kernel uses, the LM head), takes bf16-rounded operands and sums in float32;
  everything else float32;
- `autocast`: the forward and loss under torch.autocast("cpu", dtype=torch.bfloat16), as a
  PyTorch user would train; master weights and the optimizer float32.
"""
import json
import math
import os
import sys

import numpy as np
import torch
import torch.nn.functional as F

OUT = os.path.join(os.path.dirname(__file__), "..", "..", "Tests", "GoldenTests", "Fixtures")


def floats(t):
    return [float("%.9g" % v) for v in t.reshape(-1).tolist()]


def rounding_cases(rng):
    special = [0x00000000, 0x80000000, 0x3F800000, 0x3F808000, 0x3F818000, 0x3F807FFF, 0x3F808001,
               0x3F7FFFFF, 0x7F7FFFFF, 0x7F7F7FFF, 0x7F7F8000, 0x7F800000, 0xFF800000, 0x7FC00000,
               0x7F800001, 0xFFFFFFFF, 0x00000001, 0x007FFFFF, 0x00800000, 0x00807FFF, 0x00808000,
               0x80400000, 0x0040FFFF, 0x007F8000, 0x007F7FFF]
    bits = np.concatenate([np.array(special, dtype=np.uint32),
                           rng.integers(0, 2**32, size=600, dtype=np.uint64).astype(np.uint32),
                           rng.standard_normal(400).astype(np.float32).view(np.uint32)])
    x = torch.from_numpy(bits.view(np.float32).copy())
    rounded = x.bfloat16().float().numpy().view(np.uint32)
    return [[int(a), int(b)] for a, b in zip(bits, rounded)]


def rounded(t):
    return t.bfloat16().float()


class BF16MatMul(torch.autograd.Function):
    """C = r(A) @ r(B); dA = r(dC) @ r(B)ᵀ, dB = r(A)ᵀ @ r(dC) (r: round to bf16), float32 sums."""

    @staticmethod
    def forward(ctx, a, b):
        ra, rb = rounded(a), rounded(b)
        ctx.save_for_backward(ra, rb)
        return ra @ rb

    @staticmethod
    def backward(ctx, dc):
        ra, rb = ctx.saved_tensors
        rdc = rounded(dc)
        return rdc @ rb.transpose(-1, -2), ra.transpose(-1, -2) @ rdc


def emulated_linear(self, x):
    x2 = x.reshape(-1, x.shape[-1])
    y = BF16MatMul.apply(x2, self.weight.t())
    if self.bias is not None:
        y = y + self.bias
    return y.reshape(*x.shape[:-1], y.shape[-1])


class BF16Attention(torch.autograd.Function):
    """TrainLab's attention kernel with bf16 products, for (B, H, T, D) heads (kv heads already
    repeated): S = r(Q) r(K)ᵀ, P = softmax(scale·S [+ causal mask]), O = r(P) r(V); backward
    dV = r(P)ᵀ r(dO), dP = r(dO) r(V)ᵀ, dS = scale·P ⊙ (dP − rowsum(dO ⊙ O)), dQ = r(dS) r(K),
    dK = r(dS)ᵀ r(Q)."""

    @staticmethod
    def forward(ctx, q, k, v, scale, causal):
        s = (rounded(q) @ rounded(k).transpose(-1, -2)) * scale
        if causal:
            t = q.shape[-2]
            s = s.masked_fill(torch.triu(torch.ones(t, t, dtype=torch.bool), diagonal=1), float("-inf"))
        p = torch.softmax(s, dim=-1)
        o = rounded(p) @ rounded(v)
        ctx.save_for_backward(q, k, v, p, o)
        ctx.scale = scale
        return o

    @staticmethod
    def backward(ctx, do):
        q, k, v, p, o = ctx.saved_tensors
        dv = rounded(p).transpose(-1, -2) @ rounded(do)
        dp = rounded(do) @ rounded(v).transpose(-1, -2)
        ds = ctx.scale * p * (dp - (do * o).sum(-1, keepdim=True))
        dq = rounded(ds) @ rounded(k)
        dk = rounded(ds).transpose(-1, -2) @ rounded(q)
        return dq, dk, dv, None, None


def emulated_attention(self, x):
    b, t, _ = x.shape
    hd = self.head_dim
    q = self.q(x).view(b, t, self.heads, hd).transpose(1, 2)
    k = self.k(x).view(b, t, self.kv_heads, hd).transpose(1, 2)
    v = self.v(x).view(b, t, self.kv_heads, hd).transpose(1, 2)
    assert not self.rope, "the emulated case has no RoPE"
    group = self.heads // self.kv_heads
    y = BF16Attention.apply(q, k.repeat_interleave(group, dim=1), v.repeat_interleave(group, dim=1), 1 / math.sqrt(hd), self.causal)
    return self.o(y.transpose(1, 2).reshape(b, t, self.heads * hd))


def autocast_attention(self, x):
    """The module's attention without its float32 self-check, for autocast (its products then run
    in bf16, as autocast runs `@`)."""
    b, t, _ = x.shape
    hd = self.head_dim
    q = self.q(x).view(b, t, self.heads, hd).transpose(1, 2)
    k = self.k(x).view(b, t, self.kv_heads, hd).transpose(1, 2)
    v = self.v(x).view(b, t, self.kv_heads, hd).transpose(1, 2)
    group = self.heads // self.kv_heads
    k, v = k.repeat_interleave(group, dim=1), v.repeat_interleave(group, dim=1)
    scores = q @ k.transpose(-1, -2) / math.sqrt(hd)
    if self.causal:
        scores = scores.masked_fill(torch.triu(torch.ones(t, t, dtype=torch.bool), diagonal=1), float("-inf"))
    y = torch.softmax(scores, dim=-1) @ v
    return self.o(y.transpose(1, 2).reshape(b, t, self.heads * hd))


def trajectories(make_model, initial, inputs, targets, loss_fn, make_optimizer, steps, attention_class=None):
    """The losses of `steps` updates in float32, emulated TrainLab bf16, and under autocast."""
    out = {}
    for mode in ["fp32", "emulated", "autocast"]:
        model = make_model()
        model.load_state_dict(initial)
        optimizer = make_optimizer(model.parameters())
        linear_forward = torch.nn.Linear.forward
        attention_forward = attention_class.forward if attention_class else None
        if mode == "emulated":
            torch.nn.Linear.forward = emulated_linear
            if attention_class:
                attention_class.forward = emulated_attention
        if mode == "autocast" and attention_class:
            attention_class.forward = autocast_attention
        losses = []
        try:
            for _ in range(steps):
                optimizer.zero_grad()
                if mode == "autocast":
                    with torch.autocast("cpu", dtype=torch.bfloat16):
                        value = loss_fn(model(inputs), targets)
                else:
                    value = loss_fn(model(inputs), targets)
                losses.append(float(value.detach().float()))
                value.backward()
                if mode == "emulated" and not losses[1:]:
                    out["emulated_gradients"] = {n: floats(p.grad) for n, p in model.named_parameters()}
                optimizer.step()
        finally:
            torch.nn.Linear.forward = linear_forward
            if attention_class:
                attention_class.forward = attention_forward
        out[mode] = losses
    return out


def mlp_case():
    sys.path.insert(0, os.path.dirname(__file__))
    import make_golden
    widths, batch, seed = [24, 64, 64, 5], 32, 31
    g = np.random.default_rng(seed)
    x = torch.from_numpy(g.standard_normal((batch, widths[0])).astype(np.float32))
    y = torch.from_numpy(g.integers(0, widths[-1], size=batch))
    torch.manual_seed(seed)
    make = lambda: make_golden.MLP(widths, torch.tanh)
    model = make()
    initial = {k: v.detach().clone() for k, v in model.state_dict().items()}
    out = model(x)
    value = F.cross_entropy(out, y)
    value.backward()
    adam = {"lr": 0.01, "betas": [0.9, 0.999], "eps": 1e-8}
    return {
        "name": "bf16_mlp", "widths": widths, "activation": "tanh", "loss": "cross_entropy", "batch": batch,
        "inputs": floats(x), "targets": [int(v) for v in y],
        "parameters": {k: {"shape": list(v.shape), "values": floats(v)} for k, v in initial.items()},
        "output": floats(out.detach()), "loss_value": float(value.detach()),
        "gradients": {k: floats(p.grad) for k, p in model.named_parameters()},
        "trajectories": [],
        "optimizer": {"kind": "adam", **adam}, "steps": 20,
        "losses": trajectories(make, initial, x, y, F.cross_entropy,
                               lambda p: torch.optim.Adam(p, lr=adam["lr"]), 20),
    }


def transformer_case():
    sys.path.insert(0, os.path.dirname(__file__))
    import make_golden_transformer as mgt
    c = dict(vocab=11, max_len=8, d_model=16, layers=2, heads=4, kv_heads=2, ffn_hidden=32, activation="swiglu",
             norm="rmsnorm", placement="pre", causal=True, bias=False, positional="learned", tie_embeddings=False)
    batch, length, seed = 4, 8, 41
    torch.manual_seed(seed)
    g = np.random.default_rng(seed)
    make = lambda: mgt.Transformer(c)
    model = make()
    tokens = torch.tensor(g.integers(0, c["vocab"], size=(batch, length)))
    targets = torch.tensor(g.integers(0, c["vocab"], size=batch * length))
    initial = {k: v.detach().clone() for k, v in model.state_dict().items()}
    logits = model(tokens)
    loss = F.cross_entropy(logits, targets)
    loss.backward()
    adamw = {"lr": 0.003, "betas": [0.9, 0.999], "eps": 1e-8, "weight_decay": 0.1}
    return {
        "name": "bf16_transformer", "config": c, "batch": batch, "length": length,
        "tokens": tokens.reshape(-1).tolist(), "targets": targets.tolist(),
        "parameters": {n: {"shape": list(p.shape), "values": floats(p.detach())} for n, p in model.named_parameters()},
        "logits": floats(logits.detach()), "loss": float(loss.detach()),
        "gradients": {n: floats(p.grad) for n, p in model.named_parameters()},
        "optimizer": {"kind": "adamw", **adamw}, "steps": 20,
        "losses": trajectories(make, initial, tokens, targets, F.cross_entropy,
                               lambda p: torch.optim.AdamW(p, lr=adamw["lr"], weight_decay=adamw["weight_decay"]), 20,
                               attention_class=mgt.Attention),
    }


def main():
    rng = np.random.default_rng(20261206)
    m, n, k = 7, 5, 1031  # partial tiles; k odd and past two KC blocks of 512
    a = torch.from_numpy(rng.standard_normal((m, k)).astype(np.float32))
    b = torch.from_numpy(rng.uniform(-1, 1, (k, n)).astype(np.float32))
    c = (a.bfloat16().double() @ b.bfloat16().double()).float()
    bound = (a.bfloat16().double().abs() @ b.bfloat16().double().abs()).float()
    fixture = {
        "rounding": rounding_cases(rng),
        "gemm": {"m": m, "n": n, "k": k, "a": floats(a), "b": floats(b), "c": floats(c), "abs_product": floats(bound)},
        "torch": torch.__version__,
    }
    with open(os.path.join(OUT, "bf16_gemm.json"), "w") as f:
        json.dump(fixture, f, separators=(",", ":"))
    for case in [mlp_case(), transformer_case()]:
        case["torch"] = torch.__version__
        case["emulated_gradients"] = case["losses"].pop("emulated_gradients")
        with open(os.path.join(OUT, case["name"] + ".json"), "w") as f:
            json.dump(case, f, separators=(",", ":"))
        for mode, losses in case["losses"].items():
            print(case["name"], mode, " ".join("%.5f" % v for v in losses[::4]), "... %.5f" % losses[-1])


if __name__ == "__main__":
    main()
