"""Null calibration of every test: the rejection rate on true Gaussian data at 5% and 1%, with 99% binomial intervals.

Run (slow; prints a Markdown table): ``python tests/stats/_calibration.py [--tests ad,dp,ep,hz,mardia] [--reps R]``;
the report's calibrated verdicts: ``python tests/stats/_calibration.py --verdict 50x16:2000,500x64:1000,5000x256:400``;
the column-bank null judged on exactly simulated samples: ``--bank 1000x32:3000`` (with ``--bank-reps 4999``, the
report's own draws: then the whole-report p-values are those ``gaussianity_report`` gives these samples, without its
DP tests and extras).
``tests/stats/test_calibration.py`` checks a fast subset in CI and the whole grid under ``-m slow``.
"""

from __future__ import annotations

import argparse
import time

import numpy as np
from scipy.stats import binom

N_GRID = (8, 20, 50, 200, 1000, 5000)
D_GRID = (2, 5, 20, 64)
LEVELS = (0.05, 0.01)


def interval(k: int, r: int, level: float = 0.99) -> tuple[float, float]:
    """Clopper-Pearson interval for a rate of k in r."""
    from scipy.stats import beta

    a = (1 - level) / 2
    lo = 0.0 if k == 0 else beta.ppf(a, k, r - k + 1)
    hi = 1.0 if k == r else beta.ppf(1 - a, k + 1, r - k)
    return float(lo), float(hi)


def acceptance(alpha: float, reps: int, level: float = 0.99) -> tuple[int, int]:
    """Rejection counts a test of exact size ``alpha`` gives with probability ``level`` in ``reps`` replicates."""
    lo, hi = binom.interval(level, reps, alpha)
    return int(lo), int(hi)


