"""Image sources for the training engine: CIFAR-10 (or its generated stand-in) as augmented pairs or labelled images.

:func:`make_image_source` turns the tensors of :func:`infogauss.data.cifar.load_cifar10` (or
:func:`~infogauss.data.cifar.tiny_cifar`) into an :class:`ImageSource`, which :func:`infogauss.train.train` uses the
way it uses a synthetic source (:mod:`infogauss.data.synthetic`): ``n_train``, ``n_test``, ``dim`` and batches of
views. Batching and the SimCLR augmentations are :class:`~infogauss.data.cifar.CifarViews`'s, on the training device.

Sources (``TrainConfig.source`` and its ``source_params``):

- ``"cifar10"``: CIFAR-10 (Krizhevsky 2009), 50,000 training and 10,000 test images. ``path`` (a ``.npz`` or a
  torchvision root; default ``$INFOGAUSS_CIFAR10``, else the first file of
  :func:`infogauss.data.cifar.default_locations`; see docs/data.md) or ``download_root`` (download with torchvision).
  Provenance of a known file: :data:`infogauss.data.cifar.PROVENANCE`.
- ``"tiny-cifar"``: generated gratings in the CIFAR layout (``n`` training, ``n_test`` test images, data ``seed``,
  default 0) for smoke tests; not CIFAR-10.

Both take ``train_classes`` (default all: the class labels to keep in the *training* set, e.g. ``[0, 1, 2, 3, 4]``
for an encoder that never sees the other classes; the test set keeps every class) and ``augment``: ``"simclr"``
(paper §4.2: RandomResizedCrop(scale 0.2–1), flip, colour jitter p = 0.8, grayscale p = 0.2; the default, also for
the supervised baseline so that the two differ only in the objective), ``"crop-flip"`` (crop and flip only) or
``"none"``; and the augmentation strength ``crop_scale`` (RandomResizedCrop's scale range, default ``0.2,1.0``),
``jitter`` (ColorJitter's brightness, contrast, saturation, hue: ``0.8,0.8,0.8,0.2``), ``jitter_p`` (``0.8``) and
``gray_p`` (``0.2``) — :data:`STRENGTH`, set from the CLI as ``source.crop_scale=0.3,1.0`` and recorded in the
run's ``config.json`` (``source_resolved``).

Randomness: the training batches of epoch ``e`` (shuffle and augmentations) are drawn from ``(seed, e)``
(:meth:`CifarViews.generator`), so a run resumes exactly from its epoch number. The test images are put in a fixed
random order once (:data:`TEST_ORDER_SEED`; that file is sorted by class), so "the first ``n`` test images"
is a class-balanced-in-expectation random subset; evaluations use them un-augmented.
"""

from __future__ import annotations

import functools
import math
import os
from collections.abc import Iterator

import torch

from infogauss.constants import TEST_ORDER_SEED
from infogauss.errors import InputError

__all__ = ["IMAGE_SOURCES", "AUGMENTS", "ImageSource", "make_image_source", "image_source_parameters"]

IMAGE_SOURCES = ("cifar10", "tiny-cifar")
AUGMENTS = ("simclr", "crop-flip", "none")
BANK_ORDER_SEED = TEST_ORDER_SEED + 1  # fixed order of the training images for the k-NN memory bank (its prefixes)
#: Augmentation strength (paper §4.2, SimCLR's values; :class:`~infogauss.data.augment.SimCLRAugment`).
STRENGTH = {"crop_scale": (0.2, 1.0), "jitter": (0.8, 0.8, 0.8, 0.2), "jitter_p": 0.8, "gray_p": 0.2}
_PARAMS = {
    "cifar10": {"path": None, "download_root": None, "augment": "simclr", "train_classes": None, **STRENGTH},
    "tiny-cifar": {"n": 512, "n_test": 128, "seed": 0, "augment": "simclr", "train_classes": None, **STRENGTH},
}


def image_source_parameters(name: str) -> dict:
    """The parameters of image source ``name`` and their defaults."""
    return dict(_PARAMS[name])


