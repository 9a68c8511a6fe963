"""Metrics for the tools users already have: ``metrics.csv`` (always) and TensorBoard (``--log tensorboard``).

Both hold the scalars of every evaluation (:meth:`~infogauss.train.evaluate.Evaluation.to_dict`) as flat columns,
nested keys joined by dots (``backbone.raw.cv``, ``views.alignment``, ``train_loss``); the full reports (lists) are
left to ``metrics.jsonl``. TensorBoard scalars are logged at ``step`` = the epoch.
"""

from __future__ import annotations

import csv
import io
from pathlib import Path

from infogauss.errors import InputError
from infogauss.outputs import write_text

__all__ = ["LOGGERS", "flat_metrics", "write_metrics_csv", "TensorBoardLog", "open_logs"]

LOGGERS = ("tensorboard",)
SKIPPED = ("report",)  # nested full reports: in metrics.jsonl only


def flat_metrics(entry: dict, prefix: str = "") -> dict:
    """The scalars of a nested evaluation dict as ``{"a.b.c": value}`` (lists and full reports left out)."""
    out: dict = {}
    for key, value in entry.items():
        name = prefix + key
        if key in SKIPPED or isinstance(value, list | tuple):
            continue
        if isinstance(value, dict):
            out.update(flat_metrics(value, name + "."))
        else:
            out[name] = value
    return out


def write_metrics_csv(path: Path, entries: list[dict]) -> None:
    """``path``: one row per evaluation, the columns of every row (first-seen order); empty cell = no value."""
    rows = [flat_metrics(e) for e in entries]
    columns = list(dict.fromkeys(k for r in rows for k in r))
    buf = io.StringIO()
    writer = csv.DictWriter(buf, fieldnames=columns, lineterminator="\n")
    writer.writeheader()
    for r in rows:
        writer.writerow({k: "" if r.get(k) is None else r[k] for k in columns})
    write_text(path, buf.getvalue())


class TensorBoardLog:
    """Scalars of each evaluation to a TensorBoard event file in ``out`` (``torch.utils.tensorboard``)."""

    def __init__(self, out: Path):
        try:
            from torch.utils.tensorboard import SummaryWriter
        except ImportError:
            raise InputError("--log tensorboard needs the 'tensorboard' package; pip install tensorboard") from None
        self.writer = SummaryWriter(log_dir=str(out))

    def log(self, entry: dict) -> None:
        step = int(entry.get("epoch", 0))
        for key, value in flat_metrics(entry).items():
            if isinstance(value, int | float) and not isinstance(value, bool):
                self.writer.add_scalar(key, value, step)
            elif isinstance(value, bool):
                self.writer.add_scalar(key, float(value), step)
        self.writer.flush()

    def close(self) -> None:
        self.writer.close()


def open_logs(names, out: Path | None) -> list:
    """The loggers named in ``names`` (``LOGGERS``) writing into ``out``; InputError for an unknown name."""
    names = list(names or ())
    bad = [n for n in names if n not in LOGGERS]
    if bad:
        raise InputError(f"unknown --log {bad[0]!r}; choose from {', '.join(LOGGERS)} (metrics.csv is always written)")
    if names and out is None:
        raise InputError("--log needs an output folder (--out)")
    return [TensorBoardLog(out) for n in names if n == "tensorboard"]
