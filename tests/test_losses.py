import math

import numpy as np
import pytest
import torch
import torch.nn.functional as F
from scipy import special
from scipy.spatial import cKDTree

from infogauss.errors import InputError
from infogauss.losses import (
    InfoNCE,
    Route2Regularizer,
    beta_threshold,
    gaussian_entropy,
    info_nce,
    knn_entropy,
    ledoit_wolf_shrinkage,
)


def naive_info_nce(z1, z2, tau):
    """Paper Eq. 2 written as a double loop in float64."""
    z1, z2 = z1.double(), z2.double()
    n = z1.shape[0]
    total = 0.0
    for i in range(n):
        ui = z1[i] / z1[i].norm()
        num = torch.exp(ui @ (z2[i] / z2[i].norm()) / tau)
        den = sum(torch.exp(ui @ (z2[j] / z2[j].norm()) / tau) for j in range(n))
        total = total - torch.log(num / den)
    return total / n


def naive_nt_xent(z1, z2, tau):
    """SimCLR's NT-Xent (Chen et al. 2020, Alg. 1): l(i, j) over all 2N anchors, self excluded from the denominator."""
    w = F.normalize(torch.cat([z1, z2]).double(), dim=1)
    n2 = w.shape[0]
    n = n2 // 2
    sim = w @ w.T / tau
    total = 0.0
    for i in range(n2):
        pos = (i + n) % n2
        den = sum(torch.exp(sim[i, k]) for k in range(n2) if k != i)
        total = total - torch.log(torch.exp(sim[i, pos]) / den)
    return total / n2


@pytest.fixture
def pair():
    g = torch.Generator().manual_seed(0)
    z1 = torch.randn(12, 5, generator=g)
    z2 = z1 + 0.5 * torch.randn(12, 5, generator=g)
    return z1, z2


@pytest.mark.parametrize("tau", [0.1, 0.5, 2.0])
def test_matches_naive_loop(pair, tau):
    z1, z2 = pair
    assert info_nce(z1, z2, tau).item() == pytest.approx(naive_info_nce(z1, z2, tau).item(), rel=1e-5)


def test_matches_cross_entropy_form(pair):
    z1, z2 = pair
    logits = F.normalize(z1, dim=1) @ F.normalize(z2, dim=1).T / 0.2
    ref = F.cross_entropy(logits, torch.arange(len(z1)))
    assert info_nce(z1, z2, 0.2).item() == pytest.approx(ref.item(), rel=1e-6)


def test_direction_is_u_to_v(pair):
    z1, z2 = pair
    # Eq. 2 normalises over the v's for each u: swapping the views changes the loss in general.
    assert info_nce(z1, z2, 0.1).item() != pytest.approx(info_nce(z2, z1, 0.1).item(), rel=1e-4)
    logits = F.normalize(z2, dim=1) @ F.normalize(z1, dim=1).T / 0.1
    assert info_nce(z2, z1, 0.1).item() == pytest.approx(F.cross_entropy(logits, torch.arange(12)).item(), rel=1e-6)


@pytest.mark.parametrize("tau", [0.1, 1.0])
def test_symmetric_matches_hand_written_nt_xent(pair, tau):
    z1, z2 = pair
    assert info_nce(z1, z2, tau, symmetric=True).item() == pytest.approx(naive_nt_xent(z1, z2, tau).item(), rel=1e-5)


def test_module_equals_function(pair):
    z1, z2 = pair
    assert InfoNCE(0.3)(z1, z2).item() == info_nce(z1, z2, 0.3).item()
    assert InfoNCE(0.3, symmetric=True)(z1, z2).item() == info_nce(z1, z2, 0.3, symmetric=True).item()
    assert "temperature=0.3" in repr(InfoNCE(0.3))


def test_scale_invariant_rows(pair):
    z1, z2 = pair
    s = torch.rand(12, 1) * 10 + 0.1
    assert info_nce(z1 * s, z2, 0.1).item() == pytest.approx(info_nce(z1, z2, 0.1).item(), rel=1e-5)


