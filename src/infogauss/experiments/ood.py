r"""Gaussian density scores as out-of-distribution detectors, beside two baselines: contrastive vs supervised CIFAR-10.

If contrastive features are close to Gaussian (paper §4.2, Table 1), a single Gaussian fitted to in-distribution
features should be a usable density model, and its log-likelihood a usable OOD score; supervised features (less
Gaussian) should do worse. This experiment measures that, against two detectors that assume no Gaussian; it is not
in the paper's tables.

Encoders: engine preset ``cifar-resnet18`` (table1-cifar's settings at each scale) trained with
``objective="infonce"`` and ``"supervised"`` from the same initialisation, on the training images of the
in-distribution classes 0–4 **only** (``train_classes``): classes 5–9 are unseen by both encoders, and the
supervised one has no label outside 0–4. Features: the projection-head output (top-level keys, as in table1-cifar)
and the pooled backbone (``backbone_*`` keys), un-augmented images, eval mode; each **raw** and **L2-normalised**
(``norm_*`` keys), every score fitted afresh on each.

Scores (:mod:`infogauss.ood`, higher = more OOD), fitted on the **training** features of classes 0–4
(``shrinkage="auto"``: Ledoit–Wolf when n < 2d or the covariance is singular — the head output of a 64→64→128 head
has rank ≤ 64):

- ``loglik``: :math:`-\log p(x)` under one Gaussian (equivalently its Mahalanobis distance: same ranking);
- ``typicality``: :math:`|m^2(x) - d| / \sqrt{2d}`, the distance from the thin shell (Nalisnick et al. 2019): it
  flags inputs that land *inside* the shell, near the mode, which the likelihood scores as most in-distribution;
- baseline ``class_mahalanobis``: min over classes 0–4 of the squared Mahalanobis distance to the class mean under
  a shared covariance (Lee et al. 2018);
- baseline ``knn_cosine``: cosine distance to the nearest training feature (k = 1; Sun et al. 2022). Cosine ignores
  norms, so it is the same on raw and normalised features.

AUROC (:func:`infogauss.ood.auroc`, OOD = positive class) for **near-OOD** (test images of the unseen classes 5–9 vs
test images of classes 0–4) and **far-OOD** (Fashion-MNIST test images, resized to 32×32, grey replicated to RGB,
CIFAR-normalised, vs all CIFAR-10 test images; the smoke scale uses generated images instead). The Fashion-MNIST
file: setting ``far_path=PATH``, else ``$INFOGAUSS_FASHION_MNIST``, else Debian's ``dataset-fashion-mnist``
(:mod:`infogauss.experiments.ood_data`).

**Shift ranking** (raw features): CIFAR test images of classes 0–4 under Gaussian noise, Gaussian blur and contrast
reduction at severities 0 (clean) … 5; the mean log-likelihood per severity (it should fall as severity rises) and
Spearman's rho between severity and per-image log-likelihood (pooled over severities; negative = the score ranks
shift), the same for the typicality score (positive = it ranks shift), and the mean squared Mahalanobis distance.
"""

from __future__ import annotations

import numpy as np

from infogauss.experiments.cifar_runs import (
    CPU_TRAIN,
    OBJECTIVES,
    SMOKE_TRAIN,
    image_row,
    join_notes,
    representations,
    same_initialisation,
    sizes,
)
from infogauss.experiments.common import Context, train, train_config
from infogauss.experiments.ood_data import CORRUPTIONS, corrupt, far_images, fashion_mnist_path
from infogauss.experiments.ood_report import gaussian_losses
from infogauss.experiments.tables import REPORT_COLUMNS, Column, Table
from infogauss.ood import SCORES, DensityScores, auroc
from infogauss.stats.backend import NumpyOps

TITLE = "Gaussian log-likelihood / typicality vs class-Mahalanobis and k-NN as OOD detectors: CIFAR-10 encoders"

DATA = "cifar10"  # trains on CIFAR-10 (``reproduce --data PATH``)
PRESET = "cifar-resnet18"
IN_CLASSES = (0, 1, 2, 3, 4)
REPS = (("head", ""), ("backbone", "backbone_"))  # representation -> key prefix
FEATURES = (("raw", ""), ("normalised", "norm_"))  # raw or L2-normalised rows -> key prefix

