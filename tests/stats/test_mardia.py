import json
from pathlib import Path

import numpy as np
import pytest
import torch
from scipy import stats

from infogauss.errors import InputError
from infogauss.stats import mardia

R = json.loads((Path(__file__).parent / "data" / "multivariate_r.json").read_text())["cases"]


def direct_mardia(x):
    """Textbook Mardia (1970) b1, b2 with a dense n x n Mahalanobis Gram matrix (MLE covariance)."""
    n = x.shape[0]
    c = x - x.mean(0)
    g = c @ np.linalg.inv(c.T @ c / n) @ c.T
    return (g**3).sum() / n**2, (np.diag(g) ** 2).sum() / n


@pytest.mark.parametrize("case", sorted(R))
def test_matches_r_reference(case):
    ref, x = R[case]["mardia"], np.array(R[case]["x"])
    res = mardia(x, exact_moments=False, method="asymptotic")  # the conventions of R's MVN::mardia
    for key in ("b1", "b2", "skewness_statistic", "skewness_pvalue", "kurtosis_statistic", "kurtosis_pvalue"):
        got = getattr(res, {"b1": "skewness", "b2": "kurtosis"}.get(key, key))
        assert got == pytest.approx(ref[key], rel=1e-8), key
    exact = mardia(x, method="asymptotic")
    assert exact.kurtosis_statistic == pytest.approx(ref["kurtosis_exact_statistic"], rel=1e-8)
    assert exact.kurtosis_pvalue == pytest.approx(ref["kurtosis_exact_pvalue"], rel=1e-8)


@pytest.mark.parametrize("n, d", [(40, 2), (150, 7)])
def test_matches_direct_formula(rng, n, d):
    x = rng.gamma(3.0, size=(n, d)) @ rng.normal(size=(d, d))
    b1, b2 = direct_mardia(x)
    res = mardia(x, block=9, method="asymptotic")
    assert res.skewness == pytest.approx(b1, rel=1e-10)
    assert res.kurtosis == pytest.approx(b2, rel=1e-10)
    df = d * (d + 1) * (d + 2) / 6
    assert res.skewness_pvalue == pytest.approx(stats.chi2.sf(n * b1 / 6, df), rel=1e-9)
    z = (b2 - d * (d + 2)) / np.sqrt(8 * d * (d + 2) / n)
    asymptotic = mardia(x, exact_moments=False, method="asymptotic")
    assert asymptotic.kurtosis_pvalue == pytest.approx(2 * stats.norm.sf(abs(z)), rel=1e-9)
    var = 8 * d * (d + 2) * (n - 3) * (n - d - 1) * (n - d + 1) / ((n + 1) ** 2 * (n + 3) * (n + 5))
    z = (b2 - d * (d + 2) * (n - 1) / (n + 1)) / np.sqrt(var)
    assert res.kurtosis_pvalue == pytest.approx(2 * stats.norm.sf(abs(z)), rel=1e-9)
    statistic, pvalue = res
    assert statistic == min(res.skewness_pvalue, res.kurtosis_pvalue) and pvalue == min(1.0, 2 * statistic)


def test_block_size_invariant_and_torch(rng):
    x = rng.normal(size=(300, 5))
    a, b = mardia(x, block=7), mardia(x, block=1024)
    assert a.skewness == pytest.approx(b.skewness, rel=1e-12)
    assert a.pvalue == pytest.approx(b.pvalue, rel=1e-12)
    assert mardia(torch.from_numpy(x)).skewness == pytest.approx(b.skewness, rel=1e-12)


@pytest.mark.parametrize("n, d", [(50, 3), (200, 32)])
def test_null_calibration(rng, n, d):
    res = [mardia(rng.normal(size=(n, d)), method="asymptotic") for _ in range(300)]
    lo, hi = stats.binom.interval(0.99, 300, 0.05)
    assert lo <= sum(r.kurtosis_pvalue < 0.05 for r in res) <= hi  # exact null moments of b2
    assert sum(r.skewness_pvalue < 0.05 for r in res) <= hi  # chi2 approximation: conservative at large d
    assert sum(r.pvalue < 0.05 for r in res) <= hi  # Bonferroni is conservative by construction
    if d == 3:
        assert lo <= sum(r.skewness_pvalue < 0.05 for r in res) <= hi


