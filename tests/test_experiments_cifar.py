"""``infogauss reproduce`` for the CIFAR experiments at smoke scale (generated images): files, rows, paper values."""

import csv
import json

import pytest

from infogauss.cli import main
from infogauss.errors import InputError
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


@pytest.fixture(scope="module")
def t1_smoke(tmp_path_factory):
    """One table1-cifar smoke run (folder, rows) shared by the tests that only read it."""
    out = tmp_path_factory.mktemp("t1") / "t1"
    return out, reproduce("table1-cifar", "smoke", 1, out, progress=False)


def test_table1_cifar_smoke(t1_smoke):
    out, rows = t1_smoke
    saved, md = _check_outputs(out, rows)
    assert [r["name"] for r in saved] == ["supervised", "contrastive"]
    sup, con = saved
    assert sup["same_init"] is True and con["same_init"] is True
    assert sup["representation"] == con["representation"] == "head" and sup["d"] == 16 and sup["backbone_d"] == 32
    assert sup["head_cv"] == sup["cv"] and sup["backbone_cv"] != sup["cv"]
    assert "test_accuracy" in sup and "test_accuracy" not in con and "knn_accuracy" in con
    assert "/ 0.5" in md and "/ 0.09" in md and "/ 3.3" in md  # the paper's CVs and supervised AD beside ours
    assert {"table1_cifar_training.png", "table1_cifar_norms.png"} <= {p.name for p in out.iterdir()}


@pytest.mark.parametrize("name,group", [("table1-cifar", "train"), ("whitening", "train"), ("pretrained", "cifar"),
                                        ("ood", "train")])  # fmt: skip
def test_bf16_and_channels_last_are_settings_of_the_resnet_experiments(name, group):
    from infogauss.experiments.common import Context, train_config
    from infogauss.options import apply_settings

    for scale in ("smoke", "cpu"):
        s = apply_settings(experiment(name).SCALES[scale], [f"{group}.amp=bf16", f"{group}.channels_last=true"])
        assert s[group]["amp"] == "bf16" and s[group]["channels_last"] is True
        assert experiment(name).SCALES[scale][group]["amp"] == "none"  # float32 unless asked
        cfg = train_config(Context(seed=0, device="cpu", settings=s), "cifar-resnet18", **s[group])
        assert cfg.amp == "bf16" and cfg.channels_last is True


def test_table1_cifar_smoke_bf16_channels_last(tmp_path):
    out = tmp_path / "t1"
    rows = reproduce("table1-cifar", "smoke", 1, out, progress=False,
                     overrides=["train.amp=bf16", "train.channels_last=true"])  # fmt: skip
    assert json.loads((out / "settings.json").read_text())["settings"]["train"]["amp"] == "bf16"
    for row in rows:
        assert row["cv"] > 0 and row["ad_mean"] > 0 and 0 <= row["ad_pass_fraction"] <= 1


def test_table1_cifar_saves_its_encoders_for_reuse(t1_smoke):
    """encoders/<name>/ is an `infogauss export` of the trained model: it loads (safetensors) and embeds the test
    images exactly as the run measured them."""
    import numpy as np
    import torch

    from infogauss.export import load_trained

    out, rows = t1_smoke
    for row in rows:
        model, desc = load_trained(out / "encoders" / row["name"])
        assert desc["architecture"]["objective"] == {"supervised": "supervised", "contrastive": "infonce"}[row["name"]]
        assert desc["architecture"]["width"] == 4 and desc["in_dim"] == 3 * 32 * 32
        assert sum(p.numel() for p in model.parameters()) > 0
    from infogauss.data.images import make_image_source

    test = make_image_source("tiny-cifar", seed=0, device="cpu", **{"n": 256, "n_test": 64}).test_set
    model, _ = load_trained(out / "encoders" / "contrastive")
    with torch.no_grad():
        head = model.representations(test.normalize(test.x.float().div(255.0)))["head"].double().numpy()
    norms = np.linalg.norm(head, axis=1)
    assert abs(norms.std() / norms.mean() - rows[1]["cv"]) < 1e-4  # the saved model is the measured one


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


