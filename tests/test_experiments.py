"""``infogauss reproduce``: every experiment at smoke scale, the Prop. 1 bound check, outputs, and bad input."""

import json
import math
import sys
import types

import numpy as np
import pytest

from infogauss.cli import main
from infogauss.errors import InputError
from infogauss.experiments import EXPERIMENTS, reproduce
from infogauss.experiments.bound import bound_check, hgr_channel
from infogauss.experiments.tables import REPORT_KEYS, aggregate

SYNTHETIC = ["table1-synthetic", "fig3", "fig2", "fig11", "bound", "regularizer"]


# ---------------------------------------------------------------------------------------------------- smoke runs


@pytest.mark.parametrize("name", SYNTHETIC)
def test_smoke_writes_every_file_with_the_report_keys(name, tmp_path):
    out = tmp_path / name
    rows = reproduce(name, "smoke", 1, out, progress=False)
    files = {p.name for p in out.iterdir()}
    assert {"results.json", "results.md", "results.csv", "settings.json"} <= files
    assert any(f.endswith(".png") for f in files)
    saved = json.loads((out / "results.json").read_text())
    assert isinstance(saved, list) and saved == json.loads(json.dumps(rows))
    names = [r["name"] for r in saved]
    assert len(names) == len(set(names)) > 0
    for row in saved:
        for key in REPORT_KEYS:
            assert key in row, (name, row["name"], key)
        assert 0.0 <= row["ad_pass_fraction"] <= 1.0 and 0.0 <= row["dp_pass_fraction"] <= 1.0
        assert row["cv"] > 0 and isinstance(row["paper_verdict"], bool)
    header = (out / "results.csv").read_text().splitlines()[0].split(",")
    assert header[0] == "name" and set(REPORT_KEYS) <= set(header)
    md = (out / "results.md").read_text()
    assert md.startswith("# ") and "| name |" in md
    assert not [p for p in tmp_path.iterdir() if p.name.startswith(".")]  # no temporary folder left behind
    if name == "table1-synthetic":
        assert names == ["laplace_e0", "laplace", "gmm_e0", "gmm", "binary_e0", "binary_e50", "binary_e100"]
        assert [r["epoch"] for r in rows] == [0, 2, 0, 2, 0, 1, 2]  # smoke: 2 epochs; E50/E100 = middle and end
        assert "normalized_ad_mean" in rows[0] and "views_cv" in rows[0]
        assert "/ 0.08" in md and "/ 1.64" in md  # the paper's Laplace CV and Binary E0 AD beside ours
        # the table says when we measured and when the paper did (smoke: epochs 1/2 stand for the paper's 50/100)
        assert [r["paper_epoch"] for r in rows] == [None, 150, None, 100, 0, 50, 100]
        assert "| epoch | paper's epoch |" in md
    if name == "bound":
        assert {"alignment", "bound", "slack", "se", "violation", "eta2"} <= set(rows[0])


# ---------------------------------------------------------------------------------------------------- Prop. 1 check


def _pairs_on_the_bound(rng, n, s2=0.3, t2=0.4):
    """Unit pairs on the circle with E[u.v] = exp(-t2) and ||m||^2 = exp(-(s2+t2)), and the eta2 that makes the
    Prop. 1 bound exactly tight: eta2 = (E[u.v] - ||m||^2) / (1 - ||m||^2)."""
    psi = rng.normal(0.7, math.sqrt(s2), size=n)
    a1 = psi + rng.normal(0, math.sqrt(t2 / 2), size=n)
    a2 = psi + rng.normal(0, math.sqrt(t2 / 2), size=n)
    u = np.stack([np.cos(a1), np.sin(a1)], 1)
    v = np.stack([np.cos(a2), np.sin(a2)], 1)
    align, m2 = math.exp(-t2 / 2), math.exp(-(s2 + t2 / 2))
    return u, v, align, m2, (align - m2) / (1 - m2)


