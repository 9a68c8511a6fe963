import warnings

import numpy as np
import pytest
import scipy.stats
import torch
from _univariate_cases import (
    R_REFERENCE,
    binomial_99,
    non_normal_samples,
    offset_sample,
    varied_samples,
)

from infogauss.errors import InputError
from infogauss.stats import dagostino_pearson


def scipy_dp(x, axis=0):
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # kurtosistest warns for n < 20
        return scipy.stats.normaltest(x, axis=axis)


def test_equals_scipy_normaltest_on_varied_data(rng):
    for name, x in varied_samples(rng):
        ref = scipy_dp(x)
        skew = scipy.stats.skew(x)
        ok = skew != 0  # scipy turns an exactly-zero skewness into Z1 != 0 (see the docstring); checked below
        res = dagostino_pearson(x)
        # atol: K² ~ 1e-3 is a difference of two Z's near 0, whose last digits are rounding in both codes
        np.testing.assert_allclose(res.statistic[ok], ref.statistic[ok], rtol=1e-9, atol=1e-12, err_msg=name)
        np.testing.assert_allclose(res.pvalue[ok], ref.pvalue[ok], rtol=1e-9, atol=1e-300, err_msg=name)


def test_exactly_symmetric_sample_has_zero_skewness_z():
    x = np.arange(-10.0, 11.0)  # skewness exactly 0: Z1 = 0, K² = Z2²
    z2 = scipy.stats.kurtosistest(x).statistic
    assert dagostino_pearson(x).statistic == pytest.approx(z2 * z2, rel=1e-12)


def test_axis_one_one_d_and_n_d(rng):
    x = rng.normal(size=(4, 60))
    ref = scipy_dp(x, axis=1)
    np.testing.assert_allclose(dagostino_pearson(x, axis=1).statistic, ref.statistic, rtol=1e-9)
    one = dagostino_pearson(x[1])
    assert np.ndim(one.statistic) == 0 and one.pvalue == pytest.approx(ref.pvalue[1], rel=1e-9)
    cube = rng.normal(size=(2, 3, 50))
    np.testing.assert_allclose(dagostino_pearson(cube, axis=-1).pvalue, scipy_dp(cube, axis=-1).pvalue, rtol=1e-9)


def test_huge_offset_keeps_the_skewness(rng):
    x, e = offset_sample(rng)
    ref = scipy_dp(e)
    np.testing.assert_allclose(dagostino_pearson(x).statistic, ref.statistic, rtol=1e-9)
    # scipy's one-pass mean loses part of the skewness of the shifted column
    assert np.max(np.abs(scipy_dp(x).statistic / ref.statistic - 1)) > 1e-8


def test_threads_and_torch_equal(rng, monkeypatch):
    x = rng.standard_t(5, size=(1500, 700)).astype(np.float32)
    ref = scipy_dp(x.astype(np.float64))
    res = dagostino_pearson(x)
    np.testing.assert_allclose(res.statistic, ref.statistic, rtol=1e-9)
    monkeypatch.setenv("INFOGAUSS_NUM_THREADS", "1")
    np.testing.assert_array_equal(dagostino_pearson(x).statistic, res.statistic)
    t = dagostino_pearson(torch.from_numpy(x[:, :50]))
    assert isinstance(t.statistic, torch.Tensor)
    np.testing.assert_allclose(t.statistic.numpy(), ref.statistic[:50], rtol=1e-9)
    np.testing.assert_allclose(t.pvalue.numpy(), ref.pvalue[:50], rtol=1e-9)
    d = dagostino_pearson(x[:, :5], device="cpu")
    np.testing.assert_allclose(d.pvalue.numpy(), ref.pvalue[:5], rtol=1e-9)


def test_matches_r_fbasics_dagotest():
    checked = 0
    for name, case in R_REFERENCE.items():
        if case["dp_statistic"] is None:  # dagoTest needs n >= 20
            continue
        res = dagostino_pearson(np.array(case["x"]))
        # 1e6 + N(0,1): the mean itself is only known to ulp(1e6) ~ 1e-10, so any float64 skewness to ~1e-9
        rel = 1e-8 if name.startswith("offset") else 1e-9
        assert res.statistic == pytest.approx(case["dp_statistic"], rel=rel), name
        if case["dp_pvalue"] > 1e-10:  # R computes 1 - pchisq(...): no relative accuracy below that
            assert res.pvalue == pytest.approx(case["dp_pvalue"], rel=1e-6), name
        checked += 1
    assert checked >= 12


@pytest.mark.parametrize("n, cols", [(20, 6000), (100, 4000), (1000, 2000)])
def test_null_calibration(rng, n, cols):
    # K²'s chi²(2) null is a little liberal at small n (the same p-values as scipy: size ~5.7% at n = 20,
    # ~5.4% at n = 100, see the docstring), so the check is: the size lies in [5%, 6%], each end widened by
    # its binomial 99% interval.
    p = dagostino_pearson(rng.normal(size=(n, cols))).pvalue
    frac = float(np.mean(p < 0.05))
    lo, hi = binomial_99(0.05, cols)[0], binomial_99(0.06, cols)[1]
    assert lo <= frac <= hi, f"n={n}: rejected {frac:.4f} at 5%, allowed [{lo:.4f}, {hi:.4f}]"


def test_power_against_non_normal_data(rng):
    for name, x in non_normal_samples(rng).items():
        assert (dagostino_pearson(x).pvalue < 1e-3).all(), name


def test_constant_column_is_nan_without_warnings(rng):
    x = rng.normal(size=(40, 3))
    x[:, 0] = -2.0
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        res = dagostino_pearson(x)
        tres = dagostino_pearson(torch.from_numpy(x))
    assert np.isnan(res.statistic[0]) and np.isnan(res.pvalue[0]) and np.isfinite(res.pvalue[1:]).all()
    assert torch.isnan(tres.pvalue[0]) and torch.isfinite(tres.pvalue[1:]).all()


@pytest.mark.parametrize(
    "bad, message",
    [
        (np.array([[np.inf, 1.0]] * 12), "NaN or Inf"),
        (np.ones((5, 2)), "at least 8 samples"),
        (np.ones((10, 0)), "zero columns"),
        (np.array([True] * 10), "numeric"),
    ],
)
def test_bad_input(bad, message):
    with pytest.raises(InputError, match=message):
        dagostino_pearson(bad)
