"""Table 1, CIFAR-10 columns: ResNet-18 trained with cross-entropy vs InfoNCE from the same initialisation (§4.2(b)).

Two runs of the engine's ``cifar-resnet18`` preset that differ only in ``objective`` ("infonce" / "supervised"):
the same architecture (CIFAR-stem ResNet-18 + SimCLR projection head 512 → 512 → 128; the supervised model adds a
linear classifier on the head output), the same initial weights (checked, ``same_init``), the same SimCLR
augmentations, optimiser (Adam 1e-3, weight decay 1e-4), batch size (256) and number of steps. Both are measured on
the 10,000 **un-augmented test images** in eval mode, with the paper's protocol on unnormalised (Table 1) and
L2-normalised rows, for the head output and the backbone features.

Which representation is "the" one: the paper does not say (docs/paper-protocol.md §4.2, §6.4). The main table reports
the **projection-head output** — what InfoNCE normalises and compares, i.e. the encoder of the theory, and the same
layer in the supervised model; the backbone's numbers are in the second table. This choice was made before any
result was seen.

Scales: ``paper`` — the paper's settings (width 64, 100 epochs of 50k images, a GPU); ``cpu`` — together with
``fig4`` within ~45 minutes on 2 CPU cores: a ResNet-18 of base width 8 (stage widths 8/16/32/64 instead of
64/128/256/512: a 64-d backbone, 1/64 of the convolution FLOPs), the first 5 of the paper's 100 epochs (full passes
over the 50k training images, 975 steps), evaluated every epoch, k-NN bank of 10,000
training images (paper scale: all 50,000), alignment/test InfoNCE on 1,024 augmented test pairs; still the full
10,000-image test set for the Gaussianity numbers. ``smoke`` — seconds, on tiny generated images (tiny-cifar).
"""

from __future__ import annotations

import numpy as np

from infogauss.constants import AD_THRESHOLD, DP_ALPHA
from infogauss.experiments import cifar_runs, paper
from infogauss.experiments.columns import prefixed
from infogauss.experiments.common import Context, train, train_config
from infogauss.experiments.drawing import save, subplots
from infogauss.experiments.sample_size import by_sample_size, curve_fields, sizes_of, with_crossing
from infogauss.experiments.tables import REPORT_COLUMNS, Column, Table
from infogauss.export import describe

TITLE = "Table 1 (CIFAR-10 columns): ResNet-18, supervised (cross-entropy) vs contrastive (InfoNCE), same init"

DATA = "cifar10"  # trains on CIFAR-10 (``reproduce --data PATH``)
PRESET = "cifar-resnet18"
REPRESENTATION = "head"  # the main table's representation (see the module docstring)
SCALES = {
    "smoke": {
        "about": "seconds: 256 generated 32×32 images (tiny-cifar, not CIFAR-10), 64 test images, ResNet-18 of "
        "width 4 with a 16-d head, batch 32, 2 epochs (tests only)",
        "train": {**cifar_runs.SMOKE_TRAIN, "epochs": 2},
    },
    "cpu": {
        "about": "CIFAR-10, ResNet-18 of base width 8 (paper 64: stage widths 8/16/32/64, 64-d backbone) with the "
        "512→512→128 SimCLR head scaled to 64→64→128; the first 5 of the paper's 100 epochs (full passes over the "
        "50k training images, 975 steps), evaluated every epoch; k-NN bank 10,000 training images (paper scale "
        "50,000); test InfoNCE/alignment on 1,024 augmented test pairs (paper scale 2,048). Unchanged: SimCLR "
        "augmentations, InfoNCE tau 0.1, Adam 1e-3, weight decay 1e-4, batch 256, same init, all 10,000 test "
        "images for the Gaussianity numbers; float32, default memory format (train.amp=bf16 "
        "train.channels_last=true: bf16 autocast of the encoder, 1.87× the float32 speed on this CPU — "
        "benchmarks/bench_cifar.py --variants; loss and evaluation stay float32)",
        "train": {**cifar_runs.CPU_TRAIN, "eval_every": 1},
    },
    "paper": {
        "about": "the paper's settings (a GPU): CIFAR-10, CIFAR-stem ResNet-18 (width 64, 512-d) + SimCLR head "
        "512→512→128, SimCLR augmentations, InfoNCE tau 0.1 (Eq. 2), Adam 1e-3, weight decay 1e-4, batch 256, "
        "100 epochs, evaluated every 10 epochs on the 10,000 test images; bf16 autocast on CUDA (evaluation in "
        "float32)",
        "train": {"epochs": 100, "eval_every": 10},
    },
}
SIZES, SIZE_REPEATS = (50, 100, 300, 1000, 3000, 10000), 10  # the AD-avg-by-n table (infogauss.experiments.sample_size)
OBJECTIVES = (("supervised", "supervised", "cifar10_rn18_supervised"),
              ("contrastive", "infonce", "cifar10_rn18_contrastive"))  # fmt: skip


