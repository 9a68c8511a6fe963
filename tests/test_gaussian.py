"""GaussianModel against scipy / scikit-learn / closed forms, the streaming fit, files and the fit/score CLI."""

import functools

import numpy as np
import pytest
from scipy import stats
from sklearn.covariance import OAS, LedoitWolf, ShrunkCovariance

from infogauss.cli import main
from infogauss.errors import InputError
from infogauss.gaussian import GaussianModel, MomentAccumulator, dead_coordinates


def _correlated(rng, n=400, d=6, shift=3.0):
    a = rng.normal(size=(d, d))
    return shift + rng.normal(size=(n, d)) @ a + 0.1 * rng.standard_t(5, size=(n, d))


def rel(a, b):
    a, b = np.asarray(a, float), np.asarray(b, float)
    return float(np.max(np.abs(a - b)) / max(np.max(np.abs(b)), 1e-300))


# ---------------------------------------------------------------------------------------------- densities


def test_moments_are_the_mle(rng):
    Z = _correlated(rng)
    g = GaussianModel.fit(Z)
    assert g.dim == 6 and g.n_samples == 400
    assert rel(g.mean, Z.mean(0)) < 1e-12
    assert rel(g.covariance, np.cov(Z, rowvar=False, bias=True)) < 1e-12
    import torch

    t = GaussianModel.fit(torch.from_numpy(Z).float())  # torch / float32 input: float64 inside
    assert rel(t.covariance, np.cov(Z.astype(np.float32).astype(np.float64), rowvar=False, bias=True)) < 1e-12
    assert rel(g.log_likelihood(torch.from_numpy(Z[:5])), g.log_likelihood(Z[:5])) < 1e-15


def test_logpdf_and_entropy_match_scipy(rng):
    Z = _correlated(rng)
    g = GaussianModel.fit(Z)
    ref = stats.multivariate_normal(g.mean, g.covariance)
    X = _correlated(rng, n=50) * 1.5  # points off the fitting set too
    assert rel(g.log_likelihood(X), ref.logpdf(X)) < 1e-8
    assert abs(g.entropy() - ref.entropy()) / abs(ref.entropy()) < 1e-8


def test_mahalanobis_matches_scipy_distance(rng):
    from scipy.spatial.distance import mahalanobis

    Z = _correlated(rng)
    g = GaussianModel.fit(Z)
    prec = np.linalg.inv(g.covariance)
    X = Z[:7]
    expect = np.array([mahalanobis(x, g.mean, prec) for x in X])
    assert rel(g.mahalanobis(X), expect) < 1e-8
    assert rel(g.mahalanobis_squared(X), expect**2) < 1e-8


def test_whitening_gives_zero_mean_identity_covariance(rng):
    Z = _correlated(rng, n=300, d=10)
    g = GaussianModel.fit(Z)
    Y = g.whiten(Z)
    assert np.max(np.abs(Y.mean(0))) < 1e-10
    assert np.max(np.abs(np.cov(Y, rowvar=False, bias=True) - np.eye(10))) < 1e-10
    # descending eigenvalue order, and unwhiten inverts whiten
    assert np.all(np.diff(g.eigenvalues) <= 0)
    assert rel(g.unwhiten(Y), Z) < 1e-12
    # W-CLIP form y = (x - mu) V Lambda^{-1/2}
    lam, V = np.linalg.eigh(g.covariance)
    y_ref = (Z - g.mean) @ V / np.sqrt(lam)
    assert rel(np.abs(Y[:, ::-1]), np.abs(y_ref)) < 1e-8  # same up to eigenvector sign


