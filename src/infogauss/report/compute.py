"""The computation behind :func:`~infogauss.report.gaussianity_report`: passes over the rows, tests, summaries."""

from __future__ import annotations

import warnings
from dataclasses import dataclass
from types import SimpleNamespace

import numpy as np

from infogauss.constants import AD_THRESHOLD, CALIBRATED_ALPHA, DEFAULT_TEMPERATURE, DP_ALPHA, NULL_SEED, REPORT_ALPHA
from infogauss.errors import InputError
from infogauss.io import as_embedding_matrix
from infogauss.report.extras import geometry_extras, qq_samples
from infogauss.report.null import (
    NULL_REPS,
    SPHERE_REPS,
    TEST_BYTES,
    TEST_COPIES,
    NullCalibration,
    as_numpy,
    combine,
    coordinate_tests,
    monte_carlo_pvalue,
    null_calibration,
    pass_interval,
    report_pvalue,
    sphere_passes,
    view_null_reps,
    view_statistic,
)
from infogauss.report.null import view_null as simulated_view_null
from infogauss.report.results import GaussianityReport, ProjectionBlock, TestBlock, Verdict, ViewSummary, plain
from infogauss.stats.validate import constant_columns

GEOMETRY_ROWS = 5000  # rows (seeded subsample) for the spectrum, effective rank and the Q-Q samples
STAGE_BYTES = 1024 * 2**20  # default memory for the columns staged by one pass over the rows
ROW_BYTES = 8 * 2**20  # memory for one block of input rows (float64)
VIEW_NULLS = ("auto", "monte-carlo", "bonferroni")
VIEWS = ("raw", "normalized")
THRESHOLDS = {"ad_threshold": AD_THRESHOLD, "dp_alpha": DP_ALPHA, "calibrated_alpha": CALIBRATED_ALPHA,
              "report_alpha": REPORT_ALPHA}  # fmt: skip


