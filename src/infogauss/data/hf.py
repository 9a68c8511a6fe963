"""Training on a Hugging Face dataset saved on disk: ``infogauss train source=hf source.path=DIR source.column=NAME``.

``DIR`` is what ``datasets.Dataset.save_to_disk`` (or ``DatasetDict.save_to_disk``; ``source.split`` picks the
split, default ``train``) wrote: anything ``datasets.load_from_disk`` reads. Nothing is downloaded. The column decides
the run:

- **images** (a ``datasets.Image`` column, or uint8 arrays ``H x W x 3``): the run is the image-folder source's
  (:mod:`infogauss.data.folder`): every image converted to RGB and resized to 32 x 32, SimCLR augmentations
  (``augment``, ``crop_scale``, ``jitter``, ``jitter_p``, ``gray_p``; paper §4.2), a seeded ``holdout``;
  ``source.label=NAME`` (a class-label column) gives the k-NN monitor its classes (default: one class). The images
  go through the folder source itself (written once, losslessly, to a temporary image folder), so the two sources
  cannot drift apart.
- **vectors** (a sequence of numbers per row): the array source's (:mod:`infogauss.data.pairs`): the items of the
  augmentation channel (``source.x``), or with ``source.column2=NAME`` aligned positive pairs (``x1``, ``x2``); the
  channel's parameters (``A``, ``noise_std``, ...) pass through.

Needs the ``[hf]`` extra (``datasets``); without it, one line naming the extra.
"""

from __future__ import annotations

import tempfile
from pathlib import Path

import numpy as np

from infogauss.errors import InputError
from infogauss.extras import require

__all__ = ["HF_SOURCES", "hf_images", "hf_source_parameters", "make_hf_source"]

HF_SOURCES = ("hf",)
OWN = {"path": None, "column": None, "column2": None, "label": None, "split": "train"}


def hf_source_parameters(name: str = "hf") -> dict:
    """The parameters of the Hugging Face source and their defaults (its own, the folder's and the pairs')."""
    from infogauss.data.folder import folder_source_parameters
    from infogauss.data.pairs import pairs_source_parameters

    shared = {**pairs_source_parameters(), **folder_source_parameters()}
    for k in ("x", "x1", "x2", "device"):
        shared.pop(k, None)
    return {**shared, **OWN}


def load_dataset(path, split="train"):
    """The ``datasets.Dataset`` saved at ``path`` (a DatasetDict's ``split``); one-line errors."""
    datasets = require("datasets", "hf", "source=hf")
    root = Path(str(path)) if path is not None else None
    if root is None or not root.is_dir():
        raise InputError(f"source=hf needs source.path=DIR, a dataset saved with save_to_disk; got {path!r}")
    try:
        ds = datasets.load_from_disk(str(root))
    except (FileNotFoundError, ValueError) as exc:
        raise InputError(f"source.path {root}: not a saved Hugging Face dataset ({' '.join(str(exc).split())[:120]})"
                         ) from None  # fmt: skip
    if isinstance(ds, datasets.DatasetDict):
        if split not in ds:
            raise InputError(f"source.path {root}: no split {split!r}; choose source.split from {', '.join(ds)}")
        ds = ds[split]
    return ds


def hf_images(params: dict) -> bool:
    """Whether ``source.column`` of the dataset holds images (a ``datasets.Image`` column or uint8 H x W x 3)."""
    ds = load_dataset(params.get("path"), params.get("split", "train"))
    column = _column(ds, params.get("column"), "source.column")
    if type(ds.features[column]).__name__ == "Image":
        return True
    first = np.asarray(ds[0][column])
    return first.ndim == 3 and first.dtype == np.uint8


def make_hf_source(name: str = "hf", *, seed: int = 0, device="cpu", channels_last: bool = False, **params):
    """The training source of a saved dataset (module doc): an image source or an array source."""
    allowed = hf_source_parameters(name)
    unknown = sorted(set(params) - set(allowed))
    if unknown:
        raise InputError(f"source {name!r} has no parameter {unknown[0]!r}; valid: {', '.join(allowed)}")
    own = {k: params.pop(k, v) for k, v in OWN.items()}
    ds = load_dataset(own["path"], own["split"])
    column = _column(ds, own["column"], "source.column")
    record = {k: v for k, v in own.items() if v is not None} | {"path": str(own["path"])}
    from infogauss.constants import DATA_SEED_OFFSET
    from infogauss.data.folder import folder_source_parameters
    from infogauss.data.pairs import pairs_source_parameters

    images = hf_images(own)
    keep = set(folder_source_parameters() if images else pairs_source_parameters()) - {"x", "x1", "x2", "device"}
    extra = sorted(set(params) - keep)
    if extra:
        raise InputError(f"source=hf: {extra[0]!r} is not a parameter of {'image' if images else 'vector'} columns")
    if images:  # seeds as for source=folder: batches from seed + DATA_SEED_OFFSET, the split from source.seed
        source = _image_source(ds, column, own["label"], str(own["path"]), seed + DATA_SEED_OFFSET, device,
                               channels_last, params)  # fmt: skip
    else:  # as for source=pairs: source.seed (default: the run's seed) draws the split and the channel
        with tempfile.TemporaryDirectory(prefix="infogauss-hf-") as tmp:
            source = _pairs_source(ds, column, own["column2"], Path(tmp), {"seed": seed, **params}, device)
    base = source.params
    source.params = lambda: {**base(), **record}  # the dataset, not the temporary copy, is what the run records
    source.description = f"Hugging Face dataset {own['path']} (column {column})"
    return source


def _column(ds, column, what: str) -> str:
    if column not in ds.column_names:
        raise InputError(f"{what}={column!r}: choose a column of the dataset: {', '.join(ds.column_names)}")
    return column


def _image_source(ds, column, label, path: str, seed, device, channels_last, params):
    """The folder source of the column's images, handed over as arrays in the order and with the class names a
    folder of them (``<label:06d>/<row:08d>.png``) would give: grouped by label, then by row."""
    from PIL import Image

    from infogauss.data.folder import make_folder_source, rgb32

    labels = np.asarray(ds[_column(ds, label, "source.label")]) if label is not None else np.zeros(len(ds), int)
    labels = labels.astype(np.int64)
    values, y = np.unique(labels, return_inverse=True)
    order = np.argsort(y, kind="stable")
    ims = ds[column]
    x = np.stack([rgb32(im if isinstance(im, Image.Image) else Image.fromarray(np.asarray(im, dtype=np.uint8)))
                  for im in (ims[i] for i in order)])  # fmt: skip
    classes = [f"{int(v):06d}" for v in values]
    return make_folder_source("folder", seed=seed, device=device, channels_last=channels_last, path=path,
                              images=(x, y[order].astype(np.int64), classes), **params)  # fmt: skip


def _pairs_source(ds, column, column2, tmp: Path, params, device):
    """The array source of the column's vectors (and ``column2``'s: aligned pairs), via ``.npy`` copies in ``tmp``."""
    from infogauss.data.pairs import make_pairs_source

    files = {}
    for key, col in (("x1", column), ("x2", column2)) if column2 is not None else (("x", column),):
        try:
            arr = np.asarray(ds.with_format("numpy")[_column(ds, col, "source.column2")], dtype=np.float32)
        except (ValueError, TypeError) as exc:
            raise InputError(f"source.column {col!r}: not vectors of numbers ({' '.join(str(exc).split())[:100]})"
                             ) from None  # fmt: skip
        np.save(tmp / f"{key}.npy", arr)
        files[key] = str(tmp / f"{key}.npy")
    return make_pairs_source("pairs", **params, **files, device=device)
