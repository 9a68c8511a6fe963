"""Figures of a :class:`~infogauss.report.GaussianityReport`, one PNG each (matplotlib's Agg canvas, no pyplot).

- ``qq.png`` — normal Q-Q plots of the best, median and worst coordinate and random projection (by raw A²);
- ``ad_statistics.png`` — per-coordinate A² (raw and normalised) against A² of simulated Gaussian columns of the same
  n, with the paper's 0.752 threshold;
- ``dp_pvalues.png`` — per-coordinate DP p-values against the uniform law they follow under the null;
- ``norms.png`` — histogram of the row norms (the thin shell, paper Fig. 6) with its CV;
- ``spectrum.png`` — eigenvalues of the covariance against the flat spectrum of an isotropic cloud;
- ``cosines.png`` — cosine similarities of negative (and positive) pairs (paper Fig. 2).

Example::

    >>> from infogauss.plots import plot_report
    >>> paths = plot_report(report, "runs/demo")  # doctest: +SKIP
"""

from __future__ import annotations

from pathlib import Path

import numpy as np

DPI = 110


def figures(report) -> dict:
    """``{file name: matplotlib Figure}`` for every figure the report has data for."""
    makers = {
        "qq.png": qq_plot,
        "ad_statistics.png": ad_histogram,
        "dp_pvalues.png": dp_histogram,
        "norms.png": norm_histogram,
        "spectrum.png": spectrum_plot,
        "cosines.png": cosine_histogram,
    }
    return {name: fig for name, make in makers.items() if (fig := make(report)) is not None}


def plot_report(report, out_dir) -> list[Path]:
    """Write every figure the report has data for into ``out_dir`` as PNG; return the paths written."""
    out = Path(out_dir)
    out.mkdir(parents=True, exist_ok=True)
    paths = []
    for name, fig in figures(report).items():
        fig.savefig(out / name, dpi=DPI)
        paths.append(out / name)
    return paths


def _figure(rows=1, cols=1, size=(6.4, 4.2)):
    from matplotlib.backends.backend_agg import FigureCanvasAgg
    from matplotlib.figure import Figure

    fig = Figure(figsize=size, dpi=DPI, layout="constrained")
    FigureCanvasAgg(fig)
    axes = fig.subplots(rows, cols, squeeze=False)
    return fig, axes


def qq_plot(report):
    """Normal Q-Q plots of the standardised values of a few coordinates and projections."""
    from scipy.stats import norm

    picks = report.samples.get("qq", {})
    if not picks:
        return None
    names = list(picks)
    cols = 3
    rows = (len(names) + cols - 1) // cols
    fig, axes = _figure(rows, cols, size=(3.3 * cols, 3.1 * rows + 0.4))
    for ax, name in zip(axes.flat, names, strict=False):
        v = np.sort(np.asarray(picks[name]["raw"], dtype=np.float64))
        sd = v.std()
        z = (v - v.mean()) / (sd if sd > 0 else 1.0)
        q = norm.ppf((np.arange(1, v.size + 1) - 0.5) / v.size)
        keep = _thin(v.size)
        q, z = q[keep], z[keep]
        lim = max(4.0, float(np.abs(z).max()) * 1.05, float(np.abs(q).max()) * 1.05)
        ax.plot([-lim, lim], [-lim, lim], color="0.6", lw=1, zorder=1)
        ax.plot(q, z, ".", ms=2, color="C0" if picks[name]["kind"] == "coord" else "C2", zorder=2, rasterized=True)
        ax.set_xlim(-lim, lim)
        ax.set_ylim(-lim, lim)
        ax.set_title(f"{name}\nA² = {picks[name]['ad_statistic']:.3g} (n = {report.n})", fontsize=9)
        ax.set_xlabel("N(0,1) quantile", fontsize=8)
        ax.set_ylabel("standardised sample quantile", fontsize=8)
        ax.tick_params(labelsize=7)
    for ax in list(axes.flat)[len(names) :]:
        ax.set_visible(False)
    rows_used = len(report.samples.get("rows", [])) or report.n
    fig.suptitle(
        f"Normal Q-Q plots, raw embeddings ({rows_used} of {report.n} rows; points on the line = Gaussian)",
        fontsize=10,
    )
    return fig


