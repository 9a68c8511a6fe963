import math

import numpy as np
import pytest
import torch
from scipy import stats

from infogauss.data import (
    GaussianChannelSource,
    GaussianMixtureSource,
    LaplaceSource,
    SparseBinarySource,
    make_generator,
    make_source,
    source_parameters,
)
from infogauss.errors import InputError

SMALL = {"dim": 16, "n_train": 64, "n_test": 32}


@pytest.mark.parametrize("name", ["laplace", "gmm", "binary", "gaussian"])
def test_seeded_shapes_and_reproducible(name):
    a = make_source(name, seed=3, **SMALL)
    b = make_source(name, seed=3, **SMALL)
    c = make_source(name, seed=4, **SMALL)
    assert a.train.shape == (64, 16) and a.test.shape == (32, 16)
    assert a.train.dtype == torch.float32 and a.train.device.type == "cpu"
    assert torch.equal(a.train, b.train) and torch.equal(a.test, b.test)
    assert not torch.equal(a.train, c.train)
    v1 = a.views(a.test, make_generator(7))
    v2 = a.views(a.test, make_generator(7))
    assert all(torch.equal(x, y) for x, y in zip(v1, v2, strict=True))
    x1, x2 = v1
    assert x1.shape == x2.shape == a.test.shape and not torch.equal(x1, x2)
    assert name in repr(a) or type(a).__name__ in repr(a)


def test_registry_defaults_follow_the_paper():
    assert source_parameters("laplace")["A"] == 0.6
    assert source_parameters("laplace")["n_train"] == 20000 and source_parameters("laplace")["n_test"] == 5000
    assert source_parameters("laplace")["noise_std"] == 0.2 and source_parameters("laplace")["dropout"] == 0.1
    assert source_parameters("laplace")["scale_std"] == 0.1 and source_parameters("laplace")["dim"] == 1024
    assert source_parameters("gmm")["components"] == 25
    assert source_parameters("binary")["flip"] == 0.001


def test_laplace_base_is_laplace():
    s = LaplaceSource(dim=50, n_train=4000, n_test=10, seed=0)
    x = s.train.double().numpy().ravel()
    assert stats.kstest(x, stats.laplace.cdf).statistic < 0.005  # n = 200k: the 1% critical value is 0.0036
    assert x.var() == pytest.approx(2.0, rel=0.02)


def test_laplace_log_prob_matches_scipy():
    s = LaplaceSource(**SMALL)
    ref = stats.laplace.logpdf(s.test.double().numpy()).sum(1)
    np.testing.assert_allclose(s.log_prob(s.test).numpy(), ref, rtol=1e-5)
    with pytest.raises(InputError):
        s.log_prob(s.test[:, :3])


def test_laplace_channel_without_jitter():
    # x = A x0 + sqrt(1 - A^2) eps: regression slope A, residual variance 1 - A^2.
    s = LaplaceSource(dim=32, n_train=4000, n_test=10, A=0.6, noise_std=0, dropout=0, scale_std=0)
    x = s.view(s.train, make_generator(1)).double().numpy().ravel()
    x0 = s.train.double().numpy().ravel()
    assert np.polyfit(x0, x, 1)[0] == pytest.approx(0.6, abs=0.005)
    assert (x - 0.6 * x0).var() == pytest.approx(0.64, rel=0.01)


def test_laplace_jitter_pieces():
    g = make_generator(2)
    drop = LaplaceSource(dim=100, n_train=2000, n_test=10, noise_std=0, scale_std=0, dropout=0.1)
    x = drop.view(drop.train, g)
    assert (x == 0).float().mean().item() == pytest.approx(0.1, abs=0.003)
    rescaled = LaplaceSource(dim=100, n_train=2000, n_test=10, A=1.0, noise_std=0, scale_std=0, dropout_rescale=True)
    y = rescaled.view(rescaled.train, g)
    kept = y != 0
    assert torch.allclose(y[kept], rescaled.train[kept] / 0.9)
    # A = 1, no noise, no dropout: x = s * x0 with one log-normal s per sample (log s ~ N(0, 0.1^2)).
    scale = LaplaceSource(dim=20, n_train=3000, n_test=10, A=1.0, noise_std=0, dropout=0)
    ratio = torch.log(scale.view(scale.train, g) / scale.train)
    assert ratio.std(1).max().item() < 1e-5  # same factor across a row
    assert ratio[:, 0].std().item() == pytest.approx(0.1, rel=0.05)
    per_feature = LaplaceSource(dim=20, n_train=3000, n_test=10, A=1.0, noise_std=0, dropout=0, scale_per="feature")
    assert torch.log(per_feature.view(per_feature.train, g) / per_feature.train).std(1).mean().item() > 0.05


