"""source=pairs: training on the user's own arrays (infogauss.data.pairs), end to end and its bad-input errors."""

import json

import numpy as np
import pytest
import torch

from infogauss.cli import main
from infogauss.data.pairs import PairsSource
from infogauss.errors import InputError
from infogauss.train import preset, train


def _pairs(tmp_path, n=120, dim=6, seed=0):
    rng = np.random.default_rng(seed)
    x = rng.laplace(size=(n, dim))
    a, b = x + 0.1 * rng.normal(size=x.shape), x + 0.1 * rng.normal(size=x.shape)
    np.save(tmp_path / "a.npy", a.astype(np.float32))
    np.save(tmp_path / "b.npy", b.astype(np.float32))
    return a.astype(np.float32), b.astype(np.float32)


def test_split_keeps_pairs_aligned_and_disjoint(tmp_path):
    a, b = _pairs(tmp_path, n=50)
    s = PairsSource(x1=str(tmp_path / "a.npy"), x2=str(tmp_path / "b.npy"), holdout=10, seed=3)
    assert (s.n_train, s.n_test, s.dim) == (40, 10, 6)
    rows = torch.cat([s.train, s.test]).numpy()
    # every (x1, x2) row pair is one of the file's pairs, each exactly once
    got = {tuple(np.round(np.r_[r[0], r[1]], 5)) for r in rows}
    want = {tuple(np.round(np.r_[a[i], b[i]], 5)) for i in range(50)}
    assert got == want
    v1, v2 = s.views(s.test, None)
    assert torch.equal(v1, s.test[:, 0]) and torch.equal(v2, s.test[:, 1])
    assert torch.equal(s.datum(s.test), s.test[:, 0])


def test_one_array_draws_fresh_views(tmp_path):
    _pairs(tmp_path, n=40)
    s = PairsSource(x=str(tmp_path / "a.npy"), A=0.8)
    g = torch.Generator().manual_seed(0)
    v1, v2 = s.views(s.test, g)
    assert v1.shape == s.test.shape and not torch.equal(v1, v2)
    assert torch.equal(s.datum(s.test), s.test)


def test_train_on_pairs_end_to_end(tmp_path, capsys):
    _pairs(tmp_path)
    out = tmp_path / "run"
    rc = main(["train", "--preset", "smoke", "source=pairs", f"source.x1={tmp_path / 'a.npy'}",
               f"source.x2={tmp_path / 'b.npy'}", "batch_size=16", "epochs=2", "--out", str(out), "--quiet"])
    assert rc == 0, capsys.readouterr().err
    report = json.loads((out / "report.json").read_text())
    assert report["epoch"] == 2 and report["config"]["source"] == "pairs"
    resolved = json.loads((out / "config.json").read_text())["source_resolved"]
    assert (resolved["dim"], resolved["n_train"] + resolved["n_test"]) == (6, 120)
    assert report["data"]["d"] == 8  # the smoke preset's d, in_dim taken from the data
    # training moved the encoder: the test InfoNCE after training is below the one at epoch 0
    lines = [json.loads(x) for x in (out / "metrics.jsonl").read_text().splitlines()]
    assert lines[-1]["test_loss"] < lines[0]["test_loss"]


def test_one_array_mlp_trains(tmp_path):
    _pairs(tmp_path)
    cfg = preset("smoke", source="pairs", source_params={"x": str(tmp_path / "a.npy")}, encoder="mlp", hidden=16,
                 batch_size=16, epochs=1)
    run = train(cfg, progress=False)
    assert run.final.epoch == 1 and np.isfinite(run.final.test_loss)


@pytest.mark.parametrize(
    "make, params, message",
    [
        (lambda p: (np.save(p / "a.npy", np.ones((20, 3))), np.save(p / "b.npy", np.ones((20, 4)))),
         {"x1": "a.npy", "x2": "b.npy"}, "has shape (20, 3) but source.x2"),
        (lambda p: (np.save(p / "a.npy", np.r_[np.ones((19, 3)), [[np.nan, 0, 0]]]),
                    np.save(p / "b.npy", np.ones((20, 3)))), {"x1": "a.npy", "x2": "b.npy"}, "NaN"),
        (lambda p: (np.save(p / "a.npy", np.ones((9, 3))),), {"x": "a.npy"}, "too few"),
        (lambda p: (np.save(p / "a.npy", np.array([["a"] * 3] * 20)),), {"x": "a.npy"}, "numeric"),
        (lambda p: (np.save(p / "a.npy", np.ones((20, 3))),), {"x1": "a.npy"}, "needs source.x1=FILE and"),
        (lambda p: (np.save(p / "a.npy", np.ones((20, 3))),), {"x": "a.npy", "x1": "a.npy"}, "not both"),
        (lambda p: (np.save(p / "a.npy", np.ones((20, 3))),), {"x": "a.npy", "holdout": 19}, "holdout"),
        (lambda p: (np.save(p / "a.npy", np.ones((20, 3))),), {"x": "a.npy", "A": 2.0}, "A (the channel"),
    ],
)
def test_bad_arrays_are_one_line_errors(tmp_path, make, params, message):
    make(tmp_path)
    params = {k: str(tmp_path / v) if k in ("x", "x1", "x2") else v for k, v in params.items()}
    with pytest.raises(InputError, match=None) as err:
        PairsSource(**params)
    assert message.lower() in str(err.value).lower() and "\n" not in str(err.value)


def test_cli_error_before_training(tmp_path, capsys):
    np.save(tmp_path / "a.npy", np.ones((20, 3)))
    np.save(tmp_path / "b.npy", np.ones((21, 3)))
    rc = main(["train", "--preset", "smoke", "source=pairs", f"source.x1={tmp_path / 'a.npy'}",
               f"source.x2={tmp_path / 'b.npy'}", "--out", str(tmp_path / "run"), "--quiet"])
    err = capsys.readouterr().err
    assert rc == 2 and "shape" in err and len(err.strip().splitlines()) == 1
    assert not (tmp_path / "run" / "report.json").exists()
