import math
import warnings

import numpy as np
import pytest
import scipy.integrate
import torch
from _univariate_cases import non_normal_samples, offset_sample, rejection_ok

from infogauss.errors import InputError
from infogauss.stats import epps_pulley
from infogauss.stats.univariate.epps_pulley import SQRT_2PI, null_eigenvalues, null_sf


def closed_form(x):
    """T = √(2π)·[ (1/n) Σ_jk e^{-(y_j-y_k)²/2} - √2 Σ_j e^{-y_j²/4} + n/√3 ], y standardised (ddof 0), O(n²)."""
    n = x.shape[0]
    y = (x - x.mean(0)) / x.std(0)
    d2 = (y[:, None, :] - y[None, :, :]) ** 2
    return SQRT_2PI * (np.exp(-d2 / 2).sum((0, 1)) / n - math.sqrt(2) * np.exp(-(y**2) / 4).sum(0) + n / math.sqrt(3))


def lejepa_sigreg(y, t_max=3.0, knots=17):
    """LeJEPA's SIGReg forward for one batch of slices y (N, K), as in its MINIMAL.md (float64 here)."""
    t = torch.linspace(0, t_max, knots, dtype=torch.float64)
    dt = t_max / (knots - 1)
    weights = torch.full((knots,), 2 * dt, dtype=torch.float64)
    weights[[0, -1]] = dt
    phi = torch.exp(-t.square() / 2.0)
    x_t = y.unsqueeze(-1) * t
    err = (x_t.cos().mean(-3) - phi).square() + x_t.sin().mean(-3).square()
    return (err @ (weights * phi)) * y.size(-2)


def test_quadrature_equals_closed_form(rng):
    for name, x in [
        ("normal", rng.normal(size=(800, 6))),
        ("laplace", rng.laplace(size=(300, 6))),
        ("uniform", rng.uniform(size=(300, 6))),
        ("n8", rng.normal(size=(8, 20))),
    ]:
        np.testing.assert_allclose(epps_pulley(x).statistic, closed_form(x), rtol=1e-8, atol=1e-10, err_msg=name)


def test_heavy_tails_alias_only_a_little(rng):
    x = rng.standard_cauchy(size=(400, 4))
    np.testing.assert_allclose(epps_pulley(x).statistic, closed_form(x), rtol=1e-2)


def test_lejepa_quadrature_reproduces_sigreg(rng):
    x = rng.normal(size=(256, 5)) * 2.0 + 1.0
    y = torch.from_numpy((x - x.mean(0)) / x.std(0))
    ours = epps_pulley(x, t_max=3.0, n_points=17).statistic
    np.testing.assert_allclose(ours, lejepa_sigreg(y).numpy(), rtol=1e-12)


def test_null_law_moments_are_henze_zirkler():
    # Henze & Zirkler (1990): mean and variance of the limit of their statistic for d = 1, β = 1
    b, d = 1.0, 1
    a, wb = 1 + 2 * b * b, (1 + b * b) * (1 + 3 * b * b)
    mu = 1 - a ** (-d / 2) * (1 + d * b * b / a + d * (d + 2) * b**4 / (2 * a * a))
    var = (
        2 * (1 + 4 * b * b) ** (-d / 2)
        + 2 * a ** (-d) * (1 + 2 * d * b**4 / a**2 + 3 * d * (d + 2) * b**8 / (4 * a**4))
        - 4 * wb ** (-d / 2) * (1 + 3 * d * b**4 / (2 * wb) + d * (d + 2) * b**8 / (2 * wb**2))
    )
    lam = null_eigenvalues()
    assert lam.sum() == pytest.approx(mu, rel=1e-10)
    assert 2 * (lam**2).sum() == pytest.approx(var, rel=1e-10)


