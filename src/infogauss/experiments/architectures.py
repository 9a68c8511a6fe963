"""Contrastive vs supervised across encoders: ResNet-18 at several widths, ResNet-34, ResNet-50 and a ViT on CIFAR-10.

Not in the paper, which compares the two objectives on one ResNet-18 (Table 1, §4.2(b)): the same protocol as
``table1-cifar`` repeated over architectures and sizes, to see whether "InfoNCE gives thinner shells and more
Gaussian coordinates than cross-entropy" depends on the encoder. For every encoder, two runs that differ only in
``objective`` (same initial weights, augmentations, optimiser — Adam 1e-3, weight decay 1e-4 — batch and steps),
each with the SimCLR projection head (out_dim → out_dim → 128); measured on the un-augmented test images, head
output in the main table (what InfoNCE sees), backbone features in the second.

Scales: ``paper`` — the paper's ResNet-18 protocol (100 epochs, batch 256) for every encoder: ResNet-18 at base
widths 16, 32 and 64, ResNet-34 and ResNet-50 at width 64, ViT-Tiny (patch 4, 192-d, depth 12; the same Adam
settings as the ResNets, no warm-up — a ViT would usually get one); 12 runs, GPU hours. ``cpu`` — a quick look, not
a result: ResNet-18 at widths 4, 8 and 16, ResNet-34 at width 8, ResNet-50 at width 4, a 64-d ViT (depth 12),
30 steps of 256 each (0.15 passes over the training set), 5,000 test images, k-NN bank 5,000. ``smoke`` — seconds,
tiny generated images, tiny widths.
"""

from __future__ import annotations

from infogauss.constants import AD_THRESHOLD
from infogauss.experiments import paper
from infogauss.experiments.cifar_runs import SMOKE_TRAIN, image_row, join_notes, same_initialisation, sizes
from infogauss.experiments.columns import prefixed
from infogauss.experiments.common import Context, train, train_config
from infogauss.experiments.drawing import save, subplots
from infogauss.experiments.tables import REPORT_COLUMNS, Column, Table

TITLE = "Contrastive (InfoNCE) vs supervised (cross-entropy) across encoders and sizes on CIFAR-10"

DATA = "cifar10"  # trains on CIFAR-10 (``reproduce --data PATH``)
PRESET = "cifar-resnet18"


def encoders(spec: str) -> list[list]:
    """``"resnet18:2 vit_tiny:64"`` → ``[["resnet18-w2", "resnet18", 2], ["vit_tiny-w64", "vit_tiny", 64]]``: the
    (label, encoder, base width) triples of a scale's ``encoders`` setting."""
    return [[f"{name}-w{width}", name, int(width)] for name, width in (item.split(":") for item in spec.split())]


SCALES = {
    "smoke": {
        "about": "seconds: 256 generated images (tiny-cifar, not CIFAR-10), ResNet-18 widths 2 and 4, ResNet-34 "
        "width 2, ResNet-50 width 1, ViT width 64; 2 steps of 32 (tests only)",
        "train": {k: v for k, v in SMOKE_TRAIN.items() if k != "width"} | {"steps_per_epoch": 2, "eval_views": 32},
        "encoders": encoders("resnet18:2 resnet18:4 resnet34:2 resnet50:1 vit_tiny:64"),
    },
    "cpu": {
        "about": "a quick look, not a result: CIFAR-10, ResNet-18 base widths 4/8/16, ResNet-34 width 8, ResNet-50 "
        "width 4, ViT 64-d (depth 12, patch 4); 1 epoch of 30 batches of 256 (0.15 passes over the training set; "
        "paper scale 100 passes), 5,000 test images, k-NN bank 5,000, 512 test pairs; heads 128-d",
        "train": {
            "epochs": 1,
            "steps_per_epoch": 30,
            "eval_every": 1,
            "eval_samples": 5000,
            "knn_bank": 5000,
            "eval_views": 512,
        },  # fmt: skip
        "encoders": encoders("resnet18:4 resnet18:8 resnet18:16 resnet34:8 resnet50:4 vit_tiny:64"),
    },
    "paper": {
        "about": "the paper's ResNet-18 protocol for every encoder (a GPU): CIFAR-10, SimCLR augmentations, InfoNCE "
        "tau 0.1 vs cross-entropy, Adam 1e-3, weight decay 1e-4, batch 256, 100 epochs, SimCLR head → 128, 10,000 "
        "test images; ResNet-18 widths 16/32/64, ResNet-34 and ResNet-50 width 64, ViT-Tiny (192-d); bf16 autocast "
        "on CUDA (evaluation in float32)",
        "train": {"epochs": 100, "eval_every": 10},
        "encoders": encoders("resnet18:16 resnet18:32 resnet18:64 resnet34:64 resnet50:64 vit_tiny:192"),
    },
}
#: What every encoder shares, said once in the notes.
PROTOCOL_NOTE = (
    "Every encoder uses the Table 1 protocol unchanged (no per-architecture tuning: same Adam settings, no "
    "warm-up or schedule — ViTs usually get both, so their accuracy here is not what they can reach). "
    "Assumptions as in table1-cifar."
)


