"""normality_protocol: AD and DP in one pass (centred once) equal the two separate tests."""

import numpy as np
import pytest
import torch

from infogauss.stats import anderson_darling, dagostino_pearson, normality_protocol


@pytest.mark.parametrize("dtype", [np.float64, np.float32])
def test_equals_separate_tests(dtype):
    rng = np.random.default_rng(4)
    x = np.column_stack([rng.normal(size=(300, 5)), rng.exponential(size=300), 1e8 + rng.normal(size=300),
                         np.full(300, 3.0)]).astype(dtype)  # fmt: skip
    ad, dp = normality_protocol(x)
    ref_ad, ref_dp = anderson_darling(x), dagostino_pearson(x)
    for got, ref in ((ad.statistic, ref_ad.statistic), (ad.pvalue, ref_ad.pvalue), (dp.statistic, ref_dp.statistic),
                     (dp.pvalue, ref_dp.pvalue)):  # fmt: skip
        np.testing.assert_allclose(got, ref, rtol=1e-12)
    assert np.isnan(ad.statistic[-1]) and np.isnan(dp.pvalue[-1])  # the constant column


def test_torch_path_equals_numpy():
    x = np.random.default_rng(5).gamma(2.0, size=(200, 4))
    ad, dp = normality_protocol(torch.from_numpy(x))
    ref_ad, ref_dp = normality_protocol(x)
    np.testing.assert_allclose(ad.statistic.numpy(), ref_ad.statistic, rtol=1e-12)
    np.testing.assert_allclose(dp.pvalue.numpy(), ref_dp.pvalue, rtol=1e-12)