SCALES = {
    "smoke": {
        "about": "seconds: 256 generated images (tiny-cifar, not CIFAR-10), 64 test images, ResNet-18 of width 4 "
        "with a 16-d head, batch 32, 1 epoch; generated far-OOD images instead of Fashion-MNIST (tests only)",
        "train": {**SMOKE_TRAIN, "source_params": {**SMOKE_TRAIN["source_params"], "train_classes": list(IN_CLASSES)}},
        "fit_n": None,
        "far": "generated",
        "far_path": None,
        "far_n": 64,
        "shift_n": 16,
    },
    "cpu": {
        "about": "CIFAR-10 classes 0–4 (25,000 training images), ResNet-18 of base width 8 with a 64→64→128 head, "
        "5 epochs (table1-cifar's cpu settings; paper-style training is 100), k-NN bank 10,000; density fitted on "
        "10,000 training images; 10,000 Fashion-MNIST test images; 1,000 test images per corruption and severity",
        "train": {**CPU_TRAIN, "source_params": {"train_classes": list(IN_CLASSES)}},
        "fit_n": 10000,
        "far": "fashion-mnist",
        "far_path": None,
        "far_n": 10000,
        "shift_n": 1000,
    },
    "paper": {
        "about": "CIFAR-10 classes 0–4 at table1-cifar's paper settings (width 64, 100 epochs, a GPU); density "
        "fitted on all training images; all 10,000 Fashion-MNIST test images; all class 0–4 test images per "
        "corruption",
        "train": {"epochs": 100, "eval_every": 10, "source_params": {"train_classes": list(IN_CLASSES)}},
        "fit_n": None,
        "far": "fashion-mnist",
        "far_path": None,
        "far_n": 10000,
        "shift_n": None,
    },
}


# ---------------------------------------------------------------------------------------------- features, scores


def feature_sets(model, source, settings: dict, seed: int) -> dict:
    """The features the scores need: ``fit`` (+ ``fit_y``), ``test`` (+ ``inside``: classes 0–4), ``far``,
    ``shifted[kind, severity]``; each a ``{"head", "backbone"}`` dict of raw features."""
    import torch

    norm = source.test_set.normalize
    train_x, train_y = source.train_set.x, source.train_set.y
    idx = source.bank_order if settings["fit_n"] is None else source.bank_order[: settings["fit_n"]]
    keep = idx[torch.isin(train_y[idx].cpu(), torch.tensor(IN_CLASSES)).to(idx.device)]
    tx, ty = source.test_set.x, source.test_set.y.cpu().numpy()
    inside = np.isin(ty, IN_CLASSES)
    far_x, far_label = far_images(settings, seed)
    clean = tx[torch.as_tensor(np.flatnonzero(inside)[: settings["shift_n"]])].float().div(255.0)
    return {
        "fit": representations(model, train_x[keep], norm),
        "fit_y": train_y[keep].cpu().numpy(),
        "test": representations(model, tx, norm),
        "inside": inside,
        "far": representations(model, far_x, norm),
        "far_label": far_label,
        "shifted": {
            (kind, s): representations(model, corrupt(clean, kind, s, seed), norm)
            for kind in CORRUPTIONS
            for s in range(len(CORRUPTIONS[kind]) + 1)
        },
    }


def auroc_fields(fit, fit_y, test, inside, far, pre: str) -> tuple[dict, DensityScores]:
    """Near- and far-OOD AUROC of every score for one feature set (keys prefixed ``pre``), and the fitted scores."""
    score = DensityScores(fit, fit_y)
    s_test, s_far = score(test), score(far)
    fields = {pre + "fit_n": int(fit.shape[0]), pre + "shrinkage_method": score.shrinkage}
    for name in SCORES:
        fields[f"{pre}near_auroc_{name}"] = auroc(s_test[name][inside], s_test[name][~inside])
        fields[f"{pre}far_auroc_{name}"] = auroc(s_test[name], s_far[name])
    fields[pre + "test_in_mean_loglik"] = float(s_test["_ll"][inside].mean())
    fields[pre + "near_ood_mean_loglik"] = float(s_test["_ll"][~inside].mean())
    fields[pre + "far_ood_mean_loglik"] = float(s_far["_ll"].mean())
    fields[pre + "shell_mahalanobis2"] = score.shell
    return fields, score


