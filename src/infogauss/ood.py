r"""Use: Gaussian density scores for out-of-distribution detection, and their AUROC.

:class:`DensityScores` fits, on features ``Z`` of in-distribution training data with labels ``y``, one Gaussian
(:class:`~infogauss.gaussian.GaussianModel`, ``shrinkage="auto"``) and one class-conditional Gaussian family with a
shared (class-centred) covariance, and returns for new features (higher = more OOD):

- ``loglik``: :math:`-\log p(x)` under the single Gaussian;
- ``mahalanobis``: :math:`m(x)`, the Mahalanobis distance to it — for one Gaussian a monotone function of the
  log-likelihood (:math:`\log p = c - m^2/2`), so its AUROC equals ``loglik``'s (a check, not a second detector);
- ``class_mahalanobis``: :math:`\min_k` Mahalanobis distance to class mean :math:`k` under the shared covariance
  (Lee, Lee, Lee & Shin, NeurIPS 2018);
- ``typicality``: :math:`|m^2(x) - \text{shell}|`, ``shell`` the median :math:`m^2` of the fitting features (≈ d for
  a Gaussian: the thin shell) — a typicality test (Nalisnick et al. 2019) that also flags inputs near the mode;
- ``_ll`` / ``_m2``: the log-likelihood and squared distance themselves (for shift statistics).

:func:`auroc`: area under the ROC curve of OOD (positive) vs in-distribution, by a score (higher = more OOD).

Example::

    >>> scores = DensityScores(Z_train, y_train)                     # doctest: +SKIP
    >>> auroc(scores(Z_in)["loglik"], scores(Z_out)["loglik"])         # doctest: +SKIP
"""

from __future__ import annotations

import numpy as np

SCORES = ("loglik", "mahalanobis", "class_mahalanobis", "typicality")


class DensityScores:
    """OOD scores from features of in-distribution training images ``Z`` with labels ``y`` (higher = more OOD)."""

    def __init__(self, Z: np.ndarray, y: np.ndarray):
        from infogauss.gaussian import GaussianModel

        self.model = GaussianModel.fit(Z, shrinkage="auto")
        self.shrinkage = self.model.shrinkage_method
        classes = np.unique(y)
        self.class_means = np.stack([Z[y == c].mean(axis=0) for c in classes])
        centred = Z - self.class_means[np.searchsorted(classes, y)]
        self.tied = GaussianModel.fit(centred, shrinkage="auto")
        self.shell = float(np.median(self.model.mahalanobis_squared(Z)))  # ~ d for a Gaussian: the thin shell

    def __call__(self, X: np.ndarray) -> dict[str, np.ndarray]:
        ll = self.model.log_likelihood(X)
        d2 = self.model.mahalanobis_squared(X)
        m2 = np.stack([self.tied.mahalanobis_squared(X - mu + self.tied.mean) for mu in self.class_means])
        return {
            "loglik": -ll,
            "mahalanobis": np.sqrt(d2),
            "class_mahalanobis": np.sqrt(m2.min(axis=0)),
            "typicality": np.abs(d2 - self.shell),
            "_ll": ll,
            "_m2": d2,
        }


def auroc(score_in: np.ndarray, score_out: np.ndarray) -> float:
    """AUROC of separating OOD (positive) from in-distribution by ``score`` (higher = more OOD)."""
    from sklearn.metrics import roc_auc_score

    y = np.r_[np.zeros(len(score_in)), np.ones(len(score_out))]
    return float(roc_auc_score(y, np.r_[score_in, score_out]))