def univariate_pvalues(test: str, n: int, reps: int, seed: int = 1) -> np.ndarray:
    """p-values of ``test`` ("ad", "dp", "ep") on ``reps`` independent N(0, 1) columns of length n."""
    from infogauss import stats

    fn = {"ad": stats.anderson_darling, "dp": stats.dagostino_pearson, "ep": stats.epps_pulley}[test]
    rng = np.random.default_rng([seed, n])
    out, step = [], max(1, 2**22 // n)
    for c0 in range(0, reps, step):
        out.append(np.asarray(fn(rng.standard_normal((n, min(step, reps - c0))), axis=0).pvalue))
    return np.concatenate(out)


def multivariate_pvalues(test: str, n: int, d: int, reps: int, seed: int = 1) -> dict:
    """p-values of "hz" or "mardia" (asymptotic and auto) on ``reps`` N(0, I_d) samples of size n."""
    from infogauss.stats import henze_zirkler, mardia

    rng = np.random.default_rng([seed, n, d])
    out: dict = {}
    for _ in range(reps):
        x = rng.standard_normal((n, d))
        if test == "hz":
            row = {"hz": henze_zirkler(x, method="asymptotic").pvalue}
        else:
            r = mardia(x, method="asymptotic")
            row = {"skewness": r.skewness_pvalue, "kurtosis": r.kurtosis_pvalue, "omnibus": r.pvalue}
        for k, v in row.items():
            out.setdefault(k, []).append(v)
    return {k: np.array(v) for k, v in out.items()}


def report_pvalues(n: int, d: int, reps: int, seed: int = 13) -> dict:
    """Calibrated p-values of the four views and of the whole report (``gaussianity_report``, geometry off) on
    ``reps`` N(0, I_d) samples of size n."""
    import warnings

    from infogauss.report import gaussianity_report

    rng = np.random.default_rng([seed, n, d])
    out: dict = {}
    for _ in range(reps):
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            r = gaussianity_report(rng.standard_normal((n, d)), geometry=False, progress=False)
        blocks = {"raw coordinates": r.raw, "raw projections": r.raw.projections, "normalised coordinates":
                  r.normalized, "normalised projections": r.normalized.projections}  # fmt: skip
        for k, b in blocks.items():
            out.setdefault(k, []).append(b.calibrated_pvalue)
        out.setdefault("whole report", []).append(r.verdict.pvalue)
    return {k: np.array(v) for k, v in out.items()}


def bank_vs_exact(n: int, d: int, reps: int, seed: int = 17, bank_reps: int = 19_999) -> dict:
    """The column-bank null's error: ``reps`` whole Gaussian samples simulated exactly (``exact_view_null``, seed
    ``seed``) are the data; their four view p-values and whole-report p-value are computed against the bank null
    (``bank_view_null``) that the report uses at large (n, d), with ``bank_reps`` draws (many: the rates are then
    the bank model's, not one draw set's Monte-Carlo luck). Returns {check: p-values}; under an exact null each
    rejects at its level."""
    from infogauss.report.null import (
        NULL_SEED,
        bank_view_null,
        exact_view_null,
        lexicographic_ranks,
        null_calibration,
        sphere_passes,
    )

    k = min(d, 256)
    null = null_calibration(n)
    counts = {"raw": (null.ad_passes, null.reps), "normalized": sphere_passes(n, d)}
    data = exact_view_null(n, d, (d, k, 0, tuple(range(d))), counts, reps, seed, None)
    bank = bank_view_null(n, d, k, counts, bank_reps, NULL_SEED, None)
    keys = sorted(data)
    names = {
        ("raw", "coord"): "raw coordinates",
        ("raw", "proj"): "raw projections",
        ("normalized", "coord"): "normalised coordinates",
        ("normalized", "proj"): "normalised projections",
    }
    ranks = np.array([below(data[key], bank[key]) for key in keys]).T + 1  # (reps, views): each view's MC rank
    out = {names[key]: ranks[:, j] / (bank_reps + 1) for j, key in enumerate(keys)}
    t = np.sort([lexicographic_ranks(bank[key]) for key in keys], axis=0).T  # the bank samples' own ranks
    code = lambda r: (np.sort(r, axis=1) * (bank_reps + 2) ** np.arange(len(keys))[::-1]).sum(axis=1)  # noqa: E731
    out["whole report"] = (1 + np.searchsorted(np.sort(code(t)), code(ranks), side="right")) / (bank_reps + 1)
    return out


def below(data: np.ndarray, draws: np.ndarray) -> np.ndarray:
    """For each ``(q, c)`` row of ``data``: how many rows of ``draws`` are lexicographically smaller (the null draws'
    ties with data have probability 0: c is continuous)."""
    both = np.concatenate([draws, data])
    order = np.lexsort((both[:, 1], both[:, 0]))
    before = np.cumsum(order < len(draws))  # draws at or before each sorted position
    out = np.empty(len(data), dtype=np.int64)
    pos = order >= len(draws)
    out[order[pos] - len(draws)] = before[pos]
    return out


def row(name: str, n, d, p: np.ndarray) -> str:
    cells = []
    for a in LEVELS:
        k = int(np.sum(p <= a))  # Monte-Carlo p-values reject at p <= alpha
        lo, hi = interval(k, p.size)
        flag = "" if acceptance(a, p.size)[0] <= k <= acceptance(a, p.size)[1] else " *"
        cells.append(f"{100 * k / p.size:.2f} [{100 * lo:.2f}, {100 * hi:.2f}]{flag}")
    return f"| {name} | {n} | {d} | {p.size} | " + " | ".join(cells) + " |"


def reps_for(test: str, n: int, reps: int) -> int:
    """Fewer replicates where one evaluation is expensive (HZ: O(n² d); Mardia: O(n d³))."""
    if test == "hz":
        return min(reps, 2000 if n <= 50 else 1000 if n <= 200 else 200)
    if test == "mardia":
        return min(reps, 2000 if n <= 200 else 1000 if n <= 1000 else 300)
    return reps


def main(argv=None):
    ap = argparse.ArgumentParser(description=__doc__)
    ap.add_argument("--tests", default="ad,dp,ep,hz,mardia")
    ap.add_argument("--reps", type=int, default=4000)
    ap.add_argument("--n", default=",".join(map(str, N_GRID)))
    ap.add_argument("--verdict", default="", help="report verdicts instead: NxD:REPS,... e.g. 50x16:2000")
    ap.add_argument("--bank", default="", help="the column-bank null on exactly simulated samples: NxD:REPS,...")
    ap.add_argument("--bank-reps", type=int, default=19_999, help="--bank: draws of the bank null (the report's: 4999)")
    ap.add_argument("--seed", type=int, default=17, help="--bank: seed of the exactly simulated samples")
    args = ap.parse_args(argv)
    if args.verdict or args.bank:
        print("| report check | n | d | replicates | rate at 5% [99% CI] | rate at 1% [99% CI] |")
        print("|---|---|---|---|---|---|")
        for cell in (args.verdict or args.bank).split(","):
            size, reps = cell.split(":")
            n, d = (int(v) for v in size.split("x"))
            t0 = time.time()
            run = report_pvalues if args.verdict else lambda n, d, r: bank_vs_exact(n, d, r, args.seed, args.bank_reps)
            for name, p in run(n, d, int(reps)).items():
                print(row(name, n, d, p), flush=True)
            print(f"<!-- {size}: {time.time() - t0:.0f} s -->", flush=True)
        return
    ns = [int(v) for v in args.n.split(",")]
    print("| test | n | d | replicates | rate at 5% [99% CI] | rate at 1% [99% CI] |")
    print("|---|---|---|---|---|---|")
    for test in args.tests.split(","):
        for n in ns:
            t0 = time.time()
            if test in ("ad", "dp", "ep"):
                print(row(test, n, "-", univariate_pvalues(test, n, 20 * args.reps)), flush=True)
                continue
            for d in D_GRID:
                if n < d + 2:
                    continue
                res = multivariate_pvalues(test, n, d, reps_for(test, n, args.reps))
                for k, p in res.items():
                    print(row(f"{test} {k}" if test == "mardia" else test, n, d, p), flush=True)
            print(f"<!-- {test} n={n}: {time.time() - t0:.0f} s -->", flush=True)


if __name__ == "__main__":
    main()
