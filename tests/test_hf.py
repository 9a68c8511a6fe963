"""source=hf: training on a Hugging Face dataset saved with save_to_disk (infogauss.data.hf): images go through the
folder source, vectors through the pairs source; bad input and a missing extra are one line."""

import json
import sys

import numpy as np
import pytest

datasets = pytest.importorskip("datasets")

from infogauss.cli import main  # noqa: E402
from infogauss.data.folder import make_folder_source  # noqa: E402
from infogauss.data.hf import make_hf_source  # noqa: E402
from infogauss.errors import InputError  # noqa: E402

RUN = ["--preset", "smoke-cifar", "source=hf", "encoder=mlp", "d=8", "width=16", "head=none", "batch_size=8",
       "epochs=1", "eval_views=8", "--quiet"]  # fmt: skip


def _images(n=24):
    rng = np.random.default_rng(0)
    levels = np.repeat([50, 190], n // 2)
    return [np.clip(v + rng.integers(0, 60, (36, 40, 3)), 0, 255).astype(np.uint8) for v in levels], levels // 190


@pytest.fixture
def image_ds(tmp_path):
    from PIL import Image

    ims, labels = _images()
    ds = datasets.Dataset.from_dict({"img": [Image.fromarray(a) for a in ims], "y": labels.tolist()},
                                    features=datasets.Features({"img": datasets.Image(),
                                                                "y": datasets.Value("int64")}))  # fmt: skip
    ds.save_to_disk(str(tmp_path / "ds"))
    for y, a in enumerate(ims):  # the same images as an image folder, in the same order
        (tmp_path / "folder" / f"{int(labels[y]):06d}").mkdir(parents=True, exist_ok=True)
        Image.fromarray(a).save(tmp_path / "folder" / f"{int(labels[y]):06d}" / f"{y:08d}.png")
    return tmp_path


def test_images_are_the_folder_source(image_ds):
    hf = make_hf_source(path=str(image_ds / "ds"), column="img", label="y", holdout=8, seed=5)
    ref = make_folder_source(path=str(image_ds / "folder"), holdout=8, seed=5)
    assert (hf.n_train, hf.n_test, hf.num_classes) == (ref.n_train, ref.n_test, 2) == (16, 8, 2)
    assert np.array_equal(hf.train_set.x.numpy(), ref.train_set.x.numpy())
    assert np.array_equal(hf.test_set.y.numpy(), ref.test_set.y.numpy())
    assert hf.params()["path"] == str(image_ds / "ds") and hf.params()["column"] == "img"


def test_train_one_epoch_on_images(image_ds, capsys):
    out = image_ds / "run"
    rc = main(["train", *RUN, f"source.path={image_ds / 'ds'}", "source.column=img", "source.label=y", "--out",
               str(out)])  # fmt: skip
    assert rc == 0, capsys.readouterr().err
    report = json.loads((out / "report.json").read_text())
    assert report["epoch"] == 1 and report["config"]["source"] == "hf" and report["knn_accuracy"] is not None


def test_train_one_epoch_on_vector_pairs(tmp_path, capsys):
    rng = np.random.default_rng(1)
    x = rng.laplace(size=(80, 6)).astype(np.float32)
    a, b = x + 0.1 * rng.normal(size=x.shape), x + 0.1 * rng.normal(size=x.shape)
    datasets.DatasetDict({"train": datasets.Dataset.from_dict({"a": a.tolist(), "b": b.tolist()})}).save_to_disk(
        str(tmp_path / "ds"))  # fmt: skip
    out = tmp_path / "run"
    rc = main(["train", "--preset", "smoke", "source=hf", f"source.path={tmp_path / 'ds'}", "source.column=a",
               "source.column2=b", "batch_size=16", "epochs=1", "--quiet", "--out", str(out)])  # fmt: skip
    assert rc == 0, capsys.readouterr().err
    resolved = json.loads((out / "config.json").read_text())["source_resolved"]
    assert (resolved["dim"], resolved["n_train"] + resolved["n_test"]) == (6, 80)
    assert resolved["column2"] == "b" and resolved["path"] == str(tmp_path / "ds")


def test_bad_input_and_missing_extra(image_ds, monkeypatch):
    with pytest.raises(InputError, match="choose a column of the dataset: img, y"):
        make_hf_source(path=str(image_ds / "ds"), column="image")
    with pytest.raises(InputError, match="save_to_disk"):
        make_hf_source(path=str(image_ds / "nothing"), column="img")
    monkeypatch.setitem(sys.modules, "datasets", None)
    with pytest.raises(InputError, match=r"\[hf\] extra"):
        make_hf_source(path=str(image_ds / "ds"), column="img")