def test_gradient_matches_naive_autograd(pair):
    z1, z2 = (t.clone().double().requires_grad_(True) for t in pair)
    naive_info_nce(z1, z2, 0.2).backward()
    a1, a2 = (t.clone().requires_grad_(True) for t in pair)
    info_nce(a1, a2, 0.2).backward()
    np.testing.assert_allclose(a1.grad.numpy(), z1.grad.numpy(), rtol=1e-4, atol=1e-6)
    np.testing.assert_allclose(a2.grad.numpy(), z2.grad.numpy(), rtol=1e-4, atol=1e-6)


@pytest.mark.parametrize("symmetric", [False, True])
def test_stable_and_finite_at_tiny_temperature(symmetric):
    # logits up to 1e4: a naive exp overflows in float32, log-sum-exp must not.
    g = torch.Generator().manual_seed(1)
    z1 = torch.randn(64, 16, generator=g, requires_grad=True)
    z2 = torch.randn(64, 16, generator=g, requires_grad=True)
    loss = info_nce(z1, z2, 1e-4, symmetric=symmetric)
    loss.backward()
    assert torch.isfinite(loss) and torch.isfinite(z1.grad).all() and torch.isfinite(z2.grad).all()
    ref = info_nce(z1.detach().double(), z2.detach().double(), 1e-4, symmetric=symmetric)  # float32 inside too
    u, v = F.normalize(z1.detach().double(), dim=1), F.normalize(z2.detach().double(), dim=1)
    exact = F.cross_entropy(u @ v.T / 1e-4, torch.arange(64)) if not symmetric else None
    if exact is not None:
        assert loss.item() == pytest.approx(exact.item(), rel=1e-3)
    assert loss.item() == pytest.approx(ref.item(), rel=1e-6)


def test_zero_rows_do_not_produce_nan():
    z1 = torch.randn(8, 4)
    z1[3] = 0
    z1.requires_grad_(True)
    loss = info_nce(z1, torch.randn(8, 4), 0.1)
    loss.backward()
    assert torch.isfinite(loss) and torch.isfinite(z1.grad).all()


def test_bf16_autocast_close_to_fp32_and_float32_output():
    g = torch.Generator().manual_seed(2)
    enc = torch.nn.Linear(64, 32)
    x1, x2 = torch.randn(128, 64, generator=g), torch.randn(128, 64, generator=g)
    x2 = 0.8 * x1 + 0.6 * x2
    ref = info_nce(enc(x1), enc(x2), 0.1)
    with torch.autocast("cpu", dtype=torch.bfloat16):
        z1, z2 = enc(x1), enc(x2)
        assert z1.dtype == torch.bfloat16
        for sym in (False, True):
            loss = info_nce(z1, z2, 0.1, symmetric=sym)
            assert loss.dtype == torch.float32
    with torch.autocast("cpu", dtype=torch.bfloat16):
        low = info_nce(enc(x1), enc(x2), 0.1)
    # bf16 embeddings have ~3 significant digits: the loss moves by far less than its scale (log 128 = 4.85).
    assert abs(low.item() - ref.item()) < 0.05


def test_log_n_reference_values():
    n, d = 32, 8
    # Collapse (all embeddings equal): every logit ties, loss = log N exactly (log(2N - 1) for NT-Xent).
    z = torch.ones(n, d)
    assert info_nce(z, z, 0.1).item() == pytest.approx(math.log(n), rel=1e-6)
    assert info_nce(z, z, 0.1, symmetric=True).item() == pytest.approx(math.log(2 * n - 1), rel=1e-6)
    # Identical views: each positive is the largest logit of its row, so the loss is at most log N.
    g = torch.Generator().manual_seed(3)
    z = torch.randn(n, d, generator=g)
    assert 0 <= info_nce(z, z, 0.1).item() <= math.log(n)
    # Random initialisation, unrelated views: loss ≈ log N up to the logit variance. For large tau it is log N
    # + O(1/(tau² d)); E[loss] <= log N + E[s²]/2 with s = u·v/tau, E[s²] = 1/(d tau²) (Jensen / Gaussian mgf).
    losses = [info_nce(torch.randn(n, d, generator=g), torch.randn(n, d, generator=g), 10.0).item() for _ in range(50)]
    assert abs(np.mean(losses) - math.log(n)) < 1e-3
    losses = [info_nce(torch.randn(n, d, generator=g), torch.randn(n, d, generator=g), 1.0).item() for _ in range(200)]
    assert math.log(n) - 0.05 < np.mean(losses) < math.log(n) + 1 / (2 * d) + 0.02


