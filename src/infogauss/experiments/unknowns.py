"""Infer the Binary source's unknowns from the paper's *untrained* state (Table 1, Binary E0), then train from there.

The paper reports the Binary embedding before training (E0: CV 0.36, AD avg 1.64, 30% AD pass, DP avg p 0.02, 15% DP
pass) but not the sparsity law, the number of active entries, the encoder's bias or its initialisation
(docs/paper-protocol.md
§4.1 (c), §6.3). The untrained state depends only on those, so it constrains them: this experiment measures the
untrained encoder (epoch 0, no training) at every point of the grid

    sparsity law (bernoulli / fixed k / per-item random)  ×  mean active entries k  ×  bias (on / off)  ×  init
    (PyTorch default U(±1/√D) / normal N(0, 1/D))  ×  number of test items n the tests see

(n matters because the paper does not state it and a non-Gaussian coordinate's A² grows with n, see
:mod:`infogauss.experiments.sample_size`; CV and the pass rates of a Gaussian do not depend on it)

ranks the points by their distance to the paper's E0 (:func:`e0_distance`; fitted to E0 **only**, never to E50 or
E100), and then trains the best match with InfoNCE and with the VICReg control over several seeds and reports what
training does (the verdicts of :func:`infogauss.verdict.induction_verdict`). The GMM's unknown scales are the
``gmm_separation`` factor of ``reproduce sensitivity``.
"""

from __future__ import annotations

import math

from infogauss.experiments.common import Context
from infogauss.experiments.induction import INIT_OFFSET, change_columns, seeds_of, summary_row
from infogauss.experiments.tables import Column, Table

TITLE = "Unknowns of the Binary source inferred from the paper's untrained state (E0), then trained"

#: The paper's Binary E0 (Table 1): the only numbers the search is fitted to.
E0 = {"cv": 0.36, "ad_mean": 1.64, "ad_pass_fraction": 0.30, "dp_mean_p": 0.02, "dp_pass_fraction": 0.15}
LAWS = ("bernoulli", "fixed", "random")
INITS = ("default", "normal")

SCALES = {
    "smoke": {
        "about": "seconds: 128-d inputs, 256 / 256 items, d = 8; k in {1, 5}; trained 2 epochs, 3 seeds (tests only)",
        "source_params": {"dim": 128, "n_train": 256, "n_test": 256},
        "k": [1, 5],
        "n_test": [256, 64],
        "d": 8,
        "batch_size": 32,
        "epochs": 2,
        "mid": 1,
        "seeds": 3,
    },
    "cpu": {
        "about": "the paper's sizes for the search (1024-d, d = 256, N = 256); search grid 3 laws × k in {1, 2, 3, "
        "5, 10, 20, 51} × bias × 2 inits × test items n in {5000, 1000, 300} at epoch 0 (seed 0); the best match "
        "trained on 5k items (paper 10k) for 10 epochs (paper 100; also measured at 5), 3 seeds, tested on its n",
        "source_params": {"n_train": 5000},
        "k": [1, 2, 3, 5, 10, 20, 51],
        "n_test": [5000, 1000, 300],
        "d": 256,
        "batch_size": 256,
        "epochs": 10,
        "mid": 5,
        "seeds": 3,
    },
    "paper": {
        "about": "as cpu, the best match trained for the paper's 100 epochs (also measured at 50), 3 seeds",
        "source_params": {},
        "k": [1, 2, 3, 5, 10, 20, 51],
        "n_test": [5000, 1000, 300],
        "d": 256,
        "batch_size": 256,
        "epochs": 100,
        "mid": 50,
        "seeds": 3,
    },
}