def run_seed(ctx: Context):
    base = train_config(ctx, PRESET, **ctx.settings["train"])
    same = cifar_runs.same_initialisation(base)
    rows, extras = [], {"curves": {}, "norms": {}, "encoders": {}}
    for name, objective, paper_row in OBJECTIVES:
        run = train(ctx, base.replace(objective=objective))
        extras["encoders"][name] = (run.model, describe(run.config))  # saved as encoders/<name>/ (first seed)
        sizes = cifar_runs.sizes(run)
        rows.append(cifar_runs.image_row(run.final, name, REPRESENTATION, paper_row=paper_row, same_init=same, **sizes))
        curves = {
            "head": cifar_runs.curve(run.history, representation="head"),
            "backbone": cifar_runs.curve(run.history),
        }
        extras["curves"][name] = curves
        reps = cifar_runs.test_representations(run)
        extras["norms"][name] = {r: np.linalg.norm(z, axis=1) for r, z in reps.items()}
        curve = by_sample_size(reps["head"], SIZES, SIZE_REPEATS, np.random.default_rng([ctx.seed, 7]))
        rows[-1].update(curve_fields(curve))
    return rows, extras


def tables(rows):
    at = Column("epoch", "epoch", "int")
    d = Column("d", "d", "int")
    cap = (
        f"Paper values from {paper.SOURCE_TABLE1} (the paper does not say which layer). Pass = fraction of "
        f"coordinates with AD < {AD_THRESHOLD:g} / DP p > {DP_ALPHA:g}; n = 10,000 test images at the cpu and paper "
        "scales."
    )
    main = Table("Projection-head output, unnormalised (the table's choice: what InfoNCE sees)",
                 [at, d, *REPORT_COLUMNS], rows, paper.TABLE1, caption=cap)  # fmt: skip
    backbone = Table("Backbone features (pooled ResNet-18), unnormalised",
                     [at, Column("backbone_d", "d", "int"), *prefixed(REPORT_COLUMNS, "backbone_")], rows, paper.TABLE1,
                     caption="Same models and test images; paper values repeated for comparison.")  # fmt: skip
    normed = [*prefixed(REPORT_COLUMNS, "head_normalized_", "head ", skip=("cv",)),
              *prefixed(REPORT_COLUMNS, "backbone_normalized_", "backbone ", skip=("cv",))]  # fmt: skip
    normalized = Table("L2-normalised rows (not in the paper's Table 1)", normed, rows)
    monitors = Table("Accuracy and training monitors", [
        at,
        Column("knn_accuracy", "k-NN acc (k=200)", "frac"),
        Column("test_accuracy", "test acc (classifier)", "frac"),
        Column("test_infonce", "test InfoNCE"),
        Column("alignment", "alignment E[u·v]"),
        Column("train_loss", "last train loss"),
        Column("calibrated_verdict", "calibrated (head)", "bool"),
        Column("same_init", "same init", "bool"),
        Column("passes", "passes over train"),
    ], rows, caption="k-NN: backbone features, cosine, 200 neighbours weighted exp(cos/0.1), bank of training "
                     "images; test accuracy: the supervised model's classifier. InfoNCE and alignment on augmented "
                     "test pairs through the head.")  # fmt: skip
    ns = sizes_of(rows)
    by_n = Table("AD avg of the head output by number of test points n (`reproduce sample-size` explains why)",
                 [*[Column(f"ad_n{n}", f"n = {n}") for n in ns], Column("n_star_text", "n at AD avg = 0.752", "text")],
                 with_crossing(rows), caption=f"Random subsets of the test images, {SIZE_REPEATS} per n (the "
                 "largest n: all of them once); the paper does not state its n.")  # fmt: skip
    return [main, backbone, normalized, monitors, *([by_n] if ns else [])]


