r"""Fig. 11: the encoder as a push-forward — Laplace input log-likelihood vs Gaussian embedding log-likelihood.

For A ∈ {0.2, 0.5, 0.8} a linear encoder is trained with InfoNCE on the Laplace source (paper §4.1 (a)). Then, on
clean test items :math:`x_0` (no augmentation):

- input log-likelihood: :math:`\log p(x_0) = -\sum_k (|x_{0,k}| + \log 2)` under the source's Laplace(0, 1)^1024
  (``LaplaceSource.log_prob``);
- embedding log-likelihood: a Gaussian :math:`\mathcal N(\hat\mu, \hat\Sigma)` with **full** maximum-likelihood
  covariance (no shrinkage; :class:`infogauss.gaussian.GaussianModel`) is fitted to the embeddings of the clean
  *training* items and evaluated on the embeddings of the test items (the paper does not say how its Gaussian was
  fitted — full vs isotropic covariance is UNKNOWN; we document full, and also record an isotropic fit);
- Pearson (and Spearman) correlation between the two over the test items.

The paper prints Pearson = 0.87, 0.86, 0.87 for the three A (pairing with A uncertain).
"""

from __future__ import annotations

import math

import numpy as np

from infogauss.experiments import paper
from infogauss.experiments.common import SMOKE_SOURCE, Context, embed, result_row, train, train_config
from infogauss.experiments.drawing import save, subplots
from infogauss.experiments.tables import REPORT_COLUMNS, Column, Table

TITLE = "Fig. 11: input (Laplace) log-likelihood vs Gaussian log-likelihood of the embeddings"

SCALES = {
    "smoke": {
        "about": "seconds: 32-d inputs, 256 training / 128 test items, d = 4, 1 epoch, A in {0.2, 0.8} (tests)",
        "A": [0.2, 0.8],
        "train": {"d": 4, "batch_size": 16, "epochs": 1, "eval_every": 1},
        "source_params": SMOKE_SOURCE,
    },
    "cpu": {
        "about": "5k training items (paper 20k) and 10 epochs (paper 150); d = 256, N = 128 (the paper does not "
        "say which d and N Fig. 11 uses); 5k test items, the engine's augmented-view monitors on 1k of them",
        "A": [0.2, 0.5, 0.8],
        "train": {"d": 256, "batch_size": 128, "epochs": 10, "eval_every": 10, "eval_samples": 1000},
        "source_params": {"n_train": 5000},
    },
    "paper": {
        "about": "the paper's Laplace settings (20k/5k items, jitter, tau = 0.1, Adam 1e-3, 150 epochs); d = 256, "
        "N = 128 assumed (not stated for Fig. 11)",
        "A": [0.2, 0.5, 0.8],
        "train": {"d": 256, "batch_size": 128, "epochs": 150, "eval_every": 150},
        "source_params": {},
    },
}


def loglik_correlation(model, source) -> dict:
    """Fit the Gaussian on train embeddings, score test embeddings; correlations with the input log-likelihood."""
    from scipy import stats

    from infogauss.gaussian import GaussianModel

    z_train = embed(model, source.train)
    z_test = embed(model, source.test)
    ll_x = source.log_prob(source.test).double().cpu().numpy()
    full = GaussianModel.fit(z_train).log_likelihood(z_test)
    mu, var = z_train.mean(axis=0), z_train.var(axis=0).mean()  # isotropic: sigma^2 I with the mean variance
    iso = -0.5 * (((z_test - mu) ** 2).sum(axis=1) / var + z_test.shape[1] * np.log(2 * np.pi * var))
    return {
        "pearson": float(stats.pearsonr(ll_x, full).statistic),
        "spearman": float(stats.spearmanr(ll_x, full).statistic),
        "pearson_isotropic": float(stats.pearsonr(ll_x, iso).statistic),
        "_scatter": (ll_x, full),
        "_z_test": z_test,
    }