def test_zca_whitening_is_the_symmetric_inverse_square_root(rng):
    from scipy.linalg import sqrtm

    Z = _correlated(rng, n=300, d=10)
    g = GaussianModel.fit(Z)
    W = g.whiten(Z, axes="zca")
    ref = (Z - g.mean) @ np.linalg.inv(np.real(sqrtm(g.covariance)))  # (x - mu) Sigma^{-1/2}, sign-free
    assert rel(W, ref) < 1e-8
    assert np.max(np.abs(np.cov(W, rowvar=False, bias=True) - np.eye(10))) < 1e-10
    Y = g.whiten(Z)  # a rotation of the PCA-whitened rows: same norms, different coordinates
    np.testing.assert_allclose(np.linalg.norm(W, axis=1), np.linalg.norm(Y, axis=1), rtol=1e-12)
    with pytest.raises(InputError, match="unknown whitening axes"):
        g.whiten(Z, axes="ica")


def _kl_closed_form(m1, s1, m2, s2):
    d = len(m1)
    p2 = np.linalg.inv(s2)
    dm = m2 - m1
    return 0.5 * (np.trace(p2 @ s1) + dm @ p2 @ dm - d + np.linalg.slogdet(s2)[1] - np.linalg.slogdet(s1)[1])


def test_kl_closed_form_and_monte_carlo(rng):
    p = GaussianModel.fit(_correlated(rng, d=4))
    q = GaussianModel.fit(_correlated(rng, d=4, shift=2.5) * 1.3)
    expect = _kl_closed_form(p.mean, p.covariance, q.mean, q.covariance)
    assert abs(p.kl(q) - expect) / expect < 1e-8
    assert abs(p.kl(p)) < 1e-10
    assert p.kl(q) != pytest.approx(q.kl(p), rel=1e-3)  # not symmetric
    X = p.sample(200_000, seed=1)
    mc = np.mean(p.log_likelihood(X) - q.log_likelihood(X))
    se = np.std(p.log_likelihood(X) - q.log_likelihood(X)) / np.sqrt(len(X))
    assert abs(mc - expect) < 5 * se


def test_sample_has_the_model_moments(rng):
    g = GaussianModel.fit(_correlated(rng, d=3))
    X = g.sample(100_000, seed=3)
    assert X.shape == (100_000, 3)
    np.testing.assert_array_equal(X, g.sample(100_000, seed=3))
    assert np.max(np.abs(X.mean(0) - g.mean)) < 5 * np.sqrt(np.max(g.eigenvalues) / 1e5)
    assert rel(np.cov(X, rowvar=False), g.covariance) < 0.03
    # whitened samples: squared norms are chi2_d
    assert stats.kstest(g.mahalanobis_squared(X[:5000]), stats.chi2(3).cdf).pvalue > 1e-3


def test_constructor_and_one_dimension(rng):
    g = GaussianModel([1.0], [[4.0]])
    x = rng.normal(size=20)
    assert rel(g.log_likelihood(x[:, None]), stats.norm(1, 2).logpdf(x)) < 1e-12
    assert rel(g.log_likelihood(x), stats.norm(1, 2).logpdf(x)) < 1e-12
    with pytest.raises(InputError, match="symmetric"):
        GaussianModel([0, 0], [[1, 0.5], [0, 1]])


# ---------------------------------------------------------------------------------------------- shrinkage


@pytest.mark.parametrize(("name", "est"), [("ledoit-wolf", LedoitWolf), ("oas", OAS)])
def test_shrinkage_matches_sklearn(rng, name, est):
    Z = _correlated(rng, n=30, d=12)
    g = GaussianModel.fit(Z, shrinkage=name)
    ref = est().fit(Z)
    assert rel(g.covariance, ref.covariance_) < 1e-12
    assert g.shrinkage == pytest.approx(ref.shrinkage_, rel=1e-12)
    assert 0 < g.shrinkage < 1


def test_fixed_shrinkage_matches_sklearn(rng):
    Z = _correlated(rng)
    g = GaussianModel.fit(Z, shrinkage=0.3)
    assert rel(g.covariance, ShrunkCovariance(shrinkage=0.3).fit(Z).covariance_) < 1e-12
    S = np.cov(Z, rowvar=False, bias=True)
    assert rel(g.covariance, 0.7 * S + 0.3 * np.trace(S) / 6 * np.eye(6)) < 1e-12
    assert GaussianModel.fit(Z, shrinkage="0.3").shrinkage == 0.3


