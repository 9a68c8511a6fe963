"""The training engine on images (tiny generated CIFAR stand-in): contrastive and supervised runs from the same
initialisation, evaluation keys, k-NN accuracy, exact resume, and bad input (one-line errors, exit status 2)."""

import json
import math

import numpy as np
import pytest
import torch

from infogauss.cli import main
from infogauss.errors import InputError
from infogauss.train import PRESETS, build_model, evaluate, knn_accuracy, preset, train

TINY = {"n": 128, "n_test": 40}


def tiny(**changes):
    """A 2-wide ResNet-18 with an 8-d head on 128 generated images: about a second per epoch."""
    base = dict(source_params=dict(TINY), width=2, head=8, batch_size=32, epochs=1, eval_every=1, eval_views=32,
                device="cpu")  # fmt: skip
    return preset("smoke-cifar", **{**base, **changes})


def test_same_initialisation_for_both_objectives():
    con = build_model(tiny()).state_dict()
    sup = build_model(tiny(objective="supervised")).state_dict()
    assert set(sup) - set(con) == {"classifier.weight", "classifier.bias"}
    for k, v in con.items():
        assert torch.equal(v, sup[k]), k
    assert not torch.equal(
        con["backbone.conv1.weight"], build_model(tiny(seed=1)).state_dict()["backbone.conv1.weight"]
    )


