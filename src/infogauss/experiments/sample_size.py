r"""How the paper's Gaussianity rule depends on the number of test points n (Fig. 4's MLP while it trains).

The paper calls a representation Gaussian when the mean Anderson–Darling statistic over coordinates is below 0.752
(the 5% critical value) and the mean D'Agostino–Pearson p-value is above 0.05, but it does not say on how many test
points n the coordinates were tested (docs/paper-protocol.md §4.0). Under the null the mean :math:`A^2` is about
0.39 at every n. Under a fixed non-Gaussian law it grows with n: :math:`A^2 = n\,\omega^2 + O_p(1)`, where
:math:`\omega^2 = \int (F - \Phi)^2\,\psi\,d\Phi` is the Anderson–Darling distance of the coordinate's law from its
fitted normal (Anderson & Darling 1952, §4). So "AD avg < 0.752" is a statement about the departure **and** n,
and AD values measured at different n are not comparable.

This experiment trains the Fig. 4 MLP with the engine (preset ``cifar-mlp``, same settings as ``reproduce fig4``),
and at the chosen epochs embeds all test images (unnormalised outputs, clean images) and tests random subsets of n
of them (``repeats`` subsets without replacement per n; n = all: the whole set once). Beside it, the **Gaussian
reference**: independent N(0, 1) columns of the same width at the same n (what a perfect Gaussian gives). For each
epoch ``n_star`` is the n at which AD avg crosses 0.752 (log–log interpolation between grid points; "> N" if it stays
below on the grid, "< n" if it is above at the smallest n): below it the AD half of the paper's rule calls that
embedding Gaussian.

Nothing is fitted: the grid of n and the epochs were chosen before any run. ``n_star`` says which sample sizes
would let our embedding pass the paper's rule; it is not a claim about the n the paper used.

Scales: ``cpu`` — CIFAR-10, the paper's 100 epochs (~12 min on 2 idle cores), epochs 0, 10, 30, 100 analysed,
n from 50 to 10,000, 20 subsets per n; ``paper`` — the same (the analysis is cheap; train on a GPU with
``--device cuda``); ``smoke`` — seconds on generated images.
"""

from __future__ import annotations

import math
import re
from itertools import pairwise

import numpy as np

from infogauss.constants import AD_THRESHOLD, DP_ALPHA
from infogauss.experiments import paper
from infogauss.experiments.cifar_runs import SMOKE_TRAIN, join_notes, representations
from infogauss.experiments.common import Context, train_config
from infogauss.experiments.drawing import save, subplots
from infogauss.experiments.tables import Column, Table

TITLE = "The paper's AD rule against the number of test points n: Fig. 4's MLP while it trains"

DATA = "cifar10"
PRESET = "cifar-mlp"
N_GRID = [50, 100, 200, 500, 1000, 2000, 5000, 10000]
SCALES = {
    "smoke": {
        "about": "seconds: generated 32×32 images (tiny-cifar, not CIFAR-10), MLP 3072→32→16, 2 epochs, n in "
        "{16, 32, 64} (tests only)",
        "train": {**SMOKE_TRAIN, "width": 32, "d": 16, "head": None, "epochs": 2},
        "epochs_at": [0, 2],
        "n": [16, 32, 64],
        "repeats": 3,
    },
    "cpu": {
        "about": "CIFAR-10, the fig4 MLP (3072→512→128) for the paper's 100 epochs (full passes over the 50k "
        "training images); epochs 0, 10, 30, 100 analysed on subsets of the 10,000 clean test images, 20 per n",
        "train": {"epochs": 100},
        "epochs_at": [0, 10, 30, 100],
        "n": N_GRID,
        "repeats": 20,
    },
    "paper": {
        "about": "as cpu (the paper's 100 epochs; train on a GPU with --device cuda)",
        "train": {"epochs": 100},
        "epochs_at": [0, 10, 30, 100],
        "n": N_GRID,
        "repeats": 20,
    },
}


def by_sample_size(z: np.ndarray, ns, repeats: int, rng: np.random.Generator) -> dict[int, dict]:
    """The paper's coordinate tests on random subsets of ``n`` rows of ``z`` for every ``n`` in ``ns``.

    Returns ``{n: {"ad_mean", "ad_mean_sd", "ad_pass_fraction", "dp_mean_p", "dp_pass_fraction"}}``: AD avg (mean
    A² over columns), the fraction of columns with A² < 0.752 and with DP p > 0.05, each averaged over ``repeats``
    subsets drawn without replacement (``ad_mean_sd``: their standard deviation); ``n`` equal to the number of rows
    uses every row once. Sizes above the number of rows are skipped.
    """
    from infogauss.stats import normality_protocol

    out = {}
    for n in ns:
        if n > len(z):
            continue
        draws = 1 if n == len(z) else repeats
        stats = []
        for _ in range(draws):
            x = z if n == len(z) else z[rng.choice(len(z), n, replace=False)]
            ad, dp = normality_protocol(x, axis=0)
            a2, p = np.asarray(ad.statistic), np.asarray(dp.pvalue)
            stats.append((a2.mean(), (a2 < AD_THRESHOLD).mean(), p.mean(), (p > DP_ALPHA).mean()))
        s = np.array(stats)
        out[n] = {"ad_mean": s[:, 0].mean(), "ad_mean_sd": s[:, 0].std(ddof=1) if draws > 1 else 0.0,
                  "ad_pass_fraction": s[:, 1].mean(), "dp_mean_p": s[:, 2].mean(),
                  "dp_pass_fraction": s[:, 3].mean()}  # fmt: skip
    return out


