"""Fig. 4: a two-layer MLP trained with InfoNCE on CIFAR-10 — CV, AD avg and DP pass fraction while training (§4.2(a)).

The engine's ``cifar-mlp`` preset: flatten 3072 → Linear 512 → ReLU → Linear 128 (widths assumed; the paper gives
none), no projection head (the MLP's output is what InfoNCE sees and what is tested), SimCLR augmentations, InfoNCE
tau 0.1, Adam 1e-3, weight decay 1e-4, batch 256. Every evaluation (epoch 0 and every ``eval_every`` epochs) is a row:
the paper's protocol on the unnormalised outputs for the 10,000 un-augmented test images (also normalised, and
k-NN accuracy). ``fig4.png`` draws the three panels of the paper's figure (+ k-NN accuracy) against passes over the
training set, with the values read off the poster (docs/paper-protocol.md §4.4.3; the DP curve is unknown);
``fig4_curve.csv``
holds the curve.

Scales: ``paper`` — 100 epochs of the 50k training images, evaluated every 5 epochs; ``cpu`` — the same 100 epochs
and model (an epoch took 7 s on 2 idle CPU cores, 12–18 s on one core beside another job), evaluated every
5 epochs on all 10,000 clean test images, with a k-NN bank of 10,000 training images (paper scale: all 50,000) and
InfoNCE/alignment on 1,024 augmented test pairs; ``smoke`` — seconds, on tiny generated images.

``from_run=DIR`` (any scale): train nothing; tabulate the evaluations of an engine run instead, e.g. the paper's 100
epochs on a CPU, checkpointed every epoch and resumable (``infogauss train --preset cifar-mlp eval_every=5
knn_bank=10000 eval_views=1024 --out DIR``), finished or still running; the notes say how many epochs it has.
"""

from __future__ import annotations

import csv
import json
from pathlib import Path

import numpy as np

from infogauss.constants import AD_THRESHOLD
from infogauss.errors import InputError
from infogauss.experiments import paper
from infogauss.experiments.cifar_runs import config_sizes, image_row, join_notes, sizes
from infogauss.experiments.common import Context, train, train_config
from infogauss.experiments.tables import REPORT_COLUMNS, Column, Table

TITLE = "Fig. 4: two-layer MLP on CIFAR-10 with InfoNCE — norm concentration (CV), AD avg and DP pass while training"

DATA = "cifar10"  # trains on CIFAR-10 (``reproduce --data PATH``)
PRESET = "cifar-mlp"
SCALES = {
    "smoke": {
        "about": "seconds: 256 generated 32×32 images (tiny-cifar, not CIFAR-10), 64 test images, MLP 3072→32→16, "
        "batch 32, 2 epochs (tests only)",
        "train": {
            "source": "tiny-cifar",
            "source_params": {"n": 256, "n_test": 64},
            "width": 32,
            "d": 16,
            "batch_size": 32,
            "epochs": 2,
            "eval_every": 1,
            "eval_views": 64,
        },  # fmt: skip
        "from_run": "",
    },
    "cpu": {
        "about": "CIFAR-10, MLP 3072→512→128 as at the paper scale, the paper's 100 epochs (full passes over the "
        "50k training images), evaluated every 5 epochs on all 10,000 test images; k-NN bank 10,000 training images "
        "(paper scale 50,000); test InfoNCE/alignment on 1,024 augmented test pairs (paper scale 2,048)",
        "train": {"epochs": 100, "eval_every": 5, "knn_bank": 10000, "eval_views": 1024},
        "from_run": "",
    },
    "paper": {
        "about": "the paper's settings (a GPU): CIFAR-10, MLP 3072→512→128 (widths assumed), SimCLR augmentations, "
        "InfoNCE tau 0.1, Adam 1e-3, weight decay 1e-4, batch 256, 100 epochs, evaluated every 5 epochs on the "
        "10,000 test images; bf16 autocast on CUDA (evaluation in float32)",
        "train": {"epochs": 100, "eval_every": 5},
        "from_run": "",
    },
}
CURVE_KEYS = ("cv", "ad_mean", "ad_pass_fraction", "dp_mean_p", "dp_pass_fraction", "knn_accuracy")


