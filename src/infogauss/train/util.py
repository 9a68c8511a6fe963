"""Small helpers of the training engine: JSON conversion, atomic text writes, number checks, the device."""

from __future__ import annotations

import json
import math
import os
import tempfile
from pathlib import Path

import numpy as np
import torch

from infogauss.errors import InputError

__all__ = ["jsonable", "write_text", "write_json", "int_at_least", "positive", "resolve_device"]


def resolve_device(name: str, local_rank: int | None = None) -> torch.device:
    if name == "auto":
        name = "cuda" if torch.cuda.is_available() else "cpu"
    try:
        dev = torch.device(name)
    except (RuntimeError, TypeError):
        raise InputError(f"unknown device {name!r}; use auto, cpu, cuda or cuda:N") from None
    if dev.type not in ("cpu", "cuda"):
        raise InputError(f"unsupported device {name!r}; use auto, cpu, cuda or cuda:N")
    if dev.type == "cuda":
        if not torch.cuda.is_available():
            raise InputError("device 'cuda' requested but no CUDA GPU is available; use --device cpu")
        if local_rank is not None:
            dev = torch.device("cuda", int(os.environ.get("LOCAL_RANK", local_rank)))
        elif dev.index is None:
            dev = torch.device("cuda", torch.cuda.current_device())
    return dev


def jsonable(x):
    if isinstance(x, dict):
        return {str(k): jsonable(v) for k, v in x.items()}
    if isinstance(x, list | tuple):
        return [jsonable(v) for v in x]
    if isinstance(x, np.ndarray):
        return jsonable(x.tolist())
    if isinstance(x, np.bool_ | bool):
        return bool(x)
    if isinstance(x, np.integer):
        return int(x)
    if isinstance(x, np.floating | float):
        v = float(x)
        return v if math.isfinite(v) else None
    if isinstance(x, torch.Tensor):
        return jsonable(x.tolist())
    return x


def write_text(path: Path, text: str) -> None:
    fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.", suffix=".tmp")
    try:
        with os.fdopen(fd, "w") as f:
            f.write(text)
        os.replace(tmp, path)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise


def write_json(path: Path, obj) -> None:
    write_text(path, json.dumps(jsonable(obj), indent=2) + "\n")


def int_at_least(x, name, lo) -> None:
    if isinstance(x, bool) or not isinstance(x, int | np.integer):
        raise InputError(f"{name} must be an integer, got {x!r}")
    if x < lo:
        raise InputError(f"{name} must be >= {lo}, got {x}")


def positive(x, name, allow_zero=False) -> None:
    if isinstance(x, bool) or not isinstance(x, int | float | np.number) or not math.isfinite(float(x)):
        raise InputError(f"{name} must be a finite number, got {x!r}")
    if x < 0 or (x == 0 and not allow_zero):
        raise InputError(f"{name} must be {'>= 0' if allow_zero else '> 0'}, got {x}")