def e0_distance(m: dict) -> float:
    """Distance of an untrained state ``m`` to the paper's E0 (smaller is closer; 0 = identical):

    ``|ln(CV/0.36)| + |ln(AD/1.64)| + |AD pass − 0.30| + |DP pass − 0.15| + |ln((DP p + 0.01)/0.03)|``

    (log ratios for the scale-like numbers, differences for fractions; 0.01 keeps tiny p-values finite).
    """
    out = abs(math.log(m["cv"] / E0["cv"])) + abs(math.log(m["ad_mean"] / E0["ad_mean"]))
    out += abs(m["ad_pass_fraction"] - E0["ad_pass_fraction"]) + abs(m["dp_pass_fraction"] - E0["dp_pass_fraction"])
    return out + abs(math.log((m["dp_mean_p"] + 0.01) / (E0["dp_mean_p"] + 0.01)))


def binary_params(base: dict, law: str, k: int, n_test: int | None = None) -> dict:
    """Source parameters for mean ``k`` active entries under ``law`` (and ``n_test`` test items, if given)."""
    dim = int(base.get("dim", 1024))
    params = {**base, "law": law, "sparsity": min(k / dim, 0.5), **({} if n_test is None else {"n_test": n_test})}
    if law == "fixed":
        params["active"] = k
    return params


def run_seed(ctx: Context):
    from infogauss.sweep import RunSpec, run_sweep

    s = ctx.settings
    common = dict(source="binary", d=s["d"], batch_size=s["batch_size"], init_offset=INIT_OFFSET)
    grid = [(law, k, bias, init, n) for law in LAWS for k in s["k"] for bias in (True, False) for init in INITS
            for n in s["n_test"]]  # fmt: skip
    specs = [RunSpec(source_params=binary_params(s["source_params"], law, k, n), bias=bias, init=init, epochs=0,
                     seed=100 * ctx.seed, name=f"{law}_k{k}_{'bias' if bias else 'nobias'}_{init}_n{n}", **common)
             for law, k, bias, init, n in grid]  # fmt: skip
    search = run_sweep(specs, progress=ctx.progress)
    rows = []
    for (law, k, bias, init, n), res in zip(grid, search, strict=True):
        m = res.before
        rows.append({"name": res.spec.name, "kind": "search", "law": law, "k": k, "bias": bias, "init": init,
                     "n_test": n, **{key: m[key] for key in (*E0, "paper_verdict", "calibrated_verdict")},
                     "e0_distance": e0_distance(m)})  # fmt: skip
    rows.sort(key=lambda r: r["e0_distance"])
    best = rows[0]
    trained = []
    for method in ("infonce", "vicreg"):
        for seed in seeds_of(ctx):
            trained.append(RunSpec(source_params=binary_params(s["source_params"], best["law"], best["k"],
                                                               best["n_test"]),
                                   bias=best["bias"], init=best["init"], epochs=s["epochs"], measure_at=(s["mid"],),
                                   seed=seed, objective=method, name=f"best_{method}", **common))  # fmt: skip
    res = run_sweep(trained, progress=ctx.progress)
    inf, vic = [r for r in res if r.spec.objective == "infonce"], [r for r in res if r.spec.objective == "vicreg"]
    fields = {"kind": "trained", **{key: best[key] for key in ("law", "k", "bias", "init", "n_test")}}
    rows.append(summary_row("best_match_infonce", inf, [r.after["ad_mean"] for r in vic], method="infonce", **fields))
    rows.append(summary_row("best_match_vicreg", vic, None, method="vicreg", **fields))
    return rows, {}


