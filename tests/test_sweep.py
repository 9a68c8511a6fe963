"""The batched sweep trainer (infogauss.sweep) against the engine and against one-at-a-time runs."""

import numpy as np
import pytest
import torch

from infogauss.errors import InputError
from infogauss.sweep import RunSpec, run_sweep

SMALL = {"dim": 32, "n_train": 256, "n_test": 64}


def cheap(z, source=None):
    """A fast stand-in for the Gaussianity report: what the tests compare is the embedding itself."""
    return {"z": z.copy(), "cv": float(np.std(np.linalg.norm(z, axis=1)) / np.mean(np.linalg.norm(z, axis=1)))}


def spec(**kw):
    base = dict(source="laplace", source_params=SMALL, d=8, batch_size=32, epochs=2, hidden=16)
    return RunSpec(**{**base, **kw})


@pytest.mark.parametrize(
    "kw",
    [
        {},
        {"encoder": "mlp"},
        {"source": "binary", "source_params": {**SMALL, "sparsity": 0.1}},
        {"source": "gmm", "source_params": SMALL, "temperature": 0.2},
    ],
)
def test_sweep_equals_engine(kw):
    """A sweep run is the engine's run of the same settings: same init, data stream, Adam, hence same weights."""
    from infogauss.train import preset, train

    s = spec(seed=3, **kw)
    (res,) = run_sweep([s], progress=False, measure_fn=cheap)
    cfg = preset(s.source if s.source != "laplace" else "laplace").replace(
        source_params=dict(s.source_params), seed=3, d=8, batch_size=32, epochs=2, eval_every=2, encoder=s.encoder,
        hidden=16, temperature=s.temperature, device="cpu", out=None,
    )  # fmt: skip
    run = train(cfg, progress=False)
    lin = [m for m in run.model.backbone.modules() if isinstance(m, torch.nn.Linear)]
    for k, m in enumerate(lin):
        np.testing.assert_allclose(res.params[f"W{k + 1}"].numpy(), m.weight.detach().T.numpy(), rtol=1e-4, atol=2e-5)
        np.testing.assert_allclose(res.params[f"b{k + 1}"][0].numpy(), m.bias.detach().numpy(), rtol=1e-4, atol=2e-5)
    np.testing.assert_allclose(res.losses, run.epoch_losses, rtol=1e-5)


def test_batched_equals_one_at_a_time():
    """Seeds and temperatures trained together give each run what it gets alone (float tolerance)."""
    specs = [spec(seed=s, temperature=t) for s, t in ((0, 0.1), (1, 0.1), (2, 0.2))]
    specs.append(spec(seed=0, objective="vicreg"))
    together = run_sweep(specs, progress=False, measure_fn=cheap)
    chunked = run_sweep(specs, progress=False, measure_fn=cheap, max_batch=2)  # batches of at most 2 runs
    for a, b in zip(together, chunked, strict=True):
        np.testing.assert_allclose(a.params["W1"].numpy(), b.params["W1"].numpy(), rtol=1e-5, atol=1e-6)
    for s, res in zip(specs, together, strict=True):
        (alone,) = run_sweep([s], progress=False, measure_fn=cheap)
        for key in res.params:
            np.testing.assert_allclose(res.params[key].numpy(), alone.params[key].numpy(), rtol=1e-5, atol=1e-6)
        np.testing.assert_allclose(res.after["z"], alone.after["z"], rtol=1e-4, atol=1e-5)
        assert [h["epoch"] for h in res.history] == [0, 2]
    # different seeds really are different runs
    assert not np.allclose(together[0].after["z"], together[1].after["z"])
    # training moved the weights
    assert not np.allclose(together[0].before["z"], together[0].after["z"])


def test_orthogonal_control_is_isometric_and_untrained():
    for dim, d in ((32, 8), (4, 8)):
        (res,) = run_sweep([spec(encoder="orthogonal", source_params={**SMALL, "dim": dim})], progress=False,
                           measure_fn=cheap)  # fmt: skip
        w = res.params["W1"].double()
        gram = w.T @ w if dim >= d else w @ w.T
        np.testing.assert_allclose(gram.numpy(), np.eye(min(dim, d)), atol=1e-5)
        assert [h["epoch"] for h in res.history] == [0] and res.losses == []


def test_measure_at_and_real_report():
    (res,) = run_sweep([spec(epochs=2, measure_at=(1,))], progress=False)
    assert [h["epoch"] for h in res.history] == [0, 1, 2]
    for key in ("cv", "ad_mean", "ad_pass_fraction", "dp_mean_p", "paper_verdict", "calibrated_verdict"):
        assert key in res.after


@pytest.mark.parametrize("kw, match", [({"encoder": "cnn"}, "encoder"), ({"objective": "byol"}, "objective"),
                                       ({"batch_size": 1000}, "larger than the training set")])  # fmt: skip
def test_sweep_errors(kw, match):
    with pytest.raises(InputError, match=match):
        run_sweep([spec(**kw)], progress=False, measure_fn=cheap)


def test_no_bias_stays_zero_and_normal_init():
    (res,) = run_sweep([spec(bias=False)], progress=False, measure_fn=cheap)
    assert torch.count_nonzero(res.params["b1"]) == 0
    (res,) = run_sweep([spec(init="normal", epochs=0, source_params={**SMALL, "dim": 400}, d=300)], progress=False,
                       measure_fn=cheap)  # fmt: skip
    w = res.params["W1"]
    assert abs(float(w.std()) * 20 - 1) < 0.02  # N(0, 1/400)


def test_init_offset_decouples_the_encoder_from_the_data():
    """With the engine's seeding (offset 0) the CPU init replays the source's stream: weights correlate with the GMM
    means. Any other offset gives independent weights (the sweep experiments use one)."""
    from infogauss.data.synthetic import make_source

    params = {"dim": 64, "n_train": 64, "n_test": 64, "components": 8}
    means = make_source("gmm", seed=0, **params).means.flatten().numpy()

    def corr(offset):
        s = spec(source="gmm", source_params=params, d=16, epochs=0, init_offset=offset)
        (res,) = run_sweep([s], progress=False, measure_fn=cheap)
        return float(np.corrcoef(res.params["W1"].T[:8].flatten().numpy(), means)[0, 1])

    assert abs(corr(0)) > 0.2
    assert abs(corr(7919)) < 0.15


def test_engine_and_sweep_share_their_seed_offsets():
    from infogauss.sweep import DATA_SEED_OFFSET, INIT_SEED_OFFSET
    from infogauss.train import build

    assert (build.DATA_SEED_OFFSET, build.INIT_SEED_OFFSET) == (DATA_SEED_OFFSET, INIT_SEED_OFFSET)
    assert RunSpec().init_offset == INIT_SEED_OFFSET != 0
