r"""Mergeable moments of row blocks, and the covariance shrinkage they determine.

:class:`MomentAccumulator` holds float64 first, second and the fourth-order moments the Ledoit–Wolf intensity needs,
merged with the pairwise update of Chan, Golub & LeVeque (1979) and Pébay (2008); :func:`shrinkage_intensity` computes
scikit-learn's Ledoit–Wolf / OAS intensities from them; :func:`check_shrinkage` reads a user's shrinkage option,
:func:`auto_shrinkage` decides ``"auto"``, :func:`shrink` applies an intensity, and :func:`singular_message` /
:func:`shape_refusal` say what to change when a covariance is singular. Used by
:class:`infogauss.gaussian.GaussianModel`.

References: Chan, Golub & LeVeque, "Updating formulae and a pairwise algorithm for computing sample variances" (1979);
Pébay, Sandia report SAND2008-6212 (2008); Ledoit & Wolf, J. Multivar. Anal. 88 (2004); Chen, Wiesel, Eldar & Hero,
IEEE TSP 58 (2010).
"""

from __future__ import annotations

import numpy as np

from infogauss.errors import InputError
from infogauss.stats.validate import samples

SHRINKAGE_METHODS = ("ledoit-wolf", "oas")


class MomentAccumulator:
    r"""Mergeable float64 moments of a stream of ``(batch, d)`` row blocks.

    Holds, about the running mean :math:`m`: the count ``n``, the mean, the scatter matrix
    :math:`M_2 = \sum_i u_i u_i^\top` (:math:`u_i = x_i - m`), the vector :math:`T = \sum_i \lVert u_i\rVert^2 u_i`
    and the scalar :math:`Q = \sum_i \lVert u_i\rVert^4` (the last two only feed the Ledoit–Wolf intensity).
    :meth:`merge` recentres both operands on the pooled mean (Chan et al. 1979 for :math:`M_2`; the same shift
    identities, as in Pébay 2008, for :math:`T` and :math:`Q`), so batches of any sizes and any order give the
    in-memory result to rounding.
    """

    def __init__(self, dim: int | None = None):
        self.n = 0
        self.dim = dim
        self.mean = None if dim is None else np.zeros(dim)
        self.m2 = None if dim is None else np.zeros((dim, dim))
        self.t = None if dim is None else np.zeros(dim)
        self.q = 0.0

    def update(self, batch) -> MomentAccumulator:
        """Add the rows of ``batch`` (``(b, d)``, any real dtype, converted to float64); returns ``self``."""
        x = samples(batch, min_n=1, what="batch")
        if x.ndim != 2:
            raise InputError(f"batch: expected a 2-D (rows, dim) block, got shape {x.shape}")
        mean = x.mean(axis=0)
        u = x - mean
        a = np.einsum("ij,ij->i", u, u)
        other = MomentAccumulator()
        other.n, other.dim, other.mean = x.shape[0], x.shape[1], mean
        other.m2, other.t, other.q = u.T @ u, u.T @ a, float(a @ a)
        return self.merge(other)

    def merge(self, other: MomentAccumulator) -> MomentAccumulator:
        """Pool ``other`` into ``self`` (in place; ``other`` is unchanged); returns ``self``."""
        if other.n == 0:
            return self
        if self.n == 0:
            self.n, self.dim = other.n, other.dim
            self.mean, self.m2, self.t, self.q = other.mean.copy(), other.m2.copy(), other.t.copy(), other.q
            return self
        if other.dim != self.dim:
            raise InputError(f"batch: has {other.dim} columns but earlier batches had {self.dim}; use one dimension")
        n = self.n + other.n
        delta = other.mean - self.mean
        mean = self.mean + delta * (other.n / n)
        t = np.zeros(self.dim)
        q = 0.0
        for part in (self, other):
            shift = part.mean - mean  # recentre the part's moments from its own mean onto the pooled mean
            c = float(shift @ shift)
            tr = float(np.trace(part.m2))
            m2s = part.m2 @ shift
            t += part.t + 2.0 * m2s + (tr + part.n * c) * shift
            q += part.q + 4.0 * float(shift @ m2s) + part.n * c * c + 4.0 * float(part.t @ shift) + 2.0 * c * tr
        self.m2 = self.m2 + other.m2 + np.outer(delta, delta) * (self.n * other.n / n)
        self.n, self.mean, self.t, self.q = n, mean, t, q
        return self

    @property
    def covariance(self) -> np.ndarray:
        """Maximum-likelihood covariance :math:`M_2 / n` (symmetrised)."""
        if self.n == 0:
            raise InputError("no rows were accumulated; give at least one non-empty batch")
        s = self.m2 / self.n
        return (s + s.T) / 2.0


# ---------------------------------------------------------------------------------------------- shrinkage


