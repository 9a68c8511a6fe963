"""Plumbing shared by the univariate tests: input routing, column blocks, threads, and log Φ.

Every test is written once as a function of a block of *rows* — a ``(b, n)`` float64 array or tensor holding
``b`` columns of the input, one sample per row — using only operations that numpy arrays and torch tensors
share (``r.sum(-1)``, ``abs``, ``xp.log1p``, ...). :func:`apply_columns` validates the input, cuts it into such
blocks and reassembles the per-column results:

- numpy input and ``device=None``: float64 numpy on the CPU; blocks run on a small thread pool (numpy releases
  the GIL in sorts and ufuncs, so the blocks of a wide embedding matrix use every core);
- a torch tensor, or any input with ``device=``: float64 torch on that device (one stream of blocks; the GPU
  parallelises inside each block). Results are torch tensors on that device.

The one function that needs a backend-specific implementation is ``log Φ(-a)`` (see :meth:`NumpyOps.log_ndtr_pair`).
"""

from __future__ import annotations

import os
import threading
from concurrent.futures import ThreadPoolExecutor

import numpy as np
import scipy.special

from infogauss.stats.validate import MIN_SAMPLES, is_torch, samples, samples_torch

EPS = float(np.finfo(np.float64).eps)
_BLOCK_ELEMENTS = 1 << 17  # rows given to a test at once: 1 MiB of float64, about an L2 cache
_OUTER_ELEMENTS = 1 << 22  # columns converted to float64 at once per thread (32 MiB)
_MIN_THREADED = 1 << 20  # below this many elements one thread is faster than the pool


def center(r):
    """Two-pass mean of each row and the centred rows ``(mean, d)``; exact enough for data far from zero.

    ``mean = m0 + mean(r - m0)`` with ``m0`` the plain mean: the second pass removes the rounding error of the
    first, so a column like ``1e8 + noise`` keeps its noise (``scipy`` uses one pass, and loses ~1e-4 of the
    skewness of such a column).
    """
    m0 = r.mean(-1)
    d = r - m0[:, None]
    c = d.mean(-1)
    if getattr(d, "requires_grad", False):
        d = d - c[:, None]
    else:
        d -= c[:, None]  # in place where autograd does not watch: saves a pass and an allocation
    return m0 + c, d


SECTIONS = "    [column test sections]\n"  # the marker :func:`column_test_doc` replaces


def column_test_doc(statistic: str, *, samples: str = "", device: str = "without gradient", extra: str = "",
                    constant: str = " (no spread beyond the rounding of their mean)"):  # fmt: skip
    """Decorator: replace the line ``[column test sections]`` of a univariate test's docstring by the Parameters,
    Returns and Raises sections the tests share. ``statistic`` names the statistic in Returns, ``samples`` adds to
    the sample-count note, ``device`` describes the torch result, ``extra`` appends parameters (numpydoc lines
    indented as in the docstring), ``constant`` says which columns are constant."""
    text = f"""    Parameters
    ----------
    x : array_like or torch.Tensor
        Samples along ``axis`` (at least 8{samples}), any number of columns along the other axes.
    axis : int
        The sample axis.
    device : str or torch.device, optional
        Compute with torch in float64 on this device and return tensors ({device}); a tensor input computes on
        its own device. ``None`` with numpy input computes with numpy on all CPU cores (column blocks on threads).
{extra}
    Returns
    -------
    TestResult
        ``statistic`` ({statistic}) and ``pvalue``, shaped like ``x`` without ``axis`` (scalars for 1-D input).
        Constant columns{constant} give NaN for both.

    Raises
    ------
    InputError
        Non-numeric input, NaN/Inf, fewer than 8 samples, or zero columns.
"""

    def wrap(fn):
        if fn.__doc__ is not None:  # None under python -OO
            fn.__doc__ = fn.__doc__.replace(SECTIONS, text.replace("\n\n\n", "\n\n"))
        return fn

    return wrap


