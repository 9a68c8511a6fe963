r"""The Route-2 regulariser of paper Eq. 11 and the two entropy estimators it can use (moved out of
:mod:`infogauss.losses`, which re-exports every name here).

Route 2 (paper §4.2, Eq. 11) penalises :math:`\beta\,(-H(\rho) + \lambda\,\mathbb E\|z\|^2)` on the *unnormalised*
embeddings, which needs their differential entropy: :func:`gaussian_entropy` (plug-in Gaussian with a shrunk
covariance, :func:`ledoit_wolf_shrinkage`) or :func:`knn_entropy` (Kozachenko–Leonenko). :func:`beta_threshold` is
the threshold scale of paper Thm 1.
"""

from __future__ import annotations

import math

import torch
from torch import nn

from infogauss.checks import embeddings, number
from infogauss.errors import InputError

__all__ = ["gaussian_entropy", "knn_entropy", "ledoit_wolf_shrinkage", "beta_threshold", "Route2Regularizer"]

# --------------------------------------------------------------------------------------------------------------
# Route 2 (paper §4.2, Eq. 11): beta * (-H(rho) + lam * E||z||^2) on the unnormalised embeddings.


def ledoit_wolf_shrinkage(x: torch.Tensor) -> torch.Tensor:
    r"""Ledoit–Wolf shrinkage intensity :math:`s\in[0,1]` towards :math:`\mu I` (no gradient).

    Same estimator as ``sklearn.covariance.ledoit_wolf_shrinkage`` (Ledoit & Wolf 2004, "A well-conditioned
    estimator for large-dimensional covariance matrices"): with centred rows :math:`x_i`, :math:`S = X^TX/n`,
    :math:`\mu = \mathrm{tr}S/d`, :math:`\delta = \|S-\mu I\|_F^2/d` and
    :math:`b = \min(\delta, \frac1{n^2 d}\sum_i\|x_ix_i^T - S\|_F^2)`, the intensity is :math:`s = b/\delta`.
    """
    with torch.no_grad():
        x = x.detach().double()
        x = x - x.mean(0)
        n, d = x.shape
        x2 = x * x
        emp_trace = x2.sum(0) / n
        mu = emp_trace.sum() / d
        delta_ = ((x.T @ x) ** 2).sum() / n**2
        beta_ = (x2.T @ x2).sum()
        b = (beta_ / n - delta_) / (d * n)
        delta = (delta_ - 2.0 * mu * emp_trace.sum() + d * mu**2) / d
        b = torch.minimum(b, delta)
        return torch.where(delta > 0, b / delta.clamp_min(torch.finfo(torch.float64).tiny), torch.zeros_like(b))


def gaussian_entropy(z: torch.Tensor, shrinkage: float | str = "ledoit-wolf") -> torch.Tensor:
    r"""Differential entropy of the Gaussian fitted to ``z`` (rows = samples): ½ log det(2πe Σ̂).

    :math:`\hat\Sigma = (1-s)S + s\,\tfrac{\mathrm{tr}S}{d}I` shrinks the maximum-likelihood covariance :math:`S`
    (divisor :math:`n`) towards a scaled identity, so the estimate stays finite when :math:`n \le d` (a training
    batch is usually smaller than the embedding dimension). ``shrinkage="ledoit-wolf"`` picks :math:`s` by
    :func:`ledoit_wolf_shrinkage` (treated as a constant in the gradient); a float fixes :math:`s\in[0,1]`.
    The entropy is an *upper bound* on the true entropy of non-Gaussian data (Gaussians maximise entropy at a
    given covariance). Computed in float64; differentiable in ``z``.
    """
    z = embeddings(z, min_n=2)
    x = z.double()
    n, d = x.shape
    x = x - x.mean(0)
    cov = (x.T @ x) / n
    if isinstance(shrinkage, str):
        if shrinkage != "ledoit-wolf":
            raise InputError(f"shrinkage must be 'ledoit-wolf' or a number in [0, 1], got {shrinkage!r}")
        s = ledoit_wolf_shrinkage(z)
    else:
        s = float(shrinkage)
        if not 0.0 <= s <= 1.0:
            raise InputError(f"shrinkage must be in [0, 1], got {s}")
    mu = torch.diagonal(cov).mean()
    eye = torch.eye(d, dtype=cov.dtype, device=cov.device)
    shrunk = (1.0 - s) * cov + s * mu * eye
    _, logdet = torch.linalg.slogdet(shrunk)
    return (0.5 * d * math.log(2 * math.pi * math.e) + 0.5 * logdet).to(torch.float32)