def crossing(ns, ads, threshold: float = AD_THRESHOLD) -> tuple[str, float]:
    """Where AD avg (``ads`` at the increasing sizes ``ns``) crosses ``threshold``: ``("=", n)`` with n interpolated
    linearly in log n and log AD between the grid points around the first crossing; ``("<", ns[0])`` if it is above
    already at the smallest n; ``(">", ns[-1])`` if it stays below on the whole grid."""
    if ads[0] >= threshold:
        return "<", float(ns[0])
    for (n0, a0), (n1, a1) in pairwise(zip(ns, ads, strict=True)):
        if a0 < threshold <= a1:
            t = (math.log(threshold) - math.log(a0)) / (math.log(a1) - math.log(a0))
            return "=", math.exp(math.log(n0) + t * (math.log(n1) - math.log(n0)))
    return ">", float(ns[-1])


def curve_fields(curve: dict[int, dict]) -> dict:
    """``ad_n<N>`` / ``adsd_n<N>`` / ``adpass_n<N>`` / ``dppass_n<N>`` for every n of a :func:`by_sample_size` curve."""
    out = {}
    for n, c in curve.items():
        out[f"ad_n{n}"], out[f"adsd_n{n}"] = c["ad_mean"], c["ad_mean_sd"]
        out[f"adpass_n{n}"], out[f"dppass_n{n}"] = c["ad_pass_fraction"], c["dp_pass_fraction"]
    return out


def flat_row(name: str, curve: dict[int, dict], **fields) -> dict:
    """One table row: ``name``, ``fields`` and the :func:`curve_fields` of ``curve``."""
    return {"name": name, **fields, **curve_fields(curve)}


def with_crossing(rows) -> list[dict]:
    """The rows (averaged over seeds or not) with ``n_star`` (the n at which their mean AD avg reaches 0.752, see
    :func:`crossing`) and ``n_star_text`` ("≈ 830", "> 10000", "< 50")."""
    ns, out = sizes_of(rows), []
    for r in rows:
        how, n = crossing(ns, [r[f"ad_n{k}"] for k in ns])
        out.append({**r, "n_star": n if how == "=" else None, "n_star_text": f"{'≈' if how == '=' else how} {n:.0f}"})
    return out


def check_settings(s: dict) -> None:
    """InputError naming the setting unless repeats >= 1, every n >= 8 and every analysed epoch in [0, epochs]."""
    from infogauss.errors import InputError

    ns, at, epochs = list(s["n"]), list(s["epochs_at"]), int(s["train"]["epochs"])
    if int(s["repeats"]) < 1:
        raise InputError(f"repeats must be >= 1 (subsets per n), got {s['repeats']}")
    if not ns or min(ns) < 8:
        raise InputError(f"n must list test-set sizes >= 8 (the AD and DP tests need 8 points), got {ns}")
    if not at or min(at) < 0 or max(at) > epochs:
        raise InputError(f"epochs_at must list epochs in [0, train.epochs={epochs}], got {at}")


def run_seed(ctx: Context):
    from tqdm.auto import tqdm

    from infogauss.stats import norm_cv
    from infogauss.train.loop import build, check_divergence, train_epoch

    s = ctx.settings
    check_settings(s)
    cfg = train_config(ctx, PRESET, **{**s["train"], "eval_every": s["train"]["epochs"]})
    setup, state = build(cfg)
    test = setup.source.test_set
    rng = np.random.default_rng([ctx.seed, 7])
    at, rows = sorted(set(s["epochs_at"])), []
    bar = tqdm(total=cfg.epochs, desc=f"sample-size seed {ctx.seed}", unit="epoch", disable=not ctx.progress)
    for epoch in range(cfg.epochs + 1):
        if epoch in at:
            z = representations(state.model, test.x, test.normalize)["backbone"]
            curve = by_sample_size(z, s["n"], s["repeats"], rng)
            rows.append(flat_row(f"epoch_{epoch}", curve, epoch=epoch, d=z.shape[1], n_test=len(z),
                                 cv=float(norm_cv(z))))  # fmt: skip
            state.model.train()
        if epoch == cfg.epochs:
            break
        state.epoch_losses.append(train_epoch(setup, state))
        state.epoch += 1
        check_divergence(setup, state)
        bar.update(1)
    bar.close()
    gauss = rng.standard_normal((len(z), z.shape[1]))
    rows.append(flat_row("gaussian", by_sample_size(gauss, s["n"], s["repeats"], rng), epoch=None, d=z.shape[1],
                         n_test=len(z), cv=None))  # fmt: skip
    return rows, {}


