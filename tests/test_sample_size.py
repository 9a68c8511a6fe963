"""``reproduce sample-size``: the paper's AD rule against the number of test points n."""

import json
import math

import numpy as np
import pytest
from scipy import integrate, stats

from infogauss.experiments import reproduce
from infogauss.experiments.sample_size import by_sample_size, crossing, with_crossing
from infogauss.stats import anderson_darling


def test_crossing_interpolates_in_log_log():
    t = (math.log(0.752) - math.log(0.5)) / (math.log(1.0) - math.log(0.5))
    how, n = crossing([10, 100, 1000], [0.5, 1.0, 2.0])
    assert how == "=" and n == pytest.approx(10 ** (1 + t))
    assert crossing([10, 100], [0.4, 0.5]) == (">", 100.0)  # below on the whole grid
    assert crossing([10, 100], [0.9, 5.0]) == ("<", 10.0)  # above already at the smallest n
    rows = with_crossing([{"name": "a", "ad_n10": 0.4, "ad_n100": 0.5}, {"name": "b", "ad_n10": 0.5, "ad_n100": 1.0}])
    assert [r["n_star_text"] for r in rows] == ["> 100", f"≈ {10 ** (1 + t):.0f}"]
    assert rows[0]["n_star"] is None and rows[1]["n_star"] == pytest.approx(10 ** (1 + t))


def test_all_rows_is_the_whole_sample_once():
    z = np.random.default_rng(0).exponential(size=(300, 5))
    out = by_sample_size(z, [300, 600], 7, np.random.default_rng(1))
    assert list(out) == [300]  # sizes above the number of rows are skipped
    a2 = np.asarray(anderson_darling(z, axis=0).statistic)
    assert out[300]["ad_mean"] == pytest.approx(a2.mean(), rel=1e-12) and out[300]["ad_mean_sd"] == 0.0
    assert out[300]["ad_pass_fraction"] == pytest.approx((a2 < 0.752).mean())
    assert out[300]["dp_pass_fraction"] == pytest.approx((stats.normaltest(z, axis=0).pvalue > 0.05).mean())


def _ad_distance_exponential() -> float:
    """ω² = ∫ (F - G)² / (G (1 - G)) dG: the AD distance of Exp(1) from the normal with its mean and variance, whose
    n-multiple A² approaches (Anderson & Darling 1952)."""

    def integrand(x):  # F - G as a difference of survival functions where x > 0: no cancellation in the tail
        g, s = stats.norm.cdf(x, 1.0, 1.0), stats.norm.sf(x, 1.0, 1.0)
        diff = -g if x < 0 else s - math.exp(-x)
        return diff**2 / (g * s) * stats.norm.pdf(x, 1.0, 1.0)

    return sum(integrate.quad(integrand, a, b, limit=200)[0] for a, b in [(-9, 0), (0, 1), (1, 11)])


def test_ad_grows_with_n_off_the_null_and_is_flat_on_it():
    rng = np.random.default_rng(2)
    expo = by_sample_size(rng.exponential(size=(20000, 4)), [100, 1000, 20000], 10, rng)
    ads = [expo[n]["ad_mean"] for n in (100, 1000, 20000)]
    assert ads[0] < ads[1] < ads[2]
    assert ads[2] / 20000 == pytest.approx(_ad_distance_exponential(), rel=0.1)  # A² ≈ n ω² for large n
    gauss = by_sample_size(rng.standard_normal((5000, 20)), [50, 500, 5000], 20, rng)
    for n, c in gauss.items():  # mean A² under the null ≈ 0.38 at every n (400 A² values per n; sd ≈ 0.3 each)
        assert 0.3 < c["ad_mean"] < 0.47, n
        assert 0.88 < c["ad_pass_fraction"] <= 1.0 and 0.88 < c["dp_pass_fraction"] <= 1.0, n


def test_smoke_run_matches_fig4_at_the_whole_test_set(tmp_path):
    out = tmp_path / "ss"
    rows = reproduce("sample-size", "smoke", 1, out, progress=False)
    saved = json.loads((out / "results.json").read_text())
    assert saved == json.loads(json.dumps(rows))
    assert [r["name"] for r in saved] == ["epoch_0", "epoch_2", "gaussian"]
    assert {"sample_size.png", "index.html"} <= {p.name for p in out.iterdir()}
    md = (out / "results.md").read_text()
    assert "n at AD avg = 0.752" in md and "0.57 at epoch 100" in md
    # n = 64 is the whole smoke test set: the value reproduce fig4 reports for the same model (same seed, batches)
    f4 = {r["epoch"]: r for r in reproduce("fig4", "smoke", 1, tmp_path / "f4", progress=False)}
    for r in saved[:2]:
        assert r["ad_n64"] == pytest.approx(f4[r["epoch"]]["ad_mean"], rel=1e-9)
        assert r["cv"] == pytest.approx(f4[r["epoch"]]["cv"], rel=1e-9)


def test_notes_name_the_crossing_of_every_kind():
    from infogauss.experiments.sample_size import explain

    rows = [{"name": "epoch_10", "epoch": 10.0, "ad_n50": 0.5, "ad_n500": 2.0},  # a mean over seeds is a float
            {"name": "epoch_0", "epoch": 0, "ad_n50": 0.4, "ad_n500": 0.5},
            {"name": "epoch_5", "epoch": 5, "ad_n50": 0.9, "ad_n500": 9.0},
            {"name": "gaussian", "epoch": None, "ad_n50": 0.39, "ad_n500": 0.38}]  # fmt: skip
    text = explain(rows)
    assert "holds for n below ≈" in text[0] and "at every n ≤ 500" in text[1] and "already at n = 50" in text[2]
    assert text[3].startswith("Gaussian reference") and text[0].startswith("Epoch 10: ")


@pytest.mark.parametrize("override, words", [("repeats=0", "repeats must be >= 1"),
                                              ("n=4,16", "n must list test-set sizes >= 8"),
                                              ("epochs_at=0,5", "epochs_at must list epochs in [0, train.epochs=2]")])
def test_bad_settings_are_one_line_errors(tmp_path, capsys, override, words):
    from infogauss.cli import main

    out = tmp_path / "ss"
    assert main(["reproduce", "sample-size", "--scale", "smoke", "--quiet", "--out", str(out), override]) == 2
    err = capsys.readouterr().err.strip()
    assert words in err and len(err.splitlines()) == 1 and not out.exists()