def tables(rows):
    search = [r for r in rows if r.get("kind") == "search"]
    trained = [r for r in rows if r.get("kind") == "trained"]
    paper_row = {"e0": {**E0, "paper_verdict": False}}
    cols = [Column("law", "law", "text"), Column("k", "mean active k", "int"), Column("bias", "bias", "bool"),
            Column("init", "init", "text"), Column("n_test", "test n", "int"), Column("cv", "CV"),
            Column("ad_mean", "AD avg"),
            Column("ad_pass_fraction", "AD pass", "frac"), Column("dp_mean_p", "DP avg p", "p"),
            Column("dp_pass_fraction", "DP pass", "frac"), Column("e0_distance", "distance to E0")]  # fmt: skip
    top = [{**r, "paper_row": "e0"} for r in search[:10]]
    out = [
        Table("Search at epoch 0: the 10 closest untrained states (cells: ours / paper E0)", cols, top, paper_row,
              caption="Fitted to the paper's E0 only (CV 0.36, AD 1.64, 30% / 15% pass, DP p 0.02). Distance: "
              "infogauss.experiments.unknowns.e0_distance."),
        Table("The whole search grid (epoch 0)", cols, search),
    ]  # fmt: skip
    if trained:
        mid = [Column("mid_epoch", "mid epoch", "int"), Column("mid_ad_mean", "AD at mid"),
               Column("mid_cv", "CV at mid")]  # fmt: skip
        out.insert(1, Table("Training from the best match (mean ± std over seeds)", change_columns() + mid, trained))
    return out


def notes(rows, rows_per_seed, settings):
    search = [r for r in rows if r.get("kind") == "search"]
    inf = next((r for r in rows if r["name"] == "best_match_infonce"), None)
    if not search:
        return ""
    b = search[0]
    out = [
        f"Best match to E0: law {b['law']}, mean {b['k']} active entries, bias {'on' if b['bias'] else 'off'}, init "
        f"{b['init']}, tested on n = {b['n_test']} items: CV {b['cv']:.3f} (paper 0.36), AD avg "
        f"{b['ad_mean']:.3g} (1.64), AD pass "
        f"{100 * b['ad_pass_fraction']:.0f}% (30%), DP pass {100 * b['dp_pass_fraction']:.0f}% (15%); distance "
        f"{b['e0_distance']:.2f}. Next: " + "; ".join(f"{r['name']} ({r['e0_distance']:.2f})" for r in search[1:4]),
    ]
    if inf is not None:
        out.append(
            f"Trained from it ({inf['epochs']} epochs, {inf['n_seeds']} seeds): AD {inf['before_ad_mean']:.3g} → "
            f"{inf['after_ad_mean']:.3g}, CV {inf['before_cv']:.3f} → {inf['after_cv']:.3f}; VICReg control ΔAD "
            f"{inf.get('control_delta_ad_mean', float('nan')):+.3g}. Verdict (paper rule): "
            f"{inf['induction_paper_text']}; (calibrated): {inf['induction_calibrated_text']}."
        )
    out.append("Only the untrained state was fitted; E50/E100 were never used to choose anything.")
    return "\n\n".join(out)


def figures(rows, extras, folder):
    import matplotlib.pyplot as plt

    search = [r for r in rows if r.get("kind") == "search"]
    if not search:
        return
    search_n = max(r["n_test"] for r in search)  # the curves are drawn at the largest test set searched
    fig, axes = plt.subplots(1, 2, figsize=(10, 3.6))
    for ax, key, target in ((axes[0], "cv", E0["cv"]), (axes[1], "ad_mean", E0["ad_mean"])):
        for j, law in enumerate(LAWS):
            for bias, mk in ((True, "o"), (False, "x")):
                sel = sorted((r for r in search if r["law"] == law and r["bias"] == bias and r["init"] == "default"
                              and r.get("n_test") == search_n), key=lambda r: r["k"])  # fmt: skip
                if sel:
                    ax.plot([r["k"] for r in sel], [r[key] for r in sel], mk + "-", color=f"C{j}",
                            label=f"{law}, bias {'on' if bias else 'off'}")  # fmt: skip
        ax.axhline(target, color="k", ls="--", lw=1, label="paper E0")
        ax.set(xscale="log", yscale="log", xlabel="mean active entries k",
               title=f"untrained {key} (default init, n = {search_n})")  # fmt: skip
    axes[0].legend(fontsize=7)
    fig.tight_layout()
    fig.savefig(folder / "binary_e0_search.png", dpi=120)
    plt.close(fig)
