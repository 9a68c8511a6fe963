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


def _train_pairs(tmp_path, *extra):
    files = [f"source.x1={tmp_path / 'a.npy'}", f"source.x2={tmp_path / 'b.npy'}"]
    return main(["train", "--preset", "smoke", "source=pairs", *files, *extra, "--quiet"])


def test_train_on_pairs_end_to_end(tmp_path, capsys):
    _pairs(tmp_path)
    out = tmp_path / "run"
    rc = _train_pairs(tmp_path, "batch_size=16", "epochs=2", "--out", str(out))
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
    cfg = preset(
        "smoke",
        source="pairs",
        source_params={"x": str(tmp_path / "a.npy")},
        encoder="mlp",
        hidden=16,
        batch_size=16,
        epochs=1,
    )
    run = train(cfg, progress=False)
    assert run.final.epoch == 1 and np.isfinite(run.final.test_loss)


@pytest.mark.parametrize(
    "make, params, message",
    [
        (
            lambda p: (np.save(p / "a.npy", np.ones((20, 3))), np.save(p / "b.npy", np.ones((20, 4)))),
            {"x1": "a.npy", "x2": "b.npy"},
            "has shape (20, 3) but source.x2",
        ),
        (
            lambda p: (
                np.save(p / "a.npy", np.r_[np.ones((19, 3)), [[np.nan, 0, 0]]]),
                np.save(p / "b.npy", np.ones((20, 3))),
            ),
            {"x1": "a.npy", "x2": "b.npy"},
            "NaN",
        ),
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
    rc = _train_pairs(tmp_path, "--out", str(tmp_path / "run"))
    err = capsys.readouterr().err
    assert rc == 2 and "shape" in err and len(err.strip().splitlines()) == 1
    assert not (tmp_path / "run" / "report.json").exists()


# -- source=folder: an ImageFolder-style tree of the user's images ----------------------------------------------


def _image_tree(root, per_class=12):
    from PIL import Image

    rng = np.random.default_rng(0)
    for c, level in (("dark", 50), ("light", 190)):
        (root / c).mkdir(parents=True)
        for i in range(per_class):
            im = np.clip(level + rng.integers(0, 60, (36, 40, 3)), 0, 255).astype(np.uint8)
            Image.fromarray(im).save(root / c / f"{i}.png")


FOLDER_RUN = ["--preset", "smoke-cifar", "source=folder", "encoder=mlp", "d=8", "width=16", "head=none",
              "batch_size=8", "epochs=1", "eval_views=8", "--quiet"]  # fmt: skip


def test_folder_source_reads_classes_and_holds_out(tmp_path):
    from infogauss.data.folder import make_folder_source

    _image_tree(tmp_path / "imgs")
    s = make_folder_source(path=str(tmp_path / "imgs"), holdout=8)
    assert (s.n_train, s.n_test, s.num_classes) == (16, 8, 2)
    assert s.params()["classes"] == ["dark", "light"]
    assert set(s.test_set.y.tolist()) <= {0, 1} and s.train_set.x.shape[1:] == (3, 32, 32)


def test_train_on_image_folder_then_embed_images(tmp_path, capsys):
    _image_tree(tmp_path / "imgs")
    out = tmp_path / "run"
    assert main(["train", *FOLDER_RUN, f"source.path={tmp_path / 'imgs'}", "--out", str(out)]) == 0
    report = json.loads((out / "report.json").read_text())
    assert report["knn_accuracy"] is not None and report["config"]["source"] == "folder"
    z = tmp_path / "z.npy"
    assert main(["embed", str(tmp_path / "imgs" / "dark"), "--model", str(out), "--out", str(z), "--no-normalize",
                 "--device", "cpu", "--quiet"]) == 0  # fmt: skip
    got = np.load(z)
    assert got.shape == (12, 8)
    # equal to the engine's forward pass on the images as training reads them (resize 32 x 32, CIFAR normalisation)
    from infogauss.data.folder import read_image_folder
    from infogauss.data.views import MEAN, STD
    from infogauss.export import load_trained

    x, y, _ = read_image_folder(tmp_path / "imgs")
    t = torch.from_numpy(x[y == 0]).permute(0, 3, 1, 2).float() / 255.0
    t = (t - torch.tensor(MEAN)[:, None, None]) / torch.tensor(STD)[:, None, None]
    model, _ = load_trained(out)
    with torch.no_grad():
        np.testing.assert_allclose(got, model.embed(t).numpy(), rtol=1e-4, atol=1e-5)


def test_folder_errors(tmp_path, capsys):
    (tmp_path / "none").mkdir()
    for extra, message in (
        (["source.path=" + str(tmp_path / "none")], "no image files"),
        (["source.path=" + str(tmp_path / "missing")], "needs source.path=DIR"),
        (["source.path=" + str(tmp_path / "none"), "objective=supervised"], "supervised"),
    ):
        assert main(["train", *FOLDER_RUN, *extra, "--out", str(tmp_path / "r")]) == 2
        assert message in capsys.readouterr().err
    (tmp_path / "bad" / "c").mkdir(parents=True)
    (tmp_path / "bad" / "c" / "x.png").write_text("not a png")
    assert main(["train", *FOLDER_RUN, f"source.path={tmp_path / 'bad'}", "--out", str(tmp_path / "r")]) == 2
    assert "cannot read the image" in capsys.readouterr().err
