"""Measure: statistics of embeddings, vectorised over columns (``infogauss.stats``).

Univariate normality tests (one file each under ``univariate/``), over an ``axis`` like ``scipy.stats``:

- :func:`anderson_darling` — A² (Anderson & Darling 1954) with the p-value of R's ``nortest::ad.test``;
  the paper's coordinate test (pass: A² < 0.752).
- :func:`dagostino_pearson` — K² omnibus test (D'Agostino & Pearson 1973), equal to ``scipy.stats.normaltest``;
  the paper's second coordinate test (pass: p > 0.05).
- :func:`epps_pulley` — characteristic-function test (Epps & Pulley 1983), the statistic of LeJEPA's SIGReg.
- :func:`normality_protocol` — AD and DP together in one pass over the columns (the paper's protocol).

Multivariate normality tests (``multivariate/``), computed in blocks so memory stays O(n * block):
:func:`mardia`, :func:`henze_zirkler`.

Geometry of the embedding cloud (``geometry.py``): :func:`norm_cv` (paper Eq. 20), :func:`mean_norm`,
:func:`alignment` / :func:`uniformity` (Wang & Isola 2020), :func:`uniformity_potential` (Φ, paper Eq. 4),
:func:`mean_embedding_norm` (‖m(μ)‖, Prop. 1), :func:`cosine_summary`, :func:`covariance_spectrum`,
:func:`effective_rank`.

Projections and combination: :func:`maxwell_poincare` (paper Lemma 3 / Thm 2), :func:`random_orthonormal`,
:func:`cauchy_combination` (one p-value; exact for independent p-values, asymptotically valid in the tail under
dependence).
"""

from importlib import import_module

from infogauss.stats.result import TestResult

_WHERE = {
    "anderson_darling": "univariate.anderson_darling",
    "dagostino_pearson": "univariate.dagostino_pearson",
    "epps_pulley": "univariate.epps_pulley",
    "normality_protocol": "univariate.protocol",
    "mardia": "multivariate.mardia",
    "henze_zirkler": "multivariate.henze_zirkler",
    "norm_cv": "geometry",
    "mean_norm": "geometry",
    "alignment": "geometry",
    "uniformity": "geometry",
    "uniformity_potential": "geometry",
    "mean_embedding_norm": "geometry",
    "cosine_summary": "geometry",
    "covariance_spectrum": "geometry",
    "effective_rank": "geometry",
    "maxwell_poincare": "projections",
    "random_orthonormal": "projections",
    "cauchy_combination": "combine",
}

__all__ = ["TestResult", *_WHERE]


def __getattr__(name):  # lazy: importing infogauss.stats stays cheap and each file stands alone
    if name in _WHERE:
        return getattr(import_module(f"infogauss.stats.{_WHERE[name]}"), name)
    raise AttributeError(f"module 'infogauss.stats' has no attribute {name!r}")
