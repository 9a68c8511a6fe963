"""``infogauss embed INPUT --model NAME --out EMB.npy``: embeddings of texts or images from a pretrained encoder.

``INPUT``: a ``.txt`` file (one text per line, for a text model; one image path per line, for an image model) or a
folder of images; for an encoder trained by infogauss (``--model RUN`` or an ``infogauss export`` folder), an
``(n, in_dim)`` array file (``.npy``, ``.npz``, ``.csv`` ...). ``--input INPUT`` is the earlier spelling and still
works. ``--out`` is checked before the model is loaded: writable, not the input, and not an existing file unless
``--force``.
"""

from __future__ import annotations

import argparse
from pathlib import Path

import numpy as np

from infogauss import options, outputs
from infogauss.checks import integer, resolve_device
from infogauss.embed import embed_arrays, embed_images, embed_texts, list_images, load_encoder, read_lines
from infogauss.encoder_backends import quiet_backends
from infogauss.errors import InputError
from infogauss.io import load_embeddings


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument(
        "input", nargs="?", metavar="INPUT",
        help="text model: .txt, one text per line; image model: a folder of images or a .txt list of paths",
    )  # fmt: skip
    parser.add_argument("--input", dest="input_flag", metavar="INPUT", help=argparse.SUPPRESS)  # earlier spelling
    parser.add_argument("--model", required=True, metavar="NAME", help="e.g. all-MiniLM-L6-v2, a directory, timm:ARCH")
    options.add_out(parser, "file", "(n, d) float32 embeddings (.npy)")
    parser.add_argument("--batch-size", type=int, default=64)
    options.add_device(parser)
    parser.add_argument(
        "--normalize",
        action=argparse.BooleanOptionalAction,
        default=True,
        help="unit-norm rows (default) or raw features (--no-normalize)",
    )
    parser.add_argument("--weights", default=None, metavar="FILE", help="local state dict for timm:ARCH/open_clip:ARCH")
    parser.add_argument(
        "--modality", choices=("text", "image"), default=None, help="for encoders of both (open_clip); default: guess"
    )
    parser.add_argument("--force", action="store_true", help="replace an existing --out file")
    options.add_quiet(parser)


def _source(args) -> Path:
    if args.input and args.input_flag and args.input != args.input_flag:
        raise InputError(f"two inputs given ({args.input} and --input {args.input_flag}); give one")
    given = args.input or args.input_flag
    if not given:
        raise InputError("give the INPUT file or folder to embed (texts .txt, image folder or .txt list of paths)")
    src = Path(given)
    if not src.exists():
        raise InputError(f"{given}: no such file or directory")
    return src


def _check_out(out: Path, args, src: Path) -> None:
    if out.suffix.lower() != ".npy":
        raise InputError(f"--out {args.out}: write embeddings to a .npy file")
    outputs.check_writable(out, "file")
    outputs.refuse_input_as_output(out, [src, args.weights])
    if out.exists() and not args.force:
        raise InputError(f"--out {out}: exists; choose a new name (or --force to replace it)")


def run(args) -> int:
    out = Path(args.out)
    src = _source(args)
    _check_out(out, args, src)
    integer(args.batch_size, "--batch-size", lo=1)
    device = resolve_device(args.device)
    with quiet_backends(args.quiet):  # --quiet: the libraries' messages, warnings and bars too
        enc, modality, Z = _embed(args, src, device)
    outputs.atomic_write(out, lambda fh: np.save(fh, Z))
    norms = np.linalg.norm(Z, axis=1)
    print(f"embedded {Z.shape[0]} {modality}s with {args.model} ({enc.kind}, from {enc.source}) on {enc.device}")
    print(f"  dim {Z.shape[1]}, norms mean {norms.mean():.4g} (CV {norms.std() / norms.mean():.3g})")
    print(f"wrote {out}")
    return 0


def _embed(args, src: Path, device: str):
    """``(encoder, modality, Z)``: the encoder loaded and ``src`` embedded (one progress bar unless --quiet)."""
    enc = load_encoder(args.model, weights=args.weights, device=device)
    modality = args.modality or ("image" if src.is_dir() or enc.modalities == ("image",) else "text")
    if modality not in enc.modalities and enc.modalities != ("array",):
        raise InputError(
            f"--modality {modality}: {args.model} is a {'/'.join(enc.modalities)} encoder; it cannot embed {modality}s"
        )
    if modality == "text" and src.is_dir():
        raise InputError(f"{src}: is a folder, but {args.model} embeds texts; give a .txt file, one text per line")
    if enc.modalities == ("array",):  # an encoder trained by infogauss: INPUT is an (n, in_dim) array file
        modality, X = "row", load_embeddings(src)
        Z = embed_arrays(args.model, X, batch_size=args.batch_size, device=device, normalize=args.normalize,
                         progress=not args.quiet)  # fmt: skip
    else:
        items, embed = (list_images(src), embed_images) if modality == "image" else (read_lines(src), embed_texts)
        Z = embed(args.model, items, batch_size=args.batch_size, device=device, weights=args.weights,
                  normalize=args.normalize, progress=not args.quiet)  # fmt: skip
    return enc, modality, Z
