"""Geometry of an embedding cloud: norms, alignment/uniformity, the uniformity potential Φ, spectra.

Embeddings are ``(n, d)`` arrays, rows = samples. Each function takes numpy or torch. Torch input is computed in
torch on its own device and dtype and stays differentiable (the training code reuses these as loss monitors);
numpy input is computed in float64 and returns floats / numpy arrays. "Normalised rows" means
``û = u / max(||u||, 1e-12)`` (as ``torch.nn.functional.normalize``: an all-zero row stays zero). numpy input never
imports torch (``infogauss.stats.backend``).

References: Wang & Isola, "Understanding contrastive representation learning through alignment and uniformity
on the hypersphere", ICML 2020; Roy & Vetterli, "The effective rank", EUSIPCO 2007; Betser et al., "InfoNCE
induces Gaussian distribution", ICLR 2026 (Eqs. 4, 6, 20).
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np

from infogauss.errors import InputError
from infogauss.stats.backend import as_matrix, strips


def norm_cv(z):
    """Coefficient of variation of the row norms (paper Eq. 20): ``CV = std_i ||z_i|| / mean_i ||z_i||``.

    Population std (``ddof=0``). Use unnormalised embeddings: a small CV means a thin shell (Assumption 2).
    """
    t, ops = as_matrix(z)
    r = ops.row_norms(t)
    return ops.out(ops.std0(r) / r.mean())


def mean_norm(z):
    """Mean row norm ``mean_i ||z_i||`` (the radius r₀ of the thin shell, paper Eq. 9)."""
    t, ops = as_matrix(z)
    return ops.out(ops.row_norms(t).mean())


def alignment(u, v, alpha=2):
    """Alignment loss of Wang & Isola (2020): ``E ||û_i - v̂_i||^alpha`` over positive pairs (rows i of u, v).

    On the sphere ``||û - v̂||² = 2 - 2 û·v̂``, so with ``alpha=2`` this is ``2 - 2 E[u·v]`` (paper Eq. 4, 6).
    """
    a, ops = as_matrix(u, "u")
    b, _ = as_matrix(v, "v", device=a.device if ops.torch else None)
    if a.shape != b.shape:
        raise InputError(f"u and v must have the same shape (positive pairs in rows), got {a.shape} and {b.shape}")
    d = ops.normalize(a) - ops.normalize(b.to(a.dtype) if ops.torch else b)
    return ops.out((ops.row_norms(d) ** alpha).mean())


def uniformity(u, t=2, *, block=1024):
    """Uniformity loss of Wang & Isola (2020): ``log mean_{i≠j} exp(-t ||û_i - û_j||²)``.

    Computed over the pairs i<j (the mean over i≠j is the same) as a log-sum-exp in row strips of ``block``
    rows, so the forward pass holds O(n·block) numbers rather than n² (autograd still keeps every strip for
    the backward pass). Its minimum over laws on the sphere is reached by the uniform law σ, where it equals
    ``-2t + Φ_{2t}(σ)`` (see :func:`uniformity_potential`).
    """
    x, ops = as_matrix(u, "u")
    x = ops.normalize(x)
    n = x.shape[0]
    parts = []
    for i0, i1 in strips(n - 1, block):  # rows i0..i1-1 against columns j > i
        sq = ops.clip(2 - 2 * x[i0:i1] @ x[i0 + 1 :].T, 0, None)
        keep = ops.upper(sq.shape, x)  # column c is j = i0+1+c > i
        parts.append(ops.logsumexp(ops.where(keep, -t * sq, -math.inf)))
    return ops.out(ops.logsumexp(ops.cat(parts)) - math.log(n * (n - 1) / 2))


def uniformity_potential(u, alpha, *, block=1024):
    """Uniformity potential Φ of the paper (Eq. 4): ``Φ(μ) = E_u log E_v exp(alpha u·v)``, u, v ~ μ independent.

    Empirical estimate on normalised rows: ``mean_i log( 1/(n-1) Σ_{j≠i} exp(alpha û_i·û_j) )``. The i=j term
    is left out because v must be drawn independently of u: keeping it adds ``e^alpha / n`` inside the log,
    which dominates at the usual alpha = 1/τ ≈ 10-20 (e^10/1000 ≈ 22 against a typical value ~1).

    Reference value for the uniform law σ on S^{d-1} (the minimiser): by rotation invariance
    ``Φ(σ) = log E exp(alpha t)`` with t = u·v of density ∝ (1-t²)^{(d-3)/2}, i.e. the von Mises-Fisher
    normaliser ``Φ(σ) = log[Γ(ν+1) (2/alpha)^ν I_ν(alpha)]``, ν = d/2 - 1; for large d, t ≈ N(0, 1/d) and
    ``Φ(σ) ≈ alpha² / (2d)``. Row strips of ``block`` rows keep memory at O(n·block).
    """
    x, ops = as_matrix(u, "u")
    x = ops.normalize(x)
    n = x.shape[0]
    rows = []
    for i0, i1 in strips(n, block):
        s = alpha * (x[i0:i1] @ x.T)
        s = ops.where(ops.upper(s.shape, x, i0) & ~ops.upper(s.shape, x, i0 + 1), -math.inf, s)  # j = i left out
        rows.append(ops.logsumexp(s, axis=1))
    return ops.out(ops.cat(rows).mean() - math.log(n - 1))


def mean_embedding_norm(u):
    """``||m(μ)||`` with ``m = mean_i û_i`` on normalised rows (paper Prop. 1, Eq. 6).

    0 for the uniform law σ; the estimate has ``E||m̂||² = ||m||² + (1 - ||m||²)/n``, so it is ≈ 1/√n at σ.
    """
    x, ops = as_matrix(u, "u")
    return ops.out(ops.row_norms(ops.normalize(x).mean(axis=0)[None, :])[0])


@dataclass(frozen=True)
class CosineStats:
    """Summary of a set of cosine similarities. ``sample``: values for a histogram (all, or a seeded subsample)."""

    mean: float
    std: float
    quantiles: dict
    sample: np.ndarray
    count: int  # number of pairs summarised by mean and std


@dataclass(frozen=True)
class CosineSummary:
    positive: CosineStats | None  # cos(z1_i, z2_i); None without z2
    negative: CosineStats  # cos(z1_i, z2_j) (or cos(z1_i, z1_j) without z2), i ≠ j


def cosine_summary(z1, z2=None, *, quantiles=(0.01, 0.05, 0.25, 0.5, 0.75, 0.95, 0.99), max_pairs=100_000, seed=0):
    """Cosine-similarity statistics of positive pairs (row i of z1 with row i of z2) and negative pairs (i≠j).

    Negative pairs are ``(z1_i, z2_j)`` when z2 is given (the negatives of InfoNCE), else ``(z1_i, z1_j)``.
    Mean and std (ddof=0) over all n(n-1) negative pairs are exact in O(n d²) from
    ``Σ_{i≠j} a_i·b_j = (Σa)·(Σb) - Σ a_i·b_i`` and ``Σ_{i≠j} (a_i·b_j)² = Σ (AᵀA ∘ BᵀB) - Σ (a_i·b_i)²``.
    Quantiles and ``sample`` use all pairs when there are at most ``max_pairs``, otherwise ``max_pairs``
    pairs drawn uniformly (with ``seed``). These are reports: the result is plain floats / numpy.
    Used for the alignment/uniformity histograms of the paper (Fig. 2, App. Figs. 7-8).
    """
    a, ops = as_matrix(z1, "z1", float64=True)  # float64: the std comes from E[c²] - E[c]²
    a = ops.normalize(a.detach() if ops.torch else a)
    b = a
    if z2 is not None:
        b, _ = as_matrix(z2, "z2", device=a.device if ops.torch else None, float64=True)
        b = ops.normalize(b.detach() if ops.torch else b)
        if b.shape != a.shape:
            raise InputError(f"z1 and z2 must have the same shape (pairs in rows), got {a.shape} and {b.shape}")
    n = a.shape[0]
    rng = np.random.default_rng(seed)

    def stats(values, mean, second, count):
        v = np.asarray(ops.to_numpy(values), dtype=np.float64)
        qs = np.quantile(v, quantiles)
        return CosineStats(
            float(mean),
            math.sqrt(max(float(second - mean**2), 0.0)),
            dict(zip(quantiles, qs.tolist(), strict=True)),
            v,
            count,
        )

    positive = None
    diag = (a * b).sum(axis=1)
    if z2 is not None:
        pick = diag if n <= max_pairs else diag[ops.from_numpy(rng.permutation(n)[:max_pairs], a)]
        positive = stats(pick, diag.mean(), (diag**2).mean(), n)
    m = n * (n - 1)
    mean = ((a.sum(axis=0) @ b.sum(axis=0)) - diag.sum()) / m
    second = (((a.T @ a) * (b.T @ b)).sum() - (diag**2).sum()) / m
    if m <= max_pairs:
        i, j = np.nonzero(~np.eye(n, dtype=bool))
    else:
        i = rng.integers(n, size=max_pairs)
        j = (i + 1 + rng.integers(n - 1, size=max_pairs)) % n  # uniform over j ≠ i
    i, j = ops.from_numpy(i, a), ops.from_numpy(j, a)
    negative = stats((a[i] * b[j]).sum(axis=1), mean, second, m)
    return CosineSummary(positive, negative)


def covariance_spectrum(z):
    """Eigenvalues of the sample covariance ``(Z - z̄)ᵀ(Z - z̄) / (n-1)``, in descending order (length d)."""
    t, ops = as_matrix(z)
    c = t - t.mean(axis=0)
    return ops.out(ops.flip(ops.eigvalsh(c.T @ c / (t.shape[0] - 1))))


def effective_rank(z, *, center=True):
    """Entropy effective rank of Roy & Vetterli (2007): ``erank = exp(-Σ_k p_k log p_k)``, ``p_k = s_k / Σ s``.

    ``s_k`` are the singular values of the (column-centred, by default) data matrix, i.e. ``s_k ∝ √λ_k`` of
    the covariance. 1 ≤ erank ≤ min(n, d); equals r for r equal nonzero singular values; ≈ d for an isotropic
    Gaussian with n ≫ d. ``center=False`` gives RankMe (Garrido et al. 2023) on the raw embeddings.
    """
    t, ops = as_matrix(z)
    s = ops.svdvals(t - t.mean(axis=0) if center else t)
    p = s / s.sum()
    return ops.out(ops.exp(-ops.xlogy(p, p).sum()))
