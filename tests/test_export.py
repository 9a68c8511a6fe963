"""infogauss export: safetensors + JSON; load_encoder / embed --model reload it; export -> embed -> analyze."""

import json

import numpy as np
import pytest
import torch

import infogauss
from infogauss.cli import main
from infogauss.export import ENCODER_FILE, WEIGHTS_FILE, load_trained
from infogauss.train import load_checkpoint, preset


@pytest.fixture(scope="module")
def smoke_run(tmp_path_factory):
    out = tmp_path_factory.mktemp("exp") / "run"
    assert main(["train", "--preset", "smoke", "epochs=1", "head=4", "source.n_train=128", "source.n_test=64",
                 "--out", str(out), "--quiet"]) == 0  # fmt: skip
    return out


def _engine_embed(run_dir, x):
    """The engine's own forward pass: the checkpoint's weights in the model train() builds."""
    from infogauss.train import build_model

    cfg = preset("smoke", head=4)
    model = build_model(cfg, x.shape[1])
    model.load_state_dict(load_checkpoint(run_dir / "checkpoint.pt")["model"])
    with torch.no_grad():
        return model.eval().embed(torch.as_tensor(x)).numpy()


def test_export_writes_safetensors_and_json_only(smoke_run, tmp_path):
    out = tmp_path / "enc"
    assert main(["export", str(smoke_run), "--out", str(out)]) == 0
    assert sorted(p.name for p in out.iterdir()) == sorted([ENCODER_FILE, WEIGHTS_FILE])
    desc = json.loads((out / ENCODER_FILE).read_text())
    assert desc["in_dim"] == 32 and desc["architecture"]["head"] == 4
    from safetensors.torch import load_file

    saved = load_file(str(out / WEIGHTS_FILE))
    ckpt = load_checkpoint(smoke_run / "checkpoint.pt")["model"]
    assert saved.keys() == ckpt.keys() and all(torch.equal(saved[k], ckpt[k]) for k in saved)
    # exporting again over it needs --force; the run folder is never the output
    assert main(["export", str(smoke_run), "--out", str(out)]) == 2
    assert main(["export", str(smoke_run), "--out", str(smoke_run / "x")]) == 2


def test_round_trip_export_embed_analyze(smoke_run, tmp_path):
    x = np.random.default_rng(1).laplace(size=(300, 32)).astype(np.float32)
    np.save(tmp_path / "x.npy", x)
    enc = tmp_path / "enc"
    assert main(["export", str(smoke_run), "--out", str(enc)]) == 0
    want = _engine_embed(smoke_run, x)
    for model in (enc, smoke_run):  # the export and the run folder itself
        z_path = tmp_path / f"z-{model.name}.npy"
        assert main(["embed", str(tmp_path / "x.npy"), "--model", str(model), "--out", str(z_path),
                     "--no-normalize", "--device", "cpu", "--quiet"]) == 0  # fmt: skip
        z = np.load(z_path)
        assert z.shape == (300, 8)
        np.testing.assert_allclose(z, want, rtol=1e-5, atol=1e-6)
    lib = infogauss.load_encoder(enc, device="cpu")
    assert lib.kind == "infogauss" and lib.dim == 8
    np.testing.assert_allclose(lib.encode(x, "array", 64, False), want, rtol=1e-5, atol=1e-6)
    assert main(["analyze", str(tmp_path / "z-enc.npy"), "--out", str(tmp_path / "an"), "--quiet"]) == 0
    assert (tmp_path / "an").is_dir() and any((tmp_path / "an").iterdir())


def test_not_a_run_is_one_line(tmp_path, capsys):
    (tmp_path / "empty").mkdir()
    assert main(["export", str(tmp_path / "empty"), "--out", str(tmp_path / "o")]) == 2
    err = capsys.readouterr().err
    assert "not a training run" in err and len(err.strip().splitlines()) == 1
    assert not (tmp_path / "o").exists()


def test_exported_weights_that_do_not_fit_are_refused(smoke_run, tmp_path):
    out = tmp_path / "enc"
    assert main(["export", str(smoke_run), "--out", str(out)]) == 0
    desc = json.loads((out / ENCODER_FILE).read_text())
    desc["architecture"]["d"] = 9
    (out / ENCODER_FILE).write_text(json.dumps(desc))
    with pytest.raises(infogauss.InputError):
        load_trained(out)
