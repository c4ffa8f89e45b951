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
"""
import json
import os

import numpy as np
import torch

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


if __name__ == "__main__":
    main()
