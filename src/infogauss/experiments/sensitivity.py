"""Where does InfoNCE induce Gaussian coordinates? Two-factor sweeps of the synthetic setup, as ΔAD heat maps.

Each *factor pair* varies two settings of one synthetic source around the paper's defaults (paper §4.1), trains
every cell over several seeds with InfoNCE (Eq. 2) and measures the untrained (epoch 0) and trained encoder on the
held-out data. Heat maps show ΔAD = AD(trained) − AD(untrained) per cell, annotated "before → after"; rows give the
verdict of :func:`infogauss.verdict.induction_verdict` (paper rule and calibrated; no control here — the controls are
in ``reproduce induction``).

Factor pairs (x × y):

- ``binary_k``: Binary, mean active entries k ∈ {1, 2, 5, 10, 50} × sparsity law (Bernoulli / fixed k);
- ``gmm_separation``: GMM, component spread mean_std / std ∈ {0.05, 0.2, 1, 5} × encoder (linear / MLP) — the
  paper's GMM scales are unknown, this is which of them give "Gaussian after training";
- ``laplace_dim``: Laplace, input dimension ∈ {4, 16, 64, 1024} × encoder (a random linear map of few inputs is
  *not* already Gaussian, so small inputs are where a linear encoder could show induction — or cannot);
- ``laplace_A_tau``: Laplace with 16-d inputs, augmentation strength A ∈ {0.2, 0.6, 0.9} × temperature τ ∈ {0.1, 0.2};
- ``laplace_batch``: Laplace with 16-d inputs, batch size N ∈ {32, 128, 512} × encoder.

The MLP is ``D -> 512 -> ReLU -> 256``. All runs of a scale are trained together (:func:`infogauss.sweep.run_sweep`).
"""

from __future__ import annotations

import numpy as np

from infogauss.experiments.common import Context
from infogauss.experiments.induction import INIT_OFFSET, change_columns, seeds_of, summary_row
from infogauss.experiments.tables import Column, Table

TITLE = "Sensitivity: ΔAD of InfoNCE training over two-factor grids of the synthetic sources (heat maps)"

PAIRS = {
    "binary_k": (("k", [1, 2, 5, 10, 50]), ("law", ["bernoulli", "fixed"])),
    "gmm_separation": (("mean_std", [0.05, 0.2, 1.0, 5.0]), ("encoder", ["linear", "mlp"])),
    "laplace_dim": (("dim", [4, 16, 64, 1024]), ("encoder", ["linear", "mlp"])),
    "laplace_A_tau": (("A", [0.2, 0.6, 0.9]), ("temperature", [0.1, 0.2])),
    "laplace_batch": (("batch_size", [32, 128, 512]), ("encoder", ["linear", "mlp"])),
}
_SMALL_PAIRS = {
    "binary_k": (("k", [1, 10]), ("law", ["bernoulli", "fixed"])),
    "gmm_separation": (("mean_std", [0.2, 5.0]), ("encoder", ["linear", "mlp"])),
    "laplace_dim": (("dim", [4, 64]), ("encoder", ["linear", "mlp"])),
    "laplace_A_tau": (("A", [0.2, 0.9]), ("temperature", [0.1, 0.2])),
    "laplace_batch": (("batch_size", [16, 32]), ("encoder", ["linear", "mlp"])),
}
SCALES = {
    "smoke": {
        "about": "seconds: 128-d inputs (Laplace pairs: 16-d), 256 / 256 items, d = 8, MLP hidden 16, 2 values per "
        "factor, 1 epoch, 3 seeds (tests only)",
        "pairs": _SMALL_PAIRS,
        "sizes": {"dim": 128, "n_train": 256, "n_test": 256},
        "small_dim": 16,
        "d": 8,
        "hidden": 16,
        "batch_size": {"binary": 32, "gmm": 32, "laplace": 32},
        "epochs": 1,
        "seeds": 3,
    },
    "cpu": {
        "about": "2k training items (paper 10k / 20k) and 2k test items (paper 5k), 1024-d inputs unless the factor "
        "says, d = 64 (paper 256; MLP D -> 512 -> ReLU -> 64), N = 256 (Binary, GMM) / 128 (Laplace) unless the "
        "factor says, 10 epochs (paper 100 / 150), i.e. 1/50 (Binary, GMM) to 1/150 (Laplace) of the paper's "
        "gradient steps; 3 seeds",
        "pairs": PAIRS,
        "sizes": {"n_train": 2000, "n_test": 2000},
        "small_dim": 16,
        "d": 64,
        "hidden": 512,
        "batch_size": {"binary": 256, "gmm": 256, "laplace": 128},
        "epochs": 10,
        "seeds": 3,
    },
    "paper": {
        "about": "the paper's sizes and epochs (10k training items and 100 epochs for Binary / GMM, 20k and 150 for "
        "Laplace; 5k test items), d = 256, 3 seeds",
        "pairs": PAIRS,
        "sizes": {"n_test": 5000},
        "small_dim": 16,
        "d": 256,
        "hidden": 512,
        "batch_size": {"binary": 256, "gmm": 256, "laplace": 128},
        "epochs": {"binary": 100, "gmm": 100, "laplace": 150},
        "seeds": 3,
    },
}


