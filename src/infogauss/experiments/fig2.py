"""Figs. 2, 7, 8: cosine similarities of positive pairs (alignment) and negative pairs (uniformity) vs d and N.

Linear encoders trained with InfoNCE on the Laplace source (paper §4.1 (a)) on a grid of d and N; for each run the
cosine similarities of held-out positive pairs (two views of one test item) and negative pairs (views of different
items, the negatives InfoNCE sees) from :func:`infogauss.stats.cosine_summary`. Figures: violins vs d at the largest
N and vs N at the smallest d (Fig. 2 / project-page violin), and overlaid histograms per d across N (Fig. 7) and per
N across d (Fig. 8).

The paper's only readable numbers are from the project-page violin (positives ≈ 0.95–0.97 for every d; negatives
centred at 0 spreading ≈ ±0.6 at d = 32 to ≈ ±0.4 at d = 512). Prop. 1 makes positives ≈ 0.96 impossible at the
stated A = 0.6 (see the ``bound`` experiment and paper.md's consistency flag): we report what we measure.
"""

from __future__ import annotations

import numpy as np

from infogauss.experiments import paper
from infogauss.experiments.common import Context, data_embeddings, grid_runs, laplace_grid, result_row, test_views
from infogauss.experiments.tables import REPORT_COLUMNS, Column, Table

TITLE = "Figs. 2, 7, 8: positive / negative cosine similarities vs d and N — Laplace, linear encoder"

SAMPLE = 4000  # cosine values kept per run and kind for the plots
SCALES = {
    "smoke": {
        "about": "seconds: 32-d inputs, 256 training / 128 test items, d in {4, 8}, N = 16, 1 epoch (tests)",
        "d": [4, 8],
        "N": [16],
        "train": {"epochs": 1, "eval_every": 1},
        "source_params": {"dim": 32, "n_train": 256, "n_test": 128},
    },
    "cpu": {
        "about": "a cross instead of the grid: d in {32, 64, 128, 256} at N = 128 and N in {8, 32, 128} at d = 32 "
        "(paper: every N in {8, ..., 128} for every d, d up to 512 on the project page); 2k training items (paper "
        "20k), 8 epochs (paper 150), 2k test items (paper 5k), engine monitors on 1k of them",
        "runs": [[32, 128], [64, 128], [128, 128], [256, 128], [32, 8], [32, 32]],
        "train": {"epochs": 8, "eval_every": 8, "eval_samples": 1000},
        "source_params": {"n_train": 2000, "n_test": 2000},
    },
    "paper": {
        "about": "the paper's Laplace settings (20k/5k items, A = 0.6 + jitter, tau = 0.1, Adam 1e-3, 150 epochs) "
        "on d in {32, 64, 128, 256, 512} × N in {8, 16, 32, 48, 64, 96, 128}",
        "d": [32, 64, 128, 256, 512],
        "N": [8, 16, 32, 48, 64, 96, 128],
        "train": {"epochs": 150, "eval_every": 150},
        "source_params": {},
    },
}


def run_seed(ctx: Context):
    from infogauss.stats import cosine_summary

    s = ctx.settings
    rows, samples = [], {}
    for d, n, run in laplace_grid(ctx, grid_runs(s), s):
        z1, z2 = test_views(run)
        cs = cosine_summary(z1, z2, quantiles=(0.005, 0.5, 0.995), max_pairs=SAMPLE, seed=ctx.seed)
        row = result_row(run.final, data_embeddings(run), f"d{d}_N{n}", batch_size=n, epochs=run.config.epochs)
        row.update(
            pos_cos_mean=cs.positive.mean,
            pos_cos_std=cs.positive.std,
            pos_cos_q005=cs.positive.quantiles[0.005],
            neg_cos_mean=cs.negative.mean,
            neg_cos_std=cs.negative.std,
            neg_cos_q005=cs.negative.quantiles[0.005],
            neg_cos_q995=cs.negative.quantiles[0.995],
            neg_cos_sqrt_d=cs.negative.std * np.sqrt(d),
        )
        rows.append(row)
        samples[(d, n)] = (cs.positive.sample, cs.negative.sample)
    return rows, {"samples": samples}


