"""``infogauss reproduce`` for the CIFAR experiments at smoke scale (generated images): files, rows, paper values."""

import csv
import json

import pytest

from infogauss.cli import main
from infogauss.experiments import EXPERIMENTS, SCALES, experiment, reproduce
from infogauss.experiments.tables import REPORT_KEYS

CIFAR = ["table1-cifar", "fig4", "architectures"]


def test_registered_with_every_scale():
    for name in CIFAR:
        assert name in EXPERIMENTS
        module = experiment(name)
        assert set(module.SCALES) == set(SCALES)
        for scale in SCALES:
            assert module.SCALES[scale]["about"]
        assert module.SCALES["smoke"]["train"]["source"] == "tiny-cifar"
        assert "source" not in module.SCALES["cpu"]["train"]  # cpu and paper scales: CIFAR-10 itself


def _check_outputs(out, rows):
    files = {p.name for p in out.iterdir()}
    assert {"results.json", "results.md", "results.csv", "settings.json"} <= files
    assert any(f.endswith(".png") for f in files)
    saved = json.loads((out / "results.json").read_text())
    assert saved == json.loads(json.dumps(rows))
    names = [r["name"] for r in saved]
    assert len(names) == len(set(names)) > 0
    for row in saved:
        for key in REPORT_KEYS:
            assert key in row and row[key] is not None, (row["name"], key)
        assert 0.0 <= row["ad_pass_fraction"] <= 1.0 and 0.0 <= row["dp_pass_fraction"] <= 1.0
        assert isinstance(row["paper_verdict"], bool) and row["cv"] > 0
        assert "normalized_ad_mean" in row and "backbone_ad_mean" in row
    header = next(csv.reader((out / "results.csv").open()))
    assert header[0] == "name" and set(REPORT_KEYS) <= set(header)
    md = (out / "results.md").read_text()
    assert md.startswith("# ") and "| name |" in md and "not CIFAR-10" in md
    return saved, md


def test_table1_cifar_smoke(tmp_path):
    out = tmp_path / "t1"
    rows = reproduce("table1-cifar", "smoke", 1, out, progress=False)
    saved, md = _check_outputs(out, rows)
    assert [r["name"] for r in saved] == ["supervised", "contrastive"]
    sup, con = saved
    assert sup["same_init"] is True and con["same_init"] is True
    assert sup["representation"] == con["representation"] == "head" and sup["d"] == 16 and sup["backbone_d"] == 32
    assert sup["head_cv"] == sup["cv"] and sup["backbone_cv"] != sup["cv"]
    assert "test_accuracy" in sup and "test_accuracy" not in con and "knn_accuracy" in con
    assert "/ 0.5" in md and "/ 0.09" in md and "/ 3.3" in md  # the paper's CVs and supervised AD beside ours
    assert {"table1_cifar_training.png", "table1_cifar_norms.png"} <= {p.name for p in out.iterdir()}


def test_fig4_smoke(tmp_path):
    out = tmp_path / "f4"
    rows = reproduce("fig4", "smoke", 1, out, progress=False)
    saved, md = _check_outputs(out, rows)
    assert [r["epoch"] for r in saved] == [0, 1, 2] and [r["name"] for r in saved] == ["epoch_0", "epoch_1", "epoch_2"]
    assert all(r["representation"] == "backbone" and r["d"] == 16 for r in saved)
    curve = list(csv.DictReader((out / "fig4_curve.csv").open()))
    assert [float(c["cv"]) for c in curve] == pytest.approx([r["cv"] for r in saved])
    assert "0.157" in md  # the poster's final CV is listed
    assert (out / "fig4.png").is_file()


def test_architectures_smoke_via_cli(tmp_path, capsys):
    out = tmp_path / "arch"
    argv = ["reproduce", "architectures", "--scale", "smoke", "--out", str(out), "--quiet", "--device", "cpu"]
    assert main(argv) == 0
    saved = json.loads((out / "results.json").read_text())
    encoders = experiment("architectures").SCALES["smoke"]["encoders"]
    assert len(saved) == 2 * len(encoders)
    assert {r["architecture"] for r in saved} == {e[0] for e in encoders}
    assert {r["objective"] for r in saved} == {"infonce", "supervised"}
    assert all(r["same_init"] for r in saved)
    assert "results written to" in capsys.readouterr().out


def test_missing_cifar_file_is_a_one_line_error(tmp_path, capsys, monkeypatch):
    monkeypatch.setenv("INFOGAUSS_CIFAR10", str(tmp_path / "missing.npz"))
    code = main(["reproduce", "fig4", "--scale", "cpu", "--out", str(tmp_path / "f"), "--quiet", "--device", "cpu"])
    err = capsys.readouterr().err
    assert code == 2 and err.startswith("infogauss: error:") and "INFOGAUSS_CIFAR10" in err and err.count("\n") == 1
    assert not (tmp_path / "f").exists()  # nothing half-written
