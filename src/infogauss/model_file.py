"""The ``.npz`` file of a :class:`~infogauss.gaussian.GaussianModel`: numbers and strings only (read with
``allow_pickle=False``), format ``infogauss.GaussianModel/2`` (version 1 files, with ``mean`` and ``covariance``
only, are still read)."""

from __future__ import annotations

from pathlib import Path

import numpy as np

from infogauss.errors import InputError

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
