"""``infogauss export RUN --out DIR``: a trained encoder as safetensors weights and a JSON config (never pickle).

``DIR`` holds ``model.safetensors`` (the encoder's state dict: backbone, projection head, classifier if any) and
``infogauss_encoder.json`` (the format tag, the :class:`~infogauss.train.TrainConfig` fields that define the
architecture, the input dimension and what ``embed`` returns). :func:`infogauss.load_encoder` and
``infogauss embed --model DIR`` accept ``DIR`` — and also the training run's folder itself (``config.json`` +
``checkpoint.pt``, read with ``weights_only=True``).

The embedding is the representation ``z = model.embed(x)`` (paper §3: what the Gaussianity protocol measures),
not the projection head's output; ``embed`` runs in eval mode, float32.

    infogauss train --preset smoke --out runs/smoke
    infogauss export runs/smoke --out encoders/smoke
    infogauss embed data.npy --model encoders/smoke --out Z.npy --no-normalize
"""

from __future__ import annotations

import argparse
import json
from pathlib import Path

from infogauss import options, outputs
from infogauss.errors import InputError

__all__ = ["ENCODER_FILE", "WEIGHTS_FILE", "FORMAT", "export_encoder", "load_trained", "is_trained_encoder",
           "load_trained_encoder", "describe", "write_export", "add_arguments", "run"]  # fmt: skip

ENCODER_FILE = "infogauss_encoder.json"
WEIGHTS_FILE = "model.safetensors"
FORMAT = "infogauss-encoder"
VERSION = 1
IMAGE_IN_DIM = 3 * 32 * 32  # image encoders take (N, 3, 32, 32) tensors (infogauss.data.images)
#: The TrainConfig fields that define the encoder's architecture (everything build_model reads).
ARCHITECTURE = ("source", "encoder", "objective", "d", "hidden", "width", "bias", "head", "channels_last", "seed")


def is_trained_encoder(path) -> bool:
    """Whether ``path`` is an export (``infogauss_encoder.json``) or a training run (``config.json`` + checkpoint)."""
    from infogauss.train.checkpoint import CHECKPOINT

    p = Path(path)
    return (p / ENCODER_FILE).is_file() or ((p / "config.json").is_file() and (p / CHECKPOINT).is_file())


def _read(path) -> tuple[dict, dict]:
    """``(description, state_dict)`` of an export or a run folder."""
    from infogauss.train.checkpoint import CHECKPOINT, load_checkpoint
    from infogauss.train.config import load_config

    p = Path(path)
    if (p / ENCODER_FILE).is_file():
        return _read_export(p)
    if not is_trained_encoder(p):
        raise InputError(f"{path}: not a training run (config.json + {CHECKPOINT}) or an infogauss export "
                         f"({ENCODER_FILE}); train with `infogauss train --out DIR` first")  # fmt: skip
    cfg = load_config(p / "config.json")
    resolved = json.loads((p / "config.json").read_text()).get("source_resolved", {})
    in_dim = IMAGE_IN_DIM if cfg.images else resolved.get("dim")
    if not isinstance(in_dim, int):
        raise InputError(f"{p / 'config.json'}: has no source_resolved.dim (the input dimension); re-run training")
    return describe(cfg, in_dim), load_checkpoint(p / CHECKPOINT)["model"]


def _read_export(p: Path) -> tuple[dict, dict]:
    from safetensors import SafetensorError
    from safetensors.torch import load_file

    try:
        desc = json.loads((p / ENCODER_FILE).read_text(encoding="utf-8"))
    except (ValueError, UnicodeDecodeError) as exc:
        raise InputError(f"{p / ENCODER_FILE}: not JSON ({' '.join(str(exc).split())[:120]})") from None
    if not isinstance(desc, dict) or desc.get("format") != FORMAT or desc.get("version") != VERSION:
        raise InputError(f"{p / ENCODER_FILE}: not an {FORMAT} v{VERSION} description")
    if not (p / WEIGHTS_FILE).is_file():
        raise InputError(f"{p}: {WEIGHTS_FILE} is missing")
    try:
        return desc, load_file(str(p / WEIGHTS_FILE))
    except (SafetensorError, OSError) as exc:
        raise InputError(f"{p / WEIGHTS_FILE}: unreadable ({' '.join(str(exc).split())[:120]})") from None