def knn_entropy(z: torch.Tensor, k: int = 3) -> torch.Tensor:
    r"""Kozachenko–Leonenko k-nearest-neighbour estimate of the differential entropy of ``z`` (rows = samples).

    .. math::

        \hat H = \psi(n) - \psi(k) + \log V_d + \frac dn\sum_{i=1}^n \log r_{i,k},
        \qquad V_d = \frac{\pi^{d/2}}{\Gamma(d/2+1)}

    where :math:`r_{i,k}` is the Euclidean distance from :math:`z_i` to its k-th nearest other sample and
    :math:`V_d` the volume of the unit ball (Kozachenko & Leonenko 1987; Kraskov, Stögbauer & Grassberger 2004,
    Eq. 20). Consistent for any continuous density but biased in high dimension at small ``n``. Differentiable
    through the distances (float64; duplicate points are clamped to a tiny distance).
    """
    z = embeddings(z, min_n=2)
    n, d = z.shape
    k = int(k)
    if not 1 <= k < n:
        raise InputError(f"knn entropy: k must be in [1, n-1] = [1, {n - 1}], got {k}")
    x = z.double()
    sq = (x * x).sum(1)
    d2 = (sq[:, None] + sq[None, :] - 2.0 * (x @ x.T)).clamp_min(0.0)
    d2 = d2 + torch.diag(torch.full((n,), float("inf"), dtype=x.dtype, device=x.device))
    kth = torch.topk(d2, k, dim=1, largest=False).values[:, -1]
    log_r = 0.5 * torch.log(kth.clamp_min(1e-300))
    const = _digamma(n) - _digamma(k) + 0.5 * d * math.log(math.pi) - math.lgamma(0.5 * d + 1.0)
    return (const + d * log_r.mean()).to(torch.float32)


def beta_threshold(temperature: float, eta2: float, d: int, C: float = 1.0) -> float:
    r"""The Route-2 threshold scale :math:`\beta_0 = \alpha(1-\eta_2)/(C(d-1))` of paper Thm 1, :math:`\alpha = 1/\tau`.

    The universal constant :math:`C` of Lemma 1 is not known numerically; the default ``C=1`` makes this the
    *scale* of the threshold, so "``beta = c * beta_threshold(...)``" means :math:`c` times
    :math:`\alpha(1-\eta_2)/(d-1)`, not a certified :math:`\beta \ge \beta_0`.
    """
    number(temperature, "temperature", lo=0, lo_open=True)
    if not 0.0 <= float(eta2) <= 1.0:
        raise InputError(f"eta2 must be in [0, 1], got {eta2}")
    if int(d) < 2:
        raise InputError(f"embedding dimension d must be >= 2, got {d}")
    if not float(C) > 0:
        raise InputError(f"C must be > 0, got {C}")
    return (1.0 / float(temperature)) * (1.0 - float(eta2)) / (float(C) * (int(d) - 1))


