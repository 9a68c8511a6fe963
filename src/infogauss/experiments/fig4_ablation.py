"""Fig. 4 ablation: which single factor of our MLP setup explains the gap at epoch 10 to the poster?

At epoch 10 our Fig. 4 MLP (:mod:`infogauss.experiments.fig4`, engine preset ``cifar-mlp``) has AD avg ~30 on the
clean test images; the poster (docs/paper-protocol.md §4.4.3) shows 0.81. The paper states neither the widths, nor
the input
normalisation, nor whether the tested embeddings are of clean or augmented test images. This experiment changes
**one factor at a time** against our default, same seed, same training length, and reports the epoch-0 and final
evaluation of each variant:

- ``default``: the fig4 setup (per-channel CIFAR mean/std input normalisation, 3072→512→ReLU→128 with biases,
  Adam 1e-3, weight decay 1e-4, batch 256, τ 0.1), evaluated on the 10,000 clean test images;
- ``eval_augmented``: the *default's* model (no extra training), evaluated on one SimCLR-augmented view of every
  test image (the views of :meth:`~infogauss.data.images.ImageSource.test_views`, seed
  :data:`infogauss.train.EVAL_SEED`);
- ``eval_normalized``: the default's L2-normalised rows (the protocol's ``normalized`` half, no extra training);
- ``no_input_norm``: pixels in [0, 1] enter the MLP (a fixed first layer ``x·std + mean`` undoes the source's
  normalisation, so every evaluation path sees the same inputs);
- ``no_output_bias``: the output layer's bias held at zero (frozen);
- ``d32`` / ``d512``: output width 32 / 512 instead of 128;
- ``lr_1e-4`` / ``lr_3e-3``: Adam learning rate 10× lower / 3× higher.

Nothing here is fitted to the poster: each factor takes the one or two values named above, chosen before any run.
Scales: ``cpu`` — CIFAR-10, the first 10 of the paper's 100 epochs per variant (the poster's first point), evaluated
at epochs 0 and 10, k-NN bank 10,000, 1,024 augmented test pairs for the InfoNCE monitor; ``paper`` — the same at
100 epochs (a GPU); ``smoke`` — seconds on generated images.
"""

from __future__ import annotations

import copy
import time

import numpy as np

from infogauss.constants import AD_THRESHOLD
from infogauss.experiments import paper
from infogauss.experiments.cifar_runs import SMOKE_TRAIN, image_row, join_notes
from infogauss.experiments.common import Context, data_report, train_config
from infogauss.experiments.tables import REPORT_KEYS, Column, Table

TITLE = "Fig. 4 ablation: the MLP at epoch 10, one factor of the setup changed at a time"

DATA = "cifar10"
PRESET = "cifar-mlp"
#: name -> (factor, what changes, TrainConfig changes, model edits); ``None`` changes: a re-evaluation of the default.
VARIANTS: dict[str, tuple] = {
    "default": ("—", "our fig4 setup", {}, {}),
    "eval_normalized": ("evaluation", "L2-normalised rows of the clean test embeddings", None, {}),
    "eval_augmented": ("evaluation", "one SimCLR view of each test image instead of the clean image", None, {}),
    "no_input_norm": ("input normalisation", "pixels in [0, 1] (no per-channel mean/std)", {}, {"pixels": "raw"}),
    "no_output_bias": ("output bias", "output layer without bias (zero, frozen)", {}, {"output_bias": False}),
    "d32": ("output width", "d = 32 (default 128)", {"d": 32}, {}),
    "d512": ("output width", "d = 512 (default 128)", {"d": 512}, {}),
    "lr_1e-4": ("learning rate", "Adam lr 1e-4 (default 1e-3)", {"lr": 1e-4}, {}),
    "lr_3e-3": ("learning rate", "Adam lr 3e-3 (default 1e-3)", {"lr": 3e-3}, {}),
}
CPU_TRAIN = {"epochs": 10, "eval_every": 10, "knn_bank": 10000, "eval_views": 1024}
SCALES = {
    "smoke": {
        "about": "seconds: generated 32×32 images (tiny-cifar, not CIFAR-10), MLP 3072→32→16, 2 epochs, every variant",
        "train": {**SMOKE_TRAIN, "width": 32, "d": 16, "head": None, "epochs": 2, "eval_every": 2},
        "variants": list(VARIANTS),
    },
    "cpu": {
        "about": "CIFAR-10, the fig4 MLP (3072→512→128), the first train.epochs (default 10) of the paper's 100 "
        "epochs per variant (full passes over the 50k training images), evaluated at epoch 0 and at the end on the "
        "10,000 test images; "
        "k-NN bank 10,000; one seed",
        "train": CPU_TRAIN,
        "variants": list(VARIANTS),
    },
    "paper": {
        "about": "as cpu, but 100 epochs per variant (a GPU)",
        "train": {**CPU_TRAIN, "epochs": 100, "eval_every": 100, "knn_bank": None, "eval_views": 2048},
        "variants": list(VARIANTS),
    },
}


