r"""Route 2 trained (new evidence, not in the paper): InfoNCE alone vs InfoNCE + the regulariser of Eq. 11.

The paper's Route 2 (§4.2, Thm 1, Cor. 2) is purely analytical: adding
:math:`\beta(-H(\rho) + \lambda\,\mathbb E\|z\|^2)` to the loss with :math:`\beta \ge \beta_0 =
\alpha(1-\eta_2)/(C(d-1))` makes :math:`\rho = \mathcal N(0, (2\lambda)^{-1} I_d)` optimal, so the norms should
follow :math:`\|z\| \sim \chi_d / \sqrt{2\lambda}`. **The paper trains no model with it**; this experiment does,
with the engine's :class:`~infogauss.losses.Route2Regularizer` (plug-in Gaussian entropy with Ledoit–Wolf
shrinkage, :math:`\lambda = 1/2`, i.e. reference :math:`\mathcal N(0, I)`).

On the Laplace source (A = 0.6 + jitter) at several d, for :math:`\beta = c\,\beta_0` with :math:`c = 0`
(InfoNCE alone) and a few multiples: :math:`\beta_0` uses the unknown constant :math:`C = 1` and, since
:math:`\eta_2` of the jittered Laplace channel is not known exactly, its lower bound ``eta2_lower_bound`` (squared
Pearson), which makes :math:`\beta_0` larger, i.e. conservative. Measured on held-out test items:

- CV and the paper's coordinate Gaussianity of the unnormalised test data (no augmentation), as in the other
  experiments (the engine's numbers on augmented views are kept as ``views_*``);
- ``ks_chi``: Kolmogorov–Smirnov distance between :math:`\sqrt{2\lambda}\,\|z\|` and :math:`\chi_d` — the law
  Cor. 2 predicts, no fitted parameter, so ``ks_chi_p`` is a valid p-value — on embeddings of augmented *views*,
  because the theory's :math:`\rho = f_*p_X` is the law of one view's embedding and the regulariser acts on views
  during training (``data_ks_chi``: the same on the un-augmented test data);
- ``ks_chi_shape``: the same after rescaling the norms to :math:`\mathbb E\|z\|^2 = d` (shape only; a distance,
  its p-value would not be valid);
- ``effective_rank_fraction``: entropy effective rank / d (1 for isotropic), and ``mean_embedding_norm``.
"""

from __future__ import annotations

import math

import numpy as np

from infogauss.experiments.common import (
    SMOKE_SOURCE,
    Context,
    data_embeddings,
    result_row,
    test_views,
    train,
    train_config,
)
from infogauss.experiments.tables import REPORT_COLUMNS, Column, Table

TITLE = "Route 2 trained — InfoNCE alone vs InfoNCE + β(−H + λE‖z‖²) (new evidence, not in the paper)"

LAM = 0.5
SCALES = {
    "smoke": {
        "about": "seconds: 32-d inputs, 256 training / 128 test items, d = 4, 1 epoch, β/β₀ in {0, 1} (tests)",
        "d": [4],
        "multiples": [0.0, 1.0],
        "train": {"batch_size": 32, "epochs": 1, "eval_every": 1},
        "source_params": SMOKE_SOURCE,
    },
    "cpu": {
        "about": "d in {32, 128}, β/β₀ in {0, 1, 16}; Laplace with 5k training items (paper 20k) and 10 epochs "
        "(paper 150), N = 128, 5k test items, the engine's augmented-view monitors on 1k of them",
        "d": [32, 128],
        "multiples": [0.0, 1.0, 16.0],
        "train": {"batch_size": 128, "epochs": 10, "eval_every": 10, "eval_samples": 1000},
        "source_params": {"n_train": 5000},
    },
    "paper": {
        "about": "the paper's Laplace settings (20k/5k items, N = 128, tau = 0.1, Adam 1e-3, 150 epochs) at "
        "d in {32, 64, 128, 256} and β/β₀ in {0, 0.25, 1, 4, 16}",
        "d": [32, 64, 128, 256],
        "multiples": [0.0, 0.25, 1.0, 4.0, 16.0],
        "train": {"batch_size": 128, "epochs": 150, "eval_every": 150},
        "source_params": {},
    },
}


