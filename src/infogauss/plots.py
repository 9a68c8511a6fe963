"""Figures of a :class:`~infogauss.report.GaussianityReport`, one PNG each (matplotlib's Agg canvas, no pyplot).

- ``qq.png`` — normal Q-Q plots of the best, median and worst coordinate and random projection (by raw A²);
- ``ad_statistics.png`` — per-coordinate A² (raw and normalised) against A² of simulated Gaussian columns of the same
  n, with the paper's 0.752 threshold;
- ``dp_pvalues.png`` — per-coordinate DP p-values against the uniform law they follow under the null;
- ``norms.png`` — histogram of the row norms (the thin shell, paper Fig. 6) with its CV;
- ``spectrum.png`` — eigenvalues of the covariance against the flat spectrum of an isotropic cloud;
- ``cosines.png`` — cosine similarities of negative (and positive) pairs (paper Fig. 2) against the exact density of
  the cosine of two uniform directions (:func:`sphere_cosine_pdf`, also drawn by the experiments' histograms).

Example::

    >>> from infogauss.plots import plot_report
    >>> paths = plot_report(report, "runs/demo")  # doctest: +SKIP
"""

from __future__ import annotations

import functools
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
    """Normal Q-Q plots of the standardised values of a few coordinates and projections (raw embeddings).

    Each panel has its own limits (the theoretical quantiles on x, the sample's on y), so a heavy tail shows as
    the points leaving the line rather than as a square box of white space.
    """
    from scipy.stats import norm

    picks = report.samples.get("qq", {})
    if not picks:
        return None
    names = list(picks)
    cols = 3
    rows = (len(names) + cols - 1) // cols
    fig, axes = _figure(rows, cols, size=(3.6 * cols, 2.9 * rows + 0.4))
    for ax, name in zip(axes.flat, names, strict=False):
        v = np.sort(np.asarray(picks[name]["raw"], dtype=np.float64))
        sd = v.std()
        z = (v - v.mean()) / (sd if sd > 0 else 1.0)
        q = norm.ppf((np.arange(1, v.size + 1) - 0.5) / v.size)
        keep = _thin(v.size)
        q, z = q[keep], z[keep]
        span = [q.min(), q.max()]  # the line over the quantiles drawn; each axis keeps its data's range
        ax.plot(span, span, color="0.6", lw=1, zorder=1, label="y = x (Gaussian)")
        ax.plot(q, z, ".", ms=2, color="C0" if picks[name]["kind"] == "coord" else "C2", zorder=2, rasterized=True)
        ax.margins(0.05)
        ax.set_title(f"{name}\nA² = {picks[name]['ad_statistic']:.3g} (n = {report.n})", fontsize=9)
        ax.set_xlabel("N(0,1) quantile", fontsize=8)
        ax.set_ylabel("standardised sample quantile", fontsize=8)
        ax.tick_params(labelsize=7)
    for ax in list(axes.flat)[len(names) :]:
        ax.set_visible(False)
    rows_used = len(report.samples.get("rows", [])) or report.n
    fig.suptitle(
        f"Normal Q-Q plots, raw (unnormalised) embeddings ({rows_used} of {report.n} rows; points on the line = "
        "Gaussian)",
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
    views = _per_coordinate(report, "ad_statistic")
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
        ax.set(xscale="log", xlabel="Anderson-Darling A² (log scale)", ylabel="share of columns per bin")
        _title(ax, view, f"mean A² = {a.mean():.3g}, {100 * (a < AD_THRESHOLD).mean():.1f}% pass")
    fig.suptitle(f"Per-coordinate Anderson-Darling statistics (n = {report.n})", fontsize=11)
    return fig


def _share(a):
    return np.full(len(a), 1 / max(len(a), 1))


#: What each view of the per-coordinate tests is, in a panel title.
VIEW_TITLES = {"raw": "raw (unnormalised) embeddings", "normalized": "L2-normalised rows"}


def _per_coordinate(report, key: str) -> list[tuple[str, np.ndarray]]:
    """``[(view, finite per-coordinate values of key)]`` for the raw and normalised views that have any."""
    views = [(v, report.per_coordinate.get(v, {}).get(key)) for v in ("raw", "normalized")]
    return [(v, a[np.isfinite(a)]) for v, a in views if a is not None and np.isfinite(a).any()]


def _title(ax, view: str, summary: str) -> None:
    """A per-view panel's title (which rows, then the summary) and its legend."""
    ax.set_title(f"{VIEW_TITLES.get(view, view)}: {summary}", fontsize=10)
    ax.legend(fontsize=7, loc="upper right")


def dp_histogram(report):
    """Histogram of per-coordinate DP p-values (raw, normalised) against the uniform law of the null."""
    from infogauss.report import DP_ALPHA

    views = _per_coordinate(report, "dp_pvalue")
    if not views:
        return None
    bins = np.linspace(0, 1, 21)
    fig, axes = _figure(1, len(views), size=(5.2 * len(views), 3.9))
    for ax, (view, p) in zip(axes.flat, views, strict=True):
        ax.hist(p, bins=bins, density=True, color="C1", alpha=0.75, label=f"{view} coordinates ({p.size})")
        ax.axhline(1.0, color="k", lw=1.3, label="null: Uniform(0, 1)")
        ax.axvline(DP_ALPHA, color="C3", ls="--", lw=1.2, label=f"pass threshold p > {DP_ALPHA}")
        ax.set(xlim=(0, 1), ylim=(0, max(ax.get_ylim()[1], 1.0) * 1.45))  # headroom for the legend
        ax.set(xlabel="D'Agostino-Pearson p-value", ylabel="density")
        _title(ax, view, f"mean p = {p.mean():.3g}, {100 * (p > DP_ALPHA).mean():.1f}% pass")
    fig.suptitle(f"Per-coordinate D'Agostino-Pearson p-values (n = {report.n})", fontsize=11)
    return fig


def _one_panel(sample: str):
    """Decorator: ``draw(report, values, ax)`` becomes ``make(report) -> Figure | None``, drawing on one panel when
    the report holds the sample ``report.samples[sample]`` and returning None when it does not."""

    def wrap(draw):
        @functools.wraps(draw)
        def make(report):
            values = report.samples.get(sample)
            values = None if values is None else np.asarray(values, dtype=np.float64)
            if values is None or values.size == 0:
                return None
            fig, axes = _figure(size=(6.0, 3.9))
            draw(report, values, axes[0, 0])
            return fig

        return make

    return wrap


@_one_panel("norms")
def norm_histogram(report, r, ax):
    """Histogram of the row norms ||z_i|| (raw embeddings), with the CV of paper Eq. 20."""
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


@_one_panel("spectrum")
def spectrum_plot(report, s, ax):
    """Eigenvalues of the covariance (descending, log scale) against the flat spectrum of an isotropic cloud."""
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
    ax.set_title(f"{title}\n({rows} rows, raw embeddings)", fontsize=10)  # two lines: fits the panel's width
    ax.legend(fontsize=8)


@_one_panel("negative_cosines")
def cosine_histogram(report, neg, ax):
    """Cosine similarities of negative pairs (and positive pairs when a second view was given), as densities,
    against the exact density of the cosine of two independent uniform directions in R^d
    (:func:`sphere_cosine_pdf`)."""
    pos = report.samples.get("positive_cosines")
    pos = None if pos is None or len(pos) == 0 else np.asarray(pos, dtype=np.float64)
    lo = min(float(neg.min()), float(pos.min()) if pos is not None else 1.0)
    bins = np.linspace(max(-1.0, lo - 0.02), 1.0, 80)
    ax.hist(neg, bins=bins, density=True, color="C0", alpha=0.7, label=f"negative pairs ({len(neg)} drawn)")
    if pos is not None:
        ax.hist(pos, bins=bins, density=True, color="C1", alpha=0.7, label=f"positive pairs ({len(pos)})")
    if report.d >= 2:
        overlay_sphere_cosine(ax, report.d, lo=bins[0])
    ax.set_xlabel("cosine similarity (the same for raw and L2-normalised rows)")
    ax.set_ylabel("density")
    ax.set_title(f"Alignment and uniformity: cosine similarities (d = {report.d})", fontsize=10)
    ax.legend(fontsize=8)


# ---------------------------------------------------------------------------------------------- reference curves


def sphere_cosine_pdf(t, d: int) -> np.ndarray:
    r"""Density of the cosine :math:`t = u\cdot v` of two independent uniform points on :math:`S^{d-1}`:
    :math:`p(t) = \frac{\Gamma(d/2)}{\sqrt\pi\,\Gamma((d-1)/2)}(1-t^2)^{(d-3)/2}` on (−1, 1), i.e.
    :math:`(1+t)/2 \sim \mathrm{Beta}(\tfrac{d-1}2, \tfrac{d-1}2)`; mean 0, variance 1/d (for large d close to
    N(0, 1/d), which is what a histogram of negative-pair cosines of a uniform embedding should follow). ``d >= 2``.
    """
    from scipy.stats import beta

    from infogauss.errors import InputError

    if int(d) != d or d < 2:
        raise InputError(f"d must be an integer >= 2 for a cosine on the sphere S^(d-1), got {d!r}")
    a = (d - 1) / 2
    t = np.asarray(t, dtype=np.float64)
    return 0.5 * beta.pdf((t + 1) / 2, a, a)


def overlay_sphere_cosine(ax, d: int, *, scale: float = 1.0, lo: float = -1.0, hi: float = 1.0, **style):
    """Draw :func:`sphere_cosine_pdf` for dimension ``d`` on ``ax`` over ``[lo, hi]``, labelled; ``scale`` turns the
    density into the histogram's units (a bin width for "share per bin"). Returns the line."""
    t = np.linspace(lo, hi, 801)
    style = {"color": "k", "ls": "--", "lw": 1.1, **style}
    label = style.pop("label", f"uniform on S^{d - 1}: exact density, d = {d}")
    return ax.plot(t, scale * sphere_cosine_pdf(t, d), label=label, **style)[0]
