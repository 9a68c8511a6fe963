r"""Image encoders for the CIFAR-10 experiments (paper §4.2): a two-layer MLP, CIFAR ResNets and small ViTs.

Every encoder is a :class:`VisionEncoder`, an :class:`infogauss.encoders.Encoder` (one base, one projection head
:class:`~infogauss.encoders.ProjectionHead` for synthetic and image encoders):

- ``embed(x)`` — the backbone representation :math:`z = f(x)` (unnormalised; what the paper's diagnostics test);
- ``project(x)`` — the projection head's output :math:`g(f(x))`, or ``embed(x)`` when there is no head;
- ``forward(x)`` — what the loss sees: ``project(x)`` (InfoNCE), or class logits when ``num_classes`` is set
  (the supervised baseline; the linear classifier sits on ``project(x)``);
- ``representations(x)`` — ``{"backbone": z, "head": g(z)}`` from one forward pass ("head" only with a head),
  for running the diagnostics on both.

Encoders (inputs: normalised ``(B, 3, 32, 32)`` images, see :mod:`infogauss.data.cifar`):

=============  ===================================================================  ==============  ==============
name           architecture                                                         ``width``       ``out_dim``
=============  ===================================================================  ==============  ==============
``mlp``        flatten 3072 → Linear(3072, width) → ReLU → Linear(width, out_dim)   512 (hidden)    128 (option)
``resnet18``   torchvision ResNet-18, CIFAR stem                                    64 (base)       8·width
``resnet34``   torchvision ResNet-34, CIFAR stem                                    64              8·width
``resnet50``   torchvision ResNet-50, CIFAR stem                                    64              32·width
``vit_tiny``   timm ViT, patch 4 on 32×32 (64 tokens + CLS), depth 12, CLS pooling  192 (embed)     width
``vit_small``  same, 384 wide (6 heads)                                             384             width
=============  ===================================================================  ==============  ==============

- **MLP**: "a two-layer MLP with a single ReLU" (paper §4.2); the paper gives no widths, so 512 hidden and 128
  out are assumptions (docs/paper-protocol.md §6.4), as are the biases.
- **CIFAR stem** (the paper does not say whether it used one — UNKNOWN): the 7×7 stride-2 first convolution
  becomes 3×3 stride 1 and the max-pool is removed, so 32×32 inputs keep a 4×4 map before the last pooling
  (He et al. 2016 §4.2; SimCLR's CIFAR setup). The rest is torchvision's ``ResNet`` (``BasicBlock`` /
  ``Bottleneck``, its initialisation: Kaiming-normal fan-out convolutions, BatchNorm weight 1 bias 0) with every
  stage's channel count scaled by ``width / 64`` (``width=16`` gives a 16× cheaper ResNet-18 for CPU runs) and
  the classifier ``fc`` removed: ``embed`` is the global-average-pooled last stage.
- **ViT**: ``timm``'s ``VisionTransformer`` created with ``pretrained=False`` (random init, nothing downloaded),
  patch 4, ``num_heads = width / 64``; ``embed`` is the final-norm CLS token.
- **Projection head** (``head_dim``): SimCLR's ``Linear(out_dim, head_hidden) → ReLU → Linear(head_hidden,
  head_dim)`` with ``head_hidden = out_dim`` by default (Chen et al. 2020).

Speed and precision: ResNets are put in ``torch.channels_last`` memory format by default (``channels_last=``),
which makes convolutions faster on GPUs, particularly under autocast; feed them channels-last batches
(``CifarViews(..., channels_last=True)``) to avoid a conversion per layer — NCHW inputs still work. Every encoder
runs under ``torch.autocast(device_type, dtype=torch.bfloat16)``: convolutions, linear layers and attention then
compute in bf16 (fp32 accumulation), BatchNorm/LayerNorm statistics stay in fp32, and the outputs come back as
bf16 — about 3 significant digits (the ViT's ``embed`` comes out of its final LayerNorm as fp32, but is computed
from bf16 activations). Gaussianity tests are sensitive to such rounding (ties, a grid of values), so
compute the representations you test outside autocast, in fp32; train under autocast if you like.

Example::

    >>> enc = make_vision_encoder("resnet18", head_dim=128)
    >>> z = enc(torch.randn(2, 3, 32, 32))                 # what InfoNCE sees
    >>> reps = enc.representations(torch.randn(2, 3, 32, 32))
    >>> reps["backbone"].shape, reps["head"].shape
    (torch.Size([2, 512]), torch.Size([2, 128]))
"""

from __future__ import annotations

import torch
from torch import nn
from torchvision.models.resnet import BasicBlock, Bottleneck, ResNet

from infogauss.checks import integer
from infogauss.encoders import Encoder, ProjectionHead
from infogauss.errors import InputError

__all__ = ["VISION_ENCODERS", "VisionEncoder", "make_vision_encoder", "CifarResNet"]

VISION_ENCODERS = ("mlp", "resnet18", "resnet34", "resnet50", "vit_tiny", "vit_small")
DEFAULT_WIDTH = {"mlp": 512, "resnet18": 64, "resnet34": 64, "resnet50": 64, "vit_tiny": 192, "vit_small": 384}
_TIMM_NAME = {"vit_tiny": "vit_tiny_patch16_224", "vit_small": "vit_small_patch16_224"}


