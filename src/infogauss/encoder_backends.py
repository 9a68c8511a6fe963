"""Loading pretrained encoders for :mod:`infogauss.embed`: sentence-transformers, timm and open_clip backends.

:class:`PretrainedEncoder` is the loaded model with what it embeds (``modalities``), its output width and where the
weights came from; ``load_sentence_transformer`` / ``load_timm`` / ``load_open_clip`` build one from a resolved
location (see :func:`infogauss.embed.load_encoder` for the names it understands). Weights are read with
``weights_only=True`` or safetensors, never unpickled.

Terminal output: one progress bar, infogauss's own ``embed (KIND)`` (transformers' "Loading weights" bar is switched
off while a model loads); :func:`quiet_backends` (``infogauss embed --quiet``) also silences the libraries' log
messages, warnings and Hugging Face progress bars.
"""

from __future__ import annotations

import logging
import os
import sys
import warnings
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from infogauss.checks import integer
from infogauss.errors import InputError

# ---------------------------------------------------------------------------------------------- encoders


@dataclass
class PretrainedEncoder:
    """A loaded encoder: ``kind`` (``sentence-transformers``, ``timm``, ``open_clip``), ``modalities``,
    ``dim`` (output width), ``source`` (where the weights came from) and the underlying ``model``."""

    name: str
    kind: str
    modalities: tuple[str, ...]
    dim: int
    source: str
    model: object
    device: str
    transform: object = None
    tokenizer: object = None

    def encode(self, items, modality: str, batch_size: int, progress: bool) -> np.ndarray:
        import torch
        from tqdm import tqdm

        if modality not in self.modalities:
            raise InputError(
                f"model {self.name} is a {'/'.join(self.modalities)} encoder; it cannot embed {modality} inputs"
            )
        batch_size = integer(batch_size, "batch_size", lo=1)
        order = None
        if modality == "text":  # batch texts of similar length together (less padding), as sentence-transformers does
            order = np.argsort([-len(t) for t in items], kind="stable")
            items = [items[i] for i in order]
        out = []
        starts = range(0, len(items), batch_size)
        bar = tqdm(starts, desc=f"embed ({self.kind})", unit="batch", disable=not progress, file=sys.stderr)
        with torch.inference_mode():
            for s in bar:
                chunk = items[s : s + batch_size]
                out.append(self._batch(chunk, modality).float().cpu().numpy())
        if not out:
            return np.zeros((0, self.dim), dtype=np.float32)
        Z = np.concatenate(out)
        if order is not None:
            Z[order] = Z.copy()
        return Z

    def _batch(self, chunk, modality: str):
        import torch

        if self.kind == "sentence-transformers":
            return self.model.encode(
                list(chunk), batch_size=len(chunk), convert_to_tensor=True, show_progress_bar=False
            )
        if self.kind == "infogauss":  # an encoder trained by infogauss (infogauss.export): model is its embed
            x = torch.as_tensor(np.asarray(chunk), dtype=torch.float32) if modality == "array" else torch.stack(
                [_to_tensor(im, self.transform) for im in chunk])  # fmt: skip
            return self.model(x.to(self.device))
        if modality == "text":  # open_clip
            return self.model.encode_text(self.tokenizer(list(chunk)).to(self.device))
        x = torch.stack([_to_tensor(im, self.transform) for im in chunk]).to(self.device)
        if self.kind == "timm":
            return self.model(x)
        return self.model.encode_image(x)


def _to_tensor(im, transform):
    """A preprocessed ``(3, H, W)`` tensor: tensors pass through unchanged (already preprocessed); paths, PIL
    images and ``(H, W[, C])`` uint8 arrays go through the model's evaluation transform."""
    import torch
    from PIL import Image, UnidentifiedImageError

    if isinstance(im, torch.Tensor):
        if im.ndim != 3:
            raise InputError(f"image tensors must be preprocessed (C, H, W), got shape {tuple(im.shape)}")
        return im.float()
    if isinstance(im, str | Path):
        try:
            with Image.open(im) as f:
                im = f.convert("RGB")
        except FileNotFoundError:
            raise InputError(f"{im}: no such image file") from None
        except (UnidentifiedImageError, OSError) as exc:
            raise InputError(f"{im}: cannot read the image ({exc})") from None
    elif isinstance(im, np.ndarray):
        if im.dtype != np.uint8 or im.ndim not in (2, 3):
            raise InputError(f"image arrays must be (H, W) or (H, W, C) uint8, got {im.dtype} {im.shape}")
        im = Image.fromarray(im).convert("RGB")
    elif isinstance(im, Image.Image):
        im = im.convert("RGB")
    else:
        raise InputError(f"cannot use a {type(im).__name__} as an image; pass paths, PIL images or uint8 arrays")
    return transform(im)


