r"""Dask engine: the Gaussianity report and the Gaussian fit of a ``dask.array`` (data beyond one machine).

:func:`infogauss.gaussianity_report` and :meth:`infogauss.GaussianModel.fit` send a ``dask.array.Array`` here; the
results equal the in-memory ones on the same data (measured: 1e-12 relative or better, ``tests/test_dask.py``),
because every block runs the in-memory engine's own kernels (:func:`infogauss.report.compute.row_norms`,
:func:`~infogauss.report.compute.test_columns`, :class:`infogauss.moments.MomentAccumulator`):

- **rows** (one task per row chunk, rechunked to full width): the row norms of the raw and the L2-normalised rows
  (row-wise, so one pass), the column ranges (min / max reductions), the NaN / Inf and all-zero rows;
- **moments as tree reductions**: the CV and mean of the row norms (paper Eq. 20) and, for the fit, the mean,
  covariance and Ledoit–Wolf moments: a :class:`~infogauss.moments.MomentAccumulator` per row chunk, merged pairwise
  (Chan, Golub & LeVeque 1979; Pébay 2008) in a binary tree;
- **columns**: Anderson–Darling and D'Agostino–Pearson need whole columns (AD sorts each one): the live coordinates
  and the projections ``Z @ P`` (computed per row chunk) are rechunked to blocks of ``n × b`` full columns, and each
  task tests its block raw and divided by the row norms (one ``n``-vector, sent once per worker). DP runs on the same
  blocks: its sample moments come with the AD block at no extra pass over the data.

The simulated nulls of the report depend on ``(n, d)`` only and run on the client. Memory per column task: about
``TEST_COPIES · 8 · n · b`` bytes (the block and the tests' temporaries) plus ``8 n`` for the norms.

Example::

    >>> import dask.array as da                                   # doctest: +SKIP
    >>> Z = da.from_array(np.load("feats.npy", mmap_mode="r"), chunks=(100_000, -1))
    >>> rep = infogauss.gaussianity_report(Z)                    # same numbers as on the numpy array
    >>> g = infogauss.GaussianModel.fit(Z, shrinkage="ledoit-wolf")
"""

from __future__ import annotations

import numpy as np

from infogauss.errors import InputError
from infogauss.extras import require
from infogauss.io import MIN_ROWS
from infogauss.moments import MomentAccumulator
from infogauss.report.compute import (
    ROW_BYTES,
    VIEWS,
    RowPass,
    nonfinite_message,
    row_norms,
    stack_tests,
    test_columns,
    zero_rows_message,
)

NAME = "dask"
MIN_TASKS = 8  # column blocks per kind at least (parallelism), when the memory bound allows more
CHUNK_BYTES = 64 * 2**20  # rows per chunk of arrays read from a .npy file
#: Environment of the worker processes of a local cluster: one thread for the statistics (one worker per core), and
#: glibc's own malloc trimming instead of distributed's MALLOC_TRIM_THRESHOLD_=65536, under which every large
#: temporary of the tests is a fresh mmap (measured: the column tests took 1.6x the CPU, half of it page faults).
#: Set the same in ``distributed.nanny.pre-spawn-environ`` on your own cluster.
LOCAL_WORKER_ENV = {"MALLOC_TRIM_THRESHOLD_": None, "INFOGAUSS_NUM_THREADS": "1"}


def is_dask(x) -> bool:
    return type(x).__module__.startswith("dask")


def matrix(Z, name: str = "Z", min_rows: int = MIN_ROWS):
    """``Z`` checked (numeric, real, 2-D, ``min_rows`` rows, a column) and rechunked to full-width row chunks."""
    require("dask.array", "dask", "a dask.array input")
    dt = np.dtype(Z.dtype)
    if dt.kind == "b" or not np.issubdtype(dt, np.number) or np.issubdtype(dt, np.complexfloating):
        raise InputError(f"{name}: expected real numeric data, got dtype {dt}")
    if Z.ndim != 2:
        raise InputError(f"{name}: expected a 2-D (n_samples, dim) array, got shape {Z.shape}")
    if any(s != s for s in Z.shape):
        raise InputError(f"{name}: the dask array's shape {Z.shape} is unknown; call compute_chunk_sizes() first")
    n, d = Z.shape
    if d == 0 or n < min_rows:
        raise InputError(f"{name}: needs at least {min_rows} rows and one column, got shape {Z.shape}")
    return Z.rechunk({1: -1})