def test_singular_covariance_needs_shrinkage(rng):
    Z = rng.normal(size=(50, 5))
    Z[:, 2] = 7.0  # dead coordinate
    Z[:, 4] = 1e-17 * rng.normal(size=50) - 3.0  # numerically dead: spread at the rounding level of its magnitude
    with pytest.raises(InputError, match=r"singular.*dead.*2, 4.*shrinkage") as err:
        GaussianModel.fit(Z)
    assert "\n" not in str(err.value)
    assert dead_coordinates(Z).tolist() == [2, 4]
    assert GaussianModel.fit(np.delete(Z, [2, 4], axis=1)).dim == 3
    g = GaussianModel.fit(Z, shrinkage="ledoit-wolf")
    assert g.dead_coordinates.tolist() == [2, 4]
    assert np.isfinite(g.log_likelihood(Z)).all()
    # fewer rows than dimensions, no dead coordinate
    W = rng.normal(size=(8, 20))
    with pytest.raises(InputError, match="rank 7 of 20"):
        GaussianModel.fit(W)
    assert np.isfinite(GaussianModel.fit(W, shrinkage="oas").entropy())
    with pytest.raises(InputError, match="singular"):
        GaussianModel.fit(np.ones((10, 3)), shrinkage=0.5)  # nothing to shrink toward


def test_auto_shrinkage_is_plain_when_it_can_be_and_ledoit_wolf_otherwise(rng):
    Z = _correlated(rng)  # n >= 2d, full rank: the plain MLE, identical to shrinkage=None
    g = GaussianModel.fit(Z, shrinkage="auto")
    assert g.shrinkage_method == "none" and g.shrinkage == 0.0
    np.testing.assert_array_equal(g.covariance, GaussianModel.fit(Z).covariance)
    # rank-deficient features (a 64 -> 128 linear map, as a projection head makes): singular, so Ledoit-Wolf
    R = rng.normal(size=(1000, 4)) @ rng.normal(size=(4, 8))
    a = GaussianModel.fit(R, shrinkage="auto")
    assert a.shrinkage_method == "ledoit-wolf"
    np.testing.assert_allclose(a.covariance, GaussianModel.fit(R, shrinkage="ledoit-wolf").covariance, rtol=1e-12)
    W = rng.normal(size=(30, 20))  # non-singular but n < 2d: shrink
    assert GaussianModel.fit(W, shrinkage="auto").shrinkage_method == "ledoit-wolf"
    # the streaming fit decides the same way
    s = GaussianModel.fit_stream(np.array_split(R, 7), shrinkage="auto")
    assert s.shrinkage_method == "ledoit-wolf" and s.shrinkage == pytest.approx(a.shrinkage, rel=1e-10)


def test_bad_arguments(rng):
    Z = _correlated(rng)
    for bad in ("bogus", 1.5, -0.1, True):
        with pytest.raises(InputError):
            GaussianModel.fit(Z, shrinkage=bad)
    g = GaussianModel.fit(Z)
    with pytest.raises(InputError, match="dimension 6"):
        g.log_likelihood(Z[:, :4])
    with pytest.raises(InputError, match="NaN"):
        g.whiten(np.full((3, 6), np.nan))
    with pytest.raises(InputError, match="dimensions"):
        g.kl(GaussianModel.fit(Z[:, :3]))
    with pytest.raises(InputError):
        g.sample(-1)


# ---------------------------------------------------------------------------------------------- streaming