def cell(pair: str, xv, yv, s: dict, seed: int):
    """The :class:`~infogauss.sweep.RunSpec` of one cell of factor pair ``pair`` for ``seed``."""
    from infogauss.experiments.unknowns import binary_params
    from infogauss.sweep import RunSpec

    source = pair.split("_")[0]
    sizes = dict(s["sizes"])
    epochs = s["epochs"][source] if isinstance(s["epochs"], dict) else s["epochs"]
    kw = dict(source=source, seed=seed, d=s["d"], hidden=s["hidden"], batch_size=s["batch_size"][source],
              epochs=epochs, name=f"{pair}:{xv},{yv}", init_offset=INIT_OFFSET)  # fmt: skip
    (xk, _), (yk, _) = s["pairs"][pair]
    if pair == "binary_k":
        kw["source_params"] = binary_params(sizes, yv, int(xv))
        return RunSpec(**kw)
    params = dict(sizes)
    if source == "laplace" and pair != "laplace_dim":
        params["dim"] = s["small_dim"]
    for key, v in ((xk, xv), (yk, yv)):
        if key in ("encoder", "temperature", "batch_size"):
            kw[key] = v
        else:
            params[key] = v
    kw["source_params"] = params
    return RunSpec(**kw)


def run_seed(ctx: Context):
    from infogauss.sweep import run_sweep

    s = ctx.settings
    cells = [(pair, xv, yv) for pair, ((_, xs), (_, ys)) in s["pairs"].items() for xv in xs for yv in ys]
    specs = [cell(p, xv, yv, s, seed) for p, xv, yv in cells for seed in seeds_of(ctx)]
    results = run_sweep(specs, progress=ctx.progress)
    rows = []
    for p, xv, yv in cells:
        res = [r for r in results if r.spec.name == f"{p}:{xv},{yv}"]
        (xk, _), (yk, _) = s["pairs"][p]
        rows.append(summary_row(f"{p}:{xk}={xv},{yk}={yv}", res, None, pair=p, x=xv, y=yv, x_name=xk, y_name=yk))
    return rows, {}


def tables(rows):
    out = []
    for pair in dict.fromkeys(r["pair"] for r in rows):
        sel = [r for r in rows if r["pair"] == pair]
        cols = [Column("x", sel[0]["x_name"], "text"), Column("y", sel[0]["y_name"], "text"), *change_columns()[1:]]
        out.append(Table(f"{pair} (mean ± std over seeds)", cols, sel))
    return out


def notes(rows, rows_per_seed, settings):
    out = []
    for pair in dict.fromkeys(r["pair"] for r in rows):
        sel = [r for r in rows if r["pair"] == pair]
        induced = [f"{r['x_name']}={r['x']}, {r['y_name']}={r['y']}" for r in sel if r["induction_paper"] == "induced"]
        gauss_after = sum(bool(r["paper_verdict"]) for r in sel)
        gauss_before = sum(r["before_paper_verdict_seeds"] * 2 > r["n_seeds"] for r in sel)
        out.append(
            f"**{pair}**: {gauss_before}/{len(sel)} cells Gaussian before training, {gauss_after}/{len(sel)} after "
            f"(paper rule); induced (paper rule) in: {', '.join(induced) or 'no cell'}; ΔAD from "
            f"{min(r['delta_ad_mean'] for r in sel):+.3g} to {max(r['delta_ad_mean'] for r in sel):+.3g}."
        )
    return "\n\n".join(out)


def figures(rows, extras, folder):
    import matplotlib.pyplot as plt
    from matplotlib.colors import TwoSlopeNorm

    for pair in dict.fromkeys(r["pair"] for r in rows):
        sel = [r for r in rows if r["pair"] == pair]
        xs, ys = list(dict.fromkeys(r["x"] for r in sel)), list(dict.fromkeys(r["y"] for r in sel))
        grid = np.full((len(ys), len(xs)), np.nan)
        fig, ax = plt.subplots(figsize=(1.6 * len(xs) + 2, 1.1 * len(ys) + 1.6))
        for r in sel:
            grid[ys.index(r["y"]), xs.index(r["x"])] = r["delta_ad_mean"]
        lim = float(np.nanmax(np.abs(grid))) or 1.0
        im = ax.imshow(grid, cmap="RdBu_r", norm=TwoSlopeNorm(0.0, -lim, lim), aspect="auto")
        for r in sel:
            i, j = ys.index(r["y"]), xs.index(r["x"])
            mark = "*" if r["induction_paper"] == "induced" else ""
            color = "white" if abs(grid[i, j]) > 0.6 * lim else "black"
            ax.text(j, i, f"{r['before_ad_mean']:.3g}→{r['after_ad_mean']:.3g}{mark}", ha="center", va="center",
                    fontsize=7, color=color)  # fmt: skip
        ax.set_xticks(range(len(xs)), [str(x) for x in xs])
        ax.set_yticks(range(len(ys)), [str(y) for y in ys])
        ax.set(xlabel=sel[0]["x_name"], ylabel=sel[0]["y_name"],
               title=f"{pair}: ΔAD (trained − untrained); cells: AD before→after, * induced")  # fmt: skip
        ax.title.set_fontsize(8)
        fig.colorbar(im, ax=ax, label="ΔAD (blue: toward Gaussian)")
        fig.tight_layout()
        fig.savefig(folder / f"heatmap_{pair}.png", dpi=120)
        plt.close(fig)
