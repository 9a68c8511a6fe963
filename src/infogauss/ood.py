r"""Use: out-of-distribution scores from a Gaussian fit of in-distribution features, two baselines, and AUROC.

Every score is *higher = more OOD*. Fitted on features ``Z`` (``(n, d)``) of in-distribution training data:

- :class:`GaussianScores` (one Gaussian :math:`\mathcal N(\mu, \Sigma)`, :class:`~infogauss.gaussian.GaussianModel`
  with ``shrinkage="auto"``):

  - ``nll``: :math:`-\log p(x) = \tfrac12\,(d\log 2\pi + \log|\Sigma| + m^2(x))`, with the squared Mahalanobis
    distance :math:`m^2(x) = (x-\mu)^\top\Sigma^{-1}(x-\mu)`; a monotone function of :math:`m^2`, so both rank
    inputs (and give AUROCs) identically;
  - ``typicality``: :math:`|m^2(x) - d| / \sqrt{2d}` (:func:`typicality`), the distance from the thin shell in
    units of the :math:`\chi^2_d` standard deviation (under the model :math:`m^2 \sim \chi^2_d`, mean :math:`d`,
    variance :math:`2d`). A typicality test in the sense of Nalisnick, Matsukawa, Teh & Lakshminarayanan,
    "Detecting out-of-distribution inputs to deep generative models using typicality" (arXiv:1906.02994, 2019): it
    also flags inputs that land *inside* the shell, near the mode, which the likelihood calls the most typical.

- :class:`ClassMahalanobis` (Lee, Lee, Lee & Shin, "A simple unified framework for detecting out-of-distribution
  samples and adversarial attacks", NeurIPS 2018): class means :math:`\mu_c`, one shared covariance
  :math:`\Sigma = \tfrac1n \sum_c \sum_{y_i = c} (z_i-\mu_c)(z_i-\mu_c)^\top`, score
  :math:`\min_c\,(x-\mu_c)^\top\Sigma^{-1}(x-\mu_c)` (the squared distance to the nearest class mean).
- :func:`knn_cosine` (the k-NN baseline of Sun, Ming, Zhu & Li, "Out-of-distribution detection with deep nearest
  neighbors", ICML 2022, there on normalised features): :math:`1 - \cos(x, z_{(k)})`, the cosine distance to the
  k-th nearest training feature (``k=1`` by default).
- :class:`DensityScores`: all of them at once, as a dict (what the ``ood`` and ``text-ood`` experiments report).

:func:`auroc`: the area under the ROC curve of OOD (positive) against in-distribution, computed as the
Mann–Whitney statistic (ties count one half); 0.5 is chance, 1 a perfect detector, below 0.5 a detector that ranks
the wrong way round.

Example::

    >>> g = GaussianScores(Z_train)                                      # doctest: +SKIP
    >>> auroc(g.nll(Z_in), g.nll(Z_out))                                 # doctest: +SKIP
    >>> auroc(knn_cosine(Z_train, Z_in), knn_cosine(Z_train, Z_out))    # doctest: +SKIP
"""

from __future__ import annotations

import numpy as np

from infogauss.errors import InputError
from infogauss.typicality import typicality  # one definition (infogauss score uses it too); re-exported here

#: The keys of :class:`DensityScores` output that are OOD scores (the ``_``-prefixed ones are raw quantities).
SCORES = ("loglik", "typicality", "class_mahalanobis", "knn_cosine")
BLOCK_BYTES = 64 * 2**20  # float64 bytes of one block of query x bank similarities (knn_cosine)


def _matrix(X, what: str, dim: int | None = None) -> np.ndarray:
    x = np.asarray(X, dtype=np.float64)
    if x.ndim != 2 or x.shape[0] == 0:
        raise InputError(f"{what}: expected a non-empty 2-D (n, d) array, got shape {x.shape}")
    if dim is not None and x.shape[1] != dim:
        raise InputError(f"{what}: has {x.shape[1]} columns but the fitted features have {dim}")
    if not np.isfinite(x).all():
        raise InputError(f"{what}: contains NaN or Inf values")
    return x


# ---------------------------------------------------------------------------------------------- AUROC


