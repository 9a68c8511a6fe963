import numpy as np
import pytest
import torch
from scipy.spatial.distance import pdist
from scipy.special import gammaln, ive

from infogauss.errors import InputError
from infogauss.stats import (
    alignment,
    cosine_summary,
    covariance_spectrum,
    effective_rank,
    mean_embedding_norm,
    mean_norm,
    norm_cv,
    uniformity,
    uniformity_potential,
)


def sphere(rng, n, d):
    u = rng.normal(size=(n, d))
    return u / np.linalg.norm(u, axis=1, keepdims=True)


def unit(x):
    return x / np.linalg.norm(x, axis=1, keepdims=True)


def log_mgf_sphere(d, a):
    """log E exp(a u·v) for u, v uniform on S^{d-1}: log[Γ(ν+1) (2/a)^ν I_ν(a)], ν = d/2 - 1 (vMF normaliser)."""
    nu = d / 2 - 1
    return gammaln(nu + 1) + nu * np.log(2 / a) + np.log(ive(nu, a)) + a


def test_norms(rng):
    z = rng.normal(size=(50, 6)) * 3
    r = np.linalg.norm(z, axis=1)
    assert norm_cv(z) == pytest.approx(r.std() / r.mean(), rel=1e-12)
    assert mean_norm(z) == pytest.approx(r.mean(), rel=1e-12)
    assert norm_cv(sphere(rng, 30, 5) * 7) == pytest.approx(0, abs=1e-12)


def test_alignment(rng):
    u, v = rng.normal(size=(40, 5)), rng.normal(size=(40, 5))
    dist = np.linalg.norm(unit(u) - unit(v), axis=1)
    assert alignment(u, v) == pytest.approx((dist**2).mean(), rel=1e-12)
    assert alignment(u, v, alpha=1) == pytest.approx(dist.mean(), rel=1e-12)
    assert alignment(u, v) == pytest.approx(2 - 2 * (unit(u) * unit(v)).sum(1).mean(), rel=1e-12)
    with pytest.raises(InputError, match="same shape"):
        alignment(u, v[:, :4])


def test_uniformity_direct_blocks_and_uniform_law(rng):
    u = rng.normal(size=(61, 4))
    direct = np.log(np.mean(np.exp(-2 * pdist(unit(u)) ** 2)))
    assert uniformity(u, block=7) == pytest.approx(direct, rel=1e-12)
    assert uniformity(u, t=0.5, block=1000) == pytest.approx(np.log(np.mean(np.exp(-0.5 * pdist(unit(u)) ** 2))))
    # Uniform law: ||u-v||² = 2 - 2u·v, so log E exp(-t||u-v||²) = -2t + log E exp(2t u·v).
    assert uniformity(sphere(rng, 2000, 16)) == pytest.approx(-4 + log_mgf_sphere(16, 4.0), abs=0.01)


def test_uniformity_potential_direct_and_known_cases(rng):
    u = unit(rng.normal(size=(45, 3)))
    s = np.exp(3.0 * u @ u.T)
    np.fill_diagonal(s, 0)
    direct = np.mean(np.log(s.sum(1) / 44))
    assert uniformity_potential(u, 3.0, block=8) == pytest.approx(direct, rel=1e-12)
    assert uniformity_potential(np.ones((20, 5)), 7.0) == pytest.approx(7.0)  # point mass: Φ = alpha
    for d in (8, 64):  # uniform law: the vMF normaliser; ≈ alpha²/(2d) in high d
        assert uniformity_potential(sphere(rng, 3000, d), 10.0) == pytest.approx(log_mgf_sphere(d, 10.0), abs=0.01)
    assert log_mgf_sphere(256, 10.0) == pytest.approx(100 / 512, rel=0.01)


def test_mean_embedding_norm(rng):
    n = 4000
    m = mean_embedding_norm(sphere(rng, n, 64) * 5)
    assert np.sqrt(n) * m == pytest.approx(1, abs=0.3)  # E||m̂||² = 1/n at σ; chi²_64/64 spread
    assert mean_embedding_norm(np.tile([[0.0, 2.0, 0.0]], (10, 1))) == pytest.approx(1.0)


