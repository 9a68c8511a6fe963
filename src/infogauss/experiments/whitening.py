r"""Figs. 9–10: negative-pair cosines and uniformity before and after whitening, raw and L2-normalised features.

The paper (App. E.2, Figs. 9–10) shows that whitening pushes the cosine similarities of negative pairs towards 0
("enhanced uniformity") for unnormalised features, and gives "a modest but consistent improvement" for normalised
ones. Its whitening procedure is not specified; we use W-CLIP's (paper §5.1): ``y = (x - mu) V Lambda^{-1/2}``
(:func:`infogauss.whitening.whiten`, rank-aware), fitted on the same set, after dropping numerically dead
coordinates; Ledoit–Wolf shrinkage when n < 2d or when the plain covariance is singular (the row says which).

Encoders (the paper's CLIP / DINO checkpoints are not available offline):

- ``cifar/*``: a contrastive (InfoNCE) CIFAR-10 encoder of the engine's ``cifar-resnet18`` preset trained at the
  chosen scale; features = projection-head output (what InfoNCE normalises) of the un-augmented test images;
- ``text/*``: the pretrained contrastive text encoder all-MiniLM-L6-v2 over WordNet glosses (the corpus of the
  ``pretrained`` experiment; its template sentences at smoke scale).

Variants, each tested with the paper's protocol (:func:`infogauss.report.gaussianity_report`, unnormalised and
normalised views): ``raw``; ``whitened`` (whitening of ``raw``); ``normalized`` (L2-normalised rows);
``normalized_whitened`` (whitening fitted on and applied to the normalised rows); ``zca`` and ``normalized_zca``: the
same two whitenings rotated back to the original axes (ZCA, ``(x - mu) Sigma^{-1/2}``) — identical cosines and
norms, but the per-coordinate tests look along the input's axes instead of the principal axes, which separates what
whitening does to the distribution from what choosing principal axes does to the tests (``ad_top10_mean``: mean AD
statistic of the 10 leading principal coordinates). Per variant: negative-pair cosine
mean, std and mean absolute value over random distinct pairs (cosines of whitened rows are those of the whitened
vectors, i.e. after projecting to the sphere), beside ``1/sqrt(d)`` — the std for uniform directions — and the
Wang–Isola uniformity ``log E exp(-2 ||u - v||^2)`` of the unit rows (lower = more uniform), whose minimum over laws
on the sphere is approached by the uniform law.

``encoders_from=DIR`` (a ``reproduce table1-cifar`` result folder): measure the contrastive encoder that run saved under
``DIR/encoders/`` (with the training settings recorded in its ``settings.json``) instead of training new
ones, e.g. ``infogauss reproduce whitening --scale cpu encoders_from=runs/table1-cifar``.
"""

from __future__ import annotations

import numpy as np

from infogauss.errors import InputError
from infogauss.experiments.cifar_runs import CPU_TRAIN, SMOKE_TRAIN, on_generated_images
from infogauss.experiments.columns import PROTOCOL, cosines, prefixed
from infogauss.experiments.common import Context, cosine_fields, report_fields
from infogauss.experiments.drawing import save, subplots
from infogauss.experiments.tables import Column, Table
from infogauss.plots import overlay_sphere_cosine
from infogauss.whitening import whiten

TITLE = "Figs. 9–10: negative-pair cosines and uniformity before/after W-CLIP whitening (CIFAR encoder, MiniLM text)"

DATA = "cifar10"  # trains on CIFAR-10 (``reproduce --data PATH``)
VARIANTS = ("raw", "whitened", "zca", "normalized", "normalized_whitened", "normalized_zca")
SPIKY_KURTOSIS = 100.0  # whitened components with excess kurtosis above this are spikes (a rarely active unit)
UNIFORMITY_ROWS = 4000  # rows for the O(n^2) uniformity (a fixed random subset when n is larger)

