"""The measurements of the ``pretrained`` experiment: the Table 2 protocol on one embedding set under the variants of
:data:`VARIANTS` (see :mod:`infogauss.experiments.pretrained` for what each variant is and why).
"""

from __future__ import annotations

import math

import numpy as np

from infogauss.experiments.common import cosine_fields, report_fields

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

    Z = np.asarray(as_embedding_matrix(Z, what="Z"), dtype=np.float64)
    unknown = [v for v in variants if v not in VARIANTS]
    if unknown:
        raise InputError(f"unknown variants {unknown}; choose from {', '.join(VARIANTS)}")
    dead = dead_coordinates(Z)
    live = np.delete(Z, dead, axis=1)
    perm = np.random.default_rng([seed, 1]).permutation(Z.shape[0])
    halves = perm[: Z.shape[0] // 2], perm[Z.shape[0] // 2 :]
    rows, arrays = [], {}
    for variant in variants:
        X, whitening = variant_matrix(variant, Z, live, halves)
        name = prefix + variant
        rep = gaussianity_report(X, seed=seed, null_reps=null_reps, progress=progress, geometry=False, name=name)
        row = {"name": name, "variant": variant, "n": int(X.shape[0]), "d": int(X.shape[1])}
        row["dead_coordinates"] = int(len(dead)) if variant == "raw" else 0
        row.update(report_fields(rep))
        row.update(calibrated_fields(rep))
        geometry, cos = geometry_fields(X, np.setdiff1d(np.arange(X.shape[1]), rep.dead_coordinates), seed)
        row.update(geometry)
        if "whitened" in variant:
            row.update(chi_fields(X.shape[1]))
        row.update(whitening)
        rows.append(row)
        arrays[name] = {
            "ad_raw": np.asarray(rep.per_coordinate["raw"]["ad_statistic"]),
            "ad_normalized": np.asarray(rep.per_coordinate["normalized"]["ad_statistic"]),
            "norms": np.linalg.norm(X, axis=1),
            "neg_cos": cos,
        }
    return rows, arrays


def unit(X: np.ndarray) -> np.ndarray:
    """The rows of ``X`` scaled to unit L2 norm."""
    return X / np.linalg.norm(X, axis=1, keepdims=True)


def variant_matrix(variant: str, Z: np.ndarray, live: np.ndarray, halves) -> tuple[np.ndarray, dict]:
    """The rows tested under ``variant`` and ``{"whitening_shrinkage", "whitening_rank"}`` (None unless whitened).

    ``live``: ``Z`` without its dead coordinates; ``halves``: (fit rows, test rows) for the held-out whitening.
    """
    from infogauss.whitening import whiten

    info = {"whitening_shrinkage": None, "whitening_rank": None}
    if variant == "raw":
        return Z, info
    if variant == "live":
        return live, info
    if variant == "centred":
        return live - live.mean(axis=0), info
    if variant in ("whitened", "normalized_whitened"):
        X, got = whiten(live if variant == "whitened" else unit(live))
        return X, {**info, **got}
    fit, test = halves  # the two halves: in-sample fit / fit on the other half, both tested on the same rows
    W, got = whiten(unit(live), None if variant.endswith("half") else fit)
    return W[test], {**info, **got}


def calibrated_fields(rep) -> dict:
    """The calibrated verdict, Cauchy-combined p, random-projection pass rates and the lower end of the null's 99%
    pass interval, unnormalised and (prefixed ``normalized_``) on L2-normalised rows."""
    row = {}
    for view, s in (("", rep.raw), ("normalized_", rep.normalized)):
        row[view + "calibrated_verdict"] = s.get("calibrated_verdict")
        row[view + "combined_pvalue"] = s.get("combined_pvalue")
        row[view + "proj_ad_pass_fraction"] = s["projections"].get("ad_pass_fraction")
        row[view + "proj_dp_pass_fraction"] = s["projections"].get("dp_pass_fraction")
        row[view + "ad_pass_interval_lo"] = (s.get("ad_pass_interval") or [None])[0]
    return row


def geometry_fields(X: np.ndarray, tested: np.ndarray, seed: int) -> tuple[dict, np.ndarray]:
    """Mean excess kurtosis of the ``tested`` coordinates (raw and of unit rows), negative-pair cosines beside the
    uniform law, ``‖mean of unit rows‖`` (the cone) and the mean norm. Returns ``(fields, cosines)``."""
    row = {"kurtosis_mean": mean_kurtosis(X[:, tested]), "normalized_kurtosis_mean": mean_kurtosis(unit(X)[:, tested])}
    cosines, cos = cosine_fields(X, seed)
    row.update(cosines)
    row["mean_unit_norm"] = float(np.linalg.norm(unit(X).mean(axis=0)))
    row["norm_mean"] = float(np.linalg.norm(X, axis=1).mean())
    return row, cos


def chi_fields(k: int) -> dict:
    """Mean and CV of the chi_k law: the norms of whitened rows if the cloud were Gaussian."""
    mean = math.sqrt(2.0) * math.exp(math.lgamma((k + 1) / 2) - math.lgamma(k / 2))
    return {"chi_mean": mean, "chi_cv": math.sqrt(max(k - mean**2, 0.0)) / mean}


def mean_kurtosis(X: np.ndarray) -> float:
    """Mean excess kurtosis of the columns of ``X`` (0 for a Gaussian; nan without columns)."""
    from scipy import stats

    return float(np.mean(stats.kurtosis(X, axis=0))) if X.shape[1] else float("nan")
