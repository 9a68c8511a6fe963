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
    if _is_torch(x):
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

    if not _is_torch(x):
        x = torch.from_numpy(samples(x, axis, min_n, what))
        axis = 0
    elif x.dtype == torch.bool or x.is_complex() or not (x.is_floating_point() or x.dtype in _TORCH_INTS):
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


def _is_torch(x) -> bool:
    return type(x).__module__.startswith("torch")


try:  # integer dtypes torch tensors may carry
    import torch as _t

    _TORCH_INTS = (_t.uint8, _t.int8, _t.int16, _t.int32, _t.int64)
except ImportError:  # pragma: no cover
    _TORCH_INTS = ()