def chi_norm_fit(z: np.ndarray, lam: float = LAM) -> dict:
    """KS comparison of the row norms of ``z`` with the χ_d / sqrt(2 lam) law of paper Cor. 2."""
    from scipy import stats

    d = z.shape[1]
    r = np.linalg.norm(z, axis=1)
    scaled = r * math.sqrt(2.0 * lam)
    ks = stats.kstest(scaled, "chi", args=(d,))
    shape = r * math.sqrt(d / np.mean(r * r))
    return {
        "ks_chi": float(ks.statistic),
        "ks_chi_p": float(ks.pvalue),
        "ks_chi_shape": float(stats.kstest(shape, "chi", args=(d,)).statistic),
        "mean_norm_over_predicted": float(r.mean() / (stats.chi(d).mean() / math.sqrt(2.0 * lam))),
        "norm_cv": float(r.std() / r.mean()),
    }


def _eta2_lower(source_params: dict) -> float:
    from infogauss.data.synthetic import make_source

    p = {k: v for k, v in source_params.items() if k not in ("n_train", "n_test", "dim")}
    return float(make_source("laplace", dim=2, n_train=2, n_test=2, **p).eta2_lower_bound)


def run_seed(ctx: Context):
    from infogauss.losses import beta_threshold
    from infogauss.stats import effective_rank

    s = ctx.settings
    eta2 = _eta2_lower(s["source_params"])
    rows, norms = [], {}
    for d in s["d"]:
        for c in s["multiples"]:
            changes = {**s["train"], "d": d, "lam": LAM}
            if c > 0:
                changes.update(beta_scale=c, eta2=eta2)
            cfg = train_config(ctx, "laplace", source_params=dict(s["source_params"]), **changes)
            run = train(ctx, cfg)
            z = data_embeddings(run)
            v, _ = test_views(run)
            beta = c * beta_threshold(cfg.temperature, eta2, d)
            row = result_row(run.final, z, f"d{d}_" + ("infonce" if c == 0 else f"beta{c:g}x"), beta_multiple=c)
            row.update(d=d, beta=beta, eta2_for_beta0=eta2, lam=LAM)
            row.update(chi_norm_fit(v))
            row.update({"data_" + k: val for k, val in chi_norm_fit(z).items()})
            row["effective_rank_fraction"] = float(effective_rank(v)) / d
            rows.append(row)
            norms[(d, c)] = np.linalg.norm(v, axis=1)
    return rows, {"norms": norms}


def tables(rows):
    cols = [
        Column("d", "d", "int"),
        Column("beta_multiple", "β/β₀"),
        Column("beta", "β"),
        Column("ks_chi", "KS to χ_d/√(2λ) (views)"),
        Column("ks_chi_shape", "KS shape only (views)"),
        Column("mean_norm_over_predicted", "mean‖z‖ / predicted (views)"),
        Column("norm_cv", "norm CV (views)"),
        Column("data_ks_chi", "KS to χ_d/√(2λ) (data)"),
        Column("effective_rank_fraction", "eff. rank / d"),
        Column("alignment", "E[u·v]"),
        *REPORT_COLUMNS,
    ]
    return [
        Table(
            "New evidence, not in the paper: does the Route-2 regulariser give ρ ≈ N(0, (2λ)⁻¹ I)?",
            cols,
            rows,
            caption="The paper reports no numbers here (it never trains with the regulariser). β₀ = α(1−η₂)/(d−1) "
            "with the unknown constant C = 1 and η₂ replaced by its lower bound (squared Pearson), λ = 1/2. "
            "Norm columns on augmented test views (the law Cor. 2 is about), CV and Gaussianity on the test data.",
        )
    ]