def auroc(score_in, score_out) -> float:
    r"""AUROC of separating OOD (positive) from in-distribution by a score (higher = more OOD).

    :math:`\mathrm{AUROC} = P(s_\text{out} > s_\text{in}) + \tfrac12 P(s_\text{out} = s_\text{in})
    = \bigl(R_\text{out} - n_\text{out}(n_\text{out}+1)/2\bigr) / (n_\text{in}\,n_\text{out})`, with
    :math:`R_\text{out}` the sum of the OOD scores' ranks in the pooled sample (midranks for ties,
    ``scipy.stats.rankdata``): the Mann–Whitney U statistic over :math:`n_\text{in} n_\text{out}` (Hanley & McNeil,
    Radiology 143, 1982). Equals ``sklearn.metrics.roc_auc_score`` with OOD labelled 1.
    """
    from scipy.stats import rankdata

    a = np.asarray(score_in, dtype=np.float64).reshape(-1)
    b = np.asarray(score_out, dtype=np.float64).reshape(-1)
    if a.size == 0 or b.size == 0:
        raise InputError(f"auroc needs scores on both sides; got {a.size} in-distribution and {b.size} OOD")
    if not (np.isfinite(a).all() and np.isfinite(b).all()):
        raise InputError("auroc: scores contain NaN or Inf")
    ranks = rankdata(np.concatenate([a, b]))
    u = ranks[a.size :].sum() - b.size * (b.size + 1) / 2.0
    return float(u / (a.size * b.size))


# ---------------------------------------------------------------------------------------------- Gaussian scores


class GaussianScores:
    r"""One Gaussian fitted to in-distribution features ``Z`` (``shrinkage="auto"``: plain MLE when ``n >= 2d`` and
    the covariance is non-singular, else Ledoit–Wolf); :meth:`nll` and :meth:`typicality` score new features."""

    def __init__(self, Z, shrinkage="auto"):
        from infogauss.gaussian import GaussianModel

        self.model = GaussianModel.fit(_matrix(Z, "Z"), shrinkage=shrinkage)
        self.dim = self.model.dim

    def mahalanobis_squared(self, X) -> np.ndarray:
        r""":math:`m^2(x) = (x-\mu)^\top\Sigma^{-1}(x-\mu)` per row."""
        return self.model.mahalanobis_squared(_matrix(X, "X", self.dim))

    def nll(self, X) -> np.ndarray:
        r""":math:`-\log p(x) = \tfrac12(d\log 2\pi + \log|\Sigma| + m^2(x))` per row, nats."""
        return -self.model.log_likelihood(_matrix(X, "X", self.dim))

    def typicality(self, X) -> np.ndarray:
        r""":math:`|m^2(x) - d| / \sqrt{2d}` per row (:func:`typicality`)."""
        return typicality(self.mahalanobis_squared(X), self.dim)


# ---------------------------------------------------------------------------------------------- baselines


class ClassMahalanobis:
    r"""Class-conditional Mahalanobis score (Lee et al., NeurIPS 2018): :math:`\min_c (x-\mu_c)^\top \Sigma^{-1}
    (x-\mu_c)`, class means :math:`\mu_c` and one covariance :math:`\Sigma` shared by all classes (of the
    class-centred features ``Z - mu_y``, ``shrinkage="auto"`` as in :class:`GaussianScores`).

    ``classes``: the labels seen; ``means``: ``(n_classes, d)``. Computed as :math:`\lVert w(x) - w(\mu_c)\rVert^2`
    with :math:`w(x) = L^{-1} D^{-1} x`, :math:`D` the standard deviations and :math:`L L^\top = D^{-1}\Sigma D^{-1}`
    the Cholesky factor of the shared correlation matrix (scale-free, like :class:`~infogauss.gaussian.GaussianModel`'s
    densities): one triangular solve per input and one matrix product for all classes.
    """

    def __init__(self, Z, y, shrinkage="auto"):
        from infogauss.gaussian import GaussianModel

        Z = _matrix(Z, "Z")
        y = np.asarray(y).reshape(-1)
        if y.size != Z.shape[0]:
            raise InputError(f"y has {y.size} labels for {Z.shape[0]} rows of Z")
        self.classes, inverse = np.unique(y, return_inverse=True)
        counts = np.bincount(inverse, minlength=self.classes.size)
        sums = np.zeros((self.classes.size, Z.shape[1]))
        np.add.at(sums, inverse, Z)
        self.means = sums / counts[:, None]
        self.shared = GaussianModel.fit(Z - self.means[inverse], shrinkage=shrinkage)
        cov = self.shared.covariance
        self._scale = np.sqrt(np.diag(cov))
        try:
            self._chol = np.linalg.cholesky(cov / np.outer(self._scale, self._scale))
        except np.linalg.LinAlgError:
            raise InputError("the shared class covariance is not positive definite; use shrinkage") from None
        self.dim = Z.shape[1]
        self._centre = Z.mean(axis=0)  # differences of whitened points lose no digits to a far-away origin
        self._white_means = self._white(self.means)

    def _white(self, X) -> np.ndarray:
        from scipy.linalg import solve_triangular

        return solve_triangular(self._chol, ((X - self._centre) / self._scale).T, lower=True).T

    def __call__(self, X, block: int = 4096) -> np.ndarray:
        X = _matrix(X, "X", self.dim)
        wm = self._white_means
        wm2 = np.einsum("ij,ij->i", wm, wm)
        out = np.empty(X.shape[0])
        for s in range(0, X.shape[0], block):
            w = self._white(X[s : s + block])
            d2 = np.einsum("ij,ij->i", w, w)[:, None] - 2.0 * (w @ wm.T) + wm2[None, :]
            out[s : s + block] = d2.min(axis=1)
        return np.maximum(out, 0.0)