class Route2Regularizer(nn.Module):
    r"""Route-2 regulariser of paper Eq. 11: :math:`\beta\,(-\hat H(\rho) + \lambda\,\mathbb E\|z\|^2)`.

    Applied to the *unnormalised* embeddings :math:`z = f(x)` (law :math:`\rho`). Up to a constant it equals
    :math:`\beta\,\mathrm{KL}(\rho\,\|\,\mathcal N(0, (2\lambda)^{-1}I))` (Eq. 13–14), whose minimiser is the
    isotropic Gaussian with per-coordinate variance :math:`1/(2\lambda)` (Cor. 2). The paper trains no model with
    it and specifies no estimator; this is infogauss's instantiation:

    - ``entropy="gaussian"``: :func:`gaussian_entropy` with a fixed shrinkage ``shrinkage=0.1`` towards
      :math:`\tfrac{\mathrm{tr}S}{d}I` (finite when the batch is smaller than ``d``). With any fixed
      :math:`s<1` the term :math:`-\tfrac12\log\det((1-s)S+s\tfrac{\mathrm{tr}S}{d}I)+\lambda\,\mathrm{tr}S` is
      strictly convex in :math:`S` and rotation invariant, so its minimiser is still :math:`S = I/(2\lambda)`.
      ``shrinkage="ledoit-wolf"`` gives a better entropy *estimate* but is a poor regulariser: the optimiser
      learns to make the batch heavy-tailed, which drives the (detached) Ledoit–Wolf intensity to 1, after which
      only :math:`\mathrm{tr}S` is penalised and anisotropy survives (see ``tests/test_losses.py``);
    - ``entropy="knn"``: :func:`knn_entropy` with ``k`` neighbours (default 3).

    The weight is either ``beta`` directly, or ``beta_scale`` times the threshold scale
    :func:`beta_threshold` :math:`= \alpha(1-\eta_2)/(d-1)` (paper Thm 1 with the unknown constant :math:`C=1`),
    evaluated at the embedding dimension of the input; ``temperature`` and ``eta2`` are then required.
    ``lam`` defaults to 0.5, i.e. the reference :math:`\mathcal N(0, I)` (the paper fixes no value).

    Example:
        >>> import torch
        >>> from infogauss.losses import InfoNCE, Route2Regularizer
        >>> z1, z2 = torch.randn(256, 16), torch.randn(256, 16)
        >>> reg = Route2Regularizer(beta_scale=1.0, temperature=0.1, eta2=0.36)
        >>> loss = InfoNCE(0.1)(z1, z2) + 0.5 * (reg(z1) + reg(z2))
    """

    def __init__(
        self,
        beta: float | None = None,
        beta_scale: float | None = None,
        lam: float = 0.5,
        entropy: str = "gaussian",
        k: int = 3,
        shrinkage: float | str = 0.1,
        temperature: float | None = None,
        eta2: float | None = None,
        C: float = 1.0,
    ):
        super().__init__()
        if (beta is None) == (beta_scale is None):
            raise InputError("Route2Regularizer: give exactly one of beta or beta_scale")
        if beta is not None and not float(beta) >= 0:
            raise InputError(f"beta must be >= 0, got {beta}")
        if beta_scale is not None:
            if not float(beta_scale) >= 0:
                raise InputError(f"beta_scale must be >= 0, got {beta_scale}")
            if temperature is None or eta2 is None:
                raise InputError(
                    "beta_scale needs temperature and eta2 (the augmentation mildness; eta2=0 gives the largest "
                    "threshold); pass them or set beta directly"
                )
            beta_threshold(temperature, eta2, 2, C)  # validates
        if not float(lam) > 0:
            raise InputError(f"lam must be > 0, got {lam}")
        if entropy not in ("gaussian", "knn"):
            raise InputError(f"entropy estimator must be 'gaussian' or 'knn', got {entropy!r}")
        if int(k) < 1:
            raise InputError(f"k must be >= 1, got {k}")
        self.beta = None if beta is None else float(beta)
        self.beta_scale = None if beta_scale is None else float(beta_scale)
        self.lam = float(lam)
        self.entropy = entropy
        self.k = int(k)
        self.shrinkage = shrinkage
        self.temperature = temperature
        self.eta2 = eta2
        self.C = float(C)

    def weight(self, d: int) -> float:
        """The weight beta used for embeddings of dimension ``d``."""
        if self.beta is not None:
            return self.beta
        return self.beta_scale * beta_threshold(self.temperature, self.eta2, d, self.C)

    def terms(self, z: torch.Tensor) -> dict[str, torch.Tensor]:
        """The pieces: ``entropy`` (Ĥ), ``sq_norm`` (E‖z‖²), ``beta``, and ``value`` = beta(−Ĥ + lam·E‖z‖²)."""
        z = embeddings(z, min_n=2)
        with torch.autocast(device_type=z.device.type, enabled=False):
            zf = z.float()
            if self.entropy == "gaussian":
                h = gaussian_entropy(zf, self.shrinkage)
            else:
                h = knn_entropy(zf, self.k)
            sq = (zf * zf).sum(1).mean()
            beta = self.weight(z.shape[1])
            return {"entropy": h, "sq_norm": sq, "beta": torch.tensor(beta), "value": beta * (-h + self.lam * sq)}

    def forward(self, z: torch.Tensor) -> torch.Tensor:
        return self.terms(z)["value"]

    def extra_repr(self) -> str:
        w = f"beta={self.beta}" if self.beta is not None else f"beta_scale={self.beta_scale}"
        return f"{w}, lam={self.lam}, entropy={self.entropy!r}"


def _digamma(n: int) -> float:
    return float(torch.special.digamma(torch.tensor(float(n), dtype=torch.float64)))