def sizes_of(rows) -> list[int]:
    """The sizes n of the ``ad_n<N>`` fields of the first row (ascending)."""
    return sorted(int(m.group(1)) for k in (rows[0] if rows else {}) if (m := re.fullmatch(r"ad_n(\d+)", k)))


def tables(rows):
    ns, rows = sizes_of(rows), with_crossing(rows)
    label = [Column("cv", "CV")]
    shown = ", ".join(f"{v} at epoch {e}" for e, v in sorted(paper.FIG4_AD_MEAN.items()) if e in (10, 30, 100))
    ad = Table("AD avg (mean A² over coordinates) by number of test points n", [
        *label, *[Column(f"ad_n{n}", f"n = {n}") for n in ns], Column("n_star_text", "n at AD avg = 0.752", "text")],
        rows, caption=f"The poster's AD avg at an unknown n: {shown} ({paper.SOURCE_FIG4}). `gaussian`: "
        "independent N(0, 1) columns at the same n.")  # fmt: skip
    ad_pass = Table("Fraction of coordinates with A² < 0.752, by n", [
        *[Column(f"adpass_n{n}", f"n = {n}", "frac") for n in ns]], rows)  # fmt: skip
    dp_pass = Table("Fraction of coordinates with DP p > 0.05, by n", [
        *[Column(f"dppass_n{n}", f"n = {n}", "frac") for n in ns]], rows)  # fmt: skip
    return [ad, ad_pass, dp_pass]


def explain(rows) -> list[str]:
    """What the rows say: how AD avg grows with n, and below which n each epoch passes the paper's rule."""
    ns = sizes_of(rows)
    if not ns:
        return []
    lo, hi = ns[0], ns[-1]
    out = []
    for r in with_crossing(rows):
        if r["name"] == "gaussian":
            out.append(f"Gaussian reference: AD avg {r[f'ad_n{lo}']:.3g} at n = {lo}, {r[f'ad_n{hi}']:.3g} at "
                       f"n = {hi} (flat: the null's mean A² does not depend on n).")  # fmt: skip
            continue
        cross = {"≈": f"AD avg < 0.752 (the paper's AD rule) holds for n below ≈ {r['n_star_text'][2:]}",
                 ">": f"AD avg < 0.752 (the paper's AD rule) holds at every n ≤ {hi}",
                 "<": f"AD avg ≥ 0.752 already at n = {lo}"}[r["n_star_text"][0]]  # fmt: skip
        out.append(f"Epoch {r['epoch']:g}: AD avg {r[f'ad_n{lo}']:.3g} at n = {lo} → {r[f'ad_n{hi}']:.3g} at n = {hi} "
                   f"({r[f'ad_n{hi}'] / max(r[f'ad_n{lo}'], 1e-12):.3g}×); {cross}.")  # fmt: skip
    return out


def notes(rows, rows_per_seed, settings):
    return join_notes(explain(rows) + [
        "The paper does not state n. Its Fig. 4 AD values (0.81 at epoch 10, 0.57 at 100) and Table 1's pass rates "
        "can only be compared with ours at the same n; `n_star` is the sample size at which our embedding would "
        "meet the paper's threshold, not an estimate of the paper's n.",
        "Subsets are drawn without replacement from the test images; the n = all column is the whole test set, "
        "the value `reproduce fig4` reports."], settings)  # fmt: skip


def figures(rows, extras, folder):
    ns = sizes_of(rows)
    if not ns:
        return
    fig, (ax, bx) = subplots(1, 2, figsize=(10, 3.8))
    for r in rows:
        gauss = r["name"] == "gaussian"
        label = "Gaussian reference" if gauss else f"epoch {r['epoch']:g}"
        style = dict(color="k", ls="--") if gauss else dict(marker="o", ms=3)
        line = ax.plot(ns, [r[f"ad_n{n}"] for n in ns], label=label, **style)[0]
        bx.plot(ns, [r[f"adpass_n{n}"] for n in ns], label=label, **style)
        e = r.get("epoch")
        if not gauss and e in paper.FIG4_AD_MEAN:
            ax.axhline(paper.FIG4_AD_MEAN[e], color=line.get_color(), ls=":", lw=1,
                       label=f"poster, epoch {e:g}: {paper.FIG4_AD_MEAN[e]}")  # fmt: skip
    ax.axhline(AD_THRESHOLD, color="grey", lw=1, label=f"threshold {AD_THRESHOLD}")
    ax.set(xscale="log", yscale="log", xlabel="test points n", ylabel="AD avg (log)",
           title="AD avg grows with n unless Gaussian")  # fmt: skip
    bx.set(xscale="log", xlabel="test points n", ylabel="fraction of coordinates", ylim=(-0.02, 1.02),
           title="coordinates with A² < 0.752")  # fmt: skip
    ax.legend(fontsize=7)
    bx.legend(fontsize=7)
    save(fig, folder, "sample_size.png")