def make_image_source(name: str, *, seed: int = 0, device="cpu", channels_last: bool = False, **params):
    """Build image source ``name`` (``"cifar10"`` or ``"tiny-cifar"``) on ``device``.

    ``seed`` seeds the training batches (shuffles and augmentations); ``params`` are the source's parameters (see
    the module docstring). Raises :class:`InputError` for an unknown source or parameter and, from
    :func:`~infogauss.data.cifar.load_cifar10`, for missing or malformed data.
    """
    if name not in IMAGE_SOURCES:
        raise InputError(f"unknown image source {name!r}; choose from {', '.join(IMAGE_SOURCES)}")
    for k in params:
        if k not in _PARAMS[name]:
            raise InputError(f"source {name!r} has no parameter {k!r}; valid: {', '.join(_PARAMS[name])}")
    p = {**_PARAMS[name], **params}
    if name == "cifar10":
        data = _load_cifar10(None if p["path"] is None else str(p["path"]), p["download_root"],
                             os.environ.get("INFOGAUSS_CIFAR10"))  # fmt: skip
    else:
        from infogauss.data.cifar import tiny_cifar

        data = tiny_cifar(p["n"], n_test=p["n_test"], seed=p["seed"])
    if p["train_classes"] is not None:
        data = _keep_train_classes(data, p["train_classes"])
    return ImageSource(name, data, seed=seed, device=device, augment=p["augment"], channels_last=channels_last,
                       params={k: v for k, v in p.items()})  # fmt: skip


def _keep_train_classes(data: dict, classes) -> dict:
    """``data`` with only the training images whose label is in ``classes`` (the test set keeps every class).

    ``classes``: labels, or a string such as ``"0,1,2"`` / ``"[0,1,2]"`` (the CLI's ``source.train_classes=0,1,2``)."""
    if isinstance(classes, str):
        classes = [c for c in classes.strip().strip("[]").split(",") if c.strip()]
    try:
        keep = sorted({int(c) for c in classes})
    except (TypeError, ValueError):
        raise InputError(f"train_classes must be a list of class labels 0..9, got {classes!r}") from None
    if not keep or keep[0] < 0 or keep[-1] > 9:
        raise InputError(f"train_classes must be a non-empty list of class labels 0..9, got {classes!r}")
    mask = torch.isin(torch.as_tensor(data["y_train"]), torch.tensor(keep))
    x = data["x_train"][mask.numpy()] if not isinstance(data["x_train"], torch.Tensor) else data["x_train"][mask]
    y = data["y_train"][mask.numpy()] if not isinstance(data["y_train"], torch.Tensor) else data["y_train"][mask]
    names = ", ".join(str(c) for c in keep)
    return {**data, "x_train": x, "y_train": y, "source": f"{data.get('source', 'images')}, training classes {names}"}


@functools.lru_cache(maxsize=2)
def _load_cifar10(path, download_root, env):  # env: part of the cache key only
    from infogauss.data.cifar import load_cifar10

    return load_cifar10(path, download_root=download_root)


def _augmenter(augment: str, crop_scale=STRENGTH["crop_scale"], jitter=STRENGTH["jitter"],
               jitter_p=STRENGTH["jitter_p"], gray_p=STRENGTH["gray_p"]):  # fmt: skip
    """The augmentation ``augment`` at the given strength (``"crop-flip"``: no colour jitter, no grayscale)."""
    from infogauss.data.augment import SimCLRAugment

    if augment not in AUGMENTS:
        raise InputError(f"unknown augment {augment!r}; choose from {', '.join(AUGMENTS)}")
    if augment == "none":
        return None
    scale = _numbers(crop_scale, "crop_scale", 2)
    colour = _numbers(jitter, "jitter", 4)
    for name, value in (("jitter_p", jitter_p), ("gray_p", gray_p)):
        _numbers(value, name, 1)
    if augment == "crop-flip":
        jitter_p, gray_p = 0.0, 0.0
    return SimCLRAugment(scale=scale, jitter=colour, jitter_p=float(jitter_p), gray_p=float(gray_p))


def _numbers(value, name: str, count: int) -> tuple:
    """``count`` finite numbers from a number, a sequence or the CLI's ``"0.2,1.0"`` / ``"[0.2, 1.0]"``."""
    items = value.strip().strip("[]()").split(",") if isinstance(value, str) else value
    items = [items] if count == 1 and not isinstance(items, list | tuple) else items
    try:
        out = tuple(float(v) for v in items)
    except (TypeError, ValueError):
        out = ()
    if len(out) != count or not all(math.isfinite(v) for v in out):
        example = {"crop_scale": "0.2,1.0", "jitter": "0.8,0.8,0.8,0.2"}.get(name, "0.5")
        raise InputError(f"source parameter {name} must be {count} number(s), e.g. source.{name}={example}; "
                         f"got {value!r}")  # fmt: skip
    return out


