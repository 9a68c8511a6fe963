"""Input checks shared by every statistic: one place that turns bad arrays into one-line errors."""

from __future__ import annotations

import numpy as np

from infogauss.errors import InputError

MIN_SAMPLES = 8  # D'Agostino's skewness test needs n >= 8; we use one floor for every test.


def samples(x, axis: int = 0, min_n: int = MIN_SAMPLES, what: str = "x") -> np.ndarray:
    """Return ``x`` as a float64 numpy array with the sample axis first.

    Raises :class:`InputError` for non-numeric data, NaN/Inf, zero columns, or fewer than ``min_n`` samples.
    Torch tensors are accepted (moved to the CPU); use :func:`samples_torch` to stay on a device.
    """
    if is_torch(x):
        x = x.detach().cpu().numpy()
    try:
        a = np.asarray(x)
    except Exception as exc:  # ragged lists and the like
        raise InputError(f"{what}: cannot be read as a numeric array ({exc})") from None
    if a.dtype == bool or not (np.issubdtype(a.dtype, np.number)):
        raise InputError(f"{what}: expected numeric data, got dtype {a.dtype}")
    if np.iscomplexobj(a):
        raise InputError(f"{what}: complex values are not supported")
    if a.ndim == 0:
        raise InputError(f"{what}: expected an array of samples, got a scalar")
    a = np.moveaxis(a.astype(np.float64, copy=False), axis, 0)
    _check_shape(a.shape, min_n, what)
    if not np.isfinite(a).all():
        raise InputError(f"{what}: contains NaN or Inf values; remove or impute them first")
    return a


def samples_torch(x, axis: int = 0, min_n: int = MIN_SAMPLES, what: str = "x", device=None, dtype=None):
    """Like :func:`samples` but returns a float64 torch tensor on ``device`` (default: the input's device)."""
    import torch

    ints = (torch.uint8, torch.int8, torch.int16, torch.int32, torch.int64)
    if not is_torch(x):
        x = torch.from_numpy(samples(x, axis, min_n, what))
        axis = 0
    elif x.dtype == torch.bool or x.is_complex() or not (x.is_floating_point() or x.dtype in ints):
        raise InputError(f"{what}: expected real numeric data, got dtype {x.dtype}")
    if x.ndim == 0:
        raise InputError(f"{what}: expected an array of samples, got a scalar")
    t = torch.movedim(x, axis, 0).to(device=device if device is not None else x.device, dtype=dtype or torch.float64)
    _check_shape(tuple(t.shape), min_n, what)
    if not bool(torch.isfinite(t).all()):
        raise InputError(f"{what}: contains NaN or Inf values; remove or impute them first")
    return t


def _check_shape(shape, min_n, what):
    if shape[0] < min_n:
        raise InputError(f"{what}: needs at least {min_n} samples along the sample axis, got {shape[0]}")
    if any(s == 0 for s in shape[1:]):
        raise InputError(f"{what}: has zero columns (shape {tuple(shape)})")


def is_torch(x) -> bool:
    """True for torch tensors (checked by type name: never imports torch)."""
    return type(x).__module__.startswith("torch")


DEAD_RTOL = 1e-12  # a spread below DEAD_RTOL x the largest |location| is rounding noise of a constant


def constant_columns(spread, location, *, per_column: bool = False) -> np.ndarray:
    """Indices of (numerically) constant, "dead" columns, given each column's ``spread`` (std or range) and ``location``
    (mean or largest absolute value).

    A column is dead when its spread is at most ``sqrt(d * eps)`` times the largest spread (on its own it makes a
    covariance singular at float64 precision) or at most ``DEAD_RTOL`` times the largest ``|location|`` (rounding noise
    of a constant). Exactly constant columns always are. Example: all-MiniLM-L6-v2's pooled features have three, with
    standard deviations ~1e-32, ~1e-32 and ~2e-9 against ~0.3 for the others. One rule for the report and the model.

    ``per_column=True`` judges each column against its own location only (dead: spread 0 or at most ``DEAD_RTOL``
    times its own ``|location|``): scale-safe, for statistics that test each column on its own (a column scaled by
    1e10 does not make the others dead).
    """
    spread = np.clip(np.asarray(spread, dtype=np.float64), 0.0, None)
    if per_column:
        loc = np.abs(np.asarray(location, dtype=np.float64))
        return np.flatnonzero((spread == 0) | (spread <= DEAD_RTOL * loc))
    top = float(np.max(spread, initial=0.0))
    if top == 0.0:
        return np.arange(spread.size)
    loc = float(np.max(np.abs(location), initial=0.0))
    tol = max(np.sqrt(spread.size * np.finfo(np.float64).eps) * top, DEAD_RTOL * loc)
    return np.flatnonzero(spread <= tol)