def test_random_linear_encoder_starts_near_log_n():
    g = torch.Generator().manual_seed(4)
    torch.manual_seed(0)
    enc = torch.nn.Linear(256, 64)
    x = torch.randn(128, 256, generator=g)
    loss = info_nce(enc(x), enc(torch.randn(128, 256, generator=g)), 1.0)  # independent views
    assert abs(loss.item() - math.log(128)) < 0.1


@pytest.mark.parametrize(
    "args, msg",
    [
        ((torch.randn(4, 3), torch.randn(5, 3)), "same shape"),
        ((torch.randn(4), torch.randn(4)), "2-D"),
        ((torch.randn(4, 3), torch.randn(4, 3), 0.0), "temperature"),
        ((torch.randn(4, 3), torch.randn(4, 3), -1.0), "temperature"),
        ((torch.randn(4, 3), torch.randn(4, 3), float("nan")), "temperature"),
        ((torch.ones(4, 3, dtype=torch.long), torch.ones(4, 3, dtype=torch.long)), "floating"),
    ],
)
def test_bad_input(args, msg):
    with pytest.raises(InputError, match=msg) as exc:
        info_nce(*args)
    assert "\n" not in str(exc.value)


def test_module_rejects_bad_temperature():
    with pytest.raises(InputError):
        InfoNCE(temperature=0)


# -- entropy estimators ---------------------------------------------------------------------------------------


def gaussian_closed_form(cov):
    d = cov.shape[0]
    return 0.5 * (d * math.log(2 * math.pi * math.e) + np.linalg.slogdet(cov)[1])


@pytest.mark.parametrize("n, d", [(40, 60), (200, 10), (9, 3)])
def test_ledoit_wolf_matches_sklearn(n, d):
    from sklearn.covariance import ledoit_wolf
    from sklearn.covariance import ledoit_wolf_shrinkage as sk_shrinkage

    x = np.random.default_rng(n).standard_normal((n, d)) @ np.diag(np.linspace(0.5, 3, d))
    s = ledoit_wolf_shrinkage(torch.from_numpy(x)).item()
    assert s == pytest.approx(sk_shrinkage(x), rel=1e-10)
    cov, _ = ledoit_wolf(x)
    assert gaussian_entropy(torch.from_numpy(x)).item() == pytest.approx(gaussian_closed_form(cov), rel=1e-5)


def test_gaussian_entropy_no_shrinkage_is_plug_in():
    x = np.random.default_rng(0).standard_normal((300, 4))
    cov = np.cov(x, rowvar=False, bias=True)
    assert gaussian_entropy(torch.from_numpy(x), shrinkage=0.0).item() == pytest.approx(gaussian_closed_form(cov))


def test_gaussian_entropy_close_to_truth_on_gaussian_data():
    rng = np.random.default_rng(1)
    a = rng.standard_normal((5, 5))
    cov = a @ a.T + 0.5 * np.eye(5)
    x = rng.multivariate_normal(np.zeros(5), cov, size=20000)
    assert gaussian_entropy(torch.from_numpy(x)).item() == pytest.approx(gaussian_closed_form(cov), abs=0.03)


def test_gaussian_entropy_finite_when_batch_smaller_than_dim():
    z = torch.randn(16, 64, requires_grad=True)
    h = gaussian_entropy(z)
    h.backward()
    assert torch.isfinite(h) and torch.isfinite(z.grad).all()


def knn_reference(x, k):
    """Kozachenko–Leonenko with scipy's KD-tree, written from Kraskov et al. 2004 Eq. 20 (max-norm-free form)."""
    n, d = x.shape
    r = cKDTree(x).query(x, k=k + 1)[0][:, k]
    log_vd = d / 2 * math.log(math.pi) - special.gammaln(d / 2 + 1)
    return special.digamma(n) - special.digamma(k) + log_vd + d * np.mean(np.log(r))


@pytest.mark.parametrize("k", [1, 3, 7])
def test_knn_matches_kdtree_reference(k):
    x = np.random.default_rng(k).standard_normal((500, 3))
    assert knn_entropy(torch.from_numpy(x), k=k).item() == pytest.approx(knn_reference(x, k), rel=1e-5)