def gaussianity_report(
    Z,
    pairs=None,
    *,
    projections: int | None = None,
    seed: int = 0,
    device=None,
    block: int | None = None,
    memory: int | None = None,
    progress: bool | None = None,
    geometry: bool = True,
    null_reps: int = NULL_REPS,
    temperature: float = DEFAULT_TEMPERATURE,
    view_null: str = "auto",
    name: str = "Z",
) -> GaussianityReport:
    """Run the paper's Gaussianity protocol (and the calibrated checks) on embeddings ``Z`` of shape ``(n, d)``.

    Parameters
    ----------
    Z : array-like (numpy, ``np.memmap``, torch tensor), shape (n, d), n >= 8
        Embeddings, one per row. A memory-mapped ``.npy`` is read one block at a time (see the module doc).
    pairs : array-like, same shape, optional
        Second view (positive pairs in rows) for alignment and positive-pair cosines.
    projections : int, optional
        Number K of random orthonormal directions (default ``min(d, 256)``; 0 to skip; at most d).
    seed : int
        Seed of the random directions and of the geometry row subsample.
    device : str or torch.device, optional
        Where the statistics run (e.g. ``"cuda"``); data moves there one column block at a time.
    block : int, optional
        Columns tested at once (memory ``≈ 8 · 8 · n · block`` bytes); default: as many as fit in 256 MiB.
    memory : int, optional
        Bytes of columns staged per pass over the rows (default 1 GiB). Only matters when the columns do not
        fit: a ``.npy`` larger than memory is read ``≈ n·(d·itemsize + 8K)/memory`` times.
    progress : bool, optional
        tqdm progress bar; default: on when ``n · d > 5·10⁷``.
    geometry : bool
        Compute the geometry extras (cheap: a row subsample).
    null_reps : int
        Simulated Gaussian columns behind the null pass rates.
    temperature : float
        The run's InfoNCE temperature τ; the uniformity potential Φ (paper Eq. 4) is reported at α = 1/τ.
    view_null : {"auto", "monte-carlo", "bonferroni"}
        Calibration of the views' checks (:mod:`infogauss.report.null`): ``"auto"`` simulates their null at the
        sample's (n, d), cached — 4999 or 999 whole Gaussian samples when they fit ``SPHERE_BUDGET`` (~3 s), else
        4999 samples drawn from the column bank while n <= d² (measured to hold its level), else 199 whole samples
        if they fit, else the bank with a warning (its normalised views are liberal when n > d²).
        ``"monte-carlo"``: the same with 4999 samples (whole or bank); ``"bonferroni"``: no simulation,
        ``min(1, 2q)`` per view and Bonferroni over the views (conservative).
    name : str
        Name of the input in messages and in the report (the CLI passes the file path).
    """
    engine = _engine(Z)
    Z = engine.matrix(Z, name)
    n, d = Z.shape
    pairs = _check_options(Z, pairs, name, projections, block, memory, temperature, view_null)
    k = min(d, 256) if projections is None else int(projections)
    dev = None if device is None else str(device)
    show = (n * d > 5 * 10**7) if progress is None else bool(progress)
    sub = np.sort(np.random.default_rng(seed).choice(n, size=min(n, GEOMETRY_ROWS), replace=False))
    first = engine.first_pass(Z, sub, name, show)  # pass 1 over the rows
    dead = constant_columns(first.hi - first.lo, np.maximum(np.abs(first.lo), np.abs(first.hi)), per_column=True)
    live = np.setdiff1d(np.arange(d), dead)
    if live.size == 0:
        raise InputError(f"{name}: all {d} columns are constant; nothing to test")
    P = _directions(d, k, seed) if k else np.zeros((d, 0))
    geo, geo_arrays = {}, {}  # geometry needs only the row subsample: done before the long column passes
    if geometry:
        pair_sample = None if pairs is None else np.asarray(pairs[sub], dtype=np.float64)
        geo, geo_arrays = geometry_extras(first.sample, pair_sample, seed, 1.0 / float(temperature))

    budget = int(memory) if memory is not None else STAGE_BYTES
    b = int(block) if block is not None else max(1, TEST_BYTES // (TEST_COPIES * 8 * n))
    arrays, n_passes, b = engine.column_tests(Z, live, P, first.norms, budget, b, dev, show)
    null = null_calibration(n, int(null_reps), NULL_SEED, dev)
    counts = {"raw": (null.ad_passes, null.reps), "normalized": sphere_passes(n, live.size, NULL_REPS, NULL_SEED, dev)}
    sims = _simulated(view_null, n, (d, k, seed, tuple(live.tolist())), dev, counts)
    views = _views(arrays, null, sims, counts, first.norm_summary, k)
    samples = {"norms": first.sub_norms, "rows": sub, "qq": qq_samples(first.sample, first.sub_norms, arrays, P),
               **geo_arrays}  # fmt: skip
    settings = {"seed": seed, "projections": k, **THRESHOLDS, "temperature": float(temperature),
                "view_null": view_null, "block_columns": b, "column_passes": n_passes, "stage_bytes": budget,
                "device": dev or "cpu", "null_reps": int(null_reps), "geometry_rows": int(sub.size),
                "pairs": pairs is not None, "engine": engine.NAME}  # fmt: skip
    return GaussianityReport(n=n, d=d, raw=views["raw"], normalized=views["normalized"], dead_coordinates=dead,
                             geometry=geo, settings=settings, source=name, dtype=str(Z.dtype),
                             per_coordinate=arrays["coord"], per_projection=arrays["proj"], null=null,
                             samples=samples, verdict=_verdict(views, sims))  # fmt: skip


@dataclass
class RowPass:
    """What the first pass over the rows gives: the row norms (``norms``: ``(n, 2)`` norms of the raw and of the
    normalised rows, numpy or dask), their CV and mean per view, the subsample's rows and norms, the column ranges."""

    norms: object
    norm_summary: dict
    sub_norms: np.ndarray
    sample: np.ndarray
    lo: np.ndarray
    hi: np.ndarray


def _engine(Z):
    if type(Z).__module__.startswith("dask"):
        from infogauss import dask_engine

        return dask_engine
    return MEMORY


def _check_options(Z, pairs, name, projections, block, memory, temperature, view_null):
    n, d = Z.shape
    if pairs is not None:
        pairs = pairs if type(pairs).__module__.startswith("dask") else as_embedding_matrix(pairs, what="pairs")
        if pairs.shape != Z.shape:
            raise InputError(f"pairs: must have the same shape as {name} {Z.shape}, got {pairs.shape}")
    k = min(d, 256) if projections is None else int(projections)
    if not 0 <= k <= d:
        raise InputError(f"projections: must be between 0 and d = {d}, got {k}")
    if block is not None and int(block) < 1:
        raise InputError(f"block: must be a positive number of columns, got {block}")
    if memory is not None and int(memory) < 1:
        raise InputError(f"memory: must be a positive number of bytes, got {memory}")
    if not (isinstance(temperature, int | float) and 0 < temperature < float("inf")):
        raise InputError(f"temperature: must be a positive number, got {temperature!r}")
    if view_null not in VIEW_NULLS:
        raise InputError(f"view_null: must be one of {VIEW_NULLS}, got {view_null!r}")
    return pairs


def _views(arrays, null, sims, counts, norm_summary, k) -> dict:
    """The two :class:`ViewSummary` blocks (coordinates and projections of the raw and the normalised rows);
    ``norm_summary``: view -> (CV, mean) of its row norms."""
    views = {}
    for view in ("raw", "normalized"):
        sim = {} if sims is None else {kind: v for (name, kind), v in sims.items() if name == view}
        coord = _summarize(arrays["coord"][view], null, counts[view], sim.get("coord"), TestBlock)
        proj = _summarize(arrays["proj"][view], null, counts[view], sim.get("proj"), ProjectionBlock)
        proj.k = k
        cv, mean = norm_summary[view]
        views[view] = ViewSummary(**coord.to_dict(), cv=cv, mean_norm=mean, projections=proj)
    return views


def _simulated(view_null, n, projection_key, dev, counts):
    """The views' joint Monte-Carlo null {(view, kind): draws}, or None (then ``min(1, 2q)`` and Bonferroni)."""
    m, k = len(projection_key[3]), projection_key[1]
    reps = view_null_reps(n, m, k) if view_null == "auto" else SPHERE_REPS[0] if view_null == "monte-carlo" else None
    if reps is None:
        if view_null == "auto" and 4 * n >= m * m:
            warnings.warn(
                f"gaussianity_report: the views' check at n={n}, d={m} is not simulated (too large); without its "
                "simulated null the normalised views' check may be liberal when n >= d²/4. Pass "
                "view_null='monte-carlo' to simulate it anyway.",
                stacklevel=3,
            )
        return None
    return simulated_view_null(n, m, projection_key, tuple(sorted(counts.items())), reps, NULL_SEED, dev)


def _verdict(views: dict, sims) -> Verdict:
    ps, keys = {}, {}
    for view, s in views.items():
        for kind, b in (("coord", s), ("proj", s.projections)):
            if b.tested:
                name = f"{view} {'coordinates' if kind == 'coord' else 'projections'}"
                ps[name], keys[(view, kind)] = b.calibrated_pvalue, b.calibrated_pvalue
    finite = [p for p in ps.values() if p == p]
    if sims is not None and all(b.calibrated_null == "monte-carlo" for v in views.values() for b in (v, v.projections)
                                if b.tested):  # fmt: skip
        p, how = report_pvalue(keys, {key: sims[key] for key in keys}), "monte-carlo"
    else:
        p, how = (min(1.0, len(finite) * min(finite)) if finite else float("nan")), "bonferroni"
    return Verdict(p, REPORT_ALPHA, bool(p > REPORT_ALPHA), ps, how)  # rejected at p <= alpha


def _norm_cv(r: np.ndarray) -> float:
    """CV of the row norms (paper Eq. 20), on the norms rescaled by a power of two (exact; no overflow at 1e300)."""
    s = np.ldexp(r, -pow2_scale(r))
    return float(s.std() / s.mean())


def _row_blocks(n: int, d: int) -> list[tuple[int, int]]:
    step = max(1, ROW_BYTES // (8 * d))
    return [(r0, min(r0 + step, n)) for r0 in range(0, n, step)]


def pow2_scale(x: np.ndarray, axis=None) -> np.ndarray:
    """Exponents e with max|x| · 2^-e in [0.5, 1) (0 where x is 0): dividing by 2^e is exact and cannot overflow."""
    top = np.abs(x).max(axis=axis, keepdims=axis is not None)
    return np.frexp(top)[1]


def row_norms(x: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Norms of the float64 rows ``x`` and of the L2-normalised rows, computed on rows rescaled by a power of two
    (so 1e±300 neither overflow nor underflow). The one row kernel of both engines (numpy and Dask)."""
    e = pow2_scale(x, axis=1)
    xs = np.ldexp(x, -e)
    ns = np.sqrt(np.einsum("ij,ij->i", xs, xs))
    with np.errstate(divide="ignore", invalid="ignore"):
        u = xs / ns[:, None]
    return np.ldexp(ns, e[:, 0]), np.sqrt(np.einsum("ij,ij->i", u, u))


def nonfinite_message(name: str, row: int) -> str:
    return f"{name}: contains NaN or Inf values (first in row {row}); remove or impute them first"


def zero_rows_message(name: str, count: int, row: int) -> str:
    return f"{name}: {count} row(s) are all zero (first: row {row}) and cannot be L2-normalised; drop them"


def _matrix(Z, name):
    return as_embedding_matrix(Z, what=name, check_finite=False)  # finiteness: checked in the first pass


def _first_pass(Z, sub, name, show) -> RowPass:
    """Row norms (:func:`row_norms`), the column ranges and the row subsample, one row block at a time."""
    from tqdm.auto import tqdm

    n, d = Z.shape
    rows = _row_blocks(n, d)
    norms = np.empty((n, 2))
    lo, hi = np.full(d, np.inf), np.full(d, -np.inf)
    sample = np.empty((sub.size, d))
    blk = np.empty((rows[0][1] - rows[0][0], d))
    for r0, r1 in tqdm(rows, desc="row norms", unit="block", disable=not show, leave=False):
        x = blk[: r1 - r0]
        x[...] = Z[r0:r1]
        if not np.isfinite(x).all():
            raise InputError(nonfinite_message(name, r0 + int(np.argmin(np.isfinite(x).all(axis=1)))))
        norms[r0:r1, 0], norms[r0:r1, 1] = row_norms(x)
        np.minimum(lo, x.min(axis=0), out=lo)
        np.maximum(hi, x.max(axis=0), out=hi)
        i0, i1 = np.searchsorted(sub, [r0, r1])
        sample[i0:i1] = x[sub[i0:i1] - r0]
    if (norms[:, 0] == 0).any():
        raise InputError(zero_rows_message(name, int((norms[:, 0] == 0).sum()), int(np.argmax(norms[:, 0] == 0))))
    summary = {view: (_norm_cv(norms[:, i]), float(norms[:, i].mean())) for i, view in enumerate(VIEWS)}
    return RowPass(norms[:, 0], summary, norms[sub, 0], sample, lo, hi)


def test_columns(cols, norms: np.ndarray, dev) -> tuple[tuple, tuple]:
    """AD and DP (:func:`coordinate_tests`) of the columns ``cols`` (``(n, b)``), raw and divided by the row
    ``norms``: in float64, each raw column rescaled by a power of two first (exact; the tests are scale
    invariant). The one column kernel of both engines."""
    x = np.array(cols, dtype=np.float64, order="C")
    x = np.ldexp(x, -pow2_scale(x, axis=0))
    raw = coordinate_tests(x, dev)
    x[...] = cols  # refill: never rely on a test leaving its input untouched
    x /= norms[:, None]
    return raw, coordinate_tests(x, dev)


def _column_tests(Z, live, P, norms, budget, b, dev, show):
    """Column passes: each pass over the rows stages up to ``budget`` bytes of columns (coordinates in the input's
    dtype, projections Z @ P in float64), tested ``b`` at a time by :func:`test_columns`."""
    from tqdm.auto import tqdm

    n, d = Z.shape
    k = P.shape[1]
    rows = _row_blocks(n, d)
    s_coord, s_proj = max(1, budget // (n * Z.dtype.itemsize)), max(1, budget // (n * 8))
    passes = [("coord", live[i : i + s_coord]) for i in range(0, live.size, s_coord)]
    passes += [("proj", np.arange(i, min(i + s_proj, k))) for i in range(0, k, s_proj)]
    per = {kind: {view: [] for view in VIEWS} for kind in ("coord", "proj")}
    rowbuf = np.empty((rows[0][1] - rows[0][0], d)) if k else None
    bar = tqdm(total=sum(-(-c.size // b) for _, c in passes), desc="column tests", unit="block", disable=not show,
               leave=False)  # fmt: skip
    stage = None
    for i, (kind, cols) in enumerate(passes):
        bar.set_postfix_str(f"pass {i + 1}/{len(passes)} over the rows")
        del stage  # free the previous pass's columns before staging the next
        stage = _stage(Z, rows, kind, cols, P, rowbuf)
        for j0 in range(0, cols.size, b):
            for view, res in zip(VIEWS, test_columns(stage[:, j0 : j0 + b], norms, dev), strict=True):
                per[kind][view].append(res)
            bar.update(1)
    bar.close()
    index = {"coord": live, "proj": np.arange(k)}
    return {kind: {view: stack_tests(per[kind][view], index[kind]) for view in VIEWS} for kind in per}, len(passes), b


def _stage(Z, rows, kind, cols, P, rowbuf):
    n = Z.shape[0]
    if kind == "coord":
        stage = np.empty((n, cols.size), dtype=Z.dtype)
        sel = slice(cols[0], cols[-1] + 1) if cols[-1] - cols[0] + 1 == cols.size else cols
        for r0, r1 in rows:
            stage[r0:r1] = Z[r0:r1, sel]
        return stage
    stage = np.empty((n, cols.size))
    Pk = np.ascontiguousarray(P[:, cols])
    for r0, r1 in rows:
        rowbuf[: r1 - r0] = Z[r0:r1]
        np.matmul(rowbuf[: r1 - r0], Pk, out=stage[r0:r1])
    return stage


def stack_tests(parts, index) -> dict:
    """Per-column results {index, ad_statistic, ad_pvalue, dp_statistic, dp_pvalue} from the blocks results."""
    names = ("ad_statistic", "ad_pvalue", "dp_statistic", "dp_pvalue")
    if not parts:
        return {"index": np.asarray(index, dtype=np.int64), **{k: np.empty(0) for k in names}}
    cols = [np.concatenate(c) for c in zip(*parts, strict=True)]
    return {"index": np.asarray(index, dtype=np.int64), **dict(zip(names, cols, strict=True))}


def _directions(d: int, k: int, seed: int) -> np.ndarray:
    from infogauss.stats import random_orthonormal

    return np.ascontiguousarray(as_numpy(random_orthonormal(d, k, seed)).reshape(d, k))


def _summarize(a: dict, null: NullCalibration, counts, sphere, cls):
    """Paper aggregates plus the calibrated fields for one set of tested columns (``counts``: the view's null AD
    passes and columns — Gaussian columns for raw rows, the sphere's for normalised rows, the same law the calibrated
    statistic uses; ``sphere``: the block's simulated null draws, or None)."""
    ok = np.isfinite(a["ad_statistic"]) & np.isfinite(a["dp_pvalue"])
    m = int(ok.sum())
    ad, adp, dpp = a["ad_statistic"][ok], a["ad_pvalue"][ok], a["dp_pvalue"][ok]
    nan = float("nan")
    s = {
        "tested": m,
        "untestable": int((~ok).sum()),
        "ad_mean": float(ad.mean()) if m else nan,
        "ad_pass_fraction": float((ad < AD_THRESHOLD).mean()) if m else nan,
        "dp_mean_p": float(dpp.mean()) if m else nan,
        "dp_pass_fraction": float((dpp > DP_ALPHA).mean()) if m else nan,
        "null_ad_pass_rate": counts[0] / counts[1],  # the view's own null: Gaussian columns, or the sphere's
        "null_dp_pass_rate": null.dp_passes / null.reps,
        "ad_pass_interval": list(pass_interval(m, *counts)) if m else [nan, nan],
        "dp_pass_interval": list(pass_interval(m, null.dp_passes, null.reps)) if m else [nan, nan],
        "ad_combined_pvalue": combine(adp),
        "dp_combined_pvalue": combine(dpp),
        "combined_pvalue": combine(np.concatenate([adp, dpp])),
    }
    s["paper_verdict"] = bool(m and s["ad_mean"] < AD_THRESHOLD and s["dp_mean_p"] > DP_ALPHA)
    stat = view_statistic(ad, adp, *counts) if m else (nan, nan)
    p, how = min(1.0, 2 * stat[0]), "bonferroni"
    if sphere is not None and a["ad_statistic"].size == m:
        p, how = monte_carlo_pvalue(stat, sphere), "monte-carlo"
    s["calibrated_pvalue"], s["calibrated_null"] = p, how
    s["calibrated_verdict"] = bool(m and p > CALIBRATED_ALPHA)  # a Monte-Carlo test rejects at p <= alpha
    return cls(**plain(s))


#: The in-memory engine (numpy, ``np.memmap``, torch); :mod:`infogauss.dask_engine` has the same four names.
MEMORY = SimpleNamespace(NAME="numpy", matrix=_matrix, first_pass=_first_pass, column_tests=_column_tests)