def test_bound_check_estimates_are_unbiased_and_calibrated(rng):
    reps, n = 1500, 300
    slack, flagged, z = [], 0, []
    for _ in range(reps):
        u, v, align, m2, eta2 = _pairs_on_the_bound(rng, n)
        res = bound_check(u, v, eta2)
        slack.append(res["slack"])
        z.append(res["z_score"])
        flagged += res["violation"]
    slack = np.array(slack)
    # the exact-tight case: slack is 0 in expectation, the z-scores are ~N(0, 1), and a 3-sigma one-sided alarm
    # rings at ~0.135% (binomial 99% upper limit for 1500 draws: 7)
    assert abs(slack.mean()) < 4 * slack.std() / math.sqrt(reps)
    assert abs(np.mean(z)) < 0.1 and 0.9 < np.std(z) < 1.1
    assert flagged <= 7


def test_bound_check_flags_a_real_violation_and_passes_slack(rng):
    u, v, align, m2, eta2 = _pairs_on_the_bound(rng, 2000)
    assert bound_check(u, v, eta2 - 0.1)["violation"]  # a bound 0.1 too low is caught
    ok = bound_check(u, v, min(1.0, eta2 + 0.1))
    assert not ok["violation"] and ok["slack"] > 0
    # identical views (alignment 1) with eta2 < 1 and m = 0 violate the bound
    x = rng.normal(size=(500, 16))
    assert bound_check(x, x, 0.36)["violation"]
    assert bound_check(x, x, 1.0)["slack"] == pytest.approx(0.0, abs=1e-12)


def test_bound_check_bad_input():
    with pytest.raises(InputError):
        bound_check(np.ones((5, 3)), np.ones((4, 3)), 0.3)
    with pytest.raises(InputError):
        bound_check(np.ones((5, 3)), np.ones((5, 3)), 1.5)
    with pytest.raises(InputError):
        bound_check(np.zeros((5, 3)), np.ones((5, 3)), 0.5)


def test_hgr_channel_gaussian_is_A_and_laplace_exceeds_pearson():
    for A in (0.3, 0.6):
        assert hgr_channel(A, "gaussian", grid=300) == pytest.approx(A, abs=1e-6)
        pearson = A * math.sqrt(2) / math.sqrt(1 + A * A)  # corr(X, X0) with Var X0 = 2
        assert pearson < hgr_channel(A, "laplace", grid=300) < 1
    # at A = 0.6 the tail edge exp(-(1-A^2)/(8A^2)) is the answer (lattice approaches it from below)
    assert hgr_channel(0.6, "laplace", grid=300) == pytest.approx(math.exp(-0.64 / (8 * 0.36)), rel=1e-12)


# ---------------------------------------------------------------------------------------------------- plumbing


def test_aggregate_mean_std_and_majority():
    seeds = [
        [{"name": "a", "cv": 0.1, "paper_verdict": True, "label": "x"}],
        [{"name": "a", "cv": 0.3, "paper_verdict": False, "label": "x"}],
        [{"name": "a", "cv": 0.2, "paper_verdict": True, "label": "x"}],
    ]
    (row,) = aggregate(seeds)
    assert row["cv"] == pytest.approx(0.2) and row["cv_std"] == pytest.approx(0.1)
    assert row["paper_verdict"] is True and row["paper_verdict_seeds"] == 2
    assert row["label"] == "x" and row["seeds"] == 3


def test_between_component_fraction(rng):
    from infogauss.experiments.table1_synthetic import between_fraction

    labels = rng.integers(0, 5, 2000)
    centres = 10 * rng.normal(size=(5, 3))
    assert between_fraction(centres[labels] + 0.01 * rng.normal(size=(2000, 3)), labels) > 0.999
    assert between_fraction(rng.normal(size=(2000, 3)), labels) < 0.01


def test_linear_cv_matches_a_simulation(rng):
    import torch

    from infogauss.encoders import make_encoder
    from infogauss.experiments.fig3 import linear_cv

    torch.manual_seed(0)
    model = make_encoder("linear", 256, 32)
    x = torch.from_numpy(rng.laplace(size=(40000, 256))).float()
    with torch.no_grad():
        r = model.embed(x).norm(dim=1).numpy()
    assert linear_cv(model) == pytest.approx(r.std() / r.mean(), rel=0.03)
    assert linear_cv(make_encoder("mlp", 256, 32)) is None