def _saved_figures(monkeypatch):
    """Capture every matplotlib figure saved while the test runs (path name -> figure)."""
    import matplotlib.figure

    saved = {}
    original = matplotlib.figure.Figure.savefig

    def keep(fig, fname, *args, **kwargs):
        saved[getattr(fname, "name", str(fname))] = fig
        return original(fig, fname, *args, **kwargs)

    monkeypatch.setattr(matplotlib.figure.Figure, "savefig", keep)
    return saved


def test_fig4_png_ad_axis_is_log_with_threshold_line(tmp_path, monkeypatch):
    from infogauss.constants import AD_THRESHOLD

    figs = _saved_figures(monkeypatch)
    reproduce("fig4", "smoke", 1, tmp_path / "f4", progress=False)
    ad_axis = figs["fig4.png"].axes[1]
    assert ad_axis.get_title() == "AD avg" and ad_axis.get_yscale() == "log"
    assert any(list(line.get_ydata()) == [AD_THRESHOLD, AD_THRESHOLD] for line in ad_axis.get_lines())
    assert figs["fig4.png"].axes[0].get_yscale() == "linear"  # CV stays linear


@pytest.fixture
def ablation(monkeypatch):
    monkeypatch.setitem(EXPERIMENTS, "fig4-ablation", "infogauss.experiments.fig4_ablation")
    return experiment("fig4-ablation")


def test_fig4_ablation_smoke(tmp_path, ablation, monkeypatch):
    figs = _saved_figures(monkeypatch)
    out = tmp_path / "abl"
    rows = reproduce("fig4-ablation", "smoke", 1, out, progress=False)
    by = {r["name"]: r for r in json.loads((out / "results.json").read_text())}
    assert list(by) == list(ablation.VARIANTS)
    base = by["default"]
    assert base["epoch"] == 2 and base["delta_ad_vs_default"] == 0.0
    # re-evaluations of the default's model: its normalised half, and augmented views that differ from clean images
    assert by["eval_normalized"]["ad_mean"] == pytest.approx(base["normalized_ad_mean"])
    assert by["eval_augmented"]["ad_mean"] != pytest.approx(base["ad_mean"])
    assert by["eval_augmented"].get("wall_s") is None and base["wall_s"] > 0  # re-evaluations train nothing
    # same initialisation wherever only the optimiser changes; a different one where the model changes
    for name in ("lr_1e-4", "lr_3e-3"):
        assert by[name]["before_ad_mean"] == base["before_ad_mean"] and by[name]["ad_mean"] != base["ad_mean"]
    assert by["d32"]["d"] == 32 and by["d512"]["d"] == 512 and base["d"] == 16
    assert by["no_input_norm"]["before_ad_mean"] != base["before_ad_mean"]
    for r in rows:
        assert r["delta_ad_vs_default"] == pytest.approx(r["ad_mean"] - base["ad_mean"])
    md = (out / "results.md").read_text()
    assert "One factor at a time" in md and "Lowest AD avg at epoch 2" in md and "not CIFAR-10" in md
    ax = figs["fig4_ablation.png"].axes[0]
    assert ax.get_yscale() == "log"  # the poster's first point (epoch 10) is drawn when it has none at epoch 2
    assert any(list(line.get_ydata()) == [0.81, 0.81] for line in ax.get_lines())
    # the default is the fig4 run itself: same seed, same batches, same numbers at the same epoch
    f4 = {r["epoch"]: r for r in reproduce("fig4", "smoke", 1, tmp_path / "f4", progress=False)}
    assert base["ad_mean"] == pytest.approx(f4[2]["ad_mean"]) and base["cv"] == pytest.approx(f4[2]["cv"])


def test_fig4_ablation_model_edits(ablation):
    import torch

    from infogauss.data.images import make_image_source
    from infogauss.vision import make_vision_encoder

    src = make_image_source("tiny-cifar", n=64, n_test=16)
    torch.manual_seed(0)
    model = make_vision_encoder("mlp", width=8, out_dim=4)
    plain = make_vision_encoder("mlp", width=8, out_dim=4)
    plain.load_state_dict(model.state_dict())
    ablation.edit_model(model, src, pixels="raw", output_bias=False)
    x = next(src.test_images(8))[0]
    pixels = x * src.train_set.std + src.train_set.mean  # what the edited MLP sees: [0, 1] pixels
    assert float(pixels.min()) >= -1e-6 and float(pixels.max()) <= 1 + 1e-6
    with torch.no_grad():
        plain.backbone[-1].bias.zero_()
        assert torch.allclose(model.embed(x), plain.embed(pixels), atol=1e-6)
    last = model.backbone[-1][-1]
    assert not last.bias.requires_grad and torch.count_nonzero(last.bias) == 0


