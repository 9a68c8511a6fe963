"""The report's simulated references: null pass rates of single coordinates, and the Monte-Carlo null of each view's
calibrated statistic at the sample's own (n, d) (Gaussian rows, raw and normalised), both cached per process.

How the views' null is drawn (:func:`view_null_reps`, chosen on the measurements in ``tests/stats/_calibration.py``):

- **whole samples** (:func:`exact_view_null`) wherever 999 or 4999 of them fit ``SPHERE_BUDGET`` (about 3 s):
  exact at any (n, d), and the whole report's level is exact (the report p-value ranks each sample's own views);
- **the column bank** (:func:`bank_view_null`) beyond that while n <= d²: ~2000 simulated (raw, normalised) column
  pairs at (n, d), the ones behind :func:`sphere_passes`, from which 4999 samples of independent columns are drawn
  (the raw p-value uniform, the normalised one shifted as the bank's are). Its cost does not grow with the
  replicates (at (5000, 256): ~1e7 simulated numbers instead of 5e9), and its level was measured against whole
  samples (``--bank``): within the 99% interval at 5% and 1% for every view and the whole report at (200, 16),
  (500, 64), (1000, 32), and at (2000, 64) but for the normalised views at 5% (6.3–6.7%; 1.0% at 1%, the level
  the report uses); liberal when n > d², where the normalised p-values' law is far from uniform and ~2000
  columns do not resolve its tail (normalised views 1.55% at 1% at (200, 8), 1.7% at (1000, 16)). Set aside: a
  vectorised float32 null still sorts ~1e9 numbers per 199 samples at (5000, 256) (~60 s on 2 cores), and a
  disk cache of whole nulls helps only the second report of a shape;
- where neither holds (n > d² and 199 whole samples too costly): the bank, with a warning.
"""

from __future__ import annotations

import functools
from dataclasses import dataclass

import numpy as np

from infogauss.constants import AD_THRESHOLD, CALIBRATED_ALPHA, DP_ALPHA, NULL_SEED

NULL_REPS = 2000  # simulated Gaussian columns behind the null pass rates
NULL_MAX_N = 20_000  # the pass-rate null is simulated at min(n, NULL_MAX_N)
SPHERE_REPS = (4999, 999, 199)  # whole simulated samples behind the calibrated p-values (view_null_reps)
SPHERE_BUDGET = (25 * 10**6,) * 3  # ... reps · n · (d + k) at most this many numbers: AD then runs on ~2x that
# (raw and normalised), about 3 s on 2 cores (measured: 1e9 values in 63 s at (5000, 256), R = 199). Larger samples
# draw their null from the column bank (bank_view_null): BANK_REPS samples of independent columns.
BANK_REPS = 4999  # samples drawn from the column bank (cheap: the level of one draw set is within ±0.14% at 1%)
BANK_MAX_RATIO = 1.0  # the bank holds its level for n <= this · d² (measured; liberal at n = 4 d²: bank_view_null)
BANK_WINDOW = 20  # a drawn column borrows its raw-to-normalised shift from the bank columns this many ranks around it
BANK_MAX_NUMBERS = 2 * 10**8  # numbers per simulated bank sample at most: samples of min(n, this // d) rows
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


