#!/usr/bin/env python3
"""TrainLab's training step beside PyTorch eager's, measured in turns on the same machine.

    ~/venv-torch/bin/python tools/bench/compare.py [--rounds R] [--threads 1,2] [--configs mlp-small,transformer]

Each round runs `trainlab bench train` and then `tools/bench/train_torch.py` for every thread
count, so a neighbour's burst on a shared machine spoils one round of both rather than one
side. Per config and thread count it prints the fastest and the median round of each, and the
speed-up (PyTorch ms / TrainLab ms) of the fastest rounds and of the medians. Build first:
`swift build -c release`.
"""
import argparse, re, statistics, subprocess, sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
BINARY = ROOT / ".build" / "release" / "trainlab"
CONFIGS = {"mlp-small": "mlp", "mlp-large": "mlp", "transformer": "transformer"}

def trainlab(configs, threads, steps):
    specs = [str(ROOT / "experiments" / "bench" / f"{c}.json") for c in configs]
    args = [str(BINARY), "bench", "train", *specs, "--windows", "3", "--threads", str(threads)]
    if steps:
        args += ["--steps", str(steps)]
    out = subprocess.run(args, check=True, capture_output=True, text=True).stdout
    found = {}
    for line in out.splitlines():
        m = re.match(r"bench-(\S+)\s+\d+\s+([\d.]+)\s", line)
        if m:
            found[m.group(1)] = float(m.group(2))
    return found

def torch(configs, threads):
    found = {}
    for which in sorted({CONFIGS[c] for c in configs}):
        out = subprocess.run([sys.executable, str(ROOT / "tools" / "bench" / "train_torch.py"), str(threads), which],
                             check=True, capture_output=True, text=True).stdout
        for line in out.splitlines():
            m = re.match(r"torch-(\S+)\s+batch\s+\d+\s+([\d.]+) ms/step", line)
            if m and m.group(1) in configs:
                found[m.group(1)] = float(m.group(2))
    return found

def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rounds", type=int, default=5)
    parser.add_argument("--threads", default="1,2")
    parser.add_argument("--configs", default="mlp-small,mlp-large,transformer")
    parser.add_argument("--steps", type=int, default=0, help="TrainLab steps per window (default the spec's)")
    a = parser.parse_args()
    configs = a.configs.split(",")
    threads = [int(t) for t in a.threads.split(",")]
    ours = {(c, t): [] for c in configs for t in threads}
    theirs = {(c, t): [] for c in configs for t in threads}
    for r in range(a.rounds):
        for t in threads:
            for c, ms in trainlab(configs, t, a.steps).items():
                ours[(c, t)].append(ms)
            for c, ms in torch(configs, t).items():
                theirs[(c, t)].append(ms)
        print(f"round {r + 1}/{a.rounds} done", file=sys.stderr)
    print(f"{'config':14s} {'threads':>7s} {'TrainLab ms (best, median)':>28s} {'PyTorch ms (best, median)':>27s} {'speed-up':>18s}")
    for c in configs:
        for t in threads:
            o, p = ours[(c, t)], theirs[(c, t)]
            if not o or not p:
                continue
            ob, om, pb, pm = min(o), statistics.median(o), min(p), statistics.median(p)
            print(f"{c:14s} {t:7d} {ob:14.3f} {om:13.3f} {pb:13.3f} {pm:13.3f} {pb / ob:8.2f}x {pm / om:8.2f}x")

if __name__ == "__main__":
    main()
