"""``infogauss fit`` and ``infogauss score``: a Gaussian model of an embedding file, and scores under it.

``score`` writes one row per embedding with the columns of :data:`infogauss.gaussian.SCORES` (:data:`COLUMNS_HELP`;
:meth:`GaussianModel.scores <infogauss.gaussian.GaussianModel.scores>`, :mod:`infogauss.typicality`).

Both check ``--out`` before reading anything: it must be writable, must not be one of the inputs (hard links
included), and may replace only a file this command wrote (``fit``: an infogauss model; ``score``: a scores file),
unless ``--force``. Large ``.npy`` inputs are memory-mapped and read in row blocks.
"""

from __future__ import annotations

import numpy as np

from infogauss import gaussian, options, outputs
from infogauss.errors import InputError
from infogauss.gaussian import SCORES, GaussianModel, is_model_file
from infogauss.io import row_blocks
from infogauss.moments import check_shrinkage

SCORE_COLUMNS = SCORES
OLD_COLUMNS = SCORES[:2]  # files written before the typicality and p-value columns (still recognised as ours)
SCORE_EXTENSIONS = (".npy", ".npz", ".csv")
COLUMNS_HELP = """\
columns of --out, one row per embedding (m2 = squared Mahalanobis distance, chi2_d under the model):
  log_likelihood  log-density under N(mu, Sigma), nats
  mahalanobis     Mahalanobis distance m = sqrt(m2) (not squared)
  typicality      |m2 - d| / sqrt(2d): distance from the thin shell in chi2_d standard deviations, high on both
                  sides (also for points too close to the mean, which the likelihood ranks highest); the typicality
                  test of Nalisnick et al. 2019 for one input, |-log p(x) - H| = |m2 - d| / 2, rescaled
  chi2_pvalue     P(chi2_d >= m2) (scipy.stats.chi2.sf): uniform on [0, 1] for in-distribution rows, ~0 far away"""


def fit_arguments(parser) -> None:
    parser.add_argument("embeddings", metavar="EMB", help="embedding file (.npy, .npz, .pt, .safetensors, .csv, ...)")
    options.add_out(parser, "file", "where to write the model (.npz)")
    parser.add_argument(
        "--shrinkage",
        default="none",
        help="covariance shrinkage: none (default), ledoit-wolf, oas, auto (none when n >= 2d and non-singular, else "
        "ledoit-wolf), or a number in [0, 1]",
    )
    parser.add_argument("--key", default=None, metavar="NAME", help="array name inside .npz/.pt/.safetensors files")
    parser.add_argument("--force", action="store_true", help="replace an existing --out that is not a model")
    options.add_quiet(parser)


def _check_out(out, inputs, ok, what: str, force: bool) -> None:
    """Writability, not an input, and (unless ``force``) an existing file only if ``ok(out)`` recognises it."""
    outputs.check_writable(out, "file")
    outputs.refuse_input_as_output(out, inputs)
    if out.exists() and not force and not ok(out):
        raise InputError(f"--out {out}: exists and is not {what}; choose a new name (or --force to replace it)")


def fit_run(args) -> int:
    from pathlib import Path

    from infogauss.io import load_embeddings

    method = check_shrinkage(args.shrinkage)
    out = Path(args.out)
    if out.suffix.lower() != ".npz":
        raise InputError(f"--out {args.out}: a model file must end in .npz")
    _check_out(out, [args.embeddings], is_model_file, "an infogauss model", args.force)
    Z = load_embeddings(args.embeddings, key=args.key)
    if isinstance(Z, np.memmap):  # larger than memory: two passes over row blocks
        model = GaussianModel.fit_large(Z, shrinkage=method, progress=not args.quiet)
    else:
        model = GaussianModel.fit(Z, shrinkage=method)
    model.save(out)
    shr = "none" if model.shrinkage_method == "none" else f"{model.shrinkage_method} ({model.shrinkage:.4g})"
    print(f"fitted N(mu, Sigma): n={model.n_samples}, d={model.dim}, shrinkage={shr}")
    print(f"  entropy {model.entropy():.6g} nats, log|Sigma| {model.logdet:.6g}, {_condition(model)}")
    if model.dead_coordinates.size:
        print(f"  {model.dead_coordinates.size} dead (constant) coordinate(s): {model.dead_coordinates[:10].tolist()}")
    print(f"wrote {out}")
    return 0