def denormalize(mean, std):
    """A module computing ``x · std + mean``: it undoes a per-channel normalisation, so the next layer sees pixels in
    [0, 1]. (Built here, not at import, so that ``reproduce --list`` runs without torch.)"""
    from torch import nn

    class Denormalize(nn.Module):
        def __init__(self):
            super().__init__()
            self.register_buffer("mean", mean.detach().clone().view(1, -1, 1, 1))
            self.register_buffer("std", std.detach().clone().view(1, -1, 1, 1))

        def forward(self, x):
            return x * self.std + self.mean

    return Denormalize()


def edit_model(model, source, *, pixels: str = "normalized", output_bias: bool = True) -> None:
    """Apply a variant's model edits in place (before training): raw-pixel input, no output bias."""
    import torch
    from torch import nn

    if pixels == "raw":
        model.backbone = nn.Sequential(denormalize(source.train_set.mean, source.train_set.std), model.backbone)
    if not output_bias:
        last = [m for m in model.backbone.modules() if isinstance(m, nn.Linear)][-1]
        with torch.no_grad():
            last.bias.zero_()
        last.bias.requires_grad_(False)  # no gradient: Adam (and its weight decay) leaves it at zero


def train_variant(ctx: Context, changes: dict, edits: dict):
    """Train one variant with the engine's loop; returns ``(run, model at step 0)``."""
    from infogauss.train.loop import build, run_loop

    cfg = train_config(ctx, PRESET, **{**ctx.settings["train"], **changes})
    setup, state = build(cfg)
    edit_model(state.model, setup.source, **edits)
    start = copy.deepcopy(state.model)
    return run_loop(setup, state, ctx.progress), start


def augmented_report(model, source, block: int = 1000) -> dict:
    """The protocol on the embeddings of one augmented view of every test image (raw and normalised halves)."""
    import torch

    from infogauss.train import EVAL_SEED
    from infogauss.train.evaluate import eval_mode

    device = next(model.parameters()).device
    with torch.no_grad(), eval_mode(model, device.type):
        z = torch.cat([model.embed(x1).float() for x1, _ in source.test_views(source.n_test, block, EVAL_SEED)])
    return data_report(z.double().cpu().numpy())


def _row(name: str, entry, before, **fields) -> dict:
    factor, change = VARIANTS[name][:2]
    row = image_row(entry, name, "backbone", factor=factor, change=change, **fields)
    for key in REPORT_KEYS:
        row["before_" + key] = before.get(key)
    return row


def _report_row(name: str, after: dict, before: dict, base: dict) -> dict:
    """A re-evaluation row of the default's model: the protocol's keys from a report half, the rest from ``base``."""
    factor, change = VARIANTS[name][:2]
    row = {k: base.get(k) for k in ("epoch", "n", "knn_accuracy", "train_loss")}  # no wall time: no training
    row.update(name=name, factor=factor, change=change, d=base.get("d"))
    row.update({k: after.get(k) for k in REPORT_KEYS})
    row.update({"before_" + k: before.get(k) for k in REPORT_KEYS})
    return row


def _default_rows(ctx: Context, wanted) -> list[dict]:
    t0 = time.perf_counter()
    run, start = train_variant(ctx, {}, {})
    wall = round(time.perf_counter() - t0, 1)
    first, last = run.history[0], run.history[-1]
    base = _row("default", last, first.backbone.raw.to_dict(), wall_s=wall)
    rows = [base]
    if "eval_normalized" in wanted:
        rows.append(_report_row("eval_normalized", last.backbone.normalized.to_dict(),
                                first.backbone.normalized.to_dict(), base))  # fmt: skip
    if "eval_augmented" in wanted:
        after, before = augmented_report(run.model, run.source), augmented_report(start, run.source)
        rows.append(_report_row("eval_augmented", after["raw"], before["raw"], base))
    return rows


