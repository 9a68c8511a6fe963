"""Training on your own data: positive pairs from arrays (``infogauss train source=pairs``).

Two ways to give the pairs:

- ``x1=a.npy x2=b.npy``: two aligned ``(n, dim)`` arrays, row ``i`` of ``x1`` and row ``i`` of ``x2`` are the two
  views of item ``i`` (paper Eq. 1: the augmentation channel is whatever made your pairs);
- ``x=a.npy``: one ``(n, dim)`` array of items, and the views are drawn from the Laplace study's channel
  (:class:`infogauss.data.synthetic.LaplaceSource`, paper App. E.1, Eq. 53): ``A·x + sqrt(1 - A² + noise_std²)·ε``,
  feature dropout, a random scale — fresh every step. The channel assumes unit-scale features: standardise your
  columns first.

Any file :func:`infogauss.io.load_embeddings` reads (``.npy``, ``.npz``, ``.safetensors``, ``.csv``, ``.parquet``;
never pickle) is accepted; every array is checked up front (numeric, 2-D, finite, equal shapes, enough rows) with a
one-line :class:`~infogauss.errors.InputError`. A seeded random ``holdout`` rows (default 20%, at least 8) are held
out for the evaluations; the rest are trained on.
"""

from __future__ import annotations

import numpy as np
import torch

from infogauss.checks import integer
from infogauss.errors import InputError

__all__ = ["PairsSource", "PAIRS_SOURCES", "MIN_TEST_ROWS", "make_pairs_source", "pairs_source_parameters"]

MIN_TEST_ROWS = 8  # the evaluation's Gaussianity report needs at least 8 rows (infogauss.io.MIN_ROWS)
MIN_TRAIN_ROWS = 2  # InfoNCE needs one negative
TEST_FRACTION = 0.2  # default held-out share


class PairsSource:
    """Positive pairs from arrays (see the module docstring).

    ``train`` / ``test``: ``(n, 2, dim)`` float32 tensors of pairs (``x1``, ``x2`` given), or ``(n, dim)`` items
    (``x`` given: views from the channel). ``views(rows, generator)`` gives the two views of rows of ``train`` /
    ``test``; ``datum(rows)`` the un-augmented datum (the first view of a pair, or the item itself).
    """

    name = "pairs"
    eta2 = None  # unknown for user data

    def __init__(self, x1=None, x2=None, x=None, holdout=None, seed: int = 0, A: float = 0.6, noise_std: float = 0.2,
                 dropout: float = 0.1, scale_std: float = 0.1, scale_per: str = "sample", device="cpu"):  # fmt: skip
        self.files = {"x1": x1, "x2": x2, "x": x}
        self.seed = integer(seed, "source.seed", lo=0)
        self.device = torch.device(device)
        data = _load_pairs(x1, x2, x)
        n = data.shape[0]
        self.n_test = _test_rows(holdout, n)
        self.n_train = n - self.n_test
        self.dim = int(data.shape[-1])
        order = np.random.default_rng(self.seed).permutation(n)
        rows = torch.from_numpy(np.ascontiguousarray(data[order], dtype=np.float32)).to(self.device)
        self.test, self.train = rows[: self.n_test], rows[self.n_test :]
        self.channel = None
        if x is not None:
            from infogauss.data.synthetic import LaplaceSource

            # the channel's parameters are validated there; its own (tiny) base items are never used
            self.channel = LaplaceSource(dim=self.dim, n_train=2, n_test=2, A=A, noise_std=noise_std,
                                         dropout=dropout, scale_std=scale_std, scale_per=scale_per, seed=self.seed,
                                         device=device)  # fmt: skip

    @property
    def paired(self) -> bool:
        """Whether the views are given (``x1``, ``x2``) rather than drawn from the channel (``x``)."""
        return self.channel is None

    def views(self, rows: torch.Tensor, generator: torch.Generator) -> tuple[torch.Tensor, torch.Tensor]:
        """The two views of ``rows`` (the given pair, or two independent draws of the channel)."""
        if self.paired:
            return rows[:, 0], rows[:, 1]
        return self.channel.views(rows, generator)

    def datum(self, rows: torch.Tensor) -> torch.Tensor:
        """The un-augmented data of ``rows``: the first view of a given pair, or the item itself."""
        return rows[:, 0] if self.paired else rows

    def params(self) -> dict:
        out = {k: v for k, v in self.files.items() if v is not None}
        out.update(dim=self.dim, n_train=self.n_train, n_test=self.n_test, seed=self.seed)
        if self.channel is not None:
            ch = self.channel.params()
            out.update({k: ch[k] for k in ("A", "noise_std", "dropout", "scale_std", "scale_per")})
        return out


def _load_pairs(x1, x2, x) -> np.ndarray:
    """The checked data: ``(n, 2, dim)`` pairs or ``(n, dim)`` items."""
    from infogauss.io import load_embeddings

    if x is not None:
        if x1 is not None or x2 is not None:
            raise InputError("source=pairs: give either source.x (one array, views from the channel) or "
                             "source.x1 and source.x2 (aligned pairs), not both")  # fmt: skip
        return np.asarray(load_embeddings(x))
    if x1 is None or x2 is None:
        raise InputError("source=pairs needs source.x1=FILE and source.x2=FILE (aligned positive pairs) "
                         "or source.x=FILE (one array; views from the augmentation channel)")  # fmt: skip
    a, b = np.asarray(load_embeddings(x1)), np.asarray(load_embeddings(x2))
    if a.shape != b.shape:
        raise InputError(f"source.x1 {x1} has shape {a.shape} but source.x2 {x2} has shape {b.shape}; "
                         "the pairs must be aligned row by row")  # fmt: skip
    return np.stack([a, b], axis=1)


def _test_rows(holdout, n: int) -> int:
    least = MIN_TEST_ROWS + MIN_TRAIN_ROWS
    if n < least:
        raise InputError(f"source=pairs: {n} rows are too few; need at least {least} "
                         f"({MIN_TEST_ROWS} held out for the evaluation, {MIN_TRAIN_ROWS} to train on)")  # fmt: skip
    if holdout is None:
        return max(MIN_TEST_ROWS, int(round(TEST_FRACTION * n)))
    return integer(holdout, "source.holdout", lo=MIN_TEST_ROWS, hi=n - MIN_TRAIN_ROWS)


PAIRS_SOURCES = {"pairs": PairsSource}


def make_pairs_source(name: str = "pairs", **params) -> PairsSource:
    """Build the array source ``name`` (``"pairs"``) with ``params`` (unknown parameters: InputError)."""
    allowed = pairs_source_parameters(name)
    unknown = sorted(set(params) - set(allowed))
    if unknown:
        raise InputError(f"source {name!r} has no parameter {unknown[0]!r}; valid: {', '.join(allowed)}")
    return PAIRS_SOURCES[name](**params)


def pairs_source_parameters(name: str = "pairs") -> dict[str, object]:
    """Parameter name -> default value of the array source ``name``."""
    import inspect

    sig = inspect.signature(PAIRS_SOURCES[name].__init__)
    return {k: p.default for k, p in sig.parameters.items() if k != "self"}