def predicted_pearson(d: int, dim: int) -> float:
    r"""Pearson correlation of log p(x) and the fitted Gaussian log-likelihood for a generic linear encoder.

    (derivation, added here) With a full-covariance fit, the embedding log-likelihood is
    :math:`-\tfrac14 x^\top P x` + const, :math:`P` the projection onto the encoder's d-dim row space, and
    :math:`\log p(x) = -\sum_k |x_k|` + const. For i.i.d. Laplace(0,1) coordinates (Var |x| = 1, Cov(|x|, x²) = 4,
    Var x² = 20) and a generic subspace (:math:`P_{kk} \approx d/D`, :math:`\operatorname{tr}P^2 = d`):
    :math:`\mathrm{corr} = 4d / \sqrt{D\,(20d^2/D + 8(d - d^2/D))} = 4d/\sqrt{12d^2 + 8dD}`, independent of A.
    """
    return 4.0 * d / math.sqrt(12.0 * d * d + 8.0 * d * dim)


def run_seed(ctx: Context):
    s = ctx.settings
    rows, scatter = [], {}
    for A in s["A"]:
        cfg = train_config(ctx, "laplace", source_params={**s["source_params"], "A": A}, **s["train"])
        run = train(ctx, cfg)
        res = loglik_correlation(run.model, run.source)
        scatter[A] = res.pop("_scatter")
        z = res.pop("_z_test")
        row = result_row(run.final, z, f"laplace_A{A:g}", A=A, batch_size=cfg.batch_size, epochs=cfg.epochs)
        row.update(res)
        row["pearson_predicted"] = predicted_pearson(cfg.d, run.source.dim)
        row["paper_row"] = f"A{A:g}"
        rows.append(row)
    return rows, {"scatter": scatter}


def tables(rows):
    ref = {f"A{a:g}": {"pearson": p} for a, p in paper.FIG11_PEARSON.items()}
    cols = [
        Column("A", "A"),
        Column("d", "d", "int"),
        Column("pearson", "Pearson (full cov.)"),
        Column("pearson_predicted", "predicted"),
        Column("spearman", "Spearman (full cov.)"),
        Column("pearson_isotropic", "Pearson (isotropic)"),
        *REPORT_COLUMNS,
    ]
    return [
        Table(
            "Correlation of log p(x) (Laplace) with log N(f(x); μ̂, Σ̂) over clean test items",
            cols,
            rows,
            ref,
            caption=f"Paper values from {paper.SOURCE_FIG11}. Gaussian fitted on the training items' embeddings.",
        )
    ]


def notes(rows, rows_per_seed, settings):
    d = rows[0]["d"] if rows else 256
    dim = 1024
    need = next((k for k in range(2, dim + 1) if predicted_pearson(k, dim) >= 0.865), dim)
    return (
        "(derivation) For a linear encoder z = Wx + b the fitted Gaussian's log-likelihood is, up to constants, "
        "−½ (x − x̄)ᵀ Wᵀ Σ̂⁻¹ W (x − x̄) = −¼ xᵀP x with P the projection onto W's row space (Cov x = 2I for "
        "Laplace(0,1)), while log p(x) = −Σ|x_k| − const. Both measure the size of x; for a generic d-dimensional row "
        "space the correlation is 4d/√(12d² + 8dD) with D the input dimension (column 'predicted'; "
        f"{predicted_pearson(d, dim):.3f} at d = {d}, D = {dim}), whatever A is. The "
        f"paper's 0.86–0.87 would need d ≳ {need} of D = {dim} under this formula; the paper does not say which d "
        "Fig. 11 uses.\n\n"
        "The A-to-value pairing of the paper's three numbers is uncertain (docs/paper-protocol.md §4.4.3)."
    )


def figures(rows, extras, folder):
    scatter = (extras or {}).get("scatter", {})
    if not scatter:
        return
    by_a = {r["A"]: r for r in rows}
    fig, axes = subplots(1, len(scatter), figsize=(4 * len(scatter), 3.6), squeeze=False)
    for ax, (A, (lx, lz)) in zip(axes[0], scatter.items(), strict=True):
        ax.scatter(lx, lz, s=3, alpha=0.4)
        ax.set(xlabel="log p(x₀), Laplace(0,1) input", ylabel="log N(f(x₀); μ̂, Σ̂), full covariance")
        ax.set_title(f"A = {A:g}: Pearson = {by_a[A]['pearson']:.2f}", fontsize=10)
    fig.suptitle("Clean test items (no augmentation); Gaussian fitted on the training items' embeddings, end of "
                 "training (seed 0)", fontsize=9)  # fmt: skip
    save(fig, folder, "fig11_loglik.png")
