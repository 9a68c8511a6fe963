"""Images for the ``ood`` experiment: Fashion-MNIST (far-OOD) from a configurable file, a generated stand-in, and the
corruptions of the shift ranking.

Where Fashion-MNIST is read from, first that applies: the experiment setting ``far_path=PATH``
(``infogauss reproduce ood far_path=PATH``), the environment variable ``INFOGAUSS_FASHION_MNIST``, Debian's
``/usr/share/datasets/fashion-mnist/t10k-images-idx3-ubyte.gz`` (``apt-get install dataset-fashion-mnist``). With
internet access the file is ``t10k-images-idx3-ubyte.gz`` of https://github.com/zalandoresearch/fashion-mnist
(``data/fashion/``); gzip or plain IDX3 both work.
"""

from __future__ import annotations

import gzip
import os
from pathlib import Path
from typing import TYPE_CHECKING

import numpy as np

from infogauss.errors import InputError

if TYPE_CHECKING:  # torch is imported where images are made: `reproduce --list` runs without it
    import torch

FASHION_MNIST = Path("/usr/share/datasets/fashion-mnist/t10k-images-idx3-ubyte.gz")
ENV = "INFOGAUSS_FASHION_MNIST"
CORRUPTIONS = {  # severity 1..5
    "noise": (0.04, 0.08, 0.12, 0.18, 0.26),  # std of added Gaussian pixel noise (pixels in [0, 1])
    "blur": (0.5, 1.0, 1.5, 2.0, 3.0),  # std (pixels) of the Gaussian blur kernel
    "contrast": (0.75, 0.5, 0.35, 0.2, 0.1),  # factor towards each image's mean
}


def fashion_mnist_path(far_path=None) -> Path:
    """The Fashion-MNIST test-image file to read: ``far_path`` (the setting), else ``$INFOGAUSS_FASHION_MNIST``,
    else :data:`FASHION_MNIST`. A missing file is a one-line :class:`InputError` naming the three ways to set it."""
    if far_path not in (None, ""):
        p, how = Path(str(far_path)).expanduser(), "far_path"
    elif os.environ.get(ENV):
        p, how = Path(os.environ[ENV]).expanduser(), ENV
    else:
        p, how = FASHION_MNIST, "the default"
    if not p.is_file():
        raise InputError(
            f"Fashion-MNIST not found at {p} ({how}); set {ENV}=PATH or the setting far_path=PATH (infogauss "
            "reproduce ood far_path=PATH) to t10k-images-idx3-ubyte.gz, or install the Debian package "
            "dataset-fashion-mnist (download: github.com/zalandoresearch/fashion-mnist, data/fashion/)"
        )
    return p


def load_fashion_mnist(path=None, n: int | None = None) -> np.ndarray:
    """The first ``n`` (default all) Fashion-MNIST images of an IDX3 file (gzip or plain) as uint8 ``(n, 28, 28)``.

    ``path``: as ``far_path`` in :func:`fashion_mnist_path`. InputError when missing or not an IDX3 image file.
    """
    p = fashion_mnist_path(path)
    opener = gzip.open if p.suffix == ".gz" else open
    try:
        with opener(p, "rb") as f:
            raw = f.read()
    except OSError as e:
        raise InputError(f"cannot read Fashion-MNIST file {p}: {e}") from None
    if len(raw) < 16 or int.from_bytes(raw[:4], "big") != 2051:
        raise InputError(f"{p} is not an IDX3 image file (bad magic number); use t10k-images-idx3-ubyte.gz")
    count, rows, cols = (int.from_bytes(raw[i : i + 4], "big") for i in (4, 8, 12))
    if len(raw) != 16 + count * rows * cols:
        raise InputError(f"{p}: truncated IDX3 file ({len(raw)} bytes for {count} images of {rows}x{cols})")
    x = np.frombuffer(raw, dtype=np.uint8, offset=16).reshape(count, rows, cols)
    return x if n is None else x[:n]


def to_cifar_format(gray: np.ndarray) -> torch.Tensor:
    """uint8 grey images ``(n, h, w)`` -> uint8 RGB ``(n, 3, 32, 32)`` (bilinear resize, grey replicated)."""
    import torch
    import torch.nn.functional as F

    x = torch.as_tensor(np.array(gray), dtype=torch.float32)[:, None]
    x = F.interpolate(x, size=(32, 32), mode="bilinear", align_corners=False)
    return x.round().clamp(0, 255).to(torch.uint8).repeat(1, 3, 1, 1)


def generated_far(n: int, seed: int = 0) -> torch.Tensor:
    """Smoke-scale stand-in for Fashion-MNIST: grey blobs on black, uint8 ``(n, 3, 32, 32)``."""
    rng = np.random.default_rng([seed, 7])
    yy, xx = np.mgrid[0:32, 0:32]
    c = rng.uniform(8, 24, (n, 2))
    r = rng.uniform(4, 12, n)
    img = 255.0 * np.exp(-((yy - c[:, :1, None]) ** 2 + (xx - c[:, 1:, None]) ** 2) / (2 * r[:, None, None] ** 2))
    return to_cifar_format(np.clip(img, 0, 255).astype(np.uint8))


def far_images(settings: dict, seed: int) -> tuple[torch.Tensor, str]:
    """The far-OOD images of a scale (``far``: ``"fashion-mnist"`` or ``"generated"``) and a label saying which."""
    if settings["far"] == "fashion-mnist":
        p = fashion_mnist_path(settings.get("far_path"))
        return to_cifar_format(load_fashion_mnist(p, n=settings["far_n"])), f"Fashion-MNIST test ({p.name})"
    if settings["far"] == "generated":
        return generated_far(settings["far_n"], seed), "generated blobs"
    raise InputError(f"unknown far={settings['far']!r}; use fashion-mnist or generated")


def corrupt(x: torch.Tensor, kind: str, severity: int, seed: int = 0) -> torch.Tensor:
    """Float images in ``[0, 1]`` ``(n, 3, H, W)`` under corruption ``kind`` at ``severity`` (0 = unchanged)."""
    import torch
    import torch.nn.functional as F

    if severity == 0:
        return x
    level = CORRUPTIONS[kind][severity - 1]
    if kind == "noise":
        g = torch.Generator().manual_seed(seed * 1000 + severity)
        return (x + level * torch.randn(x.shape, generator=g).to(x.device)).clamp(0, 1)
    if kind == "contrast":
        m = x.mean(dim=(1, 2, 3), keepdim=True)
        return m + level * (x - m)
    r = int(np.ceil(3 * level))
    t = torch.arange(-r, r + 1, dtype=x.dtype, device=x.device)
    k = torch.exp(-(t**2) / (2 * level**2))
    k = k / k.sum()
    c = x.shape[1]
    x = F.conv2d(F.pad(x, (r, r, 0, 0), mode="reflect"), k.view(1, 1, 1, -1).repeat(c, 1, 1, 1), groups=c)
    return F.conv2d(F.pad(x, (0, 0, r, r), mode="reflect"), k.view(1, 1, -1, 1).repeat(c, 1, 1, 1), groups=c)
