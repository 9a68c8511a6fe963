r"""Text OOD: one Gaussian on all-MiniLM-L6-v2 features of CPython docstrings, against code lines and licence texts.

A real-text check of the Gaussian likelihood as an OOD score (paper §5: if sentence embeddings are close to
Gaussian, the fitted Gaussian is a density model), beside two baselines that assume no Gaussian, on texts that ship
with Python and Debian (nothing is downloaded):

- **in-distribution**: docstrings of the functions and classes of the CPython standard library (``ast`` over the
  ``.py`` files under ``sysconfig``'s ``stdlib`` path, ``site-packages`` excluded), whitespace collapsed,
  deduplicated, at least ``min_words`` words, shuffled with the seed; the first ``fit_n`` fit the scores, the
  next ``held_n`` (default: all the rest) are the held-out in-distribution texts. Class of a docstring (for the
  class-conditional baseline): its top-level stdlib package or module (``email``, ``asyncio``, ``os`` ...).
- **OOD** ``code``: lines of the same source files, stripped, at least ``min_chars`` characters, not comments,
  not part of a docstring or a multi-line string; ``licence``: paragraphs (at least ``min_words`` words) of the
  licence texts in ``licences`` (Debian's ``/usr/share/common-licenses``) and of the stdlib's own ``LICENSE.txt``.
  ``ood_n`` of each.

Features: the encoder's sentence embedding before its final ``Normalize`` (**raw**) and L2-normalised
(**normalised**), each scored afresh (:mod:`infogauss.ood`, higher = more OOD): Gaussian ``loglik``
(:math:`-\log p`), Gaussian ``typicality`` (:math:`|m^2 - d| / \sqrt{2d}`), ``class_mahalanobis`` (Lee et al.
2018, classes = stdlib packages) and ``knn_cosine`` (1-NN cosine distance; the same on both feature sets). AUROC
of each OOD set against the held-out docstrings. The smoke scale replaces the encoder by a hashed bag of words
(:func:`hashed_bow`) on five packages: seconds, no model, numbers that mean nothing about MiniLM.
"""

from __future__ import annotations

import ast
import re
import sysconfig
import zlib
from pathlib import Path

import numpy as np

from infogauss.errors import InputError
from infogauss.experiments.common import Context
from infogauss.experiments.ood_report import gaussian_losses
from infogauss.experiments.tables import Column, Table
from infogauss.ood import SCORES, DensityScores, auroc
from infogauss.stats.backend import NumpyOps

TITLE = "Text OOD: a single Gaussian on all-MiniLM-L6-v2 features of CPython docstrings vs code lines and licences"

OOD_SETS = ("code", "licence")
FEATURES = ("raw", "normalised")
LICENCES = "/usr/share/common-licenses"
HASHED = "hashed-bow"

_COMMON = {"stdlib": None, "licences": LICENCES, "min_words": 10, "min_chars": 40, "k": 1, "batch_size": 64}
SCALES = {
    "smoke": {
        "about": "seconds: a hashed bag of words (64-d, no model) instead of all-MiniLM-L6-v2, docstrings of five "
        "stdlib packages (200 fit, the rest held out), 150 texts per OOD set; the numbers mean nothing about MiniLM",
        **_COMMON,
        "model": HASHED,
        "dim": 64,
        "packages": ["email", "asyncio", "logging", "json", "collections"],
        "fit_n": 200,
        "held_n": None,
        "ood_n": 150,
    },
    "cpu": {
        "about": "all-MiniLM-L6-v2 (384-d) on every stdlib package's docstrings (5,000 fit, the rest held out), "
        "1,000 code lines, every licence paragraph (up to 1,000)",
        **_COMMON,
        "model": "all-MiniLM-L6-v2",
        "dim": 384,
        "packages": [],
        "fit_n": 5000,
        "held_n": None,
        "ood_n": 1000,
    },
}
SCALES["paper"] = {**SCALES["cpu"], "about": "as cpu (the paper has no text OOD experiment; CPU minutes)"}

# ---------------------------------------------------------------------------------------------- texts


