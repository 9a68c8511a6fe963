"""``infogauss`` command line: one subcommand per verb; shared options in :mod:`infogauss.options`.

:data:`COMMANDS` names, for every verb, the module and the two functions that build its options and run it. Modules
are imported only when their verb runs, so ``infogauss --help`` and ``infogauss --version`` stay fast. Every verb
takes its input as the first positional argument and writes to ``--out`` (a folder for ``analyze`` / ``train`` /
``reproduce``, a file for ``fit`` / ``score`` / ``embed``); ``key=value`` settings may appear anywhere on the line.
Bad input is one line on stderr (``infogauss: error: ...``) and exit status 2.
"""

from __future__ import annotations

import argparse
import importlib
import sys

from infogauss.errors import InputError

# verb -> (module, options function, run function, help). measure / induce / use / experiments.
COMMANDS: dict[str, tuple[str, str, str, str]] = {
    "analyze": ("infogauss.analyze", "add_arguments", "run",
                "measure: the paper's Gaussianity protocol on an embedding file"),
    "train": ("infogauss.train.cli", "add_arguments", "run",
              "induce: train an encoder with InfoNCE (or the supervised baseline)"),
    "reproduce": ("infogauss.experiments", "add_arguments", "run",
                  "regenerate a table or figure of the paper beside its numbers"),
    "fit": ("infogauss.gaussian_cli", "fit_arguments", "fit_run", "use: fit a Gaussian model to embeddings"),
    "score": ("infogauss.gaussian_cli", "score_arguments", "score_run",
              "use: score embeddings under a fitted Gaussian model"),
    "embed": ("infogauss.embed_cli", "add_arguments", "run", "use: extract embeddings from a pretrained encoder"),
    "export": ("infogauss.export", "add_arguments", "run",
               "use: write a trained encoder as safetensors + JSON (for embed --model, load_encoder)"),
}  # fmt: skip
INTERMIXED = ("train", "reproduce")  # verbs whose key=value settings may appear between options


def _version() -> str:
    from infogauss import __version__

    return __version__


def _top_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="infogauss", description=__doc__.splitlines()[0])
    parser.add_argument("--version", action="version", version=f"infogauss {_version()}")
    sub = parser.add_subparsers(dest="command", metavar="COMMAND")
    for name, entry in COMMANDS.items():
        sub.add_parser(name, help=entry[3], add_help=False)
    return parser


def _verb(name: str):
    """``(parser, run)`` of verb ``name``."""
    from infogauss.options import parser_for

    module_name, options_fn, run_fn, help_ = COMMANDS[name]
    module = importlib.import_module(module_name)
    parser = parser_for(name, help_)
    getattr(module, options_fn)(parser)
    return parser, getattr(module, run_fn)


def main(argv: list[str] | None = None) -> int:
    argv = sys.argv[1:] if argv is None else list(argv)
    parser = _top_parser()
    if not argv or argv[0] in ("-h", "--help", "--version"):
        if not argv:
            parser.print_help()
            return 2
        try:
            parser.parse_args(argv[:1])  # prints the help or the version
        except SystemExit as done:
            return int(done.code or 0)
    name = argv[0]
    if name not in COMMANDS:
        parser.error(f"unknown command {name!r}; choose from {', '.join(COMMANDS)}")
    try:
        cmd, run = _verb(name)
    except ImportError as exc:
        msg = _missing(exc, name) or f"command {name!r} is not available in this install ({exc})"
        print(f"infogauss: error: {msg}", file=sys.stderr)
        return 2
    try:
        args = cmd.parse_intermixed_args(argv[1:]) if name in INTERMIXED else cmd.parse_args(argv[1:])
    except SystemExit as done:  # --help, or a usage error already printed as one line
        return int(done.code or 0)
    try:
        return int(run(args) or 0)
    except InputError as exc:
        print(f"infogauss: error: {' '.join(str(exc).split())}", file=sys.stderr)
        return 2
    except ModuleNotFoundError as exc:  # an optional package imported past infogauss.extras.require
        msg = _missing(exc, f"infogauss {name}")
        if msg is None:
            raise
        print(f"infogauss: error: {msg}", file=sys.stderr)
        return 2
    except KeyboardInterrupt:
        print("infogauss: interrupted", file=sys.stderr)
        return 130


def _missing(exc: ImportError, what: str) -> str | None:
    from infogauss.extras import missing_extra_message

    return missing_extra_message(exc, what) if isinstance(exc, ModuleNotFoundError) else None


if __name__ == "__main__":
    sys.exit(main())