# ---------------------------------------------------------------------------------------------- terminal output

#: Loggers of the encoder libraries that :func:`quiet_backends` turns down to errors.
BACKEND_LOGGERS = ("transformers", "sentence_transformers", "huggingface_hub", "timm", "open_clip")
_QUIET_ENV = {"TRANSFORMERS_VERBOSITY": "error", "TRANSFORMERS_NO_ADVISORY_WARNINGS": "1"}  # read when imported


@contextmanager
def quiet_backends(quiet: bool = True):
    """While loading and embedding: no log messages below ERROR from :data:`BACKEND_LOGGERS`, no warnings and no
    Hugging Face progress bars; everything is restored on exit. ``quiet=False`` changes nothing."""
    if not quiet:
        yield
        return
    levels = {name: logging.getLogger(name).level for name in BACKEND_LOGGERS}
    env = {key: os.environ.get(key) for key in _QUIET_ENV}
    os.environ.update(_QUIET_ENV)
    bars = _hub_bars(False)
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            for name in BACKEND_LOGGERS:
                logging.getLogger(name).setLevel(logging.ERROR)
            yield
    finally:
        for name, level in levels.items():
            logging.getLogger(name).setLevel(level)
        for key, value in env.items():
            if value is None:
                os.environ.pop(key, None)
            else:
                os.environ[key] = value
        _hub_bars(bars)


def _hub_bars(on: bool | None) -> bool | None:
    """Switch the Hugging Face hub's progress bars on or off (``None``: leave them); whether they were on (``None``
    when huggingface_hub is not installed)."""
    try:
        from huggingface_hub.utils import are_progress_bars_disabled, disable_progress_bars, enable_progress_bars
    except ImportError:
        return None
    was = not are_progress_bars_disabled()
    if on is not None and on != was:
        (enable_progress_bars if on else disable_progress_bars)()
    return was


@contextmanager
def _no_loading_bar():
    """transformers' own "Loading weights" bar off while a model loads (the user sees one bar, ``embed (…)``)."""
    from transformers.utils import logging as hf_logging

    was, hub = hf_logging.is_progress_bar_enabled(), _hub_bars(None)
    hf_logging.disable_progress_bar()
    try:
        yield
    finally:
        if was:
            hf_logging.enable_progress_bar()
        _hub_bars(hub)


# ---------------------------------------------------------------------------------------------- loaders


def hub_snapshot(repo_id: str) -> Path | None:
    """Local directory of ``repo_id`` in the Hugging Face cache, or None (never downloads)."""
    try:
        from huggingface_hub import snapshot_download

        return Path(snapshot_download(repo_id, local_files_only=True))
    except Exception:  # not cached, bad id, hub not installed
        return None


def load_sentence_transformer(name, path, device) -> PretrainedEncoder:
    try:
        from sentence_transformers import SentenceTransformer

        try:
            from sentence_transformers.sentence_transformer.modules import Normalize
        except ImportError:  # sentence-transformers < 6
            from sentence_transformers.models import Normalize
    except ImportError:
        raise InputError("sentence-transformers is not installed; pip install 'infogauss[text]'") from None
    try:
        with _no_loading_bar():
            model = SentenceTransformer(path, device=device, local_files_only=True)
    except Exception as exc:
        msg = " ".join(str(exc).split())[:200]
        raise InputError(f"{name}: cannot load the sentence-transformers model at {path}: {msg}") from None
    while len(model) and isinstance(model[-1], Normalize):  # raw features; normalise later on request
        del model[-1]
    model.eval()
    get_dim = getattr(model, "get_embedding_dimension", None) or model.get_sentence_embedding_dimension
    return PretrainedEncoder(name, "sentence-transformers", ("text",), int(get_dim()), path, model, device)


def load_timm(name, loc, weights, device) -> PretrainedEncoder:
    import timm
    import torch

    try:
        if Path(loc).is_dir():
            model = timm.create_model(f"local-dir:{loc}", pretrained=True, num_classes=0)
            source = loc
        elif weights is not None:
            arch = loc
            if not timm.is_model(arch):
                raise InputError(f"unknown timm architecture {arch!r}; see timm.list_models()")
            model = timm.create_model(arch, pretrained=False, num_classes=0)
            _load_state_dict(model, weights)
            source = weights
        else:
            repo = _timm_hub_id(loc)
            snap = hub_snapshot(repo) if repo else None
            if snap is None:
                raise InputError(
                    f"weights for timm model {loc} not found locally ({repo or 'no hub id'} is not in the Hugging "
                    f"Face cache); pass --weights FILE (a local state dict) or a local timm model directory"
                )
            model = timm.create_model(f"local-dir:{snap}", pretrained=True, num_classes=0)
            source = str(snap)
    except InputError:
        raise
    except Exception as exc:
        msg = " ".join(str(exc).split())[:200]
        raise InputError(f"{name}: cannot build the timm model: {msg}") from None
    model.eval().to(device)
    cfg = timm.data.resolve_data_config({}, model=model)
    transform = timm.data.create_transform(**cfg, is_training=False)
    with torch.inference_mode():
        dim = int(model(torch.zeros(1, *cfg["input_size"], device=device)).shape[-1])
    return PretrainedEncoder(name, "timm", ("image",), dim, source, model, device, transform=transform)