def run_seed(ctx: Context):
    if ctx.settings.get("from_run"):
        history, facts = read_run(Path(ctx.settings["from_run"]))
    else:
        run = train(ctx, train_config(ctx, PRESET, **ctx.settings["train"]))
        history, facts = run.history, sizes(run)
    per_epoch = facts["steps_per_epoch"] / (facts["n_train"] // facts["batch_size"])  # 1 for full epochs
    rows = []
    for h in history:
        passes = round(h.epoch * per_epoch, 4)
        rows.append(image_row(h, f"epoch_{h.epoch}", "backbone", passes_at=passes, **facts))
    return rows, {}


def read_run(folder: Path):
    """``(evaluations, run facts)`` of an ``infogauss train --preset cifar-mlp --out DIR`` folder, finished or still
    running (its ``config.json`` and the evaluations in ``metrics.jsonl`` so far): a long run that checkpoints every
    epoch, resumes, and can be tabulated at any point."""
    from infogauss.train import Evaluation

    try:
        cfg = json.loads((folder / "config.json").read_text())
        lines = (folder / "metrics.jsonl").read_text().splitlines()
    except (OSError, ValueError) as exc:
        raise InputError(
            f"from_run={folder}: not a training folder with config.json and metrics.jsonl ({exc})"
        ) from None
    if cfg.get("encoder") != "mlp" or cfg.get("source") != "cifar10" or cfg.get("objective") != "infonce":
        raise InputError(f"from_run={folder}: Fig. 4 is an InfoNCE MLP on cifar10; this run is {cfg.get('objective')} "
                         f"{cfg.get('encoder')} on {cfg.get('source')}")  # fmt: skip
    history = [Evaluation.from_dict(json.loads(line)) for line in lines if line.strip()]
    src = cfg.get("source_resolved", {})
    facts = config_sizes(cfg, src["n_train"], src["n_test"], src.get("augment", "simclr"), "cifar10 (from_run)")
    return history, facts


def _paper_at(rows) -> dict:
    """Paper values for rows whose epoch is a full pass over the 50k images at an epoch the poster shows."""
    out = {}
    for r in rows:
        e = r.get("epoch")
        if r.get("passes_at") is not None and abs(r["passes_at"] - e) < 1e-9 and r.get("n_train") == 50000:
            p = {}
            if e in paper.FIG4_CV:
                p["cv"] = paper.FIG4_CV[e]
            if e in paper.FIG4_AD_MEAN:
                p["ad_mean"] = paper.FIG4_AD_MEAN[e]
            if p:
                out[r["name"]] = p
    return out


def tables(rows):
    cols = [Column("epoch", "epoch", "int"), Column("passes_at", "passes over train"), *REPORT_COLUMNS,
            Column("knn_accuracy", "k-NN acc", "frac"), Column("train_loss", "train loss")]  # fmt: skip
    d, n = (rows[0].get("d"), rows[0].get("n")) if rows else (None, None)
    main = Table(f"MLP output ({d}-d), unnormalised, on {n} test images, per evaluation", cols, rows,
                 _paper_at(rows), caption=f"Paper values (`ours / paper`) from {paper.SOURCE_FIG4}, only where our "
                 "epoch is a full pass at an epoch the poster shows (paper scale).")  # fmt: skip
    read = [{"name": f"paper epoch {e}", "epoch": e, "cv": paper.FIG4_CV.get(e), "ad_mean": paper.FIG4_AD_MEAN.get(e)}
            for e in sorted(set(paper.FIG4_CV) | set(paper.FIG4_AD_MEAN))]  # fmt: skip
    poster = Table(
        "The paper's Fig. 4 as read off the poster (approximate; DP curve unknown)",
        [Column("epoch", "epoch", "int"), Column("cv", "CV"), Column("ad_mean", "AD avg")],
        read,
    )
    norm = Table("L2-normalised rows", [Column("epoch", "epoch", "int"),
                                        *[Column("normalized_" + c.key, c.header, c.kind) for c in REPORT_COLUMNS
                                          if c.key != "cv"]], rows)  # fmt: skip
    return [main, poster, norm]


def notes(rows, rows_per_seed, settings):
    out = []
    if len(rows) >= 2:
        first, last = rows[0], rows[-1]
        keys = ("cv", "ad_mean", "dp_pass_fraction", "knn_accuracy")

        def trend(a_row, key):
            a, b = a_row.get(key), last.get(key)
            if a is None or b is None:
                return f"{key}: —"
            return f"{key} {a:.3g} → {b:.3g} ({'down' if b < a else 'up' if b > a else 'flat'})"

        for start in [first] + ([rows[1]] if len(rows) >= 3 else []):  # also the trend after the first epoch
            out.append(
                f"Measured from epoch {start['epoch']} to epoch {last['epoch']} ({last.get('passes_at')} passes): "
                + "; ".join(trend(start, k) for k in keys)
                + "."
            )
        out.append(
            "The paper's caption: CV declines, AD avg decreases into the normal range (below 0.752 at about epoch "
            "25–30), the DP pass fraction rises steadily."
        )
        if (last.get("passes_at") or 0) < 10:
            out.append(
                f"Training length: {last.get('passes_at')} passes over the training set, below the paper's first "
                "plotted epoch (10); the poster's values lie beyond this run's range."
            )
        cross = next((r["epoch"] for r in rows if r.get("ad_mean") is not None and r["ad_mean"] < AD_THRESHOLD), None)
        when = f"epoch {cross}" if cross is not None else "none"
        out.append(f"First evaluation with AD avg < {AD_THRESHOLD:g}: {when}.")
    if settings.get("from_run") and rows:
        out.append(f"Rows read from the engine run `{settings['from_run']}` (nothing trained here; its `train` "
                   f"settings above do not apply): evaluations at epochs {rows[0]['epoch']}..{rows[-1]['epoch']} of "
                   f"its configured {rows[-1].get('epochs')}.")  # fmt: skip
    out += [
        "Assumptions (paper silent, docs/paper-protocol.md §4.2 and §6.4): hidden width 512 and output 128, biases, "
        "PyTorch's default "
        "init; no projection head; SimCLR augmentations as for the ResNet (jitter probability 0.8); one-directional "
        "InfoNCE (Eq. 2); standard CIFAR normalisation; the poster's first CV point taken as epoch 10.",
    ]
    return join_notes(out, settings)


def figures(rows, extras, folder):
    import matplotlib.pyplot as plt

    x = [r["passes_at"] for r in rows]
    fig, axes = plt.subplots(1, 4, figsize=(16, 3.4))
    panels = (
        ("cv", "CV (Eq. 20)", paper.FIG4_CV),
        ("ad_mean", "AD avg", paper.FIG4_AD_MEAN),
        ("dp_pass_fraction", "DP pass fraction", None),
        ("knn_accuracy", "k-NN accuracy (k = 200)", None),
    )
    for ax, (key, title, ref) in zip(axes, panels, strict=True):  # fmt: skip
        ys = [np.nan if r.get(key) is None else r[key] for r in rows]
        ax.plot(x, ys, "o-", ms=3, label="ours")
        if ref:
            ax.plot(list(ref), list(ref.values()), "x--", color="k", lw=0.8, label="paper (poster)")
        if key == "ad_mean":  # AD spans decades while training (issue #13): log axis, the 0.752 line labelled
            ax.axhline(AD_THRESHOLD, color="grey", ls=":", lw=1, label=f"AD threshold {AD_THRESHOLD:g}")
            ax.set_yscale("log")
            ax.legend(fontsize=7)
        ax.set_xscale("symlog", linthresh=1.0)
        ax.set_xlim(left=-0.1)
        ax.set(title=title, xlabel="passes over the training set (paper: epochs)")
    axes[0].legend(fontsize=8)
    fig.suptitle("Two-layer MLP on CIFAR-10, InfoNCE (seed 0, test images)", fontsize=10)
    fig.tight_layout()
    fig.savefig(folder / "fig4.png", dpi=120)
    plt.close(fig)
    with open(folder / "fig4_curve.csv", "w", newline="") as fh:
        w = csv.writer(fh)
        w.writerow(["epoch", "passes", *CURVE_KEYS, "paper_cv", "paper_ad_mean"])
        for r in rows:
            e = r["epoch"]
            full = abs(r["passes_at"] - e) < 1e-9 and r.get("n_train") == 50000
            w.writerow(
                [
                    e,
                    r["passes_at"],
                    *("" if r.get(k) is None else r[k] for k in CURVE_KEYS),
                    paper.FIG4_CV.get(e, "") if full else "",
                    paper.FIG4_AD_MEAN.get(e, "") if full else "",
                ]
            )
