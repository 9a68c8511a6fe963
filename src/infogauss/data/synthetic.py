"""Synthetic sources of positive pairs (paper §4.1, App. E.1), generated on the training device.

A *source* holds fixed base items :math:`x_0` (``.train``, ``.test``: float tensors on ``device``, drawn once from
``seed``) and an augmentation channel :math:`A(\\cdot\\mid x_0)` (``.views(x0, generator)``) that returns two
conditionally independent views (paper Eq. 1). All randomness goes through a ``torch.Generator`` on the source's
device, so data for a training step is produced on the GPU in one batch, and a run is reproducible from its seed
(CPU and CUDA generators give different streams).

Sources (``make_source(name, **params)``):

- ``"laplace"`` :class:`LaplaceSource` — the main synthetic study (Fig. 2, 3, 11; Table 1 "Laplace");
- ``"gmm"`` :class:`GaussianMixtureSource` — Table 1 "GMM";
- ``"binary"`` :class:`SparseBinarySource` — Table 1 "Binary";
- ``"gaussian"`` :class:`GaussianChannelSource` — the Gaussian channel of paper Eq. 24, where
  :math:`\\eta_2 = A^2` exactly (the Prop. 1 check).

Where the paper is silent (docs/paper-protocol.md §6.3) the default is marked *assumed* in the class docstring. The
base class :class:`Source` and :func:`make_generator` are in :mod:`infogauss.data.synthetic_base` (importable from
here).
"""

from __future__ import annotations

import math

import torch

from infogauss.checks import integer, number
from infogauss.data.synthetic_base import Source, make_generator
from infogauss.errors import InputError

__all__ = [
    "Source",
    "LaplaceSource",
    "GaussianMixtureSource",
    "SparseBinarySource",
    "GaussianChannelSource",
    "SOURCES",
    "BINARY_LAWS",
    "make_source",
    "make_generator",
]



