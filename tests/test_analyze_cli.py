import json
import subprocess
import sys

import numpy as np
import pytest

import infogauss.analyze as analyze
from infogauss.cli import main


@pytest.fixture
def emb(tmp_path, rng):
    path = tmp_path / "emb.npy"
    np.save(path, rng.normal(size=(300, 10)).astype(np.float32))
    return path


def _leftovers(folder):
    return [p.name for p in folder.iterdir() if ".tmp-" in p.name]


def test_analyze_file_writes_report(tmp_path, emb, capsys):
    out = tmp_path / "out"
    assert main(["analyze", str(emb), "--out", str(out), "--projections", "4", "--seed", "3"]) == 0
    d = json.loads((out / "report.json").read_text())
    assert (d["n"], d["d"]) == (300, 10)
    assert d["raw"]["projections"]["k"] == 4 and d["settings"]["seed"] == 3
    assert (out / "report.md").read_text().startswith("# Gaussianity report")
    rows = (out / "coordinates.csv").read_text().splitlines()
    assert len(rows) == 11 and rows[0].startswith("coordinate,raw_ad_statistic")
    assert {"qq.png", "ad_statistics.png", "norms.png"} <= {p.name for p in out.iterdir()}
    assert "raw coordinates" in capsys.readouterr().out
    assert not _leftovers(tmp_path)


def test_rerun_replaces_report_files_and_keeps_others(tmp_path, emb):
    out = tmp_path / "out"
    assert main(["analyze", str(emb), "--out", str(out), "--projections", "2"]) == 0
    (out / "notes.txt").write_text("mine")
    assert main(["analyze", str(emb), "--out", str(out), "--projections", "3", "--no-plots"]) == 0
    assert json.loads((out / "report.json").read_text())["raw"]["projections"]["k"] == 3
    assert not list(out.glob("*.png"))  # figures of the earlier run are gone
    assert (out / "notes.txt").read_text() == "mine"


def test_pairs_and_key(tmp_path, rng):
    Z = rng.normal(size=(200, 6))
    np.savez(tmp_path / "views.npz", a=Z, b=Z + 0.1 * rng.normal(size=Z.shape))
    np.savez(tmp_path / "pairs.npz", a=Z + 0.1 * rng.normal(size=Z.shape), c=Z)
    out = tmp_path / "out"
    argv = ["analyze", str(tmp_path / "views.npz"), "--key", "a", "--pairs", str(tmp_path / "pairs.npz"), "--no-plots"]
    assert main([*argv, "--out", str(out)]) == 0
    assert "alignment" in json.loads((out / "report.json").read_text())["geometry"]


@pytest.mark.parametrize(
    "make, args, message",
    [
        (None, ["missing.npy"], "no such file"),
        ("nan", ["bad.npy"], "NaN or Inf"),
        ("short", ["bad.npy"], "at least 8 rows"),
        ("txt", ["bad.txt"], "unknown file type"),
        ("npz", ["bad.npz"], "choose one with --key"),
        (None, [], "give an embedding PATH"),
        ("nan", ["bad.npy", "--demo"], "not both"),
        ("npz", ["bad.npz", "--key", "x", "--pairs", "bad.npz"], "no array named 'x'"),
    ],
)
def test_bad_input_exit_2_and_nothing_written(tmp_path, rng, capsys, monkeypatch, make, args, message):
    monkeypatch.chdir(tmp_path)
    if make == "nan":
        Z = rng.normal(size=(50, 3))
        Z[10, 1] = np.nan
        np.save("bad.npy", Z)
    elif make == "short":
        np.save("bad.npy", rng.normal(size=(5, 3)))
    elif make == "txt":
        (tmp_path / "bad.txt").write_text("1,2\n")
    elif make == "npz":
        np.savez("bad.npz", a=rng.normal(size=(20, 2)), b=rng.normal(size=(20, 2)))
    before = sorted(p.name for p in tmp_path.iterdir())
    assert main(["analyze", *args, "--out", "out"]) == 2
    err = capsys.readouterr().err
    assert err.startswith("infogauss: error: ") and message in err and err.count("\n") == 1
    assert sorted(p.name for p in tmp_path.iterdir()) == before  # no output folder, no temp folder


def test_cuda_without_a_gpu_is_an_input_error(tmp_path, emb, capsys):
    import torch

    if torch.cuda.is_available():
        pytest.skip("a GPU is present")
    assert main(["analyze", str(emb), "--device", "cuda", "--out", str(tmp_path / "o")]) == 2
    assert "no CUDA device" in capsys.readouterr().err
    assert not (tmp_path / "o").exists()


