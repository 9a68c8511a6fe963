r"""SimCLR augmentations for batches of images on any device: parameters drawn per image, ops applied per batch.

Augmentations (paper §4.2, "standard SimCLR-style"; Chen et al. 2020), drawn independently for every image and
view, in torchvision's order:

1. ``RandomResizedCrop(32, scale=(0.2, 1.0), ratio=(3/4, 4/3))`` — torchvision's sampler (10 tries, then the
   whole image), bilinear resize of the integer pixel box;
2. ``RandomHorizontalFlip(p=0.5)``;
3. ``RandomApply([ColorJitter(0.8, 0.8, 0.8, 0.2)], p=0.8)`` — brightness, contrast, saturation factors
   :math:`\sim U[0.2, 1.8]`, hue shift :math:`\sim U[-0.2, 0.2]`, applied in a random order drawn per image
   (as torchvision does per call). The paper leaves the probability UNKNOWN; 0.8 is SimCLR's;
4. ``RandomGrayscale(p=0.2)`` (ITU-R 601 luma ``0.2989 R + 0.587 G + 0.114 B``, copied to three channels);
5. normalisation ``(x - mean) / std`` with the standard CIFAR-10 statistics :data:`MEAN`, :data:`STD` (the paper's
   constants are UNKNOWN).

Why not ``kornia.augmentation`` (0.9.0, installed): its ``ColorJitter`` draws *one* order of the four colour
operations per batch (torchvision: one per image, which this module keeps), and it draws from torch's global RNG
(no generator argument: reproducing or resuming a run would need ``torch.random.fork_rng`` around every call and
its state saved with the checkpoint). Speed is not the reason — ``benchmarks/bench_cifar.py`` measures both. The
ops here are torchvision's formulas on whole batches; ``tests/test_cifar.py`` checks them pixel for pixel
against ``torchvision.transforms.v2.functional`` with the same parameters.
Differences from the per-image PIL pipeline: colour operations work on float pixels without rounding to 8 bits
between steps, and crops are resized bilinearly in float (PIL rounds to uint8).

Where to change the strength: :class:`SimCLRAugment`'s fields, or from a training config the CIFAR source
parameters ``source.crop_scale=0.2,1.0 source.jitter=0.8,0.8,0.8,0.2 source.jitter_p=0.8 source.gray_p=0.2``
(:mod:`infogauss.data.images`; recorded in the run's ``config.json``).
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import NamedTuple

import torch
import torch.nn.functional as F

from infogauss.errors import InputError

__all__ = ["SimCLRAugment", "AugParams", "resized_crop", "grayscale", "adjust_hue", "color_jitter", "to_device"]


class AugParams(NamedTuple):
    """Per-image augmentation parameters (all leading dimension ``B``)."""

    top: torch.Tensor  # int64, crop box row
    left: torch.Tensor  # int64, crop box column
    height: torch.Tensor  # int64, crop box height (pixels)
    width: torch.Tensor  # int64, crop box width
    flip: torch.Tensor  # bool, horizontal flip
    jitter: torch.Tensor  # bool, colour jitter applied
    factors: torch.Tensor  # float32 (B, 4): brightness, contrast, saturation factors and hue shift
    order: torch.Tensor  # int64 (B, 4): permutation of (0 brightness, 1 contrast, 2 saturation, 3 hue)
    gray: torch.Tensor  # bool, converted to grayscale


@dataclass(frozen=True)
class SimCLRAugment:
    """The SimCLR augmentation of paper §4.2 for batches of float images in ``[0, 1]`` (see the module docstring).

    Set a probability to 0 to switch that step off (e.g. ``SimCLRAugment(jitter_p=0, gray_p=0)`` for crops and
    flips only). ``sample`` draws parameters with a ``torch.Generator``; ``apply`` applies them on the images'
    device, so the same parameters give the same images on any device (up to float rounding).
    """

    size: int = 32
    scale: tuple[float, float] = (0.2, 1.0)
    ratio: tuple[float, float] = (3 / 4, 4 / 3)
    flip_p: float = 0.5
    jitter: tuple[float, float, float, float] = (0.8, 0.8, 0.8, 0.2)  # brightness, contrast, saturation, hue
    jitter_p: float = 0.8
    gray_p: float = 0.2

    def __post_init__(self):
        lo, hi = self.scale
        if not 0 < lo <= hi <= 1:
            raise InputError(f"SimCLRAugment: scale must satisfy 0 < min <= max <= 1, got {self.scale}")
        if not 0 < self.ratio[0] <= self.ratio[1]:
            raise InputError(f"SimCLRAugment: ratio must satisfy 0 < min <= max, got {self.ratio}")
        for name in ("flip_p", "jitter_p", "gray_p"):
            if not 0 <= getattr(self, name) <= 1:
                raise InputError(f"SimCLRAugment: {name} must be in [0, 1], got {getattr(self, name)}")
        b, c, s, h = self.jitter
        if min(b, c, s) < 0 or not 0 <= h <= 0.5:
            raise InputError(
                f"SimCLRAugment: jitter needs brightness/contrast/saturation >= 0, 0 <= hue <= 0.5; got {self.jitter}"
            )
        if isinstance(self.size, bool) or not isinstance(self.size, int) or self.size < 1:
            raise InputError(f"SimCLRAugment: size must be a positive integer, got {self.size!r}")

    def sample(self, n: int, height: int, width: int, generator: torch.Generator | None = None) -> AugParams:
        """Draw parameters for ``n`` images of ``height × width`` pixels (on the CPU)."""
        g = generator
        area = height * width
        # RandomResizedCrop.get_params, vectorised over images and over its 10 tries.
        target = area * torch.empty(n, 10, dtype=torch.float64).uniform_(*self.scale, generator=g)
        log_r = torch.empty(n, 10, dtype=torch.float64).uniform_(
            math.log(self.ratio[0]), math.log(self.ratio[1]), generator=g
        )
        aspect = torch.exp(log_r)
        w = torch.round(torch.sqrt(target * aspect))
        h = torch.round(torch.sqrt(target / aspect))
        ok = (w > 0) & (w <= width) & (h > 0) & (h <= height)
        first = ok.to(torch.uint8).argmax(dim=1, keepdim=True)  # first successful try
        w = w.gather(1, first).squeeze(1).long()
        h = h.gather(1, first).squeeze(1).long()
        u_top = torch.rand(n, dtype=torch.float64, generator=g)
        u_left = torch.rand(n, dtype=torch.float64, generator=g)
        top = torch.floor(u_top * (height - h + 1)).long()
        left = torch.floor(u_left * (width - w + 1)).long()
        # After 10 failed tries torchvision takes a central crop with the aspect ratio clamped to `ratio`.
        fb_w, fb_h = _fallback_box(height, width, self.ratio)
        failed = ~ok.any(dim=1)
        h = torch.where(failed, fb_h, h)
        w = torch.where(failed, fb_w, w)
        top = torch.where(failed, (height - h) // 2, top)
        left = torch.where(failed, (width - w) // 2, left)

        flip = torch.rand(n, generator=g) < self.flip_p
        jit = torch.rand(n, generator=g) < self.jitter_p
        b, c, s, hue = self.jitter
        lo = torch.tensor([max(0.0, 1 - b), max(0.0, 1 - c), max(0.0, 1 - s), -hue])
        hi = torch.tensor([1 + b, 1 + c, 1 + s, hue])
        factors = lo + (hi - lo) * torch.rand(n, 4, generator=g)
        order = torch.rand(n, 4, generator=g).argsort(dim=1)  # a uniform random permutation per image
        gray = torch.rand(n, generator=g) < self.gray_p
        return AugParams(top, left, h, w, flip, jit, factors, order, gray)

    def apply(self, x: torch.Tensor, p: AugParams) -> torch.Tensor:
        """Augment float images ``x`` ``(B, 3, H, W)`` in ``[0, 1]`` with parameters ``p`` from :meth:`sample`.

        ``p`` stays on the CPU (it is sent to ``x.device`` in one copy, pinned and non-blocking for CUDA).
        Returns ``(B, 3, size, size)`` in ``[0, 1]`` (not normalised)."""
        jit, counts = _jitter_plan(p.factors, p.order, p.jitter)
        head = torch.stack([p.top, p.left, p.height, p.width, p.flip, p.gray]).to(torch.float32)
        d = to_device(torch.cat([head, jit]), x.device)  # (16, B); integers < 2**24 are exact in float32
        x = resized_crop(x, d[0], d[1], d[2], d[3], self.size, flip=d[4] > 0.5)
        if self.jitter_p > 0:
            x = _run_jitter(x, d[6:], counts)
        if self.gray_p > 0:
            x = torch.where(d[5, :, None, None, None] > 0.5, grayscale(x).expand_as(x), x)
        return x


def to_device(t: torch.Tensor, device: torch.device) -> torch.Tensor:
    if device.type == "cpu":
        return t
    if device.type == "cuda":
        t = t.pin_memory()
    return t.to(device, non_blocking=True)


def _fallback_box(height: int, width: int, ratio) -> tuple[torch.Tensor, torch.Tensor]:
    in_ratio = width / height
    if in_ratio < ratio[0]:
        w, h = width, int(round(width / ratio[0]))
    elif in_ratio > ratio[1]:
        h, w = height, int(round(height * ratio[1]))
    else:
        w, h = width, height
    return torch.tensor(w), torch.tensor(h)


def resized_crop(x, top, left, height, width, size: int, flip=None) -> torch.Tensor:
    """Crop box ``[top, top+height) × [left, left+width)`` of each image, resized bilinearly to ``size × size``.

    Equals ``torchvision.transforms.v2.functional.resized_crop(img, top, left, height, width, [size, size])``
    (bilinear, ``align_corners=False``; sample positions are clamped to the box, as resizing a cut-out box
    does) for every image, computed for the whole batch with one ``grid_sample``. ``flip`` (bool per image)
    mirrors the result horizontally.
    """
    _, _, H, W = x.shape
    dev = x.device
    u = torch.arange(size, device=dev, dtype=torch.float32) + 0.5  # output pixel centres
    top, left, height, width = (t.to(dev, torch.float32)[:, None] for t in (top, left, height, width))
    # Source pixel centres (pixel units), clamped to the box: interpolate(..., align_corners=False) of the cut-out.
    xs = torch.minimum(torch.maximum(left + u * (width / size) - 0.5, left), left + width - 1)
    ys = torch.minimum(torch.maximum(top + u * (height / size) - 0.5, top), top + height - 1)
    if flip is not None:
        xs = torch.where(flip.to(dev)[:, None], xs.flip(1), xs)
    gx = (2 * xs + 1) / W - 1  # grid_sample's normalised coordinates (align_corners=False)
    gy = (2 * ys + 1) / H - 1
    grid = torch.stack(torch.broadcast_tensors(gx[:, None, :], gy[:, :, None]), dim=-1)
    return F.grid_sample(x, grid.to(x.dtype), mode="bilinear", padding_mode="border", align_corners=False)


def grayscale(x: torch.Tensor) -> torch.Tensor:
    """Luma ``0.2989 R + 0.587 G + 0.114 B`` (torchvision's ``rgb_to_grayscale``), shape ``(B, 1, H, W)``."""
    return (0.2989 * x[:, 0:1] + 0.587 * x[:, 1:2] + 0.114 * x[:, 2:3]).to(x.dtype)


def _blend(x, other, f):
    """``clamp(f x + (1 - f) other, 0, 1)`` with ``f`` one factor per image (torchvision's ``_blend``)."""
    f = f[:, None, None, None]
    return (f * x + (1 - f) * other).clamp_(0, 1)


def adjust_hue(x: torch.Tensor, shift: torch.Tensor) -> torch.Tensor:
    """Rotate the hue of each image by ``shift`` turns (in ``[-0.5, 0.5]``), as ``torchvision``'s ``adjust_hue``.

    RGB -> HSV as torchvision computes it, then back with the closed form
    :math:`c_n = v - v s \\min(\\max(\\min(k_n, 4 - k_n), 0), 1)`, :math:`k_n = (n + 6h) \\bmod 6`, ``n = 5, 3, 1``
    for R, G, B (equal to the piecewise conversion).
    """
    r, g, b = x.unbind(dim=1)
    maxc, _ = x.max(dim=1)
    minc, _ = x.min(dim=1)
    cr = maxc - minc
    eqc = cr == 0
    s = cr / torch.where(eqc, torch.ones_like(maxc), maxc)
    crd = torch.where(eqc, torch.ones_like(cr), cr)
    rc, gc, bc = (maxc - r) / crd, (maxc - g) / crd, (maxc - b) / crd
    h = torch.where(maxc == r, bc - gc, torch.where(maxc == g, 2.0 + rc - bc, 4.0 + gc - rc))
    h = torch.remainder(h / 6.0 + shift[:, None, None], 1.0)
    n = torch.arange(5, 0, -2, device=x.device, dtype=x.dtype)[None, :, None, None]  # 5, 3, 1 (no host copy)
    k = torch.remainder(n + 6.0 * h[:, None], 6.0)
    m = torch.minimum(k, 4.0 - k).clamp(0, 1)
    v = maxc[:, None]
    return v - v * s[:, None] * m


def color_jitter(x: torch.Tensor, factors: torch.Tensor, order: torch.Tensor, mask: torch.Tensor) -> torch.Tensor:
    """``ColorJitter`` with per-image factors ``(B, 4)`` (brightness, contrast, saturation, hue shift) applied in
    the per-image ``order`` ``(B, 4)`` (0 brightness, 1 contrast, 2 saturation, 3 hue), only where ``mask``.

    ``x``: float images in ``[0, 1]`` on any device; ``factors``, ``order``, ``mask``: CPU tensors.
    Each image gets torchvision's ``adjust_brightness``, ``adjust_contrast``, ``adjust_saturation`` (a clamped blend
    with black, the mean grey level, the grey image) and ``adjust_hue`` (:func:`adjust_hue`) in its own order.
    """
    plan, counts = _jitter_plan(factors, order, mask)
    return _run_jitter(x, to_device(plan, x.device), counts)


def _jitter_plan(factors, order, mask) -> tuple[torch.Tensor, list[int]]:
    """Work out on the CPU what each of the 4 jitter steps does to each image (no device sync later).

    Rows of the returned ``(10, B)`` float tensor: operation at steps 0..3 (-1: none), blend factor at steps 0..3
    (1: identity), hue shift, images sorted by the step at which they get their hue shift; plus the number of
    images shifted at each step (and, last, without jitter).
    """
    op = torch.where(mask[:, None], order, -1)
    blend = (op >= 0) & (op <= 2)
    f = torch.where(blend, factors.gather(1, op.clamp(min=0)), torch.ones_like(factors))
    hue_step = torch.where(mask, (order == 3).to(torch.uint8).argmax(dim=1), 4)
    hue_sort = torch.argsort(hue_step, stable=True)
    counts = torch.bincount(hue_step, minlength=5).tolist()
    plan = torch.cat([op.T.to(torch.float32), f.T.to(torch.float32), factors[None, :, 3], hue_sort[None].float()])
    return plan, counts


def _run_jitter(x: torch.Tensor, plan: torch.Tensor, counts: list[int]) -> torch.Tensor:
    op, f, shift, hue_sort = plan[0:4].round().long(), plan[4:8], plan[8], plan[9].round().long()
    start = 0
    for k in range(4):
        # Brightness, contrast and saturation are one clamped blend with a per-image partner (factor 1: identity).
        kind = op[k][:, None, None, None]
        g = grayscale(x)
        other = torch.where(kind == 2, g, torch.where(kind == 1, g.mean(dim=(1, 2, 3), keepdim=True), 0.0))
        x = _blend(x, other, f[k])
        if counts[k]:  # hue only on the images whose step k is the hue shift
            idx = hue_sort[start : start + counts[k]]
            x.index_copy_(0, idx, adjust_hue(x.index_select(0, idx), shift.index_select(0, idx)))
        start += counts[k]
    return x