def stdlib_root(stdlib=None) -> Path:
    """The standard library's source folder: ``stdlib`` or ``sysconfig.get_paths()["stdlib"]``."""
    root = Path(stdlib if stdlib not in (None, "") else sysconfig.get_paths()["stdlib"]).expanduser()
    if not (root / "os.py").is_file():
        raise InputError(f"{root} is not a Python standard library folder (no os.py); set stdlib=PATH")
    return root


def stdlib_files(root: Path, packages=()) -> list[Path]:
    """The stdlib's ``.py`` files in sorted order (``site-packages`` excluded), only ``packages`` when given."""
    keep = {p.removesuffix(".py") for p in packages}
    files = []
    for p in sorted(root.rglob("*.py")):
        top = p.relative_to(root).parts[0].removesuffix(".py")
        if top != "site-packages" and (not keep or top in keep):
            files.append(p)
    return files


def file_texts(path: Path, min_words: int, min_chars: int) -> tuple[list[str], list[str]]:
    """``(docstrings, code lines)`` of one source file (``([], [])`` when it does not parse): the docstrings of its
    functions and classes with at least ``min_words`` words (whitespace collapsed), and its stripped lines of at
    least ``min_chars`` characters that are neither comments nor part of a docstring (any string statement) or of a
    multi-line string."""
    try:
        source = path.read_bytes()
        tree = ast.parse(source)
        lines = source.decode("utf-8").splitlines()
    except (SyntaxError, ValueError, UnicodeDecodeError):
        return [], []
    docs, in_string = [], set()
    for node in ast.walk(tree):
        if isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef, ast.ClassDef)):
            d = ast.get_docstring(node)
            if d and len(d.split()) >= min_words:
                docs.append(" ".join(d.split()))
        elif isinstance(node, ast.Expr) and isinstance(node.value, ast.Constant) and isinstance(node.value.value, str):
            in_string.update(range(node.lineno, node.end_lineno + 1))  # a docstring or a bare string, any length
        elif isinstance(node, ast.Constant) and isinstance(node.value, (str, bytes)) and node.end_lineno > node.lineno:
            in_string.update(range(node.lineno, node.end_lineno + 1))
    code = [t.strip() for i, t in enumerate(lines, 1) if i not in in_string]
    return docs, [t for t in code if len(t) >= min_chars and not t.startswith("#")]


def stdlib_texts(settings: dict) -> tuple[list[str], list[str], list[str]]:
    """``(docstrings, their top-level packages, code lines)``, each deduplicated in file order."""
    root = stdlib_root(settings["stdlib"])
    docs, code = {}, {}
    for path in stdlib_files(root, settings["packages"]):
        d, c = file_texts(path, settings["min_words"], settings["min_chars"])
        top = path.relative_to(root).parts[0].removesuffix(".py")
        for t in d:
            docs.setdefault(t, top)
        code.update(dict.fromkeys(c))
    if not docs:
        raise InputError(f"no docstrings of >= {settings['min_words']} words under {root} (packages setting?)")
    return list(docs), list(docs.values()), list(code)


def licence_paragraphs(settings: dict) -> list[str]:
    """Deduplicated paragraphs (blank-line separated, whitespace collapsed, >= ``min_words`` words) of the files in
    ``licences`` (symlinks counted once) and the stdlib's ``LICENSE.txt``."""
    folder = Path(settings["licences"]).expanduser()
    files = {p.resolve() for p in folder.iterdir() if p.is_file()} if folder.is_dir() else set()
    own = stdlib_root(settings["stdlib"]) / "LICENSE.txt"
    files |= {own} if own.is_file() else set()
    paras = {}
    for f in sorted(files):
        for para in re.split(r"\n\s*\n", f.read_text(encoding="utf-8", errors="replace")):
            if len(para.split()) >= settings["min_words"]:
                paras.setdefault(" ".join(para.split()), None)
    if not paras:
        raise InputError(f"no licence paragraphs in {folder} or {own}; set licences=FOLDER")
    return list(paras)