@pytest.mark.parametrize("shrinkage", [None, "ledoit-wolf", "oas", 0.2])
def test_stream_equals_in_memory(rng, shrinkage):
    Z = _correlated(rng, n=1003, d=9, shift=50.0)  # large offset: naive sums would lose digits
    sizes = [1, 7, 250, 3, 500, 242]
    blocks = np.split(Z, np.cumsum(sizes)[:-1])
    s = GaussianModel.fit_stream(blocks, shrinkage=shrinkage)
    m = GaussianModel.fit(Z, shrinkage=shrinkage)
    assert s.n_samples == m.n_samples == 1003
    assert rel(s.mean, m.mean) < 1e-10
    assert rel(s.covariance, m.covariance) < 1e-10
    assert s.shrinkage == pytest.approx(m.shrinkage, rel=1e-10, abs=1e-15)


def test_accumulator_merge_is_order_free(rng):
    Z = _correlated(rng, n=600, d=5)
    a, b, c = MomentAccumulator(), MomentAccumulator(), MomentAccumulator()
    a.update(Z[:100]).update(Z[100:250])
    b.update(Z[250:])
    c.update(Z[250:]).merge(MomentAccumulator().update(Z[:250]))
    a.merge(b)
    u = Z - Z.mean(0)
    q = np.sum(np.sum(u**2, 1) ** 2)
    for acc in (a, c):
        assert rel(acc.covariance, np.cov(Z, rowvar=False, bias=True)) < 1e-12
        assert rel(acc.q, q) < 1e-12
        assert rel(acc.t, u.T @ np.sum(u**2, 1)) < 1e-10
    with pytest.raises(InputError, match="columns"):
        a.update(Z[:5, :3])


# ---------------------------------------------------------------------------------------------- files


def test_save_load_round_trip(rng, tmp_path):
    Z = _correlated(rng)
    Z[:, 1] = 2.0
    g = GaussianModel.fit(Z, shrinkage="ledoit-wolf")
    path = g.save(tmp_path / "m.npz")
    h = GaussianModel.load(path)
    np.testing.assert_array_equal(h.mean, g.mean)
    np.testing.assert_array_equal(h.covariance, g.covariance)
    assert (h.n_samples, h.shrinkage, h.shrinkage_method) == (400, g.shrinkage, "ledoit-wolf")
    assert h.dead_coordinates.tolist() == [1]
    np.testing.assert_array_equal(h.log_likelihood(Z), g.log_likelihood(Z))
    with np.load(path, allow_pickle=False) as z:  # no pickled objects inside
        assert set(z.files) >= {"mean", "covariance"}
    assert list(tmp_path.iterdir()) == [path]  # no temp files left


def test_load_bad_files(tmp_path):
    with pytest.raises(InputError, match="no such model file"):
        GaussianModel.load(tmp_path / "missing.npz")
    (tmp_path / "junk.npz").write_bytes(b"not a zip file at all")
    with pytest.raises(InputError, match="cannot read"):
        GaussianModel.load(tmp_path / "junk.npz")
    np.savez(tmp_path / "other.npz", mean=np.zeros(3))
    with pytest.raises(InputError, match="not an infogauss"):
        GaussianModel.load(tmp_path / "other.npz")
    np.savez(tmp_path / "obj.npz", format=np.array([{"a": 1}], dtype=object))
    with pytest.raises(InputError):
        GaussianModel.load(tmp_path / "obj.npz")
    with pytest.raises(InputError, match=".npz"):
        GaussianModel([0.0], [[1.0]]).save(tmp_path / "m.pkl")


# ---------------------------------------------------------------------------------------------- CLI


