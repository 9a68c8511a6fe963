"""Induce: the InfoNCE loss (paper Eq. 2), SimCLR's NT-Xent, and the Route-2 regulariser (paper Eq. 11).

Small ``nn.Module`` losses in the style of lightly: each has a function form (:func:`info_nce`) and a module
form (:class:`InfoNCE`). All losses accumulate in float32 even under ``torch.autocast``: inputs are cast to
float32 and autocast is switched off inside the loss, so a bf16 encoder gets a float32 loss.

The Route-2 regulariser needs the differential entropy of the *unnormalised* embeddings; two estimators are
provided, :func:`gaussian_entropy` (plug-in Gaussian with a shrunk covariance) and :func:`knn_entropy`
(Kozachenko–Leonenko).
"""

from __future__ import annotations

import math

import torch
import torch.nn.functional as F
from torch import nn

from infogauss.errors import InputError

__all__ = [
    "info_nce",
    "InfoNCE",
    "gaussian_entropy",
    "knn_entropy",
    "ledoit_wolf_shrinkage",
    "beta_threshold",
    "Route2Regularizer",
    "vicreg",
    "VICReg",
]


def info_nce(
    z1: torch.Tensor,
    z2: torch.Tensor,
    temperature: float = 0.1,
    symmetric: bool = False,
    *,
    gather: bool = False,
) -> torch.Tensor:
    r"""InfoNCE loss of a batch of positive pairs (paper Eq. 2), or SimCLR's NT-Xent when ``symmetric``.

    With :math:`u_i = z_{1,i}/\|z_{1,i}\|`, :math:`v_i = z_{2,i}/\|z_{2,i}\|` and temperature :math:`\tau`:

    .. math::

        \mathcal L = -\frac1N\sum_{i=1}^N \log
            \frac{\exp(\langle u_i, v_i\rangle/\tau)}{\sum_{j=1}^N \exp(\langle u_i, v_j\rangle/\tau)}

    This is the one-directional (:math:`u \to v`) form of the paper: the denominator includes the positive
    :math:`j=i` and the negatives come only from the other view. The loss is :math:`\ge 0`; it equals
    :math:`\log N` when all logits tie (collapsed embeddings), is at most :math:`\log N` when every positive is
    the largest logit of its row, and for unrelated views (random initialisation) its expectation is between
    :math:`\log N` and :math:`\log N + \tfrac12\mathrm{Var}(\langle u,v\rangle/\tau)` (Jensen), i.e.
    :math:`\log N + 1/(2d\tau^2)` for isotropic embeddings.

    ``symmetric=True`` gives the NT-Xent loss of SimCLR (Chen et al. 2020): the :math:`2N` embeddings
    :math:`w = (u_1..u_N, v_1..v_N)` each act as a query against the other :math:`2N-1` (self-similarity
    masked), i.e. one positive and :math:`2N-2` negatives, and the loss is the mean over the :math:`2N`
    queries (both directions).

    Args:
        z1, z2: ``(N, d)`` embeddings of the two views; row ``i`` of each is a positive pair. They need not be
            normalised (rows are L2-normalised here; an all-zero row maps to the zero vector).
        temperature: :math:`\tau > 0` (the paper's :math:`\alpha = 1/\tau`; paper default 0.1).
        symmetric: NT-Xent instead of Eq. 2.
        gather: in a ``torch.distributed`` run, gather the other ranks' embeddings (with gradients, via torch's
            ``_functional_collectives.all_gather_single``) so every rank uses the global batch as negatives;
            each rank's positives index into the global batch. The loss returned is the mean over this rank's
            queries; averaging gradients over ranks (as DDP does) gives exactly the gradient of the loss on the
            concatenated global batch. Ignored when ``torch.distributed`` is not initialised.

    Returns:
        A float32 scalar tensor.

    Paper: Betser, Gofer, Levi, Gilboa, "InfoNCE Induces Gaussian Distribution", ICLR 2026, Eq. 2; van den Oord
    et al. 2018 (CPC); Chen et al. 2020 (SimCLR, NT-Xent).

    Example:
        >>> import torch
        >>> from infogauss.losses import info_nce
        >>> z1, z2 = torch.randn(128, 32), torch.randn(128, 32)
        >>> loss = info_nce(z1, z2, temperature=0.1)   # about log(128) = 4.85 for unrelated views
    """
    _check_pair(z1, z2, temperature)
    with torch.autocast(device_type=z1.device.type, enabled=False):
        u = F.normalize(z1.float(), dim=1)
        v = F.normalize(z2.float(), dim=1)
        n = u.shape[0]
        U, V, offset = _gather(u, v) if gather else (u, v, 0)
        inv_t = 1.0 / float(temperature)
        local = torch.arange(n, device=u.device)
        if not symmetric:
            logits = (u @ V.T) * inv_t
            return F.cross_entropy(logits, offset + local)
        big_n = U.shape[0]
        queries = torch.cat([u, v])
        keys = torch.cat([U, V])
        logits = (queries @ keys.T) * inv_t
        self_idx = torch.cat([offset + local, big_n + offset + local])
        pos_idx = torch.cat([big_n + offset + local, offset + local])
        mask = torch.zeros_like(logits, dtype=torch.bool)
        mask[torch.arange(2 * n, device=u.device), self_idx] = True
        logits = logits.masked_fill(mask, float("-inf"))
        return F.cross_entropy(logits, pos_idx)


