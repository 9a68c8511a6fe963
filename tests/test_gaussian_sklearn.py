"""scikit-learn's side of the Gaussian model: the shrinkage intensities against sklearn.covariance (the library no
longer imports scikit-learn), the GaussianDensity estimator under sklearn's own estimator checks, in a Pipeline, and
without scikit-learn installed."""

import sys
import warnings

import numpy as np
import pytest
from sklearn.covariance import OAS, EmpiricalCovariance, LedoitWolf
from sklearn.utils.estimator_checks import parametrize_with_checks

from infogauss.density import GaussianDensity
from infogauss.errors import InputError
from infogauss.gaussian import GaussianModel
from infogauss.moments import MomentAccumulator, shrinkage_intensity


def _data(rng, n, d, scales=False, shift=0.0):
    X = shift + rng.normal(size=(n, d)) @ rng.normal(size=(d, d)) + 0.3 * rng.standard_t(4, size=(n, d))
    return X * np.logspace(-6, 6, d) if scales else X


def rel(a, b):
    a, b = np.asarray(a, float), np.asarray(b, float)
    return float(np.max(np.abs(a - b)) / max(np.max(np.abs(b)), 1e-300))


# ---------------------------------------------------------------------------------------------- shrinkage

SHAPES = {
    "n<d": dict(n=15, d=40),
    "n>d": dict(n=500, d=8),
    "n=d": dict(n=30, d=30),
    "scaled columns": dict(n=200, d=12, scales=True),  # column scales 1e-6 .. 1e6
    "offset 1e6": dict(n=120, d=10, shift=1e6),
}
# at an offset of 1e6 the entries carry rounding of 1e6 * eps ~ 2e-10 (unit spread): sklearn's own intensity moves by
# ~1e-11 relative between X and X - 1e6, and ours (standardised columns) by ~3e-12, so 1e-10 there
TOL = {"offset 1e6": 1e-10}


@pytest.mark.parametrize("shape", list(SHAPES))
@pytest.mark.parametrize(("name", "est"), [("ledoit-wolf", LedoitWolf), ("oas", OAS)])
def test_shrinkage_equals_sklearn(rng, shape, name, est):
    X = _data(rng, **SHAPES[shape])
    ref = est().fit(X)
    g = GaussianModel.fit(X, shrinkage=name)
    assert 0 < g.shrinkage <= 1
    tol = TOL.get(shape, 1e-12)
    assert g.shrinkage == pytest.approx(ref.shrinkage_, rel=tol)
    assert rel(g.covariance, ref.covariance_) < tol
    s = GaussianModel.fit_stream(np.array_split(X, 5), shrinkage=name)  # the streaming path: same intensity
    assert s.shrinkage == pytest.approx(ref.shrinkage_, rel=1e-10)


def test_ledoit_wolf_is_the_papers_estimator(rng):
    """Ledoit & Wolf (2004), with their normalised norm ||A||^2 = tr(A A^T)/d: m = <S, I>, d2 = ||S - m I||^2,
    b2 = min(n^-2 sum_k ||x_k x_k^T - S||^2, d2); intensity b2 / d2 (written from the definitions, row by row)."""
    X = _data(rng, n=25, d=9)
    n, d = X.shape
    u = X - X.mean(0)
    S = u.T @ u / n
    norm2 = lambda A: np.trace(A @ A.T) / d  # noqa: E731
    m = np.trace(S) / d
    d2 = norm2(S - m * np.eye(d))
    b2 = min(sum(norm2(np.outer(x, x) - S) for x in u) / n**2, d2)
    assert GaussianModel.fit(X, shrinkage="ledoit-wolf").shrinkage == pytest.approx(b2 / d2, rel=1e-12)


def test_oas_is_chen_et_al_eq_23_without_its_2_over_p_terms(rng):
    """Chen, Wiesel, Eldar & Hero (2010) Eq. 23 with the 2/p terms dropped (as scikit-learn does):
    rho = min{(tr S^2 + tr^2 S) / ((n + 1)(tr S^2 - tr^2 S / p)), 1}."""
    X = _data(rng, n=40, d=16)
    n, p = X.shape
    S = np.cov(X, rowvar=False, bias=True)
    t2, tt = np.trace(S @ S), np.trace(S) ** 2
    rho = min((t2 + tt) / ((n + 1) * (t2 - tt / p)), 1.0)
    assert shrinkage_intensity(MomentAccumulator().update(X), "oas") == pytest.approx(rho, rel=1e-12)
    full = (t2 * (1 - 2 / p) + tt) / ((n + 1 - 2 / p) * (t2 - tt / p))  # the paper's exact form differs by O(1/p)
    assert abs(rho - full) / rho < 3 / p


def test_one_feature_is_not_shrunk(rng):
    x = rng.normal(size=(50, 1))
    for name, est in (("ledoit-wolf", LedoitWolf), ("oas", OAS)):
        assert GaussianModel.fit(x, shrinkage=name).shrinkage == est().fit(x).shrinkage_ == 0.0


def test_library_does_not_import_sklearn():
    import subprocess

    code = ("import sys, numpy as np; import infogauss.gaussian, infogauss.density, infogauss.gaussian_cli; "
            "m = infogauss.gaussian.GaussianModel.fit(np.random.default_rng(0).normal(size=(60, 20)), 'oas'); "
            "infogauss.density.GaussianDensity('ledoit-wolf'); print('sklearn' in sys.modules)")  # fmt: skip
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True).stdout
    assert out.strip() == "False"


# ---------------------------------------------------------------------------------------------- estimator


