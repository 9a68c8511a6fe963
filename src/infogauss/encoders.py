"""Encoders for the synthetic and small-image experiments: the paper's linear encoder and a two-layer MLP.

Every encoder — these and the image encoders of :mod:`infogauss.vision` — is an :class:`Encoder`: ``embed(x)``
gives the representation :math:`z = f(x)` that the Gaussianity tests look at, and ``forward(x)`` gives what the
loss sees — the same tensor, or the output of the optional SimCLR projection head :class:`ProjectionHead`
``Linear -> ReLU -> Linear`` on top of it (Chen et al. 2020). Inputs with more than two dimensions (e.g. images)
are flattened.

Initialisation is PyTorch's default for ``nn.Linear`` (Kaiming-uniform weights with ``a = sqrt(5)``, i.e.
:math:`U(-1/\\sqrt{\\text{in}}, 1/\\sqrt{\\text{in}})`, and the same range for biases); the paper does not say
(docs/paper-protocol.md §6.3). ``bias=True`` is likewise PyTorch's default and an assumption.
"""

from __future__ import annotations

import torch
from torch import nn

from infogauss.checks import integer
from infogauss.errors import InputError

__all__ = ["Encoder", "ProjectionHead", "make_encoder", "ENCODERS"]

ENCODERS = ("linear", "mlp")


class ProjectionHead(nn.Sequential):
    """SimCLR's projection head ``Linear(in_dim, hidden) -> ReLU -> Linear(hidden, out_dim)`` (Chen et al. 2020),
    ``hidden = in_dim`` by default. The one head of every encoder (synthetic and image)."""

    def __init__(self, in_dim: int, out_dim: int, hidden: int | None = None, bias: bool = True):
        hidden = in_dim if hidden is None else hidden
        super().__init__(nn.Linear(in_dim, hidden, bias=bias), nn.ReLU(), nn.Linear(hidden, out_dim, bias=bias))


class Encoder(nn.Module):
    """``backbone`` (the representation) + optional projection ``head`` + optional linear ``classifier``.

    - ``embed(x)`` — the representation :math:`z = f(x)` (unnormalised; what the Gaussianity tests look at);
      inputs with more than two dimensions are flattened first when ``flatten`` (synthetic encoders);
    - ``project(x)`` — the head's output :math:`g(f(x))`, or ``embed(x)`` without a head;
    - ``forward(x)`` — what the loss sees: ``project(x)``, or class logits with a ``classifier``;
    - ``representations(x)`` — ``{"backbone": z, "head": g(z)}`` from one pass (``"head"`` only with a head).
    """

    def __init__(self, backbone: nn.Module, head: nn.Module | None = None, out_dim: int | None = None, *,
                 classifier: nn.Module | None = None, head_dim: int | None = None, name: str = "",
                 flatten: bool = True):  # fmt: skip
        super().__init__()
        self.backbone = backbone
        self.head = head
        self.classifier = classifier
        self.out_dim = out_dim  # dimension of embed(x)
        self.head_dim = head_dim  # dimension of project(x) when there is a head
        self.num_classes = None if classifier is None else classifier.out_features
        self.name = name
        self.flatten = flatten

    def embed(self, x: torch.Tensor) -> torch.Tensor:
        """The representation :math:`z = f(x)`, shape ``(n, out_dim)`` (unnormalised)."""
        if self.flatten and x.ndim > 2:
            x = x.flatten(1)
        return self.backbone(x)

    def project(self, x: torch.Tensor) -> torch.Tensor:
        """Projection-head output ``(n, head_dim)``, or the representation when there is no head."""
        z = self.embed(x)
        return z if self.head is None else self.head(z)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        """What the loss sees: ``project(x)``, or logits ``(n, num_classes)`` when there is a classifier."""
        h = self.project(x)
        return h if self.classifier is None else self.classifier(h)

    def representations(self, x: torch.Tensor) -> dict[str, torch.Tensor]:
        """``{"backbone": embed(x), "head": project(x)}`` in one pass (``"head"`` only when there is a head)."""
        z = self.embed(x)
        return {"backbone": z} if self.head is None else {"backbone": z, "head": self.head(z)}


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
    in_dim = integer(in_dim, "in_dim", lo=1)
    out_dim = integer(out_dim, "d (the embedding dimension)", lo=2)
    if name == "linear":
        backbone: nn.Module = nn.Linear(in_dim, out_dim, bias=bias)
    else:
        hidden = integer(hidden, "hidden", lo=1)
        backbone = nn.Sequential(nn.Linear(in_dim, hidden, bias=bias), nn.ReLU(), nn.Linear(hidden, out_dim, bias=bias))
    proj = None
    if head is not None:
        head = integer(head, "head", lo=2)
        hh = out_dim if head_hidden is None else integer(head_hidden, "head_hidden", lo=1)
        proj = ProjectionHead(out_dim, head, hh, bias=bias)
    return Encoder(backbone, proj, out_dim, head_dim=head, name=name)
