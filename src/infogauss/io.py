"""Embedding files in, one checked ``(n, d)`` array out.

:func:`load_embeddings` reads ``.npy`` (memory-mapped when large), ``.npz``, ``.pt``/``.pth`` (``torch.load`` with
``weights_only=True``: no pickle), ``.safetensors``, ``.csv`` and ``.parquet``. :func:`as_embedding_matrix` is the
one place that checks an array (file or in-memory) before the Gaussianity report: numeric, 2-D, at least
:data:`MIN_ROWS` rows, at least one column, finite — the finiteness check runs over row blocks so a memory-mapped
file larger than memory is never read into memory at once. Every problem is an :class:`~infogauss.errors.InputError`
with a one-line message.

Example::

    >>> Z = load_embeddings("feats.npz", key="image")     # doctest: +SKIP
    >>> Z.shape
    (5000, 768)
"""

from __future__ import annotations

import os
from pathlib import Path

import numpy as np

from infogauss.errors import InputError
from infogauss.extras import require

MIN_ROWS = 8  # = infogauss.stats.validate.MIN_SAMPLES (not imported: it would import torch)
MMAP_BYTES = 64 * 2**20  # .npy files above this size are memory-mapped instead of read
CHECK_BLOCK_BYTES = 64 * 2**20  # bytes of input read at a time by the NaN/Inf check

LEGACY_TORCH_MAGIC = b"\x80\x02\x8a\nl\xfc\x9cF\xf9 j\xa8P\x19"  # pickle protocol 2 + torch's magic number
EXTENSIONS = (".npy", ".npz", ".pt", ".pth", ".safetensors", ".csv", ".parquet")


def load_embeddings(
    path, key: str | None = None, *, mmap_bytes: int = MMAP_BYTES, check_finite: bool = True
) -> np.ndarray:
    """Load an ``(n, d)`` embedding matrix from ``path``; ``key`` picks an array in multi-array files.

    The returned array keeps the file's dtype (``float16``/``float32``/...; ``bfloat16`` becomes ``float32``).
    A ``.npy`` file larger than ``mmap_bytes`` comes back as a read-only ``np.memmap``: nothing is read until used.
    ``key`` is optional when a ``.npz`` / ``.pt`` dict / ``.safetensors`` file holds exactly one array; for
    ``.csv`` / ``.parquet`` it is not used (all columns must be numeric). ``check_finite=False`` skips the NaN/Inf
    scan (one pass over the file) for callers that check while reading anyway (:func:`~infogauss.gaussianity_report`).
    """
    p = Path(path)
    if not p.exists():
        raise InputError(f"{path}: no such file")
    if p.is_dir():
        raise InputError(f"{path}: is a directory; give an embedding file ({', '.join(EXTENSIONS)})")
    ext = p.suffix.lower()
    readers = {
        ".npy": _read_npy,
        ".npz": _read_npz,
        ".pt": _read_torch,
        ".pth": _read_torch,
        ".safetensors": _read_safetensors,
        ".csv": _read_csv,
        ".parquet": _read_parquet,
    }
    if ext not in readers:
        raise InputError(f"{path}: unknown file type {ext or '(no extension)'!r}; use one of {', '.join(EXTENSIONS)}")
    if ext in (".csv", ".parquet", ".npy") and key is not None:
        raise InputError(f"{path}: --key/key is only for .npz, .pt/.pth and .safetensors files; drop it")
    try:
        if ext == ".npy":
            arr = _read_npy(p, mmap_bytes)
        elif ext in (".csv", ".parquet"):
            arr = readers[ext](p)
        else:
            arr = readers[ext](p, key)
    except InputError:
        raise
    except Exception as exc:  # corrupt or truncated files raise all sorts of things
        msg = " ".join(str(exc).split())[:200] or type(exc).__name__
        raise InputError(f"{path}: cannot read the {ext} file (corrupt or not a {ext} file?): {msg}") from None
    return as_embedding_matrix(arr, what=str(path), check_finite=check_finite)


def as_embedding_matrix(x, what: str = "Z", check_finite: bool = True) -> np.ndarray:
    """Check that ``x`` is a finite numeric ``(n, d)`` matrix with ``n >= 8`` and ``d >= 1``; return it as numpy.

    Torch tensors are moved to the CPU (``bfloat16`` -> ``float32``); numpy arrays and memory maps are returned
    as they are (no copy, no dtype change), so a file larger than memory stays on disk. NaN/Inf are looked for one
    row block at a time.
    """
    if type(x).__module__.startswith("torch"):
        import torch

        x = x.detach().cpu()
        if x.dtype == torch.bfloat16:
            x = x.float()
        x = x.numpy()
    if not isinstance(x, np.ndarray):
        try:
            x = np.asarray(x)
        except Exception as exc:  # ragged lists and the like
            raise InputError(f"{what}: cannot be read as a numeric array ({exc})") from None
    if x.dtype == bool or not np.issubdtype(x.dtype, np.number):
        raise InputError(f"{what}: expected numeric data, got dtype {x.dtype}; save the embeddings as numbers")
    if np.iscomplexobj(x):
        raise InputError(f"{what}: complex values are not supported")
    if x.ndim != 2:
        raise InputError(
            f"{what}: expected a 2-D (n_samples, dim) array, got {x.ndim}-D with shape {x.shape}; "
            "reshape it (one row per embedding)"
        )
    n, d = x.shape
    if d == 0:
        raise InputError(f"{what}: has zero columns (shape {x.shape})")
    if n < MIN_ROWS:
        raise InputError(f"{what}: needs at least {MIN_ROWS} rows (embeddings), got {n}")
    if check_finite and np.issubdtype(x.dtype, np.floating):
        bad = _first_nonfinite_row(x)
        if bad is not None:
            raise InputError(f"{what}: contains NaN or Inf values (first in row {bad}); remove or impute them first")
    return x