def test_torch_is_differentiable_and_on_device(rng):
    x = torch.tensor(rng.normal(size=(12, 4)), requires_grad=True)
    y = torch.tensor(rng.normal(size=(12, 4)))
    for f in (
        lambda a: uniformity(a, block=5),
        lambda a: uniformity_potential(a, 4.0, block=5),
        lambda a: alignment(a, y),
        norm_cv,
        mean_norm,
        mean_embedding_norm,
        effective_rank,
    ):
        assert torch.autograd.gradcheck(f, (x,))
    v = uniformity(x.float())
    assert isinstance(v, torch.Tensor) and v.dtype == torch.float32
    assert v.item() == pytest.approx(uniformity(x.detach().numpy()), rel=1e-5)
    big = torch.tensor(rng.normal(size=(30, 8)), dtype=torch.float32)  # no overflow at alpha = 1/0.01
    assert torch.isfinite(uniformity_potential(big, 100.0)) and torch.isfinite(uniformity(big, t=200))


def test_cosine_summary_exact_small(rng):
    a, b = rng.normal(size=(30, 5)), rng.normal(size=(30, 5))
    c = unit(a) @ unit(b).T
    neg = c[~np.eye(30, dtype=bool)]
    res = cosine_summary(a, b, quantiles=(0.1, 0.5, 0.9))
    assert res.negative.count == 870 and res.negative.sample.size == 870
    assert res.negative.mean == pytest.approx(neg.mean(), rel=1e-10)
    assert res.negative.std == pytest.approx(neg.std(), rel=1e-10)
    assert list(res.negative.quantiles.values()) == pytest.approx(np.quantile(neg, [0.1, 0.5, 0.9]), rel=1e-12)
    assert res.positive.mean == pytest.approx(np.diag(c).mean()) and res.positive.std == pytest.approx(np.diag(c).std())
    one = cosine_summary(a)
    assert one.positive is None
    assert one.negative.mean == pytest.approx((unit(a) @ unit(a).T)[~np.eye(30, dtype=bool)].mean(), rel=1e-10)


def test_cosine_summary_subsampled(rng):
    a = rng.normal(size=(500, 8)) + 0.5
    c = (unit(a) @ unit(a).T)[~np.eye(500, dtype=bool)]
    res = cosine_summary(torch.from_numpy(a), max_pairs=20_000, seed=3)
    assert res.negative.sample.size == 20_000 and res.negative.count == 500 * 499
    assert res.negative.mean == pytest.approx(c.mean(), rel=1e-10)  # mean and std stay exact
    assert res.negative.std == pytest.approx(c.std(), rel=1e-10)
    assert res.negative.quantiles[0.5] == pytest.approx(np.median(c), abs=0.02)
    again = cosine_summary(a, max_pairs=20_000, seed=3)
    np.testing.assert_allclose(again.negative.sample, res.negative.sample, rtol=1e-12, atol=1e-15)  # same pairs


def test_covariance_spectrum_and_effective_rank(rng):
    z = rng.normal(size=(200, 6)) @ rng.normal(size=(6, 6))
    np.testing.assert_allclose(covariance_spectrum(z), np.linalg.eigvalsh(np.cov(z.T))[::-1], rtol=1e-10)
    assert effective_rank(rng.normal(size=(4000, 32))) > 0.99 * 32  # isotropic Gaussian: ≈ d
    q, _ = np.linalg.qr(rng.normal(size=(50, 3)))
    assert effective_rank(q, center=False) == pytest.approx(3.0, rel=1e-10)  # three equal singular values
    line = np.outer(rng.normal(size=40), rng.normal(size=5))
    assert effective_rank(line) == pytest.approx(1.0, abs=1e-6)
    s = np.linalg.svd(z - z.mean(0), compute_uv=False)
    p = s / s.sum()
    assert effective_rank(z) == pytest.approx(np.exp(-(p * np.log(p)).sum()), rel=1e-10)


def test_bad_input():
    with pytest.raises(InputError, match="2-D"):
        norm_cv(np.ones(10))
    with pytest.raises(InputError, match="NaN"):
        uniformity(np.full((10, 3), np.nan))
