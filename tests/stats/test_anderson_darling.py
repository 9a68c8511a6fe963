import warnings

import numpy as np
import pytest
import scipy.stats
import torch
from _univariate_cases import (
    R_REFERENCE,
    non_normal_samples,
    offset_sample,
    rejection_ok,
    varied_samples,
)

from infogauss.errors import InputError
from infogauss.stats import anderson_darling
from infogauss.stats.univariate.anderson_darling import ad_pvalue
from infogauss.stats.univariate.common import NumpyOps


def scipy_a2(x):
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", FutureWarning)  # scipy 1.17 asks to choose a p-value method
        return scipy.stats.anderson(x, "norm").statistic


def test_statistic_equals_scipy_on_varied_data(rng):
    for name, x in varied_samples(rng):
        ref = np.array([scipy_a2(col) for col in x.T])
        res = anderson_darling(x)
        np.testing.assert_allclose(res.statistic, ref, rtol=1e-9, atol=0, err_msg=name)
        np.testing.assert_allclose(res.pvalue, ad_pvalue(ref, x.shape[0], NumpyOps), rtol=1e-9, err_msg=name)


def test_axis_one_and_one_d_and_n_d(rng):
    x = rng.normal(size=(5, 40))
    res = anderson_darling(x, axis=1)
    np.testing.assert_allclose(res.statistic, [scipy_a2(r) for r in x], rtol=1e-9)
    one = anderson_darling(x[0])
    assert isinstance(one.statistic, np.floating) and np.ndim(one.pvalue) == 0
    assert one.statistic == pytest.approx(scipy_a2(x[0]), rel=1e-9)
    cube = rng.normal(size=(3, 30, 4))
    res3 = anderson_darling(cube, axis=1)
    assert res3.statistic.shape == (3, 4)
    assert res3.statistic[2, 1] == pytest.approx(scipy_a2(cube[2, :, 1]), rel=1e-9)


def test_huge_offset_keeps_the_noise(rng):
    x, e = offset_sample(rng)
    ref = np.array([scipy_a2(col) for col in e.T])  # the well-conditioned twin
    np.testing.assert_allclose(anderson_darling(x).statistic, ref, rtol=1e-9)


def test_float32_input_sorted_in_float32_gives_float64_result(rng):
    x = rng.normal(size=(3000, 9)).astype(np.float32)
    ref = np.array([scipy_a2(col.astype(np.float64)) for col in x.T])
    np.testing.assert_allclose(anderson_darling(x).statistic, ref, rtol=1e-9)


def test_threaded_blocks_equal_single_block(rng, monkeypatch):
    x = rng.normal(size=(2000, 600))  # 1.2M elements: the threaded path with many blocks
    threaded = anderson_darling(x)
    monkeypatch.setenv("INFOGAUSS_NUM_THREADS", "1")
    single = anderson_darling(x)
    np.testing.assert_array_equal(threaded.statistic, single.statistic)
    idx = [0, 299, 599]
    np.testing.assert_allclose(threaded.statistic[idx], [scipy_a2(x[:, j]) for j in idx], rtol=1e-9)


def test_torch_path_equals_numpy_path(rng):
    x = rng.standard_t(4, size=(500, 7))
    ref = anderson_darling(x)
    res = anderson_darling(torch.from_numpy(x))
    assert isinstance(res.statistic, torch.Tensor) and res.statistic.dtype == torch.float64
    np.testing.assert_allclose(res.statistic.numpy(), ref.statistic, rtol=1e-9)
    np.testing.assert_allclose(res.pvalue.numpy(), ref.pvalue, rtol=1e-9)
    dev = anderson_darling(x.T, axis=1, device="cpu")
    assert isinstance(dev.pvalue, torch.Tensor)
    np.testing.assert_allclose(dev.statistic.numpy(), ref.statistic, rtol=1e-9)
    scalar = anderson_darling(torch.from_numpy(x[:, 0]))
    assert scalar.statistic.ndim == 0


def test_matches_r_nortest():
    pieces = set()
    for name, case in R_REFERENCE.items():
        x = np.array(case["x"])
        res = anderson_darling(x)
        assert res.statistic == pytest.approx(case["ad_statistic"], rel=1e-9), name
        assert res.pvalue == pytest.approx(case["ad_pvalue"], rel=1e-9), name
        pieces.add(int(np.searchsorted([0.2, 0.34, 0.6, 10.0], case["ad_aa"], side="right")))
    assert pieces == {0, 1, 2, 3, 4}, "the R cases must reach every piece of the p-value"


@pytest.mark.parametrize("n, cols", [(20, 6000), (100, 4000), (1000, 2000)])
def test_null_calibration(rng, n, cols):
    res = anderson_darling(rng.normal(size=(n, cols)))
    frac, interval, ok = rejection_ok(res.pvalue)
    assert ok, f"n={n}: rejected {frac:.4f} at 5%, 99% interval {interval}"
    # the paper's rule A² < 0.752 is the same 5% test for large n
    if n == 1000:
        frac_rule, interval, ok = rejection_ok(np.where(res.statistic >= 0.752, 0.0, 1.0))
        assert ok, f"A² >= 0.752 in {frac_rule:.4f} of columns, 99% interval {interval}"


def test_power_against_non_normal_data(rng):
    for name, x in non_normal_samples(rng).items():
        res = anderson_darling(x)
        assert (res.pvalue < 1e-3).all(), name
        assert (res.statistic > 0.752).all(), name


def test_constant_column_is_nan_without_warnings(rng):
    x = rng.normal(size=(50, 3))
    x[:, 1] = 4.25
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        res = anderson_darling(x)
        tres = anderson_darling(torch.from_numpy(x))
    assert np.isnan(res.statistic[1]) and np.isnan(res.pvalue[1])
    assert np.isfinite(res.statistic[[0, 2]]).all()
    assert torch.isnan(tres.statistic[1]) and torch.isfinite(tres.statistic[[0, 2]]).all()


@pytest.mark.parametrize(
    "bad, message",
    [
        (np.array([[1.0, np.nan]] * 10), "NaN or Inf"),
        (np.arange(7.0), "at least 8 samples"),
        (np.ones((10, 0)), "zero columns"),
        (np.array(["a"] * 10), "numeric"),
    ],
)
def test_bad_input(bad, message):
    with pytest.raises(InputError, match=message):
        anderson_darling(bad)
    if bad.dtype.kind == "f":
        with pytest.raises(InputError, match=message):
            anderson_darling(torch.from_numpy(bad))


def test_nan_in_a_large_float32_matrix_is_found_on_the_threaded_path(rng):
    x = rng.normal(size=(2000, 600)).astype(np.float32)
    x[1234, 577] = np.nan
    with pytest.raises(InputError, match="NaN or Inf"):
        anderson_darling(x)
