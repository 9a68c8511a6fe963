"""A bad-input suite: every CLI verb × every class of bad input, each checked the same way.

For each case: exit status 2, exactly one line on stderr (``infogauss: error: ...``) that names the problem (an
expected fragment), no traceback, nothing left behind in the workspace (no output, no temporary, no lock) and every
input unchanged (SHA-256 before and after). The verbs run in-process (``infogauss.cli.main``) so the whole table
takes seconds; :mod:`tests.test_kill` kills real processes.
"""

from __future__ import annotations

import hashlib
import io
import os
from pathlib import Path

import numpy as np
import pytest

from infogauss.cli import main

N, D = 64, 4


def _write_inputs(ws: Path) -> None:
    rng = np.random.default_rng(0)
    Z = rng.normal(size=(N, D))
    np.save(ws / "good.npy", Z)
    np.savez(ws / "two.npz", a=Z, b=Z)
    np.save(ws / "nan.npy", np.where(np.arange(N * D).reshape(N, D) == 7, np.nan, Z))
    np.save(ws / "inf.npy", np.where(np.arange(N * D).reshape(N, D) == 9, np.inf, Z))
    np.save(ws / "oned.npy", Z[:, 0])
    np.save(ws / "wide.npy", np.hstack([Z, Z]))
    np.save(ws / "empty.npy", np.zeros((0, D)))
    np.save(ws / "few.npy", Z[:5])
    np.save(ws / "const.npy", np.ones((N, D)))
    np.save(ws / "obj.npy", np.array([[1, "a"]] * N, dtype=object), allow_pickle=True)
    np.save(ws / "cplx.npy", Z.astype(complex))
    np.save(ws / "bool.npy", Z > 0)
    (ws / "good.csv").write_text("\n".join(",".join(f"{v:.6f}" for v in row) for row in Z) + "\n")
    (ws / "index.csv").write_text(
        ","
        + ",".join(map(str, range(D)))
        + "\n"
        + "\n".join(f"{i}," + ",".join(f"{v:.6f}" for v in r) for i, r in enumerate(Z))
    )
    (ws / "text.csv").write_text("a,b\n" + "\n".join(f"{r[0]:.3f},x" for r in Z) + "\n")
    (ws / "texts.txt").write_text("a sentence\nanother one\n")
    for ext in ("npy", "npz", "pt", "safetensors", "csv", "parquet"):
        (ws / f"random.{ext}").write_bytes(np.random.default_rng(1).bytes(300))
    good_npy = (ws / "good.npy").read_bytes()
    (ws / "trunc.npy").write_bytes(good_npy[: len(good_npy) // 2])
    good_npz = (ws / "two.npz").read_bytes()
    (ws / "trunc.npz").write_bytes(good_npz[: len(good_npz) // 2])
    _torch_inputs(ws, Z)
    _table_inputs(ws, Z)
    assert main(["fit", str(ws / "good.npy"), "--out", str(ws / "model.npz")]) == 0
    (ws / "afile").write_text("a file, not a folder\n")
    (ws / "prev").mkdir()
    (ws / "prev" / "coordinates.csv").write_bytes((ws / "good.csv").read_bytes())
    (ws / "resultsdir").mkdir()
    (ws / "resultsdir" / "precious.txt").write_text("not an infogauss result\n")


def _torch_inputs(ws: Path, Z) -> None:
    import torch
    from safetensors.numpy import save_file

    torch.save({"a": torch.from_numpy(Z), "b": torch.from_numpy(Z)}, ws / "two.pt")
    torch.save({1: torch.from_numpy(Z), 2: torch.from_numpy(Z)}, ws / "intkeys.pt")
    torch.save([1, 2, 3], ws / "list.pt")
    buf = io.BytesIO()
    torch.save(torch.from_numpy(Z), buf, _use_new_zipfile_serialization=False)
    (ws / "legacy.pt").write_bytes(buf.getvalue())
    good = (ws / "two.pt").read_bytes()
    (ws / "trunc.pt").write_bytes(good[: len(good) // 2])
    save_file({"a": Z, "b": Z}, str(ws / "two.safetensors"))
    st = (ws / "two.safetensors").read_bytes()
    (ws / "trunc.safetensors").write_bytes(st[: len(st) // 2])
    import argparse

    torch.save({"a": torch.from_numpy(Z), "obj": argparse.Namespace(x=1)}, ws / "pickle.pt")  # a non-tensor global


def _table_inputs(ws: Path, Z) -> None:
    import pyarrow as pa
    import pyarrow.parquet as pq

    pq.write_table(pa.table({"a": Z[:, 0], "s": ["x"] * N}), ws / "strings.parquet")
    good = pa.table({f"c{i}": Z[:, i] for i in range(D)})
    pq.write_table(good, ws / "good.parquet")
    raw = (ws / "good.parquet").read_bytes()
    (ws / "trunc.parquet").write_bytes(raw[: len(raw) // 2])
    (ws / "trunc.csv").write_text("1.0,2.0,3.0\n4.0,5.0\n")


def _snapshot(ws: Path) -> dict:
    return {
        str(p.relative_to(ws)): (hashlib.sha256(p.read_bytes()).hexdigest() if p.is_file() else "dir")
        for p in sorted(ws.rglob("*"))
    }


@pytest.fixture(scope="module")
def workspace(tmp_path_factory):
    ws = tmp_path_factory.mktemp("bad_input")
    _write_inputs(ws)
    return ws


# (id, argv template with {ws}, expected fragment of the one-line message)
EMBEDDING_FILES = [
    ("nan", "nan.npy", "NaN"),
    ("inf", "inf.npy", "NaN or Inf"),
    ("1-D", "oned.npy", "2-D"),
    ("empty", "empty.npy", "rows"),
    ("n<8", "few.npy", "at least 8"),
    ("object", "obj.npy", "Python objects"),
    ("complex", "cplx.npy", "complex"),
    ("bool", "bool.npy", "numeric"),
    ("missing", "missing.npy", "no such file"),
    ("folder", "resultsdir", "directory"),
    ("extension", "texts.txt", "unknown file type"),
    ("npz-key", "two.npz", "choose one with --key"),
    ("pt-key", "two.pt", "choose one with --key"),
    ("st-key", "two.safetensors", "choose one with --key"),
    ("pt-intkeys", "intkeys.pt", "holds 2 tensors"),
    ("pt-list", "list.pt", "expected a tensor"),
    ("pt-legacy", "legacy.pt", "before PyTorch 1.6"),
    ("pt-pickle", "pickle.pt", "weights_only"),
    ("csv-index", "index.csv", "index"),
    ("csv-text", "text.csv", "non-numeric"),
    ("parquet-text", "strings.parquet", "non-numeric"),
    *[(f"random-{e}", f"random.{e}", "") for e in ("npy", "npz", "pt", "safetensors", "csv", "parquet")],
    *[(f"trunc-{e}", f"trunc.{e}", "") for e in ("npy", "npz", "pt", "safetensors", "csv", "parquet")],
]

CASES = []
for cid, name, frag in EMBEDDING_FILES:
    CASES.append((f"analyze-{cid}", ["analyze", f"{{ws}}/{name}", "--out", "{ws}/out", "--no-plots"], frag))
    CASES.append((f"fit-{cid}", ["fit", f"{{ws}}/{name}", "--out", "{ws}/m2.npz"], frag))
    CASES.append((f"score-{cid}", ["score", "{ws}/model.npz", f"{{ws}}/{name}", "--out", "{ws}/s.npy"], frag))
CASES += [
    # analyze options and outputs
    ("analyze-constant", ["analyze", "{ws}/const.npy", "--out", "{ws}/out"], "constant"),
    ("analyze-seed", ["analyze", "{ws}/good.npy", "--out", "{ws}/out", "--seed", "-5"], "--seed"),
    ("analyze-seed-type", ["analyze", "{ws}/good.npy", "--seed", "x"], "--seed"),
    ("analyze-projections", ["analyze", "{ws}/good.npy", "--out", "{ws}/out", "--projections", "-1"], "--projections"),
    ("analyze-block", ["analyze", "{ws}/good.npy", "--out", "{ws}/out", "--block", "0"], "--block"),
    ("analyze-cuda", ["analyze", "{ws}/good.npy", "--out", "{ws}/out", "--device", "cuda"], "CUDA"),
    ("analyze-out-file", ["analyze", "{ws}/good.npy", "--out", "{ws}/afile"], "not a directory"),
    ("analyze-out-below-file", ["analyze", "{ws}/good.npy", "--out", "{ws}/afile/sub"], "is a file"),
    ("analyze-out-proc", ["analyze", "{ws}/good.npy", "--out", "/proc/infogauss-x"], "cannot write"),
    ("analyze-out-holds-input", ["analyze", "{ws}/prev/coordinates.csv", "--out", "{ws}/prev"], "input"),
    ("analyze-pairs-shape", ["analyze", "{ws}/good.npy", "--pairs", "{ws}/few.npy", "--out", "{ws}/out"], "rows"),
    ("analyze-nothing", ["analyze"], "PATH"),
    # fit
    ("fit-constant", ["fit", "{ws}/const.npy", "--out", "{ws}/m2.npz"], "constant"),
    ("fit-constant-shrunk", ["fit", "{ws}/const.npy", "--out", "{ws}/m2.npz", "--shrinkage", "1"], "constant"),
    ("fit-shape", ["fit", "{ws}/few.npy", "--out", "{ws}/m2.npz"], "at least 8"),
    ("fit-shrinkage", ["fit", "{ws}/good.npy", "--out", "{ws}/m2.npz", "--shrinkage", "2"], "outside [0, 1]"),
    ("fit-shrinkage-name", ["fit", "{ws}/good.npy", "--out", "{ws}/m2.npz", "--shrinkage", "x"], "shrinkage"),
    ("fit-out-is-input", ["fit", "{ws}/two.npz", "--key", "a", "--out", "{ws}/two.npz"], "is the input"),
    ("fit-out-suffix", ["fit", "{ws}/good.npy", "--out", "{ws}/good.npy"], ".npz"),
    ("fit-out-dir", ["fit", "{ws}/good.npy", "--out", "{ws}/resultsdir"], ".npz"),
    ("fit-out-below-file", ["fit", "{ws}/good.npy", "--out", "{ws}/afile/m.npz"], "is a file"),
    ("fit-out-proc", ["fit", "{ws}/good.npy", "--out", "/proc/infogauss-x.npz"], "cannot write"),
    ("fit-out-hardlink", ["fit", "{ws}/good.npy", "--out", "{ws}/link.npz"], "is the input"),
    # score
    ("score-model-npy", ["score", "{ws}/good.npy", "{ws}/good.npy", "--out", "{ws}/s.npy"], "not a model"),
    ("score-model-missing", ["score", "{ws}/none.npz", "{ws}/good.npy", "--out", "{ws}/s.npy"], "no such model"),
    ("score-model-foreign", ["score", "{ws}/two.npz", "{ws}/good.npy", "--out", "{ws}/s.npy"], "not an infogauss"),
    ("score-dim", ["score", "{ws}/model.npz", "{ws}/wide.npy", "--out", "{ws}/s.npy"], "dimension 4"),
    ("fit-out-foreign", ["fit", "{ws}/good.npy", "--out", "{ws}/two.npz"], "not an infogauss model"),
    ("score-out-is-emb", ["score", "{ws}/model.npz", "{ws}/good.npy", "--out", "{ws}/good.npy"], "is the input"),
    ("score-out-is-model", ["score", "{ws}/model.npz", "{ws}/good.npy", "--out", "{ws}/model.npz"], "is the input"),
    ("score-out-suffix", ["score", "{ws}/model.npz", "{ws}/good.npy", "--out", "{ws}/s.txt"], ".npy, .npz or .csv"),
    ("score-out-foreign", ["score", "{ws}/model.npz", "{ws}/good.npy", "--out", "{ws}/two.npz"], "not a scores"),
    ("score-out-proc", ["score", "{ws}/model.npz", "{ws}/good.npy", "--out", "/proc/x.npy"], "cannot write"),
    # embed (checks before any model is loaded)
    ("embed-missing", ["embed", "{ws}/none.txt", "--model", "all-MiniLM-L6-v2", "--out", "{ws}/e.npy"], "no such"),
    ("embed-no-input", ["embed", "--model", "all-MiniLM-L6-v2", "--out", "{ws}/e.npy"], "INPUT"),
    ("embed-out-is-input", ["embed", "{ws}/good.npy", "--model", "m", "--out", "{ws}/good.npy"], "is the input"),
    ("embed-out-exists", ["embed", "{ws}/texts.txt", "--model", "m", "--out", "{ws}/good.npy"], "exists"),
    ("embed-out-suffix", ["embed", "{ws}/texts.txt", "--model", "m", "--out", "{ws}/e.txt"], ".npy"),
    ("embed-out-proc", ["embed", "{ws}/texts.txt", "--model", "m", "--out", "/proc/e.npy"], "cannot write"),
    ("embed-batch", ["embed", "{ws}/texts.txt", "--model", "m", "--out", "{ws}/e.npy", "--batch-size", "0"], "batch"),
    ("embed-cuda", ["embed", "{ws}/texts.txt", "--model", "m", "--out", "{ws}/e.npy", "--device", "cuda"], "CUDA"),
    ("embed-device", ["embed", "{ws}/texts.txt", "--model", "m", "--out", "{ws}/e.npy", "--device", "tpu"], "device"),
    ("embed-model", ["embed", "{ws}/texts.txt", "--model", "{ws}/afile", "--out", "{ws}/e.npy"], ""),
    ("export-missing", ["export", "{ws}/nothing", "--out", "{ws}/exp"], "not a training run"),
    ("export-not-run", ["export", "{ws}/none", "--out", "{ws}/exp"], "not a training run"),
    ("export-inside", ["export", "{ws}", "--out", "{ws}/exp"], "inside the run"),
    ("export-out-proc", ["export", "{ws}", "--out", "/proc/exp"], "cannot write"),
]
TRAIN = ["train", "--quiet", "--out", "{ws}/run"]
CASES += [
    ("train-preset", [*TRAIN, "--preset", "nope"], "nope"),
    ("train-no-preset", [*TRAIN], "--preset"),
    ("train-key", [*TRAIN, "--preset", "smoke", "bogus=1"], "bogus"),
    ("train-not-kv", [*TRAIN, "--preset", "smoke", "epochs"], "key=value"),
    ("train-out-key", [*TRAIN, "--preset", "smoke", "out=x"], "--out"),
    ("train-epochs-type", [*TRAIN, "--preset", "smoke", "epochs=abc"], "epochs"),
    ("train-epochs-float", [*TRAIN, "--preset", "smoke", "epochs=1.5"], "epochs"),
    ("train-epochs-range", [*TRAIN, "--preset", "smoke", "epochs=-1"], "epochs"),
    ("train-batch-range", [*TRAIN, "--preset", "smoke", "batch_size=-4"], "batch_size"),
    ("train-d-range", [*TRAIN, "--preset", "smoke", "d=0"], "d "),
    ("train-lr-range", [*TRAIN, "--preset", "smoke", "lr=-1"], "lr"),
    ("train-lr-nan", [*TRAIN, "--preset", "smoke", "lr=nan"], "lr"),
    ("train-tau-zero", [*TRAIN, "--preset", "smoke", "temperature=0"], "temperature"),
    ("train-tau-negative", [*TRAIN, "--preset", "smoke", "temperature=-0.1"], "temperature"),
    ("train-bool", [*TRAIN, "--preset", "smoke", "normalize=maybe"], "normalize"),
    ("train-source", [*TRAIN, "--preset", "smoke", "source=nope"], "nope"),
    ("train-source-key", [*TRAIN, "--preset", "smoke", "source.bogus=1"], "bogus"),
    ("train-objective", [*TRAIN, "--preset", "smoke", "objective=nope"], "nope"),
    ("train-seed", [*TRAIN, "--preset", "smoke", "--seed", "-1"], "seed"),
    ("train-cuda", [*TRAIN, "--preset", "smoke", "--device", "cuda"], "CUDA"),
    ("train-out-file", ["train", "--preset", "smoke", "--out", "{ws}/afile"], "not a directory"),
    ("train-out-below-file", ["train", "--preset", "smoke", "--out", "{ws}/afile/run"], "is a file"),
    ("train-out-proc", ["train", "--preset", "smoke", "--out", "/proc/infogauss-run"], "cannot write"),
    ("train-out-foreign", ["train", "--preset", "smoke", "--out", "{ws}/resultsdir"], "not an infogauss training"),
    ("train-resume-dir", [*TRAIN, "--preset", "smoke", "--resume", "{ws}/resultsdir"], "is a folder"),
    ("train-resume-missing", [*TRAIN, "--preset", "smoke", "--resume", "{ws}/none.pt"], "does not exist"),
    ("train-data-source", [*TRAIN, "--preset", "smoke", "--data", "{ws}/good.npy"], "source=cifar10"),
]
REPRO = ["reproduce", "--scale", "smoke", "--quiet", "--out", "{ws}/rep"]
CASES += [
    ("reproduce-name", [*REPRO, "nope"], "nope"),
    ("reproduce-no-name", [*REPRO], "name an experiment"),
    ("reproduce-scale", ["reproduce", "fig3", "--scale", "huge", "--out", "{ws}/rep"], "huge"),
    ("reproduce-seeds", [*REPRO, "fig3", "--seeds", "0"], "--seeds"),
    ("reproduce-seeds-type", [*REPRO, "fig3", "--seeds", "x"], "--seeds"),
    ("reproduce-cuda", [*REPRO, "fig3", "--device", "cuda"], "CUDA"),
    ("reproduce-out-file", ["reproduce", "fig3", "--scale", "smoke", "--out", "{ws}/afile"], "not a directory"),
    ("reproduce-out-proc", ["reproduce", "fig3", "--scale", "smoke", "--out", "/proc/rep"], "cannot write"),
    ("reproduce-out-foreign", ["reproduce", "fig3", "--scale", "smoke", "--out", "{ws}/resultsdir"], "not an infog"),
    ("reproduce-model", [*REPRO, "fig3", "--model", "x"], "--model"),
    ("reproduce-setting", [*REPRO, "fig3", "train.bogus=1"], "unknown setting"),
    ("reproduce-setting-group", [*REPRO, "fig3", "train=1"], "group of settings"),
    ("reproduce-setting-type", [*REPRO, "fig3", "d=x"], "d must be a number"),
    ("reproduce-setting-kv", [*REPRO, "fig3", "epochs"], "key=value"),
    ("reproduce-data", [*REPRO, "fig3", "--data", "{ws}/good.npy"], "--data"),
    ("unknown-option", ["fit", "{ws}/good.npy", "--out", "{ws}/m2.npz", "--bogus"], "unrecognized"),
]


def _train_key_cases() -> list:
    """Every ``train`` key=value option with a value of the wrong type and one out of range."""
    import dataclasses

    from infogauss.train.config import TrainConfig

    cases = []
    for f in dataclasses.fields(TrainConfig):
        if f.name in ("source_params", "out"):
            continue
        kind = str(f.type)
        if kind == "bool":
            values = ["maybe"]
        elif kind.startswith("int"):
            values = ["abc", "1.5", "-7"]
        elif kind.startswith("float"):
            values = ["abc", "nan", "inf", "-1"]
        else:
            values = ["nope"]
        cases += [(f"train-{f.name}={v}", [*TRAIN, "--preset", "smoke", f"{f.name}={v}"], f.name) for v in values]
    return cases


CASES += _train_key_cases()


@pytest.fixture
def no_training(monkeypatch):
    import infogauss.train.cli as tcli

    monkeypatch.setattr(tcli, "train", lambda *a, **k: pytest.fail("bad input reached training"))


@pytest.mark.parametrize(("argv", "fragment"), [c[1:] for c in CASES], ids=[c[0] for c in CASES])
def test_bad_input(workspace, capsys, no_training, argv, fragment):
    ws = workspace
    link = ws / "link.npz"
    if any("link.npz" in a for a in argv) and not link.exists():
        os.link(ws / "good.npy", link)  # a hard link to an input under an output name
    before = _snapshot(ws)
    code = main([a.format(ws=ws) for a in argv])
    out, err = capsys.readouterr()
    assert code == 2, (code, out, err)
    assert err.startswith("infogauss: error: ") and err.count("\n") == 1, err
    assert "Traceback" not in err + out
    assert fragment in err, err
    assert _snapshot(ws) == before, "something was written, changed or left behind"


def test_the_suite_covers_every_verb():
    from infogauss.cli import COMMANDS

    verbs = {c[1][0] for c in CASES}
    assert verbs == set(COMMANDS)
    assert len(CASES) >= 250