SCALES = {
    "smoke": {
        "about": "seconds: contrastive ResNet-18 of width 4 with a 16-d head, 1 epoch on 256 generated images "
        "(tiny-cifar, not CIFAR-10), 64 test images; 200 template sentences (no WordNet) through all-MiniLM-L6-v2; "
        "100 null draws (tests only)",
        "train": SMOKE_TRAIN,
        "text": {"model": "all-MiniLM-L6-v2", "corpus": "builtin", "n": 200, "batch_size": 64},
        "null_reps": 100,
        "encoders_from": "",
    },
    "cpu": {
        "about": "CIFAR-10, contrastive ResNet-18 of base width 8 with a 64→64→128 head, 5 epochs (the paper's "
        "encoder: 100 epochs, width 64), all 10,000 test images; 5,000 WordNet glosses through all-MiniLM-L6-v2 "
        "(the paper: CLIP ViT-L/14 and DINO on 5k MS-COCO images)",
        "train": CPU_TRAIN,
        "text": {"model": "all-MiniLM-L6-v2", "corpus": "wordnet", "n": 5000, "batch_size": 128},
        "null_reps": 2000,
        "encoders_from": "",
    },
    "paper": {
        "about": "table1-cifar's paper settings for the CIFAR encoder (width 64, 100 epochs, a GPU), all 10,000 test "
        "images; 20,000 WordNet glosses through all-MiniLM-L6-v2",
        "train": {"epochs": 100, "eval_every": 10},
        "text": {"model": "all-MiniLM-L6-v2", "corpus": "wordnet", "n": 20000, "batch_size": 128},
        "null_reps": 2000,
        "encoders_from": "",
    },
}


# ---------------------------------------------------------------------------------------------- measurements


def whitening_rows(Z, source: str, *, seed: int = 0, null_reps: int = 2000) -> tuple[list[dict], dict]:
    """One row per variant (:data:`VARIANTS`) of embeddings ``Z`` ``(n, d)``; ``arrays[name]`` = negative cosines.

    Rows carry ``name`` (``source/variant``), the report keys of the variant's rows (unnormalised at top level, of
    its L2-normalised rows prefixed ``normalized_``), ``neg_cos_mean``, ``neg_cos_std``, ``neg_cos_abs_mean``,
    ``uniform_cos_std`` (``1/sqrt(d)``), ``uniformity`` (Wang–Isola, t = 2) and ``whitening_shrinkage``.
    """
    import torch
    from scipy import stats

    from infogauss.gaussian import dead_coordinates
    from infogauss.io import as_embedding_matrix
    from infogauss.report import gaussianity_report
    from infogauss.stats.geometry import uniformity

    Z = np.asarray(as_embedding_matrix(Z, what="Z"), dtype=np.float64)
    dead = dead_coordinates(Z)
    live = np.delete(Z, dead, axis=1)
    if live.shape[1] < 2:
        raise InputError(f"{source}: fewer than 2 non-constant coordinates; nothing to whiten")
    unit = live / np.linalg.norm(live, axis=1, keepdims=True)
    sub = np.random.default_rng([seed, 3]).permutation(live.shape[0])[:UNIFORMITY_ROWS]
    rows, arrays = [], {}
    for variant in VARIANTS:
        shrink, rank = None, None
        base = unit if variant.startswith("normalized") else live
        if variant in ("raw", "normalized"):
            X = base
        else:
            X, info = whiten(base, axes="zca" if variant.endswith("zca") else "pca")
            shrink, rank = info["whitening_shrinkage"], info["whitening_rank"]
        name = f"{source}/{variant}"
        rep = gaussianity_report(X, seed=seed, null_reps=null_reps, projections=0, geometry=False, progress=False)
        row = {"name": name, "source": source, "variant": variant, "n": int(X.shape[0]), "d": int(X.shape[1]),
               "dead_coordinates": int(len(dead)), "whitening_shrinkage": shrink, "whitening_rank": rank}  # fmt: skip
        row.update(report_fields(rep))
        fields, cos = cosine_fields(X, seed)
        row.update(fields)
        row["uniformity"] = float(uniformity(torch.from_numpy(X[sub]), t=2).item())
        if variant.endswith("whitened"):  # principal coordinates, leading first
            ad = np.asarray(rep.per_coordinate["raw"]["ad_statistic"], dtype=np.float64)
            row["ad_top10_mean"] = float(np.nanmean(ad[:10]))
            spiky = stats.kurtosis(X, axis=0) > SPIKY_KURTOSIS
            row["spiky_components"] = int(spiky.sum())
            row["ad_mean_without_spiky"] = float(np.nanmean(ad[~spiky])) if (~spiky).any() else None
        rows.append(row)
        arrays[name] = cos
    return rows, arrays


# ---------------------------------------------------------------------------------------------- encoders


def hidden_unit_activity(head, backbone: np.ndarray) -> np.ndarray:
    """Fraction of rows on which each hidden ReLU unit of a SimCLR head ``Linear → ReLU → Linear`` is active.

    Units that never fire make the head's output rank-deficient; units that fire on a few rows become, after
    whitening, spike-like components (a point mass at 0 plus rare large values)."""
    import torch

    first = head[0]
    with torch.no_grad():
        h = first(torch.as_tensor(backbone, dtype=first.weight.dtype, device=first.weight.device))
    return (h > 0).double().mean(dim=0).cpu().numpy()