def splits(settings: dict, seed: int) -> dict:
    """The texts of one seed: ``fit`` (+ ``fit_y``), ``held`` and one list per OOD set, each shuffled with the seed."""
    docs, labels, code = stdlib_texts(settings)
    licence = licence_paragraphs(settings)
    rng = np.random.default_rng([seed, 13])
    fit_n, held_n, ood_n = settings["fit_n"], settings["held_n"], settings["ood_n"]
    if len(docs) < fit_n + 20:
        raise InputError(f"{len(docs)} docstrings for fit_n={fit_n} plus a held-out set; lower fit_n or min_words")
    order = rng.permutation(len(docs))
    held = order[fit_n:] if held_n is None else order[fit_n : fit_n + held_n]
    pick = [rng.permutation(len(x))[:ood_n] for x in (code, licence)]
    return {
        "fit": [docs[i] for i in order[:fit_n]],
        "fit_y": np.array([labels[i] for i in order[:fit_n]]),
        "held": [docs[i] for i in held],
        "code": [code[i] for i in pick[0]],
        "licence": [licence[i] for i in pick[1]],
    }


# ---------------------------------------------------------------------------------------------- features


def hashed_bow(texts: list[str], dim: int = 64) -> np.ndarray:
    """A deterministic stand-in encoder: counts of lower-cased word tokens hashed (CRC-32) into ``dim`` buckets
    with a hashed sign, ``log1p``-damped; ``(len(texts), dim)`` float64."""
    out = np.zeros((len(texts), dim))
    for i, t in enumerate(texts):
        for w in re.findall(r"\w+", t.lower()):
            h = zlib.crc32(w.encode())
            out[i, h % dim] += 1.0 if (h >> 16) & 1 else -1.0
    return np.sign(out) * np.log1p(np.abs(out))


def embed(settings: dict, texts: dict, ctx: Context) -> dict[str, np.ndarray]:
    """Raw features of every text set (one call to the encoder for all of them)."""
    names = ["fit", "held", *OOD_SETS]
    flat = [t for n in names for t in texts[n]]
    if settings["model"] == HASHED:
        Z = hashed_bow(flat, settings["dim"])
    else:
        from infogauss.embed import embed_texts

        Z = embed_texts(settings["model"], flat, batch_size=settings["batch_size"], device=ctx.device,
                        normalize=False, progress=ctx.progress).astype(np.float64)  # fmt: skip
    cuts = np.cumsum([len(texts[n]) for n in names])[:-1]
    return dict(zip(names, np.split(Z, cuts), strict=True))


# ---------------------------------------------------------------------------------------------- experiment hooks


def feature_rows(feats: dict, fit_y: np.ndarray, feature: str, k: int) -> tuple[list[dict], dict]:
    """One row per OOD set for one feature set (AUROC of every score, the shell diagnostics) and the squared
    Mahalanobis distances of the held-out and OOD texts (for the figure)."""
    score = DensityScores(feats["fit"], fit_y, k=k)
    held = score(feats["held"])
    fit_m2 = score.gaussian.mahalanobis_squared(feats["fit"])
    rows, m2 = [], {"held": held["_m2"]}
    for ood in OOD_SETS:
        s = score(feats[ood])
        m2[ood] = s["_m2"]
        row = {"name": f"{ood} / {feature}", "ood_set": ood, "features": feature, "d": int(feats["fit"].shape[1])}
        row.update({"n_fit": len(fit_m2), "n_held": len(held["_m2"]), "n_ood": len(s["_m2"])})
        row.update({"n_classes": int(score.classes.classes.size), "shrinkage_method": score.shrinkage})
        row.update({f"auroc_{name}": auroc(held[name], s[name]) for name in SCORES})
        row.update({"fit_mean_m2": float(fit_m2.mean()), "held_mean_m2": float(held["_m2"].mean()),
                    "ood_mean_m2": float(s["_m2"].mean())})  # fmt: skip
        row["ood_inside_fraction"] = float(np.mean(s["_m2"] < np.median(held["_m2"])))
        row["held_m2_q10"], row["held_m2_q90"] = (float(q) for q in np.quantile(held["_m2"], [0.1, 0.9]))
        norms = [np.linalg.norm(feats[n], axis=1) for n in ("held", ood)]
        row.update({"held_mean_norm": float(norms[0].mean()), "ood_mean_norm": float(norms[1].mean())})
        rows.append(row)
    return rows, m2