def shift_fields(gaussian, shifted: dict, rep: str, pre: str) -> tuple[dict, dict]:
    """Shift-ranking statistics of one representation's single Gaussian (:class:`infogauss.ood.GaussianScores`)."""
    from scipy import stats

    fields, means_of, m2_of = {}, {}, {}
    for kind in CORRUPTIONS:
        levels = range(len(CORRUPTIONS[kind]) + 1)
        m2s = [gaussian.mahalanobis_squared(shifted[kind, s][rep]) for s in levels]
        lls = [-gaussian.nll(shifted[kind, s][rep]) for s in levels]
        sev = np.concatenate([np.full(len(q), s) for s, q in zip(levels, m2s, strict=True)])
        means, m2 = [float(v.mean()) for v in lls], [float(q.mean()) for q in m2s]
        for s in levels:
            fields[f"{pre}shift_{kind}_mean_loglik_{s}"] = means[s]
            fields[f"{pre}shift_{kind}_mean_mahalanobis2_{s}"] = m2[s]
        fields[f"{pre}shift_{kind}_spearman"] = float(stats.spearmanr(sev, np.concatenate(lls)).statistic)
        typ = np.concatenate([gaussian.typicality(shifted[kind, s][rep]) for s in levels])
        fields[f"{pre}shift_{kind}_spearman_typicality"] = float(stats.spearmanr(sev, typ).statistic)
        fields[f"{pre}shift_{kind}_monotone"] = bool(all(a > b for a, b in zip(means, means[1:], strict=False)))
        means_of[kind], m2_of[kind] = means, m2
    return fields, {"shift": means_of, "shift_m2": m2_of}


def ood_fields(model, source, settings: dict, seed: int) -> tuple[dict, dict]:
    """AUROCs (both representations, raw and normalised) and shift statistics (raw) of one trained model."""
    f = feature_sets(model, source, settings, seed)
    fields, extras = {"far_ood_data": f["far_label"]}, {"shift": {}, "shift_m2": {}}
    for rep, rp in REPS:
        for feat, fp in FEATURES:
            prep = (lambda Z: Z) if feat == "raw" else NumpyOps.normalize
            got, score = auroc_fields(prep(f["fit"][rep]), f["fit_y"], prep(f["test"][rep]), f["inside"],
                                      prep(f["far"][rep]), rp + fp)  # fmt: skip
            fields.update(got)
            if feat == "raw":
                shift, ext = shift_fields(score.gaussian, f["shifted"], rep, rp)
                fields.update(shift)
                for kind in CORRUPTIONS:
                    extras["shift"][(rep, kind)] = ext["shift"][kind]
                    extras["shift_m2"][(rep, kind)] = (ext["shift_m2"][kind], score.gaussian.dim)
    return fields, extras


# ---------------------------------------------------------------------------------------------- experiment hooks


def run_seed(ctx: Context):
    if ctx.settings["far"] == "fashion-mnist":
        fashion_mnist_path(ctx.settings.get("far_path"))  # a missing file fails before any training
    base = train_config(ctx, PRESET, **ctx.settings["train"])
    same = same_initialisation(base)
    rows, extras = [], {"shift": {}, "shift_m2": {}}
    for name, objective in OBJECTIVES:
        run = train(ctx, base.replace(objective=objective))
        row = image_row(run.final, name, "head", same_init=same, **sizes(run))
        fields, ext = ood_fields(run.model, run.source, ctx.settings, ctx.seed)
        row.update(fields)
        rows.append(row)
        for (rep, kind), means in ext["shift"].items():
            extras["shift"][f"{name}/{rep}/{kind}"] = means
            extras["shift_m2"][f"{name}/{rep}/{kind}"] = ext["shift_m2"][rep, kind]
    return rows, extras


def auroc_rows(rows: list[dict]) -> list[dict]:
    """One row per (encoder, representation, raw or normalised): its d and the AUROC of every score."""
    out = []
    for r in rows:
        for rep, rp in REPS:
            for feat, fp in FEATURES:
                if r.get(f"{rp}{fp}near_auroc_loglik") is None:
                    continue
                row = {"name": f"{r['name']} / {rep} / {feat}", "d": r.get(f"{rep}_d", r.get("d"))}
                for w in ("near", "far"):
                    row.update({f"{w}_{s}": r[f"{rp}{fp}{w}_auroc_{s}"] for s in SCORES})
                out.append(row)
    return out


