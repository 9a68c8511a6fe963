"""Training on your own images: an image-folder source (``infogauss train source=folder source.path=DIR``).

``DIR`` is laid out as torchvision's ``ImageFolder``: one sub-folder per class (``DIR/cat/001.png``,
``DIR/dog/xyz.jpg``; labels are the sorted folder names, used only by the k-NN monitor), or images directly in
``DIR`` (one class). Every image is read with Pillow, converted to RGB and resized to 32 x 32 (bilinear), then the
run is the CIFAR one (:class:`infogauss.data.images.ImageSource`): SimCLR augmentations (``augment``, ``crop_scale``,
``jitter``, ``jitter_p``, ``gray_p``, paper §4.2) on the training device, evaluations on the un-augmented held-out
images. A seeded random ``holdout`` images (default 20%, at least 8) are held out.

Only ``objective=infonce``: the supervised baseline's classifier has CIFAR-10's 10 classes.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np

from infogauss.checks import integer
from infogauss.errors import InputError

__all__ = ["FOLDER_SOURCES", "folder_source_parameters", "make_folder_source", "read_image_folder"]

FOLDER_SOURCES = ("folder",)
MIN_TEST_IMAGES = 8
MIN_TRAIN_IMAGES = 2
TEST_FRACTION = 0.2
SIZE = 32  # the image encoders' input (infogauss.vision): 3 x 32 x 32


def folder_source_parameters(name: str = "folder") -> dict:
    """The parameters of the folder source and their defaults."""
    from infogauss.data.images import STRENGTH

    return {"path": None, "holdout": None, "seed": 0, "augment": "simclr", **STRENGTH}


def read_image_folder(path) -> tuple[np.ndarray, np.ndarray, list[str]]:
    """``(x, y, classes)``: ``(N, 32, 32, 3)`` uint8 images, ``(N,)`` int64 labels and the class names of ``path``."""
    from infogauss.embed import IMAGE_EXTENSIONS

    root = Path(str(path)) if path is not None else None
    if root is None or not root.is_dir():
        raise InputError(f"source=folder needs source.path=DIR, a folder of images (one sub-folder per class); "
                         f"got {path!r}")  # fmt: skip
    classes = sorted(d.name for d in root.iterdir() if d.is_dir() and not d.name.startswith("."))
    folders = [root / c for c in classes] or [root]
    files, labels = [], []
    for label, folder in enumerate(folders):
        found = sorted(f for f in folder.rglob("*") if f.is_file() and f.suffix.lower() in IMAGE_EXTENSIONS)
        files += found
        labels += [label] * len(found)
    if not files:
        raise InputError(f"source.path {root}: no image files ({', '.join(IMAGE_EXTENSIONS)}) found")
    x = np.stack([_read_image(f) for f in files])
    return x, np.asarray(labels, dtype=np.int64), classes or [root.name]


def _read_image(f: Path) -> np.ndarray:
    from PIL import Image, UnidentifiedImageError

    try:
        with Image.open(f) as im:
            return rgb32(im)
    except (UnidentifiedImageError, OSError) as exc:
        raise InputError(f"{f}: cannot read the image ({' '.join(str(exc).split())[:120]})") from None


def rgb32(im) -> np.ndarray:
    """A PIL image as the sources hold it: RGB, resized (bilinear) to 32×32, uint8 ``(32, 32, 3)``."""
    from PIL import Image

    return np.asarray(im.convert("RGB").resize((SIZE, SIZE), Image.BILINEAR), dtype=np.uint8)


def make_folder_source(name: str = "folder", *, seed: int = 0, device="cpu", channels_last: bool = False,
                       images=None, **params):  # fmt: skip
    """The :class:`~infogauss.data.images.ImageSource` of an image folder; ``seed`` seeds the training batches,
    ``params["seed"]`` the held-out split. ``images``: ``(x, y, classes)`` as :func:`read_image_folder` returns
    them, given instead of reading ``path`` (the Hugging Face source passes its images this way)."""
    import torch

    from infogauss.data.images import ImageSource

    allowed = folder_source_parameters(name)
    for k in params:
        if k not in allowed:
            raise InputError(f"source {name!r} has no parameter {k!r}; valid: {', '.join(allowed)}")
    p = {**allowed, **params}
    x, y, classes = read_image_folder(p["path"]) if images is None else images
    n = len(y)
    if n < MIN_TEST_IMAGES + MIN_TRAIN_IMAGES:
        raise InputError(f"source.path {p['path']}: {n} images are too few; need at least "
                         f"{MIN_TEST_IMAGES + MIN_TRAIN_IMAGES}")  # fmt: skip
    n_test = max(MIN_TEST_IMAGES, round(TEST_FRACTION * n)) if p["holdout"] is None else integer(
        p["holdout"], "source.holdout", lo=MIN_TEST_IMAGES, hi=n - MIN_TRAIN_IMAGES)  # fmt: skip
    order = np.random.default_rng(integer(p["seed"], "source.seed", lo=0)).permutation(n)
    test, train = order[:n_test], order[n_test:]
    data = {"x_train": x[train], "y_train": torch.from_numpy(y[train]), "x_test": x[test],
            "y_test": torch.from_numpy(y[test]), "source": f"image folder {p['path']}"}  # fmt: skip
    source = ImageSource(name, data, seed=seed, device=device, augment=p["augment"], channels_last=channels_last,
                         params={**p, "path": str(p["path"]), "classes": classes})  # fmt: skip
    source.num_classes = len(classes)
    return source
