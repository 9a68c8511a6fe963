"""Fig. 3: thin-shell concentration of the Laplace study — CV and mean norm vs batch size N for each d.

Linear encoders trained with InfoNCE on the Laplace source (paper §4.1 (a)) at every d ∈ {32, 64, 128, 256} and
N ∈ {8, 16, 32, 48, 64, 96, 128}. For each run, on the unnormalised embeddings of the held-out test data (no
augmentation; the engine's numbers on augmented views are kept as ``views_*``): CV (Eq. 20), mean norm, the mode of
the norm histogram, and the AD/DP summaries. Figures: CV and mean norm vs N (curves per d), norm histograms (radius
tightening), AD avg / DP pass fraction vs N. The paper prints no numbers for Fig. 3 except the project-page
histogram modes at d = 32, read off the plot (docs/paper-protocol.md §4.4.3).
"""

from __future__ import annotations

import math

import numpy as np

from infogauss.constants import AD_THRESHOLD, DP_ALPHA
from infogauss.experiments import paper
from infogauss.experiments.columns import GRID
from infogauss.experiments.common import (
    SMOKE_SOURCE,
    Context,
    data_embeddings,
    epochs,
    laplace_grid,
    norm_mode,
    result_row,
)
from infogauss.experiments.drawing import grid_keys, save, subplots
from infogauss.experiments.tables import REPORT_COLUMNS, Column, Table

TITLE = "Fig. 3: norm concentration (CV, mean norm) vs batch size and dimension — Laplace, linear encoder"

DS = [32, 64, 128, 256]
NS = [8, 16, 32, 48, 64, 96, 128]
SCALES = {
    "smoke": {
        "about": "seconds: 32-d inputs, 256 training / 128 test items, d = 4, N in {8, 16}, 1 epoch (tests)",
        "d": [4],
        "N": [8, 16],
        "train": epochs(1),
        "source_params": SMOKE_SOURCE,
    },
    "cpu": {
        "about": "d in {32, 64, 128, 256} × N in {8, 32, 128} (paper: N in {8, 16, 32, 48, 64, 96, 128}) with 2k "
        "training items (paper 20k) and 8 epochs (paper 150), i.e. 1/190 of the paper's gradient steps per run; 2k "
        "test items (paper 5k), the engine's augmented-view monitors on 1k of them",
        "d": DS,
        "N": [8, 32, 128],
        "train": epochs(8, eval_samples=1000),
        "source_params": {"n_train": 2000, "n_test": 2000},
    },
    "paper": {
        "about": "the paper's settings: Laplace 1024-d, A = 0.6 + jitter, 20k/5k items, linear encoder, tau = 0.1, "
        "Adam 1e-3, 150 epochs, the full d × N grid",
        "d": DS,
        "N": NS,
        "train": epochs(150),
        "source_params": {},
    },
}


def run_seed(ctx: Context):
    rows, norms = [], {}
    for d, n, run in laplace_grid(ctx):
        z = data_embeddings(run)
        r = np.linalg.norm(z, axis=1)
        norms[(d, n)] = r
        row = result_row(run.final, z, f"d{d}_N{n}", batch_size=n, epochs=run.config.epochs)
        row["mean_norm"] = float(r.mean())
        row["cv_linear"] = linear_cv(run.model)
        row["norm_mode"] = norm_mode(r)
        row["norm_std"] = float(r.std())
        row["paper_row"] = f"d{d}_N{n}"
        rows.append(row)
    return rows, {"norms": norms}


def linear_cv(model, var: float = 2.0, fourth: float = 24.0) -> float | None:
    r"""CV of :math:`\|Wx + b\|` implied by the weights alone, for inputs with i.i.d. symmetric coordinates.

    (derivation, added here) With :math:`M = W^\top W`, :math:`E x_k^2 = \sigma^2` (``var``) and
    :math:`E x_k^4 = \mu_4` (``fourth``; Laplace(0,1): 2 and 24):
    :math:`E\|z\|^2 = \sigma^2\operatorname{tr}M + \|b\|^2` and
    :math:`\mathrm{Var}\|z\|^2 = (\mu_4 - 3\sigma^4)\sum_k M_{kk}^2 + 2\sigma^4\|M\|_F^2 + 4\sigma^2\|W^\top b\|^2`;
    the delta method gives :math:`\mathrm{CV}(\|z\|) \approx \tfrac12\sqrt{\mathrm{Var}\|z\|^2}/E\|z\|^2`.
    No data and no training enter: if this matches the measured CV, the thin shell is a property of a linear map of
    i.i.d. inputs. ``None`` for encoders that are not a single linear layer.
    """
    import torch

    lin = getattr(model, "backbone", None)
    if not isinstance(lin, torch.nn.Linear):
        return None
    W = lin.weight.detach().double().cpu()
    b = lin.bias.detach().double().cpu() if lin.bias is not None else torch.zeros(W.shape[0], dtype=torch.float64)
    col_sq = (W * W).sum(dim=0)  # diag(M)
    fro_sq = float(((W @ W.T) ** 2).sum())  # ||W^T W||_F^2 = ||W W^T||_F^2
    mean_sq = var * float(col_sq.sum()) + float(b @ b)
    var_sq = (fourth - 3 * var * var) * float((col_sq**2).sum()) + 2 * var * var * fro_sq
    var_sq += 4 * var * float(((W.T @ b) ** 2).sum())
    return 0.5 * math.sqrt(var_sq) / mean_sq


