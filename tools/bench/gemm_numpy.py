#!/usr/bin/env python3
"""OpenBLAS (through numpy) on the shapes of `trainlab bench gemm`, in the same JSON format.

Run it right after `trainlab bench gemm --json` so both are measured on the same machine state:
    .build/release/trainlab bench gemm --json > ours.json && python3 tools/bench/gemm_numpy.py > numpy.json
Each thread count (1 and all cores) runs in a child process started with OPENBLAS_NUM_THREADS
(and OMP_NUM_THREADS) set, which OpenBLAS reads when it loads.
"""
import json, os, subprocess, sys, time
import numpy as np

SHAPES = [(s, s, s) for s in (64, 128, 256, 512, 1024, 2048)] + [(256, 1024, 784), (256, 1024, 1024), (4096, 768, 256)]

def best_gflops(m, n, k, budget=0.3):
    a = np.random.rand(m, k).astype(np.float32)
    b = np.random.rand(k, n).astype(np.float32)
    c = np.empty((m, n), dtype=np.float32)
    flops = 2.0 * m * n * k
    inner = max(1, int(1e8 / flops))
    np.matmul(a, b, out=c)
    best, spent, runs = 0.0, 0.0, 0
    while runs < 3 or spent < budget:
        t = time.perf_counter()
        for _ in range(inner):
            np.matmul(a, b, out=c)
        dt = time.perf_counter() - t
        best = max(best, flops * inner / dt / 1e9)
        spent += dt
        runs += 1
    return best

def main():
    if len(sys.argv) == 2:  # child: one thread count, set in the environment by the parent
        threads = int(sys.argv[1])
        print(json.dumps([{"m": m, "n": n, "k": k, "threads": threads, "gflops": round(best_gflops(m, n, k), 2)}
                          for m, n, k in SHAPES]))
        return
    out = []
    for threads in sorted({1, os.cpu_count() or 1}):
        env = dict(os.environ, OPENBLAS_NUM_THREADS=str(threads), OMP_NUM_THREADS=str(threads))
        child = subprocess.run([sys.executable, __file__, str(threads)], env=env, capture_output=True, text=True, check=True)
        out += json.loads(child.stdout)
    print(json.dumps(out, indent=1))


if __name__ == "__main__":
    main()