def zero_coordinates(Z: np.ndarray, rel: float = 1e-6) -> np.ndarray:
    """Indices of the coordinates that are numerically zero on every row of ``Z``: ``max |z_j| <= rel * max |z|``.

    all-MiniLM-L6-v2 has three (127, 223, 319: values ~1e-32 or ~1e-9 while the largest entries are ~1): noise at
    float rounding that carries no information, makes the raw covariance singular (Ledoit–Wolf would then shrink
    every direction) and, after normalisation, adds dimensions of pure rounding noise to the Gaussian.
    """
    top = np.abs(Z).max(axis=0)
    return np.flatnonzero(top <= rel * top.max())


def run_seed(ctx: Context):
    texts = splits(ctx.settings, ctx.seed)
    full = embed(ctx.settings, texts, ctx)
    zero = zero_coordinates(full["fit"])
    rows, extras = [], {"m2": {}}
    for feature in FEATURES:
        feats = full if feature == "raw" else {n: NumpyOps.normalize(Z) for n, Z in full.items()}
        feats = {n: np.delete(Z, zero, axis=1) for n, Z in feats.items()}  # norms taken with them: they are ~0
        got, extras["m2"][feature] = feature_rows(feats, texts["fit_y"], feature, ctx.settings["k"])
        rows += [{**r, "zero_coordinates": len(zero), "encoder_dim": int(full["fit"].shape[1])} for r in got]
    extras["d"] = rows[0]["d"]
    return rows, extras


def tables(rows):
    cap = (
        "AUROC of each OOD set against held-out docstrings (OOD = positive; 0.5 = chance, below 0.5 = the score "
        "ranks the OOD texts as *more* in-distribution). Gaussian: loglik (-log p), typicality (|m² − d|/√(2d)); "
        "baselines: class_mahalanobis (stdlib package as class, shared covariance), knn_cosine (1-NN cosine "
        "distance, the same on raw and normalised features)."
    )
    auc = [Column(f"auroc_{s}", s, "float") for s in SCORES]
    shell = [Column("d", "d", "int"), Column("fit_mean_m2", "fit m²"), Column("held_mean_m2", "held-out m²"),
             Column("held_m2_q10", "held-out m² 10%"), Column("held_m2_q90", "90%"),
             Column("ood_mean_m2", "OOD m²"), Column("ood_inside_fraction", "OOD m² < held-out median", "frac"),
             Column("held_mean_norm", "held-out ‖z‖"), Column("ood_mean_norm", "OOD ‖z‖")]  # fmt: skip
    sizes = [Column(c, c, "int") for c in ("n_fit", "n_held", "n_ood", "n_classes", "encoder_dim", "zero_coordinates")]
    return [
        Table("Text OOD AUROC: Gaussian scores beside the baselines", auc, rows, caption=cap),
        Table("Where the texts sit: mean squared Mahalanobis distance m² and norm (the shell is m² ≈ d)", shell, rows),
        Table("Sizes", [*sizes, Column("shrinkage_method", "shrinkage", "text")], rows),
    ]


def inverted(r: dict) -> bool:
    """Whether a Gaussian score ranks this OOD set near or below chance, or many OOD texts sit inside the shell."""
    return min(r["auroc_loglik"], r["auroc_typicality"]) < 0.5 or r["ood_inside_fraction"] > 0.25