def tables(rows):
    cols = [
        Column("d", "d", "int"),
        Column("batch_size", "N", "int"),
        Column("pos_cos_mean", "pos. cos mean"),
        Column("pos_cos_std", "pos. cos std"),
        Column("neg_cos_mean", "neg. cos mean", "p"),
        Column("neg_cos_std", "neg. cos std"),
        Column("neg_cos_sqrt_d", "neg. std·√d"),
        Column("neg_cos_q995", "neg. 99.5%"),
        Column("cv", "CV"),
        Column("paper_verdict", "Gaussian?", "bool"),
    ]
    return [
        Table(
            "Alignment (positive pairs) and uniformity (negative pairs) on test views",
            cols,
            rows,
            caption="For the uniform law on S^(d-1) the negative cosine has mean 0 and std 1/√d, so neg. std·√d → 1 "
            "means uniform. Paper (project-page violin, read by eye): positives ≈ 0.95–0.97 at every d; negatives "
            "spread ≈ ±0.6 at d = 32, ≈ ±0.4 at d = 512.",
        ),
        Table(
            "Coordinate Gaussianity of the same runs (unnormalised embeddings of the test data)",
            [Column("d", "d", "int"), Column("batch_size", "N", "int"), *REPORT_COLUMNS],
            rows,
        ),  # fmt: skip
    ]


def notes(rows, rows_per_seed, settings):
    pos = [r["pos_cos_mean"] for r in rows]
    lo, hi = paper.FIG2_POSITIVE_COSINE
    out = [
        f"Positive-pair cosine (alignment) ranges {min(pos):.3f} – {max(pos):.3f} over the grid; the paper's violin "
        f"shows {lo}–{hi}. At A = 0.6 Prop. 1 caps alignment near η₂ ≈ 0.64 (Laplace base, see the `bound` "
        "experiment), so values near 0.96 are not reachable with the stated augmentation; ours are the measured ones.",
        "Uniformity: 'neg. std·√d' compares the spread of negative cosines with the uniform law on the sphere (1). "
        "The paper's claim is that uniformity improves with d and N, with little gain from N at very small d and "
        "little gain from d at very small N (Figs. 7–8).",
        f"Source of the paper's numbers: {paper.SOURCE_FIG2}.",
    ]
    return "\n\n".join(out)


def figures(rows, extras, folder):
    import matplotlib.pyplot as plt

    samples = (extras or {}).get("samples", {})
    if not samples:
        return
    ds = sorted({d for d, _ in samples})
    ns = sorted({n for _, n in samples})

    def violins(keys, labels, title, fname):
        fig, ax = plt.subplots(2, 1, figsize=(1.4 * len(keys) + 3, 6), sharex=True)
        pos = [samples[k][0] for k in keys]
        neg = [samples[k][1] for k in keys]
        ax[0].violinplot(neg, showmedians=True)
        ax[0].set(ylabel="cosine, negative pairs", title=title + " — uniformity (top), alignment (bottom)")
        ax[0].axhline(0, color="0.6", lw=0.8)
        ax[1].violinplot(pos, showmedians=True)
        ax[1].axhspan(*paper.FIG2_POSITIVE_COSINE, color="C1", alpha=0.2, label="paper violin ≈ 0.95–0.97")
        ax[1].set(ylabel="cosine, positive pairs")
        ax[1].set_xticks(range(1, len(keys) + 1), labels)
        ax[1].legend(fontsize=8, loc="lower right")
        fig.tight_layout()
        fig.savefig(folder / fname, dpi=120)
        plt.close(fig)

    at_n = [d for d in ds if (d, ns[-1]) in samples]
    at_d = [n for n in ns if (ds[0], n) in samples]
    violins([(d, ns[-1]) for d in at_n], [f"d={d}" for d in at_n], f"N = {ns[-1]}", "fig2_violins_vs_d.png")
    violins([(ds[0], n) for n in at_d], [f"N={n}" for n in at_d], f"d = {ds[0]}", "fig2_violins_vs_N.png")

    for outer, inner, name, label_o, label_i in ((ds, ns, "fig7_hist_vs_batch.png", "d", "N"),
                                                 (ns, ds, "fig8_hist_vs_dim.png", "N", "d")):  # fmt: skip
        fig, axes = plt.subplots(2, len(outer), figsize=(3.2 * len(outer), 5.5), squeeze=False)
        for j, o in enumerate(outer):
            for i in inner:
                key = (o, i) if label_o == "d" else (i, o)
                if key not in samples:
                    continue
                axes[0, j].hist(samples[key][1], bins=60, density=True, histtype="step", label=f"{label_i}={i}")
                axes[1, j].hist(samples[key][0], bins=60, density=True, histtype="step", label=f"{label_i}={i}")
            axes[0, j].set(title=f"{label_o} = {o}: negatives", xlabel="cosine")
            axes[1, j].set(title=f"{label_o} = {o}: positives", xlabel="cosine")
        axes[0, 0].legend(fontsize=7)
        fig.tight_layout()
        fig.savefig(folder / name, dpi=110)
        plt.close(fig)
