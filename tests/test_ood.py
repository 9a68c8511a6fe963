"""infogauss.ood: AUROC (against scikit-learn), the Gaussian scores and the two baselines on data with known answers."""

import math
import tracemalloc

import numpy as np
import pytest

from infogauss.errors import InputError
from infogauss.ood import SCORES, ClassMahalanobis, DensityScores, GaussianScores, auroc, knn_cosine, typicality

# ---------------------------------------------------------------------------------------------- AUROC


def test_auroc_orientation_and_ties_by_hand():
    assert auroc([0.0, 1.0], [2.0, 3.0]) == 1.0
    assert auroc([2.0, 3.0], [0.0, 1.0]) == 0.0
    assert auroc([1.0], [1.0]) == 0.5
    assert auroc([5.0, 5.0, 5.0], [5.0, 5.0]) == 0.5
    # pairs (out > in): (1 vs 0) 1, (1 vs 1) 1/2, (2 vs 0) 1, (2 vs 1) 1 -> 3.5 / 4
    assert auroc([0.0, 1.0], [1.0, 2.0]) == 0.875


def test_auroc_equals_sklearn_with_and_without_ties(rng):
    from sklearn.metrics import roc_auc_score

    for a, b in [
        (rng.normal(size=300), rng.normal(0.7, 1.0, size=200)),
        (rng.integers(0, 5, size=400).astype(float), rng.integers(1, 6, size=150).astype(float)),  # many ties
        (rng.normal(size=7), rng.normal(size=1)),
    ]:
        want = roc_auc_score(np.r_[np.zeros(a.size), np.ones(b.size)], np.r_[a, b])
        assert auroc(a, b) == pytest.approx(want, abs=1e-12)


def test_auroc_refuses_empty_or_nan():
    with pytest.raises(InputError, match="both sides"):
        auroc([], [1.0])
    with pytest.raises(InputError, match="NaN"):
        auroc([np.nan, 1.0], [1.0])


# ---------------------------------------------------------------------------------------------- Gaussian scores


def test_gaussian_scores_match_scipy_and_the_chi2_shell(rng):
    from scipy.stats import multivariate_normal

    Z = rng.normal(size=(2000, 5)) @ rng.normal(size=(5, 5)) + 3.0
    X = rng.normal(size=(10, 5))
    g = GaussianScores(Z)
    mu, cov = Z.mean(axis=0), np.cov(Z.T, bias=True)
    np.testing.assert_allclose(g.nll(X), -multivariate_normal(mu, cov).logpdf(X), rtol=1e-10)
    m2 = np.einsum("ij,jk,ik->i", X - mu, np.linalg.inv(cov), X - mu)
    np.testing.assert_allclose(g.typicality(X), np.abs(m2 - 5) / math.sqrt(10), rtol=1e-8)
    assert g.typicality(mu[None])[0] == pytest.approx(math.sqrt(5 / 2))  # the mode: m2 = 0 -> d / sqrt(2d)
    assert typicality([4.0, 6.0, 4.0 + math.sqrt(8)], 4).tolist() == pytest.approx([0.0, 2 / math.sqrt(8), 1.0])
    with pytest.raises(InputError, match="columns"):
        g.nll(np.zeros((3, 4)))


def test_typicality_flags_points_near_the_mode_that_the_likelihood_prefers(rng):
    d = 32
    g = GaussianScores(rng.normal(size=(4000, d)))
    inside, shrunk = rng.normal(size=(500, d)), 0.3 * rng.normal(size=(500, d))  # shrunk: near the mode, atypical
    assert auroc(g.nll(inside), g.nll(shrunk)) < 0.01  # the likelihood calls the shrunk points the most typical
    assert auroc(g.typicality(inside), g.typicality(shrunk)) > 0.99
    assert np.median(g.typicality(inside)) < 1.0  # in-distribution points sit within ~1 chi2 std of the shell


# ---------------------------------------------------------------------------------------------- class Mahalanobis


def test_class_mahalanobis_matches_the_direct_formula(rng):
    from scipy.spatial.distance import mahalanobis

    y = np.repeat([3, 7, 9], 100)
    Z = rng.normal(size=(300, 4)) + 3.0 * np.eye(4)[np.searchsorted([3, 7, 9], y)]
    X = rng.normal(size=(6, 4))
    s = ClassMahalanobis(Z, y)
    means = np.stack([Z[y == c].mean(axis=0) for c in (3, 7, 9)])
    inv = np.linalg.inv(np.cov((Z - means[np.searchsorted([3, 7, 9], y)]).T, bias=True))
    direct = [min(mahalanobis(x, m, inv) ** 2 for m in means) for x in X]  # squared, min over classes
    np.testing.assert_allclose(s(X), direct, rtol=1e-8)
    np.testing.assert_allclose(s(X, block=2), direct, rtol=1e-8)
    np.testing.assert_array_equal(s.classes, [3, 7, 9])