def _fake_experiment(fail=False):
    from infogauss.experiments.tables import REPORT_COLUMNS, Table

    mod = types.ModuleType("infogauss.experiments._fake")
    mod.TITLE = "fake"
    mod.SCALES = {s: {"about": s} for s in ("smoke", "cpu", "paper")}

    def run_seed(ctx):
        row = {"name": "r", **dict.fromkeys(REPORT_KEYS, 0.5), "paper_verdict": True, "extra": ctx.seed}
        return [row], {}

    def figures(rows, extras, folder):
        if fail:
            raise RuntimeError("boom")
        (folder / "f.png").write_bytes(b"png")

    mod.run_seed = run_seed
    mod.figures = figures
    mod.tables = lambda rows: [Table("t", REPORT_COLUMNS, rows, {"r": {"cv": 0.08}})]
    mod.notes = lambda rows, per_seed, settings: "n"
    return mod


def test_seeds_give_mean_and_std(tmp_path, monkeypatch):
    monkeypatch.setitem(sys.modules, "infogauss.experiments._fake", _fake_experiment())
    monkeypatch.setitem(EXPERIMENTS, "fake", "infogauss.experiments._fake")
    (row,) = reproduce("fake", "smoke", 3, tmp_path / "o", progress=False)
    assert row["extra"] == pytest.approx(1.0) and row["extra_std"] == pytest.approx(1.0) and row["seeds"] == 3
    assert "0.5 ± 0 / 0.08" in (tmp_path / "o" / "results.md").read_text()


def test_failure_leaves_nothing_and_previous_results_survive(tmp_path, monkeypatch):
    monkeypatch.setitem(EXPERIMENTS, "fake", "infogauss.experiments._fake")
    monkeypatch.setitem(sys.modules, "infogauss.experiments._fake", _fake_experiment())
    out = tmp_path / "o"
    reproduce("fake", "smoke", 1, out, progress=False)
    before = (out / "results.json").read_text()
    monkeypatch.setitem(sys.modules, "infogauss.experiments._fake", _fake_experiment(fail=True))
    with pytest.raises(RuntimeError):
        reproduce("fake", "smoke", 1, out, progress=False)
    assert (out / "results.json").read_text() == before
    assert sorted(p.name for p in tmp_path.iterdir()) == ["o", "o.rows-only"]  # the rows, beside, never in o
    with pytest.raises(RuntimeError):
        reproduce("fake", "smoke", 1, tmp_path / "new", progress=False)
    assert not (tmp_path / "new").exists() and (tmp_path / "new.rows-only" / "results.json").exists()


def test_refuses_to_replace_a_folder_that_is_not_a_result(tmp_path):
    (tmp_path / "keep.txt").write_text("mine")
    with pytest.raises(InputError, match="not an infogauss results folder"):
        reproduce("fig11", "smoke", 1, tmp_path, progress=False)
    assert (tmp_path / "keep.txt").read_text() == "mine"


# ---------------------------------------------------------------------------------------------------- CLI


@pytest.mark.parametrize(
    "argv, message",
    [
        (["reproduce", "nonsense"], "unknown experiment 'nonsense'"),
        (["reproduce", "fig3", "--scale", "huge"], "unknown scale 'huge'"),
        (["reproduce", "fig3", "--seeds", "0"], "--seeds must be an integer from 1"),
        (["reproduce", "fig3", "--seeds", "two"], "--seeds must be an integer from 1"),
        (["reproduce"], "name an experiment"),
        (["reproduce", "fig3", "--data", "x.npz"], "--data applies only to table1-cifar"),
        (["reproduce", "table1-cifar", "--data", "absent.npz"], "--data absent.npz: no such file"),
        (["reproduce", "ood", "--scale", "smoke", "--data", "x.npz"], "--data has no effect at --scale smoke"),
        (["reproduce", "fig3", "--model", "timm:resnet18"], "--model applies only to pretrained"),
    ],
)
def test_cli_bad_input_is_one_line_and_exit_2(argv, message, capsys, tmp_path):
    assert main([*argv, "--out", str(tmp_path / "o")]) == 2
    err = capsys.readouterr().err
    assert err.startswith("infogauss: error: ") and message in err and err.count("\n") == 1
    assert not (tmp_path / "o").exists()


def test_data_option_reaches_the_cifar_source_only():
    from infogauss.experiments.common import Context, train_config

    ctx = Context({}, 0, data="/data/my-cifar10.npz")
    assert train_config(ctx, "cifar-resnet18").source_params["path"] == "/data/my-cifar10.npz"
    assert "path" not in train_config(ctx, "cifar-resnet18", source="tiny-cifar", source_params={}).source_params
    assert train_config(Context({}, 0), "cifar-resnet18").source_params.get("path") is None