class InfoNCE(nn.Module):
    r"""InfoNCE loss (paper Eq. 2) as a module; ``symmetric=True`` gives SimCLR's NT-Xent.

    .. math::

        \mathcal L = -\frac1N\sum_i \log\frac{\exp(u_i\cdot v_i/\tau)}{\sum_j \exp(u_i\cdot v_j/\tau)},
        \qquad u_i = \frac{z_{1,i}}{\|z_{1,i}\|},\ v_i = \frac{z_{2,i}}{\|z_{2,i}\|}

    See :func:`info_nce` for the arguments. ``gather_distributed=True`` uses the negatives of all ranks.

    Example:
        >>> import torch
        >>> from infogauss.losses import InfoNCE
        >>> criterion = InfoNCE(temperature=0.1)
        >>> encoder = torch.nn.Linear(1024, 256)
        >>> x1, x2 = torch.randn(64, 1024), torch.randn(64, 1024)
        >>> loss = criterion(encoder(x1), encoder(x2))
        >>> loss.backward()
    """

    def __init__(self, temperature: float = 0.1, symmetric: bool = False, gather_distributed: bool = False):
        super().__init__()
        _check_temperature(temperature)
        self.temperature = float(temperature)
        self.symmetric = bool(symmetric)
        self.gather_distributed = bool(gather_distributed)

    def forward(self, z1: torch.Tensor, z2: torch.Tensor) -> torch.Tensor:
        return info_nce(z1, z2, self.temperature, self.symmetric, gather=self.gather_distributed)

    def extra_repr(self) -> str:
        return f"temperature={self.temperature}, symmetric={self.symmetric}"


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
    z = _check_embeddings(z, min_n=2)
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
    z = _check_embeddings(z, min_n=2)
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
    _check_temperature(temperature)
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
        z = _check_embeddings(z, min_n=2)
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


# --------------------------------------------------------------------------------------------------------------


def vicreg(
    z1: torch.Tensor,
    z2: torch.Tensor,
    sim_coeff: float = 25.0,
    std_coeff: float = 25.0,
    cov_coeff: float = 1.0,
    gamma: float = 1.0,
    eps: float = 1e-4,
) -> torch.Tensor:
    r"""VICReg loss (Bardes, Ponce, LeCun, ICLR 2022, Eq. 6): a non-contrastive control objective on the same pairs.

    With :math:`Z, Z'` the ``(N, d)`` *unnormalised* embeddings of the two views:

    .. math::

        \ell = \lambda\,\tfrac{1}{Nd}\sum_i\|z_i - z'_i\|^2 + \mu\,[v(Z) + v(Z')] + \nu\,[c(Z) + c(Z')],

        v(Z) = \tfrac1d\sum_j \max\big(0, \gamma - \sqrt{\mathrm{Var}(Z_{:,j}) + \epsilon}\big),\qquad
        c(Z) = \tfrac1d\sum_{j\neq k} C(Z)_{jk}^2

    (invariance, variance, covariance), :math:`C(Z)` the covariance matrix of the batch (divisor :math:`N-1`),
    defaults :math:`\lambda = \mu = 25`, :math:`\nu = 1`, :math:`\gamma = 1`, :math:`\epsilon = 10^{-4}` (the
    paper's). No negatives and no normalisation: unlike InfoNCE (Eq. 2) nothing pushes the directions towards the
    uniform law on the sphere, which is what makes it a control for "what InfoNCE itself did".

    Leading batch dimensions are allowed (``(..., N, d)``: one loss per leading index, returned with that shape),
    so independent encoders trained together get their own losses; 2-D inputs give a scalar. Float32 as
    :func:`info_nce`.
    """
    if not isinstance(z1, torch.Tensor) or not isinstance(z2, torch.Tensor) or z1.ndim < 2:
        raise InputError("vicreg expects two tensors of embeddings of shape (..., N, d)")
    if z1.shape != z2.shape:
        raise InputError(f"the two views must have the same shape, got {tuple(z1.shape)} and {tuple(z2.shape)}")
    if z1.shape[-2] < 2:
        raise InputError(f"VICReg needs a batch of at least 2 pairs (a variance), got {z1.shape[-2]}")
    with torch.autocast(device_type=z1.device.type, enabled=False):
        z1, z2 = z1.float(), z2.float()
        n, d = z1.shape[-2], z1.shape[-1]
        out = sim_coeff * (z1 - z2).pow(2).sum(-1).mean(-1) / d  # F.mse_loss: mean over batch and coordinates
        off = ~torch.eye(d, dtype=torch.bool, device=z1.device)
        for z in (z1, z2):
            c = z - z.mean(-2, keepdim=True)
            std = torch.sqrt(c.pow(2).sum(-2) / (n - 1) + eps)
            cov = c.transpose(-1, -2) @ c / (n - 1)
            out = out + std_coeff * F.relu(gamma - std).mean(-1) + cov_coeff * cov[..., off].pow(2).sum(-1) / d
        return out


