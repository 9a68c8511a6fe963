"""infogauss.moments.shrink: the written-out shrunk covariance equals scikit-learn's (sklearn only in the tests)."""

import numpy as np
import pytest

from infogauss.moments import shrink

sklearn_covariance = pytest.importorskip("sklearn.covariance")


@pytest.mark.parametrize("a", [0.0, 0.05, 0.5, 1.0])
@pytest.mark.parametrize("d", [1, 7])
def test_shrink_matches_sklearn(a, d):
    x = np.random.default_rng(d).standard_normal((50, d)) * np.arange(1, d + 1)
    s = np.cov(x, rowvar=False, bias=True).reshape(d, d)
    got = shrink(s, a)
    assert got is not s
    np.testing.assert_allclose(got, sklearn_covariance.shrunk_covariance(s, a), rtol=1e-15, atol=1e-15)
    np.testing.assert_allclose(np.trace(got), np.trace(s), rtol=1e-14)  # shrinkage keeps the total variance