class LaplaceSource(Source):
    r"""i.i.d. Laplace(0, 1) inputs and the Gaussian-channel-plus-jitter views of paper App. E.1 (Eq. 53).

    Base: :math:`x_0 \sim \mathrm{Laplace}(0,1)^{\mathrm{dim}}` (drawn as a difference of two Exp(1)). Each view:

    1. channel :math:`x = A x_0 + \sqrt{1-A^2}\,\varepsilon`, :math:`\varepsilon \sim \mathcal N(0, I)`;
    2. additive Gaussian noise with std ``noise_std`` (paper: 0.2) — drawn together with step 1 as one Gaussian
       of variance :math:`1-A^2+\text{noise\_std}^2`, which has the same law;
    3. feature dropout: each coordinate is zeroed with probability ``dropout`` (paper: 0.1); *assumed*: not
       rescaled by :math:`1/(1-p)` (``dropout_rescale=False``);
    4. multiplicative scaling by :math:`\exp(\mathcal N(0, s^2))`, ``scale_std`` :math:`s` = 0.1 (the paper's
       "exp(N(0,0.12))" read as :math:`0.1^2`); *assumed*: one scalar per sample (``scale_per="sample"``;
       ``"feature"`` draws one per coordinate).

    Defaults: ``dim=1024``, ``n_train=20000``, ``n_test=5000`` (App. E.1; the main text says 10k), ``A=0.6``.

    :math:`\eta_2` is not known in closed form here (``eta2 = None``). :attr:`eta2_lower_bound` is the squared
    Pearson correlation of one coordinate of a view with the same coordinate of :math:`x_0`, a lower bound on
    :math:`\eta_2 = \rho_m^2(X, X_0)` because the HGR maximal correlation dominates |Pearson| (paper App. A.1).
    """

    name = "laplace"

    def __init__(self, dim: int = 1024, n_train: int = 20000, n_test: int = 5000, A: float = 0.6,
                 noise_std: float = 0.2, dropout: float = 0.1, dropout_rescale: bool = False, scale_std: float = 0.1,
                 scale_per: str = "sample", seed: int = 0, device="cpu"):  # fmt: skip
        self.A = number(A, "A (the channel strength)", 0, 1)
        self.noise_std = number(noise_std, "noise_std", lo=0)
        self.dropout = number(dropout, "dropout (a probability)", 0, 1, hi_open=True)
        self.dropout_rescale = bool(dropout_rescale)
        self.scale_std = number(scale_std, "scale_std", lo=0)
        if scale_per not in ("sample", "feature"):
            raise InputError(f"scale_per must be 'sample' or 'feature', got {scale_per!r}")
        self.scale_per = scale_per
        super().__init__(dim, n_train, n_test, seed, device)

    def sample_base(self, n, generator):
        e = torch.empty((2, n, self.dim), device=self.device).exponential_(generator=generator)
        return e[0] - e[1]

    def view(self, x0, generator):
        # Steps 1 and 2 add two independent centred Gaussians, so one draw with the summed variance
        # 1 - A^2 + noise_std^2 has exactly the same law (and needs half the random numbers).
        std = math.sqrt(1.0 - self.A**2 + self.noise_std**2)
        x = self._randn(x0.shape, generator).mul_(std).add_(x0, alpha=self.A)
        if self.dropout > 0:
            x.mul_(self._rand(x0.shape, generator) >= self.dropout)
            if self.dropout_rescale:
                x.mul_(1.0 / (1.0 - self.dropout))
        if self.scale_std > 0:
            shape = (x0.shape[0], 1) if self.scale_per == "sample" else x0.shape
            x.mul_(self._randn(shape, generator).mul_(self.scale_std).exp_())
        return x

    def log_prob(self, x0: torch.Tensor) -> torch.Tensor:
        r"""Log-density of base items under Laplace(0,1)^dim, one value per row: :math:`-\sum_k(|x_k| + \log 2)`."""
        return -(self._base_rows(x0).abs().sum(1) + self.dim * math.log(2.0))

    @property
    def eta2_lower_bound(self) -> float:
        """Squared per-coordinate Pearson correlation between a view and its base item (≤ η₂)."""
        a2, p, s2 = self.A**2, self.dropout, self.scale_std**2
        var0 = 2.0  # Var Laplace(0, 1)
        m1 = (1.0 - p) * (1.0 / (1.0 - p) if self.dropout_rescale else 1.0)  # E[mask]
        m2 = (1.0 - p) * (1.0 / (1.0 - p) ** 2 if self.dropout_rescale else 1.0)  # E[mask^2]
        es, es2 = math.exp(s2 / 2), math.exp(2 * s2)  # E[scale], E[scale^2]
        cov = es * m1 * self.A * var0
        var = es2 * m2 * (a2 * var0 + (1.0 - a2) + self.noise_std**2)
        return cov**2 / (var * var0)

    def params(self):
        return {
            **super().params(),
            "A": self.A,
            "noise_std": self.noise_std,
            "dropout": self.dropout,
            "dropout_rescale": self.dropout_rescale,
            "scale_std": self.scale_std,
            "scale_per": self.scale_per,
        }


class GaussianMixtureSource(Source):
    r"""Mixture of ``components`` equally weighted isotropic Gaussians; positives share a component (App. E.1).

    The component means :math:`\mu_c \sim \mathcal N(0, \text{mean\_std}^2 I)` are drawn once from ``seed``. A base
    item is the mean :math:`x_0 = \mu_c` of a uniformly drawn component (``labels_train`` / ``labels_test``
    hold :math:`c`), and a view is an independent draw from that component,
    :math:`x = \mu_c + \text{std}\,\xi`, so the two views are "two independent samples from the same mixture
    component" and a single view is distributed as the mixture.

    Defaults: ``dim=1024``, ``components=25`` (paper); ``n_train=10000`` (paper: "10k samples"),
    ``n_test=5000``, ``mean_std=1.0``, ``std=1.0`` (*assumed*: the paper gives neither the mean distribution nor
    the covariance scale). With these, means are about :math:`\sqrt{2\cdot1024}\approx45` apart and each
    component has radius about 32. ``eta2`` is unknown (``None``).
    """

    name = "gmm"

    def __init__(self, dim: int = 1024, n_train: int = 10000, n_test: int = 5000, components: int = 25,
                 mean_std: float = 1.0, std: float = 1.0, seed: int = 0, device="cpu"):  # fmt: skip
        self.components = integer(components, "components (the number of mixture components)", lo=1)
        self.mean_std = number(mean_std, "mean_std", lo=0)
        self.std = number(std, "std", lo=0)
        self._labels: list[torch.Tensor] = []
        super().__init__(dim, n_train, n_test, seed, device)

    def _setup(self, generator):
        self.means = self.mean_std * self._randn((self.components, self.dim), generator)

    def sample_base(self, n, generator):
        labels = torch.randint(self.components, (n,), generator=generator, device=self.device)
        self._labels.append(labels)
        return self.means[labels]

    @property
    def labels_train(self) -> torch.Tensor:
        return self._labels[0]

    @property
    def labels_test(self) -> torch.Tensor:
        return self._labels[1]

    def view(self, x0, generator):
        return x0 + self.std * self._randn(x0.shape, generator)

    def params(self):
        return {**super().params(), "components": self.components, "mean_std": self.mean_std, "std": self.std}


