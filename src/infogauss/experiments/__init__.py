"""``infogauss reproduce NAME``: regenerate a table or figure of the paper and print it beside the paper's numbers.

Usage::

    infogauss reproduce table1-synthetic --scale cpu --seeds 3 --out runs/table1-synthetic
    infogauss reproduce --list

Each experiment is one file in this package, registered in :data:`EXPERIMENTS` (name -> module). A module defines

- ``TITLE`` (str) and ``SCALES`` (``{"smoke"|"cpu"|"paper": settings dict}``; each settings dict has an ``"about"``
  line saying what the scale changes with respect to the paper);
- ``run_seed(ctx) -> (rows, extras)`` with ``ctx`` a :class:`~infogauss.experiments.common.Context` (settings,
  seed, progress, device): train/measure once; ``rows`` is a list of flat dicts with a unique ``name`` and the
  Gaussianity-report keys, ``extras`` anything the figures need (kept for the first seed only);
- ``figures(rows, extras, folder)``: write PNG figures into ``folder``;
- ``tables(rows) -> list[Table]`` (see :mod:`infogauss.experiments.tables`) with the paper's values;
- ``notes(rows, rows_per_seed, settings) -> str``: Markdown text read next to the tables (differences from the
  paper, checks, caveats);
- optionally ``TAKES_MODELS = True``: the experiment also measures the encoders named by ``--model`` (``ctx.models``);
  ``DATA = "cifar10"``: it trains on CIFAR-10, whose local file ``--data`` may name (``ctx.data``).

:func:`reproduce` runs seeds ``0 .. K-1``, averages them (mean ± std), and writes ``results.json``, ``results.csv``,
``results.md``, ``settings.json``, the figures and ``index.html`` (tables beside the paper's numbers, notes, settings
and figures in one self-contained page) to ``--out`` (default ``runs/NAME``) through a temporary folder,
so a failure leaves nothing half-written. The Markdown is also printed.
"""

from __future__ import annotations

import argparse
import importlib
import platform
import sys
import time
from dataclasses import dataclass
from pathlib import Path

from infogauss import options, outputs
from infogauss.errors import InputError

#: name -> module. Later issues add experiments (CIFAR, whitening, OOD) as one file each plus one line here.
EXPERIMENTS: dict[str, str] = {
    "table1-synthetic": "infogauss.experiments.table1_synthetic",
    "fig3": "infogauss.experiments.fig3",
    "fig2": "infogauss.experiments.fig2",
    "fig11": "infogauss.experiments.fig11",
    "bound": "infogauss.experiments.bound",
    "regularizer": "infogauss.experiments.regularizer",
    "table1-cifar": "infogauss.experiments.table1_cifar",
    "fig4": "infogauss.experiments.fig4",
    "fig4-ablation": "infogauss.experiments.fig4_ablation",
    "sample-size": "infogauss.experiments.sample_size",
    "architectures": "infogauss.experiments.architectures",
    "pretrained": "infogauss.experiments.pretrained",
    "ood": "infogauss.experiments.ood",
    "text-ood": "infogauss.experiments.text_ood",
    "whitening": "infogauss.experiments.whitening",
    "induction": "infogauss.experiments.induction",
    "unknowns": "infogauss.experiments.unknowns",
    "sensitivity": "infogauss.experiments.sensitivity",
    "claims": "infogauss.experiments.claims",
}
SCALES = ("smoke", "cpu", "paper")
MAX_SEEDS = 100


def experiment(name: str):
    """The module of experiment ``name`` (InputError if unknown)."""
    if name not in EXPERIMENTS:
        raise InputError(f"unknown experiment {name!r}; choose from {', '.join(EXPERIMENTS)}")
    return importlib.import_module(EXPERIMENTS[name])


