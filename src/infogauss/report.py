"""The paper's Gaussianity protocol on an embedding matrix, plus a calibrated verdict: :func:`gaussianity_report`.

**The paper's protocol** (Betser et al., ICLR 2026, §5 "Metrics", Eq. 20, Tables 1-2), on the raw embeddings and on
their L2-normalised rows:

- thin shell: ``CV = std_i ||z_i|| / mean_i ||z_i||`` (Eq. 20; ~0 by construction on normalised rows);
- each coordinate j is tested on its own: Anderson-Darling ``A²_j`` ("pass" when ``A² < 0.752``) and the
  D'Agostino-Pearson omnibus test ("pass" when ``p > 0.05``);
- reported: the mean ``A²`` and the fraction of passing coordinates, the mean DP p-value and the fraction of
  passing coordinates; ``paper_verdict = ad_mean < 0.752 and dp_mean_p > 0.05`` (our reading of the ✓/✗ column:
  the paper gives no rule, §4.0 of ``paper.md``).

The same four numbers are given on ``K`` random orthonormal directions (``projections``; default
``K = min(d, 256)``): the theory (Maxwell-Poincaré, paper Lemma 3) is about projections, the paper tests
coordinates.

**What the paper lacks, added here.** A pass fraction means nothing without its null: on a true Gaussian sample a
5% test passes ~95% of coordinates, give or take a binomial spread that shrinks with the number of coordinates.

- ``null_ad_pass_rate`` / ``null_dp_pass_rate``: the pass rates of the *same* tests on ``reps`` (default 2000)
  simulated N(0, 1) columns of the same n (n capped at :data:`NULL_MAX_N`; the finite-n correction of both tests is
  O(1/n), negligible there). Cached per process (:func:`null_calibration`).
- ``ad_pass_interval`` / ``dp_pass_interval``: a 99% interval for the pass fraction of ``m`` *independent* Gaussian
  coordinates: the beta-binomial predictive law ``BetaBinom(m, s + 1/2, reps - s + 1/2)`` (``s`` simulated passes;
  a Jeffreys posterior for the null pass rate, so the simulation's own error is included), 0.5% and 99.5%
  quantiles divided by ``m``. **Dependence widens it**: coordinates of a Gaussian with a non-diagonal covariance
  are each exactly N(μ_j, σ_j²) (so the *expected* pass fraction is unchanged) but their pass events are positively
  correlated, so the pass fraction varies more than the interval says. The interval is exact for whitened or
  independent coordinates and optimistic (too narrow) otherwise; treat a fraction just outside it as a hint.
- ``combined_pvalue``: one p-value for "every tested coordinate is Gaussian", valid under arbitrary dependence
  between coordinates (and between the two tests): the Cauchy combination (Liu & Xie 2020, JASA 115:393) of all
  per-coordinate AD and DP p-values, ``infogauss.stats.cauchy_combination``. ``ad_combined_pvalue`` /
  ``dp_combined_pvalue`` combine one test's p-values.
- ``calibrated_verdict = ad_pass_fraction >= ad_pass_interval[0] and dp_pass_fraction >= dp_pass_interval[0]
  and combined_pvalue >= 0.01``. Pass fractions *above* the interval do not count against Gaussianity.
  With n in the tens of thousands every real embedding fails this verdict: it is a test, not a similarity score.

**Dead coordinates** (numerically constant columns: range at most ``sqrt(d·eps)`` × the largest range or
``1e-12`` × the largest |value|; see :func:`infogauss.stats._validate.constant_columns`) are reported
(``dead_coordinates``) and left out of all
coordinate tests; they stay in the norms and projections, where a constant adds nothing. Rows of zero norm cannot
be normalised: they raise :class:`~infogauss.errors.InputError`.

**Memory.** One code path serves in-memory arrays and memory-mapped ``.npy`` files larger than memory, so both give
the same numbers bit for bit: one pass over row blocks computes the row norms (and the finiteness check, the
dead-column check and a row subsample for geometry and Q-Q plots). Then each further pass over the rows stages as
many columns as fit in ``memory`` bytes (coordinates in the input's dtype; projections ``Z @ P``, computed one row
block at a time, in float64); the staged columns are tested ``block`` at a time: copied to float64, tested raw,
divided by the row norms in place and tested again. Memory is ``memory + O(n · block + rows_per_block · d)``, the
number of passes ``1 + ⌈n·live·itemsize/memory⌉ + ⌈8·n·K/memory⌉`` (one of each when the columns fit).

**Geometry extras** (on a seeded subsample of at most :data:`GEOMETRY_ROWS` rows, with the second view ``pairs`` for
alignment and positive-pair cosines): uniformity (Wang & Isola 2020), the uniformity potential Φ (paper Eq. 4) beside
its value for the uniform law on the sphere, ``||m(μ)||`` (Prop. 1), cosine summaries, the covariance spectrum and
effective rank (Roy & Vetterli 2007), and a Maxwell-Poincaré entry (Lemma 3).

Example::

    >>> import numpy as np, infogauss
    >>> Z = np.random.default_rng(0).normal(size=(2000, 64))
    >>> rep = infogauss.gaussianity_report(Z)
    >>> rep.raw["paper_verdict"], rep.raw["calibrated_verdict"]  # doctest: +SKIP
    (True, True)
    >>> print(rep.summary_table())  # doctest: +SKIP
"""