def test_rejects_non_gaussian(rng):
    assert mardia(rng.exponential(size=(200, 3))).skewness_pvalue < 1e-6
    assert mardia(rng.standard_t(4, size=(500, 3))).kurtosis_pvalue < 1e-6
    assert mardia(rng.uniform(size=(500, 3))).kurtosis_statistic < -4  # light tails


def test_bad_input():
    with pytest.raises(InputError, match="singular"):
        mardia(np.ones((20, 2)))


def test_tensor_form_equals_pair_form(rng):
    from infogauss.stats.backend import NUMPY
    from infogauss.stats.multivariate.mardia import skewness_pairs, skewness_tensor
    from infogauss.stats.multivariate.whiten import whitened

    for n, d in [(300, 4), (90, 12), (40, 30)]:
        y, ops = whitened(rng.gamma(2.0, size=(n, d)))
        assert ops is NUMPY
        a, b = skewness_tensor(y, ops, block=7), skewness_pairs(y, ops, block=13)
        assert a == pytest.approx(b, rel=1e-10)
        assert a / n**2 == pytest.approx(direct_mardia(y)[0], rel=1e-10)


def test_refuses_n_at_most_d_plus_one(rng):
    for n, d in [(9, 8), (21, 20), (8, 8)]:
        with pytest.raises(InputError, match=r"at least d \+ 2 samples") as info:
            mardia(rng.normal(size=(n, d)))
        assert "\n" not in str(info.value)
    assert 0 < mardia(rng.normal(size=(10, 8)), n_resamples=99).pvalue <= 1  # n = d + 2 works (Monte-Carlo)


def test_monte_carlo_pvalues_are_calibrated(rng):
    # (30, 10): the chi² skewness test is far off here (0% at 5%); the Monte-Carlo p-values are exact
    assert mardia(rng.normal(size=(30, 10))).method == "monte-carlo"  # the auto rule
    res = [mardia(rng.normal(size=(30, 10)), n_resamples=199) for _ in range(400)]
    lo, hi = stats.binom.interval(0.99, 400, 0.05)
    assert lo <= sum(r.skewness_pvalue <= 0.05 for r in res) <= hi
    assert lo <= sum(r.kurtosis_pvalue <= 0.05 for r in res) <= hi
    assert sum(r.skewness_pvalue < 0.05 for r in [mardia(rng.normal(size=(30, 10)), method="asymptotic")
                                                    for _ in range(100)]) <= 1  # fmt: skip
    assert mardia(rng.exponential(size=(30, 10)), n_resamples=199).skewness_pvalue < 0.05


def test_runs_at_a_million_rows(rng):
    x = rng.normal(size=(10**6, 3)).astype(np.float32)
    res = mardia(x, method="asymptotic")  # O(n d³): a fraction of a second
    assert 0 <= res.pvalue <= 1 and res.skewness < 1e-4


@pytest.mark.parametrize("n, d", [(8, 2), (40, 5), (70, 64)])
def test_batched_null_equals_looped(n, d):
    """The Monte-Carlo null drawn in stacks of samples (tensor form at d² <= n, Gram form beyond) equals the one drawn
    sample by sample (same stream)."""
    from infogauss.stats.multivariate import mardia as md
    from infogauss.stats.multivariate.null import null_draws

    loop, batch = null_draws(md._core, n, d, 60, 5), null_draws(md._core, n, d, 60, 5, batched=md._batch_core)
    np.testing.assert_allclose(batch, loop, rtol=1e-9)
    assert np.unique(loop[:, 0]).size == 60
