"""``infogauss`` command line: one subcommand per verb, each implemented next to what it runs.

Each entry of :data:`COMMANDS` names a module that defines ``add_arguments(parser)`` and ``run(args)``
(or, for modules that host several commands, ``<name>_arguments`` / ``<name>_run``). Modules are imported
only when their command runs, so ``infogauss --help`` stays fast.
"""

from __future__ import annotations

import argparse
import importlib
import sys

from infogauss.errors import InputError

# command -> (module, help). measure / induce / use / experiments.
COMMANDS: dict[str, tuple[str, str]] = {
    "analyze": ("infogauss.analyze", "measure: the paper's Gaussianity protocol on an embedding file"),
    "train": ("infogauss.train", "induce: train an encoder with InfoNCE (or the supervised baseline)"),
    "reproduce": ("infogauss.experiments", "regenerate a table or figure of the paper beside its numbers"),
    "fit": ("infogauss.gaussian_cli", "use: fit a Gaussian model to embeddings"),
    "score": ("infogauss.gaussian_cli", "use: score embeddings under a fitted Gaussian model"),
    "embed": ("infogauss.embed", "use: extract embeddings from a pretrained encoder"),
}


def _hooks(name: str):
    module = importlib.import_module(COMMANDS[name][0])
    if hasattr(module, f"{name}_run"):
        return getattr(module, f"{name}_arguments"), getattr(module, f"{name}_run")
    return module.add_arguments, module.run


def main(argv: list[str] | None = None) -> int:
    argv = sys.argv[1:] if argv is None else list(argv)
    parser = argparse.ArgumentParser(prog="infogauss", description=__doc__.splitlines()[0])
    sub = parser.add_subparsers(dest="command", metavar="COMMAND")
    for name, (_module, help_) in COMMANDS.items():
        sub.add_parser(name, help=help_, add_help=False)
    # Parse only the command name first, then build that command's full parser.
    if not argv or argv[0] in ("-h", "--help"):
        parser.print_help()
        return 0 if argv else 2
    name = argv[0]
    if name not in COMMANDS:
        parser.error(f"unknown command {name!r}; choose from {', '.join(COMMANDS)}")
    try:
        add_arguments, run = _hooks(name)
    except (ImportError, AttributeError) as exc:
        print(f"infogauss: error: command {name!r} is not available in this build ({exc})", file=sys.stderr)
        return 2
    cmd = argparse.ArgumentParser(prog=f"infogauss {name}", description=COMMANDS[name][1])
    add_arguments(cmd)
    args = cmd.parse_args(argv[1:])
    try:
        return int(run(args) or 0)
    except InputError as exc:
        print(f"infogauss: error: {exc}", file=sys.stderr)
        return 2
    except KeyboardInterrupt:
        print("infogauss: interrupted", file=sys.stderr)
        return 130


if __name__ == "__main__":
    sys.exit(main())
