"""Checkpoints of a training run: ``OUT/checkpoint.pt``, written atomically, read with ``weights_only=True``.

A checkpoint holds the model and optimiser state dicts, the data generator's state, the epoch, the evaluation
history and epoch losses (as JSON text) and the config (JSON text, plus the device type). Only tensors, numbers and
strings are stored, so :func:`load_checkpoint` never unpickles code. Resuming requires the same settings except
:data:`RESUMABLE_CHANGES`.
"""

from __future__ import annotations

import json
from pathlib import Path

import torch

from infogauss.errors import InputError
from infogauss.outputs import atomic_write

__all__ = ["CHECKPOINT", "CHECKPOINT_VERSION", "RESUMABLE_CHANGES", "load_checkpoint", "save_checkpoint",
           "check_resumable"]  # fmt: skip

CHECKPOINT = "checkpoint.pt"
CHECKPOINT_VERSION = 2  # 2: the history holds nested evaluations (infogauss.train.evaluate.Evaluation)
#: Fields that may differ between an interrupted run and its resumption.
RESUMABLE_CHANGES = ("epochs", "eval_every", "checkpoint_every", "out")
_KEYS = {"version", "model", "optimizer", "generator", "epoch", "history", "epoch_losses", "config"}


def load_checkpoint(path: str | Path) -> dict:
    """Read a checkpoint written by :func:`~infogauss.train.train` (``torch.load(weights_only=True)``; InputError
    if unreadable)."""
    path = Path(path)
    if not path.is_file():
        raise InputError(f"checkpoint {path} does not exist")
    try:
        state = torch.load(path, map_location="cpu", weights_only=True)
    except Exception as exc:
        msg = str(exc).splitlines()[0][:160] if str(exc) else type(exc).__name__
        raise InputError(f"checkpoint {path} is unreadable ({msg}); delete it or use a fresh output folder") from None
    if not isinstance(state, dict) or not _KEYS <= set(state):
        raise InputError(f"{path} is not an infogauss training checkpoint; delete it or use a fresh output folder")
    if state["version"] != CHECKPOINT_VERSION:
        raise InputError(f"checkpoint {path} has version {state['version']}, expected {CHECKPOINT_VERSION}")
    return state


def save_checkpoint(path: Path, state, cfg, device: torch.device) -> None:
    """Write the training state ``state`` (a :class:`~infogauss.train.loop.TrainState`) of ``cfg`` to ``path``."""
    payload = {
        "version": CHECKPOINT_VERSION,
        "model": state.model.state_dict(),
        "optimizer": state.opt.state_dict(),
        "generator": state.gen.get_state(),
        "epoch": int(state.epoch),
        "history": json.dumps([h.to_dict() for h in state.history]),
        "epoch_losses": [float(x) for x in state.epoch_losses],
        "config": json.dumps({**cfg.to_dict(), "device_type": device.type}),
    }
    atomic_write(path, lambda fh: torch.save(payload, fh))


def check_resumable(saved_state: dict, cfg, path: Path, device: torch.device) -> None:
    """InputError unless the checkpoint ``saved_state`` (at ``path``) belongs to a run with ``cfg``'s settings."""
    saved = json.loads(saved_state["config"])
    if saved.pop("device_type", device.type) != device.type:
        raise InputError(f"checkpoint {path} was written on another device type; resume on the same device")
    now = cfg.to_dict()
    defaults = type(cfg)().to_dict()  # a field newer than the checkpoint had its default there
    for key in now:
        if key in RESUMABLE_CHANGES or key == "device":
            continue
        if saved.get(key, defaults[key]) != json.loads(json.dumps(now[key])):
            raise InputError(
                f"checkpoint {path} belongs to a run with {key}={saved.get(key)!r}, not {now[key]!r}; "
                "use the same settings or a fresh output folder"
            )