from __future__ import annotations

import functools
import math
from dataclasses import dataclass, field

import numpy as np

from infogauss.constants import AD_THRESHOLD, CALIBRATED_ALPHA, DP_ALPHA, NULL_SEED
from infogauss.errors import InputError
from infogauss.io import as_embedding_matrix
from infogauss.stats._validate import constant_columns

NULL_REPS = 2000  # simulated Gaussian columns behind the null pass rates
NULL_MAX_N = 20_000  # the null is simulated at min(n, NULL_MAX_N)
GEOMETRY_ROWS = 5000  # rows (seeded subsample) for the spectrum, effective rank and the Q-Q samples
PAIRWISE_ROWS = 1000  # rows of that subsample for the O(rows²) extras (uniformity, Φ, cosines, Maxwell-Poincaré)
PHI_ALPHA = 10.0  # alpha = 1/tau of the uniformity potential; tau = 0.1 in the paper's experiments
STAGE_BYTES = 1024 * 2**20  # default memory for the columns staged by one pass over the rows
TEST_BYTES = 256 * 2**20  # default memory for one block of tested columns and the tests' temporaries
ROW_BYTES = 8 * 2**20  # memory for one block of input rows (float64)
_TEST_COPIES = 8  # float64 copies of a tested block alive at once: the block + ~6 in anderson_darling (measured)


# ---------------------------------------------------------------------------------------------- null calibration


@dataclass(frozen=True)
class NullCalibration:
    """AD and DP on ``reps`` simulated N(0, 1) columns of length ``n``: the reference for pass fractions."""

    n: int
    reps: int
    seed: int
    ad_statistic: np.ndarray
    ad_pvalue: np.ndarray
    dp_pvalue: np.ndarray

    @property
    def ad_passes(self) -> int:
        return int((self.ad_statistic < AD_THRESHOLD).sum())

    @property
    def dp_passes(self) -> int:
        return int((self.dp_pvalue > DP_ALPHA).sum())


