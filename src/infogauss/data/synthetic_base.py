"""The base of the synthetic sources (:mod:`infogauss.data.synthetic`): :class:`Source` and :func:`make_generator`.

A source holds fixed base items :math:`x_0` (``train``, ``test``) drawn once from its seed on its device, and a
two-view augmentation channel (paper Eq. 1); a subclass draws the base items (:meth:`Source.sample_base`) and one view
(:meth:`Source.view`). Import the sources themselves from :mod:`infogauss.data.synthetic`.
"""

from __future__ import annotations

import torch

from infogauss.checks import integer
from infogauss.errors import InputError

__all__ = ["Source", "make_generator"]


def make_generator(seed: int, device="cpu") -> torch.Generator:
    """A ``torch.Generator`` on ``device`` seeded with ``seed``.

    For views, use a seed different from the source's ``seed``: the same seed replays the stream that drew the
    base items (e.g. a Gaussian channel would add noise equal to :math:`x_0`). :func:`infogauss.train.train`
    uses ``seed + 1_000_003``.
    """
    g = torch.Generator(device=torch.device(device))
    g.manual_seed(int(seed))
    return g


class Source:
    """Base class: fixed base items (``train``, ``test``) and a two-view augmentation channel.

    Attributes:
        name: registry name.
        dim: input dimension.
        train, test: ``(n, dim)`` float32 tensors of base items on ``device``.
        eta2: the augmentation mildness :math:`\\eta_2` (paper Eq. 5) when known exactly, else ``None``.
    """

    name = "source"
    eta2: float | None = None

    def __init__(self, dim: int, n_train: int, n_test: int, seed: int, device):
        self.dim = integer(dim, "dim (the input dimension)", lo=2)
        self.n_train = integer(n_train, "n_train (the number of training items)", lo=2)
        self.n_test = integer(n_test, "n_test (the number of test items)", lo=2)
        self.seed = integer(seed, "seed", lo=0)
        try:
            self.device = torch.device(device)
        except (RuntimeError, TypeError):
            raise InputError(f"unknown device {device!r}; use 'cpu' or 'cuda'") from None
        g = make_generator(self.seed, self.device)
        self._setup(g)
        self.train = self.sample_base(self.n_train, g)
        self.test = self.sample_base(self.n_test, g)

    # -- to override -------------------------------------------------------------------------------------------
    def _setup(self, generator: torch.Generator) -> None:
        """Draw fixed parameters of the source (before the base items), e.g. mixture means."""

    def sample_base(self, n: int, generator: torch.Generator) -> torch.Tensor:
        """``n`` fresh base items :math:`x_0`, shape ``(n, dim)``."""
        raise NotImplementedError

    def view(self, x0: torch.Tensor, generator: torch.Generator) -> torch.Tensor:
        """One view :math:`x \\sim A(\\cdot\\mid x_0)` of each row of ``x0``."""
        raise NotImplementedError

    def params(self) -> dict:
        """The parameters that define this source (JSON-able)."""
        return {"dim": self.dim, "n_train": self.n_train, "n_test": self.n_test, "seed": self.seed}

    # -- shared ------------------------------------------------------------------------------------------------
    def views(self, x0: torch.Tensor, generator: torch.Generator) -> tuple[torch.Tensor, torch.Tensor]:
        """Two conditionally independent views ``(x1, x2)`` of each row of ``x0`` (paper Eq. 1)."""
        return self.view(x0, generator), self.view(x0, generator)

    def _randn(self, shape, generator):
        return torch.randn(shape, generator=generator, device=self.device)

    def _rand(self, shape, generator):
        return torch.rand(shape, generator=generator, device=self.device)

    def _base_rows(self, x0: torch.Tensor) -> torch.Tensor:
        """``x0`` when it is a ``(n, dim)`` batch of base items (for ``log_prob``), else :class:`InputError`."""
        if x0.ndim != 2 or x0.shape[1] != self.dim:
            raise InputError(f"log_prob expects base items of shape (n, {self.dim}), got {tuple(x0.shape)}")
        return x0

    def __repr__(self) -> str:
        args = ", ".join(f"{k}={v!r}" for k, v in self.params().items())
        return f"{type(self).__name__}({args})"