def _thin(m: int, tails: int = 50, middle: int = 1000) -> np.ndarray:
    """Indices of sorted points to draw: every point in each tail, ``middle`` evenly spaced ones between."""
    if m <= 2 * tails + middle:
        return np.arange(m)
    return np.unique(
        np.r_[np.arange(tails), np.linspace(tails, m - tails - 1, middle).astype(int), np.arange(m - tails, m)]
    )


def ad_histogram(report):
    """Histogram of per-coordinate A² (raw, normalised) on log bins, against the simulated Gaussian null."""
    from infogauss.report import AD_THRESHOLD

    null = report.null
    views = [(v, report.per_coordinate.get(v, {}).get("ad_statistic")) for v in ("raw", "normalized")]
    views = [(v, a[np.isfinite(a)]) for v, a in views if a is not None and np.isfinite(a).any()]
    if not views:
        return None
    values = np.concatenate([a for _, a in views] + ([null.ad_statistic] if null is not None else []))
    lo = max(float(values[values > 0].min()) if (values > 0).any() else 1e-2, 1e-3)
    hi = max(float(values.max()), 2.0)
    bins = np.geomspace(lo * 0.95, hi * 1.05, 50)
    fig, axes = _figure(1, len(views), size=(5.2 * len(views), 3.9))
    for ax, (view, a) in zip(axes.flat, views, strict=True):
        ax.hist(a, bins=bins, weights=_share(a), color="C0", alpha=0.7, label=f"{view} coordinates ({a.size})")
        if null is not None:
            ax.hist(
                null.ad_statistic,
                bins=bins,
                weights=_share(null.ad_statistic),
                histtype="step",
                color="k",
                lw=1.3,
                label=f"Gaussian null ({null.reps} columns, n = {null.n})",
            )
        ax.axvline(AD_THRESHOLD, color="C3", ls="--", lw=1.2, label=f"pass threshold {AD_THRESHOLD}")
        ax.set_ylim(0, ax.get_ylim()[1] * 1.45)  # headroom for the legend
        ax.set_xscale("log")
        ax.set_xlabel("Anderson-Darling A² (log scale)")
        ax.set_ylabel("share of columns per bin")
        ax.set_title(f"{view}: mean A² = {a.mean():.3g}, {100 * (a < AD_THRESHOLD).mean():.1f}% pass", fontsize=10)
        ax.legend(fontsize=7, loc="upper right")
    fig.suptitle(f"Per-coordinate Anderson-Darling statistics (n = {report.n})", fontsize=11)
    return fig


def _share(a):
    return np.full(len(a), 1 / max(len(a), 1))


def dp_histogram(report):
    """Histogram of per-coordinate DP p-values (raw, normalised) against the uniform law of the null."""
    from infogauss.report import DP_ALPHA

    views = [(v, report.per_coordinate.get(v, {}).get("dp_pvalue")) for v in ("raw", "normalized")]
    views = [(v, p[np.isfinite(p)]) for v, p in views if p is not None and np.isfinite(p).any()]
    if not views:
        return None
    bins = np.linspace(0, 1, 21)
    fig, axes = _figure(1, len(views), size=(5.2 * len(views), 3.9))
    for ax, (view, p) in zip(axes.flat, views, strict=True):
        ax.hist(p, bins=bins, density=True, color="C1", alpha=0.75, label=f"{view} coordinates ({p.size})")
        ax.axhline(1.0, color="k", lw=1.3, label="null: Uniform(0, 1)")
        ax.axvline(DP_ALPHA, color="C3", ls="--", lw=1.2, label=f"pass threshold p > {DP_ALPHA}")
        ax.set_xlim(0, 1)
        ax.set_ylim(0, max(ax.get_ylim()[1], 1.0) * 1.45)  # headroom for the legend
        ax.set_xlabel("D'Agostino-Pearson p-value")
        ax.set_ylabel("density")
        ax.set_title(f"{view}: mean p = {p.mean():.3g}, {100 * (p > DP_ALPHA).mean():.1f}% pass", fontsize=10)
        ax.legend(fontsize=7, loc="upper right")
    fig.suptitle(f"Per-coordinate D'Agostino-Pearson p-values (n = {report.n})", fontsize=11)
    return fig


