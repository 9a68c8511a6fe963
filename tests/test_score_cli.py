"""`infogauss score`'s OOD columns: typicality (distance from the thin shell) and the chi2_d p-value of the squared
Mahalanobis distance, in the CLI's files and from GaussianModel.scores / infogauss.typicality."""

import numpy as np
import pytest
from scipy import stats

from infogauss.cli import main
from infogauss.gaussian import SCORES, GaussianModel
from infogauss.gaussian_cli import is_scores_file
from infogauss.typicality import chi2_pvalue, typicality


def _model(rng, d=16):
    A = rng.normal(size=(d, d))
    return GaussianModel(rng.normal(size=d) * 3, A @ A.T + 0.5 * np.eye(d))


@pytest.mark.parametrize("seed", [0, 1, 2, 3])
def test_pvalues_of_the_models_own_samples_are_uniform(seed):
    rng = np.random.default_rng(seed)
    g = _model(rng)
    p = g.scores(g.sample(4000, seed=seed))["chi2_pvalue"]
    assert 0.0 <= p.min() and p.max() <= 1.0
    assert stats.kstest(p, "uniform").pvalue > 1e-3


def test_pvalues_are_not_uniform_off_the_model(rng):
    """The KS test above can fail: samples from a wider Gaussian (1.2x the scale) give p-values piled near 0."""
    g = _model(rng)
    X = g.mean + 1.2 * (g.sample(4000, seed=5) - g.mean)
    assert stats.kstest(g.scores(X)["chi2_pvalue"], "uniform").pvalue < 1e-10


def test_far_point_and_the_mean(rng):
    d = 16
    g = _model(rng, d)
    far = g.mean + 50 * np.sqrt(g.eigenvalues[0]) * g.eigenvectors[:, 0]  # 50 standard deviations out
    s = g.scores(np.vstack([far, g.mean]))
    assert s["chi2_pvalue"][0] < 1e-300 and s["typicality"][0] > 400
    # the mean: the highest density of all, yet never drawn in 16-d; p = 1 (one-sided), typicality flags it
    assert s["log_likelihood"][1] > g.log_likelihood(g.sample(1000, seed=1)).max()
    assert s["chi2_pvalue"][1] == 1.0
    assert s["typicality"][1] == pytest.approx(d / np.sqrt(2 * d))


def test_scores_formulas(rng):
    d = 9
    g = _model(rng, d)
    X = g.sample(500, seed=2) * 1.1
    s = g.scores(X)
    assert tuple(s) == SCORES
    m2 = g.mahalanobis_squared(X)
    np.testing.assert_allclose(s["log_likelihood"], g.log_likelihood(X), rtol=1e-14)
    np.testing.assert_allclose(s["mahalanobis"], g.mahalanobis(X), rtol=1e-14)
    np.testing.assert_allclose(s["chi2_pvalue"], stats.chi2(d).sf(m2), rtol=1e-12)
    np.testing.assert_allclose(s["typicality"], np.abs(m2 - d) / np.sqrt(2 * d), rtol=1e-14)
    # Nalisnick et al.'s one-input statistic |-log p(x) - H| is the same score, scaled by sqrt(2d) / 2
    nalisnick = np.abs(-s["log_likelihood"] - g.entropy())
    np.testing.assert_allclose(s["typicality"], nalisnick * 2 / np.sqrt(2 * d), rtol=1e-9)
    np.testing.assert_array_equal(typicality(m2, d), s["typicality"])
    np.testing.assert_array_equal(chi2_pvalue(m2, d), s["chi2_pvalue"])


def test_typicality_is_mean_d_on_the_fitting_rows(rng):
    """For a plain MLE fit the squared distances average exactly d over the fitting rows (tr(S^-1 S) = d), so the
    model's entropy H is the training mean of -log p that Nalisnick et al. estimate."""
    Z = rng.normal(size=(300, 7)) @ rng.normal(size=(7, 7)) + 4.0
    g = GaussianModel.fit(Z)
    assert np.mean(g.mahalanobis_squared(Z)) == pytest.approx(7, rel=1e-12)
    assert np.mean(-g.log_likelihood(Z)) == pytest.approx(g.entropy(), rel=1e-12)