def notes(rows, rows_per_seed, settings):
    out = ["**New evidence, not in the paper.** The paper proves Route 2 but never trains with it."]
    for d in sorted({r["d"] for r in rows}):
        group = sorted((r for r in rows if r["d"] == d), key=lambda r: r["beta_multiple"])
        base = group[0]
        best = min(group, key=lambda r: r["ks_chi"])
        out.append(
            f"d = {d}: InfoNCE alone has norm CV {base['norm_cv']:.3f} and KS distance {base['ks_chi']:.3f} to "
            f"χ_d/√(2λ) (views; mean norm {base['mean_norm_over_predicted']:.2f}× the predicted) "
            f"— its norms are unconstrained (Prop. 3); the smallest KS distance, {best['ks_chi']:.3f} (mean norm "
            f"{best['mean_norm_over_predicted']:.2f}× predicted), is at β/β₀ = "
            f"{best['beta_multiple']:g} (norm CV {best['norm_cv']:.3f}, alignment {best['alignment']:.3f} vs "
            f"{base['alignment']:.3f} without the regulariser)."
        )
    out.append(
        "Norm CVs here are on augmented views, whose per-sample scaling jitter alone adds ≈ 0.10 in quadrature; a "
        "linear encoder maps s·x to s·Wx, so it cannot remove that factor and ρ cannot be exactly N(0, (2λ)⁻¹I) "
        "here, whatever β — the regulariser can fix the scale (mean norm → predicted) but not that spread. "
        "χ_d has CV ≈ 1/√(2d) (0.125 at d = 32, 0.0625 at d = 128), so a CV near that value and a small KS distance "
        "together indicate the isotropic Gaussian of Cor. 2; an effective rank below d means the covariance is not "
        "isotropic, which the χ_d law needs. The entropy term is a plug-in Gaussian estimate, which cannot see "
        "non-Gaussian shape, only covariance."
    )
    return "\n\n".join(out)


def figures(rows, extras, folder):
    import matplotlib.pyplot as plt
    from scipy import stats

    norms = (extras or {}).get("norms", {})
    if not norms:
        return
    ds = sorted({d for d, _ in norms})
    cs = sorted({c for _, c in norms})
    fig, axes = plt.subplots(len(ds), len(cs), figsize=(3.2 * len(cs), 2.8 * len(ds)), squeeze=False)
    for i, d in enumerate(ds):
        for j, c in enumerate(cs):
            ax = axes[i, j]
            r = norms[(d, c)] * math.sqrt(2 * LAM)
            ax.hist(r, bins=60, density=True, color="C0", alpha=0.7)
            lo, hi = stats.chi(d).ppf([0.0005, 0.9995])
            x = np.linspace(min(lo, r.min()), max(hi, r.max()), 300)
            ax.plot(x, stats.chi(d).pdf(x), color="C3", lw=1.2, label="χ_d (Cor. 2)")
            title = "InfoNCE alone" if c == 0 else f"β = {c:g} β₀"
            ax.set_title(f"d = {d}: {title}", fontsize=9)
            if i == len(ds) - 1:
                ax.set_xlabel("√(2λ) ‖z‖")
    axes[0, 0].legend(fontsize=7)
    fig.suptitle(
        "Norms of augmented test views vs the χ_d law of Corollary 2 (new evidence, not in the paper)", fontsize=10
    )
    fig.tight_layout()
    fig.savefig(folder / "regularizer_norms.png", dpi=110)
    plt.close(fig)

    fig, ax = plt.subplots(1, 2, figsize=(9, 3.4))
    for d in ds:
        g = sorted((r for r in rows if r["d"] == d), key=lambda r: r["beta_multiple"])
        x = [max(r["beta_multiple"], 1e-2) for r in g]
        ax[0].plot(x, [r["ks_chi"] for r in g], "o-", label=f"d = {d}")
        ax[1].plot(x, [r["cv"] for r in g], "o-", label=f"d = {d}")
        ax[1].axhline(1 / math.sqrt(2 * d), ls=":", lw=1, color="0.5")
    for a in ax:
        a.set_xscale("log")
        a.set_xlabel("β / β₀ (0 plotted at 0.01)")
    ax[0].set(ylabel="KS distance to χ_d/√(2λ)", title="norms of augmented test views")
    ax[1].set(ylabel="CV (dotted: χ_d's ≈ 1/√(2d))", title="CV of the test data (not augmented)")
    ax[0].legend(fontsize=8)
    fig.suptitle("End of training (seed 0), unnormalised embeddings", fontsize=9)
    fig.tight_layout()
    fig.savefig(folder / "regularizer_ks.png", dpi=110)
    plt.close(fig)
