"""The report's simulated references: null pass rates of single coordinates, and the Monte-Carlo null of each view's
calibrated statistic at the sample's own (n, d) (Gaussian rows, raw and normalised), both cached per process."""

from __future__ import annotations

import functools
from dataclasses import dataclass

import numpy as np

from infogauss.constants import AD_THRESHOLD, CALIBRATED_ALPHA, DP_ALPHA, NULL_SEED

NULL_REPS = 2000  # simulated Gaussian columns behind the null pass rates
NULL_MAX_N = 20_000  # the pass-rate null is simulated at min(n, NULL_MAX_N)
SPHERE_REPS = 999  # simulated samples behind a view's calibrated p-value: (999 + 1)·0.01/4 is an integer: exact levels
SPHERE_BUDGET = 5 * 10**8  # simulate the views' null when SPHERE_REPS · n · d is at most this many numbers (~4 s)
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
    passes = int((ad < AD_THRESHOLD).sum())
    c = combine(adp)
    return min(c, pass_pvalue(ad.size, passes, null_passes, null_reps)), c


def view_null_affordable(n: int, d: int, reps: int = SPHERE_REPS) -> bool:
    """Whether the views' simulated null at (n, d) is within :data:`SPHERE_BUDGET` simulated numbers."""
    return reps * n * d <= SPHERE_BUDGET


@functools.lru_cache(maxsize=16)
def view_null(n, d, widths, counts, reps=SPHERE_REPS, seed=NULL_SEED, device=None):
    """Null laws of :func:`view_statistic` at the sample's own (n, d): ``reps`` N(0, I_d) samples of n rows, tested
    raw and normalised (rows then uniform on S^{d-1}); for each width m in ``widths`` the statistic of the first m
    coordinates, with the null pass counts ``counts`` = ((view, (passes, columns)), ...) (hashable: cached).
    By rotation invariance the first k coordinates have the law of k orthonormal projections.
    Returns {("raw" | "normalized", m): array (reps, 2) of the ``(q, c)`` statistics}."""
    from infogauss.stats import anderson_darling

    rng = np.random.default_rng([seed, n, d])
    step = max(1, TEST_BYTES // (TEST_COPIES * 8 * n * d))
    counts = dict(counts)
    out = {(view, m): [] for view in ("raw", "normalized") for m in widths}
    for r0 in range(0, reps, step):
        c = min(step, reps - r0)
        z = rng.standard_normal((c, n, d))
        for view in ("raw", "normalized"):
            if view == "normalized":
                z /= np.sqrt(np.einsum("cij,cij->ci", z, z))[:, :, None]
            res = anderson_darling(z.transpose(1, 0, 2).reshape(n, c * d), axis=0, device=device)
            a, p = as_numpy(res.statistic).reshape(c, d), as_numpy(res.pvalue).reshape(c, d)
            for m in widths:
                out[view, m] += [view_statistic(a[i, :m], p[i, :m], *counts[view]) for i in range(c)]
    return {key: np.array(v) for key, v in out.items()}


def monte_carlo_pvalue(stat: tuple[float, float], draws: np.ndarray) -> float:
    """``(1 + #{draws <= stat}) / (R + 1)`` in the lexicographic order of ``(q, c)``: small is extreme."""
    q, c = stat
    extreme = (draws[:, 0] < q) | ((draws[:, 0] == q) & (draws[:, 1] <= c))
    return float((1 + np.count_nonzero(extreme)) / (draws.shape[0] + 1))