def inversion_note(r: dict, rows: list[dict]) -> str:
    """The measured reading of an OOD set that lands inside the shell (see :func:`inverted`)."""
    from scipy.stats import chi2

    lo, hi = chi2.ppf([0.1, 0.9], r["d"])
    wide = r["held_m2_q90"] - r["held_m2_q10"] > 2 * (hi - lo)
    text = (
        f"Inside the shell, {r['name']}: {100 * r['ood_inside_fraction']:.0f}% of these OOD texts have a squared "
        f"Mahalanobis distance m² below the held-out docstrings' median (mean m² {r['ood_mean_m2']:.4g} against "
        f"{r['held_mean_m2']:.4g}; d = {r['d']}). A Gaussian in d dimensions puts its mass on a thin shell m² ≈ d, "
        "not at its mode, so texts nearer the mean than typical docstrings get a *higher* density than the "
        f"in-distribution texts themselves: Gaussian log-likelihood AUROC {r['auroc_loglik']:.3f}. The held-out "
        f"docstrings' m² spans {r['held_m2_q10']:.4g}–{r['held_m2_q90']:.4g} (10–90%) where a Gaussian's χ²_d would "
        f"span {lo:.4g}–{hi:.4g}{' (no thin shell: these features are far from Gaussian)' if wide else ''}. The "
        "typicality "
        f"score |m² − d|/√(2d) gives {r['auroc_typicality']:.3f}"
    )
    if r["auroc_typicality"] < 0.5:
        why = (
            "the docstrings themselves are spread far from d on both sides"
            if wide
            else f"held-out docstrings lie beyond d (the covariance is estimated from {r['n_fit']:,} texts, so new "
            "texts look farther away)"
        )
        text += f" — below chance: these OOD texts lie closer to m² = d than held-out docstrings do, as {why}"
    other = next((o for o in rows if o["ood_set"] == r["ood_set"] and o["features"] != r["features"]), None)
    if other is not None and not inverted(other):
        text += (
            f". On {other['features']} features the same texts are outside (mean m² {other['ood_mean_m2']:.4g}, "
            f"{100 * other['ood_inside_fraction']:.0f}% inside) and the log-likelihood gives "
            f"{other['auroc_loglik']:.3f}"
        )
        if r["features"] == "raw":
            text += f": normalisation removes the norm (raw ‖z‖ {r['ood_mean_norm']:.3g} against "
            text += f"{r['held_mean_norm']:.3g} for docstrings) that put them inside"
    return text + "."


def notes(rows, rows_per_seed, settings):
    out = [gaussian_losses([(r["name"], {s: r[f"auroc_{s}"] for s in SCORES}) for r in rows], "Measured: ")]
    out += [inversion_note(r, rows) for r in rows if inverted(r)]
    out += [
        "Reading: the scores are fitted on docstrings only; `loglik` and the Mahalanobis distance rank texts "
        "identically; `knn_cosine` ignores feature norms, so its raw and normalised rows agree. Mean raw norm "
        "‖z‖: "
        + ", ".join(f"{r['ood_set']} {r['ood_mean_norm']:.3g}" for r in rows if r["features"] == "raw")
        + f", held-out docstrings {rows[0]['held_mean_norm']:.3g}.",
        f"Texts: docstrings of >= {settings['min_words']} words (stdlib functions and classes), code lines of "
        f">= {settings['min_chars']} characters, licence paragraphs of >= {settings['min_words']} words "
        f"({settings['licences']} and the stdlib LICENSE.txt); encoder {settings['model']}.",
        f"Coordinates: the encoder's {rows[0]['encoder_dim']} less {rows[0]['zero_coordinates']} that are "
        "numerically zero on every fitted text (max |z_j| <= 1e-6 max |z|; all-MiniLM-L6-v2 has three, at ~1e-32 "
        "and ~1e-9) are dropped from raw and normalised features alike: kept, they make the raw covariance singular "
        "(Ledoit–Wolf would shrink every direction) and add dimensions of rounding noise.",
    ]
    if settings["model"] == HASHED:
        out.append("Smoke scale: a hashed bag of words stands in for the encoder — the numbers mean nothing.")
    return "\n\n".join(out)


def figures(rows, extras, folder):
    import matplotlib.pyplot as plt

    if not extras or "m2" not in extras:
        return
    fig, axes = plt.subplots(1, len(FEATURES), figsize=(5.5 * len(FEATURES), 3.8), squeeze=False)
    for ax, feature in zip(axes[0], FEATURES, strict=True):
        m2 = extras["m2"][feature]
        top = float(np.quantile(np.concatenate(list(m2.values())), 0.99))
        bins = np.linspace(0.0, top, 60)
        for name, v in m2.items():
            label = "held-out docstrings" if name == "held" else f"OOD: {name}"
            ax.hist(np.clip(v, 0, top), bins=bins, density=True, histtype="step", lw=1.4, label=label)
        ax.axvline(extras["d"], color="k", ls=":", lw=1, label=f"d = {extras['d']} (the shell)")
        ax.set(title=f"{feature} features", xlabel="squared Mahalanobis distance m² to the docstring Gaussian (clipped "
               "at the 99th percentile)",
               ylabel="density")  # fmt: skip
        ax.legend(fontsize=7)
    fig.tight_layout()
    fig.savefig(folder / "text_ood_m2.png", dpi=120)
    plt.close(fig)
