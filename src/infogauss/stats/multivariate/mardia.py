"""Mardia's multivariate skewness and kurtosis tests: b₁ in O(n d³) (or O(n² d) in blocks when d² > n)."""

from __future__ import annotations

import math
from dataclasses import dataclass

from scipy.stats import chi2, norm

from infogauss.errors import InputError
from infogauss.stats.multivariate.null import N_RESAMPLES, auto_method, null_draws, two_sided_pvalue, upper_pvalue
from infogauss.stats.multivariate.whiten import offdiag_sum, whitened, whitened_batch

METHODS = ("auto", "asymptotic", "monte-carlo")


@dataclass(frozen=True)
class MardiaResult:
    """``statistic, pvalue = result`` unpacks the omnibus test; the parts are attributes."""

    statistic: float  # min(skewness_pvalue, kurtosis_pvalue)
    pvalue: float  # min(1, 2 * statistic): Bonferroni over the two tests
    skewness: float  # b_{1,d}
    kurtosis: float  # b_{2,d}
    skewness_statistic: float  # n b_{1,d} / 6 (times Mardia's correction when n < 20)
    skewness_pvalue: float
    kurtosis_statistic: float  # z
    kurtosis_pvalue: float
    method: str = "asymptotic"  # how the p-values were computed: "asymptotic" or "monte-carlo"

    def __iter__(self):
        return iter((self.statistic, self.pvalue))


def mardia(x, *, block=1024, device=None, exact_moments=True, method="auto", n_resamples=N_RESAMPLES) -> MardiaResult:
    """Mardia (1970) tests of multivariate skewness and kurtosis for the rows of ``x`` (n, d), n >= d + 2.

    With the MLE covariance S (1/n, as R's ``MVN::mardia``), ``y_j = S^{-1/2}(x_j - x̄)`` and ``G_jk = y_j·y_k``::

        b_{1,d} = (1/n²) Σ_{j,k} G_jk³ = ‖Σ_j y_j⊗y_j⊗y_j‖²_F / n²   skewness: n b_{1,d}/6 ~ χ², d(d+1)(d+2)/6 df
        b_{2,d} = (1/n) Σ_j G_jj²                                    kurtosis: z = (b_{2,d} - E b_{2,d}) / √Var b_{2,d}

    b₁ is computed from the third-moment tensor ``Σ_j y_j⊗y_j⊗y_j`` in O(n d³) time when d² <= n (so it runs at
    n = 10⁶), else from the Gram matrix in strips of ``block`` rows, O(n² d) time and O(n·block) memory; the two
    agree to 1e-12 relative (tested). For n < 20 the skewness statistic is multiplied by Mardia's small-sample factor
    ``(d+1)(n+1)(n+3) / (n((n+1)(d+1) - 6))`` (as ``MVN``). The kurtosis p-value is two-sided, with the exact null
    moments ``E b_{2,d} = d(d+2)(n-1)/(n+1)`` (Mardia 1970) and ``Var b_{2,d} = 8d(d+2)(n-3)(n-d-1)(n-d+1) /
    ((n+1)²(n+3)(n+5))`` (Mardia 1974); ``exact_moments=False`` uses the asymptotic d(d+2) and 8d(d+2)/n of ``MVN``
    (badly biased when d is not small against n: 55% rejections at 5% for Gaussian (500, 64)).
    Omnibus: ``statistic = min(p_skew, p_kurt)``, ``pvalue = min(1, 2·statistic)`` (Bonferroni).

    ``method``: ``"asymptotic"`` (the χ² and normal laws above), ``"monte-carlo"`` (both p-values from
    ``n_resamples`` simulated N(0, I_d) samples of the same (n, d): exact, because b₁ and b₂ are affine invariant;
    cached per (n, d); costs ``n_resamples`` evaluations), or ``"auto"`` (default): Monte-Carlo where the asymptotic
    laws are off — ``n < 50 d`` (the χ² skewness test is far too conservative there: table) — when that costs at
    most ``BUDGET`` = 2·10¹⁰ multiply-adds (about 10 s), else asymptotic (with a warning where it is off).
    ``result.method`` says which. Sizes of the *asymptotic* tests on Gaussian data, % rejected
    (``python tests/stats/_calibration.py --tests mardia``; 2000 replicates for n <= 200, 1000 at n = 1000, 300 at
    n = 5000; 99% half-width about 1.2 / 0.6 points at 5% / 1% for 2000, 3.5 / 1.5 for 300).

    Each cell: skewness / kurtosis / omnibus, at 5% · at 1%::

        n     d = 2 (5% · 1%)            d = 5 (5% · 1%)            d = 20 (5% · 1%)           d = 64 (5% · 1%)
        8     5.0/4.4/2.9 · 0.3/1.4/1.1  0.0/4.2/2.6 · 0.0/1.7/0.8  -                          -
        20    2.5/4.6/3.2 · 0.6/2.1/1.6  1.1/4.6/2.6 · 0.1/1.6/0.9  -                          -
        50    3.6/4.4/4.5 · 1.1/2.4/2.0  3.2/4.4/3.5 · 0.8/1.4/1.1  0.1/4.5/2.5 · 0.0/1.0/0.7  -
        200   4.9/4.3/4.2 · 1.2/1.1/1.1  4.8/4.5/4.8 · 1.1/1.0/1.2  2.7/4.7/3.3 · 0.7/1.2/0.9  0.0/5.8/3.1 · 0.0/1.2/0.6
        1000  5.3/5.1/5.6 · 1.1/1.1/1.2  4.8/5.2/4.8 · 0.6/1.4/0.6  4.8/3.6/4.1 · 1.4/0.8/1.1  1.8/5.1/3.2 · 0.5/1.1/0.8
        5000  5.7/5.3/5.7 · 0.0/1.0/0.7  5.0/5.0/5.0 · 0.7/0.7/0.3  5.3/4.0/4.3 · 1.3/1.3/1.7  4.7/5.3/5.0 · 0.7/0.7/0.0

    (d = 64 and n = 5000: ``--tests mardia --n 200,1000,5000``, same seeds.) The kurtosis test with the exact
    moments holds its level from n = 8 (slightly liberal at 1% for n <= 50); the χ² skewness test is conservative
    whenever d is not small against n (0% at (8, 5) and (200, 64), 0.05% at (50, 20), 1.8% at (1000, 64)) and
    holds it at n = 5000 up to d = 64; the Bonferroni omnibus inherits that.

    References: K. V. Mardia, "Measures of multivariate skewness and kurtosis with applications",
    Biometrika 57(3), 519-530 (1970); K. V. Mardia, "Applications of some measures of multivariate skewness
    and kurtosis in testing normality and robustness studies", Sankhyā B 36(2), 115-128 (1974).
    """
    if method not in METHODS:
        raise InputError(f"method: must be one of {METHODS}, got {method!r}")
    y, ops = whitened(x, device)
    n, d = y.shape
    b1, b2 = _moments(y, block, ops)
    skew, p_skew, z, p_kurt = _asymptotic(b1, b2, n, d, exact_moments)
    if method == "auto":
        method = auto_method("mardia", n, d, use_monte_carlo(n, d), n * d * min(n, d * d), int(n_resamples))
    if method == "monte-carlo":
        draws = null_draws(_core, n, d, int(n_resamples), batched=_batch_core)
        p_skew, p_kurt = upper_pvalue(b1, draws[:, 0]), two_sided_pvalue(b2, draws[:, 1])
    least = min(p_skew, p_kurt)
    return MardiaResult(least, min(1.0, 2 * least), b1, b2, skew, p_skew, z, p_kurt, method)