def test_error_while_writing_leaves_nothing(tmp_path, emb, monkeypatch):
    def broken(rep, folder, plots):
        (folder / "report.json").write_text("{}")
        raise RuntimeError("disk full")

    monkeypatch.setattr(analyze, "_write_report", broken)
    with pytest.raises(RuntimeError):
        main(["analyze", str(emb), "--out", str(tmp_path / "out")])
    assert not (tmp_path / "out").exists() and not _leftovers(tmp_path)


def test_subprocess_bad_file_exit_2(tmp_path):
    (tmp_path / "x.npy").write_bytes(b"not numpy")
    proc = subprocess.run(
        [sys.executable, "-m", "infogauss.cli", "analyze", str(tmp_path / "x.npy"), "--out", str(tmp_path / "o")],
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert proc.returncode == 2
    assert proc.stderr.startswith("infogauss: error: ") and proc.stderr.count("\n") == 1
    assert not (tmp_path / "o").exists()


def test_demo_sets_are_what_the_docs_say():
    sets = analyze.demo_datasets(seed=0, n=400, d=32)
    assert list(sets) == ["sphere", "heavy_tails", "relu"]
    Z, V, _ = sets["sphere"]
    r = np.linalg.norm(Z, axis=1)
    assert V.shape == Z.shape and 0.02 < r.std() / r.mean() < 0.04
    relu = sets["relu"][0]
    assert (relu >= 0).all() and int((relu.max(axis=0) == 0).sum()) == 8
    assert sets["heavy_tails"][1] is None


def test_demo_runs_end_to_end(tmp_path, monkeypatch, capsys):
    monkeypatch.setattr(analyze, "DEMO_SIZE", (600, 32))  # the real demo is n=5000, d=256
    out = tmp_path / "demo"
    assert main(["analyze", "--demo", "--out", str(out), "--no-plots"]) == 0
    doc = json.loads((out / "report.json").read_text())
    assert set(doc["datasets"]) == {"sphere", "heavy_tails", "relu"}
    assert doc["datasets"]["relu"]["dead_coordinates"]["count"] == 8
    assert not doc["datasets"]["relu"]["raw"]["calibrated_verdict"]
    for name in doc["datasets"]:
        assert (out / name / "report.json").exists()
    assert "| [sphere](sphere/report.md)" in (out / "report.md").read_text()
    assert "[heavy_tails]" in capsys.readouterr().out


def test_max_rows_is_a_seeded_subsample_stated_in_the_report(tmp_path, emb, capsys):
    from infogauss import gaussianity_report
    from infogauss.constants import PROTOCOL_SEED

    for seed_args, seed in (([], PROTOCOL_SEED), (["--seed", "7"], 7)):
        out = tmp_path / f"out{seed}"
        assert main(["analyze", str(emb), "--max-rows", "120", "--projections", "2", "--no-plots", *seed_args,
                     "--out", str(out)]) == 0  # fmt: skip
        d = json.loads((out / "report.json").read_text())
        assert d["n"] == 120 and d["settings"]["subsample"] == {"rows": 120, "of": 300, "seed": seed}
        assert f"subsample of 120 of 300 rows, seed {seed}" in (out / "report.md").read_text()
        rows = np.sort(np.random.default_rng(seed).choice(300, size=120, replace=False))
        ref = gaussianity_report(np.load(emb)[rows], projections=2, seed=0 if not seed_args else 7)
        assert d["raw"]["ad_mean"] == ref.raw["ad_mean"]  # exactly those rows
    assert main(["analyze", str(emb), "--max-rows", "300", "--no-plots", "--out", str(tmp_path / "all")]) == 0
    assert "subsample" not in json.loads((tmp_path / "all" / "report.json").read_text())["settings"]


@pytest.mark.parametrize("args, message", [(["--max-rows", "3"], "--max-rows"),
                                           (["--dask", "local:x"], "local:N"),
                                           (["--demo", "--dask", "local"], "not to --demo")])  # fmt: skip
def test_max_rows_and_dask_options_errors(tmp_path, emb, capsys, args, message):
    argv = [a for a in args] if "--demo" in args else [str(emb), *args]
    assert main(["analyze", *argv, "--out", str(tmp_path / "o")]) == 2
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 1 and message in err[0]