def reproduce(
    name: str,
    scale: str = "cpu",
    seeds: int = 1,
    out: str | Path | None = None,
    progress: bool = True,
    device: str = "auto",
    echo=None,
    models=(),
    data=None,
    overrides=(),
) -> list[dict]:
    """Run experiment ``name`` at ``scale`` over ``seeds`` seeds; write results to ``out``; return the rows.

    ``models``: extra encoders ``NAME[=WEIGHTS]`` for experiments with ``TAKES_MODELS`` (``pretrained``).
    ``data``: a local CIFAR-10 (``.npz`` or torchvision folder) for experiments with ``DATA = "cifar10"``; default
    ``$INFOGAUSS_CIFAR10``, else the default locations of docs/data.md.
    ``echo`` (default: no printing) receives the Markdown report once it is written.
    ``overrides``: ``key=value`` changes to the scale's settings (:func:`infogauss.options.apply_settings`, e.g.
    ``epochs=3`` or ``train.epochs=3``), recorded in ``settings.json``.
    """
    from infogauss.checks import resolve_device

    module = experiment(name)
    if scale not in SCALES:
        raise InputError(f"unknown scale {scale!r}; choose from {', '.join(SCALES)}")
    if not isinstance(seeds, int) or isinstance(seeds, bool) or not 1 <= seeds <= MAX_SEEDS:
        raise InputError(f"--seeds must be an integer from 1 to {MAX_SEEDS}, got {seeds!r}")
    models = tuple(models)
    if models and not getattr(module, "TAKES_MODELS", False):
        takes = [n for n in EXPERIMENTS if getattr(experiment(n), "TAKES_MODELS", False)]
        raise InputError(f"--model applies only to {', '.join(takes)}, not to {name}")
    if data is not None:
        if getattr(module, "DATA", None) != "cifar10":
            users = [n for n in EXPERIMENTS if getattr(experiment(n), "DATA", None) == "cifar10"]
            raise InputError(f"--data applies only to {', '.join(users)}, not to {name}")
        if scale == "smoke":
            raise InputError("--data has no effect at --scale smoke (generated images); use --scale cpu or paper")
        if not Path(data).exists():
            raise InputError(f"--data {data}: no such file or folder; give a CIFAR-10 .npz or torchvision root")
        data = str(Path(data).resolve())
    resolve_device(device)  # a one-line error for cuda without CUDA, before any work
    settings = options.apply_settings(module.SCALES[scale], list(overrides))
    out = Path(out) if out is not None else Path("runs") / name
    _check_out(out, data, models)  # fail before hours of training, not after
    job = Job(name, scale, settings, seeds, out, progress, device, models, data, tuple(overrides))
    with outputs.RunLock(out):
        return _run(module, job, echo)


def _check_out(out: Path, data, models) -> None:
    """A writable results folder (new, empty or an earlier result) that holds none of the inputs."""
    from infogauss.experiments import tables as _tables

    outputs.check_writable(out, "dir")
    weights = [m.split("=", 1)[1] for m in models if "=" in m]
    outputs.refuse_input_as_output(out, [data, *weights], kind="dir")
    _tables.check_out_dir(out)


@dataclass(frozen=True)
class Job:
    """One checked ``reproduce`` request: what to run, at which settings, where to write."""

    name: str
    scale: str
    settings: dict
    seeds: int
    out: Path
    progress: bool
    device: str
    models: tuple
    data: str | None
    overrides: tuple


def _run(module, job: Job, echo) -> list[dict]:
    from infogauss.experiments import tables as _tables
    from infogauss.experiments.common import Context

    name, scale, settings, seeds, out = job.name, job.scale, job.settings, job.seeds, job.out
    t0 = time.perf_counter()
    rows_per_seed, extras = [], None
    for seed in range(seeds):
        rows, ext = module.run_seed(Context(settings, seed, job.progress, job.device, job.models, job.data))
        rows_per_seed.append(rows)
        extras = ext if extras is None else extras
    rows = _tables.aggregate(rows_per_seed)
    elapsed = time.perf_counter() - t0

    meta = {
        "experiment": name,
        "scale": scale,
        "seeds": list(range(seeds)),
        "elapsed_s": round(elapsed, 1),
        "device": job.device,
        "settings": settings,
        "overrides": list(job.overrides),
        "models": list(job.models),
        "data": job.data,
        "python": platform.python_version(),
        "torch": _version("torch"),
        "numpy": _version("numpy"),
        "scipy": _version("scipy"),
        "command": "infogauss reproduce " + " ".join(sys.argv[2:]) if sys.argv[1:2] == ["reproduce"] else None,
    }
    header = (
        f"Scale **{scale}**: {settings.get('about', '')}  \n"
        f"Seeds: {seeds} (mean ± sample std over seeds when > 1). Wall time: {elapsed:.0f} s.  \n"
        "Cells read `ours / paper` where the paper reports the number."
    )
    try:
        tables = module.tables(rows)
        notes = module.notes(rows, rows_per_seed, settings)
        markdown = _tables.render_markdown(module.TITLE, header, tables, notes, meta)
        with _tables.atomic_dir(out) as tmp:
            _mpl()
            module.figures(rows, extras, tmp)
            _write_encoders(tmp, extras)
            _tables.write_results(tmp, rows, markdown, meta)
            _tables.write_index(tmp, module.TITLE, header, tables, notes, meta)
    except Exception as exc:  # a bug past the training: keep what was computed, then fail loudly
        kept = Path(f"{out}.rows-only")  # beside ``out``, which keeps its previous result (or stays absent)
        _save_rows_only(kept, module.TITLE, header, rows, meta, exc, extras)
        raise RuntimeError(f"{name}: the tables, notes or figures failed ({exc!r}); {out} is unchanged and the rows "
                           f"are saved in {kept}/results.json (settings.json records the error)") from exc  # fmt: skip
    if echo is not None:  # the settings stay in the folder (settings.json, results.md), not on the terminal
        echo(markdown.split("\n## Settings\n", 1)[0].rstrip() + "\n")
        echo(f"results written to {out}/ (settings in settings.json)")
    return rows


