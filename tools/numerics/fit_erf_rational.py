#!/usr/bin/env python3
"""Fits the rational erf that GELU's kernel uses (Sources/MicroKernels/HotLoops.swift, erfRational8):

    erf(x) ≈ x P(x²) / Q(x²) on |x| <= R (x clamped beyond), Q(0) = 1,

by Sanathanan–Koerner iteration (weights 1/Q) with Lawson reweighting towards the largest errors,
then evaluates it in Float32 with Horner's rule as the kernel does and prints the coefficients.

    ~/venv-torch/bin/python tools/numerics/fit_erf_rational.py 7 5 4    # P terms, Q degree, R
"""
import sys
import numpy as np, torch
nP, nQ, R = int(sys.argv[1]), int(sys.argv[2]), float(sys.argv[3])
x = np.linspace(0, R, 20001)
f = torch.erf(torch.tensor(x, dtype=torch.float64)).numpy()
z = x * x
Q = np.ones_like(x); lw = np.ones_like(x)
best = None
for it in range(200):
    A = np.concatenate([x[:, None] * z[:, None] ** np.arange(nP)[None, :],
                        -f[:, None] * z[:, None] ** np.arange(1, nQ + 1)[None, :]], axis=1)
    W = lw / Q
    coef, *_ = np.linalg.lstsq(A * W[:, None], f * W, rcond=None)
    p = coef[:nP]; q = np.concatenate([[1.0], coef[nP:]])
    Q = np.polyval(q[::-1], z)
    err = x * np.polyval(p[::-1], z) / Q - f
    m = np.abs(err).max()
    if best is None or m < best[0]: best = (m, p.copy(), q.copy())
    lw = lw * np.abs(err) ** 1.0 + 1e-300
    lw /= lw.sum()
m, p, q = best
print("float64 max abs err", m)
pf = p.astype(np.float32); qf = q.astype(np.float32)
xs = np.linspace(-6, 6, 2000001).astype(np.float32)
xc = np.clip(xs, -R, R).astype(np.float32)
zf = (xc * xc).astype(np.float32)
P = np.float32(pf[-1])
for c in pf[-2::-1]: P = (np.float64(P) * zf + c).astype(np.float32)
Qv = np.float32(qf[-1])
for c in qf[-2::-1]: Qv = (np.float64(Qv) * zf + c).astype(np.float32)
r = ((xc * P).astype(np.float32) / Qv).astype(np.float32)
ref = torch.erf(torch.tensor(xs, dtype=torch.float64)).numpy()
e = np.abs(r - ref)
print("float32 max abs err", e.max(), "at", xs[e.argmax()])
print("P =", [float(v) for v in pf]); print("Q =", [float(v) for v in qf])
