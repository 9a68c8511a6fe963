"""The few array operations the geometry, combination and multivariate statistics need, for numpy and for torch.

numpy input is computed with numpy (torch is never imported); torch input, or any input with ``device=``, with torch
on that device (differentiable where the statistic is). Each statistic is written once against these operations.
"""

from __future__ import annotations

import numpy as np

from infogauss.errors import InputError
from infogauss.stats.validate import is_torch, samples, samples_torch


class NumpyOps:
    """numpy float64."""

    torch = False

    @staticmethod
    def normalize(x):  # as torch.nn.functional.normalize: x / max(||x||, 1e-12), an all-zero row stays zero
        return x / np.maximum(np.sqrt(np.einsum("ij,ij->i", x, x))[:, None], 1e-12)

    @staticmethod
    def row_norms(x):
        return np.sqrt(np.einsum("ij,ij->i", x, x))

    @staticmethod
    def std0(r):
        return r.std()

    @staticmethod
    def logsumexp(x, axis=None):
        from scipy.special import logsumexp

        return np.asarray(logsumexp(x, axis=axis))

    @staticmethod
    def upper(shape, like, k=0):
        return np.triu(np.ones(shape, dtype=bool), k)

    @staticmethod
    def cat(parts):
        return np.concatenate([np.atleast_1d(p) for p in parts])

    eigh = staticmethod(np.linalg.eigh)
    eigvalsh = staticmethod(np.linalg.eigvalsh)
    where = staticmethod(np.where)
    clip = staticmethod(np.clip)
    exp = staticmethod(np.exp)
    sqrt = staticmethod(np.sqrt)

    @staticmethod
    def exp_(g):
        return np.exp(g, out=g)

    @staticmethod
    def svdvals(x):
        return np.linalg.svd(x, compute_uv=False)

    @staticmethod
    def flip(a):
        return a[::-1].copy()

    @staticmethod
    def xlogy(a, b):
        from scipy.special import xlogy

        return xlogy(a, b)

    @staticmethod
    def logdet(s):
        return np.linalg.slogdet(s)[1]

    @staticmethod
    def from_numpy(a, like):
        return a

    @staticmethod
    def to_numpy(t):
        return np.asarray(t)

    @staticmethod
    def out(t):
        """numpy results: a float for a scalar, else a numpy array."""
        t = np.asarray(t)
        return float(t) if t.ndim == 0 else t


class TorchOps:
    """torch, on the input's device and dtype."""

    torch = True

    def __init__(self):
        import torch

        self.t = torch
        self.eigh, self.eigvalsh, self.where, self.clip = (
            torch.linalg.eigh,
            torch.linalg.eigvalsh,
            torch.where,
            torch.clip,
        )
        self.exp, self.sqrt, self.svdvals, self.xlogy = torch.exp, torch.sqrt, torch.linalg.svdvals, torch.special.xlogy

    def normalize(self, x):
        return self.t.nn.functional.normalize(x, dim=1)

    @staticmethod
    def row_norms(x):
        return x.norm(dim=1)

    @staticmethod
    def std0(r):
        return r.std(correction=0)

    def logsumexp(self, x, axis=None):
        return self.t.logsumexp(x.flatten(), 0) if axis is None else self.t.logsumexp(x, axis)

    def upper(self, shape, like, k=0):
        return self.t.ones(shape, dtype=self.t.bool, device=like.device).triu(k)

    def cat(self, parts):
        return self.t.cat([p.reshape(-1) for p in parts])

    @staticmethod
    def exp_(g):
        return g.exp_()

    @staticmethod
    def flip(a):
        return a.flip(0)

    def logdet(self, s):
        return self.t.linalg.slogdet(s)[1]

    def from_numpy(self, a, like):
        return self.t.from_numpy(np.ascontiguousarray(a)).to(like.device)

    @staticmethod
    def to_numpy(t):
        return t.detach().cpu().numpy()

    @staticmethod
    def out(t):
        return t


NUMPY = NumpyOps()


def as_matrix(x, what="z", min_n=2, device=None, float64=False):
    """``(array (n, d), ops)``: numpy in (no ``device``) -> float64 numpy and :class:`NumpyOps`; torch in, or a
    ``device``, -> a tensor (its floating dtype kept unless ``float64``) and :class:`TorchOps`."""
    if device is None and not is_torch(x):
        a = samples(x, 0, min_n, what)
        ops = NUMPY
    else:
        keep = is_torch(x) and not float64 and x.is_floating_point()
        import torch

        a = samples_torch(x, min_n=min_n, what=what, device=device, dtype=x.dtype if keep else torch.float64)
        ops = TorchOps()
    if a.ndim != 2:
        raise InputError(f"{what}: expected a 2-D (n, d) array with samples in rows, got shape {tuple(a.shape)}")
    return a, ops


def strips(n, block):
    """Row ranges ``(i0, i1)`` of at most ``block`` rows covering ``range(n)``."""
    if int(block) < 1:
        raise InputError(f"block must be a positive integer, got {block}")
    return ((i, min(i + int(block), n)) for i in range(0, n, int(block)))
