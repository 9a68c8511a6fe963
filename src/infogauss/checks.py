"""Checks shared by every verb: integers, numbers, devices, batches of embeddings. One-line :class:`InputError` s.

- :func:`integer` — an ``int`` (numpy integers and integral floats / strings accepted, ``bool`` refused) in a range;
- :func:`number` — a finite real number in a range (open or closed ends);
- :func:`embeddings` — a batch of embeddings for a loss: a 2-D floating-point ``torch.Tensor`` with enough rows;
- :func:`resolve_device` — ``"auto"`` / ``"cpu"`` / ``"cuda"`` / ``"cuda:N"`` to a device string, with a clear
  error when CUDA is asked for and not available. torch is imported only when the answer depends on it.

Example::

    >>> integer("5", "--seed", lo=0)
    5
    >>> number(0.1, "temperature", lo=0, lo_open=True)
    0.1
"""

from __future__ import annotations

import math

import numpy as np

from infogauss.errors import InputError

DEVICES = ("auto", "cpu", "cuda")


def _range_text(lo, hi, lo_open=False, hi_open=False) -> str:
    if lo is not None and hi is not None:
        return f"in {'(' if lo_open else '['}{lo}, {hi}{')' if hi_open else ']'}"
    if lo is not None:
        return f"{'>' if lo_open else '>='} {lo}"
    return f"{'<' if hi_open else '<='} {hi}"


def integer(value, what: str, lo: int | None = None, hi: int | None = None) -> int:
    """``value`` as an ``int`` within ``[lo, hi]`` (either end optional); else :class:`InputError` naming ``what``."""
    v = value
    if isinstance(v, str):
        text = v.strip()
        try:
            v = int(text)
        except ValueError:
            try:
                v = float(text)
            except ValueError:
                raise InputError(f"{what} must be an integer, got {value!r}") from None
    if isinstance(v, bool | np.bool_) or not isinstance(v, int | float | np.integer | np.floating):
        raise InputError(f"{what} must be an integer, got {value!r}")
    if isinstance(v, float | np.floating) and (not math.isfinite(float(v)) or float(v) != int(v)):
        raise InputError(f"{what} must be an integer, got {value!r}")
    v = int(v)
    if (lo is not None and v < lo) or (hi is not None and v > hi):
        raise InputError(f"{what} must be an integer {_range_text(lo, hi)}, got {v}")
    return v


def number(
    value, what: str, lo: float | None = None, hi: float | None = None, *, lo_open: bool = False, hi_open: bool = False
) -> float:
    """``value`` as a finite ``float`` within the given range; ``lo_open`` / ``hi_open`` exclude the ends."""
    v = value
    if isinstance(v, str):
        try:
            v = float(v.strip())
        except ValueError:
            raise InputError(f"{what} must be a number, got {value!r}") from None
    if isinstance(v, bool | np.bool_) or not isinstance(v, int | float | np.integer | np.floating):
        raise InputError(f"{what} must be a number, got {value!r}")
    v = float(v)
    if not math.isfinite(v):
        raise InputError(f"{what} must be a finite number, got {value!r}")
    bad_lo = lo is not None and (v <= lo if lo_open else v < lo)
    bad_hi = hi is not None and (v >= hi if hi_open else v > hi)
    if bad_lo or bad_hi:
        raise InputError(f"{what} must be {_range_text(lo, hi, lo_open, hi_open)}, got {v:g}")
    return v


def embeddings(z, min_n: int = 1):
    """``z`` when it is a 2-D floating-point ``torch.Tensor`` of at least ``min_n`` rows (torch imported here)."""
    import torch

    if not isinstance(z, torch.Tensor):
        raise InputError(f"expected a torch.Tensor of embeddings, got {type(z).__name__}")
    if z.ndim != 2:
        raise InputError(f"embeddings must be 2-D (batch, dim), got shape {tuple(z.shape)}")
    if z.shape[0] < min_n:
        raise InputError(f"need a batch of at least {min_n} embeddings, got {z.shape[0]}")
    if not z.is_floating_point():
        raise InputError(f"embeddings must be floating point, got dtype {z.dtype}")
    return z


def resolve_device(name=None, what: str = "--device") -> str:
    """``"auto"`` (or ``None``): ``"cuda"`` when a CUDA GPU is available, else ``"cpu"``; ``"cpu"``; ``"cuda"`` or
    ``"cuda:N"`` — refused with one line when CUDA is not available or ``N`` does not exist."""
    text = "auto" if name is None else str(name).strip().lower()
    if text == "cpu":
        return "cpu"
    base, _, index = text.partition(":")
    if base not in DEVICES or (index and (base != "cuda" or not index.isdigit())):
        raise InputError(f"{what} {name!r}: unknown device; use auto, cpu, cuda or cuda:N")
    import torch

    available = torch.cuda.is_available()
    if base == "auto":
        return "cuda" if available else "cpu"
    if not available:
        raise InputError(f"{what} {text}: no CUDA device is available here; use --device cpu (or auto)")
    if index and int(index) >= torch.cuda.device_count():
        raise InputError(f"{what} {text}: there are only {torch.cuda.device_count()} CUDA device(s)")
    return text