def text_features(s: dict, ctx: Context) -> tuple[np.ndarray, str]:
    from infogauss.data.text import corpus_texts
    from infogauss.embed import embed_texts

    texts = corpus_texts(s["corpus"], s["n"], ctx.seed)
    domain = "WordNet glosses (all POS)" if s["corpus"] == "wordnet" else "template sentences"
    Z = embed_texts(s["model"], texts, batch_size=s["batch_size"], device=ctx.device, normalize=False,
                    progress=ctx.progress)  # fmt: skip
    return Z.astype(np.float64), domain


def run_seed(ctx: Context):
    from infogauss.experiments.cifar_runs import saved_runs, test_representations
    from infogauss.experiments.common import train, train_config

    s = ctx.settings
    if s.get("encoders_from"):  # table1-cifar's contrastive encoder instead of training one
        run = saved_runs(s["encoders_from"], ctx)["contrastive"]
    else:
        run = train(ctx, train_config(ctx, "cifar-resnet18", **s["train"]).replace(objective="infonce"))
    reps = test_representations(run)
    rows, arrays = whitening_rows(reps["head"], "cifar", seed=ctx.seed, null_reps=s["null_reps"])
    active = hidden_unit_activity(run.model.head, reps["backbone"])
    for r in rows:
        r["encoder"] = f"contrastive ResNet-18 width {run.config.width}, {run.config.epochs} epochs (head output)"
        r["encoders_from"] = s.get("encoders_from") or None
        r["data"] = run.source.description
        r["head_hidden_units"] = int(active.size)
        r["head_hidden_never_active"] = int((active == 0).sum())
        r["head_hidden_rarely_active"] = int(((active > 0) & (active < 0.01)).sum())
    Zt, domain = text_features(s["text"], ctx)
    trows, tarr = whitening_rows(Zt, "text", seed=ctx.seed, null_reps=s["null_reps"])
    for r in trows:
        r["encoder"], r["data"] = s["text"]["model"], domain
    return rows + trows, {"neg_cos": {**arrays, **tarr}}


# ---------------------------------------------------------------------------------------------- output


def tables(rows):
    geo = [
        Column("n", "n", "int"),
        Column("d", "d", "int"),
        *cosines(),
        Column("neg_cos_abs_mean", "mean |neg cos|"),
        Column("uniformity", "uniformity (t=2)"),
        Column("whitening_shrinkage", "shrinkage", "text"),
        Column("whitening_rank", "whitened rank", "int"),
    ]
    protocol = {c.key: c for c in PROTOCOL}
    proto = [
        *(protocol[k] for k in ("cv", "ad_mean", "ad_pass_fraction")),
        Column("ad_top10_mean", "AD avg, top-10 PCs"),
        Column("spiky_components", "spiky comps", "int"),
        Column("ad_mean_without_spiky", "AD avg w/o spiky"),
        *(protocol[k] for k in ("dp_pass_fraction", "paper_verdict")),
        *prefixed([protocol[k] for k in ("ad_mean", "dp_pass_fraction", "paper_verdict")], "normalized_", "norm. "),
    ]
    cap = (
        "Negative pairs: random distinct rows. Uniformity: Wang–Isola log E exp(-2‖u−v‖²) of unit rows (lower = more "
        "uniform). The paper gives these only as histograms (Figs. 9–10); no numbers to compare."
    )
    return [
        Table("Uniformity before/after whitening (Figs. 9–10)", geo, rows, caption=cap),
        Table("Gaussianity of each variant (Table 1 protocol)", proto, rows),
    ]