def norm_histogram(report):
    """Histogram of the row norms ||z_i|| (raw embeddings), with the CV of paper Eq. 20."""
    r = np.asarray(report.samples.get("norms", []), dtype=np.float64)
    if r.size == 0:
        return None
    fig, axes = _figure(size=(6.0, 3.9))
    ax = axes[0, 0]
    ax.hist(r, bins=60, color="C4", alpha=0.8)
    ax.axvline(r.mean(), color="k", ls="--", lw=1.2, label=f"mean {r.mean():.5g}")
    ax.set_xlabel("row norm ‖z‖ (raw embeddings)")
    ax.set_ylabel("count")
    ax.set_title(
        f"Thin shell: CV = {report.raw['cv']:.4f} (all {report.n} rows); histogram of {r.size} rows", fontsize=10
    )
    lo, hi = r.min(), r.max()
    pad = 0.1 * (hi - lo) if hi > lo else max(abs(lo) * 0.01, 1e-12)
    ax.set_xlim(lo - pad, hi + pad)
    ax.legend(fontsize=8)
    return fig


def spectrum_plot(report):
    """Eigenvalues of the covariance (descending, log scale) against the flat spectrum of an isotropic cloud."""
    s = np.asarray(report.samples.get("spectrum", []), dtype=np.float64)
    if s.size == 0:
        return None
    fig, axes = _figure(size=(6.0, 3.9))
    ax = axes[0, 0]
    k = np.arange(1, s.size + 1)
    pos = s > s.max() * 1e-10  # numerically zero eigenvalues (dead or collinear directions) would swamp the axis
    label = "covariance eigenvalues" + (f" ({(~pos).sum()} ≈ 0 not shown)" if (~pos).any() else "")
    ax.plot(k[pos], s[pos], color="C0", lw=1.5, label=label)
    ax.axhline(s.mean(), color="k", ls="--", lw=1.1, label="isotropic (all equal to the mean)")
    ax.set_yscale("log")
    ax.set_xlabel("eigenvalue index")
    ax.set_ylabel("eigenvalue (log scale)")
    erank = report.geometry.get("isotropy", {}).get("effective_rank")
    rows = report.geometry.get("rows", report.n)
    title = "Covariance spectrum" + (f": effective rank {erank:.1f} of {report.d}" if erank else "")
    ax.set_title(f"{title} ({rows} rows)", fontsize=10)
    ax.legend(fontsize=8)
    return fig


def cosine_histogram(report):
    """Cosine similarities of negative pairs (and positive pairs when a second view was given)."""
    neg = report.samples.get("negative_cosines")
    if neg is None or len(neg) == 0:
        return None
    pos = report.samples.get("positive_cosines")
    fig, axes = _figure(size=(6.0, 3.9))
    ax = axes[0, 0]
    lo = min(float(np.min(neg)), float(np.min(pos)) if pos is not None else 1.0)
    bins = np.linspace(max(-1.0, lo - 0.02), 1.0, 80)
    w = np.full(len(neg), 1 / len(neg))
    ax.hist(neg, bins=bins, weights=w, color="C0", alpha=0.7, label=f"negative pairs ({len(neg)} drawn)")
    if pos is not None and len(pos):
        ax.hist(pos, bins=bins, weights=np.full(len(pos), 1 / len(pos)), color="C1", alpha=0.7, label="positive pairs")
    ax.set_xlabel("cosine similarity")
    ax.set_ylabel("relative count per bin")
    ax.set_title("Alignment and uniformity: cosine similarities", fontsize=10)
    ax.legend(fontsize=8)
    return fig