def _timm_hub_id(loc: str) -> str | None:
    import timm

    if loc.startswith("hf-hub:"):
        loc = loc[len("hf-hub:") :]
    if loc.startswith("timm/"):
        return loc
    if not timm.is_model(loc):
        raise InputError(f"unknown timm architecture {loc!r}; see timm.list_models()")
    cfg = timm.models.get_pretrained_cfg(loc)
    return getattr(cfg, "hf_hub_id", None) if cfg is not None else None


def _read_state_dict(path: str) -> dict:
    import torch

    try:
        if path.endswith(".safetensors"):
            from safetensors.torch import load_file

            sd = load_file(path, device="cpu")
        else:
            sd = torch.load(path, map_location="cpu", weights_only=True)
    except Exception as exc:  # pickle refusals, safetensors header errors, truncated files ...
        msg = " ".join(str(exc).split())[:160]
        raise InputError(f"{path}: cannot read the checkpoint (weights_only=True; corrupt?): {msg}") from None
    for key in ("state_dict", "model", "module"):  # common training-checkpoint wrappers
        if isinstance(sd, dict) and isinstance(sd.get(key), dict):
            sd = sd[key]
    if not isinstance(sd, dict):
        raise InputError(f"{path}: expected a state dict (name -> tensor), got {type(sd).__name__}")
    return {k.removeprefix("module."): v for k, v in sd.items()}


def _load_state_dict(model, path: str) -> None:
    """Load ``path`` into a classifier-free timm model: only classifier weights may be left over."""
    sd = _read_state_dict(path)
    head = model.pretrained_cfg.get("classifier") or ()
    head = (head,) if isinstance(head, str) else tuple(head)
    sd = {k: v for k, v in sd.items() if not any(k.startswith(h + ".") for h in head)}
    arch = model.pretrained_cfg.get("architecture")
    try:
        missing, unexpected = model.load_state_dict(sd, strict=False)
    except RuntimeError as exc:  # shape mismatches
        first = next((ln.strip() for ln in str(exc).splitlines() if "size mismatch" in ln), str(exc))[:160]
        raise InputError(f"{path}: does not match architecture {arch} ({first}); check --model timm:ARCH") from None
    if missing or unexpected:
        shown = ", ".join((missing + unexpected)[:4])
        raise InputError(
            f"{path}: does not match architecture {arch} "
            f"({len(missing)} missing, {len(unexpected)} unexpected keys, e.g. {shown}); check --model timm:ARCH"
        )


def load_open_clip(name, loc, weights, device) -> PretrainedEncoder:
    try:
        import open_clip
    except ImportError:
        raise InputError(
            "open_clip is not installed; pip install open_clip_torch to use open_clip:ARCH models"
        ) from None
    import torch

    if loc.startswith("hf-hub:"):
        snap = hub_snapshot(loc[len("hf-hub:") :])
        if snap is None:
            raise InputError(f"weights for {loc} not found locally; pass a local open_clip directory or --weights FILE")
        loc = str(snap)
    if Path(loc).is_dir():  # open_clip export: open_clip_config.json + weights, read with weights_only=True
        arch, kwargs, source = f"local-dir:{loc}", {}, loc
    elif weights is not None:
        arch, kwargs, source = loc, {"pretrained": weights}, weights
    else:
        raise InputError(f"open_clip:{loc} needs local weights; pass --weights FILE (nothing is downloaded)")
    try:
        model, _, transform = open_clip.create_model_and_transforms(arch, device=device, **kwargs)
        tokenizer = open_clip.get_tokenizer(arch)
    except Exception as exc:
        msg = " ".join(str(exc).split())[:200]
        raise InputError(f"{name}: cannot build the open_clip model {arch}: {msg}") from None
    model.eval()
    with torch.inference_mode():
        dim = int(model.encode_text(tokenizer(["a"]).to(device)).shape[-1])
    return PretrainedEncoder(name, "open_clip", ("image", "text"), dim, source, model, device, transform, tokenizer)
