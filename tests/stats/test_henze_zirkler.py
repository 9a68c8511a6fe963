import json
from pathlib import Path

import numpy as np
import pytest
import torch
from scipy import stats

from infogauss.errors import InputError
from infogauss.stats import henze_zirkler

R = json.loads((Path(__file__).parent / "data" / "multivariate_r.json").read_text())["cases"]


def direct_hz(x):
    """Textbook Henze & Zirkler (1990) with dense n x n matrices (MLE covariance, lognormal p-value)."""
    n, d = x.shape
    c = x - x.mean(0)
    g = c @ np.linalg.inv(c.T @ c / n) @ c.T
    dj = np.diag(g)
    djk = dj[:, None] + dj[None, :] - 2 * g
    b = (n * (2 * d + 1) / 4) ** (1 / (d + 4)) / np.sqrt(2)
    hz = np.exp(-(b**2) / 2 * djk).sum() / n
    hz += -2 * (1 + b**2) ** (-d / 2) * np.exp(-(b**2) / (2 * (1 + b**2)) * dj).sum() + n * (1 + 2 * b**2) ** (-d / 2)
    a, w = 1 + 2 * b**2, (1 + b**2) * (1 + 3 * b**2)
    mu = 1 - a ** (-d / 2) * (1 + d * b**2 / a + d * (d + 2) * b**4 / (2 * a**2))
    s2 = (
        2 * (1 + 4 * b**2) ** (-d / 2)
        + 2 * a ** (-d) * (1 + 2 * d * b**4 / a**2 + 3 * d * (d + 2) * b**8 / (4 * a**4))
        - 4 * w ** (-d / 2) * (1 + 3 * d * b**4 / (2 * w) + d * (d + 2) * b**8 / (2 * w**2))
    )
    sdlog = np.sqrt(np.log((s2 + mu**2) / mu**2))
    return hz, stats.lognorm.sf(hz, sdlog, scale=mu**2 / np.sqrt(s2 + mu**2))


@pytest.mark.parametrize("case", sorted(R))
def test_matches_r_reference(case):
    ref = R[case]
    res = henze_zirkler(np.array(ref["x"]), method="asymptotic")  # R: the lognormal p-value
    assert res.statistic == pytest.approx(ref["henze_zirkler"]["statistic"], rel=1e-10)
    assert res.pvalue == pytest.approx(ref["henze_zirkler"]["pvalue"], rel=1e-7)


@pytest.mark.parametrize("n, d", [(30, 2), (100, 5), (250, 12)])
def test_matches_direct_formula(rng, n, d):
    x = rng.standard_t(6, size=(n, d)) @ rng.normal(size=(d, d))
    hz, p = direct_hz(x)
    res = henze_zirkler(x, block=16, method="asymptotic")
    assert res.statistic == pytest.approx(hz, rel=1e-10)
    assert res.pvalue == pytest.approx(p, rel=1e-7, abs=1e-300)


def test_block_size_invariant_and_torch(rng):
    x = rng.normal(size=(300, 4))
    a, b = henze_zirkler(x, block=7), henze_zirkler(x, block=1024)
    assert a.statistic == pytest.approx(b.statistic, rel=1e-12)
    assert a.pvalue == pytest.approx(b.pvalue, rel=1e-12)
    t = henze_zirkler(torch.tensor(x, dtype=torch.float32, requires_grad=True), block=50)
    assert t.statistic == pytest.approx(b.statistic, rel=1e-5)
    assert isinstance(t.statistic, float) and isinstance(t.pvalue, float)


def test_affine_invariant(rng):
    x = rng.exponential(size=(120, 3))
    y = x @ rng.normal(size=(3, 3)) + 5.0
    assert henze_zirkler(y).statistic == pytest.approx(henze_zirkler(x).statistic, rel=1e-9)


def test_null_calibration(rng):
    p = np.array([henze_zirkler(rng.normal(size=(50, 3))).pvalue for _ in range(300)])
    lo, hi = stats.binom.interval(0.99, 300, 0.05)
    assert lo <= (p < 0.05).sum() <= hi


def test_high_dimension_precision(rng):
    # At d=64 all terms but a constant 1 are ~1e-9: the statistic must still follow the direct formula.
    x = rng.normal(size=(400, 64))
    hz, p = direct_hz(x)
    res = henze_zirkler(x, block=100, method="asymptotic")
    assert res.statistic == pytest.approx(hz, rel=1e-12)
    assert 0 < res.pvalue <= 1


def test_rejects_non_gaussian(rng):
    assert henze_zirkler(rng.exponential(size=(200, 3))).pvalue < 1e-6
    mix = np.concatenate([rng.normal(-3, 1, size=(100, 2)), rng.normal(3, 1, size=(100, 2))])
    assert henze_zirkler(mix).pvalue < 1e-6


@pytest.mark.parametrize(
    "x, message",
    [
        (np.ones((20, 3)), "singular"),
        (np.random.default_rng(0).normal(size=(10, 12)), r"at least d \+ 2 samples"),
        (np.zeros(5), "at least 8"),
        (np.zeros(20), "2-D"),
    ],
)
def test_bad_input(x, message):
    with pytest.raises(InputError, match=message) as info:
        henze_zirkler(x)
    assert "\n" not in str(info.value)


def test_refuses_n_at_most_d_plus_one(rng):
    for n, d in [(9, 8), (21, 20)]:  # the old code returned a constant p (0.044, 0.011) for any data here
        with pytest.raises(InputError, match=r"at least d \+ 2 samples") as info:
            henze_zirkler(rng.normal(size=(n, d)))
        assert "\n" not in str(info.value)


def test_monte_carlo_pvalues_are_calibrated(rng):
    res = [henze_zirkler(rng.normal(size=(40, 12)), method="monte-carlo", n_resamples=199) for _ in range(300)]
    lo, hi = stats.binom.interval(0.99, 300, 0.05)
    assert lo <= sum(r.pvalue <= 0.05 for r in res) <= hi
    assert henze_zirkler(rng.lognormal(size=(40, 12)), method="monte-carlo", n_resamples=199).pvalue <= 0.05
    with pytest.raises(InputError, match="method"):
        henze_zirkler(rng.normal(size=(40, 3)), method="bootstrap")


@pytest.mark.parametrize("n, d", [(8, 2), (30, 5), (70, 64)])
def test_batched_null_equals_looped(n, d):
    """The Monte-Carlo null drawn in stacks of samples equals the one drawn sample by sample (same stream)."""
    from infogauss.stats.multivariate import henze_zirkler as hz
    from infogauss.stats.multivariate.null import null_draws

    loop, batch = null_draws(hz._core, n, d, 60, 5), null_draws(hz._core, n, d, 60, 5, batched=hz._batch_core)
    np.testing.assert_allclose(batch, loop, rtol=1e-9)
    assert np.unique(loop).size == 60  # sixty different samples