def test_null_sf_equals_imhof_by_quadpack():
    # an independent evaluation: Imhof's integral, P(Q > x) = (1/π) ∫ [sin θ(u) / (u ρ(u))] du + 1/2, written as
    # two Fourier integrals for QUADPACK's QAWF (the -1/u part of the sine integral gives exactly -1/2)
    lam = null_eigenvalues()

    def theta_rho(u):
        return 0.5 * np.arctan(lam * u).sum(), np.prod((1 + (lam * u) ** 2) ** 0.25)

    def cos_part(u):
        if u == 0:
            return lam.sum() / 2
        th, rho = theta_rho(u)
        return math.sin(th) / (u * rho)

    def sin_part(u):
        if u == 0:
            return 0.0
        th, rho = theta_rho(u)
        return (1 - math.cos(th) / rho) / u

    for x in (0.05, 0.2, 0.378, 1.0, 2.0):  # QUADPACK's own error here is ~1e-10 absolute
        i1 = scipy.integrate.quad(cos_part, 0, np.inf, weight="cos", wvar=x / 2, limlst=200)[0]
        i2 = scipy.integrate.quad(sin_part, 0, np.inf, weight="sin", wvar=x / 2, limlst=200)[0]
        assert null_sf(np.array([x * SQRT_2PI]))[0] == pytest.approx((i1 + i2) / math.pi, rel=1e-6, abs=3e-10), x


def test_null_sf_is_a_continuous_decreasing_tail():
    u = np.linspace(0, 12, 20001) * SQRT_2PI
    p = null_sf(u)
    assert p[0] == pytest.approx(1.0, abs=1e-10) and (np.diff(p) <= 0).all() and p[-1] > 0
    logp = np.log(p)
    assert np.abs(np.diff(logp, 2)).max() < 1e-3  # no jump where the table hands over to the tail
    assert np.isnan(null_sf(np.array([np.nan]))[0])


@pytest.mark.parametrize("n, cols", [(20, 3000), (100, 3000), (1000, 800)])
def test_null_calibration(rng, n, cols):
    # the asymptotic law is a little conservative at n = 20 (size ~4.5%, see the docstring): 3000 columns
    res = epps_pulley(rng.normal(size=(n, cols)), n_points=25)  # h = 1/3: still exact for N(0,1) data
    frac, interval, ok = rejection_ok(res.pvalue)
    assert ok, f"n={n}: rejected {frac:.4f} at 5%, 99% interval {interval}"


def test_power_against_non_normal_data(rng):
    for name, x in non_normal_samples(rng, n=5000, cols=3).items():
        assert (epps_pulley(x).pvalue < 1e-3).all(), name


def test_invariances_offset_axis_torch(rng):
    x, e = offset_sample(rng, n=500, cols=3)
    ref = epps_pulley(e)
    np.testing.assert_allclose(epps_pulley(x).statistic, ref.statistic, rtol=1e-9)
    np.testing.assert_allclose(epps_pulley(7.0 * e.T - 2.0, axis=1).statistic, ref.statistic, rtol=1e-9)
    t = epps_pulley(torch.from_numpy(e))
    assert isinstance(t.statistic, torch.Tensor)
    np.testing.assert_allclose(t.statistic.numpy(), ref.statistic, rtol=1e-9)
    np.testing.assert_allclose(t.pvalue.numpy(), ref.pvalue, rtol=1e-9)
    one = epps_pulley(e[:, 0])
    assert np.ndim(one.statistic) == 0 and one.statistic == pytest.approx(ref.statistic[0], rel=1e-12)


def test_torch_statistic_is_differentiable(rng):
    z = torch.tensor(rng.normal(size=(200, 3)), requires_grad=True)
    res = epps_pulley(z, device="cpu")
    res.statistic.sum().backward()
    assert z.grad is not None and torch.isfinite(z.grad).all()


def test_constant_column_and_bad_input(rng):
    x = rng.normal(size=(30, 2))
    x[:, 1] = 1.5
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        res = epps_pulley(x)
    assert np.isnan(res.statistic[1]) and np.isnan(res.pvalue[1]) and np.isfinite(res.pvalue[0])
    with pytest.raises(InputError, match="NaN"):
        epps_pulley(np.full((10, 2), np.nan))
    with pytest.raises(InputError, match="at least 8"):
        epps_pulley(np.ones(3))
    with pytest.raises(InputError, match="zero columns"):
        epps_pulley(np.ones((10, 0)))
    with pytest.raises(InputError, match="n_points"):
        epps_pulley(x, n_points=1)