def load_trained(path, device="cpu"):
    """``(model, description)``: the trained :class:`~infogauss.encoders.Encoder` of an export or run folder, in
    eval mode on ``device``."""
    from infogauss.train.build import build_model
    from infogauss.train.config import TrainConfig

    desc, state = _read(path)
    cfg = TrainConfig(**desc["architecture"])
    model = build_model(cfg, desc["in_dim"])
    try:
        model.load_state_dict(state)
    except RuntimeError as exc:  # missing, unexpected or differently shaped tensors
        why = " ".join(str(exc).split())[:200]
        raise InputError(f"{path}: the weights do not fit the described encoder ({why})") from None
    return model.to(device).eval(), desc


def export_encoder(run, out) -> Path:
    """Write the encoder of the run (or export) folder ``run`` to the folder ``out``; returns ``out``."""
    model, desc = load_trained(run)
    out = Path(out)
    with outputs.atomic_dir(out) as tmp:
        write_export(tmp, model, desc)
    return out


def describe(cfg, in_dim: int | None = None) -> dict:
    """The ``infogauss_encoder.json`` description of a model built from the TrainConfig ``cfg``."""
    in_dim = IMAGE_IN_DIM if cfg.images else in_dim
    if not isinstance(in_dim, int):
        raise InputError("describe: an encoder of arrays needs its input dimension in_dim")
    return {"format": FORMAT, "version": VERSION, "architecture": {k: getattr(cfg, k) for k in ARCHITECTURE},
            "in_dim": in_dim, "input": "image" if cfg.images else "array",
            "output": "representation (model.embed)"}  # fmt: skip


def write_export(folder, model, desc: dict) -> None:
    """``model.safetensors`` (the state dict of ``model``, on the CPU) and ``infogauss_encoder.json`` in ``folder``
    (which must exist; callers write into an atomic folder)."""
    from safetensors.torch import save

    tensors = {k: v.detach().contiguous().cpu() for k, v in model.state_dict().items()}
    folder = Path(folder)
    outputs.atomic_write(folder / WEIGHTS_FILE, lambda fh: fh.write(save(tensors)))
    outputs.write_json(folder / ENCODER_FILE, desc)


def load_trained_encoder(name: str, loc: str, device: str):
    """A :class:`~infogauss.encoder_backends.PretrainedEncoder` (``kind="infogauss"``) of an export or run folder:
    ``encode(rows, "array", ...)`` embeds ``(n, in_dim)`` arrays; an image encoder embeds image files (resized to
    32 x 32, normalised with the CIFAR-10 channel statistics :data:`infogauss.data.views.MEAN` / ``STD``, as in
    training) or preprocessed ``(3, 32, 32)`` tensors."""
    import torch

    from infogauss.encoder_backends import PretrainedEncoder

    model, desc = load_trained(loc, device)
    transform = None
    if desc["input"] == "image":
        from torchvision import transforms

        from infogauss.data.views import MEAN, STD

        transform = transforms.Compose([transforms.Resize((32, 32)), transforms.ToTensor(),
                                        transforms.Normalize(MEAN, STD)])  # fmt: skip
    shape = (1, 3, 32, 32) if desc["input"] == "image" else (1, desc["in_dim"])
    with torch.no_grad():
        dim = int(model.embed(torch.zeros(shape, device=device)).shape[1])
    return PretrainedEncoder(name, "infogauss", (desc["input"],), dim, loc, model.embed, device, transform=transform)


# ---------------------------------------------------------------------------------------------- CLI


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("run", metavar="RUN", help="a training run's folder (infogauss train --out RUN)")
    options.add_out(parser, "dir", f"{WEIGHTS_FILE} + {ENCODER_FILE} (for infogauss embed --model / load_encoder)")
    parser.add_argument("--force", action="store_true", help="replace an existing --out folder")


def run(args) -> int:
    out = Path(args.out)
    outputs.check_writable(out, "dir")
    outputs.refuse_input_as_output(out, [args.run], kind="dir")
    if Path(args.run).resolve() in (out.resolve(), *out.resolve().parents):
        raise InputError(f"--out {out}: is inside the run {args.run}; choose another folder")
    if out.exists() and any(out.iterdir()) and not args.force:
        raise InputError(f"--out {out}: exists; choose a new folder (or --force to replace it)")
    export_encoder(args.run, out)
    print(f"wrote {out / WEIGHTS_FILE} and {out / ENCODER_FILE}")
    return 0