def test_knn_close_to_closed_form():
    rng = np.random.default_rng(5)
    cov = np.array([[2.0, 0.6], [0.6, 0.5]])
    x = rng.multivariate_normal([1.0, -2.0], cov, size=4000)
    assert knn_entropy(torch.from_numpy(x), k=3).item() == pytest.approx(gaussian_closed_form(cov), abs=0.06)
    u = rng.uniform(size=(4000, 2)) * np.array([2.0, 3.0])  # uniform on a box: H = log(6)
    assert knn_entropy(torch.from_numpy(u), k=3).item() == pytest.approx(math.log(6.0), abs=0.06)


def test_knn_gradient_finite_with_duplicates():
    z = torch.randn(50, 3)
    z[1] = z[0]
    z.requires_grad_(True)
    h = knn_entropy(z, k=2)
    h.backward()
    assert torch.isfinite(h) and torch.isfinite(z.grad).all()


def test_knn_bad_k():
    with pytest.raises(InputError, match="k must be"):
        knn_entropy(torch.randn(5, 2), k=5)


# -- Route 2 --------------------------------------------------------------------------------------------------


def test_beta_threshold_formula():
    assert beta_threshold(0.1, 0.36, 257) == pytest.approx(10 * 0.64 / 256)
    assert beta_threshold(0.1, 0.36, 257, C=0.5) == pytest.approx(2 * 10 * 0.64 / 256)
    for bad in [(0.0, 0.3, 10), (0.1, 1.5, 10), (0.1, 0.3, 1)]:
        with pytest.raises(InputError):
            beta_threshold(*bad)


def test_route2_value_and_weight():
    z = torch.randn(100, 6)
    reg = Route2Regularizer(beta_scale=2.0, lam=0.7, temperature=0.2, eta2=0.25)
    t = reg.terms(z)
    beta = 2.0 * 5 * 0.75 / 5
    assert t["beta"].item() == pytest.approx(beta)
    assert t["entropy"].item() == pytest.approx(gaussian_entropy(z, shrinkage=0.1).item())
    assert t["sq_norm"].item() == pytest.approx((z**2).sum(1).mean().item(), rel=1e-6)
    assert reg(z).item() == pytest.approx(beta * (-t["entropy"].item() + 0.7 * t["sq_norm"].item()), rel=1e-6)
    knn = Route2Regularizer(beta=0.3, entropy="knn", k=4)
    assert knn(z).item() == pytest.approx(0.3 * (-knn_entropy(z, 4).item() + 0.5 * t["sq_norm"].item()), rel=1e-5)


@pytest.mark.parametrize(
    "kwargs",
    [{}, {"beta": 1.0, "beta_scale": 1.0}, {"beta_scale": 1.0}, {"beta": -1.0}, {"beta": 1.0, "lam": 0.0},
     {"beta": 1.0, "entropy": "kde"}],
)  # fmt: skip
def test_route2_bad_arguments(kwargs):
    with pytest.raises(InputError):
        Route2Regularizer(**kwargs)


@pytest.mark.parametrize("entropy", ["gaussian", "knn"])
def test_route2_minimiser_is_the_reference_gaussian(entropy):
    # Eq. 13: -H + lam E||z||^2 = KL(rho || N(0, I/(2 lam))) + const, minimised at rho = N(0, I/(2 lam)) (Cor. 2).
    # Optimise a free point cloud (started far off: shifted, anisotropic) and check mean and covariance.
    lam = 2.0
    g = torch.Generator().manual_seed(0)
    z = (torch.randn(200, 2, generator=g) * torch.tensor([3.0, 0.3]) + 2.0).requires_grad_(True)
    reg = Route2Regularizer(beta=1.0, lam=lam, entropy=entropy, k=5)
    opt = torch.optim.Adam([z], lr=0.05)
    for _ in range(400):
        opt.zero_grad()
        reg(z).backward()
        opt.step()
    x = z.detach().numpy()
    assert np.abs(x.mean(0)).max() < 0.05
    np.testing.assert_allclose(np.cov(x, rowvar=False), np.eye(2) / (2 * lam), atol=0.05)


