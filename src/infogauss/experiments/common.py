"""Glue shared by the synthetic experiments: run one training, get the test embeddings, make a result row.

Training and measuring are the engine's (:mod:`infogauss.train`, :mod:`infogauss.report`, :mod:`infogauss.stats`);
this file only calls them with an experiment's settings and flattens what they return into rows.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import TYPE_CHECKING

import numpy as np

from infogauss.experiments.tables import REPORT_KEYS

if TYPE_CHECKING:  # torch is imported where it is used: `reproduce --list` imports every experiment, not torch
    import torch

#: The smoke-scale Laplace source of the synthetic experiments (seconds): 32-d inputs, 256 training / 128 test items.
SMOKE_SOURCE = {"dim": 32, "n_train": 256, "n_test": 128}


def epochs(n: int, **more) -> dict:
    """Training changes of a scale: ``n`` epochs evaluated once, at the end (``eval_every = n``), plus ``more``."""
    return {"epochs": n, "eval_every": n, **more}


#: Monitors of :func:`infogauss.train.evaluate` copied into every row (they come with each evaluation).
MONITORS = (
    "alignment",
    "mean_embedding_norm",
    "mean_norm",
    "pos_cos_std",
    "neg_cos_mean",
    "neg_cos_std",
    "uniformity_potential",
    "test_loss",
)


@dataclass
class Context:
    """What :func:`infogauss.experiments.reproduce` hands an experiment for one seed."""

    settings: dict
    seed: int
    progress: bool = True
    device: str = "auto"
    models: tuple[str, ...] = ()  # extra encoders (``--model``), for experiments that take them
    data: str | None = None  # a local CIFAR-10 (``--data``), for experiments that train on it


def train_config(ctx: Context, preset: str, **changes):
    """A :class:`~infogauss.train.TrainConfig` from engine preset ``preset`` with this seed and device.

    ``changes`` may hold ``source_params``; they are merged over the preset's. ``ctx.data`` (``--data``) is the
    CIFAR-10 file of a ``cifar10`` source. No output folder: nothing is written.
    """
    from infogauss.train import preset as make_preset

    base = make_preset(preset)
    params = {**base.source_params, **changes.pop("source_params", {})}
    if ctx.data is not None and changes.get("source", base.source) == "cifar10":
        params["path"] = ctx.data
    return base.replace(source_params=params, seed=ctx.seed, device=ctx.device, out=None, **changes).validate()


def train(ctx: Context, cfg):
    """Train ``cfg`` (the engine's :func:`infogauss.train.train`); returns its ``Run``."""
    from infogauss.train import train as engine_train

    return engine_train(cfg, progress=ctx.progress)


def test_views(run, n: int | None = None) -> tuple[np.ndarray, np.ndarray]:
    """Unnormalised representations of two augmented views of the first ``n`` test items (default: all).

    Drawn like :func:`infogauss.train.evaluate` draws its views (generator seeded with
    :data:`infogauss.train.EVAL_SEED`); with ``n`` equal to the config's ``eval_samples`` (or both None) they are
    exactly the arrays behind the engine's numbers.
    """
    import torch

    from infogauss.data.synthetic import make_generator
    from infogauss.train import EVAL_SEED

    x0 = run.source.test if n is None else run.source.test[:n]
    with torch.no_grad():
        x1, x2 = run.source.views(x0, make_generator(EVAL_SEED, x0.device))
    return embed(run.model, x1), embed(run.model, x2)


def embed(model, x: torch.Tensor, block: int = 4096) -> np.ndarray:
    """``model.embed`` over row blocks, as a float64 numpy array (eval mode, restored afterwards)."""
    from infogauss.train.evaluate import eval_mode, forward_blocks

    with eval_mode(model, x.device.type):
        return forward_blocks(model.embed, x, block).double().cpu().numpy()


def data_embeddings(run, n: int | None = None) -> np.ndarray:
    """Unnormalised representations of the held-out *data* (the first ``n`` test items, default all): what
    "evaluated on the test set" means here (:func:`infogauss.train.evaluate.test_data`: a test item, for the GMM
    one draw from the item's component). The engine's evaluation reports them as ``entry.data``; its
    ``entry.backbone`` tests the first of two *augmented* views; rows keep both (see :func:`result_row`).
    """
    import torch

    from infogauss.train.evaluate import test_data

    with torch.no_grad():
        return embed(run.model, test_data(run.source, n))


def data_report(z: np.ndarray) -> dict:
    """The paper's protocol on ``z`` (:func:`infogauss.report.gaussianity_report`, coordinates only)."""
    from infogauss.report import gaussianity_report

    return gaussianity_report(z, projections=0, geometry=False, progress=False).to_dict()


def report_fields(rep) -> dict:
    """The report keys (:data:`REPORT_KEYS`) of a :class:`~infogauss.report.GaussianityReport`, key by key: the
    unnormalised value, then (but for the CV, 0 on unit rows) the L2-normalised one prefixed ``normalized_``."""
    row = {}
    for key in REPORT_KEYS:
        row[key] = rep.raw[key]
        if key != "cv":
            row["normalized_" + key] = rep.normalized[key]
    return row


def cosine_fields(X: np.ndarray, seed: int) -> tuple[dict, np.ndarray]:
    """Negative-pair cosines of the rows of ``X`` (:func:`infogauss.whitening.negative_cosines`) summarised beside
    the uniform law: ``neg_cos_mean``, ``neg_cos_std``, ``neg_cos_abs_mean`` and ``uniform_cos_std`` = 1/sqrt(d),
    the std of the cosine of two uniform directions. Returns ``(fields, cosines)``."""
    from infogauss.whitening import negative_cosines

    cos = negative_cosines(X, seed)
    fields = {"neg_cos_mean": float(cos.mean()), "neg_cos_std": float(cos.std())}
    fields["neg_cos_abs_mean"] = float(np.abs(cos).mean())
    fields["uniform_cos_std"] = 1.0 / math.sqrt(X.shape[1])
    return fields, cos


def result_row(entry, z: np.ndarray, name: str, **fields) -> dict:
    """One result row: the test data's report (``z``) plus the engine's evaluation ``entry`` of the same model.

    ``entry`` is an :class:`~infogauss.train.Evaluation` (an element of ``Run.history``). Keys: ``name``,
    ``fields``, ``epoch``, ``n``, ``d``; the report keys (:data:`REPORT_KEYS`) of the unnormalised test-data
    embeddings ``z`` at top level and of their L2-normalised rows prefixed ``normalized_``; the report keys of the
    engine's augmented test views (``entry.backbone.raw``) prefixed ``views_``; and the engine's monitors
    (:data:`MONITORS`, on view pairs: ``entry.views`` and ``entry.test_loss``).
    """
    rep = data_report(z)
    raw, norm = rep["raw"], rep["normalized"]
    row = {"name": name, **fields, "epoch": entry.epoch, "n": rep["n"], "d": rep["d"]}
    for key in REPORT_KEYS:
        row[key] = raw[key]
    for key in REPORT_KEYS:
        if key != "cv":  # the CV of unit rows is 0 by construction
            row["normalized_" + key] = norm[key]
    views = entry.backbone.raw.to_dict()
    for key in REPORT_KEYS:
        row["views_" + key] = views.get(key)
    monitors = {**(entry.views.to_dict() if entry.views is not None else {}), "test_loss": entry.test_loss}
    for key in MONITORS:
        if key in monitors:
            row[key] = monitors[key]
    return row


def norm_mode(norms: np.ndarray, bins: int = 60) -> float:
    """Mode of a norm histogram (centre of the fullest of ``bins`` equal bins): what one reads off a histogram."""
    counts, edges = np.histogram(norms, bins=bins)
    i = int(np.argmax(counts))
    return float(0.5 * (edges[i] + edges[i + 1]))


def grid_runs(settings: dict) -> list[tuple[int, int]]:
    """The (d, N) pairs of an experiment: ``settings["runs"]`` if given, else ``settings["d"] × settings["N"]``."""
    if "runs" in settings:
        return [(int(d), int(n)) for d, n in settings["runs"]]
    return [(d, n) for d in settings["d"] for n in settings["N"]]


def laplace_grid(ctx: Context):
    """Train the Laplace study at every ``(d, N)`` of the settings (:func:`grid_runs`; paper §4.1 (a)); yields
    ``(d, N, run)``. ``ctx.settings["train"]`` (TrainConfig changes) and ``["source_params"]`` apply to every run.
    """
    spec = ctx.settings
    for d, n in grid_runs(spec):
        cfg = train_config(ctx, "laplace", source_params=dict(spec.get("source_params", {})),
                           **{**spec.get("train", {}), "d": d, "batch_size": n})  # fmt: skip
        yield d, n, train(ctx, cfg)
