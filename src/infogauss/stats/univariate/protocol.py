"""The paper's two coordinate tests in one pass over the columns: Anderson–Darling and D'Agostino–Pearson together."""

from __future__ import annotations

from infogauss.stats.result import TestResult
from infogauss.stats.univariate.anderson_darling import ad_centred
from infogauss.stats.univariate.common import apply_columns, center
from infogauss.stats.univariate.dagostino_pearson import SMALL_N, dp_centred


def normality_protocol(x, axis=0, *, device=None) -> tuple[TestResult, TestResult]:
    """``(anderson_darling(x), dagostino_pearson(x))`` of every column, computed in one pass over the columns.

    Each column block is converted to float64, transposed and sorted once, and both tests run on it (K² only needs
    the moments, which the order does not change). The results equal the two separate calls to rounding (1e-12
    relative, tested); one pass instead of two saves the conversion and transposition of the second (the paper's
    protocol on 50,000 × 512 float32: see ``benchmarks/bench_stats.py``). Parameters as in
    :func:`~infogauss.stats.anderson_darling`; the same small-n warning as :func:`~infogauss.stats.dagostino_pearson`.
    """
    import warnings

    shape = getattr(x, "shape", None)
    n = shape[axis] if shape is not None and len(shape) else None
    if n is not None and 8 <= n < SMALL_N:
        warnings.warn(f"dagostino_pearson: n={n} < {SMALL_N}; the test's size is off there", stacklevel=2)
    a2, pa, k2, pk = apply_columns(x, axis, device, _rows, 4, sort=True)
    return TestResult(a2, pa), TestResult(k2, pk)


def _rows(y, ops):
    """Both tests on one sorted block, centred once: DP's moments first (``d`` kept), then AD on ``d`` in place."""
    mean, d = center(y)
    k2, pk, ss = dp_centred(mean, d, ops)
    return (*ad_centred(mean, d, ops, ss), k2, pk)