def test_class_mahalanobis_flags_the_gap_between_clusters_that_one_gaussian_calls_typical(rng):
    d, n = 8, 1000
    y = np.repeat([0, 1], n)
    Z = rng.normal(size=(2 * n, d)) + 10.0 * np.where(y[:, None] == 0, -1.0, 1.0) * np.eye(d)[0]
    gap = rng.normal(size=(200, d))  # around the overall mean, between the two clusters
    inside = rng.normal(size=(200, d)) + 10.0 * np.eye(d)[0]
    cm = ClassMahalanobis(Z, y)
    assert np.median(cm(inside)) == pytest.approx(d, rel=0.25)  # chi2_d around its own class mean
    assert np.median(cm(gap)) > 90  # ~ 10^2 away from either mean in units of the unit shared std
    assert auroc(cm(inside), cm(gap)) > 0.99
    assert auroc(GaussianScores(Z).nll(inside), GaussianScores(Z).nll(gap)) < 0.5  # one Gaussian prefers the gap


def test_class_mahalanobis_at_column_scales_1e12_apart_and_far_from_the_origin(rng):
    y = np.repeat([0, 1], 500)
    U = rng.normal(size=(1000, 3)) + 4.0 * np.eye(3)[y]
    scale, offset = np.array([1e-6, 1.0, 1e6]), np.array([1e3, -1e9, 1e12])
    X = rng.normal(size=(5, 3))
    want = ClassMahalanobis(U, y)(X)  # the same data in well-scaled units
    np.testing.assert_allclose(ClassMahalanobis(U * scale + offset, y)(X * scale + offset), want, rtol=1e-6)


def test_class_mahalanobis_needs_matching_labels(rng):
    with pytest.raises(InputError, match="labels"):
        ClassMahalanobis(rng.normal(size=(10, 2)), [0, 1])


# ---------------------------------------------------------------------------------------------- kNN cosine


def test_knn_cosine_by_hand():
    bank = np.array([[1.0, 0.0], [0.0, 2.0], [-3.0, 0.0]])
    X = np.array([[5.0, 0.0], [1.0, 1.0], [0.0, -1.0], [0.0, 0.0]])
    np.testing.assert_allclose(knn_cosine(bank, X), [0.0, 1 - 1 / math.sqrt(2), 1.0, 1.0], atol=1e-12)
    np.testing.assert_allclose(knn_cosine(bank, X, k=2), [1.0, 1 - 1 / math.sqrt(2), 1.0, 1.0], atol=1e-12)
    np.testing.assert_allclose(knn_cosine(bank, X, k=3), [2.0, 1 + 1 / math.sqrt(2), 2.0, 1.0], atol=1e-12)
    for k in (0, 4, 1.5, True):
        with pytest.raises(InputError, match="k must be"):
            knn_cosine(bank, X, k=k)


def test_knn_cosine_matches_brute_force_in_blocks(rng):
    from scipy.spatial.distance import cdist

    bank, X = rng.normal(size=(300, 6)), rng.normal(size=(101, 6))
    full = np.sort(cdist(X, bank, metric="cosine"), axis=1)
    for k in (1, 5):
        got = knn_cosine(bank, X, k, block_bytes=8 * 300 * 7)  # 7 query rows per block, 15 blocks
        np.testing.assert_allclose(got, full[:, k - 1], atol=1e-12)


def test_knn_cosine_memory_stays_within_the_block(rng):
    bank = rng.normal(size=(2000, 4))
    X = rng.normal(size=(20000, 4))  # the full similarity matrix would be 320 MB
    tracemalloc.start()
    try:
        knn_cosine(bank, X, block_bytes=2**20)
        peak = tracemalloc.get_traced_memory()[1]
    finally:
        tracemalloc.stop()
    assert peak < 8 * 2**20


# ---------------------------------------------------------------------------------------------- all at once


def test_density_scores_returns_every_score(rng):
    y = np.repeat([0, 1], 200)
    Z = rng.normal(size=(400, 3)) + 4.0 * np.eye(3)[y]
    s = DensityScores(Z, y)
    out = s(rng.normal(size=(9, 3)))
    assert set(SCORES) <= set(out) and all(out[k].shape == (9,) for k in out)
    np.testing.assert_allclose(out["loglik"], -out["_ll"])
    np.testing.assert_allclose(out["typicality"], np.abs(out["_m2"] - 3) / math.sqrt(6))
    assert s.shell == pytest.approx(3, rel=0.4)
    # one Gaussian: -log p is increasing in m2, so the two rank identically
    a, b = s(Z[:50]), s(rng.normal(size=(50, 3)) * 3)
    assert auroc(a["loglik"], b["loglik"]) == auroc(a["_m2"], b["_m2"])