#: Sparsity laws of :class:`SparseBinarySource` (the paper's is unknown, docs/paper-protocol.md §6.3).
BINARY_LAWS = ("bernoulli", "fixed", "random")


class SparseBinarySource(Source):
    r"""Sparse binary vectors; each view flips a small fraction of the zero entries to one (Table 1 "Binary").

    Base items (values 0.0 / 1.0), by the sparsity law ``law`` (the paper gives none; *assumed* default
    ``"bernoulli"``):

    - ``"bernoulli"``: :math:`x_{0,k} \sim \mathrm{Bernoulli}(\text{sparsity})` i.i.d., so the number of active
      entries is Binomial(dim, sparsity);
    - ``"fixed"``: exactly ``active`` entries equal to 1 per item, at uniformly random positions;
    - ``"random"``: a per-item sparsity :math:`s_i \sim U(0, 2\,\text{sparsity})` (mean ``sparsity``), then
      :math:`x_{0,ik} \sim \mathrm{Bernoulli}(s_i)`: the number of active entries varies much more across items.

    View: every zero entry independently becomes 1 with probability ``flip`` (paper: 0.1%), separately for each
    view (*assumed*); ones stay ones.

    Defaults: ``dim=1024``, ``flip=0.001`` (paper), ``n_train=10000`` (paper: "10k samples"), ``n_test=5000``,
    ``sparsity=0.05`` (*assumed*: fraction of ones, not given in the paper), ``law="bernoulli"``; ``active``
    (only for ``law="fixed"``) defaults to ``round(sparsity * dim)``. ``eta2`` is unknown (``None``).
    """

    name = "binary"

    def __init__(self, dim: int = 1024, n_train: int = 10000, n_test: int = 5000, sparsity: float = 0.05,
                 flip: float = 0.001, law: str = "bernoulli", active: int | None = None, seed: int = 0,
                 device="cpu"):  # fmt: skip
        self.sparsity = number(sparsity, "sparsity (a probability)", 0, 1)
        self.flip = number(flip, "flip (a probability)", 0, 1)
        if law not in BINARY_LAWS:
            raise InputError(f"law must be one of {', '.join(BINARY_LAWS)}, got {law!r}")
        self.law = law
        if active is not None and law != "fixed":
            raise InputError(f"active applies only to law='fixed', not law={law!r}; use sparsity instead")
        if law == "random" and self.sparsity > 0.5:
            raise InputError(
                f"law='random' draws per-item sparsities from U(0, 2*sparsity), so sparsity must be <= 0.5, "
                f"got {self.sparsity}"
            )
        dim_ = integer(dim, "dim (the input dimension)", lo=2)
        k = round(self.sparsity * dim_) if active is None else integer(active, "active (entries per item)", lo=0)
        if k > dim_:
            raise InputError(f"active ({k}) must be at most dim ({dim_})")
        self.active = k if law == "fixed" else None
        super().__init__(dim, n_train, n_test, seed, device)

    def sample_base(self, n, generator):
        if self.law == "fixed":
            x = torch.zeros((n, self.dim), device=self.device)
            if self.active:
                idx = self._rand((n, self.dim), generator).topk(self.active, dim=1).indices
                x.scatter_(1, idx, 1.0)
            return x
        if self.law == "random":
            s = self._rand((n, 1), generator).mul_(2.0 * self.sparsity)
            return (self._rand((n, self.dim), generator) < s).float()
        return (self._rand((n, self.dim), generator) < self.sparsity).float()

    def view(self, x0, generator):
        flips = (self._rand(x0.shape, generator) < self.flip).to(x0.dtype)
        return torch.maximum(x0, flips)

    def params(self):
        out = {**super().params(), "sparsity": self.sparsity, "flip": self.flip}
        if self.law != "bernoulli":  # the default law keeps the parameters (and config files) it always had
            out["law"] = self.law
        if self.active is not None:
            out["active"] = self.active
        return out


