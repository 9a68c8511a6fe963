"""``infogauss train``: the command line of the training engine (``add_arguments`` / ``run``)."""

from __future__ import annotations

import argparse
import contextlib
import dataclasses
import os
import sys
import time
from pathlib import Path

from infogauss import options, outputs
from infogauss.checks import integer
from infogauss.errors import InputError
from infogauss.options import parse_value
from infogauss.train.config import PRESETS, TrainConfig, load_config, preset, source_names, source_parameters
from infogauss.train.loop import train

__all__ = ["add_arguments", "run", "parse_overrides"]


def _field_names() -> list[str]:
    return [f.name for f in dataclasses.fields(TrainConfig)]


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--preset", default=None, help=f"starting configuration: {', '.join(PRESETS)}")
    parser.add_argument("--config", default=None, metavar="RUN/config.json",
                        help="replay a run from its config.json (instead of --preset; key=value still apply on top)")
    parser.add_argument("--log", action="append", default=[], metavar="tensorboard",
                        help="also log metrics to TensorBoard (OUT/events.*); metrics.csv is always written")
    options.add_device(parser, default=None, help="auto (default: CUDA when available), cpu or cuda; same as device=")
    options.add_out(parser, "dir", "config.json, metrics.jsonl, metrics.csv, report.json, checkpoint.pt (default "
                    "runs/train-PRESET; resumes when it holds a checkpoint)", default="")  # fmt: skip
    parser.add_argument("--seed", type=int, default=None, help="seed of the data and the model; same as seed=")
    parser.add_argument("--resume", default=None, help="checkpoint file to resume from (default: OUT/checkpoint.pt)")
    options.add_cifar_data(parser, " for source=cifar10; same as source.path=...")
    options.add_list(parser, "presets, the options and each source's parameters")
    options.add_quiet(parser)
    options.add_overrides(parser, "settings anywhere on the line, e.g. d=64 batch_size=32 temperature=0.2 "
                          "source.A=0.8 (source parameters take the prefix 'source.'); see --list")  # fmt: skip


def _list() -> int:
    print("presets: " + ", ".join(PRESETS))
    print("options: " + ", ".join(f for f in _field_names() if f != "source_params"))
    print("source parameters (source.KEY=VALUE), per source:")
    for name in source_names():
        print(f"  {name}: " + ", ".join(p for p in source_parameters(name) if p != "device"))
    return 0


def _changes(args, cfg: TrainConfig) -> dict:
    changes = parse_overrides(args.overrides, cfg)
    if args.device is not None:
        changes["device"] = args.device
    if args.seed is not None:
        changes["seed"] = integer(args.seed, "--seed", lo=0)
    if args.data is not None:
        if changes.get("source", cfg.source) != "cifar10":
            raise InputError(f"--data applies to source=cifar10, not {changes.get('source', cfg.source)!r}")
        changes["source_params"] = {**changes["source_params"], "path": args.data}
    replay = f"replay-{Path(args.config).resolve().parent.name}" if args.config else None
    changes["out"] = args.out or str(Path("runs") / (replay or f"train-{args.preset}"))
    return changes


def _check_out(out: Path, args) -> None:
    """Before any work: a writable folder, no input inside it, and either new, empty or a training run's folder."""
    outputs.check_writable(out, "dir")
    outputs.refuse_input_as_output(out, [args.data], kind="dir")
    ours = ("config.json", "checkpoint.pt", "metrics.jsonl", "report.json")
    if out.is_dir() and any(out.iterdir()) and not any((out / f).exists() for f in ours):
        raise InputError(f"--out {out}: exists and is not an infogauss training folder; choose a new or empty folder")
    if args.resume is not None:
        resume = Path(args.resume)
        if resume.is_dir():
            raise InputError(
                f"--resume {resume}: is a folder; give the checkpoint file (e.g. {resume / 'checkpoint.pt'})"
            )
        if not resume.exists():
            raise InputError(f"--resume {resume}: checkpoint file does not exist")


def run(args: argparse.Namespace) -> int:
    if args.list:
        return _list()
    if args.preset is not None and args.config is not None:
        raise InputError("give --preset or --config (a run's config.json), not both")
    if args.preset is None and args.config is None:
        raise InputError(f"--preset is required (or --config RUN/config.json); choose from {', '.join(PRESETS)}")
    cfg = load_config(args.config) if args.config else preset(args.preset)
    cfg = cfg.replace(**_changes(args, cfg)).validate()
    out = Path(cfg.out)
    _check_out(out, args)
    lock = outputs.RunLock(out) if int(os.environ.get("RANK", "0")) == 0 else contextlib.nullcontext()
    t0 = time.perf_counter()
    with lock:
        result = train(cfg, progress=not args.quiet, resume=args.resume, log=args.log)
    if result.rank != 0:  # under torchrun rank 0 prints the result (every rank holds the same numbers)
        return 0
    final = result.final
    keys = ("cv", "ad_mean", "ad_pass_fraction", "dp_mean_p", "dp_pass_fraction", "paper_verdict", "alignment",
            "uniformity_potential", "mean_embedding_norm", "test_loss")  # fmt: skip
    if cfg.images:
        keys += tuple("head_" + k for k in keys[:6] if "head_" + k in final) + ("knn_accuracy", "test_accuracy")
    print(
        f"epoch {final['epoch']} ({time.perf_counter() - t0:.0f} s): "
        + ", ".join(_fmt(k, final.get(k)) for k in keys if k in final)
    )
    print(f"results written to {result.out}/", file=sys.stderr)
    return 0


def parse_overrides(items: list[str], base: TrainConfig) -> dict:
    """``["d=64", "source.A=0.8"]`` -> changes for ``base.replace`` (values parsed by the field's type)."""
    changes: dict = {}
    source_params = dict(base.source_params)
    fields = {f.name: f for f in dataclasses.fields(TrainConfig)}
    for item in items:
        if "=" not in item:
            raise InputError(f"expected key=value, got {item!r}")
        key, raw = item.split("=", 1)
        key = key.strip()
        if key.startswith("source."):
            source_params[key[len("source.") :]] = parse_value(raw, None, key)
            continue
        if key not in fields or key in ("source_params", "out"):
            hint = " (use --out)" if key == "out" else ""
            raise InputError(f"unknown option {key!r}{hint}; valid: {', '.join(_field_names()[:-1])}, source.KEY")
        default = getattr(base, key)
        changes[key] = parse_value(raw, type(default) if default is not None else fields[key].type, key)
    if "source" in changes and changes["source"] != base.source:
        # another source: keep the preset's source parameters that it also has (dim, n_train, n_test, seed)
        if changes["source"] in source_names():
            valid = source_parameters(changes["source"])
            explicit = {k for k in source_params if k not in base.source_params}
            source_params = {k: v for k, v in source_params.items() if k in valid or k in explicit}
    changes["source_params"] = source_params
    return changes


def _fmt(k, v) -> str:
    if isinstance(v, float):
        return f"{k}={v:.4g}"
    return f"{k}={v}"