class VICReg(nn.Module):
    r"""VICReg loss (Bardes et al., ICLR 2022) as a module; see :func:`vicreg` for the formula and defaults.

    .. math::

        \ell = \lambda\, s(Z, Z') + \mu\,[v(Z) + v(Z')] + \nu\,[c(Z) + c(Z')]

    Example:
        >>> import torch
        >>> from infogauss.losses import VICReg
        >>> loss = VICReg()(torch.randn(64, 16), torch.randn(64, 16))
    """

    def __init__(self, sim_coeff: float = 25.0, std_coeff: float = 25.0, cov_coeff: float = 1.0, gamma: float = 1.0):
        super().__init__()
        self.sim_coeff, self.std_coeff, self.cov_coeff, self.gamma = sim_coeff, std_coeff, cov_coeff, gamma

    def forward(self, z1: torch.Tensor, z2: torch.Tensor) -> torch.Tensor:
        return vicreg(z1, z2, self.sim_coeff, self.std_coeff, self.cov_coeff, self.gamma)


def _gather(u: torch.Tensor, v: torch.Tensor):
    import torch.distributed as dist

    if not (dist.is_available() and dist.is_initialized()) or dist.get_world_size() == 1:
        return u, v, 0
    # torch's differentiable all-gather (its backward sums each rank's gradient back into that rank's rows); it
    # replaces the deprecated torch.distributed.nn.functional.all_gather.
    from torch.distributed._functional_collectives import all_gather_single, wait_tensor

    U = wait_tensor(all_gather_single(u.contiguous(), 0, dist.group.WORLD))  # waited even where unused (Eq. 2)
    V = wait_tensor(all_gather_single(v.contiguous(), 0, dist.group.WORLD))
    sizes = U.shape[0] // dist.get_world_size()
    if sizes != u.shape[0]:
        raise InputError("distributed InfoNCE needs the same local batch size on every rank")
    return U, V, dist.get_rank() * u.shape[0]


def _digamma(n: int) -> float:
    return float(torch.special.digamma(torch.tensor(float(n), dtype=torch.float64)))


def _check_temperature(temperature) -> None:
    try:
        t = float(temperature)
    except (TypeError, ValueError):
        raise InputError(f"temperature must be a number > 0, got {temperature!r}") from None
    if not (t > 0 and math.isfinite(t)):
        raise InputError(f"temperature must be a finite number > 0, got {temperature}")


def _check_embeddings(z, min_n: int) -> torch.Tensor:
    if not isinstance(z, torch.Tensor):
        raise InputError(f"expected a torch.Tensor of embeddings, got {type(z).__name__}")
    if z.ndim != 2:
        raise InputError(f"embeddings must be 2-D (batch, dim), got shape {tuple(z.shape)}")
    if z.shape[0] < min_n:
        raise InputError(f"need a batch of at least {min_n} embeddings, got {z.shape[0]}")
    if not z.is_floating_point():
        raise InputError(f"embeddings must be floating point, got dtype {z.dtype}")
    return z


def _check_pair(z1, z2, temperature) -> None:
    _check_embeddings(z1, min_n=1)
    _check_embeddings(z2, min_n=1)
    if z1.shape != z2.shape:
        raise InputError(f"the two views must have the same shape, got {tuple(z1.shape)} and {tuple(z2.shape)}")
    _check_temperature(temperature)