class GaussianChannelSource(Source):
    r"""Gaussian base through a Gaussian channel, paper Eq. 24: :math:`x = A x_0 + \sqrt{1-A^2}\,\varepsilon`.

    :math:`x_0, \varepsilon \sim \mathcal N(0, I_{\mathrm{dim}})` independent. The pair :math:`(X, X_0)` is
    jointly Gaussian with all canonical correlations equal to :math:`A`, so the HGR maximal correlation is
    :math:`|A|` and :math:`\eta_2 = A^2` exactly (paper App. A.2; Bryc & Dembo 2005). No jitter: this is the
    source on which Prop. 1's bound :math:`\mathbb E[u\cdot v] \le \eta_2 + (1-\eta_2)\|m\|^2` can be checked.

    Defaults: ``dim=1024``, ``n_train=20000``, ``n_test=5000``, ``A=0.6`` (as for Laplace; *assumed*).
    """

    name = "gaussian"

    def __init__(self, dim: int = 1024, n_train: int = 20000, n_test: int = 5000, A: float = 0.6, seed: int = 0,
                 device="cpu"):  # fmt: skip
        self.A = number(A, "A (the channel strength)", 0, 1)
        super().__init__(dim, n_train, n_test, seed, device)

    @property
    def eta2(self) -> float:  # type: ignore[override]
        return self.A**2

    def sample_base(self, n, generator):
        return self._randn((n, self.dim), generator)

    def view(self, x0, generator):
        return self.A * x0 + math.sqrt(1.0 - self.A**2) * self._randn(x0.shape, generator)

    def log_prob(self, x0: torch.Tensor) -> torch.Tensor:
        r"""Log-density of base items under :math:`\mathcal N(0, I)`, one value per row."""
        x0 = self._base_rows(x0)
        return -0.5 * (x0 * x0).sum(1) - 0.5 * self.dim * math.log(2 * math.pi)

    def params(self):
        return {**super().params(), "A": self.A}


SOURCES: dict[str, type[Source]] = {
    "laplace": LaplaceSource,
    "gmm": GaussianMixtureSource,
    "binary": SparseBinarySource,
    "gaussian": GaussianChannelSource,
}


def make_source(name: str, **params) -> Source:
    """Build the source ``name`` (``"laplace"``, ``"gmm"``, ``"binary"``, ``"gaussian"``) with ``params``."""
    if name not in SOURCES:
        raise InputError(f"unknown source {name!r}; choose from {', '.join(SOURCES)}")
    cls = SOURCES[name]
    allowed = source_parameters(name)
    unknown = sorted(set(params) - set(allowed))
    if unknown:
        raise InputError(f"source {name!r} has no parameter {unknown[0]!r}; valid: {', '.join(allowed)}")
    return cls(**params)


def source_parameters(name: str) -> dict[str, object]:
    """Parameter name -> default value of source ``name``."""
    import inspect

    if name not in SOURCES:
        raise InputError(f"unknown source {name!r}; choose from {', '.join(SOURCES)}")
    sig = inspect.signature(SOURCES[name].__init__)
    return {k: p.default for k, p in sig.parameters.items() if k != "self"}