def test_fig4_ablation_unknown_variant(tmp_path, ablation):
    from infogauss.errors import InputError

    with pytest.raises(InputError, match="unknown fig4-ablation variant"):
        reproduce("fig4-ablation", "smoke", 1, tmp_path / "x", progress=False, overrides=['variants=["nope"]'])


def test_fig4_from_an_engine_run_folder(tmp_path):
    """``from_run=DIR`` tabulates an `infogauss train` folder (finished or not) as the trained fig4 does."""
    from infogauss.experiments.common import Context, train_config
    from infogauss.train import train

    f4 = experiment("fig4")
    smoke = f4.SCALES["smoke"]["train"]
    cfg = train_config(Context({}, 0, progress=False), f4.PRESET, **smoke).replace(out=str(tmp_path / "run"))
    train(cfg, progress=False)
    # the engine files record source=tiny-cifar: read_run refuses anything but an InfoNCE MLP on cifar10
    with pytest.raises(InputError, match="InfoNCE MLP on cifar10"):
        f4.read_run(tmp_path / "run")
    conf = json.loads((tmp_path / "run" / "config.json").read_text())
    (tmp_path / "run" / "config.json").write_text(json.dumps({**conf, "source": "cifar10"}))
    got = reproduce("fig4", "smoke", 1, tmp_path / "read", progress=False, overrides=[f"from_run={tmp_path / 'run'}"])
    trained = reproduce("fig4", "smoke", 1, tmp_path / "trained", progress=False)
    assert [r["epoch"] for r in got] == [r["epoch"] for r in trained] == [0, 1, 2]
    for a, b in zip(got, trained, strict=True):
        assert a["ad_mean"] == pytest.approx(b["ad_mean"]) and a["cv"] == pytest.approx(b["cv"])
        assert a["passes_at"] == b["passes_at"] and a["n_train"] == b["n_train"]
    assert "Rows read from the engine run" in (tmp_path / "read" / "results.md").read_text()
    with pytest.raises(InputError, match="not a training folder"):
        f4.read_run(tmp_path / "nothing")


def test_whitening_and_pretrained_reuse_table1_cifars_encoders(tmp_path, monkeypatch, t1_smoke):
    """encoders_from=DIR measures table1-cifar's saved encoders instead of training new ones (same numbers)."""
    import infogauss.experiments.common as common

    t1, rows = t1_smoke
    first = {r["name"]: r for r in rows}

    def no_training(*args, **kwargs):
        raise AssertionError("trained although encoders_from was given")

    monkeypatch.setattr(common, "train", no_training)
    monkeypatch.setenv("HF_HUB_OFFLINE", "1")
    pytest.importorskip("sentence_transformers")
    rows = reproduce("whitening", "smoke", 1, tmp_path / "w", progress=False, overrides=[f"encoders_from={t1}"])
    raw = next(r for r in rows if r["name"] == "cifar/raw")
    assert raw["encoders_from"] == str(t1) and abs(raw["cv"] - first["contrastive"]["cv"]) < 1e-6
    rows = reproduce("pretrained", "smoke", 1, tmp_path / "p", progress=False, overrides=[f"encoders_from={t1}"])
    sup = [r for r in rows if r.get("training") == "supervised"]
    assert sup and all(r["encoders_from"] == str(t1) for r in sup)
    assert any(abs(r["cv"] - first["supervised"]["backbone_cv"]) < 1e-6 for r in sup if r.get("cv") is not None)


def test_encoders_from_a_wrong_folder_is_a_one_line_error(tmp_path, capsys):
    (tmp_path / "empty").mkdir()
    argv = ["reproduce", "whitening", "--scale", "smoke", "--quiet", "--out", str(tmp_path / "w"),
            f"encoders_from={tmp_path / 'empty'}"]  # fmt: skip
    assert main(argv) == 2
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and "encoders_from=" in err and "table1-cifar" in err
    assert not (tmp_path / "w").exists()