@pytest.mark.parametrize("rescale", [False, True])
def test_laplace_eta2_lower_bound_is_the_squared_coordinate_correlation(rescale):
    s = LaplaceSource(dim=64, n_train=6000, n_test=10, seed=1, dropout_rescale=rescale)
    x = s.view(s.train, make_generator(3)).double().numpy()
    x0 = s.train.double().numpy()
    x, x0 = x - x.mean(0), x0 - x0.mean(0)
    r = (x * x0).sum(0) / np.sqrt((x * x).sum(0) * (x0 * x0).sum(0))
    assert np.mean(r**2) == pytest.approx(s.eta2_lower_bound, abs=0.01)
    assert s.eta2 is None


def test_gmm_views_share_a_component():
    s = GaussianMixtureSource(dim=40, n_train=500, n_test=100, components=5, mean_std=2.0, std=0.5, seed=1)
    assert s.means.shape == (5, 40)
    assert torch.equal(s.train, s.means[s.labels_train]) and torch.equal(s.test, s.means[s.labels_test])
    assert set(s.labels_train.tolist()) == set(range(5))
    x1, x2 = s.views(s.train, make_generator(99))
    diff = (x1 - x2).double()
    assert diff.mean().abs().item() < 0.02 and diff.var().item() == pytest.approx(2 * 0.25, rel=0.03)
    # Every view is closest to its own component's mean.
    nearest = torch.cdist(x1, s.means).argmin(1)
    assert torch.equal(nearest, s.labels_train)
    assert s.eta2 is None


def test_binary_flips_only_zeros():
    s = SparseBinarySource(dim=1000, n_train=400, n_test=10, sparsity=0.05, flip=0.01, seed=0)
    assert set(torch.unique(s.train).tolist()) <= {0.0, 1.0}
    assert s.train.mean().item() == pytest.approx(0.05, abs=0.002)
    x1, x2 = s.views(s.train, make_generator(99))  # not the source's seed: that would reuse its uniforms
    assert (x1 >= s.train).all() and (x2 >= s.train).all()
    flipped = ((x1 - s.train).sum() / (s.train == 0).sum()).item()
    assert flipped == pytest.approx(0.01, rel=0.05)
    assert not torch.equal(x1, x2)


def test_gaussian_channel_eta2_is_a_squared():
    s = GaussianChannelSource(dim=32, n_train=5000, n_test=10, A=0.7)
    assert s.eta2 == pytest.approx(0.49)
    x = s.view(s.train, make_generator(99)).double().numpy()
    x0 = s.train.double().numpy()
    r = [np.corrcoef(x[:, k], x0[:, k])[0, 1] for k in range(32)]
    assert np.mean(r) == pytest.approx(0.7, abs=0.01)
    ref = stats.norm.logpdf(x0[:5]).sum(1)
    np.testing.assert_allclose(s.log_prob(s.train[:5]).double().numpy(), ref, rtol=1e-5)


@pytest.mark.parametrize(
    "name, params, msg",
    [
        ("laplace", {"A": 1.5}, "A"),
        ("laplace", {"A": -0.1}, "A"),
        ("gaussian", {"A": 2}, "A"),
        ("laplace", {"dim": 1}, "dim"),
        ("gmm", {"components": 0}, "components"),
        ("binary", {"sparsity": 1.2}, "sparsity"),
        ("laplace", {"dropout": 1.0}, "dropout"),
        ("laplace", {"scale_per": "pixel"}, "scale_per"),
        ("laplace", {"A": "abc"}, "A"),
        ("laplace", {"n_train": 2.5}, "n_train"),
        ("laplace", {"bogus": 1}, "bogus"),
        ("cifar", {}, "unknown source"),
    ],
)
def test_bad_parameters(name, params, msg):
    with pytest.raises(InputError, match=msg) as exc:
        make_source(name, **{**SMALL, **params})
    assert "\n" not in str(exc.value)


