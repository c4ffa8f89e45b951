#!/usr/bin/env python3
"""PyTorch eager reference for `trainlab bench train`: the same MLP configs (experiments/bench),
median ms per training step (forward, backward, optimizer) after warm-up.

    ~/venv-torch/bin/python tools/bench/train_torch.py [threads]
"""
import statistics, sys, time
import torch

threads = int(sys.argv[1]) if len(sys.argv) > 1 else torch.get_num_threads()
torch.set_num_threads(threads)

def mlp(widths, act):
    layers = []
    for i in range(len(widths) - 1):
        layers.append(torch.nn.Linear(widths[i], widths[i + 1]))
        if i < len(widths) - 2:
            layers.append(act())
    return torch.nn.Sequential(*layers)

def bench(name, model, optimizer, batch, inputs, classes, steps):
    x = torch.randn(batch, inputs)
    y = torch.randint(0, classes, (batch,))
    times = []
    for i in range(steps + 5):
        t = time.perf_counter()
        optimizer.zero_grad(set_to_none=True)
        torch.nn.functional.cross_entropy(model(x), y).backward()
        optimizer.step()
        if i >= 5:
            times.append(time.perf_counter() - t)
    print(f"{name:20s} batch {batch:4d}  {statistics.median(times) * 1e3:8.3f} ms/step  ({threads} threads, torch {torch.__version__})")

small = mlp([64, 256, 256, 10], torch.nn.GELU)
bench("torch-mlp-small", small, torch.optim.Adam(small.parameters(), lr=1e-3), 128, 64, 10, 300)
large = mlp([784, 1024, 1024, 10], torch.nn.ReLU)
bench("torch-mlp-large", large, torch.optim.AdamW(large.parameters(), lr=1e-3, weight_decay=0.01), 256, 784, 10, 40)
