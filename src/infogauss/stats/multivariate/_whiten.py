"""Shared by Mardia and Henze-Zirkler: MLE whitening and blocked sums over the Gram matrix of the whitened rows."""

from __future__ import annotations

import torch

from infogauss.errors import InputError
from infogauss.stats.geometry import _as_tensor, _strips


def whitened(x, device=None, what="x"):
    """Rows ``y_j = S^{-1/2}(x_j - x̄)`` with the MLE covariance ``S = (1/n) Σ (x_j - x̄)(x_j - x̄)ᵀ`` (float64).

    Then ``y_j·y_k = (x_j - x̄)ᵀ S⁻¹ (x_k - x̄)`` (Mahalanobis inner products) and ``YᵀY / n = I``.
    """
    x, _ = _as_tensor(x, what, min_n=8, device=device, float64=True)
    x, (n, d) = x.detach(), x.shape
    if n <= d:
        raise InputError(f"{what}: needs more samples than dimensions (got n={n}, d={d}); add samples or reduce d")
    c = x - x.mean(dim=0)
    lam, vec = torch.linalg.eigh(c.T @ c / n)
    if not lam[0] > 1e-12 * lam[-1]:
        raise InputError(f"{what}: covariance is singular (constant or collinear columns); drop them or reduce d")
    return c @ (vec / lam.sqrt())


def offdiag_sum(y, fn, block):
    """``Σ_{j<k} fn(G)_{jk}`` for the Gram matrix ``G = Y Yᵀ``, one strip of ``block`` rows at a time.

    ``fn(g, rows, cols)`` gets the strip ``g = Y[rows] Y[cols]ᵀ`` (it may modify g in place); only its
    strict upper triangle j<k is summed, so each pair is computed once and memory stays O(n·block).
    """
    n, total = y.shape[0], y.new_zeros(())
    for i0, i1 in _strips(n, block):
        total += fn(y[i0:i1] @ y[i0:].T, slice(i0, i1), slice(i0, None)).triu_(1).sum()
    return total
