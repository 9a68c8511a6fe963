"""Geometry extras of the report (on a seeded row subsample) and the Q-Q samples for the figures."""

from __future__ import annotations

import math

import numpy as np

from infogauss.errors import InputError
from infogauss.report.results import plain

PAIRWISE_ROWS = (
    1000  # rows of the geometry subsample for the O(rows²) extras (uniformity, Φ, cosines, Maxwell-Poincaré)
)


def qq_samples(sample, sub_norms, arrays, P) -> dict:
    """Row-subsample values of the worst, median and best coordinate and projection (by raw AD statistic)."""
    out = {}
    for kind in ("coord", "proj"):
        a = arrays[kind]["raw"]
        ok = np.flatnonzero(np.isfinite(a["ad_statistic"]))
        if ok.size == 0:
            continue
        order = ok[np.argsort(a["ad_statistic"][ok], kind="stable")]
        picks = {"best": order[0], "median": order[order.size // 2], "worst": order[-1]}
        for label, i in picks.items():
            j = int(a["index"][i])
            v = sample[:, j] if kind == "coord" else sample @ P[:, j]
            name = f"coordinate {j}" if kind == "coord" else f"projection {j}"
            out[f"{name} ({label} AD)"] = {
                "raw": v,
                "normalized": v / sub_norms,
                "ad_statistic": float(a["ad_statistic"][i]),
                "kind": kind,
            }
    return out


def geometry_extras(sample, pair_sample, seed, alpha) -> tuple[dict, dict]:
    """Geometry extras on the row subsample (and its positive pairs); returns (summary dict, arrays for plots).

    Spectrum and effective rank use the whole subsample; the pairwise quantities (O(rows²): uniformity, Φ at
    ``alpha`` = 1/τ, cosines, Maxwell-Poincaré with its Henze-Zirkler part) a seeded sub-subsample of
    :data:`PAIRWISE_ROWS` rows. The subsample is first divided by a power of two (exact) so that data of any overall
    scale (1e-300 to 1e300) neither overflows nor underflows; the spectrum is given back in the data's units."""
    from infogauss import stats

    e = int(np.frexp(np.abs(sample).max())[1])
    sample = np.ldexp(sample, -e)
    pair_sample = None if pair_sample is None else np.ldexp(pair_sample, -int(np.frexp(np.abs(pair_sample).max())[1]))
    n, d = sample.shape
    pick = np.sort(np.random.default_rng(seed + 1).choice(n, size=min(n, PAIRWISE_ROWS), replace=False))
    x = sample[pick]
    y = None if pair_sample is None else pair_sample[pick]
    m = x.shape[0]
    g = {"rows": int(n), "pairwise_rows": int(m)}
    if y is not None:
        g["alignment"] = stats.alignment(x, y)
    g["uniformity_t2"] = {"value": stats.uniformity(x, 2), "uniform_sphere": phi_uniform(d, 4.0) - 4.0}
    phi = stats.uniformity_potential(x, alpha)
    g["uniformity_potential"] = {"alpha": alpha, "value": phi, "uniform_sphere": phi_uniform(d, alpha)}
    g["mean_embedding_norm"] = {"value": stats.mean_embedding_norm(x), "uniform_sphere": 1 / math.sqrt(m)}
    # cosine_summary gathers the rows of its sampled pairs (pairs x d floats, a few copies): keep that near 64 MiB
    cos = stats.cosine_summary(x, y, seed=seed, max_pairs=int(np.clip(2**26 // (24 * d), 2000, 20_000)))
    g["cosine"] = {"negative": _cos(cos.negative)}
    extra = {"negative_cosines": cos.negative.sample}
    if y is not None:
        g["cosine"]["positive"] = _cos(cos.positive)
        extra["positive_cosines"] = cos.positive.sample
    spec = np.clip(np.asarray(stats.covariance_spectrum(sample)), 0, None)
    with np.errstate(over="ignore"):
        extra["spectrum"] = np.ldexp(spec, 2 * e)
    g["isotropy"] = _isotropy(spec, stats.effective_rank(sample), n, d)
    if d >= 8:  # k = 3 directions per subspace; the Diaconis-Freedman bound needs k <= d - 4
        g["maxwell_poincare"] = _maxwell_poincare(x, seed)
    return plain(g), extra


def _isotropy(spec, erank, n, d) -> dict:
    total = spec.sum()
    ok = total > 0
    return {
        "effective_rank": erank,
        "effective_rank_fraction": erank / min(n, d),
        "top_eigenvalue_fraction": float(spec[0] / total) if ok else float("nan"),
        "top10_eigenvalue_fraction": float(spec[:10].sum() / total) if ok else float("nan"),
        "eigenvalue_max_over_mean": float(spec[0] / spec.mean()) if ok else float("nan"),
    }


def _maxwell_poincare(x, seed) -> dict:
    """Lemma 3 on the pairwise subsample; ``{"skipped": reason}`` when the normalised cloud is (numerically) of lower
    dimension than the k = 3 projections need (e.g. one column 1e10 times the others)."""
    from infogauss.stats import maxwell_poincare

    try:
        mp = maxwell_poincare(x, k=3, n_subspaces=10, seed=seed)
    except InputError as exc:
        return {"skipped": str(exc)}
    return {
        "k": mp.k,
        "subspaces": mp.n_subspaces,
        "pvalue": mp.pvalue,
        "tv_bound": mp.tv_bound,
        "ad_pass_fraction": mp.ad_pass_fraction,
        "dp_pass_fraction": mp.dp_pass_fraction,
        "moment_pvalue_min": float(np.nanmin(mp.moment_pvalue)),
        "hz_pvalue_min": float(np.nanmin(mp.hz_pvalue)),
    }


def phi_uniform(d: int, alpha: float) -> float:
    """Φ(σ) for the uniform law on S^{d-1} (docstring of ``stats.uniformity_potential``): the log of the von
    Mises-Fisher normaliser ``Γ(ν+1) (2/α)^ν I_ν(α)``, ν = d/2 - 1, which is the series ``0F1(; ν+1; α²/4)``
    (``scipy.special.hyp0f1``; no underflow of ``I_ν`` at large d, where Φ(σ) ≈ α²/(2d))."""
    from scipy.special import hyp0f1

    return float(math.log(hyp0f1(d / 2, alpha * alpha / 4)))


def _cos(c) -> dict:
    q = c.quantiles
    return {"mean": c.mean, "std": c.std, "q05": q.get(0.05), "q50": q.get(0.5), "q95": q.get(0.95), "pairs": c.count}