def run_seed(ctx: Context):
    rows = []
    for label, encoder, width in ctx.settings["encoders"]:
        base = train_config(ctx, PRESET, **{**ctx.settings["train"], "encoder": encoder, "width": width})
        same = same_initialisation(base)
        for objective, tag in (("infonce", "contrastive"), ("supervised", "supervised")):
            run = train(ctx, base.replace(objective=objective))
            paper_row = f"cifar10_rn18_{tag}" if label == "resnet18-w64" else None
            row = image_row(run.final, f"{label}-{tag}", "head", architecture=label, same_init=same, **sizes(run))
            if paper_row:
                row["paper_row"] = paper_row
            rows.append(row)
    return rows, {}


def tables(rows):
    arch = Column("architecture", "encoder", "text")
    obj = Column("objective", "objective", "text")
    main = Table("Projection-head output (what InfoNCE sees), unnormalised",
                 [arch, obj, Column("d", "d", "int"), *REPORT_COLUMNS, Column("knn_accuracy", "k-NN acc", "frac"),
                  Column("test_accuracy", "test acc", "frac")], rows, paper.TABLE1,
                 caption=f"Paper values (ResNet-18 width 64 only) from {paper.SOURCE_TABLE1}.")  # fmt: skip
    backbone = Table("Backbone features, unnormalised",
                     [arch, obj, Column("backbone_d", "d", "int"),
                      *prefixed(REPORT_COLUMNS, "backbone_")], rows)  # fmt: skip
    return [main, backbone]


def notes(rows, rows_per_seed, settings):
    by = {}
    for r in rows:
        by.setdefault(r["architecture"], {})[r["objective"]] = r
    lines = []
    for label, pair in by.items():
        c, s = pair.get("infonce"), pair.get("supervised")
        if c and s and c.get("cv") is not None and s.get("cv") is not None:
            lines.append(f"- {label}: CV contrastive {c['cv']:.3f} vs supervised {s['cv']:.3f} "
                         f"({'lower' if c['cv'] < s['cv'] else 'not lower'}); verdict contrastive "
                         f"{'✓' if c['paper_verdict'] else '✗'}, supervised {'✓' if s['paper_verdict'] else '✗'}; "
                         f"same init {'✓' if c.get('same_init') else '✗'}")  # fmt: skip
    out = ["Per encoder (head output):\n\n" + "\n".join(lines)] if lines else []
    return join_notes([*out, PROTOCOL_NOTE], settings)


def figures(rows, extras, folder):
    import numpy as np

    labels = list(dict.fromkeys(r["architecture"] for r in rows))
    fig, axes = subplots(1, 3, figsize=(14, 3.6))
    x = np.arange(len(labels))
    for i, (objective, tag) in enumerate((("infonce", "contrastive"), ("supervised", "supervised"))):
        sel = {r["architecture"]: r for r in rows if r["objective"] == objective}
        for ax, key in zip(axes, ("cv", "ad_mean", "dp_pass_fraction"), strict=True):
            ys = [np.nan if sel.get(a, {}).get(key) is None else sel[a][key] for a in labels]
            ax.bar(x + (i - 0.5) * 0.4, ys, width=0.4, label=tag, color=f"C{i}")
    for ax, title in zip(axes, ("CV (Eq. 20)", "AD avg", "DP pass fraction"), strict=True):
        ax.set_xticks(x, labels, rotation=30, ha="right", fontsize=8)
        ax.set_title(title)
    axes[1].axhline(AD_THRESHOLD, color="grey", ls=":", lw=1, label=f"AD {AD_THRESHOLD:g}")
    axes[0].legend(fontsize=8)
    epochs = sorted({r.get("epoch") for r in rows if r.get("epoch") is not None})
    fig.suptitle("Projection-head output, unnormalised, on the un-augmented test images; end of training "
                 f"(epoch {', '.join(map(str, epochs))}; seed 0)", fontsize=10)  # fmt: skip
    save(fig, folder, "architectures.png")
