#!/usr/bin/env python3
"""Adaptive search against random search on a benchmark spec (issue 23's evidence).

From one benchmark spec it writes the variants, each tuned on `--studies` tuning seeds
(`search_seed` 0..S-1): random search (the spec's, as `studies`), successive halving over the
same points, one variant per `--ladders` entry R/η (`{"successive_halving": {"min_steps": R,
"eta": η}}`), and TPE (`{"tpe": {"startup": K}}`, its startup trials random's first points). Selection reruns are dropped and one final
seed kept, since what is compared is the search itself: per (problem, optimizer) and tuning
seed, the best trial's metric at the end of training (a trial paused at a rung does not count)
and the steps all the cell's trials trained. It runs `trainlab run` on each variant (resuming
what an earlier call left), then prints the comparison as Markdown: per (problem, optimizer)
the medians over the studies, then per problem the optimizers as each search ranks them (the
comparison a benchmark is run for).

    python3 tools/adaptive-evidence.py experiments/optimizer-benchmark.json --out /tmp/evidence --ladders 40/3,40/2

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


def variants(spec, studies, ladders, startup, eval_every):
    """(variant, study, spec) for random search, each successive-halving ladder and TPE, named so
    their runs never mix (the 40/3 ladder's runs keep the name "sh")."""
    out = []
    names = ["random"] + [f"sh {r}/{eta}" for r, eta in ladders] + ["tpe"]
    for mode in names:
        seeds = [0] if mode == "random" else list(range(studies))
        for seed in seeds:
            s = json.loads(json.dumps(spec))
            b = s["benchmark"]
            b.pop("selection", None)
            b.pop("studies", None)
            b["seeds"] = 1
            b["search_seed"] = seed
            # A rung must fall on an evaluation: problems evaluated more coarsely than the ladder
            # are evaluated at `eval_every` in every variant, so all of them tune the same problems.
            for name, problem in b.get("problems", {}).items():
                training = problem.get("training", {})
                if training.get("eval_every", 1) % eval_every and training.get("eval_every", 1) > eval_every:
                    training["eval_every"] = eval_every
                    training["log_every"] = min(training.get("log_every", eval_every), eval_every)
                    problem["training"] = training
            tag = mode
            if mode == "random":
                b["search"] = "random"
                b["studies"] = studies
            elif mode == "tpe":
                b["search"] = {"tpe": {"startup": startup}}
            else:
                r, eta = map(int, mode.split()[1].split("/"))
                b["search"] = {"successive_halving": {"min_steps": r, "eta": eta}}
                tag = "sh" if (r, eta) == (40, 3) else f"sh-m{r}-e{eta}"
            s["name"] = f"{spec['name']}-{tag}-{seed}"
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
    ap.add_argument("--ladders", default="40/3",
                    help="successive halving's ladders, min_steps/eta, comma-separated: one variant each")
    ap.add_argument("--train", default="all",
                    help="the variants to train: random, sh (every ladder), tpe, comma-separated, or all; "
                         "the others are read from --out as an earlier call left them")
    ap.add_argument("--startup", type=int, default=5)
    ap.add_argument("--eval-every", type=int, default=20, help="the coarsest evaluation interval a rung can use")
    ap.add_argument("--trainlab", default=".build/release/trainlab")
    ap.add_argument("--jobs", default="auto")
    ap.add_argument("--report-only", action="store_true", help="read the databases, train nothing")
    args = ap.parse_args()

    try:
        ladders = [tuple(map(int, x.split("/"))) for x in args.ladders.split(",")]
    except ValueError:
        ap.error(f"--ladders: expected min_steps/eta pairs such as 40/3,40/2, got {args.ladders!r}")
    if any(len(l) != 2 or l[0] < 1 or l[1] < 2 for l in ladders):
        ap.error(f"--ladders: expected min_steps ≥ 1 and eta ≥ 2 in each min_steps/eta, got {args.ladders!r}")
    if args.train != "all" and not set(args.train.split(",")) <= {"random", "sh", "tpe"}:
        ap.error(f"--train: expected all or some of random,sh,tpe, got {args.train!r}")
    spec = json.load(open(args.spec))
    os.makedirs(args.out, exist_ok=True)
    runs = variants(spec, args.studies, ladders, args.startup, args.eval_every)
    train = {"random", "sh", "tpe"} if args.train == "all" else set(args.train.split(","))
    base_steps = spec.get("training", {}).get("steps")
    full_steps = {name: p.get("training", {}).get("steps", base_steps)
                  for name, p in spec["benchmark"].get("problems", {"default": {}}).items()}
    data = {}
    for mode, seed, s in runs:
        path = os.path.join(args.out, f"{s['name']}.json")
        db = os.path.join(args.out, f"{s['name']}.sqlite")
        with open(path, "w") as f:
            json.dump(s, f, indent=1)
        if not args.report_only and mode.split()[0] in train:
            print(f"== {s['name']}", file=sys.stderr, flush=True)
            subprocess.run([args.trainlab, "run", path, "--db", db, "--jobs", args.jobs, "--quiet"], check=True)
        if not os.path.exists(db):
            continue
        for (problem, optimizer, study), value in cells(db, full_steps).items():
            data[(mode, problem, optimizer, study if mode == "random" else seed)] = value

    searched = {k: v for k, v in spec["benchmark"]["optimizers"].items()
                if any(isinstance(x, dict) and ({"log_uniform", "uniform", "choice"} & x.keys()) for x in v.values())}
    seeds = range(args.studies)
    searched_cells = {(p, o) for (_, p, o, _) in data if o in searched}
    modes = [m for m in dict.fromkeys(mode for mode, _, _ in runs)
             if all((m, p, o, s) in data for p, o in searched_cells for s in seeds)]
    if "random" not in modes:
        sys.exit(f"no complete random search in {args.out}: train it (--train random)")
    others = modes[1:]
    ladders_done = [m for m in others if m.startswith("sh")]
    pairs = sorted(searched_cells, key=lambda x: (list(full_steps).index(x[0]), x[1]))
    median = {(m, p, o): statistics.median(data[(m, p, o, s)][0] for s in seeds) for m in modes for p, o in pairs}
    label = {m: ("TPE" if m == "tpe" else f"SH {m.split()[1]}") for m in others}
    print(f"| problem / optimizer | random: median (min–max) of {args.studies} studies | "
          + " | ".join(label[m] for m in others) + " | " + " | ".join(f"{label[m]} steps / random" for m in ladders_done) + " |")
    print("| --- " * (2 + len(others) + len(ladders_done)) + "|")
    within = {m: 0 for m in ladders_done}
    better_tpe = worse_tpe = 0
    steps = {m: 0 for m in modes}
    for problem, optimizer in pairs:
        r = [data[("random", problem, optimizer, s)][0] for s in seeds]
        st = {m: sum(data[(m, problem, optimizer, s)][1] for s in seeds) for m in modes}
        for m in modes:
            steps[m] += st[m]
        rm = median[("random", problem, optimizer)]
        cols = [f"{fmt(rm)} ({fmt(min(r))}–{fmt(max(r))})"]
        for m in others:
            v = median[(m, problem, optimizer)]
            if m == "tpe":
                better_tpe += v < rm
                worse_tpe += v > rm
                cols.append(f"{'**' if v < rm else ''}{fmt(v)}{'**' if v < rm else ''}")
            else:
                ok = v <= max(r)
                within[m] += ok
                cols.append(f"{'' if ok else '**'}{fmt(v)}{'' if ok else '**'}")
        cols += [f"{st[m] / st['random']:.0%}" for m in ladders_done]
        print(f"| {problem} {optimizer} | " + " | ".join(cols) + " |")
    print()
    line = f"Pairs: {len(pairs)}."
    for m in ladders_done:
        line += (f" {label[m]}'s median at or below the worst of random's {args.studies} studies "
                 f"(within its tuning-seed noise or better): {within[m]} of {len(pairs)}.")
    if "tpe" in modes:
        line += f" TPE's median below random's: {better_tpe}, above: {worse_tpe}, equal: {len(pairs) - better_tpe - worse_tpe}."
    print(line)
    print("Tuning steps, all pairs and studies: random " + f"{steps['random']:,}" + "".join(
        f", {label[m]} {steps[m]:,} ({steps[m] / steps['random']:.0%})" for m in others) + ".")

    # The comparison a benchmark is for: per problem, the optimizers ordered by their median best
    # final metric. A search gives random's comparison where it picks random's winner; the
    # pairwise agreement counts the optimizer pairs it orders as random does.
    problems = sorted({p for p, _ in pairs}, key=list(full_steps).index)
    print()
    print("| problem | random: optimizers, best first | " + " | ".join(label[m] for m in others) + " |")
    print("| --- " * (2 + len(others)) + "|")
    same = {m: 0 for m in others}
    agree = {m: [0, 0] for m in others}
    for problem in problems:
        opts = [o for p, o in pairs if p == problem]
        order = {m: sorted(opts, key=lambda o: (median[(m, problem, o)], o)) for m in modes}
        cols = [", ".join(order["random"])]
        pairwise = [(a, b) for i, a in enumerate(opts) for b in opts[i + 1:]]
        for m in others:
            agreed = sum((median[("random", problem, a)] < median[("random", problem, b)])
                         == (median[(m, problem, a)] < median[(m, problem, b)]) for a, b in pairwise)
            agree[m][0] += agreed
            agree[m][1] += len(pairwise)
            won = order[m][0] == order["random"][0]
            same[m] += won
            cols.append(f"{'' if won else '**'}{', '.join(order[m])}{'' if won else '**'} ({agreed}/{len(pairwise)} pairs)")
        print(f"| {problem} | " + " | ".join(cols) + " |")
    print()
    print(f"Problems: {len(problems)}. " + " ".join(
        f"{label[m]} picks random's best optimizer on {same[m]} and orders {agree[m][0]} of {agree[m][1]} optimizer pairs as random does."
        for m in others))

if __name__ == "__main__":
    main()