def notes(rows, rows_per_seed, settings):
    by = {r["name"]: r for r in rows}
    out = []
    for src in ("cifar", "text"):
        for before, after, what in (("raw", "whitened", "unnormalised (Fig. 9)"),
                                    ("normalized", "normalized_whitened", "normalised (Fig. 10)")):  # fmt: skip
            a, b = by.get(f"{src}/{before}"), by.get(f"{src}/{after}")
            if a is None or b is None:
                continue
            closer = "closer to 0" if b["neg_cos_abs_mean"] < a["neg_cos_abs_mean"] else "not closer to 0"
            better = "more uniform" if b["uniformity"] < a["uniformity"] else "not more uniform"
            out.append(
                f"Measured, {src} {what}: mean |neg cos| {a['neg_cos_abs_mean']:.3f} → {b['neg_cos_abs_mean']:.3f} "
                f"({closer}; paper: closer), uniformity {a['uniformity']:.3f} → {b['uniformity']:.3f} ({better})."
            )
    for src in ("cifar", "text"):
        for pre, what in (("", "unnormalised"), ("normalized_", "normalised")):
            a = by.get(f"{src}/{'normalized' if pre else 'raw'}")
            w, z = by.get(f"{src}/{pre}whitened"), by.get(f"{src}/{pre}zca")
            if a is None or w is None or z is None:
                continue
            out.append(
                f"Per-coordinate AD avg, {src} {what}: {a['ad_mean']:.3g} before whitening, {w['ad_mean']:.3g} on the "
                f"principal axes (W-CLIP; the 10 leading components alone {w['ad_top10_mean']:.3g}), "
                f"{z['ad_mean']:.3g} on the original axes (ZCA) — the same whitened cloud, so a difference between "
                "the last two comes from the axes tested, not from whitening."
            )
    for src in ("cifar", "text"):
        w = by.get(f"{src}/whitened") or by.get(f"{src}/normalized_whitened")
        if w and w.get("spiky_components"):
            units = ""
            if w.get("head_hidden_units"):
                units = (
                    f" The head's hidden layer has {w['head_hidden_never_active']} of {w['head_hidden_units']} ReLU "
                    f"units that never fire on the test images (hence rank {w.get('whitening_rank')}) and "
                    f"{w['head_hidden_rarely_active']} that fire on under 1% of them: whitening scales each rarely "
                    "active direction up to unit variance, a point mass at 0 with rare large values."
                )
            out.append(
                f"{src}: {w['spiky_components']} whitened component(s) are spikes (excess kurtosis > "
                f"{SPIKY_KURTOSIS:g}); without them the W-CLIP AD avg is {w['ad_mean_without_spiky']:.3g} instead of "
                f"{w['ad_mean']:.3g}." + units
            )
    out += [
        "Whitening is fitted on the same set it is applied to (W-CLIP); in-sample whitening makes the sample "
        "covariance the identity by construction, so part of the gain is the fit itself. Dead (constant) coordinates "
        "are dropped first.",
        "Cosines ignore norms, so the `raw` and `normalized` rows have the same cosines and uniformity by "
        "construction; Figs. 9 and 10 differ only in what the whitening is fitted to (raw rows vs unit rows).",
        "Encoders differ from the paper's (CLIP ViT-L/14, DINO): a CIFAR-10 encoder trained here and "
        "all-MiniLM-L6-v2; the paper's whitening procedure is unknown (docs/paper-protocol.md §5.1, §6.6), W-CLIP's "
        "is assumed.",
    ]
    if on_generated_images(settings):
        out.append("Smoke scale: generated images and template sentences — the numbers mean nothing.")
    return "\n\n".join(out)


def figures(rows, extras, folder):
    cos = (extras or {}).get("neg_cos", {})
    if not cos:
        return
    d = {r["name"]: r["d"] for r in rows}
    data = {r["source"]: r.get("data", "") for r in rows}
    bins = np.linspace(-1, 1, 101)
    for fig_no, (before, after, what) in ((9, ("raw", "whitened", "unnormalised")),
                                          (10, ("normalized", "normalized_whitened", "L2-normalised"))):  # fmt: skip
        fig, axes = subplots(1, 2, figsize=(10, 3.6))
        for ax, src in zip(axes, ("cifar", "text"), strict=True):
            for v, c in ((before, "C0"), (after, "C1")):
                x = cos.get(f"{src}/{v}")
                if x is not None:
                    label = f"{'before' if v == before else 'after'} whitening (d = {d[f'{src}/{v}']})"
                    ax.hist(x, bins=bins, weights=np.full(len(x), 1 / len(x)), histtype="stepfilled", alpha=0.5,
                            color=c, label=label)  # fmt: skip
            k = d.get(f"{src}/{after}")
            if k and k >= 2:  # share per bin = density × bin width
                overlay_sphere_cosine(ax, k, scale=bins[1] - bins[0], label=f"uniform on S^{k - 1} (exact)")
            ax.set(title=f"{src}: negative pairs, {what} features", xlabel="cosine similarity",
                   ylabel="share of pairs per bin (width 0.02)")  # fmt: skip
            ax.legend(fontsize=7)
        fig.suptitle(f"Fig. {fig_no} analogue — cifar: {data.get('cifar', '')}; text: {data.get('text', '')}",
                     fontsize=8)  # fmt: skip
        save(fig, folder, f"whitening_fig{fig_no}.png")