def test_bad_device():
    with pytest.raises(InputError, match="device"):
        LaplaceSource(**SMALL, device="tpu-nonsense")


@pytest.mark.skipif(not torch.cuda.is_available(), reason="needs CUDA")
def test_generated_on_cuda():
    s = make_source("laplace", device="cuda", **SMALL)
    g = make_generator(0, "cuda")
    x1, x2 = s.views(s.train, g)
    assert s.train.is_cuda and x1.is_cuda and x2.is_cuda
    assert math.isfinite(x1.sum().item())


# -- sparsity laws of the binary source (issue 14 §3) -----------------------------------------------------------


def test_binary_default_law_unchanged():
    """The default (Bernoulli) law draws exactly what it always drew: rand < sparsity from the seed's stream."""
    s = SparseBinarySource(dim=200, n_train=50, n_test=20, sparsity=0.05, seed=3)
    g = torch.Generator().manual_seed(3)
    expected = (torch.rand((50, 200), generator=g) < 0.05).float()
    assert torch.equal(s.train, expected)
    assert "law" not in s.params() and "active" not in s.params()


def test_binary_fixed_law_has_exactly_k_active():
    s = SparseBinarySource(dim=300, n_train=400, n_test=10, law="fixed", active=3, seed=0)
    assert torch.all(s.train.sum(1) == 3) and torch.all(s.test.sum(1) == 3)
    assert set(s.train.unique().tolist()) == {0.0, 1.0}
    # positions are spread over all coordinates (uniform): every coordinate is hit about 400*3/300 = 4 times
    assert (s.train.sum(0) > 0).float().mean() > 0.9
    assert s.params()["law"] == "fixed" and s.params()["active"] == 3
    # default active = round(sparsity * dim)
    assert torch.all(SparseBinarySource(dim=100, n_train=5, n_test=5, law="fixed", sparsity=0.05).train.sum(1) == 5)


def test_binary_random_law_mean_and_spread():
    """Per-item sparsity U(0, 2s): mean active entries s*dim, variance of the count far above the Binomial's."""
    dim, s = 1000, 0.01
    src = SparseBinarySource(dim=dim, n_train=4000, n_test=10, law="random", sparsity=s, seed=1)
    k = src.train.sum(1).numpy()
    assert abs(k.mean() - s * dim) < 0.5
    # Var k = E[dim s_i(1-s_i)] + dim^2 Var(s_i) with s_i ~ U(0, 2s): about 10 + 100/3 * ... = 43.2
    expected_var = dim * s * (1 - 4 * s / 3) + dim**2 * (2 * s) ** 2 / 12
    assert abs(k.var() / expected_var - 1) < 0.1
    assert k.var() > 3 * dim * s * (1 - s)  # far more spread than Bernoulli(s)


@pytest.mark.parametrize(
    "params, match",
    [
        ({"law": "zipf"}, "law"),
        ({"law": "bernoulli", "active": 2}, "active"),
        ({"law": "fixed", "active": 2000}, "active"),
        ({"law": "random", "sparsity": 0.8}, "0.5"),
    ],
)
def test_binary_law_errors(params, match):
    with pytest.raises(InputError, match=match):
        SparseBinarySource(dim=1024, n_train=10, n_test=10, **params)


def test_split_keeps_import_paths():
    """Source and make_generator moved to data/synthetic_base.py and stay importable from data.synthetic."""
    import infogauss.data.synthetic as S
    import infogauss.data.synthetic_base as B

    assert S.Source is B.Source and S.make_generator is B.make_generator
    assert all(hasattr(S, name) for name in S.__all__)
    assert issubclass(S.SOURCES["gmm"], B.Source)