def test_contrastive_and_supervised_runs():
    runs = {
        obj: train(tiny(objective=obj, epochs=2, eval_every=2), progress=False) for obj in ("infonce", "supervised")
    }
    con, sup = runs["infonce"], runs["supervised"]
    # Same initialisation and the same evaluation inputs: identical reports before training.
    c0, s0 = con.history[0], sup.history[0]
    assert c0.backbone == s0.backbone and c0.head == s0.head and c0.views == s0.views
    assert c0.knn_accuracy == s0.knn_accuracy
    for run in (con, sup):
        assert [h.epoch for h in run.history] == [0, 2]
        assert run.history[-1].step == 2 * (128 // 32)
        final = run.final
        for rep in (final.backbone, final.head):
            for scores in (rep.raw, rep.normalized):
                for key in ("cv", "ad_mean", "ad_pass_fraction", "dp_mean_p", "dp_pass_fraction", "paper_verdict"):
                    assert getattr(scores, key) is not None, key
        assert final.n == 40 and final.backbone.d == 16 and final.head.d == 8  # ResNet-18 width 2: 8 * 2
        assert final.backbone.report["n"] == 40 and final.head.report["d"] == 8 and "not augmented" in final.rows
        assert 0 <= final.knn_accuracy <= 1 and math.isfinite(final.views.test_infonce)
        assert final.backbone.normalized.cv == pytest.approx(0.0, abs=1e-6)
        assert all(math.isfinite(x) for x in run.epoch_losses)
    assert 0 <= sup.final.test_accuracy <= 1 and con.final.test_accuracy is None
    assert sup.final.test_loss != sup.final.views.test_infonce  # supervised: cross-entropy
    assert con.final.test_loss == con.final.views.test_infonce
    assert sup.epoch_losses[0] < math.log(10) + 0.5 < con.epoch_losses[0]  # CE ~ log 10 vs InfoNCE ~ log 32 at start


def test_training_changes_the_model_and_steps_per_epoch():
    cfg = tiny(encoder="mlp", width=16, d=8, head=None, steps_per_epoch=2, epochs=2, eval_every=2)
    run = train(cfg, progress=False)
    assert run.history[-1].step == 4 and run.final.head is None
    start = build_model(cfg).state_dict()
    assert any(not torch.equal(v, run.model.state_dict()[k]) for k, v in start.items())
    with pytest.raises(InputError, match="steps_per_epoch=9 is more than one pass"):
        train(cfg.replace(steps_per_epoch=9), progress=False)


def test_evaluate_images_is_deterministic_and_restores_mode():
    run = train(tiny(epochs=0, encoder="mlp", width=16, d=8, head=None), progress=False)
    run.model.train()
    a = evaluate(run.model, run.source, cfg=run.config)
    b = evaluate(run.model, run.source, cfg=run.config, n=20)
    assert run.model.training
    assert a == run.history[0] and a.n == 40 and b.n == 20  # the recorded evaluation (epoch 0, step 0)
    assert evaluate(run.model, run.source, cfg=run.config) == a


def test_resume_is_exact_for_images(tmp_path):
    cfg = tiny(epochs=2, eval_every=1, checkpoint_every=1)
    straight = train(cfg.replace(out=str(tmp_path / "a")), progress=False)
    train(cfg.replace(epochs=1, out=str(tmp_path / "b")), progress=False)
    resumed = train(cfg.replace(out=str(tmp_path / "b")), progress=False)
    for k, v in straight.model.state_dict().items():
        assert torch.equal(v, resumed.model.state_dict()[k]), k
    assert resumed.history == straight.history and resumed.epoch_losses == straight.epoch_losses
    lines = (tmp_path / "b" / "metrics.jsonl").read_text().splitlines()
    assert [json.loads(x)["epoch"] for x in lines] == [0, 1, 2]


def test_knn_accuracy_matches_sklearn(rng):
    from sklearn.neighbors import KNeighborsClassifier

    bank = rng.normal(size=(300, 6))
    labels = rng.integers(0, 4, 300)
    bank[:, 0] += labels  # some class structure
    queries = rng.normal(size=(120, 6))
    qlabels = rng.integers(0, 4, 120)
    queries[:, 0] += qlabels
    t = 0.1
    clf = KNeighborsClassifier(
        n_neighbors=50, metric="cosine", algorithm="brute", weights=lambda d: np.exp((1 - d) / t)
    )
    want = float((clf.fit(bank, labels).predict(queries) == qlabels).mean())
    got = knn_accuracy(torch.tensor(bank), torch.tensor(labels), torch.tensor(queries), torch.tensor(qlabels), k=50,
                       temperature=t, block=7)  # fmt: skip
    assert got == pytest.approx(want)
    assert 0.3 < got < 1  # better than chance (0.25) on this structure
    # more neighbours than bank rows: all of them vote
    small = knn_accuracy(torch.eye(3), torch.tensor([0, 1, 2]), torch.eye(3), torch.tensor([0, 1, 2]), k=200)
    assert small == 1.0


def test_cifar_presets():
    for name in ("cifar-resnet18", "cifar-mlp", "smoke-cifar"):
        PRESETS[name].validate()
    r = PRESETS["cifar-resnet18"]
    assert (r.source, r.encoder, r.head, r.batch_size, r.epochs) == ("cifar10", "resnet18", 128, 256, 100)
    assert (r.temperature, r.lr, r.weight_decay, r.optimizer) == (0.1, 1e-3, 1e-4, "adam")
    assert PRESETS["cifar-mlp"].encoder == "mlp" and PRESETS["cifar-mlp"].head is None


@pytest.mark.parametrize(
    "changes, msg",
    [
        ({"encoder": "resnet99"}, "unknown encoder 'resnet99' for image source"),
        ({"encoder": "linear"}, "unknown encoder 'linear'"),
        ({"d": 64}, "d is set by width"),
        ({"objective": "regression"}, "unknown objective"),
        ({"batch_size": 129}, "larger than the training set"),
        ({"source_params": {"n": 128, "n_test": 40, "augment": "mixup"}}, "unknown augment"),
        ({"source_params": {"bogus": 1}}, "no parameter 'bogus'"),
        ({"width": 0}, "width must be an integer >= 1"),
        ({"hidden": 64}, "hidden applies to synthetic encoders"),
        ({"source_params": {"path": "/nonexistent/cifar10.npz"}, "source": "cifar10"}, "no such file"),
    ],
)
def test_bad_image_config(changes, msg):
    with pytest.raises(InputError, match=msg) as exc:
        train(tiny(**changes), progress=False)
    assert "\n" not in str(exc.value)


def test_supervised_needs_images_and_width_needs_images():
    with pytest.raises(InputError, match="needs labelled images"):
        preset("smoke", objective="supervised").validate()
    with pytest.raises(InputError, match="width applies to image encoders"):
        preset("smoke", width=8).validate()


def test_out_of_memory_is_a_one_line_error(monkeypatch):
    def boom(self, x):
        raise torch.OutOfMemoryError("CUDA out of memory. Tried to allocate 2.00 GiB\nmore text")

    from infogauss.vision import VisionEncoder

    monkeypatch.setattr(VisionEncoder, "forward", boom)
    with pytest.raises(InputError, match=r"reduce batch_size=16 or width=1") as exc:
        train(tiny(), progress=False)
    assert "\n" not in str(exc.value) and "batch_size=32" in str(exc.value)


def test_cli_train_images(tmp_path, capsys):
    out = tmp_path / "sup"
    argv = ["train", "--preset", "smoke-cifar", "--device", "cpu", "--out", str(out), "--quiet", "objective=supervised",
            "width=2", "head=8", "epochs=1", "source.n=64", "source.n_test=32", "eval_views=16"]  # fmt: skip
    assert main(argv) == 0
    printed = capsys.readouterr().out
    assert "epoch 1" in printed and "test_accuracy=" in printed and "knn_accuracy=" in printed
    cfg = json.loads((out / "config.json").read_text())
    assert cfg["objective"] == "supervised" and cfg["source"] == "tiny-cifar"
    assert (out / "checkpoint.pt").is_file() and (out / "report.json").is_file()


@pytest.mark.parametrize(
    "argv, msg",
    [
        (["--preset", "cifar-resnet18", "--data", "{bad}"], "is not a .npz archive"),
        (["--preset", "cifar-mlp", "--data", "{random}"], "is not a .npz archive"),
        (["--preset", "cifar-resnet18", "--data", "{missing}"], "no such file"),
        (["--preset", "smoke", "--data", "{bad}"], "--data applies to source=cifar10"),
        (["--preset", "smoke-cifar", "encoder=resnet99"], "unknown encoder"),
        (["--preset", "smoke-cifar", "batch_size=5000"], "larger than the training set"),
    ],
)
def test_cli_image_errors(tmp_path, capsys, argv, msg):
    bad = tmp_path / "bad.npz"
    bad.write_bytes(b"this is not a zip archive")
    (tmp_path / "random.npz").write_bytes(np.random.default_rng(1).bytes(300))  # np.load: "pickled (object) data"
    argv = [a.format(bad=bad, random=tmp_path / "random.npz", missing=tmp_path / "none.npz") for a in argv]
    code = main(["train", "--out", str(tmp_path / "x"), "--quiet", "--device", "cpu", *argv])
    err = capsys.readouterr().err
    assert code == 2
    assert err.startswith("infogauss: error:") and msg in err and err.count("\n") == 1


def test_train_classes_keeps_only_those_training_images_and_every_test_image():
    from infogauss.data.images import make_image_source

    full = make_image_source("tiny-cifar", n=100, n_test=30)
    part = make_image_source("tiny-cifar", n=100, n_test=30, train_classes=[3, 1])
    assert sorted(torch.unique(part.train_set.y).tolist()) == [1, 3]
    assert part.n_train == int(torch.isin(full.train_set.y, torch.tensor([1, 3])).sum()) == 20
    assert part.n_test == full.n_test == 30 and torch.unique(part.test_set.y).numel() == 10
    assert "training classes 1, 3" in part.description
    assert make_image_source("tiny-cifar", n=100, n_test=30, train_classes="[1, 3]").n_train == 20  # CLI form
    for bad in ([], [10], "abc", [0.5, "x"]):
        with pytest.raises(InputError, match="train_classes"):
            make_image_source("tiny-cifar", n=100, n_test=30, train_classes=bad)


def test_augmentation_strength_is_a_source_parameter(tmp_path, capsys):
    from infogauss.data.images import make_image_source

    default = make_image_source("tiny-cifar", n=64, n_test=16)
    assert default.train_set.augment.scale == (0.2, 1.0) and default.train_set.augment.jitter_p == 0.8
    strong = make_image_source("tiny-cifar", n=64, n_test=16, crop_scale="0.5,1.0", jitter="0.4,0.4,0.4,0.1",
                               jitter_p=0.5, gray_p=0)  # fmt: skip
    aug = strong.train_set.augment
    assert (aug.scale, aug.jitter, aug.jitter_p, aug.gray_p) == ((0.5, 1.0), (0.4, 0.4, 0.4, 0.1), 0.5, 0.0)
    a = next(iter(default.batches(16, 0, steps=1)))[0]
    b = next(iter(strong.batches(16, 0, steps=1)))[0]
    assert not torch.equal(a, b)  # the strength changes the views
    assert (
        make_image_source("tiny-cifar", n=64, n_test=16, augment="crop-flip", jitter_p=0.8).train_set.augment.jitter_p
        == 0
    )
    with pytest.raises(InputError, match="crop_scale must be 2 number"):
        make_image_source("tiny-cifar", n=64, n_test=16, crop_scale="0.5")
    out = tmp_path / "run"
    args = ["train", "--preset", "smoke-cifar", "--device", "cpu", "--quiet", "--out", str(out), "epochs=0",
            "source.n=64", "source.n_test=24", "eval_views=24", "source.crop_scale=0.3,1.0",
            "source.jitter=0.5,0.5,0.5,0.1", "source.jitter_p=0.6", "source.gray_p=0.1"]  # fmt: skip
    assert main(args) == 0
    saved = json.loads((out / "config.json").read_text())
    assert saved["source_params"]["crop_scale"] == "0.3,1.0" and saved["source_params"]["gray_p"] == 0.1
    resolved = saved["source_resolved"]
    assert resolved["jitter_p"] == 0.6 and resolved["augment"] == "simclr"
    assert main([*args[:-1], "source.gray_p=1.5"]) == 2
    assert "gray_p" in capsys.readouterr().err


def test_channels_last_is_a_config_field():
    cfg = tiny(channels_last=True)
    model = build_model(cfg)
    assert model.backbone.conv1.weight.is_contiguous(memory_format=torch.channels_last)
    assert not build_model(tiny()).backbone.conv1.weight.is_contiguous(memory_format=torch.channels_last)
    run = train(cfg, progress=False)
    x = next(iter(run.source.batches(32, 0, steps=1)))[0]
    assert x.is_contiguous(memory_format=torch.channels_last) and math.isfinite(run.epoch_losses[0])
    with pytest.raises(InputError, match="channels_last must be true or false"):
        tiny(channels_last="yes").validate()