def shrinkage_intensity(acc: MomentAccumulator, shrinkage) -> float:
    """Shrinkage intensity of ``shrinkage`` computed from moments — same formulas as scikit-learn 1.x.

    Ledoit–Wolf (``sklearn.covariance.ledoit_wolf_shrinkage``), with :math:`S` the MLE covariance and
    :math:`\\mu = \\operatorname{tr} S/d`: :math:`\\beta = (Q/n - \\lVert S\\rVert_F^2)/(d n)`,
    :math:`\\delta = \\lVert S - \\mu I\\rVert_F^2 / d`, intensity :math:`\\min(\\beta,\\delta)/\\delta`.
    OAS (``sklearn.covariance.OAS``): :math:`\\alpha = \\operatorname{mean}(S^2)`, intensity
    :math:`\\min\\{(\\alpha+\\mu^2)/((n+1)(\\alpha-\\mu^2/d)), 1\\}`.
    """
    if not isinstance(shrinkage, str):
        return float(shrinkage)
    s, n, d = acc.covariance, acc.n, acc.dim
    if d == 1:
        return 0.0  # scikit-learn: one feature, nothing to shrink
    mu = np.trace(s) / d
    if shrinkage == "oas":
        alpha = np.mean(s**2)
        den = (n + 1) * (alpha - mu**2 / d)
        return 1.0 if den == 0 else float(min((alpha + mu**2) / den, 1.0))
    frob = float(np.sum(s**2))
    beta = (acc.q / n - frob) / (d * n)
    delta = (frob - 2.0 * mu * np.trace(s) + d * mu**2) / d
    beta = min(beta, delta)
    return 0.0 if beta == 0 else float(beta / delta)


def check_shrinkage(shrinkage):
    if shrinkage is None or (isinstance(shrinkage, str) and shrinkage.lower() == "none"):
        return None
    if isinstance(shrinkage, str):
        key = shrinkage.lower().replace("_", "-")
        if key in ("ledoit-wolf", "lw", "ledoitwolf"):
            return "ledoit-wolf"
        if key in ("oas", "auto"):
            return key
        try:
            shrinkage = float(shrinkage)
        except ValueError:
            raise InputError(
                f"unknown shrinkage {shrinkage!r}; use none, ledoit-wolf, oas, auto or a number in [0, 1]"
            ) from None
    if isinstance(shrinkage, bool) or not isinstance(shrinkage, int | float | np.floating | np.integer):
        raise InputError(
            f"shrinkage must be None, 'ledoit-wolf', 'oas', 'auto' or a float in [0, 1], got {shrinkage!r}"
        )
    s = float(shrinkage)
    if not 0.0 <= s <= 1.0:
        raise InputError(f"shrinkage {s} is outside [0, 1]; use a number between 0 (none) and 1 (isotropic)")
    return s


def auto_shrinkage(fit, n: int, d: int):
    """``shrinkage="auto"``: ``fit(None)`` when ``n >= 2d`` and the covariance is non-singular, else
    ``fit("ledoit-wolf")``."""
    if n >= 2 * d:
        try:
            return fit(None)
        except InputError:  # singular: rank-deficient features, dead coordinates
            pass
    return fit("ledoit-wolf")


def shrink(s: np.ndarray, intensity: float) -> np.ndarray:
    r"""The shrunk covariance :math:`(1-a)\,S + a\,(\operatorname{tr} S / d)\, I` for intensity :math:`a`
    (scikit-learn's ``shrunk_covariance``, written out: scikit-learn is not a core dependency)."""
    if intensity == 0.0:
        return s.copy()
    out = (1.0 - intensity) * s
    out.flat[:: s.shape[0] + 1] += intensity * (np.trace(s) / s.shape[0])
    return out


# ---------------------------------------------------------------------------------------------- messages


def singular_message(rank, d, dead, n_samples, method, intensity) -> str:
    shown = ", ".join(str(i) for i in dead[:10]) + (" ..." if len(dead) > 10 else "")
    dead_txt = f"; dead (constant) coordinates: {shown}" if len(dead) else ""
    if method == "none":
        if len(dead):
            cause = " or drop the dead coordinates"
        elif n_samples is not None and n_samples <= d:
            cause = " or give more rows than dimensions"
        else:  # enough rows: the features themselves live in a subspace (e.g. a low-rank projection head)
            cause = f" or keep the top {rank} principal components"
        fix = "pass shrinkage='ledoit-wolf' or 'auto' (CLI: --shrinkage auto)" + cause
    elif method == "fixed" and intensity < 1.0:
        more = min(1.0, max(0.1, 2 * intensity))
        fix = f"pass a larger fixed shrinkage than {intensity:g}, e.g. shrinkage={more:g} (CLI: --shrinkage {more:g})"
    else:
        fix = "no shrinkage helps: the data have no spread to shrink toward; check the input"
    return f"covariance is singular (rank {rank} of {d}{dead_txt}); {fix}"


def shape_refusal(n: int, d: int) -> InputError:
    return InputError(
        f"covariance is singular (rank {n - 1} of {d} at most: {n} rows for {d} dimensions); pass "
        "shrinkage='ledoit-wolf' or 'auto' (CLI: --shrinkage auto) or give more rows than dimensions"
    )