@functools.lru_cache(maxsize=8)
def column_bank(n: int, d: int, cols: int = NULL_REPS, seed: int = NULL_SEED, device=None):
    """AD on about ``cols`` coordinates of simulated samples of n rows N(0, I_d), raw and L2-normalised (the
    normalised rows are uniform on S^{d-1}): arrays ``(a_raw, p_raw, a_norm, p_norm)``, one entry per simulated
    column, raw and normalised of the same column side by side. At most 1e8 simulated numbers (fewer columns at
    huge n·d). Cached; the source of :func:`sphere_passes` and of the column-bank null (:func:`bank_view_null`).

    Beyond :data:`BANK_MAX_NUMBERS` numbers per sample (n·d > 2e8, e.g. n > 260,000 at d = 768) the samples have
    ``min(n, BANK_MAX_NUMBERS // d)`` rows, with a warning: one whole sample of 10⁹ × 768 would be 6 TB. The raw
    p-values' law hardly depends on n, but the normalised coordinates' departure from the Gaussian grows with n, so
    the normalised views' check is then liberal (as it already is for n > d², :data:`BANK_MAX_RATIO`); test the
    normalised rows with projections (``infogauss.stats.maxwell_poincare``) or use ``analyze --max-rows``."""
    from infogauss.stats import anderson_darling

    if n * d > BANK_MAX_NUMBERS:
        import warnings

        rows = max(8, BANK_MAX_NUMBERS // d)
        warnings.warn(
            f"gaussianity_report: the simulated null at n={n}, d={d} uses samples of {rows} rows (n·d is too large to "
            "simulate whole); the normalised views' check is liberal at this n (report.null.column_bank)",
            stacklevel=2,
        )
        n = rows
    reps = max(1, min(-(-cols // d), 10**8 // (n * d)))
    rng = np.random.default_rng([seed, n, d, 1])
    step = max(1, TEST_BYTES // (TEST_COPIES * 8 * n * d))
    parts = []
    for r0 in range(0, reps, step):
        c = min(step, reps - r0)
        z = rng.standard_normal((c, n, d))
        res = [anderson_darling(z.transpose(1, 0, 2).reshape(n, c * d), axis=0, device=device)]
        z /= np.sqrt(np.einsum("cij,cij->ci", z, z))[:, :, None]
        res.append(anderson_darling(z.transpose(1, 0, 2).reshape(n, c * d), axis=0, device=device))
        parts.append([as_numpy(v) for r in res for v in (r.statistic, r.pvalue)])
    return tuple(np.concatenate(v) for v in zip(*parts, strict=True))


def sphere_passes(n: int, d: int, cols: int = NULL_REPS, seed: int = NULL_SEED, device=None) -> tuple[int, int]:
    """AD passes among about ``cols`` coordinates of n rows uniform on S^{d-1} (normalised N(0, I_d) rows): the null
    pass count of a normalised view, whose coordinates pass a little less often than Gaussian ones at large n.
    From :func:`column_bank` (at most 1e8 simulated numbers; fewer columns at huge n, and the beta-binomial law then
    widens). Returns ``(passes, columns)``; cached."""
    a = column_bank(n, d, cols, seed, device)[2]
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
    return count_statistics((ad < AD_THRESHOLD).sum(axis=1), adp, null_passes, null_reps)


def count_statistics(passes: np.ndarray, adp: np.ndarray, null_passes: int, null_reps: int):
    """:func:`view_statistics` from each row's AD pass count ``passes`` and its AD p-values ``adp``."""
    from scipy.stats import betabinom

    from infogauss.stats import cauchy_combination

    m = adp.shape[1]
    if m == 0:
        nan = np.full(adp.shape[0], np.nan)
        return nan, nan
    c = as_numpy(cauchy_combination(np.clip(adp, np.finfo(np.float64).tiny, np.nextafter(1.0, 0.0)), axis=1).pvalue)
    f = betabinom.cdf(np.arange(m + 1), m, null_passes + 0.5, null_reps - null_passes + 0.5)[passes]  # a table
    return np.minimum(c, f), c


def view_null_reps(n: int, d: int, k: int) -> int:
    """Simulated samples for the views' null at (n, d) with k projections (each sample: n·(d + k) values, tested raw
    and normalised): the first of 4999 and 999 whose exact simulation fits :data:`SPHERE_BUDGET`; else
    :data:`BANK_REPS` from the column bank while n <= :data:`BANK_MAX_RATIO` · d² (where it is measured to hold
    its level); else 199 exact samples if they fit; else the bank (with a warning). The reps decide the method
    (:func:`null_method`). With 4999 or 999 the Monte-Carlo levels are exact at 5%, 1% and 0.1%; with 199 at 5%
    and 1%."""
    fits = [r for r, b in zip(SPHERE_REPS, SPHERE_BUDGET, strict=True) if r * n * (d + k) <= b]
    if fits and fits[0] >= 999:
        return fits[0]
    if n <= BANK_MAX_RATIO * d * d or not fits:
        return BANK_REPS
    return fits[0]


def null_method(n: int, m: int, k: int, reps: int) -> str:
    """``"exact"`` where ``reps`` whole samples fit :data:`SPHERE_BUDGET` (:func:`exact_view_null`), else
    ``"bank"`` (:func:`bank_view_null`)."""
    return "exact" if reps * n * (m + k) <= max(SPHERE_BUDGET) else "bank"


@functools.lru_cache(maxsize=16)
def view_null(n, m, projection_key, counts, reps=SPHERE_REPS[0], seed=NULL_SEED, device=None, method="auto"):
    """Joint null of the four views' :func:`view_statistic` at the sample's own (n, m): {(view, kind): array
    (reps, 2) of the ``(q, c)`` statistics of ``reps`` simulated N(0, I_m) samples}, kind "coord" or "proj" (no
    "proj" when k = 0). ``projection_key = (d, k, directions seed, live columns)``; ``counts`` = ((view, (passes,
    columns)), ...) are the pass-count nulls (hashable: cached). ``method``: "exact" (:func:`exact_view_null`),
    "bank" (:func:`bank_view_null`) or "auto" (:func:`null_method`: exact while it fits the budget)."""
    k = projection_key[1]
    if method == "auto":
        method = null_method(n, m, k, reps)
    if method == "bank":
        if n > BANK_MAX_RATIO * m * m:
            import warnings

            warnings.warn(
                f"gaussianity_report: the views' null at n={n}, d={m} is drawn from the column bank, whose normalised "
                f"views are liberal when n > d² (too large to simulate whole; see report.null.bank_view_null)",
                stacklevel=4,
            )
        return bank_view_null(n, m, k, dict(counts), reps, seed, device)
    return exact_view_null(n, m, projection_key, dict(counts), reps, seed, device)


def exact_view_null(n, m, projection_key, counts, reps, seed, device):
    """The views' null simulated whole: ``reps`` samples of n rows N(0, I_m), tested as the report tests the data —
    coordinates, projections onto the report's directions (the rows of P of the live columns), and both again
    after L2-normalising the rows (then uniform on S^{m-1}). Exact at any (n, m); costs ``2 · reps · n · (m + k)``
    AD evaluations."""
    from infogauss.stats import anderson_darling, random_orthonormal

    d, k, pseed, live = projection_key
    P = random_orthonormal(d, k, pseed)[list(live)] if k else None
    rng = np.random.default_rng([seed, n, m, k])
    step = max(1, TEST_BYTES // (TEST_COPIES * 8 * n * (m + k)))
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


def bank_view_null(n, m, k, counts, reps, seed, device):
    """The views' null from the column bank (:func:`column_bank`, ~2000 simulated column pairs at (n, m)) instead
    of whole samples: each simulated sample gets m coordinate and k projection columns, drawn independently; a
    column's raw AD p-value is U ~ U(0, 1), and its normalised one ``Φ(Φ⁻¹(U) + ε)`` with ε the normal-score
    shift ``Φ⁻¹(p_norm) - Φ⁻¹(p_raw)`` of a bank column drawn among the ±:data:`BANK_WINDOW` whose raw p-value is
    nearest U (so the raw–normalised dependence and the sphere's effect on p_norm come from the bank, and the far
    tail needs no bank columns there). The part of ε that a bank sample's columns share (:func:`shared_shift`) is
    redrawn once per simulated sample, for both its normalised views. A column passes when its p-value exceeds
    that of A² = 0.752 at n.

    Approximations: the raw AD p-value is exactly uniform (its size is within 99% intervals at every n of the
    grid, see :func:`~infogauss.stats.anderson_darling`); columns are otherwise independent within a view (exact for
    the raw coordinates; the normalised ones share the row norms) and between coordinates and projections (they
    share the sample). Measured against whole samples (``python tests/stats/_calibration.py --bank
    200x8:6000,200x16:2000,500x64:2000,1000x32:3000,2000x64:2000``: every view and the whole report within the
    99% interval at 5% and 1%, except as :data:`BANK_MAX_RATIO` says; see the README's calibration grid). Costs
    ``reps · (m + k)`` uniforms, not AD evaluations."""
    from scipy.special import ndtr, ndtri

    from infogauss.stats.univariate.anderson_darling import ad_pvalue
    from infogauss.stats.univariate.common import NumpyOps

    _, p_raw, _, p_norm = column_bank(n, m, NULL_REPS, seed, device)
    lo, hi = np.finfo(np.float64).tiny, np.nextafter(1.0, 0.0)
    shift, tau = shared_shift(ndtri(np.clip(p_norm, lo, hi)) - ndtri(np.clip(p_raw, lo, hi)), m)
    order = np.argsort(p_raw, kind="stable")
    grid = np.searchsorted(p_raw[order], np.linspace(0, 1, 1 << 16))  # bank rank of U, to 1/65536
    shift = shift[order]
    h = min(BANK_WINDOW, (shift.size - 1) // 2)
    p_star = float(ad_pvalue(np.array([AD_THRESHOLD]), n, NumpyOps)[0])  # A² < 0.752  <=>  p > p_star
    rng = np.random.default_rng([seed, n, m, k, 2])
    common = tau * rng.standard_normal((reps, 1))  # one per simulated sample: its normalised views share it
    out = {}
    for kind, w in (("coord", m), ("proj", k)):
        if w == 0:
            continue
        u = np.clip(rng.random((reps, w)), lo, hi)
        i = grid[(u * (grid.size - 1)).astype(np.int64)] + rng.integers(-h, h + 1, size=u.shape)
        pn = ndtr(ndtri(u) + shift[np.clip(i, 0, shift.size - 1)] + common)
        for view, p in (("raw", u), ("normalized", pn)):
            out[(view, kind)] = np.stack(count_statistics((p > p_star).sum(axis=1), p, *counts[view]), axis=1)
    return out


def shared_shift(eps: np.ndarray, m: int):
    """Split the bank's normal-score shifts ``eps`` (samples of m columns, sample-major) into each column's own part
    (its sample's mean removed, the overall mean kept) and the standard deviation ``tau`` of the part a sample's
    columns share (method of moments: the variance of the sample means less their within-sample share)."""
    g = eps.reshape(-1, m)
    if g.shape[0] < 2:
        return eps, 0.0
    means = g.mean(axis=1, keepdims=True)
    between = float(means.var(ddof=1)) - float(g.var(axis=1, ddof=1).mean()) / m
    return (g - means + means.mean()).ravel(), float(np.sqrt(max(between, 0.0)))


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
