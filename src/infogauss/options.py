"""Command-line options shared by every ``infogauss`` verb, so each means the same thing everywhere.

- the input file is the first positional argument (``analyze EMB``, ``fit EMB``, ``score MODEL EMB``, ``embed
  TEXTS|IMAGES``, ``reproduce NAME``);
- ``--out PATH`` is where the verb's result goes, created atomically and checked before any work (writable, not an
  input, not someone else's file): a **folder** for the verbs that write several files (``analyze``, ``train``,
  ``reproduce``), a **file** for the verbs that write one array (``fit`` → model ``.npz``, ``score`` → scores,
  ``embed`` → embeddings ``.npy``);
- ``--device {auto,cpu,cuda}``, ``--seed N``, ``--quiet`` (no progress bars);
- ``key=value`` settings, anywhere on the line, wherever the verb has a configuration (``train``).

Every verb's ``--help`` ends with examples (:data:`EXAMPLES`).
"""

from __future__ import annotations

import argparse

EXAMPLES = {
    "analyze": "infogauss analyze emb.npy --out runs/emb\n  infogauss analyze --demo --out runs/demo",
    "fit": "infogauss fit emb.npy --out model.npz --shrinkage auto",
    "score": "infogauss score model.npz new.npy --out scores.csv",
    "embed": "infogauss embed texts.txt --model all-MiniLM-L6-v2 --out emb.npy\n"
    "  infogauss embed images/ --model timm:resnet18 --out emb.npy",
    "train": "infogauss train --preset smoke epochs=2 d=16 --out runs/smoke\n  infogauss train --list",
    "reproduce": "infogauss reproduce table1-synthetic --scale smoke --out runs/t1\n  infogauss reproduce --list",
}


class Parser(argparse.ArgumentParser):
    """An ``ArgumentParser`` whose usage errors are one line on stderr (``infogauss: error: ...``), exit 2."""

    def error(self, message):
        self.exit(2, f"infogauss: error: {' '.join(message.split())} (see {self.prog} --help)\n")


def parser_for(name: str, description: str) -> argparse.ArgumentParser:
    """The parser of verb ``name``, whose help ends with the verb's examples."""
    return Parser(
        prog=f"infogauss {name}",
        description=description,
        epilog="examples:\n  " + EXAMPLES.get(name, f"infogauss {name} --help"),
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )


def add_out(parser, kind: str, what: str, default: str | None = None) -> None:
    """``--out``: a folder (``kind="dir"``) or a file (``kind="file"``); ``what`` describes it."""
    metavar = "DIR" if kind == "dir" else "FILE"
    parser.add_argument("--out", metavar=metavar, default=default, required=default is None and kind == "file",
                        help=f"output {'folder' if kind == 'dir' else 'file'}: {what}")  # fmt: skip


def add_device(parser, default: str | None = "auto", help: str | None = None) -> None:
    """``--device {auto,cpu,cuda}`` (``auto``: CUDA when available)."""
    parser.add_argument("--device", choices=("auto", "cpu", "cuda"), default=default,
                        help=help or "auto (default: CUDA when available), cpu or cuda")  # fmt: skip


def add_seed(parser, default: int = 0, help: str = "random seed") -> None:
    parser.add_argument("--seed", type=int, default=default, help=f"{help} (default {default})")


def add_quiet(parser) -> None:
    parser.add_argument("--quiet", action="store_true", help="no progress bars")


def add_overrides(parser, help: str) -> None:
    """``key=value`` settings, accepted anywhere on the line (the CLI parses with ``parse_intermixed_args``)."""
    parser.add_argument("overrides", nargs="*", metavar="key=value", help=help)