class VisionEncoder(Encoder):
    """An image :class:`~infogauss.encoders.Encoder`: ``backbone`` + optional projection ``head`` + optional linear
    ``classifier``; images are not flattened (the MLP's backbone flattens them itself)."""

    def __init__(
        self,
        backbone: nn.Module,
        out_dim: int,
        head: nn.Module | None = None,
        head_dim: int | None = None,
        classifier: nn.Module | None = None,
        name: str = "",
    ):
        super().__init__(backbone, head, out_dim, classifier=classifier, head_dim=head_dim, name=name, flatten=False)


def make_vision_encoder(
    name: str,
    *,
    width: int | None = None,
    head_dim: int | None = None,
    num_classes: int | None = None,
    head_hidden: int | None = None,
    out_dim: int | None = None,
    channels_last: bool = True,
) -> VisionEncoder:
    """Build image encoder ``name`` (one of :data:`VISION_ENCODERS`; table in the module docstring).

    Args:
        name: ``"mlp"``, ``"resnet18"``, ``"resnet34"``, ``"resnet50"``, ``"vit_tiny"`` or ``"vit_small"``.
        width: MLP hidden width (default 512); ResNet base channel count (default 64, the standard ResNet;
            every stage scales with it); ViT embedding dimension (default 192 / 384, a multiple of 64).
        head_dim: add a SimCLR projection head with this output dimension (default: none).
        num_classes: add a linear classifier on ``project(x)`` for the supervised baseline; ``forward`` then
            returns logits.
        head_hidden: hidden width of the projection head (default: ``out_dim``, as SimCLR).
        out_dim: MLP only — the representation dimension (default 128).
        channels_last: store ResNet weights in ``torch.channels_last`` (ignored for the MLP and ViTs).
    """
    if name not in VISION_ENCODERS:
        raise InputError(f"unknown vision encoder {name!r}; choose from {', '.join(VISION_ENCODERS)}")
    width = DEFAULT_WIDTH[name] if width is None else integer(width, "width", lo=1)
    if out_dim is not None and name != "mlp":
        raise InputError(f"out_dim only applies to the mlp encoder; {name}'s dimension follows from width")
    if name == "mlp":
        dim = 128 if out_dim is None else integer(out_dim, "out_dim", lo=2)
        backbone: nn.Module = nn.Sequential(
            nn.Flatten(1), nn.Linear(3 * 32 * 32, width), nn.ReLU(inplace=True), nn.Linear(width, dim)
        )
    elif name.startswith("resnet"):
        backbone = CifarResNet(name, width)
        dim = backbone.out_dim
        if channels_last:
            backbone = backbone.to(memory_format=torch.channels_last)
    else:
        if width % 64:
            raise InputError(f"{name}: width (the embedding dimension) must be a multiple of 64, got {width}")
        import timm

        backbone = timm.create_model(
            _TIMM_NAME[name],
            pretrained=False,
            img_size=32,
            patch_size=4,
            embed_dim=width,
            num_heads=width // 64,
            num_classes=0,
        )
        dim = backbone.num_features
    head = None
    if head_dim is not None:
        head_dim = integer(head_dim, "head_dim", lo=2)
        hidden = dim if head_hidden is None else integer(head_hidden, "head_hidden", lo=1)
        head = ProjectionHead(dim, head_dim, hidden)
    elif head_hidden is not None:
        raise InputError("head_hidden needs head_dim (the projection head's output dimension)")
    classifier = None
    if num_classes is not None:
        classifier = nn.Linear(dim if head_dim is None else head_dim, integer(num_classes, "num_classes", lo=2))
    return VisionEncoder(backbone, dim, head, head_dim, classifier, name=name)


_RESNETS = {
    "resnet18": (BasicBlock, [2, 2, 2, 2]),
    "resnet34": (BasicBlock, [3, 4, 6, 3]),
    "resnet50": (Bottleneck, [3, 4, 6, 3]),
}


class CifarResNet(ResNet):
    """torchvision's ``ResNet`` with the CIFAR stem, stage widths ``width·(1, 2, 4, 8)`` and no classifier.

    ``forward(x)`` returns the pooled features ``(B, out_dim)``, ``out_dim = 8·width·expansion``. Built from
    torchvision's blocks and ``_make_layer``; ``ResNet.__init__`` is not called because it fixes the stage widths
    at 64..512 — this constructor is that one with 64 replaced by ``width`` and the CIFAR stem.
    """

    def __init__(self, name: str = "resnet18", width: int = 64):
        nn.Module.__init__(self)
        block, layers = _RESNETS[name]
        self._norm_layer = nn.BatchNorm2d
        self.inplanes, self.dilation, self.groups, self.base_width = width, 1, 1, 64
        self.conv1 = nn.Conv2d(3, width, kernel_size=3, stride=1, padding=1, bias=False)  # CIFAR stem
        self.bn1 = nn.BatchNorm2d(width)
        self.relu = nn.ReLU(inplace=True)
        self.maxpool = nn.Identity()  # CIFAR stem: no max-pool
        self.layer1 = self._make_layer(block, width, layers[0])
        self.layer2 = self._make_layer(block, 2 * width, layers[1], stride=2)
        self.layer3 = self._make_layer(block, 4 * width, layers[2], stride=2)
        self.layer4 = self._make_layer(block, 8 * width, layers[3], stride=2)
        self.avgpool = nn.AdaptiveAvgPool2d((1, 1))
        self.fc = nn.Identity()
        self.out_dim = 8 * width * block.expansion
        self.width = width
        for m in self.modules():  # torchvision's initialisation
            if isinstance(m, nn.Conv2d):
                nn.init.kaiming_normal_(m.weight, mode="fan_out", nonlinearity="relu")
            elif isinstance(m, nn.BatchNorm2d):
                nn.init.constant_(m.weight, 1)
                nn.init.constant_(m.bias, 0)