def test_cli_fit_and_score(rng, tmp_path, capsys):
    Z = _correlated(rng, n=200, d=4)
    np.save(tmp_path / "z.npy", Z)
    model = tmp_path / "m.npz"
    assert main(["fit", str(tmp_path / "z.npy"), "--out", str(model), "--shrinkage", "oas"]) == 0
    assert "d=4" in capsys.readouterr().out
    g = GaussianModel.fit(Z, shrinkage="oas")
    for ext in ("npy", "csv", "npz"):
        out = tmp_path / f"s.{ext}"
        assert main(["score", str(model), str(tmp_path / "z.npy"), "--out", str(out)]) == 0
        if ext == "npy":
            S = np.load(out)
        elif ext == "csv":
            S = np.loadtxt(out, delimiter=",", skiprows=1)
            assert out.read_text().splitlines()[0] == "log_likelihood,mahalanobis,typicality,chi2_pvalue"
        else:
            with np.load(out) as z:
                S = np.column_stack([z["log_likelihood"], z["mahalanobis"], z["typicality"], z["chi2_pvalue"]])
        assert S.shape == (200, 4)  # the typicality and p-value columns: tests/test_score_cli.py
        assert rel(S[:, 0], g.log_likelihood(Z)) < 1e-12
        assert rel(S[:, 1], g.mahalanobis(Z)) < 1e-12
    assert "log-likelihood" in capsys.readouterr().out


def test_cli_streams_a_memory_map(rng, tmp_path, monkeypatch):
    import infogauss.gaussian
    import infogauss.io

    Z = _correlated(rng, n=300, d=5).astype(np.float32)
    np.save(tmp_path / "z.npy", Z)
    load = infogauss.io.load_embeddings
    monkeypatch.setattr(infogauss.io, "load_embeddings", functools.partial(load, mmap_bytes=0))  # force a memory map
    monkeypatch.setattr(infogauss.gaussian, "BLOCK_BYTES", 5 * 8 * 64)  # ... streamed in blocks of 64 rows
    assert isinstance(infogauss.io.load_embeddings(tmp_path / "z.npy"), np.memmap)
    seen = []
    orig = MomentAccumulator.update
    monkeypatch.setattr(MomentAccumulator, "update", lambda self, b: (seen.append(len(b)), orig(self, b))[1])
    assert main(["fit", str(tmp_path / "z.npy"), "--out", str(tmp_path / "m.npz"), "--shrinkage", "ledoit-wolf"]) == 0
    assert len(seen) == 5  # 300 rows in blocks of 64
    h = GaussianModel.load(tmp_path / "m.npz")
    g = GaussianModel.fit(Z.astype(np.float64), shrinkage="ledoit-wolf")
    assert rel(h.covariance, g.covariance) < 1e-10


def test_cli_errors_exit_2_without_output(rng, tmp_path, capsys):
    Z = rng.normal(size=(50, 3))
    Z[:, 0] = 1.0
    np.save(tmp_path / "z.npy", Z)
    out = tmp_path / "m.npz"
    assert main(["fit", str(tmp_path / "z.npy"), "--out", str(out)]) == 2
    err = capsys.readouterr().err
    assert err.startswith("infogauss: error:") and "shrinkage" in err and err.count("\n") == 1
    assert not out.exists()
    assert main(["fit", str(tmp_path / "nope.npy"), "--out", str(out)]) == 2
    assert main(["fit", str(tmp_path / "z.npy"), "--out", str(out), "--shrinkage", "lots"]) == 2
    assert main(["fit", str(tmp_path / "z.npy"), "--out", str(tmp_path / "m.txt"), "--shrinkage", "oas"]) == 2
    assert main(["fit", str(tmp_path / "z.npy"), "--out", str(out), "--shrinkage", "oas"]) == 0
    np.save(tmp_path / "w.npy", rng.normal(size=(20, 4)))
    scores = tmp_path / "s.npy"
    capsys.readouterr()
    assert main(["score", str(out), str(tmp_path / "w.npy"), "--out", str(scores)]) == 2
    assert "dimension 3" in capsys.readouterr().err
    (tmp_path / "bad.npz").write_bytes(b"garbage")
    assert main(["score", str(tmp_path / "bad.npz"), str(tmp_path / "z.npy"), "--out", str(scores)]) == 2
    assert main(["score", str(out), str(tmp_path / "z.npy"), "--out", str(tmp_path / "s.json")]) == 2
    assert not scores.exists()
    assert sorted(p.name for p in tmp_path.iterdir()) == ["bad.npz", "m.npz", "w.npy", "z.npy"]