def test_cli_list(capsys):
    assert main(["reproduce", "--list"]) == 0
    out = capsys.readouterr().out
    for name in SYNTHETIC:
        assert name in out


# ---------------------------------------------------------------------------------------------------- figures, labels


def _capture(monkeypatch, module):
    """Figures that ``module.figures`` saves, by file name (``drawing.save`` replaced; nothing written)."""
    import matplotlib

    matplotlib.use("Agg", force=True)
    saved = {}

    def save(fig, folder, name, dpi=120):
        saved[name] = fig

    monkeypatch.setattr(module, "save", save)
    return saved


def test_bound_slack_panel_is_per_case_normalised_on_a_symlog_axis(monkeypatch, tmp_path):
    from infogauss.experiments import bound

    def row(name, source, slack, se):
        return {"name": name, "source": source, "A": 0.6, "alignment": 0.4, "bound": 0.4 + slack, "slack": slack,
                "se": se, "z_score": slack / se, "violation": slack / se < -3}  # fmt: skip

    rows = [row("gaussian_A0.3", "gaussian", 0.001, 0.002), row("gaussian_A0.8", "gaussian", -0.01, 0.002),
            row("laplace_A0.6", "laplace", 0.2, 0.002)]  # fmt: skip
    saved = _capture(monkeypatch, bound)
    bound.figures(rows, None, tmp_path)
    ax = saved["bound.png"].axes[1]
    assert ax.get_yscale() == "symlog"
    heights = [p.get_height() for p in ax.patches]
    assert heights == pytest.approx([0.5, -5.0, 100.0])  # slack / se, not the raw slack the Laplace case dwarfs
    assert "standard errors" in ax.get_title() and "symlog" in ax.get_ylabel()
    assert any("violation" in t.get_text() for t in ax.get_legend().get_texts())


def test_binary_training_puts_the_paper_at_its_own_epochs(monkeypatch, tmp_path):
    from infogauss.experiments import paper, table1_synthetic

    hist = [
        {"epoch": e, "cv": 0.3, "ad_mean": 0.6, "ad_pass_fraction": 0.7, "dp_pass_fraction": 0.8} for e in range(21)
    ]
    rows = [{"name": n, "epoch": e, "cv": 0.2, "ad_mean": 0.5, "dp_pass_fraction": 0.9}
            for n, e in (("binary_e0", 0), ("binary_e50", 10), ("binary_e100", 20))]  # fmt: skip
    saved = _capture(monkeypatch, table1_synthetic)
    table1_synthetic.figures(rows, {"norms": {}, "binary_history": hist}, tmp_path)
    fig = saved["binary_training.png"]
    cv = fig.axes[0]
    lines = {line.get_label(): line for line in cv.get_lines()}
    ours = next(v for k, v in lines.items() if k.startswith("table rows"))
    theirs = next(v for k, v in lines.items() if k.startswith("paper's Table 1"))
    assert list(ours.get_xdata()) == [0, 10, 20] and "epochs 0/10/20" in ours.get_label()
    assert list(theirs.get_xdata()) == pytest.approx([0, 10, 20])  # the paper's 0/50/100 on the top axis
    assert list(theirs.get_ydata()) == [paper.TABLE1[k]["cv"] for k in ("binary_e0", "binary_e50", "binary_e100")]
    assert "top axis: paper's epochs" in theirs.get_label()
    tops = [c for a in fig.axes for c in a.child_axes if "paper's epoch" in c.get_xlabel()]  # secondary axes
    assert tops and cv.get_xlabel() == "our epoch (of 20)"
    fig.canvas.draw()
    assert tops[0].get_xlim() == pytest.approx([e * 5 for e in cv.get_xlim()])  # our 20 epochs = the paper's 100


def test_table1_norms_say_test_data_not_views(monkeypatch, tmp_path):
    from infogauss.experiments import table1_synthetic

    rng = np.random.default_rng(0)
    rows = [{"name": "laplace", "epoch": 2, "cv": 0.1}, {"name": "binary_e100", "epoch": 2, "cv": 0.2}]
    saved = _capture(monkeypatch, table1_synthetic)
    table1_synthetic.figures(rows, {"norms": {"laplace": rng.random(50), "binary": rng.random(50)}}, tmp_path)
    fig = saved["table1_norms.png"]
    for ax in fig.axes:
        assert "test data, not augmented" in ax.get_xlabel() and "views" not in ax.get_xlabel()
        assert "epoch 2" in ax.get_title()