def first_pass(Z, sub, name, show) -> RowPass:
    """One pass over the row chunks (norms, ranges, checks) and the tree-reduced moments of the norms."""
    import dask
    import dask.array as da

    N = Z.map_blocks(_norm_block, dtype=np.float64, chunks=(Z.chunks[0], (2,))).persist()
    bad, zero = ~da.isfinite(N[:, 0]), N[:, 0] == 0
    lo, hi, n_bad, first_bad, n_zero, first_zero, top, sample, sub_norms = dask.compute(
        Z.min(axis=0), Z.max(axis=0), bad.sum(), da.argmax(bad), zero.sum(), da.argmax(zero), N.max(axis=0),
        Z[sub], N[sub, 0])  # fmt: skip
    if n_bad:
        raise InputError(nonfinite_message(name, int(first_bad)))
    if n_zero:
        raise InputError(zero_rows_message(name, int(n_zero), int(first_zero)))
    e = np.frexp(top)[1]  # per column: the norms divided by 2^e (exact) cannot overflow when squared
    acc = tree_moments(N, 0.0, np.ldexp(1.0, e))
    cv = np.sqrt(np.diag(acc.covariance)) / acc.mean
    summary = {view: (float(cv[i]), float(np.ldexp(acc.mean[i], e[i]))) for i, view in enumerate(VIEWS)}
    lo, hi = np.asarray(lo, dtype=np.float64), np.asarray(hi, dtype=np.float64)
    return RowPass(N, summary, sub_norms, np.asarray(sample, dtype=np.float64), lo, hi)


