"""Encoders for the synthetic and small-image experiments: the paper's linear encoder and a two-layer MLP.

Every encoder is an :class:`Encoder`: ``embed(x)`` gives the representation :math:`z = f(x)` that the
Gaussianity tests look at, and ``forward(x)`` gives what the loss sees — the same tensor, or the output of an
optional SimCLR-style projection head ``Linear -> ReLU -> Linear`` on top of it (Chen et al. 2020). Inputs with
more than two dimensions (e.g. images) are flattened.

Initialisation is PyTorch's default for ``nn.Linear`` (Kaiming-uniform weights with ``a = sqrt(5)``, i.e.
:math:`U(-1/\\sqrt{\\text{in}}, 1/\\sqrt{\\text{in}})`, and the same range for biases); the paper does not say
(paper.md §6.3). ``bias=True`` is likewise PyTorch's default and an assumption.
"""

from __future__ import annotations

import torch
from torch import nn

from infogauss.errors import InputError

__all__ = ["Encoder", "make_encoder", "ENCODERS"]

ENCODERS = ("linear", "mlp")


class Encoder(nn.Module):
    """``backbone`` (the representation) plus an optional projection ``head`` used only by the loss."""

    def __init__(self, backbone: nn.Module, head: nn.Module | None = None, out_dim: int | None = None):
        super().__init__()
        self.backbone = backbone
        self.head = head
        self.out_dim = out_dim

    def embed(self, x: torch.Tensor) -> torch.Tensor:
        """The representation :math:`z = f(x)`, shape ``(n, out_dim)`` (unnormalised)."""
        if x.ndim > 2:
            x = x.flatten(1)
        return self.backbone(x)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        z = self.embed(x)
        return z if self.head is None else self.head(z)


def make_encoder(
    name: str,
    in_dim: int,
    out_dim: int,
    hidden: int = 512,
    bias: bool = True,
    head: int | None = None,
    head_hidden: int | None = None,
) -> Encoder:
    """Build encoder ``name``: ``"linear"`` (the paper's, ``nn.Linear(in_dim, out_dim)``) or ``"mlp"``.

    Args:
        name: ``"linear"`` or ``"mlp"`` (``Linear(in_dim, hidden) -> ReLU -> Linear(hidden, out_dim)``).
        in_dim: input dimension (flattened).
        out_dim: representation dimension ``d`` (>= 2).
        hidden: hidden width of the MLP (default 512, an assumption for the paper's CIFAR MLP).
        bias: use biases (default True, PyTorch's default; unknown in the paper).
        head: if given, the dimension of a projection head on top of the representation; the loss then sees the
            head's output and ``embed`` still returns the representation.
        head_hidden: hidden width of the head (default ``out_dim``).
    """
    if name not in ENCODERS:
        raise InputError(f"unknown encoder {name!r}; choose from {', '.join(ENCODERS)}")
    in_dim = _dim(in_dim, "in_dim", 1)
    out_dim = _dim(out_dim, "d (the embedding dimension)", 2)
    if name == "linear":
        backbone: nn.Module = nn.Linear(in_dim, out_dim, bias=bias)
    else:
        hidden = _dim(hidden, "hidden", 1)
        backbone = nn.Sequential(nn.Linear(in_dim, hidden, bias=bias), nn.ReLU(), nn.Linear(hidden, out_dim, bias=bias))
    proj = None
    if head is not None:
        head = _dim(head, "head", 2)
        hh = out_dim if head_hidden is None else _dim(head_hidden, "head_hidden", 1)
        proj = nn.Sequential(nn.Linear(out_dim, hh, bias=bias), nn.ReLU(), nn.Linear(hh, head, bias=bias))
    return Encoder(backbone, proj, out_dim)


def _dim(x, name, lo) -> int:
    if isinstance(x, bool) or not isinstance(x, int | float) or float(x) != int(x):
        raise InputError(f"{name} must be an integer, got {x!r}")
    if int(x) < lo:
        raise InputError(f"{name} must be >= {lo}, got {x}")
    return int(x)
