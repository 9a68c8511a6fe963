"""Mardia's multivariate skewness and kurtosis tests, in blocks (memory O(n·block), never n×n)."""

from __future__ import annotations

import math
from dataclasses import dataclass

from scipy.stats import chi2, norm

from infogauss.stats.multivariate._whiten import offdiag_sum, whitened


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

    def __iter__(self):
        return iter((self.statistic, self.pvalue))


def mardia(x, *, block=1024, device=None, exact_moments=True) -> MardiaResult:
    """Mardia (1970) tests of multivariate skewness and kurtosis for the rows of ``x`` (n, d).

    With the MLE covariance S (1/n, as R's ``MVN::mardia``) and ``G_jk = (x_j - x̄)ᵀS⁻¹(x_k - x̄)``::

        b_{1,d} = (1/n²) Σ_{j,k} G_jk³        skewness:  n b_{1,d} / 6 ~ χ² with d(d+1)(d+2)/6 df
        b_{2,d} = (1/n) Σ_j G_jj²             kurtosis:  z = (b_{2,d} - E b_{2,d}) / √Var b_{2,d} ~ N(0, 1)

    The skewness p-value is the χ² upper tail; for n < 20 the statistic is multiplied by Mardia's small-sample
    factor ``(d+1)(n+1)(n+3) / (n((n+1)(d+1) - 6))`` (as ``MVN``). The kurtosis p-value is two-sided, with the
    exact null moments ``E b_{2,d} = d(d+2)(n-1)/(n+1)`` (Mardia 1970) and ``Var b_{2,d} = 8d(d+2)(n-3)(n-d-1)
    (n-d+1) / ((n+1)²(n+3)(n+5))`` (Mardia 1974). ``exact_moments=False`` uses the asymptotic d(d+2) and
    8d(d+2)/n of ``MVN`` instead, which is badly biased when d is not small against n: on Gaussian data with
    d=64 it rejects 55% (n=500) and 20% (n=2000) at 5%, against 4.3% and 2.5% with the exact moments.
    The χ² skewness test is conservative at large d (0.7% and 2% in the same runs).
    Omnibus: ``statistic = min(p_skew, p_kurt)`` and ``pvalue = min(1, 2·statistic)`` (Bonferroni), valid
    whatever the dependence between the two tests. Both tests are asymptotic and conservative at small n.
    The Gram matrix is formed one strip of ``block`` rows at a time (pairs j<k once), in float64 on
    ``device`` (default: the input's device).

    References: K. V. Mardia, "Measures of multivariate skewness and kurtosis with applications",
    Biometrika 57(3), 519-530 (1970); K. V. Mardia, "Applications of some measures of multivariate skewness
    and kurtosis in testing normality and robustness studies", Sankhyā B 36(2), 115-128 (1974).
    """
    y = whitened(x, device)
    n, d = y.shape
    dj = y.pow(2).sum(dim=1)
    b1 = ((2 * offdiag_sum(y, lambda g, rows, cols: g.pow_(3), block) + dj.pow(3).sum()) / n**2).item()
    b2 = dj.pow(2).mean().item()
    small = (d + 1) * (n + 1) * (n + 3) / (n * ((n + 1) * (d + 1) - 6)) if n < 20 else 1.0
    skew = n * small * b1 / 6
    p_skew = float(chi2.sf(skew, d * (d + 1) * (d + 2) / 6))
    if exact_moments:
        mean = d * (d + 2) * (n - 1) / (n + 1)
        var = 8 * d * (d + 2) * (n - 3) * (n - d - 1) * (n - d + 1) / ((n + 1) ** 2 * (n + 3) * (n + 5))
    else:
        mean, var = d * (d + 2), 8 * d * (d + 2) / n
    z = (b2 - mean) / math.sqrt(var)
    p_kurt = float(2 * norm.sf(abs(z)))
    least = min(p_skew, p_kurt)
    return MardiaResult(least, min(1.0, 2 * least), b1, b2, skew, p_skew, z, p_kurt)
