r"""The one rule for dead (constant) columns, and overflow-free per-column ranges.

A column :math:`j` with smallest value :math:`l_j` and largest :math:`h_j` is **dead** when its range is at the level
of rounding of its own magnitude:

.. math:: h_j - l_j \le \mathrm{RTOL}_{\text{dtype}} \cdot \max(|l_j|, |h_j|),
   \qquad \mathrm{RTOL}_{\text{dtype}} = 8\,\varepsilon_{\text{dtype}}

(:math:`\varepsilon` of the data's own floating dtype: 1.8e-15 for float64, 9.5e-7 for float32, 7.8e-3 for float16;
integers are exact, so only an exactly constant integer column is dead). An all-zero column is dead. The rule looks at
each column alone, so it is invariant to rescaling or shifting any column by any amount a float can hold: a column
multiplied by 1e10, shifted by 1e12 or living at 1e-300 is never called dead, and other columns are never judged
against it. It is the rule of ``infogauss analyze`` (the report), ``infogauss fit`` and :class:`GaussianModel`.

Differences are formed from halves (``h/2 - l/2``), so values near the float64 limit (±1.8e308) never overflow.
"""

from __future__ import annotations

import numpy as np

from infogauss.errors import InputError

BLOCK_BYTES = 64 * 2**20  # bytes of float64 read at a time by column_ranges


def rtol(dtype=np.float64) -> float:
    """:math:`8\\varepsilon` of ``dtype`` when it is a float; ``0`` for integers (exact)."""
    dt = np.dtype(dtype)
    return 8.0 * float(np.finfo(dt).eps) if np.issubdtype(dt, np.floating) else 0.0


def constant_columns(lo, hi, dtype=np.float64) -> np.ndarray:
    """Indices of dead columns given each column's smallest (``lo``) and largest (``hi``) value (see the module)."""
    lo = np.asarray(lo, dtype=np.float64)
    hi = np.asarray(hi, dtype=np.float64)
    half_range = hi / 2.0 - lo / 2.0
    magnitude = np.maximum(np.abs(lo), np.abs(hi))
    return np.flatnonzero(half_range <= (rtol(dtype) / 2.0) * magnitude)


def column_ranges(Z, block_bytes: int = BLOCK_BYTES) -> tuple[np.ndarray, np.ndarray]:
    """``(lo, hi)``: smallest and largest value of every column of an ``(n, d)`` array, one row block at a time (a
    memory map is never read into memory at once)."""
    n, d = Z.shape
    step = max(1, block_bytes // max(1, 8 * d))
    lo = np.full(d, np.inf)
    hi = np.full(d, -np.inf)
    for r0 in range(0, n, step):
        b = np.asarray(Z[r0 : r0 + step])
        np.minimum(lo, b.min(axis=0), out=lo)
        np.maximum(hi, b.max(axis=0), out=hi)
    return lo, hi


def data_dtype(Z) -> np.dtype:
    """The floating dtype whose rounding ``Z`` carries (numpy or torch input); float64 when unknown."""
    dt = getattr(Z, "dtype", None)
    if dt is not None and not isinstance(dt, np.dtype):  # torch dtype
        dt = {"torch.float16": np.float16, "torch.bfloat16": np.float16, "torch.float32": np.float32}.get(str(dt))
    try:
        dt = np.dtype(dt) if dt is not None else np.dtype(np.float64)
    except TypeError:
        return np.dtype(np.float64)
    return dt if np.issubdtype(dt, np.number) else np.dtype(np.float64)


def dead_coordinates(Z) -> np.ndarray:
    """Indices of the dead (constant) columns of ``Z`` (``(n, d)``) by the rule of :mod:`infogauss.columns` (range
    at the rounding level of the column's own magnitude, in the data's own dtype). A memory map is read in blocks.
    Drop them (``Z[:, np.setdiff1d(np.arange(d), dead)]``) or fit with shrinkage."""
    if not isinstance(Z, np.ndarray) or not np.issubdtype(Z.dtype, np.floating):
        from infogauss.stats.validate import samples

        Z = samples(Z, min_n=2, what="Z")
    if Z.ndim != 2:
        raise InputError(f"Z: expected a 2-D (n_samples, dim) array, got shape {Z.shape}")
    if Z.shape[0] < 2:
        raise InputError(f"Z: needs at least 2 rows, got {Z.shape[0]}")
    lo, hi = column_ranges(Z)
    if not (np.isfinite(lo).all() and np.isfinite(hi).all()):
        raise InputError("Z: contains NaN or Inf values; remove or impute them first")
    return constant_columns(lo, hi, data_dtype(Z))


def centre_and_unit(lo: np.ndarray, hi: np.ndarray) -> tuple[np.ndarray, float]:
    """Mid-range of every column and the largest half-range (the one overall scale), overflow-free."""
    centre = lo / 2.0 + hi / 2.0
    unit = float(np.max(hi / 2.0 - lo / 2.0))
    return centre, unit


def standardisation(lo, hi, d) -> tuple[np.ndarray, float]:
    """``centre_and_unit`` of the column ranges, refusing data whose every column is constant (nothing to model)."""
    centre, unit = centre_and_unit(lo, hi)
    if not unit > 0:
        raise InputError(f"covariance is singular: all {d} columns are constant, so there is nothing to model")
    return centre, unit
