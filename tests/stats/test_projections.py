import numpy as np
import pytest
import torch
from scipy import stats

from infogauss.errors import InputError
from infogauss.stats import cauchy_combination, maxwell_poincare, random_orthonormal


def sphere(rng, n, d):
    u = rng.normal(size=(n, d))
    return u / np.linalg.norm(u, axis=1, keepdims=True)


def test_random_orthonormal_is_orthonormal_and_haar(rng):
    q = random_orthonormal(50, 7, seed=1)
    np.testing.assert_allclose(q.T @ q, np.eye(7), atol=1e-12)
    np.testing.assert_array_equal(q, random_orthonormal(50, 7, seed=1))
    d, reps = 20, 2000
    first = np.array([random_orthonormal(d, 3, rng)[0, 0] for _ in range(reps)])
    # Haar: the (0, 0) entry is a coordinate of a uniform point on S^{d-1}: mean 0, E[x²] = 1/d.
    # Without the sign fix LAPACK's QR makes it almost always negative.
    assert abs(first.mean()) < 4 / np.sqrt(d * reps)
    assert d * (first**2).mean() == pytest.approx(1, abs=0.1)
    t = random_orthonormal(6, 2, seed=0, device="cpu")
    assert isinstance(t, torch.Tensor) and t.shape == (6, 2)
    with pytest.raises(InputError, match="1 <= k <= d"):
        random_orthonormal(3, 5)


def test_uniform_sphere_looks_gaussian(rng):
    res = maxwell_poincare(sphere(rng, 2000, 256), k=3, n_subspaces=6, seed=2)
    assert res.pvalue > 0.01
    assert res.ad_pass_fraction >= 0.8 and res.dp_pass_fraction >= 0.8
    assert res.ad_pvalue.shape == res.dp_statistic.shape == (6, 3) and res.hz_pvalue.shape == (6,)
    assert res.tv_bound == pytest.approx(2 * 6 / (256 - 6))
    statistic, pvalue = res
    assert (statistic, pvalue) == (res.statistic, res.pvalue)
    assert res.family_pvalue["hz"] == pytest.approx(cauchy_combination(res.hz_pvalue).pvalue, rel=1e-12)
    assert res.pvalue == pytest.approx(min(1, 4 * min(res.family_pvalue.values())), rel=1e-12)


def test_axis_concentrated_data_rejected(rng):
    centre = np.eye(256)[rng.integers(5, size=2000)]  # near five coordinate axes
    res = maxwell_poincare(centre + 0.02 * rng.normal(size=(2000, 256)), n_subspaces=4)
    assert res.pvalue < 1e-10
    for p in (res.ad_pvalue, res.dp_pvalue, res.moment_pvalue, res.hz_pvalue):
        assert np.max(p) < 1e-3


def test_moment_check_catches_anisotropy(rng):
    x = rng.normal(size=(2000, 256))
    x[:, :5] *= 7  # normalised: projections far from N(0, I_k) in covariance
    res = maxwell_poincare(x, n_subspaces=4, tests=("moments",))
    assert np.max(res.moment_pvalue) < 1e-6 and res.pvalue < 1e-6
    assert np.isnan(res.ad_pvalue).all() and np.isnan(res.hz_pvalue).all() and np.isnan(res.ad_pass_fraction)


def test_null_calibration(rng):
    # Uniform on S^63: the combined p-value of all four families rejects ~5% at 5% (Bonferroni over families).
    p = [maxwell_poincare(sphere(rng, 300, 64), k=2, n_subspaces=3, seed=i).pvalue for i in range(300)]
    lo, hi = stats.binom.interval(0.99, 300, 0.05)
    assert lo <= (np.array(p) < 0.05).sum() <= hi


def test_torch_matches_numpy_and_bound(rng):
    x = sphere(rng, 200, 10) * 3.0  # rows are normalised first: scale does not matter
    a = maxwell_poincare(x, k=2, n_subspaces=2)
    b = maxwell_poincare(torch.tensor(x / 3.0, requires_grad=True), k=2, n_subspaces=2)
    np.testing.assert_allclose(a.hz_pvalue, b.hz_pvalue, rtol=1e-9)
    np.testing.assert_allclose(a.ad_statistic, b.ad_statistic, rtol=1e-9)
    assert a.pvalue == pytest.approx(b.pvalue, rel=1e-9)
    assert np.isnan(maxwell_poincare(x, k=7, n_subspaces=1, tests=("moments",)).tv_bound)  # k > d - 4


def test_bad_input(rng):
    x = sphere(rng, 50, 8)
    with pytest.raises(InputError, match="1 <= k <= d"):
        maxwell_poincare(x, k=9)
    with pytest.raises(InputError, match="subset"):
        maxwell_poincare(x, tests=("ks",))
