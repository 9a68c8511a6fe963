import numpy as np
import pytest
import torch
from scipy import stats

from infogauss.errors import InputError
from infogauss.stats import cauchy_combination


def naive(p, w):
    w = np.asarray(w) / np.sum(w)
    t = np.sum(w * np.tan((0.5 - np.asarray(p)) * np.pi))
    return t, 0.5 - np.arctan(t) / np.pi


def test_matches_formula(rng):
    for _ in range(20):
        p, w = rng.uniform(1e-6, 1, size=7), rng.uniform(0, 3, size=7)
        t, q = naive(p, w)
        res = cauchy_combination(p, weights=w)
        assert res.statistic == pytest.approx(t, rel=1e-9) and res.pvalue == pytest.approx(q, rel=1e-9)
    # R: pcauchy(mean(tan((0.5 - p) * pi)), lower.tail = FALSE) -> 0.001953404406 (the ACAT README example)
    assert cauchy_combination([0.02, 4e-4, 0.2, 0.1, 0.8]).pvalue == pytest.approx(0.001953404406, rel=1e-9)


def test_axis_weights_and_torch(rng):
    p = rng.uniform(size=(5, 3))
    w = np.array([1.0, 2.0, 3.0, 4.0, 5.0])
    res = cauchy_combination(p, axis=0, weights=w)
    assert res.pvalue.shape == (3,)
    for j in range(3):
        assert res.pvalue[j] == pytest.approx(naive(p[:, j], w)[1], rel=1e-9)
    np.testing.assert_allclose(cauchy_combination(p.T, weights=w).pvalue, res.pvalue, rtol=1e-12)
    t = cauchy_combination(torch.from_numpy(p.T), weights=torch.from_numpy(w))
    assert isinstance(t.pvalue, torch.Tensor)
    np.testing.assert_allclose(t.pvalue.numpy(), res.pvalue, rtol=1e-12)


@pytest.mark.parametrize("rho", [0.0, 0.9, 1.0])
def test_null_calibration(rng, rho):
    reps, k = 2000, 10
    cov = rho * np.ones((k, k)) + (1 - rho) * np.eye(k)
    z = rng.multivariate_normal(np.zeros(k), cov, size=reps, method="eigh")
    p = cauchy_combination(stats.norm.sf(z)).pvalue  # uniform p-values, independent or strongly dependent
    lo, hi = stats.binom.interval(0.99, reps, 0.05)
    assert lo <= (p < 0.05).sum() <= hi


def test_tiny_and_extreme_pvalues():
    assert cauchy_combination([1e-300] + [0.9] * 9).pvalue == pytest.approx(1e-299, rel=1e-6)
    assert cauchy_combination([1e-20, 0.5, 0.5, 0.5]).pvalue == pytest.approx(4e-20, rel=1e-6)
    assert cauchy_combination([0.0, 0.3]).pvalue == 0.0
    assert cauchy_combination([1.0, 0.01]).pvalue == 1.0
    assert cauchy_combination([1.0, 1.0]).pvalue == 1.0
    assert np.isnan(cauchy_combination([0.0, 1.0]).pvalue)
    assert cauchy_combination([0.999999999999, 0.5]).pvalue > 0.5
    assert cauchy_combination([0.5 - 1e-12, 0.5 + 1e-12]).pvalue == pytest.approx(0.5, abs=1e-12)


def test_nan_ignored():
    assert cauchy_combination([np.nan, 0.3, np.nan]).pvalue == pytest.approx(0.3, rel=1e-12)
    both = cauchy_combination([[0.2, np.nan, 0.4], [0.2, 0.3, 0.4]], weights=[1.0, 5.0, 1.0])
    assert both.pvalue[0] == pytest.approx(naive([0.2, 0.4], [1, 1])[1], rel=1e-12)
    assert np.isnan(cauchy_combination([np.nan, np.nan]).pvalue)


@pytest.mark.parametrize(
    "p, w, message",
    [([0.2, 1.5], None, r"\[0, 1\]"), ([0.2, -0.1], None, r"\[0, 1\]"), (0.3, None, "scalar"), (["a"], None, "real")],
)
def test_bad_input(p, w, message):
    with pytest.raises(InputError, match=message):
        cauchy_combination(p, weights=w)
    with pytest.raises(InputError, match="non-negative"):
        cauchy_combination([0.1, 0.2], weights=[1.0, -1.0])
    with pytest.raises(InputError, match="does not match"):
        cauchy_combination([0.1, 0.2], weights=[1.0, 1.0, 1.0])