def column_tests(Z, live, P, norms, budget, b, dev, show):
    """AD and DP of every live coordinate and projection, on blocks of ``n × b`` full columns (module doc)."""
    import dask
    from dask import delayed

    n, k = Z.shape[0], P.shape[1]
    b = max(1, min(b, -(-max(live.size, k) // MIN_TASKS)))
    nrm = norms[:, 0].rechunk(n).to_delayed()[0]
    kinds = {"coord": (Z[:, live], live)}
    if k:
        proj = Z.map_blocks(_project, P, dtype=np.float64, chunks=(Z.chunks[0], (k,)))
        kinds["proj"] = (proj, np.arange(k))
    tasks = {kind: [delayed(test_columns)(blk, nrm, dev) for blk in X.rechunk((n, b)).to_delayed().ravel()]
             for kind, (X, _) in kinds.items()}  # fmt: skip
    (done,) = dask.compute(tasks)
    done.setdefault("proj", [])
    index = {"coord": live, "proj": np.arange(k)}
    arrays = {kind: {view: stack_tests([r[i] for r in done[kind]], index[kind]) for i, view in enumerate(VIEWS)}
              for kind in index}  # fmt: skip
    return arrays, len(kinds), b


def tree_moments(X, centre=0.0, unit=1.0) -> MomentAccumulator:
    """The :class:`MomentAccumulator` of the rows ``(X - centre) / unit``: one per row chunk, merged pairwise."""
    from dask import delayed

    parts = [delayed(_block_moments)(blk, centre, unit) for blk in X.rechunk({1: -1}).to_delayed().ravel()]
    while len(parts) > 1:
        pairs = [delayed(_merged)(parts[i], parts[i + 1]) for i in range(0, len(parts) - 1, 2)]
        parts = pairs + parts[len(pairs) * 2 :]
    return parts[0].compute()


def fit_gaussian(Z, shrinkage=None):
    """:meth:`GaussianModel.fit` of a dask array: column ranges (the dead-column rule and the standardisation of
    :meth:`~infogauss.GaussianModel.fit_large`), then the tree-reduced moments of the standardised rows."""
    import dask

    from infogauss.columns import constant_columns, data_dtype, standardisation
    from infogauss.gaussian import GaussianModel
    from infogauss.moments import check_shrinkage, shape_refusal

    method = check_shrinkage(shrinkage)
    Z = matrix(Z, "Z", min_rows=2)
    n, d = Z.shape
    if method is None and n <= d:
        raise shape_refusal(n, d)
    lo, hi = (np.asarray(v, dtype=np.float64) for v in dask.compute(Z.min(axis=0), Z.max(axis=0)))
    if not (np.isfinite(lo).all() and np.isfinite(hi).all()):
        raise InputError("Z: contains NaN or Inf values; remove or impute them first")
    dead = constant_columns(lo, hi, data_dtype(Z))
    centre, unit = standardisation(lo, hi, d)
    acc = tree_moments(Z, centre, unit)
    return GaussianModel.from_moments(acc, shrinkage=method, standardized=(centre, unit), dead=dead)


def from_npy(path, rows: int | None = None):
    """A dask array over the ``.npy`` file ``path``: every task memory-maps the file and reads its row chunk (so the
    graph holds the path, not the data; on a cluster every worker must see ``path``)."""
    da = require("dask.array", "dask", "--dask")
    from dask import delayed

    mm = np.load(path, mmap_mode="r", allow_pickle=False)
    if mm.ndim != 2:
        raise InputError(f"{path}: expected a 2-D (n_samples, dim) array, got shape {mm.shape}")
    n, d = mm.shape
    step = rows or max(1, CHUNK_BYTES // max(1, d * mm.dtype.itemsize))
    parts = [da.from_delayed(delayed(_read_rows)(str(path), r0, min(r0 + step, n)), (min(step, n - r0), d), mm.dtype)
             for r0 in range(0, n, step)]  # fmt: skip
    return da.concatenate(parts, axis=0)


def as_dask(Z):
    """``Z`` as a dask array: as it is if it is one, else an in-memory array split into row chunks."""
    if is_dask(Z):
        return Z
    da = require("dask.array", "dask", "--dask")
    return da.from_array(np.asarray(Z), chunks=(max(1, CHUNK_BYTES // max(1, Z.shape[1] * Z.dtype.itemsize)), -1))


def connect(spec: str):
    """A ``distributed.Client``: ``local`` / ``local:N`` starts a LocalCluster of N worker processes (default: the
    CPU count, one thread each); anything else is a scheduler address (``tcp://host:8786``)."""
    distributed = require("distributed", "dask", "--dask")
    workers = local_workers(spec)
    if workers is not None:
        return local_client(workers)
    try:
        return distributed.Client(spec, timeout=30)
    except (OSError, ValueError, TimeoutError) as exc:
        raise InputError(f"--dask {spec}: cannot reach the scheduler ({' '.join(str(exc).split())[:160]})") from None


def local_client(workers: int):
    """A ``distributed.Client`` owning a LocalCluster of ``workers`` one-thread worker processes (closed with the
    client), each with :data:`LOCAL_WORKER_ENV`."""
    import logging

    import dask
    import distributed

    env = {f"distributed.nanny.pre-spawn-environ.{k}": v for k, v in LOCAL_WORKER_ENV.items()}
    with dask.config.set(env):
        return distributed.Client(n_workers=workers, threads_per_worker=1, processes=True, dashboard_address=None,
                                  silence_logs=logging.ERROR)  # fmt: skip


def local_workers(spec: str) -> int | None:
    """The worker count of ``local`` / ``local:N`` (``local``: the CPU count), None for an address; InputError
    for a malformed ``local:...``."""
    if spec != "local" and not spec.startswith("local:"):
        return None
    n = spec.partition(":")[2]
    if n and not (n.isdigit() and int(n) > 0):
        raise InputError(f"--dask {spec}: use local or local:N with N a positive number of workers")
    import os

    return int(n) if n else (os.cpu_count() or 1)


def _read_rows(path: str, r0: int, r1: int) -> np.ndarray:
    return np.array(np.load(path, mmap_mode="r", allow_pickle=False)[r0:r1])


def _norm_block(x):
    """:func:`row_norms` of a row chunk, ``ROW_BYTES`` of float64 rows at a time (cache-sized temporaries)."""
    out = np.empty((x.shape[0], 2))
    step = max(1, ROW_BYTES // (8 * x.shape[1]))
    with np.errstate(all="ignore"):  # NaN / Inf rows give non-finite norms, reported by the caller
        for r0 in range(0, x.shape[0], step):
            out[r0 : r0 + step, 0], out[r0 : r0 + step, 1] = row_norms(np.asarray(x[r0 : r0 + step], np.float64))
    return out


def _project(x, P):
    return np.asarray(x, dtype=np.float64) @ P


def _block_moments(x, centre, unit) -> MomentAccumulator:
    return MomentAccumulator().update(np.asarray(x, dtype=np.float64) / unit - centre / unit)


def _merged(a: MomentAccumulator, b: MomentAccumulator) -> MomentAccumulator:
    return MomentAccumulator().merge(a).merge(b)
