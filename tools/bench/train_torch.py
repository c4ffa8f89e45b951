#!/usr/bin/env python3
"""PyTorch eager reference for `trainlab bench train`: the same three configs (experiments/bench),
median ms per training step (forward, backward, optimizer) after warm-up.

    ~/venv-torch/bin/python tools/bench/train_torch.py [threads] [mlp|transformer|all] [fp32|bf16]

bf16: the forward and the loss under torch.autocast("cpu", dtype=torch.bfloat16) (oneDNN's bf16
products), FP32 master weights and optimizer, as a PyTorch user trains in mixed precision.
"""
import contextlib, statistics, sys, time
import torch

threads = int(sys.argv[1]) if len(sys.argv) > 1 else torch.get_num_threads()
which = sys.argv[2] if len(sys.argv) > 2 else "all"
precision = sys.argv[3] if len(sys.argv) > 3 else "fp32"
assert precision in ("fp32", "bf16"), precision
torch.set_num_threads(threads)

def autocast():
    return torch.autocast("cpu", dtype=torch.bfloat16) if precision == "bf16" else contextlib.nullcontext()

def mlp(widths, act):
    layers = []
    for i in range(len(widths) - 1):
        layers.append(torch.nn.Linear(widths[i], widths[i + 1]))
        if i < len(widths) - 2:
            layers.append(act())
    return torch.nn.Sequential(*layers)

def bench(name, model, optimizer, batch, inputs, classes, steps, x=None, y=None):
    if x is None:
        x = torch.randn(batch, inputs)
        y = torch.randint(0, classes, (batch,))
    times = []
    for i in range(steps + 5):
        t = time.perf_counter()
        optimizer.zero_grad(set_to_none=True)
        with autocast():
            logits = model(x)
            loss = torch.nn.functional.cross_entropy(logits.reshape(-1, logits.shape[-1]), y.reshape(-1))
        loss.backward()
        optimizer.step()
        if i >= 5:
            times.append(time.perf_counter() - t)
    print(f"{name:20s} {precision} batch {batch:4d}  {statistics.median(times) * 1e3:8.3f} ms/step  ({threads} threads, torch {torch.__version__})")

class Block(torch.nn.Module):
    """Pre-RMSNorm block: causal GQA attention (fused SDPA), SwiGLU feed-forward, no biases."""
    def __init__(self, d, heads, kv_heads, hidden):
        super().__init__()
        self.heads, self.kv_heads, self.head = heads, kv_heads, d // heads
        self.attn_norm, self.ffn_norm = torch.nn.RMSNorm(d), torch.nn.RMSNorm(d)
        self.q = torch.nn.Linear(d, d, bias=False)
        self.k = torch.nn.Linear(d, kv_heads * self.head, bias=False)
        self.v = torch.nn.Linear(d, kv_heads * self.head, bias=False)
        self.o = torch.nn.Linear(d, d, bias=False)
        self.gate = torch.nn.Linear(d, hidden, bias=False)
        self.up = torch.nn.Linear(d, hidden, bias=False)
        self.down = torch.nn.Linear(hidden, d, bias=False)

    def forward(self, x):
        b, t, d = x.shape
        h = self.attn_norm(x)
        q = self.q(h).view(b, t, self.heads, self.head).transpose(1, 2)
        k = self.k(h).view(b, t, self.kv_heads, self.head).transpose(1, 2)
        v = self.v(h).view(b, t, self.kv_heads, self.head).transpose(1, 2)
        a = torch.nn.functional.scaled_dot_product_attention(q, k, v, is_causal=True, enable_gqa=True)
        x = x + self.o(a.transpose(1, 2).reshape(b, t, d))
        h = self.ffn_norm(x)
        return x + self.down(torch.nn.functional.silu(self.gate(h)) * self.up(h))

class Transformer(torch.nn.Module):
    def __init__(self, vocab=256, length=128, d=256, layers=4, heads=8, kv_heads=2, hidden=683):
        super().__init__()
        self.embed, self.pos = torch.nn.Embedding(vocab, d), torch.nn.Embedding(length, d)
        self.blocks = torch.nn.ModuleList(Block(d, heads, kv_heads, hidden) for _ in range(layers))
        self.final_norm, self.head = torch.nn.RMSNorm(d), torch.nn.Linear(d, vocab, bias=False)

    def forward(self, ids):
        x = self.embed(ids) + self.pos.weight[: ids.shape[1]]
        for block in self.blocks:
            x = block(x)
        return self.head(self.final_norm(x))

if which in ("all", "mlp"):
    small = mlp([64, 256, 256, 10], torch.nn.GELU)
    bench("torch-mlp-small", small, torch.optim.Adam(small.parameters(), lr=1e-3), 128, 64, 10, 300)
    large = mlp([784, 1024, 1024, 10], torch.nn.ReLU)
    bench("torch-mlp-large", large, torch.optim.AdamW(large.parameters(), lr=1e-3, weight_decay=0.01), 256, 784, 10, 40)
if which in ("all", "transformer"):
    model = Transformer()
    ids = torch.randint(0, 256, (16, 128))
    bench("torch-transformer", model, torch.optim.AdamW(model.parameters(), lr=3e-4, weight_decay=0.1), 16, 0, 256, 20,
          x=ids, y=torch.roll(ids, 1, dims=1))