def tables(rows):
    ref = {f"d32_N{n}": {"norm_mode": m} for n, m in paper.FIG3_NORM_MODE_D32.items()}
    cols = [
        *GRID,
        Column("mean_norm", "mean ‖z‖"),
        Column("norm_mode", "mode ‖z‖"),
        Column("cv_linear", "CV linear"),
        *REPORT_COLUMNS,
        Column("views_cv", "CV (aug. views)"),
    ]
    return [
        Table(
            "Norm concentration and coordinate Gaussianity (unnormalised embeddings of the test data)",
            cols,
            rows,
            ref,
            caption=f"Paper values: histogram modes at d = 32 from {paper.SOURCE_FIG3}; the paper prints no other "
            "Fig. 3 numbers. 'CV linear': the CV implied by the trained weights alone for i.i.d. Laplace inputs "
            "(no data, no training dynamics; see `linear_cv`).",
        )
    ]


def notes(rows, rows_per_seed, settings):
    out = []
    by = {(r["d"], r["batch_size"]): r for r in rows}
    ds, ns = grid_keys(by)
    mono_n = [d for d in ds if len(ns) > 1 and _decreasing([by[(d, n)]["cv"] for n in ns])]
    mono_d = [n for n in ns if len(ds) > 1 and _decreasing([by[(d, n)]["cv"] for d in ds])]
    cvs = [r["cv"] for r in rows]
    out.append(
        "The paper reports a monotonic decrease of CV as N and d grow. Measured: CV decreases monotonically in N "
        f"for d ∈ {_set(mono_n)} (of {len(ds)} dimensions) and in d for N ∈ {_set(mono_d)} (of {len(ns)} batch "
        f"sizes). CV range: {min(cvs):.3f} – {max(cvs):.3f}."
    )
    lin = [(r["cv"], r["cv_linear"]) for r in rows if r.get("cv_linear") is not None]
    if lin:
        worst = max(abs(a - b) / a for a, b in lin)
        out.append(
            "'CV linear' is computed from the trained weights alone (second and fourth moments of i.i.d. Laplace "
            f"inputs pushed through z = Wx + b): it matches the measured CV within {100 * worst:.0f}% in every run. "
            "The thin shell on this source is what any linear map with these weights gives; CV falls with d "
            "because ‖z‖² sums more independent directions, as for a χ_d law (CV ≈ 1/√(2d) for Gaussian inputs)."
        )
    out.append(
        "Norm modes at d = 32 are compared with values read by eye off the project page's histogram "
        "(batch 8: ≈11.5, 32: ≈5.5, 64: ≈4, 128: ≈3). Absolute norms depend on the unknown initialisation, bias and "
        "input scale, so only the trend (smaller, tighter norms with larger N) is comparable."
    )
    return "\n\n".join(out)


def _set(values) -> str:
    """``{32, 64}``, or ``∅`` (no value), so an empty set never prints as ``{}``."""
    return "{" + ", ".join(str(v) for v in values) + "}" if values else "∅"


def _decreasing(values) -> bool:
    return all(b <= a for a, b in zip(values, values[1:], strict=False))


def figures(rows, extras, folder):
    by = {(r["d"], r["batch_size"]): r for r in rows}
    ds, ns = grid_keys(by)

    def curves(ax, key):
        for d in ds:
            ax.plot(ns, [by[(d, n)][key] for n in ns], "o-", label=f"d = {d}")
        ax.legend(fontsize=8)

    what = "unnormalised embeddings of the test data, end of training"
    fig, ax = subplots(1, 2, figsize=(10, 3.6))
    curves(ax[0], "cv")
    curves(ax[1], "mean_norm")
    ax[0].set(xlabel="batch size N", ylabel="CV = std‖z‖ / mean‖z‖", title="thin shell: CV (Eq. 20)")
    ax[1].set(xlabel="batch size N", ylabel="mean ‖z‖", title="mean norm")
    fig.suptitle(f"Laplace, linear encoder: {what}", fontsize=9)
    save(fig, folder, "fig3_cv_vs_batch.png")

    norms = (extras or {}).get("norms", {})
    if norms:
        fig, ax = subplots(1, 2, figsize=(10, 3.6))
        for n in ns:
            if (ds[0], n) in norms:
                ax[0].hist(norms[(ds[0], n)], bins=60, density=True, histtype="step", label=f"N = {n}")
        for d in ds:
            if (d, ns[-1]) in norms:
                ax[1].hist(norms[(d, ns[-1])], bins=60, density=True, histtype="step", label=f"d = {d}")
        ax[0].set(xlabel="‖z‖", ylabel="density", title=f"d = {ds[0]}: norms by batch size")
        ax[1].set(xlabel="‖z‖", title=f"N = {ns[-1]}: norms by dimension")
        ax[0].legend(fontsize=7)
        ax[1].legend(fontsize=7)
        fig.suptitle(f"Norm histograms, {what}", fontsize=9)
        save(fig, folder, "fig3_norm_histograms.png")

    fig, ax = subplots(1, 2, figsize=(10, 3.6))
    curves(ax[0], "ad_mean")
    curves(ax[1], "dp_pass_fraction")
    ax[0].axhline(AD_THRESHOLD, color="C3", ls="--", lw=1)
    ax[0].set(xlabel="batch size N", ylabel="mean AD statistic", title=f"AD avg (Gaussian below {AD_THRESHOLD:g})")
    ax[1].axhline(0.95, color="0.5", ls=":", lw=1)
    ax[1].set(xlabel="batch size N", ylabel=f"fraction with p > {DP_ALPHA:g}", title="DP pass fraction", ylim=(0, 1.02))
    ax[1].get_legend().remove()
    fig.suptitle(f"Coordinate Gaussianity, {what}", fontsize=9)
    save(fig, folder, "fig3_normality.png")