# Every check applies and passes; sklearn skips check_array_api_input (no array-API support). The estimator follows
# sklearn's protocol without inheriting from BaseEstimator (scikit-learn is not a core dependency), which
# parametrize_with_checks notes with a UserWarning while it collects the checks.
with warnings.catch_warnings():
    warnings.filterwarnings("ignore", "Estimator GaussianDensity does not inherit", UserWarning)
    _ALL_CHECKS = parametrize_with_checks([GaussianDensity(), GaussianDensity(shrinkage="ledoit-wolf", axes="zca")])


@_ALL_CHECKS
def test_sklearn_estimator_checks(estimator, check):
    check(estimator)


def test_estimator_is_the_classmethod_model(rng):
    X = _data(rng, n=300, d=6, shift=5.0)
    for shrinkage in (None, "ledoit-wolf", "oas", 0.2, "auto"):
        est = GaussianDensity(shrinkage=shrinkage)
        assert est.fit(X) is est
        g = GaussianModel.fit(X, shrinkage=shrinkage)
        np.testing.assert_array_equal(est.covariance_, g.covariance)
        np.testing.assert_array_equal(est.mean_, g.mean)
        assert est.shrinkage_ == g.shrinkage and est.n_features_in_ == 6
        np.testing.assert_array_equal(est.score_samples(X), g.log_likelihood(X))
        assert est.score(X) == pytest.approx(np.mean(g.log_likelihood(X)), rel=1e-15)


def test_mahalanobis_names_match_sklearn_meaning(rng):
    X = _data(rng, n=200, d=5)
    est = GaussianDensity().fit(X)
    ref = EmpiricalCovariance().fit(X).mahalanobis(X)  # scikit-learn: the SQUARED distance
    assert rel(est.mahalanobis_squared(X), ref) < 1e-10
    assert rel(est.model_.mahalanobis_squared(X), ref) < 1e-10
    assert rel(est.model_.mahalanobis(X), np.sqrt(ref)) < 1e-10  # GaussianModel.mahalanobis: the distance
    assert not hasattr(est, "mahalanobis")  # no name whose number changes when swapping libraries


@pytest.mark.parametrize("axes", ["pca", "zca"])
def test_transform_whitens_and_inverts(rng, axes):
    X = _data(rng, n=400, d=7, shift=2.0)
    est = GaussianDensity(axes=axes)
    Y = est.fit_transform(X)
    np.testing.assert_allclose(Y, est.transform(X), rtol=1e-12, atol=1e-12)
    assert np.max(np.abs(np.cov(Y, rowvar=False, bias=True) - np.eye(7))) < 1e-10
    np.testing.assert_allclose(est.inverse_transform(Y), X, rtol=1e-10, atol=1e-10)
    np.testing.assert_allclose(Y, GaussianModel.fit(X).whiten(X, axes=axes), rtol=1e-12, atol=1e-12)


def test_pipeline_clone_and_params(rng):
    from sklearn.base import clone
    from sklearn.pipeline import Pipeline
    from sklearn.preprocessing import StandardScaler

    X = _data(rng, n=250, d=6, scales=True)
    pipe = Pipeline([("std", StandardScaler()), ("g", GaussianDensity(shrinkage="oas"))]).fit(X)
    Xs = StandardScaler().fit_transform(X)
    np.testing.assert_allclose(pipe.score_samples(X), GaussianModel.fit(Xs, "oas").log_likelihood(Xs), rtol=1e-10)
    assert pipe.get_params()["g__shrinkage"] == "oas"
    pipe.set_params(g__shrinkage=0.5, g__axes="zca")
    assert pipe.named_steps["g"].get_params() == {"shrinkage": 0.5, "axes": "zca"}
    c = clone(GaussianDensity(shrinkage="auto"))
    assert repr(c) == "GaussianDensity(shrinkage='auto', axes='pca')" and not hasattr(c, "model_")
    with pytest.raises(ValueError, match="Invalid parameter 'bogus'"):
        c.set_params(bogus=1)


def test_bad_parameters_fail_at_fit(rng):
    X = _data(rng, n=50, d=3)
    with pytest.raises(InputError, match="unknown shrinkage"):
        GaussianDensity(shrinkage="lots").fit(X)
    with pytest.raises(InputError, match="whitening axes"):
        GaussianDensity(axes="ica").fit(X)
    with pytest.raises(InputError, match="singular"):
        GaussianDensity().fit(X[:3])


def test_dask_array_goes_to_the_dask_engine(rng):
    da = pytest.importorskip("dask.array")
    X = _data(rng, n=400, d=5)
    est = GaussianDensity(shrinkage="ledoit-wolf").fit(da.from_array(X, chunks=(100, -1)))
    assert rel(est.covariance_, GaussianModel.fit(X, "ledoit-wolf").covariance) < 1e-12


def test_without_sklearn(rng, monkeypatch):
    for name in [m for m in sys.modules if m == "sklearn" or m.startswith("sklearn.")]:
        monkeypatch.setitem(sys.modules, name, None)  # import sklearn now raises ImportError
    with pytest.raises(ImportError):
        import sklearn  # noqa: F401
    X = _data(rng, n=100, d=4)
    est = GaussianDensity(shrinkage="ledoit-wolf")
    with pytest.raises(InputError, match="not fitted"):
        est.score_samples(X)
    est.fit(X)
    np.testing.assert_array_equal(est.score_samples(X), GaussianModel.fit(X, "ledoit-wolf").log_likelihood(X))
    with pytest.raises(InputError, match="NaN"):
        est.transform(np.full((2, 4), np.nan))
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        est.set_params(axes="zca").fit(X)
