#!/usr/bin/env python3
"""Adaptive search against random search on a benchmark spec (issue 23's evidence).

From one benchmark spec it writes three variants, each tuned on `--studies` tuning seeds
(`search_seed` 0..S-1): random search (the spec's, as `studies`), successive halving over the
same points (`{"successive_halving": {"min_steps": R, "eta": 3}}`) and TPE (`{"tpe": {"startup":
K}}`, its startup trials random's first points). Selection reruns are dropped and one final
seed kept, since what is compared is the search itself: per (problem, optimizer) and tuning
seed, the best trial's metric at the end of training (a trial paused at a rung does not count)
and the steps all the cell's trials trained. It runs `trainlab run` on each variant (resuming
what an earlier call left), then prints the comparison as Markdown.

    python3 tools/adaptive-evidence.py experiments/optimizer-benchmark.json --out /tmp/evidence

Standard library only; reads the databases with sqlite3.
"""
import argparse
import json
import math
import os
import sqlite3
import statistics
import subprocess
import sys


def variants(spec, studies, min_steps, startup, eval_every):
    """The random, successive-halving and TPE specs, named so their runs never mix."""
    out = []
    for mode in ["random", "sh", "tpe"]:
        seeds = [0] if mode == "random" else list(range(studies))
        for seed in seeds:
            s = json.loads(json.dumps(spec))
            b = s["benchmark"]
            b.pop("selection", None)
            b.pop("studies", None)
            b["seeds"] = 1
            b["search_seed"] = seed
            # A rung must fall on an evaluation: problems evaluated more coarsely than the ladder
            # are evaluated at `eval_every` in every variant, so all three tune the same problems.
            for name, problem in b.get("problems", {}).items():
                training = problem.get("training", {})
                if training.get("eval_every", 1) % eval_every and training.get("eval_every", 1) > eval_every:
                    training["eval_every"] = eval_every
                    training["log_every"] = min(training.get("log_every", eval_every), eval_every)
                    problem["training"] = training
            if mode == "random":
                b["search"] = "random"
                b["studies"] = studies
            elif mode == "sh":
                b["search"] = {"successive_halving": {"min_steps": min_steps, "eta": 3}}
            else:
                b["search"] = {"tpe": {"startup": startup}}
            s["name"] = f"{spec['name']}-{mode}-{seed}"
            out.append((mode, seed, s))
    return out


def cells(db, full_steps):
    """(problem, optimizer, study) -> (best final metric, steps trained) over the tuning trials."""
    con = sqlite3.connect(f"file:{db}?mode=ro", uri=True)
    params = {}
    for run, key, value in con.execute(
            "SELECT run_id, key, value FROM params WHERE key IN ('benchmark.role', 'benchmark.problem', "
            "'benchmark.optimizer', 'benchmark.study', 'benchmark.metric')"):
        params.setdefault(run, {})[key] = value
    status = dict(con.execute("SELECT id, status FROM runs"))
    last = dict(con.execute("SELECT run_id, MAX(step) FROM metrics GROUP BY run_id"))
    result = {}
    for run, p in params.items():
        if p.get("benchmark.role") != "tune":
            continue
        metric = p.get("benchmark.metric", "val_loss")
        key = (p["benchmark.problem"], p["benchmark.optimizer"], int(p.get("benchmark.study", 0)))
        best, steps = result.get(key, (math.inf, 0))
        trained = last.get(run) or 0
        steps += trained
        if status[run] == "completed" and trained == full_steps[p["benchmark.problem"]]:
            row = con.execute("SELECT value FROM metrics WHERE run_id = ? AND name = ? ORDER BY step DESC LIMIT 1",
                              (run, metric)).fetchone()
            if row and row[0] is not None and math.isfinite(row[0]):
                best = min(best, row[0])
        result[key] = (best, steps)
    return result