def use_monte_carlo(n: int, d: int) -> bool:
    """Where the asymptotic p-values are off (the ``method="auto"`` rule, see :func:`mardia`)."""
    return n < 50 * d


def skewness_tensor(y, ops, block=4096):
    """``‖Σ_j y_j⊗y_j⊗y_j‖²_F`` in O(n d³): the third-moment tensor accumulated one row block at a time."""
    n, d = y.shape
    step = max(1, min(block, 2**22 // max(1, d * d)))
    t = 0.0
    for i0 in range(0, n, step):
        b = y[i0 : i0 + step]
        w = (b[:, :, None] * b[:, None, :]).reshape(b.shape[0], d * d)
        t = t + w.T @ b  # (d², d)
    return float((t * t).sum())


def skewness_pairs(y, ops, block=1024):
    """``Σ_{j,k} (y_j·y_k)³`` over the Gram matrix in strips (O(n² d) time, O(n·block) memory)."""
    dj = (y * y).sum(axis=1)
    return float(2 * offdiag_sum(y, lambda g, rows, cols: g**3, block, ops) + (dj**3).sum())


def _moments(y, block, ops):
    n, d = y.shape
    b1 = (skewness_tensor(y, ops) if d * d <= n else skewness_pairs(y, ops, block)) / n**2
    b2 = float(((y * y).sum(axis=1) ** 2).mean())
    return b1, b2


def _asymptotic(b1, b2, n, d, exact_moments):
    small = (d + 1) * (n + 1) * (n + 3) / (n * ((n + 1) * (d + 1) - 6)) if n < 20 else 1.0
    skew = n * small * b1 / 6
    p_skew = float(chi2.sf(skew, d * (d + 1) * (d + 2) / 6))
    if exact_moments:
        mean = d * (d + 2) * (n - 1) / (n + 1)
        var = 8 * d * (d + 2) * (n - 3) * (n - d - 1) * (n - d + 1) / ((n + 1) ** 2 * (n + 3) * (n + 5))
    else:
        mean, var = d * (d + 2), 8 * d * (d + 2) / n
    z = (b2 - mean) / math.sqrt(var)
    return skew, p_skew, z, float(2 * norm.sf(abs(z)))


def _core(x):
    y, ops = whitened(x)
    return _moments(y, 1024, ops)


def _batch_core(xs):
    """``_core`` of each sample of a stack (c, n, d): (b₁, b₂) as an array (c, 2)."""
    import numpy as np

    y = whitened_batch(xs)
    c, n, d = y.shape
    if d * d <= n:
        t = (y[:, :, :, None] * y[:, :, None, :]).reshape(c, n, d * d).transpose(0, 2, 1) @ y  # (c, d², d)
        b1 = (t * t).sum(axis=(1, 2))
    else:
        b1 = ((y @ y.transpose(0, 2, 1)) ** 3).sum(axis=(1, 2))
    return np.stack([b1 / n**2, (((y * y).sum(axis=2)) ** 2).mean(axis=1)], axis=1)