def tables(rows):
    auc = [Column(f"{w}_{s}", f"{w} {s}", "float") for w in ("near", "far") for s in SCORES]
    shift = []
    for _, pre in REPS:
        for kind in CORRUPTIONS:
            shift.append(Column(f"{pre}shift_{kind}_spearman", f"{pre or 'head_'}{kind} ρ"))
            shift.append(Column(f"{pre}shift_{kind}_spearman_typicality", f"{pre or 'head_'}{kind} ρ typ."))
            shift.append(Column(f"{pre}shift_{kind}_monotone", f"{pre or 'head_'}{kind} falls", "bool"))
    levels = [(k, s) for k in CORRUPTIONS for s in range(len(CORRUPTIONS[k]) + 1)]
    sev = [Column(f"shift_{k}_mean_loglik_{s}", f"{k} s{s}") for k, s in levels]
    m2 = [Column("shell_mahalanobis2", "shell (median, fit)")]
    m2 += [Column(f"shift_{k}_mean_mahalanobis2_{s}", f"{k} s{s}") for k, s in levels]
    cap = (
        "AUROC: OOD = positive, score higher = more OOD; 0.5 = chance, below 0.5 = ranks the wrong way. Gaussian "
        "scores: loglik (-log p under one Gaussian), typicality (|m² − d|/√(2d), distance from the thin shell); "
        "baselines: class_mahalanobis (min over classes 0–4, shared covariance; Lee et al. 2018), knn_cosine (1-NN "
        "cosine distance; identical on raw and normalised features). Near: test classes 5–9 vs 0–4; far: "
        "Fashion-MNIST (or generated) vs all CIFAR test images."
    )
    return [
        Table(
            "OOD AUROC: Gaussian scores beside the baselines",
            [Column("d", "d", "int"), *auc],
            auroc_rows(rows),
            caption=cap,
        ),
        Table("Gaussianity of each encoder's head output (test images, Table 1 protocol)", REPORT_COLUMNS, rows),
        Table(
            "Shift ranking: Spearman ρ(severity, log-likelihood) and whether the mean falls at every step", shift, rows
        ),
        Table("Mean log-likelihood per severity (head output, raw; s0 = clean)", sev, rows),
        Table(
            "Mean squared Mahalanobis distance per severity (head output, raw; the in-distribution shell ≈ d)", m2, rows
        ),
        Table(
            "Is the more Gaussian representation the better density model? (Gaussianity of the test features beside "
            "the Gaussian log-likelihood's AUROCs, raw features)",
            [
                Column("ad_mean", "AD avg"),
                Column("dp_pass_fraction", "DP pass", "frac"),
                Column("cv", "CV"),
                Column("normalized_ad_mean", "norm. AD avg"),
                Column("near", "near AUROC (loglik)", "float"),
                Column("far", "far AUROC (loglik)", "float"),
                Column("class_near", "near AUROC (class Mahal.)"),
                Column("rho", "mean shift ρ"),
            ],  # fmt: skip
            gaussianity_vs_ood(rows),
        ),
    ]


def gaussianity_vs_ood(rows: list[dict]) -> list[dict]:
    """One row per (encoder, representation): its Gaussianity report beside its OOD scores (raw features)."""
    out = []
    for r in rows:
        for rep, pre in REPS:
            if r.get(f"{rep}_ad_mean") is None or r.get(f"{pre}near_auroc_loglik") is None:
                continue
            rhos = [r.get(f"{pre}shift_{k}_spearman") for k in CORRUPTIONS]
            out.append({
                "name": f"{r['name']} / {rep}",
                **{k: r.get(f"{rep}_{k}") for k in ("ad_mean", "dp_pass_fraction", "cv", "normalized_ad_mean")},
                "near": r[f"{pre}near_auroc_loglik"],
                "far": r[f"{pre}far_auroc_loglik"],
                "class_near": r.get(f"{pre}near_auroc_class_mahalanobis"),
                "rho": float(np.mean(rhos)) if None not in rhos else None,
            })  # fmt: skip
    return out


