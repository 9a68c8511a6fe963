"""The ``.npz`` file of a :class:`~infogauss.gaussian.GaussianModel`: numbers and strings only (read with
``allow_pickle=False``), format ``infogauss.GaussianModel/2`` (version 1 files, with ``mean`` and ``covariance``
only, are still read). :func:`write_model_file` writes one, :func:`model_arguments` reads one back as the arguments
of ``GaussianModel.standardized`` (version 2) or ``GaussianModel(mean, covariance)`` (version 1)."""

from __future__ import annotations

from pathlib import Path

import numpy as np

from infogauss.errors import InputError
from infogauss.outputs import atomic_write

FORMAT = "infogauss.GaussianModel/2"
FORMATS = ("infogauss.GaussianModel/1", FORMAT)


def is_model_file(path) -> bool:
    """True when ``path`` is an ``.npz`` written by :meth:`GaussianModel.save` (any format version)."""
    try:
        with np.load(path, allow_pickle=False) as z:
            return "format" in z.files and str(z["format"]) in FORMATS
    except Exception:  # not a zip, not numpy, unreadable: not a model
        return False


def read_model_file(path) -> dict:
    p = Path(path)
    if not p.is_file():
        raise InputError(f"{path}: no such model file; create one with `infogauss fit EMB --out {p.name}`")
    try:
        z = np.load(p, allow_pickle=False)
    except Exception as exc:  # zipfile, pickle refusal, truncated data ...
        msg = " ".join(str(exc).split())[:160] or type(exc).__name__
        raise InputError(f"{path}: cannot read the model file (corrupt or not a .npz model?): {msg}") from None
    if not hasattr(z, "files"):  # a .npy array, not an .npz archive
        raise InputError(f"{path}: holds one array, not a model; create a model with `infogauss fit EMB --out M.npz`")
    try:
        with z:
            fmt = str(z["format"]) if "format" in z.files else None
            if fmt not in FORMATS:
                raise InputError(f"{path}: not an infogauss Gaussian model file (expected format {FORMAT})")
            return {k: z[k] for k in z.files}
    except InputError:
        raise
    except Exception as exc:  # pickle refusal, truncated members, missing keys ...
        msg = " ".join(str(exc).split())[:160] or type(exc).__name__
        raise InputError(f"{path}: cannot read the model file (corrupt or not a .npz model?): {msg}") from None


def write_model_file(path, *, n_samples, **entries) -> Path:
    """Write ``entries`` (arrays, numbers, strings) and the format tag to the ``.npz`` file ``path``, atomically
    (a temporary file renamed); ``n_samples=None`` is stored as -1."""
    p = Path(path)
    if p.suffix.lower() != ".npz":
        raise InputError(f"{path}: a model file must end in .npz")
    if not p.parent.exists():
        raise InputError(f"{path}: directory {p.parent} does not exist; create it first")
    arrays = {k: np.asarray(v) for k, v in entries.items()}
    arrays["n_samples"] = np.array(-1 if n_samples is None else n_samples, dtype=np.int64)
    atomic_write(p, lambda fh: np.savez(fh, format=np.array(FORMAT), **arrays))
    return p


def model_arguments(path) -> tuple[tuple, dict]:
    """``(args, meta)`` of the model in ``path``: ``args`` is ``(centre, unit, std_mean, std_covariance)`` for a
    version-2 file, ``(mean, covariance)`` for a version-1 one; ``meta`` the keyword arguments (``n_samples``,
    ``shrinkage``, ``shrinkage_method``, ``dead_coordinates``). A missing entry is an :class:`InputError`."""
    a = read_model_file(path)
    try:
        n = int(a["n_samples"])
        meta = dict(n_samples=None if n < 0 else n, shrinkage=float(a["shrinkage"]),
                    shrinkage_method=str(a["shrinkage_method"]), dead_coordinates=a["dead_coordinates"])  # fmt: skip
        if "std_covariance" in a:
            return (a["centre"], float(a["unit"]), a["std_mean"], a["std_covariance"]), meta
        return (a["mean"], a["covariance"]), meta
    except KeyError as exc:
        raise InputError(f"{path}: model file lacks the entry {exc}; refit it with `infogauss fit`") from None
    except (ValueError, TypeError) as exc:
        raise InputError(f"{path}: invalid model: {exc}") from None