class ImageSource:
    """Labelled training and test images held on ``device``; batches of augmented views for the engine.

    Attributes: ``name``, ``kind = "images"``, ``description`` (where the data came from, for reports),
    ``n_train``, ``n_test``, ``dim`` (3·32·32), ``num_classes``, ``eta2 = None`` (unknown for images),
    ``train_set`` and ``test_set`` (:class:`~infogauss.data.cifar.CifarViews`; the test set in its fixed order),
    ``bank_order`` (the fixed random order of the training images that :meth:`bank_images` takes prefixes of).
    """

    kind = "images"
    eta2 = None
    num_classes = 10

    def __init__(self, name, data, *, seed=0, device="cpu", augment="simclr", channels_last=False, params=None):
        from infogauss.data.views import CifarViews

        self.name = name
        self.description = data.get("source", name)
        self.augment = augment
        strength = {k: v for k, v in (params or {}).items() if k in STRENGTH}
        aug = _augmenter(augment, **strength)
        self._plain = aug is None
        self.channels_last = channels_last
        self.device = torch.device(device)
        self._params = dict(params or {})
        self.train_set = CifarViews(data["x_train"], data["y_train"], device=self.device, seed=seed,
                                    augment=aug, channels_last=channels_last)  # fmt: skip
        order = torch.randperm(len(data["y_test"]), generator=torch.Generator().manual_seed(TEST_ORDER_SEED))
        self.test_set = CifarViews(data["x_test"][order], data["y_test"][order], device=self.device,
                                   seed=TEST_ORDER_SEED, augment=aug, channels_last=channels_last)  # fmt: skip
        self.bank_order = torch.randperm(len(self.train_set), generator=torch.Generator().manual_seed(BANK_ORDER_SEED))
        self.n_train, self.n_test = len(self.train_set), len(self.test_set)
        self.dim = 3 * 32 * 32

    # -- training ----------------------------------------------------------------------------------------------
    def batches(self, batch_size: int, epoch: int, views: int = 2, steps: int | None = None) -> Iterator[tuple]:
        """The first ``steps`` (default: all) batches of epoch ``epoch``: ``(x1, x2, y)`` or ``(x, y)`` for
        ``views=1``. Every call with the same arguments gives the same batches."""
        it = self.train_set.batches(batch_size, views=views, augment=not self._plain, epoch=epoch)
        for i, batch in enumerate(it):
            if steps is not None and i >= steps:
                break
            yield batch

    # -- evaluation --------------------------------------------------------------------------------------------
    def test_images(self, n: int | None = None, block: int = 1000) -> Iterator[tuple[torch.Tensor, torch.Tensor]]:
        """The first ``n`` test images (default all) of the fixed order, normalised, not augmented: ``(x, y)``."""
        yield from self._plain_blocks(self.test_set, torch.arange(self.n_test if n is None else min(n, self.n_test)),
                                      block)  # fmt: skip

    def bank_images(self, n: int | None = None, block: int = 1000) -> Iterator[tuple[torch.Tensor, torch.Tensor]]:
        """``n`` training images (default all; a fixed random subset otherwise), normalised, not augmented."""
        idx = self.bank_order[: self.n_train if n is None else min(n, self.n_train)]
        yield from self._plain_blocks(self.train_set, idx, block)

    def test_views(self, n: int, batch_size: int, seed: int) -> Iterator[tuple[torch.Tensor, torch.Tensor]]:
        """Two augmented views ``(x1, x2)`` of each of the first ``n`` test images, in batches, drawn from ``seed``
        (the same views at every call)."""
        from infogauss.data.views import CifarViews

        n = min(n, self.n_test)
        sub = CifarViews(self.test_set.x[:n], self.test_set.y[:n], device=self.device, seed=seed,
                         augment=self.train_set.augment, channels_last=self.channels_last)  # fmt: skip
        for x1, x2, _ in sub.batches(min(batch_size, n), views=2, augment=not self._plain, epoch=0, drop_last=False):
            yield x1, x2

    def _plain_blocks(self, views, idx, block):
        for i in range(0, idx.numel(), block):
            j = idx[i : i + block].to(self.device)
            x = views.normalize(views.x[j].to(torch.float32).div_(255.0))
            if self.channels_last:
                x = x.contiguous(memory_format=torch.channels_last)
            yield x, views.y[j]

    def params(self) -> dict:
        return {**self._params, "n_train": self.n_train, "n_test": self.n_test}

    def __repr__(self) -> str:
        return f"ImageSource({self.name!r}, n_train={self.n_train}, n_test={self.n_test}, augment={self.augment!r})"
