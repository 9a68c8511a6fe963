"""Shared by Mardia and Henze-Zirkler: MLE whitening and blocked sums over the Gram matrix of the whitened rows."""

from __future__ import annotations

from infogauss.errors import InputError
from infogauss.stats.backend import as_matrix, strips


def whitened(x, device=None, what="x"):
    """``(Y, ops)``: rows ``y_j = S^{-1/2}(x_j - x̄)`` with the MLE covariance ``S = (1/n) Σ (x_j - x̄)(x_j - x̄)ᵀ``
    (float64; numpy for numpy input, torch for a tensor or a ``device``).

    Then ``y_j·y_k = (x_j - x̄)ᵀ S⁻¹ (x_k - x̄)`` (Mahalanobis inner products) and ``YᵀY / n = I``. Columns are
    scaled to unit spread before the covariance is formed, so data of any overall scale (1e-300 to 1e300) and columns
    on very different scales whiten alike (the statistics are affine invariant). Needs ``n >= d + 2``: at
    ``n = d + 1`` every whitened row has the same norm and the tests carry no information.
    """
    x, ops = as_matrix(x, what, min_n=8, device=device, float64=True)
    x, (n, d) = (x.detach() if ops.torch else x), x.shape
    if n <= d + 1:
        raise InputError(
            f"{what}: needs at least d + 2 samples (got n={n}, d={d}); at n <= d + 1 the whitened rows carry no "
            "information; add samples or reduce d"
        )
    c = x - x.mean(axis=0)
    scale = abs(c).max(axis=0)
    scale = scale.values if ops.torch else scale
    if not bool((scale > 0).all()):
        raise InputError(f"{what}: covariance is singular (a constant column); drop it or reduce d")
    c = c / scale
    lam, vec = ops.eigh(c.T @ c / n)
    if not lam[0] > 1e-12 * lam[-1]:
        raise InputError(f"{what}: covariance is singular (constant or collinear columns); drop them or reduce d")
    return c @ (vec / ops.sqrt(lam)), ops


def whitened_batch(xs):
    """:func:`whitened` of each sample of a stack ``xs`` (c, n, d) of simulated data (numpy; no checks, no column
    scaling: for the Monte-Carlo nulls, whose N(0, I_d) samples need neither). Any whitening serves there, since
    the statistics are invariant under rotations of the whitened rows."""
    import numpy as np

    c = xs - xs.mean(axis=1, keepdims=True)
    lam, vec = np.linalg.eigh(np.einsum("cni,cnj->cij", c, c) / xs.shape[1])
    return c @ (vec / np.sqrt(lam)[:, None, :])


def offdiag_sum(y, fn, block, ops):
    """``Σ_{j<k} fn(G)_{jk}`` for the Gram matrix ``G = Y Yᵀ``, one strip of ``block`` rows at a time.

    ``fn(g, rows, cols)`` gets the strip ``g = Y[rows] Y[cols]ᵀ`` (it may modify g in place); only its
    strict upper triangle j<k is summed, so each pair is computed once and memory stays O(n·block).
    """
    n, total = y.shape[0], 0.0
    for i0, i1 in strips(n, block):
        g = fn(y[i0:i1] @ y[i0:].T, slice(i0, i1), slice(i0, None))
        total = total + ops.where(ops.upper(g.shape, g, 1), g, 0.0).sum()
    return total