def notes(rows, rows_per_seed, settings):
    by = {r["name"]: r for r in rows}
    sup, con = by.get("supervised", {}), by.get("contrastive", {})
    null = paper.NULL_CALIBRATION[10000]
    out = []
    for rep, pre in (("head output", ""), ("backbone", "backbone_")):
        cs, cc = sup.get(pre + "cv"), con.get(pre + "cv")
        vs, vc = sup.get(pre + "paper_verdict"), con.get(pre + "paper_verdict")
        if cs is None or cc is None:
            continue
        lower = "lower" if cc < cs else "not lower"
        out.append(
            f"Measured ({rep}): contrastive CV {cc:.3f} vs supervised {cs:.3f} — {lower}, as the paper expects a lower "
            f"one; verdicts (AD avg < {AD_THRESHOLD:g} and DP avg p > {DP_ALPHA:g}): "
            f"contrastive {'✓' if vc else '✗'} (paper ✓), "
            f"supervised {'✓' if vs else '✗'} (paper ✗)."
        )
    passes = con.get("passes")
    if passes is not None and passes < 50:
        out.append(
            f"Training length: these encoders saw {passes:.3g} passes over the training set (the paper: 100 epochs); "
            "the paper's numbers are end-of-training values, so this scale checks the direction of the comparison "
            "and the machinery, not the paper's levels."
        )
    out += [
        f"Same initialisation verified: {bool(sup.get('same_init'))} (every weight shared by the two models is equal "
        "at step 0; the supervised model adds only the classifier).",
        f"A perfect Gaussian at n = 10,000 gives AD avg {null['ad_mean']}, AD pass "
        f"{100 * null['ad_pass_fraction']:.1f}%, DP avg p {null['dp_mean_p']}, DP pass "
        f"{100 * null['dp_pass_fraction']:.1f}% (docs/paper-protocol.md §4.4.4). 'Gaussian?' is our reading of the "
        f"paper's ✓/✗ "
        f"(AD avg < {AD_THRESHOLD:g} and DP avg p > {DP_ALPHA:g}); 'calibrated' adds the pass-rate intervals and a "
        "combined p-value.",
        "Assumptions (paper silent, docs/paper-protocol.md §4.2 and §6.4): CIFAR stem (3×3 conv, no max-pool); random "
        "init for both "
        "models (not ImageNet-pretrained); SimCLR head 128-d; the supervised model has the same head, its classifier "
        "on the head output, and the same SimCLR augmentations (so the runs differ only in the objective); "
        "one-directional InfoNCE (Eq. 2); no LR schedule; SimCLR jitter probability 0.8; standard CIFAR "
        "normalisation; evaluation in eval mode (BatchNorm running statistics), float32, on un-augmented test images, "
        "all coordinates tested (dead coordinates excluded).",
    ]
    return cifar_runs.join_notes(out, settings)


def figures(rows, extras, folder):
    curves = extras.get("curves", {})
    if curves:
        _training_figure(curves, folder)
    norms = extras.get("norms", {})
    if norms:
        fig, axes = subplots(1, 2, figsize=(9, 3.2))
        for ax, rep in zip(axes, ("head", "backbone"), strict=True):
            for i, (name, by_rep) in enumerate(norms.items()):
                r = by_rep[rep]
                cv = float(np.std(r) / np.mean(r))
                ax.hist(r / np.mean(r), bins=60, density=True, alpha=0.6, color=f"C{i}", label=f"{name}: CV {cv:.3f}")
            ax.set(title=f"{rep}: ‖z‖ / mean ‖z‖", xlabel="relative norm (unnormalised z)", ylabel="density")
            ax.legend(fontsize=8)
        fig.suptitle("Norms on the un-augmented test images, end of training (seed 0)", fontsize=9)
        save(fig, folder, "table1_cifar_norms.png")


def _training_figure(curves, folder) -> None:
    """``table1_cifar_training.png``: CV, AD avg, DP pass and k-NN accuracy at every evaluation of both runs (head
    solid, backbone dashed), the paper's end-of-training Table 1 values (its epoch 100) beside our last epoch."""
    fig, axes = subplots(1, 4, figsize=(16, 3.6))
    for i, (name, reps) in enumerate(curves.items()):
        cifar_runs.plot_curves(axes, reps["head"], f"{name} (head)", "-", f"C{i}")
        cifar_runs.plot_curves(axes, reps["backbone"], f"{name} (backbone)", "--", f"C{i}")
    last = max(c["head"]["epoch"][-1] for c in curves.values())
    where = "its epoch 100" + ("" if last == 100 else f", drawn at our last epoch {last}")
    for key, ax in zip(("cv", "ad_mean", "dp_pass_fraction"), axes, strict=False):
        for i, (name, paper_row) in enumerate((("supervised", "cifar10_rn18_supervised"),
                                               ("contrastive", "cifar10_rn18_contrastive"))):  # fmt: skip
            if name in curves:
                ax.plot([last], [paper.TABLE1[paper_row][key]], "x", color=f"C{i}", ms=8, mew=2,
                        label=f"paper {name} ({where})")  # fmt: skip
    axes[0].legend(fontsize=6)
    title = ("ResNet-18 on CIFAR-10 while training (seed 0): unnormalised embeddings of the un-augmented test images; "
             "× = paper's Table 1 (end of its training; the paper does not say which layer)")  # fmt: skip
    fig.suptitle(title, fontsize=10)
    save(fig, folder, "table1_cifar_training.png")
