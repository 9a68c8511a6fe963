"""Null calibration: on true Gaussian data each test rejects at its level (a 2x error fails every check here).

Fast subset in CI; the whole grid (n in {8, 20, 50, 200, 1000, 5000}, d in {2, 5, 20, 64}) under ``-m slow``.
The table in the README comes from ``python tests/stats/_calibration.py`` (same functions, more replicates).
"""

import warnings

import numpy as np
import pytest
from _calibration import D_GRID, N_GRID, acceptance, bank_vs_exact, multivariate_pvalues, univariate_pvalues


def _within(p, alpha):
    lo, hi = acceptance(alpha, p.size)
    k = int(np.sum(p <= alpha))
    return lo <= k <= hi, f"{k} of {p.size} below {alpha} (99% acceptance [{lo}, {hi}])"


@pytest.mark.parametrize(
    "test, n, reps", [("ad", 20, 20_000), ("ad", 200, 20_000), ("ep", 20, 20_000), ("ep", 1000, 2000)]
)
def test_univariate_fast(test, n, reps):
    p = univariate_pvalues(test, n, reps)
    for alpha in (0.05, 0.01):
        ok, msg = _within(p, alpha)
        assert ok, msg


def test_dp_small_n_is_liberal_and_warns():
    with pytest.warns(UserWarning, match="size is off"):
        p = univariate_pvalues("dp", 10, 20_000)
    assert 0.055 < np.mean(p < 0.05) < 0.075  # documented: ~6% at n = 8-10, not 5%


@pytest.mark.parametrize("test, n, d", [("mardia", 50, 5), ("hz", 50, 3)])
def test_multivariate_fast(test, n, d):
    for key, p in multivariate_pvalues(test, n, d, 400).items():
        ok, msg = _within(p, 0.05)
        assert ok or key == "skewness", f"{test} {key}: {msg}"  # Mardia's chi² skewness: conservative, documented


def test_mardia_kurtosis_at_d64_fast():
    """Mardia's kurtosis test (exact null moments) holds its level at d = 64 (the chi² skewness test is documented
    as far too conservative there)."""
    p = multivariate_pvalues("mardia", 200, 64, 400)["kurtosis"]
    ok, msg = _within(p, 0.05)
    assert ok, msg


def test_report_views_fast():
    """Each view's calibrated p-value rejects ~5% of Gaussian samples at 5%; the whole report at most that."""
    from infogauss.report import gaussianity_report

    rng = np.random.default_rng(5)
    ps = []
    for _ in range(300):
        rep = gaussianity_report(rng.standard_normal((20, 6)), geometry=False, progress=False)
        v = [rep.raw, rep.raw.projections, rep.normalized, rep.normalized.projections]
        ps.append([b.calibrated_pvalue for b in v] + [rep.verdict.pvalue])
    ps = np.array(ps)
    lo, hi = acceptance(0.05, 300)
    for j, name in enumerate(("raw", "raw projections", "normalized", "normalized projections")):
        k = int(np.sum(ps[:, j] <= 0.05))
        assert lo <= k <= hi, f"{name}: {k} of 300 at 5% (acceptance [{lo}, {hi}])"
    assert np.sum(ps[:, 4] <= 0.05) <= hi


def test_bank_null_holds_its_level_fast():
    """The column-bank null (the report's views at large (n, d)) judged on 2000 whole Gaussian samples simulated
    exactly at (200, 16): every view and the whole report reject within the 99% acceptance interval at 5% and 1%."""
    for name, p in bank_vs_exact(200, 16, 2000).items():
        for alpha in (0.05, 0.01):
            ok, msg = _within(p, alpha)
            assert ok, f"{name}: {msg}"


def test_bank_vs_exact_gives_the_reports_verdict():
    """With the report's own draws (4999), ``bank_vs_exact`` computes exactly the whole-report p-value that
    ``gaussianity_report`` gives the same samples (so ``--bank ... --bank-reps 4999`` measures the verdict)."""
    from infogauss.report import gaussianity_report
    from infogauss.report.null import TEST_BYTES, TEST_COPIES

    n, d = 300, 64
    assert TEST_BYTES // (TEST_COPIES * 8 * n * 2 * d) >= 3  # the three samples are drawn in one block
    z = np.random.default_rng([17, n, d, d]).standard_normal((3, n, d))  # exact_view_null's samples, seed 17
    got = bank_vs_exact(n, d, 3, 17, 4999)["whole report"]
    rep = [gaussianity_report(x, geometry=False, progress=False).verdict for x in z]
    assert all(r.method == "monte-carlo" for r in rep)
    np.testing.assert_allclose(got, [r.pvalue for r in rep], rtol=0, atol=1e-12)


