"""Batches of augmented views of a labelled image set held on the training device (:class:`CifarViews`).

Images live on the device as uint8; every batch is shuffled, augmented (:class:`~infogauss.data.augment.SimCLRAugment`,
drawn from ``(seed, epoch)``) and normalised there. Loading CIFAR-10 is :mod:`infogauss.data.cifar`'s.
"""

from __future__ import annotations

from collections.abc import Iterator

import numpy as np
import torch

from infogauss.data.augment import SimCLRAugment, to_device
from infogauss.errors import InputError

__all__ = ["MEAN", "STD", "CifarViews", "as_nchw_uint8"]

# Standard CIFAR-10 training-set statistics of pixels in [0, 1] (per-pixel std over the whole training set);
# the paper does not give its normalisation constants (docs/paper-protocol.md §6.4).
MEAN = (0.4914, 0.4822, 0.4465)
STD = (0.2470, 0.2435, 0.2616)


def as_nchw_uint8(x, what: str) -> torch.Tensor:
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
        xt = as_nchw_uint8(x, "CifarViews: x")
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
