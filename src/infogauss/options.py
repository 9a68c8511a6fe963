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

from infogauss.errors import InputError

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


def device_name(text: str) -> str:
    """An ``argparse`` type: ``auto``, ``cpu``, ``cuda`` or ``cuda:N`` (lower-cased)."""
    name = text.strip().lower()
    base, _, index = name.partition(":")
    if name in ("auto", "cpu", "cuda") or (base == "cuda" and index.isdigit()):
        return name
    raise argparse.ArgumentTypeError(f"unknown device {text!r}; use auto, cpu or cuda (cuda:N for one GPU)")


def add_device(parser, default: str | None = "auto", help: str | None = None) -> None:
    """``--device {auto,cpu,cuda}`` (``auto``: CUDA when available; ``cuda:N`` is accepted too)."""
    parser.add_argument("--device", type=device_name, default=default, metavar="{auto,cpu,cuda}",
                        help=help or "auto (default: CUDA when available), cpu or cuda")  # fmt: skip


def add_seed(parser, default: int = 0, help: str = "random seed") -> None:
    parser.add_argument("--seed", type=int, default=default, help=f"{help} (default {default})")


def add_quiet(parser) -> None:
    parser.add_argument("--quiet", action="store_true", help="no progress bars")


def add_cifar_data(parser, note: str = "") -> None:
    """``--data PATH``: a local CIFAR-10 ``.npz`` or torchvision root (default ``$INFOGAUSS_CIFAR10``, else
    the locations in docs/data.md)."""
    parser.add_argument("--data", default=None, metavar="PATH",
                        help="a local CIFAR-10 .npz or torchvision root (default $INFOGAUSS_CIFAR10, else "
                        f"the locations in docs/data.md){note}")  # fmt: skip


def add_list(parser, what: str) -> None:
    parser.add_argument("--list", action="store_true", help=f"list the {what} and exit")


def add_overrides(parser, help: str) -> None:
    """``key=value`` settings, accepted anywhere on the line (the CLI parses with ``parse_intermixed_args``)."""
    parser.add_argument("overrides", nargs="*", metavar="key=value", help=help)


def parse_value(raw: str, kind, key: str):
    """The value of ``key=raw`` as ``kind`` (``bool``, ``int``, ``float``, ``str``; ``None``: guessed); ``none`` /
    ``null`` give ``None``. A value of the wrong type is an :class:`InputError` naming ``key``."""
    text = raw.strip()
    low = text.lower()
    if low in ("none", "null"):
        return None
    if kind is bool or (kind is None and low in ("true", "false")):
        if low in ("true", "1", "yes"):
            return True
        if low in ("false", "0", "no"):
            return False
        raise InputError(f"{key} must be true or false, got {raw!r}")
    if kind is str or (isinstance(kind, str) and kind.startswith("str")):
        return text
    for cast in (int, float):
        try:
            value = cast(text)
        except ValueError:
            continue
        if kind is int and cast is float:
            if not value.is_integer():
                raise InputError(f"{key} must be an integer, got {raw!r}")
            return int(value)
        return float(value) if kind is float or (isinstance(kind, str) and "float" in kind) else value
    if kind is None:
        return text  # a string source parameter (e.g. source.scale_per=feature)
    raise InputError(f"{key} must be a number, got {raw!r}")


def apply_settings(settings: dict, items: list[str]) -> dict:
    """A copy of ``settings`` with ``key=value`` items applied: a top-level key, or ``outer.inner`` for a value inside
    a dict-valued setting. Each value is parsed as the type of the value it replaces (a list from comma-separated
    items); unknown keys are an :class:`InputError` that lists the known ones."""
    import copy

    out = copy.deepcopy(settings)
    for item in items:
        if "=" not in item:
            raise InputError(f"expected key=value, got {item!r}")
        key, raw = (t.strip() for t in item.split("=", 1))
        where, name = out, key
        if "." in key:
            outer, name = key.split(".", 1)
            where = out.get(outer)
            if not isinstance(where, dict):
                raise InputError(f"unknown setting {key!r}; settings: {', '.join(k for k in out if k != 'about')}")
        if name not in where or name == "about":
            known = ", ".join(k for k in where if k != "about")
            raise InputError(f"unknown setting {key!r}; settings: {known}")
        old = where[name]
        if isinstance(old, dict):
            raise InputError(f"{key} is a group of settings; set one of them, e.g. {key}.{next(iter(old), 'KEY')}=...")
        if isinstance(old, list):
            kind = type(old[0]) if old else None
            where[name] = [parse_value(v, kind, key) for v in raw.split(",") if v.strip()]
        else:
            where[name] = parse_value(raw, None if old is None else type(old), key)
    return out
