r"""Use: out-of-distribution scores of a Gaussian model read from the squared Mahalanobis distance.

Under :math:`\mathcal N(\mu, \Sigma)` in :math:`d` dimensions the squared Mahalanobis distance
:math:`m^2 = (x-\mu)^\top\Sigma^{-1}(x-\mu)` follows :math:`\chi^2_d` (mean :math:`d`, variance :math:`2d`): almost all
the mass lies in a thin shell :math:`m^2 \approx d \pm \sqrt{2d}` around the mean, and the mean itself, where the
density :math:`\log p(x) = -\tfrac12(d\log 2\pi + \log\lvert\Sigma\rvert + m^2)` is largest, is never drawn. So an
input closer to the mean than the data (inside the shell) gets a *higher* likelihood than in-distribution inputs —
the failure of likelihood-based OOD detection that Nalisnick et al. (2019) explain by typicality. Two scores read
:math:`m^2` against its law instead:

- :func:`typicality` :math:`\lvert m^2 - d\rvert / \sqrt{2d}`: the distance from the thin shell, in standard
  deviations of :math:`\chi^2_d`, flagging both sides. It is Nalisnick et al.'s typicality statistic for one input,
  :math:`\lvert -\log p(x) - H\rvert`, which for a Gaussian equals :math:`\tfrac12\lvert m^2 - d\rvert`, rescaled:
  :math:`H` is the model's entropy, the mean of :math:`-\log p` under the model (they estimate it on the training
  data; for a plain maximum-likelihood fit :math:`m^2` averages exactly :math:`d` over the fitting rows, so the two
  agree);
- :func:`chi2_pvalue` :math:`P(\chi^2_d \ge m^2)` (``scipy.stats.chi2.sf``): uniform on [0, 1] for the model's own
  samples, near 0 far from the mean. One-sided: inputs inside the shell get p near 1 (the typicality score flags
  them).

Both take ``m2`` as :meth:`infogauss.gaussian.GaussianModel.mahalanobis_squared` returns it;
:meth:`~infogauss.gaussian.GaussianModel.scores` gives them with the log-likelihood and the distance, and
``infogauss score`` writes them as columns.

Reference: Nalisnick, Matsukawa, Teh & Lakshminarayanan, "Detecting out-of-distribution inputs to deep generative
models using typicality", arXiv:1906.02994 (2019).
"""

from __future__ import annotations

import math

import numpy as np


def typicality(m2, d: int) -> np.ndarray:
    r""":math:`\lvert m^2 - d\rvert / \sqrt{2d}` per entry of ``m2`` (squared Mahalanobis distances, dimension
    ``d``)."""
    return np.abs(np.asarray(m2, dtype=np.float64) - d) / math.sqrt(2.0 * d)


def chi2_pvalue(m2, d: int) -> np.ndarray:
    r""":math:`P(\chi^2_d \ge m^2)` per entry of ``m2``: the upper-tail p-value of each squared distance."""
    from scipy.stats import chi2

    return chi2.sf(np.asarray(m2, dtype=np.float64), d)