def _condition(model) -> str:
    c = model.condition_number
    return f"condition number {c:.4g}" if np.isfinite(c) else "condition number beyond float64"


def score_arguments(parser) -> None:
    parser.description = f"{parser.description}\n\n{COLUMNS_HELP}"
    parser.add_argument("model", metavar="MODEL", help="model file written by `infogauss fit` (.npz)")
    parser.add_argument("embeddings", metavar="EMB", help="embedding file to score")
    options.add_out(parser, "file", f".npy ((n, {len(SCORES)}) float64, the columns listed above, in order), "
                    ".npz (one named array per column) or .csv (with a header)")  # fmt: skip
    parser.add_argument("--key", default=None, metavar="NAME", help="array name inside .npz/.pt/.safetensors files")
    parser.add_argument("--force", action="store_true", help="replace an existing --out that is not a scores file")
    options.add_quiet(parser)


def is_scores_file(path) -> bool:
    """True for a file this command writes (now or before the typicality / p-value columns): ``.csv`` with its
    header, ``.npz`` with exactly its arrays, ``.npy`` of shape ``(n, columns)`` float64."""
    from pathlib import Path

    p = Path(path)
    ext = p.suffix.lower()
    try:
        if ext == ".csv":
            with open(p, encoding="utf-8", errors="replace") as fh:
                return fh.readline().strip() in (",".join(SCORE_COLUMNS), ",".join(OLD_COLUMNS))
        if ext == ".npz":
            with np.load(p, allow_pickle=False) as z:
                return sorted(z.files) in (sorted(SCORE_COLUMNS), sorted(OLD_COLUMNS))
        a = np.load(p, allow_pickle=False, mmap_mode="r")
        return a.ndim == 2 and a.shape[1] in (len(SCORE_COLUMNS), len(OLD_COLUMNS)) and a.dtype == np.float64
    except Exception:  # unreadable: not ours
        return False


def score_run(args) -> int:
    from pathlib import Path

    from infogauss.io import load_embeddings

    out = Path(args.out)
    ext = out.suffix.lower()
    if ext not in SCORE_EXTENSIONS:
        raise InputError(f"--out {args.out}: use a .npy, .npz or .csv file for the scores")
    _check_out(out, [args.model, args.embeddings], is_scores_file, "a scores file", args.force)
    model = GaussianModel.load(args.model)
    Z = load_embeddings(args.embeddings, key=args.key)
    if Z.shape[1] != model.dim:
        raise InputError(
            f"{args.embeddings}: has {Z.shape[1]} columns but the model {args.model} has dimension {model.dim}; "
            "score embeddings from the same encoder"
        )
    parts = [model.scores(b) for b in row_blocks(Z, "score", not args.quiet, gaussian.BLOCK_BYTES)]
    cols = {k: np.concatenate([p[k] for p in parts]) for k in SCORE_COLUMNS}
    _write_scores(out, cols)
    ll, m2 = cols["log_likelihood"], cols["mahalanobis"] ** 2
    q = np.percentile(ll, [5, 50, 95])
    print(f"scored {len(ll)} embeddings (d={model.dim}) under {args.model}")
    print(f"  log-likelihood (nats): mean {ll.mean():.6g}, 5/50/95% {q[0]:.6g} / {q[1]:.6g} / {q[2]:.6g}")
    print(f"  squared Mahalanobis: mean {m2.mean():.6g} (the model's own samples average d = {model.dim})")
    print(f"  chi2 p-value < 0.01: {np.mean(cols['chi2_pvalue'] < 0.01):.2%} of rows (1% expected in distribution); "
          f"typicality > 3: {np.mean(cols['typicality'] > 3):.2%}")  # fmt: skip
    print(f"wrote {out}")
    return 0


def _write_scores(out, cols: dict) -> None:
    scores = np.column_stack([cols[k] for k in SCORE_COLUMNS])
    ext = out.suffix.lower()
    if ext == ".npy":
        outputs.atomic_write(out, lambda fh: np.save(fh, scores))
    elif ext == ".npz":
        outputs.atomic_write(out, lambda fh: np.savez(fh, **cols))
    else:
        header = ",".join(SCORE_COLUMNS)
        outputs.atomic_write(
            out, lambda fh: np.savetxt(fh, scores, delimiter=",", header=header, comments="", fmt="%.17g")
        )