def test_view_null_rule():
    """Whole samples where they fit the budget, the column bank at large (n, d) while n <= d², 199 whole samples
    beyond that while they fit."""
    from infogauss.report.null import BANK_REPS, null_method, view_null_reps

    for (n, d), reps, method in [((50, 16), 4999, "exact"), ((500, 64), BANK_REPS, "bank"),
                                 ((5000, 256), BANK_REPS, "bank"), ((2000, 16), 199, "exact"),
                                 ((10**6, 8), BANK_REPS, "bank")]:  # fmt: skip
        assert view_null_reps(n, d, d) == reps and null_method(n, d, d, reps) == method, (n, d)


@pytest.mark.slow
@pytest.mark.parametrize("n, d, reps", [(500, 64, 2000), (1000, 32, 3000), (2000, 64, 2000)])
def test_bank_null_grid(n, d, reps):
    """The bank at n <= d²; at (2000, 64) its normalised views are documented as slightly liberal at 5% (6.3-6.7%)
    and are checked at 1%, the report's level, only."""
    for name, p in bank_vs_exact(n, d, reps).items():
        for alpha in (0.05, 0.01):
            if alpha == 0.05 and (n, d) == (2000, 64) and name.startswith("normalised"):
                continue
            ok, msg = _within(p, alpha)
            assert ok, f"{name} at ({n}, {d}): {msg}"


GRID = [(n, d) for n in N_GRID for d in D_GRID if n >= d + 2]


@pytest.mark.slow
@pytest.mark.parametrize("n, d", GRID)
def test_multivariate_grid(n, d):
    """Mardia's kurtosis and HZ with ``method="auto"`` (Monte-Carlo where the approximation is off). Where auto keeps
    HZ's lognormal law although it is off (the simulation is over budget: d > 8 at large n), the docstring documents
    it as conservative, and that is what is checked there."""
    from infogauss.stats import henze_zirkler, mardia
    from infogauss.stats.multivariate import henze_zirkler as hz_module
    from infogauss.stats.multivariate.null import BUDGET, N_RESAMPLES

    rng = np.random.default_rng([3, n, d])
    reps = 400 if n <= 1000 else 200  # 200: a 2x error (20 of 200 at 5%) is outside the acceptance interval
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        hz = np.array([henze_zirkler(rng.standard_normal((n, d))).pvalue for _ in range(reps)])
        md = [mardia(rng.standard_normal((n, d))) for _ in range(reps)]
    hz_off = hz_module.use_monte_carlo(n, d) and N_RESAMPLES * n * n * d > BUDGET
    for name, p in (("hz", hz), ("mardia kurtosis", np.array([r.kurtosis_pvalue for r in md]))):
        ok, msg = _within(p, 0.05)
        if name == "hz" and hz_off:
            ok = int(np.sum(p <= 0.05)) <= acceptance(0.05, p.size)[1]  # documented: conservative, not liberal
        assert ok, f"{name} at ({n}, {d}): {msg}"


@pytest.mark.slow
@pytest.mark.parametrize("n", N_GRID)
def test_univariate_grid(n):
    for test in ("ad", "ep", "dp"):
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            p = univariate_pvalues(test, n, 40_000)
        if test == "dp" and n < 20:
            continue  # documented and warned: liberal below n = 20
        ok, msg = _within(p, 0.05)
        assert ok or (test == "ep" and n == 8), f"{test} at n={n}: {msg}"  # EP at n = 8: conservative, documented


@pytest.mark.slow
@pytest.mark.parametrize("n, d, reps", [(50, 16, 3000), (500, 64, 2000), (5000, 256, 600)])
def test_report_verdict_grid(n, d, reps):
    """The issue's acceptance: the whole-report verdict fails 0.5%-2% of Gaussian samples at its 1% level. Where the
    report draws its null from the column bank, its verdict is computed by ``bank_vs_exact`` with the report's own
    draws (equal to ``gaussianity_report``'s p-values: ``test_bank_vs_exact_gives_the_reports_verdict``), without
    the report's DP tests and extras."""
    from infogauss.report import gaussianity_report
    from infogauss.report.null import BANK_REPS, null_method, view_null_reps

    r = view_null_reps(n, d, min(d, 256))
    if null_method(n, d, min(d, 256), r) == "bank":
        p = bank_vs_exact(n, d, reps, 11, BANK_REPS)["whole report"]
    else:
        rng = np.random.default_rng([11, n, d])
        p = np.array([gaussianity_report(rng.standard_normal((n, d)), geometry=False, progress=False).verdict.pvalue
                      for _ in range(reps)])  # fmt: skip
    k = int(np.sum(p <= 0.01))  # a Monte-Carlo p-value rejects at p <= alpha
    assert 0.005 <= k / reps <= 0.02 or acceptance(0.01, reps)[0] <= k <= acceptance(0.01, reps)[1]