def test_route2_ledoit_wolf_intensity_is_exploited():
    # Why the regulariser's default is a fixed shrinkage: with the (detached) Ledoit-Wolf intensity the optimiser
    # makes the cloud heavy-tailed, which drives the intensity to ~1, after which only tr(S) is penalised and the
    # covariance stays anisotropic (the same start converges to I/(2 lam) with the default, test above).
    g = torch.Generator().manual_seed(0)
    z = (torch.randn(200, 2, generator=g) * torch.tensor([3.0, 0.3]) + 2.0).requires_grad_(True)
    reg = Route2Regularizer(beta=1.0, lam=2.0, shrinkage="ledoit-wolf")
    opt = torch.optim.Adam([z], lr=0.05)
    for _ in range(400):
        opt.zero_grad()
        reg(z).backward()
        opt.step()
    cov = np.cov(z.detach().numpy(), rowvar=False)
    assert ledoit_wolf_shrinkage(z).item() > 0.9
    assert np.trace(cov) == pytest.approx(0.5, abs=0.03)  # the trace is still right ...
    assert cov[0, 0] - cov[1, 1] > 0.05  # ... the shape is not


def test_docstring_examples_run():
    import doctest

    import infogauss.losses
    import infogauss.losses_route2

    results = [doctest.testmod(m, raise_on_error=False, verbose=False)
               for m in (infogauss.losses, infogauss.losses_route2)]  # fmt: skip
    assert all(r.attempted >= 3 and r.failed == 0 for r in results)
    assert sum(r.attempted for r in results) >= 8


def test_split_keeps_import_paths():
    """The Route-2 names moved to infogauss.losses_route2 are the same objects under infogauss.losses."""
    import infogauss.losses as L
    import infogauss.losses_route2 as R

    for name in R.__all__:
        assert getattr(L, name) is getattr(R, name) and name in L.__all__


# -- VICReg (control objective, issue 14 §2) ----------------------------------------------------------------------


def naive_vicreg(z1, z2, lam=25.0, mu=25.0, nu=1.0, gamma=1.0, eps=1e-4):
    """Bardes et al. 2022, Algorithm 1, written with numpy in float64."""
    a, b = z1.double().numpy(), z2.double().numpy()
    n, d = a.shape
    sim = np.mean((a - b) ** 2)
    total = lam * sim
    for z in (a, b):
        std = np.sqrt(z.var(axis=0, ddof=1) + eps)
        total += mu * np.mean(np.maximum(0.0, gamma - std))
        cov = np.cov(z, rowvar=False)
        total += nu * (np.sum(cov**2) - np.sum(np.diag(cov) ** 2)) / d
    return total


def test_vicreg_matches_algorithm_1():
    from infogauss.losses import VICReg, vicreg

    g = torch.Generator().manual_seed(0)
    z1, z2 = 0.3 * torch.randn(64, 12, generator=g), 0.3 * torch.randn(64, 12, generator=g)
    assert float(vicreg(z1, z2)) == pytest.approx(naive_vicreg(z1, z2), rel=1e-5)
    assert float(VICReg()(z1, z2)) == pytest.approx(naive_vicreg(z1, z2), rel=1e-5)
    # identical, decorrelated, unit-variance views: every term vanishes (invariance 0, std 1, covariance I)
    x = torch.randn(400, 8, generator=g, dtype=torch.float64)
    q, _ = torch.linalg.qr(x - x.mean(0))  # orthonormal columns with zero mean
    z = (q * 399**0.5).float()
    assert float(vicreg(z, z)) < 1e-5
    assert float(vicreg(0.5 * z, 0.5 * z)) == pytest.approx(25 * 2 * (1 - (0.25 + 1e-4) ** 0.5), rel=1e-4)


def test_vicreg_batched_equals_one_at_a_time():
    from infogauss.losses import vicreg

    g = torch.Generator().manual_seed(1)
    z1, z2 = torch.randn(3, 32, 6, generator=g), torch.randn(3, 32, 6, generator=g)
    batched = vicreg(z1, z2)
    assert batched.shape == (3,)
    for r in range(3):
        assert float(batched[r]) == pytest.approx(float(vicreg(z1[r], z2[r])), rel=1e-6)


def test_vicreg_errors():
    from infogauss.losses import vicreg

    with pytest.raises(InputError, match="same shape"):
        vicreg(torch.randn(8, 4), torch.randn(8, 5))
    with pytest.raises(InputError, match="at least 2"):
        vicreg(torch.randn(1, 4), torch.randn(1, 4))
