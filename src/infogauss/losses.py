"""Induce: the InfoNCE loss (paper Eq. 2), SimCLR's NT-Xent, the Route-2 regulariser (paper Eq. 11), VICReg.

Small ``nn.Module`` losses in the style of lightly: each has a function form (:func:`info_nce`) and a module
form (:class:`InfoNCE`). All losses accumulate in float32 even under ``torch.autocast``: inputs are cast to
float32 and autocast is switched off inside the loss, so a bf16 encoder gets a float32 loss.

The Route-2 regulariser needs the differential entropy of the *unnormalised* embeddings; two estimators are
provided, :func:`gaussian_entropy` (plug-in Gaussian with a shrunk covariance) and :func:`knn_entropy`
(Kozachenko–Leonenko). They live in :mod:`infogauss.losses_route2` and are importable from here.
:class:`VICReg` is the non-contrastive control objective.
"""

from __future__ import annotations

import torch
import torch.nn.functional as F
from torch import nn

from infogauss.checks import embeddings, number
from infogauss.errors import InputError
from infogauss.losses_route2 import (
    Route2Regularizer,
    beta_threshold,
    gaussian_entropy,
    knn_entropy,
    ledoit_wolf_shrinkage,
)

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
        number(temperature, "temperature", lo=0, lo_open=True)
        self.temperature = float(temperature)
        self.symmetric = bool(symmetric)
        self.gather_distributed = bool(gather_distributed)

    def forward(self, z1: torch.Tensor, z2: torch.Tensor) -> torch.Tensor:
        return info_nce(z1, z2, self.temperature, self.symmetric, gather=self.gather_distributed)

    def extra_repr(self) -> str:
        return f"temperature={self.temperature}, symmetric={self.symmetric}"


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
    _same_shape(z1, z2)
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


def _same_shape(z1: torch.Tensor, z2: torch.Tensor) -> None:
    if z1.shape != z2.shape:
        raise InputError(f"the two views must have the same shape, got {tuple(z1.shape)} and {tuple(z2.shape)}")


def _check_pair(z1, z2, temperature) -> None:
    _same_shape(embeddings(z1), embeddings(z2))
    number(temperature, "temperature", lo=0, lo_open=True)
