"""What ``reproduce claims`` reads and runs: the runs root, which results count (scale), which missing ones run
(cheap / expensive, reused encoders), the command that regenerates each, and what they cost (wall time)."""

from __future__ import annotations

import json
import os
from pathlib import Path

from infogauss.errors import InputError

ORDER = ("smoke", "cpu", "paper")
EXPENSIVE = {"fig4", "fig4-ablation", "sample-size", "table1-cifar", "whitening", "pretrained"}
SEEDS = {"induction": 1, "unknowns": 1, "sensitivity": 1}  # these train their own 3 seeds together
#: Experiments that measure another's saved encoders (``encoders_from=``) when that result is there.
REUSE = {"whitening": "table1-cifar", "pretrained": "table1-cifar"}


def runs_root(settings: dict | None = None) -> Path:
    """The setting ``runs_root``, else ``$INFOGAUSS_RUNS_ROOT``, else ``runs``."""
    given = (settings or {}).get("runs_root")
    return Path(str(given) if given is not None else os.environ.get("INFOGAUSS_RUNS_ROOT", "runs"))


def run_missing(settings: dict | None = None) -> bool | None:
    """The setting ``run_missing`` (else ``$INFOGAUSS_RUN_MISSING``): 1 / true -> True (run every missing
    experiment), 0 / false -> False (only read), auto or unset -> None (run the missing cheap ones)."""
    given = (settings or {}).get("run_missing")
    where = "run_missing" if given is not None else "INFOGAUSS_RUN_MISSING"
    raw = str(given if given is not None else os.environ.get("INFOGAUSS_RUN_MISSING", "")).strip().lower()
    table = {"1": True, "true": True, "yes": True, "0": False, "false": False, "no": False, "auto": None, "": None}
    if raw not in table:
        raise InputError(f"{where} must be 1 (run every missing experiment), 0 (only read) or auto, got {raw!r}")
    return table[raw]


def read_result(folder: Path, scale: str):
    """(rows, settings) of a results folder if it ran at ``scale`` or larger, else None."""
    try:
        rows = json.loads((folder / "results.json").read_text())
        meta = json.loads((folder / "settings.json").read_text())
    except (OSError, ValueError):
        return None
    if meta.get("scale") not in ORDER or ORDER.index(meta["scale"]) < ORDER.index(scale):
        return None
    return rows, meta


def gather(needed, scale: str, root: Path, run_missing: bool | None, progress: bool, seeds: int) -> dict:
    """Experiment name -> (rows, settings) or a reason string for every experiment in ``needed``. ``run_missing``:
    True runs every missing experiment, None (default) the missing cheap ones, False none (only read)."""
    from infogauss.experiments import EXPERIMENTS, reproduce

    needed = dict.fromkeys(needed)
    out: dict = {}
    for name in needed:
        got = read_result(root / name, scale)
        runnable = name in EXPERIMENTS and (name not in EXPENSIVE or run_missing)
        if got is None and run_missing is not False and runnable:
            src = REUSE.get(name)  # measure table1-cifar's saved encoders rather than train the same ones again
            reuse = src is not None and (root / src / "encoders").is_dir() and read_result(root / src, scale)
            reproduce(name, scale, SEEDS.get(name, seeds), root / name, progress=progress,
                      overrides=[f"encoders_from={root / src}"] if reuse else [])  # fmt: skip
            got = read_result(root / name, scale)
        out[name] = got if got is not None else "not run at this scale"
    return out


def command(name: str, scale: str, root: Path, seeds: int, meta: dict | None = None) -> str:
    """The command that (re)generates ``root/name``: with the scale, seeds and ``key=value`` changes recorded in
    the result's ``settings.json`` (``meta``) when there is one, else those ``claims`` would run it with."""
    k = SEEDS.get(name, seeds)
    changes: list = []
    if meta:
        scale, k, changes = meta.get("scale", scale), len(meta.get("seeds") or [0]), list(meta.get("overrides") or [])
    return (f"infogauss reproduce {name} --scale {scale}" + (f" --seeds {k}" if k > 1 else "")
            + "".join(f" {c}" for c in changes) + f" --out {root / name}")  # fmt: skip


def inputs_elapsed(rows, root: Path) -> dict:
    """Experiment name -> wall time (s, its ``settings.json`` ``elapsed_s``) of every result the claims read."""
    names = dict.fromkeys(e.strip() for r in rows if r.get("inputs_elapsed_s") is not None
                          for e in r["experiments"].split(","))  # fmt: skip
    out = {}
    for name in names:
        try:
            out[name] = float(json.loads((root / name / "settings.json").read_text()).get("elapsed_s") or 0)
        except (OSError, ValueError):
            continue
    return out
