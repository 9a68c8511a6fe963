"""The report's simulated references: null pass rates of single coordinates, and the Monte-Carlo null of each view's
calibrated statistic at the sample's own (n, d) (Gaussian rows, raw and normalised), both cached per process."""

from __future__ import annotations

import functools
from dataclasses import dataclass

import numpy as np

from infogauss.constants import AD_THRESHOLD, CALIBRATED_ALPHA, DP_ALPHA, NULL_SEED

NULL_REPS = 2000  # simulated Gaussian columns behind the null pass rates
NULL_MAX_N = 20_000  # the pass-rate null is simulated at min(n, NULL_MAX_N)
SPHERE_REPS = (999, 199)  # simulated samples behind the calibrated p-values: the first that fits its budget
SPHERE_BUDGET = (25 * 10**6, 25 * 10**6)  # ... reps · n · (d + k) at most this many numbers: AD then runs on ~2x that
# (raw and normalised), about 3 s on 2 cores (measured: 1e9 values in 63 s at (5000, 256), R = 199). Larger samples use
# the conservative Bonferroni p-value unless view_null='monte-carlo' is asked for.
TEST_BYTES = 256 * 2**20  # memory for one block of tested columns and the tests' temporaries
TEST_COPIES = 8  # float64 copies of a tested block alive at once: the block + ~6 in anderson_darling (measured)


@dataclass(frozen=True)
class NullCalibration:
    """AD and DP on ``reps`` simulated N(0, 1) columns of length ``n``: the reference for pass fractions."""

    n: int
    reps: int
    seed: int
    ad_statistic: np.ndarray
    ad_pvalue: np.ndarray
    dp_pvalue: np.ndarray

    @property
    def ad_passes(self) -> int:
        return int((self.ad_statistic < AD_THRESHOLD).sum())

    @property
    def dp_passes(self) -> int:
        return int((self.dp_pvalue > DP_ALPHA).sum())


def coordinate_tests(x: np.ndarray, device):
    """AD statistic, AD p-value, DP statistic, DP p-value for every column of ``x`` (numpy float64 arrays)."""
    from infogauss.stats import normality_protocol

    ad, dp = normality_protocol(x, axis=0, device=device)
    return tuple(as_numpy(v) for v in (ad.statistic, ad.pvalue, dp.statistic, dp.pvalue))


def as_numpy(v) -> np.ndarray:
    if type(v).__module__.startswith("torch"):
        v = v.detach().cpu().numpy()
    return np.atleast_1d(np.asarray(v, dtype=np.float64))


