"""Monte-Carlo (parametric bootstrap) null of an affine-invariant multivariate statistic, cached by (n, d).

Mardia's and Henze-Zirkler's statistics are invariant under x -> A x + b (A invertible), so under the null their law
depends on (n, d) only: simulating N(0, I_d) samples of size n gives their exact null law, whatever the mean and
covariance of the data. A p-value ``(1 + #{T* >= T}) / (R + 1)`` from R such simulations is exact (its level is at
most α for every α; equal to α when (R + 1)α is an integer), the usual Monte-Carlo test (Barnard 1963; Davison &
Hinkley 1997, §4.2).
"""

from __future__ import annotations

import functools

import numpy as np

from infogauss.constants import NULL_SEED

N_RESAMPLES = 999  # (R + 1)·α is an integer at α = 0.05, 0.01, 0.001: the Monte-Carlo test's level is exact there
BUDGET = 2 * 10**10  # method="auto" simulates when n_resamples x (multiply-adds of one evaluation) <= this (~10 s)
BATCH_ELEMENTS = 1 << 22  # numbers in one batch's largest temporary (n·n or n·d² per sample): 32 MiB of float64
BATCH_MAX_N = 100  # batched only up to this n (measured: 40x faster at n = 8, 2x at 50, none at 200)


@functools.lru_cache(maxsize=64)
def null_draws(core, n: int, d: int, n_resamples: int = N_RESAMPLES, seed: int = NULL_SEED, batched=None) -> np.ndarray:
    """``core(x)`` (a tuple of floats) on ``n_resamples`` seeded N(0, I_d) samples of shape (n, d): array (R, k).

    ``batched(xs)``, if given, computes ``core`` of a stack ``xs`` (c, n, d) at once, returning (c, k); it is used
    for small samples (n <= :data:`BATCH_MAX_N`), where a Python call per sample would cost more than its work.
    The samples are the same either way (one seeded stream, drawn in order), the draws equal to rounding (tested).
    """
    rng = np.random.default_rng([seed, n, d])
    reps = int(n_resamples)
    if batched is None or n > BATCH_MAX_N:
        return np.array([core(rng.standard_normal((n, d))) for _ in range(reps)], dtype=np.float64)
    step = max(1, BATCH_ELEMENTS // (n * max(n, d * d)))
    parts = [batched(rng.standard_normal((min(step, reps - r0), n, d))) for r0 in range(0, reps, step)]
    return np.concatenate(parts).astype(np.float64)


def upper_pvalue(stat: float, draws: np.ndarray) -> float:
    """``(1 + #{draws >= stat}) / (R + 1)``."""
    return float((1 + np.count_nonzero(draws >= stat)) / (draws.size + 1))


def two_sided_pvalue(stat: float, draws: np.ndarray) -> float:
    """Twice the smaller Monte-Carlo tail, at most 1."""
    lower = (1 + np.count_nonzero(draws <= stat)) / (draws.size + 1)
    return float(min(1.0, 2 * min(lower, upper_pvalue(stat, draws))))


def auto_method(name: str, n: int, d: int, off: bool, flops: float, n_resamples: int) -> str:
    """``"monte-carlo"`` where the asymptotic law is ``off`` and ``n_resamples · flops <= BUDGET``, else
    ``"asymptotic"`` (with a warning when it is off but too costly to simulate)."""
    if not off:
        return "asymptotic"
    if n_resamples * flops <= BUDGET:
        return "monte-carlo"
    import warnings

    warnings.warn(
        f"{name}: the asymptotic p-value's size is off at n={n}, d={d} (see the docstring's table) and a Monte-Carlo "
        f"null would take ~{n_resamples * flops:.1e} operations; pass method='monte-carlo' to simulate it anyway",
        stacklevel=3,
    )
    return "asymptotic"