def row_block(d: int, itemsize: int = 8, budget: int = CHECK_BLOCK_BYTES) -> int:
    """Rows per block so that one block of ``d`` columns of ``itemsize`` bytes takes about ``budget`` bytes."""
    return max(1, budget // max(1, d * itemsize))


def row_blocks(Z, desc: str, progress: bool = True, block_bytes: int = CHECK_BLOCK_BYTES):
    """Float64 row blocks of ``Z`` of about ``block_bytes`` (a memory map stays on disk), with a progress bar on
    stderr when there are several."""
    import sys

    from tqdm import tqdm

    step = row_block(Z.shape[1], 8, block_bytes)
    starts = range(0, Z.shape[0], step)
    for r0 in tqdm(starts, desc=desc, unit="block", disable=not progress or len(starts) < 2, file=sys.stderr):
        yield np.asarray(Z[r0 : r0 + step], dtype=np.float64)


def _first_nonfinite_row(x: np.ndarray) -> int | None:
    step = row_block(x.shape[1], x.dtype.itemsize)
    for r0 in range(0, x.shape[0], step):
        ok = np.isfinite(x[r0 : r0 + step]).all(axis=1)
        if not ok.all():
            return r0 + int(np.argmin(ok))
    return None


# ---------------------------------------------------------------------------------------------- readers


def _read_npy(p: Path, mmap_bytes: int):
    with open(p, "rb") as fh:
        if fh.read(6) != b"\x93NUMPY":
            raise InputError(f"{p}: not a .npy file (no NumPy header); check the file or its extension")
    mmap = "r" if os.path.getsize(p) > mmap_bytes else None
    try:
        return np.load(p, mmap_mode=mmap, allow_pickle=False)
    except ValueError as exc:
        if "pickle" in str(exc).lower():
            raise InputError(f"{p}: holds Python objects, not numbers; save a numeric array") from None
        raise


def _pick(p: Path, keys: list[str], key: str | None, kind: str) -> str:
    listed = ", ".join(repr(k) for k in keys) or "none"
    if key is None:
        if len(keys) == 1:
            return keys[0]
        raise InputError(f"{p}: holds {len(keys)} {kind}; choose one with --key (available: {listed})")
    if key not in keys:
        raise InputError(f"{p}: no {kind[:-1] if kind.endswith('s') else kind} named {key!r}; available: {listed}")
    return key


def _read_npz(p: Path, key):
    import zipfile

    if not zipfile.is_zipfile(p):
        raise InputError(f"{p}: not a .npz file (not a zip archive); check the file or its extension")
    with np.load(p, allow_pickle=False) as z:
        name = _pick(p, list(z.files), key, "arrays")
        try:
            return z[name]
        except ValueError as exc:
            if "pickle" in str(exc).lower():
                raise InputError(f"{p}: array {name!r} holds Python objects, not numbers") from None
            raise


def _read_torch(p: Path, key):
    import pickle
    import zipfile

    torch = require("torch", "train", f"reading {p.suffix} files")
    if not zipfile.is_zipfile(p):  # torch.save writes zip archives since PyTorch 1.6
        with open(p, "rb") as fh:
            head = fh.read(16)
        if head.startswith(LEGACY_TORCH_MAGIC):
            raise InputError(
                f"{p}: a legacy (before PyTorch 1.6) torch.save file, which only unpickling can read; re-save it "
                "with a current PyTorch (torch.save(torch.load(path), path)) where you trust it"
            )
        raise InputError(f"{p}: not a torch.save file (not a zip archive); check the file or its extension")
    try:
        obj = torch.load(p, map_location="cpu", weights_only=True)
    except pickle.UnpicklingError as exc:
        lines = [ln.strip() for ln in str(exc).splitlines() if "Unsupported" in ln] or ["unpickling failed"]
        raise InputError(
            f"{p}: refused by torch.load(weights_only=True), which reads only tensors and dicts of tensors "
            f"({lines[0][:120]})"
        ) from None
    if isinstance(obj, torch.Tensor):
        if key is not None:
            raise InputError(f"{p}: holds a single tensor, not a dict; drop --key")
        return obj
    if isinstance(obj, dict):
        tensors = {str(k): v for k, v in obj.items() if isinstance(v, torch.Tensor)}
        if not tensors:
            raise InputError(f"{p}: a dict with no tensors (keys: {', '.join(repr(k) for k in list(obj)[:5])})")
        return tensors[_pick(p, list(tensors), key, "tensors")]
    raise InputError(f"{p}: expected a tensor or a dict of tensors, got {type(obj).__name__}")


def _read_safetensors(p: Path, key):
    """numpy arrays (no torch needed); bfloat16, which numpy lacks, through torch (the [train] extra)."""
    safe_open = require("safetensors", "io", "reading .safetensors files").safe_open
    with safe_open(str(p), framework="numpy") as f:
        name = _pick(p, list(f.keys()), key, "tensors")
        if _dtype_of(p, name) != "BF16":
            return f.get_tensor(name)
    require("torch", "train", "reading bfloat16 .safetensors files")
    with safe_open(str(p), framework="pt") as f:
        return f.get_tensor(name)


def _dtype_of(p: Path, name: str) -> str:
    """The dtype of tensor ``name`` from the safetensors header (8-byte length, then JSON)."""
    import json
    import struct

    with open(p, "rb") as fh:
        size = struct.unpack("<Q", fh.read(8))[0]
        return str(json.loads(fh.read(size)).get(name, {}).get("dtype", ""))


def _read_csv(p: Path):
    pacsv = require("pyarrow.csv", "io", "reading .csv files")

    with open(p, encoding="utf-8", errors="replace") as fh:
        first = fh.readline()
    if not first.strip():
        raise InputError(f"{p}: the CSV file is empty (or starts with an empty line)")
    tokens = [t.strip().strip('"') for t in first.strip().split(",")]
    if tokens[0] in ("", "Unnamed: 0"):  # pandas' to_csv() writes its row index as a first, unnamed column
        raise InputError(
            f"{p}: the first column has no name, as pandas writes its row index; save with "
            "df.to_csv(path, index=False) (or drop that column)"
        )
    numeric_header = len(tokens) > 1 and tokens == [str(i) for i in range(len(tokens))]
    header = numeric_header or not all(_is_number(tok) for tok in tokens)
    if numeric_header:  # pandas' column names of a frame built from an array: 0,1,...,d-1
        note(f"{p}: first line {first.strip()[:40]} read as column names, not as data")
    table = pacsv.read_csv(p, read_options=pacsv.ReadOptions(autogenerate_column_names=not header))
    arr = _table_to_array(p, table)
    n = arr.shape[0]
    if arr.shape[1] > 1 and n > 2 and np.array_equal(arr[:, 0], np.arange(n)):
        raise InputError(
            f"{p}: the first column is 0, 1, ..., {n - 1}, a row index (pandas' to_csv writes one); save with "
            "df.to_csv(path, index=False) (or drop that column)"
        )
    return arr


def _read_parquet(p: Path):
    import json

    pq = require("pyarrow.parquet", "io", "reading .parquet files")

    table = pq.read_table(p)
    meta = (table.schema.metadata or {}).get(b"pandas")
    if meta:  # a DataFrame's index stored as columns (not a RangeIndex): pandas reads it back as the index
        try:
            index = [c for c in json.loads(meta).get("index_columns", []) if isinstance(c, str)]
        except (ValueError, AttributeError):
            index = []
        index = [c for c in index if c in table.column_names]
        if index:
            note(f"{p}: dropped the pandas index column(s) {', '.join(index)}; the embedding is the other columns")
            table = table.drop_columns(index)
    return _table_to_array(p, table)


def note(message: str) -> None:
    """One line on stderr about something the reader did to the input (e.g. a dropped index column)."""
    import sys

    print(f"infogauss: note: {message}", file=sys.stderr)


def _table_to_array(p: Path, table) -> np.ndarray:
    pa = require("pyarrow", "io", "reading tables")

    if table.num_columns == 0:
        raise InputError(f"{p}: has zero columns")
    bad = [
        name
        for name, col in zip(table.column_names, table.columns, strict=True)
        if not (pa.types.is_integer(col.type) or pa.types.is_floating(col.type) or pa.types.is_null(col.type))
    ]
    if bad:
        shown = ", ".join(repr(b) for b in bad[:5]) + (" ..." if len(bad) > 5 else "")
        raise InputError(
            f"{p}: non-numeric column(s) {shown} ({len(bad)} of {table.num_columns}); keep only the embedding columns"
        )
    nulls = [name for name, col in zip(table.column_names, table.columns, strict=True) if col.null_count]
    if nulls:
        raise InputError(f"{p}: missing or NaN values in column {nulls[0]!r}; remove or impute them first")
    if table.num_rows == 0:
        raise InputError(f"{p}: has no rows")
    return np.column_stack([col.to_numpy().astype(np.float64, copy=False) for col in table.columns])


def _is_number(tok: str) -> bool:
    try:
        float(tok)
    except ValueError:
        return False
    return True