@functools.lru_cache(maxsize=8)
def null_calibration(n: int, reps: int = NULL_REPS, seed: int = NULL_SEED, device: str | None = None):
    """Run the coordinate tests on ``reps`` simulated Gaussian columns of length ``min(n, NULL_MAX_N)``; cached."""
    n = int(min(n, NULL_MAX_N))
    rng = np.random.default_rng(seed)
    step = max(1, TEST_BYTES // (_TEST_COPIES * 8 * n))  # same memory bound as the tested blocks
    ad, adp, dpp = [], [], []
    for c0 in range(0, reps, step):
        x = rng.standard_normal((min(step, reps - c0), n)).T  # column by column: the same null for any step
        a_stat, a_p, _, d_p = _coordinate_tests(x, device)
        ad.append(a_stat), adp.append(a_p), dpp.append(d_p)
    return NullCalibration(n, reps, seed, np.concatenate(ad), np.concatenate(adp), np.concatenate(dpp))


def pass_interval(m: int, passes: int, reps: int, level: float = 1 - CALIBRATED_ALPHA) -> tuple[float, float]:
    """``level`` interval for the pass fraction of ``m`` independent null columns, given ``passes`` of ``reps``.

    Beta-binomial predictive law: the null pass rate has the Jeffreys posterior Beta(passes + 1/2, reps - passes
    + 1/2); given it the number of passing columns is Binomial(m, rate). Returns the (1-level)/2 and (1+level)/2
    quantiles divided by ``m``.
    """
    from scipy.stats import betabinom

    law = betabinom(m, passes + 0.5, reps - passes + 0.5)
    tail = (1 - level) / 2
    return float(law.ppf(tail) / m), float(law.ppf(1 - tail) / m)


# ---------------------------------------------------------------------------------------------- the report


@dataclass
class GaussianityReport:
    """Result of :func:`gaussianity_report`. ``raw`` / ``normalized`` / ``geometry`` are plain dicts (see
    :meth:`to_dict`); ``per_coordinate`` / ``per_projection`` hold the per-column numpy arrays
    (``index``, ``ad_statistic``, ``ad_pvalue``, ``dp_statistic``, ``dp_pvalue`` for each view); ``null`` the
    simulated reference; ``samples`` small arrays for plots (row-subsample values of a few columns, norms,
    the covariance spectrum)."""

    n: int
    d: int
    raw: dict
    normalized: dict
    dead_coordinates: np.ndarray
    geometry: dict
    settings: dict
    source: str = "Z"
    dtype: str = "float64"
    per_coordinate: dict = field(default_factory=dict, repr=False)
    per_projection: dict = field(default_factory=dict, repr=False)
    null: NullCalibration | None = field(default=None, repr=False)
    samples: dict = field(default_factory=dict, repr=False)

    def to_dict(self, per_coordinate: bool = False) -> dict:
        """Plain JSON types with stable keys: ``n``, ``d``, ``raw`` / ``normalized`` (each with ``cv``, ``ad_mean``,
        ``ad_pass_fraction``, ``dp_mean_p``, ``dp_pass_fraction``, ``paper_verdict``, the calibrated fields and a
        ``projections`` sub-dict), ``dead_coordinates``, ``geometry``, ``calibration``, ``settings``.
        ``per_coordinate=True`` adds the per-coordinate and per-projection statistics as lists. Undefined numbers
        (NaN, e.g. when no coordinate could be tested) become ``None``, so the result is strict JSON."""
        import infogauss

        out = {
            "n": self.n,
            "d": self.d,
            "source": self.source,
            "dtype": self.dtype,
            "tested_coordinates": int(self.d - len(self.dead_coordinates)),
            "dead_coordinates": {
                "count": int(len(self.dead_coordinates)),
                "indices": [int(i) for i in self.dead_coordinates],
            },
            "raw": self.raw,
            "normalized": self.normalized,
            "geometry": self.geometry,
            "calibration": {
                "null_n": self.null.n if self.null else None,
                "null_reps": self.null.reps if self.null else None,
                "null_seed": self.null.seed if self.null else None,
                "interval_level": 1 - CALIBRATED_ALPHA,
                "alpha": CALIBRATED_ALPHA,
                "interval_method": "beta-binomial predictive, Jeffreys posterior of the simulated null pass rate; "
                "assumes independent coordinates (dependence widens it)",
                "combination": "Cauchy combination (Liu & Xie 2020) of per-coordinate AD and DP p-values",
            },
            "settings": self.settings,
            "version": infogauss.__version__,
        }
        if per_coordinate:
            out["per_coordinate"] = _lists(self.per_coordinate)
            out["per_projection"] = _lists(self.per_projection)
        return _json_safe(_plain(out))

    def summary_table(self) -> str:
        """A short fixed-width table for the terminal."""
        head = f"{'':24s}{'CV':>8s}{'AD mean':>9s}{'AD pass':>9s}{'null 99%':>14s}{'DP mean p':>11s}"
        head += f"{'DP pass':>9s}{'null 99%':>14s}{'comb. p':>10s}{'paper':>7s}{'calib.':>8s}"
        lines = [
            f"Gaussianity of {self.source}: n={self.n}, d={self.d}, "
            f"{len(self.dead_coordinates)} dead coordinate(s), {self.raw['projections']['k']} random projections",
            head,
        ]
        for name, view in (("raw", self.raw), ("normalized", self.normalized)):
            for label, s in ((f"{name} coordinates", view), (f"{name} projections", view["projections"])):
                cv = f"{view['cv']:8.4f}" if s is view else f"{'':8s}"
                lines.append(
                    f"{label:24s}{cv}{_num(s['ad_mean'], 9)}{_pct(s['ad_pass_fraction'], 9)}"
                    f"{_interval(s['ad_pass_interval']):>14s}{_num(s['dp_mean_p'], 11)}{_pct(s['dp_pass_fraction'], 9)}"
                    f"{_interval(s['dp_pass_interval']):>14s}{_pval(s['combined_pvalue'], 10)}"
                    f"{_yes(s['paper_verdict']):>7s}{_yes(s['calibrated_verdict']):>8s}"
                )
        return "\n".join(lines)

    def to_markdown(self) -> str:
        """A readable Markdown report: the paper's table, the calibrated checks, geometry and how to read them."""
        md = [f"# Gaussianity report: {self.source}", ""]
        md.append(
            f"n = {self.n} embeddings, d = {self.d} coordinates ({self.dtype}); "
            f"{len(self.dead_coordinates)} dead (constant) coordinate(s) left out of the tests"
            + (f" (indices {_short_list(self.dead_coordinates)})" if len(self.dead_coordinates) else "")
            + f"; {self.raw['projections']['k']} random orthonormal projections (seed {self.settings['seed']})."
        )
        md += ["", "## The paper's protocol (Tables 1-2)", ""]
        md.append(
            "| embeddings | tested | CV | AD avg (<0.752) | AD pass % | DP avg p (>0.05) | DP pass % | Gaussian? |"
        )
        md.append("|---|---|---|---|---|---|---|---|")
        for name, view in (("raw", self.raw), ("normalized", self.normalized)):
            for label, s in ((f"{name}, coordinates", view), (f"{name}, projections", view["projections"])):
                cv = f"{view['cv']:.4g}" if s is view else ""
                md.append(
                    f"| {label} | {s['tested']} | {cv} | {_fmt(s['ad_mean'])} | {_fmt_pct(s['ad_pass_fraction'])} | "
                    f"{_fmt(s['dp_mean_p'])} | {_fmt_pct(s['dp_pass_fraction'])} | {_check(s['paper_verdict'])} |"
                )
        null = self.null
        md += ["", "## Calibrated against a Gaussian sample of the same size", ""]
        if null is not None:
            md.append(
                f"Null pass rates from {null.reps} simulated N(0,1) columns of n = {null.n}: "
                f"AD {_fmt_pct(null.ad_passes / null.reps)}%, DP {_fmt_pct(null.dp_passes / null.reps)}%. "
                "Intervals: 99% for the pass fraction of that many *independent* Gaussian coordinates "
                "(dependent coordinates spread wider). Combined p: Cauchy combination of every per-coordinate "
                "AD and DP p-value, valid under dependence."
            )
            md.append("")
        md.append("| embeddings | AD pass % | null 99% | DP pass % | null 99% | combined p | calibrated verdict |")
        md.append("|---|---|---|---|---|---|---|")
        for name, view in (("raw", self.raw), ("normalized", self.normalized)):
            for label, s in ((f"{name}, coordinates", view), (f"{name}, projections", view["projections"])):
                md.append(
                    f"| {label} | {_fmt_pct(s['ad_pass_fraction'])} | {_interval(s['ad_pass_interval'])} | "
                    f"{_fmt_pct(s['dp_pass_fraction'])} | {_interval(s['dp_pass_interval'])} | "
                    f"{_fmt_p(s['combined_pvalue'])} | {_check(s['calibrated_verdict'])} |"
                )
        md += ["", _reading(self), ""]
        if self.geometry:
            md += ["## Geometry", "", "| quantity | value | reference |", "|---|---|---|"]
            md += [f"| {k} | {v} | {r} |" for k, v, r in _geometry_rows(self.geometry)]
            md.append("")
        md += ["## Settings", "", "```", *(f"{k}: {v}" for k, v in self.settings.items()), "```", ""]
        return "\n".join(md)


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
    name : str
        Name of the input in messages and in the report (the CLI passes the file path).
    """
    Z = as_embedding_matrix(Z, what=name, check_finite=False)  # finiteness: checked in the first pass
    n, d = Z.shape
    if pairs is not None:
        pairs = as_embedding_matrix(pairs, what="pairs")
        if pairs.shape != Z.shape:
            raise InputError(f"pairs: must have the same shape as {name} {Z.shape}, got {pairs.shape}")
    k = min(d, 256) if projections is None else int(projections)
    if not 0 <= k <= d:
        raise InputError(f"projections: must be between 0 and d = {d}, got {k}")
    if block is not None and int(block) < 1:
        raise InputError(f"block: must be a positive number of columns, got {block}")
    if memory is not None and int(memory) < 1:
        raise InputError(f"memory: must be a positive number of bytes, got {memory}")
    dev = None if device is None else str(device)
    show = (n * d > 5 * 10**7) if progress is None else bool(progress)

    rows = _row_blocks(n, d)
    rng = np.random.default_rng(seed)
    sub = np.sort(rng.choice(n, size=min(n, GEOMETRY_ROWS), replace=False))

    from tqdm.auto import tqdm

    # Pass 1 over the rows: norms, finiteness, constant columns, the row subsample.
    norms, unit_norms, lo, hi, sample = _first_pass(Z, rows, sub, name, show, tqdm)
    if (norms == 0).any():
        i = int(np.argmax(norms == 0))
        raise InputError(
            f"{name}: {(norms == 0).sum()} row(s) are all zero (first: row {i}) and cannot be L2-normalised; drop them"
        )
    dead = constant_columns(hi - lo, np.maximum(np.abs(lo), np.abs(hi)))
    live = np.setdiff1d(np.arange(d), dead)
    if live.size == 0:
        raise InputError(f"{name}: all {d} columns are constant; nothing to test")
    P = _directions(d, k, seed) if k else np.zeros((d, 0))
    geo, geo_arrays = {}, {}  # geometry needs only the row subsample: done before the long column passes
    if geometry:
        pair_sample = None if pairs is None else np.asarray(pairs[sub], dtype=np.float64)
        geo, geo_arrays = _geometry(sample, pair_sample, seed)

    # Column passes: each pass over the rows stages up to `memory` bytes of columns (coordinates in the input's
    # dtype, projections Z @ P in float64); the staged columns are then tested `block` at a time in float64.
    budget = int(memory) if memory is not None else STAGE_BYTES
    b = int(block) if block is not None else max(1, TEST_BYTES // (_TEST_COPIES * 8 * n))
    s_coord = max(1, budget // (n * Z.dtype.itemsize))
    s_proj = max(1, budget // (n * 8))
    passes = [("coord", live[i : i + s_coord]) for i in range(0, live.size, s_coord)]
    passes += [("proj", np.arange(i, min(i + s_proj, k))) for i in range(0, k, s_proj)]
    per = {kind: {view: [] for view in ("raw", "normalized")} for kind in ("coord", "proj")}
    rowbuf = np.empty((rows[0][1] - rows[0][0], d)) if k else None
    n_blocks = sum(-(-cols.size // b) for _, cols in passes)
    bar = tqdm(total=n_blocks, desc="column tests", unit="block", disable=not show, leave=False)
    stage = None
    for i, (kind, cols) in enumerate(passes):
        bar.set_postfix_str(f"pass {i + 1}/{len(passes)} over the rows")
        del stage  # free the previous pass's columns before staging the next
        if kind == "coord":
            stage = np.empty((n, cols.size), dtype=Z.dtype)
            sel = slice(cols[0], cols[-1] + 1) if cols[-1] - cols[0] + 1 == cols.size else cols
            for r0, r1 in rows:
                stage[r0:r1] = Z[r0:r1, sel]
        else:
            stage = np.empty((n, cols.size))
            Pk = np.ascontiguousarray(P[:, cols])
            for r0, r1 in rows:
                rowbuf[: r1 - r0] = Z[r0:r1]
                np.matmul(rowbuf[: r1 - r0], Pk, out=stage[r0:r1])
        for j0 in range(0, cols.size, b):
            x = np.array(stage[:, j0 : j0 + b], dtype=np.float64, order="C")
            per[kind]["raw"].append(_coordinate_tests(x, dev))
            x[...] = stage[:, j0 : j0 + b]  # refill: never rely on a test leaving its input untouched
            x /= norms[:, None]
            per[kind]["normalized"].append(_coordinate_tests(x, dev))
            del x
            bar.update(1)
    del stage
    bar.close()

    null = null_calibration(n, int(null_reps), NULL_SEED, dev)
    arrays = {
        kind: {view: _stack(per[kind][view], live if kind == "coord" else np.arange(k)) for view in per[kind]}
        for kind in per
    }
    views = {}
    for view, vnorms in (("raw", norms), ("normalized", unit_norms)):
        summary = {"cv": _stat("norm_cv", vnorms[:, None]), "mean_norm": _stat("mean_norm", vnorms[:, None])}
        summary.update(_summarize(arrays["coord"][view], null))
        summary["projections"] = {"k": k, **_summarize(arrays["proj"][view], null)}
        views[view] = summary

    samples = {"norms": norms[sub], "rows": sub, "qq": _qq_samples(sample, norms[sub], arrays, P), **geo_arrays}
    settings = {
        "seed": seed,
        "projections": k,
        "ad_threshold": AD_THRESHOLD,
        "dp_alpha": DP_ALPHA,
        "block_columns": b,
        "column_passes": len(passes),
        "stage_bytes": budget,
        "device": dev or "cpu",
        "null_reps": int(null_reps),
        "geometry_rows": int(sub.size),
        "pairs": pairs is not None,
    }
    return GaussianityReport(
        n=n,
        d=d,
        raw=views["raw"],
        normalized=views["normalized"],
        dead_coordinates=dead,
        geometry=geo,
        settings=settings,
        source=name,
        dtype=str(Z.dtype),
        per_coordinate=arrays["coord"],
        per_projection=arrays["proj"],
        null=null,
        samples=samples,
    )


# ---------------------------------------------------------------------------------------------- pieces


def _row_blocks(n: int, d: int) -> list[tuple[int, int]]:
    step = max(1, ROW_BYTES // (8 * d))
    return [(r0, min(r0 + step, n)) for r0 in range(0, n, step)]


def _first_pass(Z, rows, sub, name, show, tqdm):
    n, d = Z.shape
    norms = np.empty(n)
    unit_norms = np.empty(n)
    lo = np.full(d, np.inf)
    hi = np.full(d, -np.inf)
    sample = np.empty((sub.size, d))
    blk = np.empty((rows[0][1] - rows[0][0], d))
    for r0, r1 in tqdm(rows, desc="row norms", unit="block", disable=not show, leave=False):
        x = blk[: r1 - r0]
        x[...] = Z[r0:r1]
        if not np.isfinite(x).all():
            bad = r0 + int(np.argmin(np.isfinite(x).all(axis=1)))
            raise InputError(f"{name}: contains NaN or Inf values (first in row {bad}); remove or impute them first")
        norms[r0:r1] = np.sqrt(np.einsum("ij,ij->i", x, x))
        with np.errstate(divide="ignore", invalid="ignore"):
            u = x / norms[r0:r1, None]
        unit_norms[r0:r1] = np.sqrt(np.einsum("ij,ij->i", u, u))
        np.minimum(lo, x.min(axis=0), out=lo)
        np.maximum(hi, x.max(axis=0), out=hi)
        i0, i1 = np.searchsorted(sub, [r0, r1])
        sample[i0:i1] = x[sub[i0:i1] - r0]
    return norms, unit_norms, lo, hi, sample


def _coordinate_tests(x: np.ndarray, device):
    """AD statistic, AD p-value, DP statistic, DP p-value for every column of ``x`` (numpy float64 arrays)."""
    from infogauss.stats import anderson_darling, dagostino_pearson

    ad = anderson_darling(x, axis=0, device=device)
    dp = dagostino_pearson(x, axis=0, device=device)
    return tuple(_np(v) for v in (ad.statistic, ad.pvalue, dp.statistic, dp.pvalue))


def _np(v) -> np.ndarray:
    if type(v).__module__.startswith("torch"):
        v = v.detach().cpu().numpy()
    return np.atleast_1d(np.asarray(v, dtype=np.float64))


def _stack(parts, index) -> dict:
    names = ("ad_statistic", "ad_pvalue", "dp_statistic", "dp_pvalue")
    if not parts:
        return {"index": np.asarray(index, dtype=np.int64), **{k: np.empty(0) for k in names}}
    cols = [np.concatenate(c) for c in zip(*parts, strict=True)]
    return {"index": np.asarray(index, dtype=np.int64), **dict(zip(names, cols, strict=True))}


def _directions(d: int, k: int, seed: int) -> np.ndarray:
    from infogauss.stats import random_orthonormal

    P = _np(random_orthonormal(d, k, seed))
    if P.shape != (d, k):
        P = P.reshape(-1, k) if P.size == d * k else P
    if P.shape != (d, k):
        raise RuntimeError(f"random_orthonormal({d}, {k}) returned shape {P.shape}, expected ({d}, {k})")
    return np.ascontiguousarray(P)


def _stat(fname: str, *args, **kwargs):
    from infogauss import stats

    return _plain(getattr(stats, fname)(*args, **kwargs))


def _combine(p: np.ndarray) -> float:
    """Cauchy combination of ``p``. p-values that under/overflowed to exactly 0 or 1 are moved to the nearest
    representable values first (an exact 0 and an exact 1 together would make the combination 0·∞ = NaN); the
    smallest p then dominates, as it should."""
    from infogauss.stats import cauchy_combination

    if p.size == 0:
        return float("nan")
    res = cauchy_combination(np.clip(p, np.finfo(np.float64).tiny, np.nextafter(1.0, 0.0)), axis=-1)
    return float(_np(getattr(res, "pvalue", res))[0])


def _summarize(a: dict, null: NullCalibration) -> dict:
    """Paper aggregates plus the calibrated fields for one set of tested columns."""
    ok = np.isfinite(a["ad_statistic"]) & np.isfinite(a["dp_pvalue"])
    m = int(ok.sum())
    ad, adp, dpp = a["ad_statistic"][ok], a["ad_pvalue"][ok], a["dp_pvalue"][ok]
    if m == 0:
        nan = float("nan")
        return {
            "tested": 0,
            "untestable": int((~ok).sum()),
            "ad_mean": nan,
            "ad_pass_fraction": nan,
            "dp_mean_p": nan,
            "dp_pass_fraction": nan,
            "paper_verdict": False,
            "null_ad_pass_rate": null.ad_passes / null.reps,
            "null_dp_pass_rate": null.dp_passes / null.reps,
            "ad_pass_interval": [nan, nan],
            "dp_pass_interval": [nan, nan],
            "ad_combined_pvalue": nan,
            "dp_combined_pvalue": nan,
            "combined_pvalue": nan,
            "calibrated_verdict": False,
        }
    s = {
        "tested": m,
        "untestable": int((~ok).sum()),
        "ad_mean": float(ad.mean()),
        "ad_pass_fraction": float((ad < AD_THRESHOLD).mean()),
        "dp_mean_p": float(dpp.mean()),
        "dp_pass_fraction": float((dpp > DP_ALPHA).mean()),
    }
    s["paper_verdict"] = bool(s["ad_mean"] < AD_THRESHOLD and s["dp_mean_p"] > DP_ALPHA)
    s["null_ad_pass_rate"] = null.ad_passes / null.reps
    s["null_dp_pass_rate"] = null.dp_passes / null.reps
    s["ad_pass_interval"] = list(pass_interval(m, null.ad_passes, null.reps))
    s["dp_pass_interval"] = list(pass_interval(m, null.dp_passes, null.reps))
    s["ad_combined_pvalue"] = _combine(adp)
    s["dp_combined_pvalue"] = _combine(dpp)
    s["combined_pvalue"] = _combine(np.concatenate([adp, dpp]))
    s["calibrated_verdict"] = bool(
        s["ad_pass_fraction"] >= s["ad_pass_interval"][0]
        and s["dp_pass_fraction"] >= s["dp_pass_interval"][0]
        and s["combined_pvalue"] >= CALIBRATED_ALPHA
    )
    return s


def _qq_samples(sample, sub_norms, arrays, P) -> dict:
    """Row-subsample values of the worst, median and best coordinate and projection (by raw AD statistic)."""
    out = {}
    for kind in ("coord", "proj"):
        a = arrays[kind]["raw"]
        ok = np.flatnonzero(np.isfinite(a["ad_statistic"]))
        if ok.size == 0:
            continue
        order = ok[np.argsort(a["ad_statistic"][ok], kind="stable")]
        picks = {"best": order[0], "median": order[order.size // 2], "worst": order[-1]}
        for label, i in picks.items():
            j = int(a["index"][i])
            v = sample[:, j] if kind == "coord" else sample @ P[:, j]
            name = f"coordinate {j}" if kind == "coord" else f"projection {j}"
            out[f"{name} ({label} AD)"] = {
                "raw": v,
                "normalized": v / sub_norms,
                "ad_statistic": float(a["ad_statistic"][i]),
                "kind": kind,
            }
    return out


def _geometry(sample, pair_sample, seed) -> tuple[dict, dict]:
    """Geometry extras on the row subsample (and its positive pairs); returns (summary dict, arrays for plots).

    Spectrum and effective rank use the whole subsample; the pairwise quantities (O(rows²): uniformity, Φ,
    cosines, Maxwell-Poincaré with its Henze-Zirkler part) a seeded sub-subsample of :data:`PAIRWISE_ROWS` rows."""
    n, d = sample.shape
    pick = np.sort(np.random.default_rng(seed + 1).choice(n, size=min(n, PAIRWISE_ROWS), replace=False))
    x = sample[pick]
    y = None if pair_sample is None else pair_sample[pick]
    m = x.shape[0]
    g = {"rows": int(n), "pairwise_rows": int(m)}
    if y is not None:
        g["alignment"] = _stat("alignment", x, y)
    g["uniformity_t2"] = {"value": _stat("uniformity", x, 2), "uniform_sphere": _phi_uniform(d, 4.0) - 4.0}
    phi = _stat("uniformity_potential", x, PHI_ALPHA)
    g["uniformity_potential"] = {"alpha": PHI_ALPHA, "value": phi, "uniform_sphere": _phi_uniform(d, PHI_ALPHA)}
    g["mean_embedding_norm"] = {"value": _stat("mean_embedding_norm", x), "uniform_sphere": 1 / math.sqrt(m)}
    # cosine_summary gathers the rows of its sampled pairs (pairs x d floats, a few copies): keep that near 64 MiB
    cos = _stat_raw("cosine_summary", x, y, seed=seed, max_pairs=int(np.clip(2**26 // (24 * d), 2000, 20_000)))
    g["cosine"] = {"negative": _cos(cos.negative)}
    extra = {"negative_cosines": cos.negative.sample}
    if y is not None:
        g["cosine"]["positive"] = _cos(cos.positive)
        extra["positive_cosines"] = cos.positive.sample
    spec = np.clip(_np(_stat_raw("covariance_spectrum", sample)), 0, None)
    extra["spectrum"] = spec
    total = spec.sum()
    erank = _stat("effective_rank", sample)
    g["isotropy"] = {
        "effective_rank": erank,
        "effective_rank_fraction": erank / min(n, d),
        "top_eigenvalue_fraction": float(spec[0] / total) if total > 0 else float("nan"),
        "top10_eigenvalue_fraction": float(spec[:10].sum() / total) if total > 0 else float("nan"),
        "eigenvalue_max_over_mean": float(spec[0] / spec.mean()) if total > 0 else float("nan"),
    }
    if d >= 8:  # k = 3 directions per subspace; the Diaconis-Freedman bound needs k <= d - 4
        mp = _stat_raw("maxwell_poincare", x, k=3, n_subspaces=10, seed=seed)
        g["maxwell_poincare"] = {
            "k": mp.k,
            "subspaces": mp.n_subspaces,
            "pvalue": mp.pvalue,
            "tv_bound": mp.tv_bound,
            "ad_pass_fraction": mp.ad_pass_fraction,
            "dp_pass_fraction": mp.dp_pass_fraction,
            "moment_pvalue_min": float(np.nanmin(mp.moment_pvalue)),
            "hz_pvalue_min": float(np.nanmin(mp.hz_pvalue)),
        }
    return _plain(g), extra


def _stat_raw(fname, *args, **kwargs):
    from infogauss import stats

    return getattr(stats, fname)(*args, **kwargs)


def _phi_uniform(d: int, alpha: float) -> float:
    """Φ(σ) for the uniform law on S^{d-1} (docstring of ``stats.uniformity_potential``): the log of the von
    Mises-Fisher normaliser ``Γ(ν+1) (2/α)^ν I_ν(α)``, ν = d/2 - 1, which is the series ``0F1(; ν+1; α²/4)``
    (``scipy.special.hyp0f1``; no underflow of ``I_ν`` at large d, where Φ(σ) ≈ α²/(2d))."""
    from scipy.special import hyp0f1

    return float(math.log(hyp0f1(d / 2, alpha * alpha / 4)))


def _cos(c) -> dict:
    q = c.quantiles
    return {"mean": c.mean, "std": c.std, "q05": q.get(0.05), "q50": q.get(0.5), "q95": q.get(0.95), "pairs": c.count}


# ---------------------------------------------------------------------------------------------- formatting


def _plain(x):
    """numpy / torch scalars and arrays -> Python floats, ints, bools, lists (NaN stays NaN)."""
    if isinstance(x, dict):
        return {str(k): _plain(v) for k, v in x.items()}
    if isinstance(x, (list, tuple)):
        return [_plain(v) for v in x]
    if type(x).__module__.startswith("torch"):
        x = x.detach().cpu().numpy()
    if isinstance(x, np.ndarray):
        return x.item() if x.ndim == 0 else [_plain(v) for v in x.tolist()]
    if isinstance(x, np.bool_):
        return bool(x)
    if isinstance(x, np.integer):
        return int(x)
    if isinstance(x, np.floating):
        return float(x)
    if hasattr(x, "_asdict"):
        return _plain(x._asdict())
    return x


def _json_safe(x):
    """NaN / ±Inf -> None, so ``json.dumps(..., allow_nan=False)`` works (strict JSON)."""
    if isinstance(x, dict):
        return {k: _json_safe(v) for k, v in x.items()}
    if isinstance(x, list):
        return [_json_safe(v) for v in x]
    if isinstance(x, float) and not math.isfinite(x):
        return None
    return x


def _lists(per: dict) -> dict:
    return {view: {k: v.tolist() for k, v in arr.items()} for view, arr in per.items()}


def _num(x, w):
    return f"{x:{w}.3f}" if x == x else f"{'nan':>{w}s}"


def _pct(x, w):
    return f"{100 * x:{w - 1}.1f}%" if x == x else f"{'nan':>{w}s}"


def _pval(p, w):
    return f"{p:{w}.2g}" if p == p else f"{'nan':>{w}s}"


def _interval(iv):
    lo, hi = iv
    return "—" if lo != lo else f"[{100 * lo:.1f}, {100 * hi:.1f}]"


def _yes(v):
    return "yes" if v else "no"


def _check(v):
    return "✓" if v else "✗"


def _fmt(x):
    return "nan" if x != x else f"{x:.4g}"


def _fmt_pct(x):
    return "nan" if x != x else f"{100 * x:.1f}"


def _fmt_p(p):
    return "nan" if p != p else f"{p:.3g}"


def _short_list(idx, k=10):
    s = ", ".join(str(int(i)) for i in idx[:k])
    return s + (", ..." if len(idx) > k else "")


def _reading(rep: GaussianityReport) -> str:
    r = rep.raw
    lines = ["How to read this:"]
    lines.append(
        f"- The paper's verdict on the raw coordinates is {_check(r['paper_verdict'])}: it only asks that the "
        "average A² be under 0.752 and the average DP p-value over 0.05, which a sample can satisfy while many "
        "coordinates fail."
    )
    lines.append(
        f"- The calibrated verdict is {_check(r['calibrated_verdict'])}: pass fractions are compared with what "
        "Gaussian coordinates of the same n give, and the combined p-value tests all coordinates at once "
        f"(level {CALIBRATED_ALPHA}). With large n, small departures from Gaussianity are detected, so a ✗ here "
        "can coexist with a ✓ from the paper's rule."
    )
    lines.append(
        "- Projections test random directions, which is what the theory (Maxwell-Poincaré) is about; "
        "coordinates are what the paper tests."
    )
    return "\n".join(lines)


def _geometry_rows(g: dict):
    def f(x):
        return "nan" if x is None or x != x else f"{x:.4g}"

    yield "rows used", f"{g['rows']} (pairwise: {g['pairwise_rows']})", "seeded subsamples"
    if "alignment" in g:
        yield "alignment E‖û−v̂‖² (Wang & Isola)", f(g["alignment"]), "0 for identical views"
    u = g["uniformity_t2"]
    yield "uniformity log E exp(−2‖û_i−û_j‖²)", f(u["value"]), f"{f(u['uniform_sphere'])} for uniform on the sphere"
    phi = g["uniformity_potential"]
    yield f"Φ (α = {phi['alpha']:g}, Eq. 4)", f(phi["value"]), f"{f(phi['uniform_sphere'])} for uniform on the sphere"
    m = g["mean_embedding_norm"]
    yield "‖m(μ)‖ (Prop. 1)", f(m["value"]), f"≈ {f(m['uniform_sphere'])} (1/√rows) for uniform"
    for kind in ("positive", "negative"):
        c = g["cosine"].get(kind)
        if c:
            yield (
                f"{kind}-pair cosine mean ± std",
                f"{f(c['mean'])} ± {f(c['std'])}",
                f"5/50/95%: {f(c['q05'])} / {f(c['q50'])} / {f(c['q95'])}",
            )
    iso = g["isotropy"]
    yield "effective rank (Roy & Vetterli)", f(iso["effective_rank"]), f"{f(iso['effective_rank_fraction'])} of max"
    yield "top eigenvalue / total variance", f(iso["top_eigenvalue_fraction"]), "1/d for isotropic"
    yield "top-10 eigenvalues / total", f(iso["top10_eigenvalue_fraction"]), "10/d for isotropic"
    mp = g.get("maxwell_poincare")
    if mp:
        yield (
            f"Maxwell-Poincaré p ({mp['subspaces']} random {mp['k']}-dim projections of √d·û)",
            f(mp["pvalue"]),
            f"Lemma 3; TV bound {f(mp['tv_bound'])} for uniform (Thm 2)",
        )