def _save_rows_only(out: Path, title: str, header: str, rows: list[dict], meta: dict, exc: Exception,
                    extras=None) -> None:
    """results.json/.csv and settings.json (with ``render_error``) of a run whose rendering failed, in the folder
    ``out`` (``<--out>.rows-only``, never the result folder itself), so hours of training are not lost; results.md
    says so. Written atomically."""
    from infogauss.experiments import tables as _tables

    meta = {**meta, "render_error": repr(exc)}
    text = (f"# {title}\n\n{header}\n\n**Rendering failed** ({exc!r}): no tables, notes or figures. The rows are in "
            "results.json / results.csv; the settings and the error in settings.json.\n")  # fmt: skip
    with _tables.atomic_dir(out) as tmp:
        _write_encoders(tmp, extras)
        _tables.write_results(tmp, rows, text, meta)


def _write_encoders(folder: Path, extras) -> None:
    """``folder/encoders/<name>/`` (an ``infogauss export``: model.safetensors + infogauss_encoder.json) for every
    ``(model, description)`` in ``extras["encoders"]`` — the trained encoders of the first seed, so other experiments
    (``encoders_from=DIR``) and ``infogauss embed --model DIR/encoders/<name>`` reuse them instead of retraining."""
    from infogauss.export import write_export

    encoders = extras.get("encoders", {}) if isinstance(extras, dict) else {}
    for name, (model, desc) in encoders.items():
        where = Path(folder) / "encoders" / name
        where.mkdir(parents=True)
        write_export(where, model, desc)


def _version(mod: str) -> str | None:
    try:
        return importlib.import_module(mod).__version__
    except Exception:  # pragma: no cover
        return None


def _mpl() -> None:
    import matplotlib

    matplotlib.use("Agg", force=True)


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("name", nargs="?", help=f"experiment: {', '.join(EXPERIMENTS)}")
    parser.add_argument(
        "--scale",
        default="cpu",
        help="smoke (seconds, for tests) | cpu (all synthetic experiments in <= 20 min on 2 cores) | paper (the "
        "paper's settings); default cpu",
    )
    parser.add_argument("--seeds", default="1", help="number of seeds (0..K-1); results are mean ± std; default 1")
    options.add_out(parser, "dir", "results.json/.csv/.md, settings.json, figures (default runs/NAME); replaced "
                    "atomically", default="")  # fmt: skip
    options.add_device(parser)
    parser.add_argument(
        "--model",
        action="append",
        default=[],
        metavar="NAME[=WEIGHTS]",
        help="pretrained: also measure this encoder (any `infogauss embed --model` name; image encoders embed CIFAR-10 "
        "test images, text encoders the text corpus); repeatable",
    )
    options.add_cifar_data(parser, " for the CIFAR-10 experiments (format: docs/data.md)")
    options.add_list(parser, "experiments")
    options.add_quiet(parser)
    options.add_overrides(parser, "change the scale's settings, anywhere on the line, e.g. train.epochs=3 (the "
                          "settings are listed in results.md)")  # fmt: skip


def run(args: argparse.Namespace) -> int:
    if args.list:
        for name in EXPERIMENTS:
            print(f"{name:18s} {experiment(name).TITLE}")
        return 0
    if not args.name:
        raise InputError(f"name an experiment: {', '.join(EXPERIMENTS)} (or --list)")
    try:
        seeds = int(args.seeds)
    except ValueError:
        raise InputError(f"--seeds must be an integer from 1 to {MAX_SEEDS}, got {args.seeds!r}") from None
    experiment(args.name)  # unknown name -> InputError before anything else
    reproduce(
        args.name, args.scale, seeds, args.out or None, progress=not args.quiet, device=args.device, echo=print,
        models=args.model, data=args.data, overrides=args.overrides,
    )  # fmt: skip
    return 0