def test_cli_writes_the_columns(rng, tmp_path, capsys):
    g = _model(rng, 8)
    Z = g.sample(2000, seed=4)
    W = np.vstack([g.sample(300, seed=6), g.mean + 40 * np.sqrt(g.eigenvalues[0]) * g.eigenvectors[:, 0]])
    np.save(tmp_path / "z.npy", Z)
    np.save(tmp_path / "w.npy", W)
    model = tmp_path / "m.npz"
    assert main(["fit", str(tmp_path / "z.npy"), "--out", str(model)]) == 0
    fitted = GaussianModel.load(model)
    expect = fitted.scores(W)
    for ext in ("npy", "npz", "csv"):
        out = tmp_path / f"s.{ext}"
        assert main(["score", str(model), str(tmp_path / "w.npy"), "--out", str(out)]) == 0
        if ext == "npy":
            cols = dict(zip(SCORES, np.load(out).T, strict=True))
        elif ext == "npz":
            with np.load(out) as z:
                cols = {k: z[k] for k in z.files}
        else:
            assert out.read_text().splitlines()[0] == "log_likelihood,mahalanobis,typicality,chi2_pvalue"
            cols = dict(zip(SCORES, np.loadtxt(out, delimiter=",", skiprows=1).T, strict=True))
        assert sorted(cols) == sorted(SCORES) and is_scores_file(out)
        for k in SCORES:
            np.testing.assert_allclose(cols[k], expect[k], rtol=1e-12, atol=1e-300)
        assert cols["chi2_pvalue"][-1] < 1e-100 and cols["typicality"][-1] > 100  # the far point
        assert stats.kstest(cols["chi2_pvalue"][:-1], "uniform").pvalue > 1e-3  # in distribution: uniform
    assert "chi2 p-value < 0.01" in capsys.readouterr().out


def test_cli_help_documents_the_columns(capsys):
    assert main(["score", "--help"]) == 0
    text = capsys.readouterr().out
    for col in SCORES:
        assert col in text
    assert "Nalisnick" in text and "chi2.sf" in text and "thin shell" in text


def test_old_two_column_files_are_still_ours(rng, tmp_path):
    np.save(tmp_path / "old.npy", rng.normal(size=(5, 2)))
    (tmp_path / "old.csv").write_text("log_likelihood,mahalanobis\n1,2\n")
    np.save(tmp_path / "other.npy", rng.normal(size=(5, 3)))
    assert is_scores_file(tmp_path / "old.npy") and is_scores_file(tmp_path / "old.csv")
    assert not is_scores_file(tmp_path / "other.npy")


def _auroc(inside, outside):
    """P(an OOD score exceeds an in-distribution one), ties halved (the Mann-Whitney U over n1 n2)."""
    return stats.mannwhitneyu(outside, inside).statistic / (len(inside) * len(outside))


def test_typicality_catches_what_the_likelihood_inverts(rng):
    """OOD rows inside the thin shell (the same Gaussian at 0.7x scale, d = 64) get a HIGHER likelihood than held-out
    rows, so -log p ranks them as in-distribution (AUROC near 0) and so does the one-sided p-value; typicality flags
    them. Outside the shell (1.3x) all three work."""
    g = _model(rng, 64)
    fit = GaussianModel.fit(g.sample(4000, seed=1))
    held = fit.scores(g.sample(1000, seed=2))
    for scale, lik_ok in ((0.7, False), (1.3, True)):
        ood = fit.scores(g.mean + scale * (g.sample(1000, seed=3) - g.mean))
        lik = _auroc(-held["log_likelihood"], -ood["log_likelihood"])
        pval = _auroc(-held["chi2_pvalue"], -ood["chi2_pvalue"])
        typ = _auroc(held["typicality"], ood["typicality"])
        assert typ > 0.95
        assert (lik > 0.95) if lik_ok else (lik < 0.05)
        assert pval == pytest.approx(lik, abs=1e-12)  # both are monotone in m2