def notes(rows, rows_per_seed, settings):
    table_rows = auroc_rows(rows)
    out = []
    for w in ("near", "far"):
        best = max(((t["name"], s, t[f"{w}_{s}"]) for t in table_rows for s in SCORES), key=lambda x: x[2])
        out.append(f"{w}-OOD best: {best[0]} / {best[1]} (AUROC {best[2]:.3f}).")
    for w in ("near", "far"):
        cases = [(t["name"], {s: t[f"{w}_{s}"] for s in SCORES}) for t in table_rows]
        out.append(gaussian_losses(cases, f"{w}-OOD: "))
    g = gaussianity_vs_ood(rows)
    if len(g) > 1:
        most = min(g, key=lambda t: t["ad_mean"])
        near, far = max(g, key=lambda t: t["near"]), max(g, key=lambda t: t["far"])
        out.append(
            f"Most Gaussian representation by AD avg: {most['name']} ({most['ad_mean']:.3g}); best Gaussian "
            f"log-likelihood detector near-OOD: {near['name']} ({near['near']:.3f}), far-OOD: {far['name']} "
            f"({far['far']:.3f}). With {len(g)} representations this is a comparison, not a correlation."
        )
    for r in rows:
        out.append(
            f"{r['name']}: Gaussianity of the head output CV {r.get('cv', float('nan')):.3f}, AD avg "
            f"{r.get('ad_mean', float('nan')):.3g}, DP pass {100 * (r.get('dp_pass_fraction') or 0):.1f}%, "
            f"verdict {'✓' if r.get('paper_verdict') else '✗'}."
        )
    out += [
        "`loglik` is an increasing function of the squared Mahalanobis distance m² to the same Gaussian, so the "
        "Mahalanobis distance would give the same AUROCs; `typicality` (|m² − d|/√(2d)) also flags inputs inside the "
        "shell. `class_mahalanobis` (shared covariance, nearest class mean) and `knn_cosine` are the baselines that "
        "do not assume one Gaussian.",
        "Both encoders were trained on classes 0–4 only: near-OOD classes 5–9 are unseen. The k-NN accuracy monitor "
        "therefore counts test images of classes 5–9, which no neighbour can label, as errors (its ceiling is 50%).",
        "Shift ranking: ρ < 0 and 'falls' ✓ mean the log-likelihood ranks corruption severity; 'ρ typ.' > 0 means "
        "the typicality score does. A Gaussian's mass sits on a thin shell m² ≈ d, not at its mode: inputs mapped "
        "toward the mean get a higher density than any in-distribution image while being atypical, which the "
        "log-likelihood rewards and the typicality score flags.",
    ]
    return join_notes(out, settings)


def figures(rows, extras, folder):
    import matplotlib.pyplot as plt

    shift = (extras or {}).get("shift", {})
    if not shift:
        return
    shift_m2 = (extras or {}).get("shift_m2", {})
    fig, axes = plt.subplots(2, len(CORRUPTIONS), figsize=(4 * len(CORRUPTIONS), 6.4), squeeze=False)
    for col, kind in enumerate(CORRUPTIONS):
        top, bottom = axes[0][col], axes[1][col]
        for key, means in shift.items():
            name, rep, k = key.split("/")
            if k != kind:
                continue
            style = "-o" if rep == "head" else "--s"
            top.plot(range(len(means)), np.subtract(means, means[0]), style, ms=3, label=f"{name} {rep}")
            if key in shift_m2:
                m2, d = shift_m2[key]
                line = bottom.plot(range(len(m2)), m2, style, ms=3, label=f"{name} {rep}")[0]
                bottom.axhline(d, color=line.get_color(), ls=":", lw=1)
        top.set(title=f"{kind} (raw features, CIFAR test classes 0–4)", xlabel="severity (0 = clean)",
                ylabel="mean log-likelihood − clean (nats)")  # fmt: skip
        bottom.set(xlabel="severity (0 = clean)", ylabel="mean squared Mahalanobis (dotted: d, the shell)")
        top.legend(fontsize=7)
    fig.tight_layout()
    fig.savefig(folder / "ood_shift.png", dpi=120)
    plt.close(fig)