def fmt(x):
    return "∞" if not math.isfinite(x) else f"{x:.4g}"


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("spec")
    ap.add_argument("--out", required=True, help="folder for the variant specs and their databases")
    ap.add_argument("--studies", type=int, default=5)
    ap.add_argument("--min-steps", type=int, default=40)
    ap.add_argument("--startup", type=int, default=5)
    ap.add_argument("--eval-every", type=int, default=20, help="the coarsest evaluation interval a rung can use")
    ap.add_argument("--trainlab", default=".build/release/trainlab")
    ap.add_argument("--jobs", default="auto")
    ap.add_argument("--report-only", action="store_true", help="read the databases, train nothing")
    args = ap.parse_args()

    spec = json.load(open(args.spec))
    os.makedirs(args.out, exist_ok=True)
    runs = variants(spec, args.studies, args.min_steps, args.startup, args.eval_every)
    base_steps = spec.get("training", {}).get("steps")
    full_steps = {name: p.get("training", {}).get("steps", base_steps)
                  for name, p in spec["benchmark"].get("problems", {"default": {}}).items()}
    data = {}
    for mode, seed, s in runs:
        path = os.path.join(args.out, f"{s['name']}.json")
        db = os.path.join(args.out, f"{s['name']}.sqlite")
        with open(path, "w") as f:
            json.dump(s, f, indent=1)
        if not args.report_only:
            print(f"== {s['name']}", file=sys.stderr, flush=True)
            subprocess.run([args.trainlab, "run", path, "--db", db, "--jobs", args.jobs, "--quiet"], check=True)
        for (problem, optimizer, study), value in cells(db, full_steps).items():
            data[(mode, problem, optimizer, study if mode == "random" else seed)] = value

    searched = {k: v for k, v in spec["benchmark"]["optimizers"].items()
                if any(isinstance(x, dict) and ({"log_uniform", "uniform", "choice"} & x.keys()) for x in v.values())}
    pairs = sorted({(p, o) for (_, p, o, _) in data if o in searched}, key=lambda x: (list(full_steps).index(x[0]), x[1]))
    seeds = range(args.studies)
    print(f"| problem / optimizer | random: median (min–max) of {args.studies} studies | successive halving | TPE | SH steps / random |")
    print("| --- | --- | --- | --- | --- |")
    within = better_tpe = worse_tpe = 0
    steps = {"random": 0, "sh": 0, "tpe": 0}
    for problem, optimizer in pairs:
        r = [data[("random", problem, optimizer, s)][0] for s in seeds]
        h = [data[("sh", problem, optimizer, s)][0] for s in seeds]
        t = [data[("tpe", problem, optimizer, s)][0] for s in seeds]
        st = {m: sum(data[(m, problem, optimizer, s)][1] for s in seeds) for m in steps}
        for m in steps:
            steps[m] += st[m]
        rm, hm, tm = statistics.median(r), statistics.median(h), statistics.median(t)
        ok = hm <= max(r)
        within += ok
        better_tpe += tm < rm
        worse_tpe += tm > rm
        print(f"| {problem} {optimizer} | {fmt(rm)} ({fmt(min(r))}–{fmt(max(r))}) | {'' if ok else '**'}{fmt(hm)}{'' if ok else '**'} "
              f"| {'**' if tm < rm else ''}{fmt(tm)}{'**' if tm < rm else ''} | {st['sh'] / st['random']:.0%} |")
    print()
    print(f"Pairs: {len(pairs)}. Successive halving's median at or below the worst of random's {args.studies} studies "
          f"(within its tuning-seed noise or better): {within} of {len(pairs)}. TPE's median below random's: {better_tpe}, "
          f"above: {worse_tpe}, equal: {len(pairs) - better_tpe - worse_tpe}.")
    print(f"Tuning steps, all pairs and studies: random {steps['random']:,}, successive halving {steps['sh']:,} "
          f"({steps['sh'] / steps['random']:.0%}), TPE {steps['tpe']:,} ({steps['tpe'] / steps['random']:.0%}).")


if __name__ == "__main__":
    main()