def run_seed(ctx: Context):
    wanted = list(ctx.settings["variants"])
    unknown = [v for v in wanted if v not in VARIANTS]
    if unknown:
        from infogauss.errors import InputError

        raise InputError(f"unknown fig4-ablation variant(s) {unknown}; choose from {', '.join(VARIANTS)}")
    rows = _default_rows(ctx, wanted)
    for name in wanted:
        changes, edits = VARIANTS[name][2:]
        if changes is None or name == "default":
            continue
        t0 = time.perf_counter()
        run, _ = train_variant(ctx, changes, edits)
        wall = round(time.perf_counter() - t0, 1)
        rows.append(_row(name, run.history[-1], run.history[0].backbone.raw.to_dict(), wall_s=wall))
    ad0 = rows[0]["ad_mean"]
    for r in rows:
        r["delta_ad_vs_default"] = None if r.get("ad_mean") is None else r["ad_mean"] - ad0
    return rows, {}


def tables(rows):
    e = rows[0].get("epoch") if rows else None
    cols = [Column("factor", "factor", "text"), Column("change", "change (alone)", "text"),
            Column("before_ad_mean", "AD avg, epoch 0"), Column("ad_mean", f"AD avg, epoch {e}"),
            Column("delta_ad_vs_default", "Δ vs default"), Column("ad_pass_fraction", "AD pass", "frac"),
            Column("dp_pass_fraction", "DP pass", "frac"), Column("before_cv", "CV, epoch 0"),
            Column("cv", f"CV, epoch {e}"), Column("knn_accuracy", "k-NN acc", "frac"),
            Column("wall_s", "wall s")]  # fmt: skip
    ref = paper.FIG4_AD_MEAN.get(e) if e is not None else None
    caption = (f"The poster's epoch-{e} values: AD avg {ref}, CV {paper.FIG4_CV.get(e)} ({paper.SOURCE_FIG4})."
               if ref is not None else "The poster shows no value at this epoch.")  # fmt: skip
    return [Table(f"One factor at a time, epoch {e} (seed 0)", cols, rows, caption=caption)]


def explain(rows) -> list[str]:
    """What the ablation says, from its rows: the factor with the largest effect and which variants pass."""
    if not rows:
        return []
    base = rows[0]
    e = base.get("epoch")
    out = [f"Default at epoch {e}: AD avg {base['ad_mean']:.3g} (epoch 0: {base['before_ad_mean']:.3g}), CV "
           f"{base['cv']:.3g}."]  # fmt: skip
    others = [r for r in rows[1:] if r.get("ad_mean") is not None]
    if others:
        best = min(others, key=lambda r: r["ad_mean"])
        out.append(f"Lowest AD avg at epoch {e}: {best['name']} ({best['change']}), {best['ad_mean']:.3g} — "
                   f"{base['ad_mean'] / max(best['ad_mean'], 1e-12):.3g}× below the default.")  # fmt: skip
        below = [r["name"] for r in others if r["ad_mean"] < AD_THRESHOLD]
        out.append(f"Variants with AD avg < {AD_THRESHOLD:g} at epoch {e}: {', '.join(below) or 'none'}.")
    return out


def notes(rows, rows_per_seed, settings):
    return join_notes(explain(rows) + [
        "Each variant changes one factor of the default and keeps the rest (same seed, same batches); the two "
        "`eval_*` rows re-evaluate the default's trained model and cost no training. The values of each factor were "
        "chosen before any run, not fitted to the poster."], settings)  # fmt: skip


def figures(rows, extras, folder):
    import matplotlib.pyplot as plt

    names = [r["name"] for r in rows]
    x = np.arange(len(rows))
    fig, ax = plt.subplots(figsize=(9, 3.6))
    ax.bar(x - 0.2, [r["before_ad_mean"] for r in rows], 0.4, label="epoch 0", color="lightgrey")
    ax.bar(x + 0.2, [r["ad_mean"] for r in rows], 0.4, label=f"epoch {rows[0].get('epoch')}")
    ax.axhline(AD_THRESHOLD, color="k", ls=":", lw=1, label=f"AD threshold {AD_THRESHOLD:g}")
    e = rows[0].get("epoch")
    at = e if e in paper.FIG4_AD_MEAN else min(paper.FIG4_AD_MEAN)  # else the poster's first point, so labelled
    ax.axhline(paper.FIG4_AD_MEAN[at], color="tab:red", ls="--", lw=1,
               label=f"poster, epoch {at}: {paper.FIG4_AD_MEAN[at]}")  # fmt: skip
    ax.set_yscale("log")
    ax.set_xticks(x, names, rotation=30, ha="right", fontsize=8)
    ax.set(ylabel="AD avg (log)", title="Fig. 4 MLP: one factor at a time")
    ax.legend(fontsize=7)
    fig.tight_layout()
    fig.savefig(folder / "fig4_ablation.png", dpi=120)
    plt.close(fig)
