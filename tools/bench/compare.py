#!/usr/bin/env python3
"""TrainLab's training step beside PyTorch eager's, measured in turns on the same machine.

    ~/venv-torch/bin/python tools/bench/compare.py [--rounds R] [--threads 1,2] [--configs mlp-small,transformer]
                                                  [--precision fp32,bf16]

Each round runs `trainlab bench train` (at every precision asked for) and then
`tools/bench/train_torch.py` (FP32 eager, and bf16 under torch.autocast) for every thread count,
so a neighbour's burst on a shared machine spoils one round of both rather than one side. Per
config, thread count and precision it prints the fastest and the median round of each, and the
speed-up (PyTorch ms / TrainLab ms) of the fastest rounds and of the medians; with both
precisions, also TrainLab's bf16 step against its own FP32 step. Build first:
`swift build -c release`.
"""
import argparse, re, statistics, subprocess, sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
BINARY = ROOT / ".build" / "release" / "trainlab"
CONFIGS = {"mlp-small": "mlp", "mlp-large": "mlp", "transformer": "transformer"}

def trainlab(configs, threads, steps, precisions):
    specs = [str(ROOT / "experiments" / "bench" / f"{c}.json") for c in configs]
    found = {}
    for precision in precisions:
        args = [str(BINARY), "bench", "train", *specs, "--windows", "3", "--threads", str(threads), "--precision", precision]
        if steps:
            args += ["--steps", str(steps)]
        out = subprocess.run(args, check=True, capture_output=True, text=True).stdout
        for line in out.splitlines():
            m = re.match(r"bench-(\S+)\s+(fp32|bf16)\s+\d+\s+([\d.]+)\s", line)
            if m:
                found[(m.group(1), m.group(2))] = float(m.group(3))
    return found

def torch(configs, threads, precisions):
    found = {}
    for precision in precisions:
        for which in sorted({CONFIGS[c] for c in configs}):
            out = subprocess.run([sys.executable, str(ROOT / "tools" / "bench" / "train_torch.py"), str(threads), which, precision],
                                 check=True, capture_output=True, text=True).stdout
            for line in out.splitlines():
                m = re.match(r"torch-(\S+)\s+(fp32|bf16)\s+batch\s+\d+\s+([\d.]+) ms/step", line)
                if m and m.group(1) in configs:
                    found[(m.group(1), m.group(2))] = float(m.group(3))
    return found

def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rounds", type=int, default=5)
    parser.add_argument("--threads", default="1,2")
    parser.add_argument("--configs", default="mlp-small,mlp-large,transformer")
    parser.add_argument("--steps", type=int, default=0, help="TrainLab steps per window (default the spec's)")
    parser.add_argument("--precision", default="fp32", help="fp32, bf16 or fp32,bf16")
    a = parser.parse_args()
    configs = a.configs.split(",")
    threads = [int(t) for t in a.threads.split(",")]
    precisions = a.precision.split(",")
    keys = [(c, t, p) for c in configs for t in threads for p in precisions]
    ours = {k: [] for k in keys}
    theirs = {k: [] for k in keys}
    for r in range(a.rounds):
        for t in threads:
            for (c, p), ms in trainlab(configs, t, a.steps, precisions).items():
                ours[(c, t, p)].append(ms)
            for (c, p), ms in torch(configs, t, precisions).items():
                theirs[(c, t, p)].append(ms)
        print(f"round {r + 1}/{a.rounds} done", file=sys.stderr)
    print(f"{'config':14s} {'threads':>7s} {'precision':>9s} {'TrainLab ms (best, median)':>28s} {'PyTorch ms (best, median)':>27s} {'speed-up':>18s}")
    for c, t, p in keys:
        o, q = ours[(c, t, p)], theirs[(c, t, p)]
        if not o or not q:
            continue
        ob, om, qb, qm = min(o), statistics.median(o), min(q), statistics.median(q)
        print(f"{c:14s} {t:7d} {p:>9s} {ob:14.3f} {om:13.3f} {qb:13.3f} {qm:13.3f} {qb / ob:8.2f}x {qm / om:8.2f}x")
    if len(precisions) == 2:
        print("TrainLab bf16 against TrainLab FP32 (FP32 ms / bf16 ms), fastest and median rounds:")
        for c in configs:
            for t in threads:
                f, b = ours[(c, t, "fp32")], ours[(c, t, "bf16")]
                if f and b:
                    print(f"{c:14s} {t:7d} {min(f) / min(b):8.2f}x {statistics.median(f) / statistics.median(b):8.2f}x")

if __name__ == "__main__":
    main()
