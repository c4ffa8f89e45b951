#!/usr/bin/env python3
"""Reference values for the benchmark's paired statistics (run offline; CI never needs Python):

    /work/venv-torch/bin/python tools/golden/make_wilcoxon_fixture.py

Writes Tests/TrainLabStoreTests/Fixtures/wilcoxon.json, one case per paired-difference vector:
  p        scipy.stats.wilcoxon(d, zero_method="wilcox", method=PermutationMethod(n_resamples=inf)):
           the exact sign-flip distribution of T+ over the mid-ranks of the nonzero |d| (zeros
           dropped), two-sided. An infinite difference (a run that diverged against one that did
           not) ranks above every finite |d| and ties with the other infinite ones; scipy is given
           +-1e300 in its place, which ranks the same. With every difference infinite the test is
           the sign test: `sign_p` is scipy.stats.binomtest(k, n).pvalue beside it.
  hl, lo, hi
           the Hodges-Lehmann estimate (the median of the Walsh averages (d_i + d_j)/2, i <= j) and
           the distribution-free 95% interval [W_(c+1), W_(M-c)], c the largest with
           P(T+ <= c) <= 0.025 under the untied signed-rank null (enumerated here by brute force
           over all 2^n sign patterns), computed by numpy; null for an unbounded end (n <= 5).
  coverage 1 - 2 P(T+ <= c) (1 for an unbounded interval).
Only finite, zero-free differences get hl/lo/hi (the Swift side's infinity rules are tested by hand).
"""
import itertools
import json
import os

import numpy as np
import scipy.stats as st

OUT = os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "..", "Tests", "TrainLabStoreTests",
                   "Fixtures", "wilcoxon.json")

rng = np.random.default_rng(28)
cases = {
    "ties_n10": [1, -1, 2, 2, 3, -3, 4, 4, 5, 0.5],
    "ties_and_zeros": [0, 0, 1, -1, 2, 2, 3, -0.5, 0.5, 0],
    "all_tied_magnitudes": [0.25, 0.25, -0.25, 0.25, 0.25, 0.25],
    "eight_divergences": [float("inf")] * 8,
    "seven_of_eight_divergences": [float("inf")] * 7 + [float("-inf")],
    "divergences_and_finite": [float("inf"), float("inf"), 0.3, -0.1, 0.3, 0.2, float("-inf"), 0.05, 0.3],
    "no_ties_n8": [1.5, -0.2, 3.1, 2.2, 0.7, -1.1, 4.0, 2.5],
    "rounded_n12": [float(x) for x in np.round(rng.normal(0.3, 1, 12), 1)],
    "rounded_n16": [float(x) for x in np.round(rng.normal(0.2, 1, 16), 1)],
    "rounded_n20": [float(x) for x in np.round(rng.normal(0.4, 1, 20), 1)],
    "n5": [0.1, 0.2, 0.3, 0.4, 0.5],
}


def untied_cdf(n):
    """P(T+ <= t) for t = 0..n(n+1)/2 by brute force over the 2^n sign patterns."""
    counts = np.zeros(n * (n + 1) // 2 + 1)
    ranks = np.arange(1, n + 1)
    for signs in itertools.product((0, 1), repeat=n):
        counts[int(np.dot(signs, ranks))] += 1
    return np.cumsum(counts) / 2 ** n


out = []
for name, d in cases.items():
    finite = [max(min(x, 1e300), -1e300) for x in d]
    r = st.wilcoxon(finite, zero_method="wilcox", method=st.PermutationMethod(n_resamples=np.inf))
    case = {"name": name, "d": [x if np.isfinite(x) else ("inf" if x > 0 else "-inf") for x in d],
            "statistic": float(r.statistic), "p": float(r.pvalue)}
    nonzero = [x for x in d if x != 0]
    if all(not np.isfinite(x) for x in nonzero):
        case["sign_p"] = float(st.binomtest(sum(x > 0 for x in nonzero), len(nonzero)).pvalue)
    if all(np.isfinite(x) for x in d) and len(d) <= 16 and 0 not in d:
        n = len(d)
        walsh = sorted((d[i] + d[j]) / 2 for i in range(n) for j in range(i, n))
        m = len(walsh)
        cdf = untied_cdf(n)
        c = max([t for t in range(len(cdf)) if cdf[t] <= 0.025], default=-1)
        case["hl"] = float(np.median(walsh))
        case["lo"] = walsh[c] if c >= 0 else None
        case["hi"] = walsh[m - c - 1] if c >= 0 else None
        case["coverage"] = float(1 - 2 * cdf[c]) if c >= 0 else 1.0
    out.append(case)

with open(OUT, "w") as f:
    json.dump(out, f, indent=1)
    f.write("\n")
print(f"wrote {len(out)} cases to {os.path.normpath(OUT)}")