def constant_rows(ss, mean, n):
    """Columns with no spread beyond rounding: ``mean((x - x̄)²) <= (eps·x̄)²`` (scipy's rule in ``skew``).

    ``ss`` is the sum of squared deviations. Their statistics are NaN.
    """
    return ss / n <= (EPS * mean) ** 2


class NumpyOps:
    """Float64 numpy on the CPU."""

    xp = np
    torch = False

    @staticmethod
    def log_ndtr_pair(a):
        """``(log Φ(-a), log Φ(a))`` for ``a >= 0`` (a float64 array; overwritten).

        ``log Φ(-a) = log(ndtr(-a))`` and ``log Φ(a) = log1p(-ndtr(-a))``: one special-function call per
        element (cephes ``ndtr`` agrees with ``log_ndtr`` to < 1e-15 relative for a <= 36 and costs half as
        much; it is fastest on sorted input, where its branches are predictable). Beyond a = 36, where
        ``ndtr`` nears the double range, ``scipy.special.log_ndtr``. (torch's ``erfc`` would be faster still,
        but it opens an OpenMP region for every 2048 elements, which fights the column threads.)
        """
        big = a > 36.0 if a.size and float(a.max()) > 36.0 else None
        a_big = None if big is None else a[big]
        p = a
        np.negative(p, out=p)
        scipy.special.ndtr(p, out=p)  # p = Φ(-a)
        lo = np.log(p)
        if big is not None:
            lo[big] = scipy.special.log_ndtr(-a_big)
        np.negative(p, out=p)
        hi = np.log1p(p, out=p)
        return lo, hi

    @staticmethod
    def sort(r):
        r.sort(axis=-1)
        return r

    @staticmethod
    def arange(n, like):
        return np.arange(1, n + 1, dtype=np.float64)

    @staticmethod
    def where(cond, a, b):
        return np.where(cond, a, b)


class TorchOps:
    """Float64 torch on the tensor's device (CPU or GPU)."""

    torch = True

    def __init__(self):
        import torch

        self.xp = torch

    def log_ndtr_pair(self, a):
        lo = self.xp.special.log_ndtr(-a)
        return lo, self.xp.log1p(-self.xp.exp(lo))

    def sort(self, r):
        return self.xp.sort(r, dim=-1).values

    def arange(self, n, like):
        return self.xp.arange(1, n + 1, dtype=like.dtype, device=like.device)

    def where(self, cond, a, b):
        return self.xp.where(cond, a, b)