def knn_cosine(bank, X, k: int = 1, *, block_bytes: int = BLOCK_BYTES) -> np.ndarray:
    r"""Cosine distance :math:`1 - \cos(x, z_{(k)})` from each row ``x`` of ``X`` to its ``k``-th nearest row of
    ``bank`` (the in-distribution training features) by cosine similarity; in ``[0, 2]``.

    Rows are normalised to unit length (a zero row has cosine 0 to everything); the similarities are computed one
    block of query rows at a time (``block_bytes`` of float64 per block), so ``10^5`` queries against a bank of
    ``10^4`` need ~64 MiB, not 8 GB. Sun et al., ICML 2022 (deep nearest neighbours, there with ``k`` up to 1000 on
    normalised features).
    """
    B = _matrix(bank, "bank")
    X = _matrix(X, "X", B.shape[1])
    if isinstance(k, bool) or not isinstance(k, (int, np.integer)) or not 1 <= k <= B.shape[0]:
        raise InputError(f"k must be an integer from 1 to the bank size {B.shape[0]}, got {k!r}")
    B = B / np.maximum(np.linalg.norm(B, axis=1, keepdims=True), 1e-300)
    X = X / np.maximum(np.linalg.norm(X, axis=1, keepdims=True), 1e-300)
    rows = max(1, int(block_bytes) // (8 * B.shape[0]))
    kth = B.shape[0] - int(k)
    out = np.empty(X.shape[0])
    for s in range(0, X.shape[0], rows):
        sim = X[s : s + rows] @ B.T
        out[s : s + rows] = 1.0 - np.partition(sim, kth, axis=1)[:, kth]
    return np.clip(out, 0.0, 2.0)


# ---------------------------------------------------------------------------------------------- all at once


class DensityScores:
    """All OOD scores from in-distribution training features ``Z`` with labels ``y`` (higher = more OOD).

    Calling it on features returns ``{"loglik": -log p, "typicality", "class_mahalanobis", "knn_cosine", "_ll":
    log p, "_m2": squared Mahalanobis distance}`` (see the module docstring). ``shell``: the median of ``_m2`` on
    ``Z`` (for a Gaussian ≈ d; for the fitted maximum-likelihood covariance its *mean* is exactly d). ``k``: the
    k-NN rank (1 = nearest).
    """

    def __init__(self, Z, y, k: int = 1):
        self.bank = _matrix(Z, "Z")
        self.gaussian = GaussianScores(self.bank)
        self.model = self.gaussian.model
        self.shrinkage = self.model.shrinkage_method
        self.classes = ClassMahalanobis(self.bank, y)
        self.k = k
        self.shell = float(np.median(self.gaussian.mahalanobis_squared(self.bank)))

    def __call__(self, X) -> dict[str, np.ndarray]:
        ll = self.model.log_likelihood(_matrix(X, "X", self.model.dim))
        m2 = self.gaussian.mahalanobis_squared(X)
        return {
            "loglik": -ll,
            "typicality": typicality(m2, self.model.dim),
            "class_mahalanobis": self.classes(X),
            "knn_cosine": knn_cosine(self.bank, X, self.k),
            "_ll": ll,
            "_m2": m2,
        }