def test_fig7_histograms_carry_the_uniform_sphere_density(monkeypatch, tmp_path):
    from infogauss.experiments import fig2

    rng = np.random.default_rng(0)
    samples = {(d, n): (rng.uniform(0.5, 1, 200), rng.normal(0, d**-0.5, 200)) for d in (4, 8) for n in (16, 32)}
    saved = _capture(monkeypatch, fig2)
    fig2.figures([], {"samples": samples}, tmp_path)
    assert set(saved) == {"fig2_violins_vs_d.png", "fig2_violins_vs_N.png", "fig7_hist_vs_batch.png",
                          "fig8_hist_vs_dim.png"}  # fmt: skip
    top = saved["fig7_hist_vs_batch.png"].axes[0]  # d = 4, negatives
    assert [line.get_label() for line in top.get_lines()] == ["uniform on S^3"]
    per_d = saved["fig8_hist_vs_dim.png"].axes[0]  # N = 16: one reference per d
    assert sorted(line.get_label() for line in per_d.get_lines()) == ["uniform on S^3", "uniform on S^7"]


def test_shared_column_groups_and_encoder_specs():
    from infogauss.experiments.architectures import encoders
    from infogauss.experiments.columns import GRID, PROTOCOL, cosines, prefixed
    from infogauss.experiments.drawing import grid_keys
    from infogauss.experiments.tables import REPORT_COLUMNS

    assert [c.key for c in PROTOCOL] == list(REPORT_KEYS) and PROTOCOL[1].header == "AD avg"
    assert [c.key for c in GRID] == ["d", "batch_size"]
    norm = prefixed(REPORT_COLUMNS, "normalized_", "norm. ", skip=("cv",))
    assert [c.key for c in norm] == ["normalized_" + k for k in REPORT_KEYS if k != "cv"]
    assert norm[0].header == "norm. " + REPORT_COLUMNS[1].header and norm[0].kind == REPORT_COLUMNS[1].kind
    assert cosines("u")[-1].header == "u"
    assert encoders("resnet18:2 vit_tiny:64") == [["resnet18-w2", "resnet18", 2], ["vit_tiny-w64", "vit_tiny", 64]]
    assert grid_keys([(8, 16), (4, 32), (4, 16)]) == ([4, 8], [16, 32])


def test_synthetic_experiments_import_without_torch():
    """`reproduce --list` imports every experiment: the synthetic ones and their shared glue must not pull torch in
    at import time (it is imported when a run starts)."""
    import subprocess

    mods = ["common", "fig2", "fig3", "fig11", "bound", "regularizer", "table1_synthetic", "paper", "columns",
            "drawing", "pretrained_diagnostics", "pretrained_report"]  # fmt: skip
    code = "import sys\n" + "".join(f"import infogauss.experiments.{m}\n" for m in mods)
    code += "bad = [m for m in ('torch', 'matplotlib') if m in sys.modules]\nassert not bad, bad\n"
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True)
    assert done.returncode == 0, done.stderr


def test_a_failure_after_the_runs_keeps_the_rows(tmp_path, monkeypatch):
    """A bug in the tables / notes / figures must not lose the training: rows and settings are saved, then it fails."""
    from infogauss.experiments import experiment

    module = experiment("bound")

    def broken(*args):
        raise KeyError("oops")

    monkeypatch.setattr(module, "notes", broken)
    out = tmp_path / "b"
    with pytest.raises(RuntimeError, match="rows are saved in"):
        reproduce("bound", "smoke", 1, out, progress=False)
    kept = tmp_path / "b.rows-only"
    rows = json.loads((kept / "results.json").read_text())
    assert rows and all(key in rows[0] for key in REPORT_KEYS)
    meta = json.loads((kept / "settings.json").read_text())
    assert meta["render_error"] == "KeyError('oops')" and meta["scale"] == "smoke"
    assert "Rendering failed" in (kept / "results.md").read_text()
    assert [p.name for p in tmp_path.iterdir()] == ["b.rows-only"]  # no result folder, no temporary folder