def apply_columns(x, axis, device, rows_fn, n_out, *, sort=False, differentiable=False, what="x"):
    """Run ``rows_fn(rows, ops) -> tuple of n_out (b,) arrays`` over column blocks of ``x``; reassemble.

    ``rows`` is a ``(b, n)`` float64 block, ascending along each row when ``sort``. Returns ``n_out`` outputs
    shaped like ``x`` without its sample axis: numpy (``np.float64`` scalars for 1-D input) or torch tensors.
    On the torch path the outputs carry gradients only if ``differentiable`` (``rows_fn`` must then avoid
    in-place operations on tensors that require grad); otherwise it runs under ``torch.no_grad()``.
    """
    if device is not None or is_torch(x):
        import torch

        if differentiable:
            return _apply_torch(x, axis, device, rows_fn, n_out, sort, what)
        with torch.no_grad():
            return _apply_torch(x, axis, device, rows_fn, n_out, sort, what)
    sort_f32 = sort and _float32_exact(x)
    if not isinstance(x, np.ndarray) or x.dtype.kind not in "fiu" or x.ndim == 0:
        x, axis = samples(x, axis, MIN_SAMPLES, what), 0  # lists, odd dtypes: check and convert whole
    a = np.moveaxis(x, axis, 0)
    shape = a.shape[1:]
    a = a.reshape(a.shape[0], -1)
    n, m = a.shape
    if m == 0 or n < MIN_SAMPLES:
        samples(x, axis, MIN_SAMPLES, what)  # raises the one-line error
    outs = [np.empty(m) for _ in range(n_out)]
    workers = n_threads() if a.size >= _MIN_THREADED else 1
    # Blocks are checked and converted to float64 by `samples` one at a time, on the threads and in cache
    # (a float32 embedding matrix is never copied whole); outer blocks are wide enough that gathering them
    # from the (n, m) array reads whole cache lines. Inner blocks of rows are what `rows_fn` sees (~1 MiB; a single
    # column once n > 131072, when the Python overhead per block is < 2% of its work).
    outer = min(max(8, _OUTER_ELEMENTS // n), -(-m // workers))
    inner = max(1, _BLOCK_ELEMENTS // n)

    def run(j0):
        j1 = min(j0 + outer, m)
        blk = _transposed(a, j0, j1, np.float32 if sort_f32 else np.float64)  # (b, n), our own copy
        if not sort_f32:
            samples(blk, 1, MIN_SAMPLES, what)  # validates (no copy: it is float64 already)
        for i0 in range(0, j1 - j0, inner):
            rows = blk[i0 : i0 + inner]
            if sort:
                rows.sort(axis=-1)
            if sort_f32:  # float32 data sort as float32 (twice as fast); same order, same values
                rows = samples(rows, 1, MIN_SAMPLES, what).T  # float64, validated
            with np.errstate(all="ignore"):
                res = rows_fn(rows, NumpyOps)
            for o, r in zip(outs, res, strict=True):
                o[j0 + i0 : j0 + i0 + len(rows)] = r

    starts = range(0, m, outer)
    if workers > 1 and len(starts) > 1:
        list(_pool(workers).map(run, starts))
    else:
        for j0 in starts:
            run(j0)
    return tuple(o.reshape(shape)[()] for o in outs)


def _transposed(a, j0, j1, dtype):
    """``a[:, j0:j1].T`` as a C-contiguous ``dtype`` array, copied 256 rows of ``a`` at a time.

    Chunks keep both sides of the transpose in cache: twice as fast as numpy's own strided copy on a wide
    (50000, 512) matrix.
    """
    out = np.empty((j1 - j0, a.shape[0]), dtype)
    for r0 in range(0, a.shape[0], 256):
        out[:, r0 : r0 + 256] = a[r0 : r0 + 256, j0:j1].T
    return out


def _apply_torch(x, axis, device, rows_fn, n_out, sort, what):
    import torch

    t = samples_torch(x, axis, MIN_SAMPLES, what, device=device)
    shape = tuple(t.shape[1:])
    t = t.reshape(t.shape[0], -1)
    n, m = t.shape
    ops = TorchOps()
    block = max(1, min(m, (1 << 24) // n))  # bounds the memory of the temporaries (~128 MiB each)
    res = []
    for j0 in range(0, m, block):
        rows = t[:, j0 : j0 + block].T
        rows = ops.sort(rows) if sort else rows.contiguous()
        res.append(rows_fn(rows, ops))
    return tuple(torch.cat([r[i] for r in res]).reshape(shape) for i in range(n_out))


def _float32_exact(x) -> bool:
    """True when every value of ``x`` is exactly a float32, so sorting in float32 gives the float64 order."""
    dt = getattr(x, "dtype", None)
    if not isinstance(dt, np.dtype):
        return False
    return dt in (np.float32, np.float16) or (dt.kind in "iu" and dt.itemsize <= 2)


_POOL: tuple[int, ThreadPoolExecutor] | None = None
_POOL_LOCK = threading.Lock()


def n_threads() -> int:
    """Threads for the numpy path: ``INFOGAUSS_NUM_THREADS`` if set, else the CPUs this process may use."""
    env = os.environ.get("INFOGAUSS_NUM_THREADS")
    if env:
        return max(1, int(env))
    try:
        return len(os.sched_getaffinity(0))
    except AttributeError:  # pragma: no cover - macOS, Windows
        return os.cpu_count() or 1


def _pool(workers: int) -> ThreadPoolExecutor:
    global _POOL
    with _POOL_LOCK:
        if _POOL is None or _POOL[0] != workers:
            if _POOL is not None:
                _POOL[1].shutdown(wait=False)
            _POOL = (workers, ThreadPoolExecutor(max_workers=workers, thread_name_prefix="infogauss-stats"))
        return _POOL[1]
