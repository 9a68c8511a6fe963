r"""Use: rank-aware W-CLIP whitening and negative-pair cosines.

:func:`whiten` is :meth:`infogauss.gaussian.GaussianModel.whiten` for features that span only a subspace (a 64 → 128
linear projection head spans at most 64 dimensions): it first finds the span of the plain covariance — principal
directions with variance above ``rank_rtol`` times the largest — and whitens inside it, since whitening the other
directions would blow their rounding noise up to unit variance. Within the span the model is fitted with
``shrinkage="auto"`` (plain covariance when the fitted rows number at least 2·rank and it is non-singular,
Ledoit–Wolf otherwise). PCA axes give :math:`y = (x - \mu) V \Lambda^{-1/2}` (W-CLIP, paper §5.1) with ``rank``
columns; ZCA axes rotate back to the input's axes.

:func:`negative_cosines`: cosine similarities of random pairs of distinct rows (the negatives of paper Figs. 9–10).

Example::

    >>> Y, info = whiten(Z)                  # doctest: +SKIP
    >>> info                                 # doctest: +SKIP
    {'whitening_shrinkage': 'none', 'whitening_rank': 64}
"""

from __future__ import annotations

import numpy as np

from infogauss.errors import InputError

RANK_RTOL = 1e-9  # principal variances below this fraction of the largest are numerically zero (float32 features)
NEG_PAIRS = 20000


def whiten(X: np.ndarray, fit_rows=None, axes: str = "pca", rank_rtol: float = RANK_RTOL) -> tuple[np.ndarray, dict]:
    """Whitening of ``X`` (``(n, d)``) fitted on ``X[fit_rows]`` (default: ``X`` itself), inside the span of the
    fitted rows' covariance; returns ``(Y, info)`` with ``info = {"whitening_shrinkage", "whitening_rank"}``.

    ``axes``: ``"pca"`` (``(n, rank)``, principal coordinates, leading first) or ``"zca"`` (``(n, d)``, back in the
    input's axes). See the module docstring.
    """
    from infogauss.gaussian import GaussianModel

    X = np.asarray(X, dtype=np.float64)
    F = X if fit_rows is None else X[fit_rows]
    mu = F.mean(axis=0)
    lam, V = np.linalg.eigh(np.cov(F - mu, rowvar=False, bias=True).reshape(X.shape[1], X.shape[1]))
    lam, V = lam[::-1], V[:, ::-1]
    rank = int(np.sum(lam > rank_rtol * max(lam[0], 0.0)))
    if rank == 0:
        raise InputError("every coordinate is constant; nothing to whiten")
    P = V[:, :rank]  # the span (all of it when full rank: a rotation, which whitening undoes)
    model = GaussianModel.fit((F - mu) @ P, shrinkage="auto")
    Y = model.whiten((X - mu) @ P, axes=axes)
    if axes == "zca":
        Y = Y @ P.T  # back to the input's axes
    return Y, {"whitening_shrinkage": model.shrinkage_method, "whitening_rank": rank}


def negative_cosines(X: np.ndarray, seed: int, pairs: int = NEG_PAIRS) -> np.ndarray:
    """Cosines of ``pairs`` random pairs of distinct rows of ``X`` (negatives, paper Figs. 9–10)."""
    rng = np.random.default_rng([seed, 9])
    n = X.shape[0]
    i = rng.integers(0, n, pairs)
    j = (i + rng.integers(1, n, pairs)) % n
    U = X / np.linalg.norm(X, axis=1, keepdims=True)
    return np.einsum("ij,ij->i", U[i], U[j])