@functools.lru_cache(maxsize=8)
def null_calibration(n: int, reps: int = NULL_REPS, seed: int = NULL_SEED, device: str | None = None):
    """Run the coordinate tests on ``reps`` simulated Gaussian columns of length ``min(n, NULL_MAX_N)``; cached."""
    n = int(min(n, NULL_MAX_N))
    rng = np.random.default_rng(seed)
    step = max(1, TEST_BYTES // (TEST_COPIES * 8 * n))  # same memory bound as the tested blocks
    ad, adp, dpp = [], [], []
    for c0 in range(0, reps, step):
        x = rng.standard_normal((min(step, reps - c0), n)).T  # column by column: the same null for any step
        a_stat, a_p, _, d_p = coordinate_tests(x, device)
        ad.append(a_stat), adp.append(a_p), dpp.append(d_p)
    return NullCalibration(n, reps, seed, np.concatenate(ad), np.concatenate(adp), np.concatenate(dpp))


def pass_interval(m: int, passes: int, reps: int, level: float = 1 - CALIBRATED_ALPHA) -> tuple[float, float]:
    """``level`` interval for the pass fraction of ``m`` independent null columns, given ``passes`` of ``reps``.

    Beta-binomial predictive law: the null pass rate has the Jeffreys posterior Beta(passes + 1/2, reps - passes
    + 1/2); given it the number of passing columns is Binomial(m, rate). Returns the (1-level)/2 and (1+level)/2
    quantiles divided by ``m``.
    """
    from scipy.stats import betabinom

    law = betabinom(m, passes + 0.5, reps - passes + 0.5)
    tail = (1 - level) / 2
    return float(law.ppf(tail) / m), float(law.ppf(1 - tail) / m)


def combine(p: np.ndarray) -> float:
    """Cauchy combination of ``p`` (NaN for none). p-values that under/overflowed to exactly 0 or 1 are moved to the
    nearest representable values first (0 and 1 together would give 0·∞ = NaN); the smallest p then dominates."""
    from infogauss.stats import cauchy_combination

    if p.size == 0:
        return float("nan")
    res = cauchy_combination(np.clip(p, np.finfo(np.float64).tiny, np.nextafter(1.0, 0.0)), axis=-1)
    return float(as_numpy(res.pvalue)[0])


@functools.lru_cache(maxsize=16)
def sphere_passes(n: int, d: int, cols: int = NULL_REPS, seed: int = NULL_SEED, device=None) -> tuple[int, int]:
    """AD passes among about ``cols`` coordinates of n rows uniform on S^{d-1} (normalised N(0, I_d) rows): the null
    pass count of a normalised view, whose coordinates pass a little less often than Gaussian ones at large n.
    At most 1e8 simulated numbers (fewer columns at huge n; the beta-binomial law then widens). Returns
    ``(passes, columns)``; cached."""
    from infogauss.stats import anderson_darling

    reps = max(1, min(-(-cols // d), 10**8 // (n * d)))
    z = np.random.default_rng([seed, n, d, 1]).standard_normal((reps, n, d))
    z /= np.sqrt(np.einsum("cij,cij->ci", z, z))[:, :, None]
    a = as_numpy(anderson_darling(z.transpose(1, 0, 2).reshape(n, reps * d), axis=0, device=device).statistic)
    return int((a < AD_THRESHOLD).sum()), int(a.size)


def pass_pvalue(m: int, passes: int, null_passes: int, null_reps: int) -> float:
    """One-sided p-value of ``passes`` AD passes among ``m`` columns: ``P(X <= passes)`` under the beta-binomial law
    of :func:`pass_interval` (too few passes is the departure; too many does not count against Gaussianity)."""
    from scipy.stats import betabinom

    return float(betabinom.cdf(passes, m, null_passes + 0.5, null_reps - null_passes + 0.5)) if m else float("nan")


def view_statistic(ad: np.ndarray, adp: np.ndarray, null_passes: int, null_reps: int) -> tuple[float, float]:
    """The calibrated check's statistic for one view: ``(q, c)`` with ``c`` the Cauchy combination of the AD p-values
    and ``q = min(c, pass_pvalue)`` — c sees a few clearly non-Gaussian columns, the pass count many slightly
    non-Gaussian ones. ``c`` breaks the ties of ``q`` (the pass count's p-value is discrete)."""
    q, c = view_statistics(ad[None], adp[None], null_passes, null_reps)
    return float(q[0]), float(c[0])


def view_statistics(ad: np.ndarray, adp: np.ndarray, null_passes: int, null_reps: int):
    """:func:`view_statistic` of each row of ``ad`` / ``adp`` (samples × columns), vectorised: arrays ``(q, c)``."""
    from scipy.stats import betabinom

    from infogauss.stats import cauchy_combination

    m = ad.shape[1]
    if m == 0:
        nan = np.full(ad.shape[0], np.nan)
        return nan, nan
    c = as_numpy(cauchy_combination(np.clip(adp, np.finfo(np.float64).tiny, np.nextafter(1.0, 0.0)), axis=1).pvalue)
    f = betabinom.cdf((ad < AD_THRESHOLD).sum(axis=1), m, null_passes + 0.5, null_reps - null_passes + 0.5)
    return np.minimum(c, f), c


def view_null_reps(n: int, d: int, k: int) -> int | None:
    """Simulated samples for the views' null at (n, d) with k projections: the first of :data:`SPHERE_REPS` within
    its :data:`SPHERE_BUDGET` of simulated numbers (each sample: n·(d + k) values, tested raw and normalised), or
    None. With 999 the Monte-Carlo levels are exact at 5%, 1% and 0.1%; with 199 at 5% and 1%."""
    fits = (r for r, b in zip(SPHERE_REPS, SPHERE_BUDGET, strict=True) if r * n * (d + k) <= b)
    return next(fits, None)


@functools.lru_cache(maxsize=16)
def view_null(n, m, projection_key, counts, reps=SPHERE_REPS[0], seed=NULL_SEED, device=None):
    """Joint null of the four views' :func:`view_statistic` at the sample's own (n, m): ``reps`` samples of n rows
    N(0, I_m), tested as the report tests the data — coordinates, projections onto the report's directions
    (``projection_key = (d, k, directions seed, live columns)``; the rows of P of the live columns), and both again
    after L2-normalising the rows (then uniform on S^{m-1}). ``counts`` = ((view, (passes, columns)), ...) are the
    pass-count nulls (hashable: cached). Returns {(view, kind): array (reps, 2) of the ``(q, c)`` statistics}, kind
    "coord" or "proj" (no "proj" when k = 0)."""
    from infogauss.stats import anderson_darling, random_orthonormal

    d, k, pseed, live = projection_key
    P = random_orthonormal(d, k, pseed)[list(live)] if k else None
    rng = np.random.default_rng([seed, n, m, k])
    step = max(1, TEST_BYTES // (TEST_COPIES * 8 * n * (m + k)))
    counts = dict(counts)
    out = {}
    for r0 in range(0, reps, step):
        c = min(step, reps - r0)
        z = rng.standard_normal((c, n, m))
        for view in ("raw", "normalized"):
            if view == "normalized":
                z /= np.sqrt(np.einsum("cij,cij->ci", z, z))[:, :, None]
            for kind, x in (("coord", z), ("proj", None if P is None else z @ P)):
                if x is None:
                    continue
                w = x.shape[2]
                res = anderson_darling(x.transpose(1, 0, 2).reshape(n, c * w), axis=0, device=device)
                a, p = as_numpy(res.statistic).reshape(c, w), as_numpy(res.pvalue).reshape(c, w)
                out.setdefault((view, kind), []).append(np.stack(view_statistics(a, p, *counts[view]), axis=1))
    return {key: np.concatenate(v) for key, v in out.items()}


def lexicographic_ranks(draws: np.ndarray) -> np.ndarray:
    """Rank (1 = most extreme) of each ``(q, c)`` row among all rows, in lexicographic order."""
    order = np.lexsort((draws[:, 1], draws[:, 0]))
    ranks = np.empty(len(draws), dtype=np.int64)
    ranks[order] = np.arange(1, len(draws) + 1)
    return ranks


def report_pvalue(view_pvalues: dict, draws: dict) -> float:
    """Monte-Carlo p-value of ``min`` over the views of their Monte-Carlo p-values: each simulated sample's own view
    p-values are its ranks / (R + 1) (the same rule as the data's), so the data and the R samples are exchangeable
    and the whole report's level is exact."""
    keys = sorted(draws)
    reps = len(draws[keys[0]])
    t = np.sort([lexicographic_ranks(draws[key]) for key in keys], axis=0).T  # (reps, views): smallest rank first
    obs = np.sort([round(view_pvalues[key] * (reps + 1)) for key in keys])  # the data's ranks
    # ties of the smallest rank are broken by the next smallest, and so on (lexicographic order of sorted ranks)
    below = np.zeros(reps, dtype=bool)
    equal = np.ones(reps, dtype=bool)
    for j in range(len(keys)):
        below |= equal & (t[:, j] < obs[j])
        equal &= t[:, j] == obs[j]
    return float((1 + np.count_nonzero(below | equal)) / (reps + 1))


def monte_carlo_pvalue(stat: tuple[float, float], draws: np.ndarray) -> float:
    """``(1 + #{draws <= stat}) / (R + 1)`` in the lexicographic order of ``(q, c)``: small is extreme."""
    q, c = stat
    extreme = (draws[:, 0] < q) | ((draws[:, 0] == q) & (draws[:, 1] <= c))
    return float((1 + np.count_nonzero(extreme)) / (draws.shape[0] + 1))
