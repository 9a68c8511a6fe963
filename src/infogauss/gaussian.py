r"""Use: a Gaussian model of embeddings — likelihood, Mahalanobis distance, whitening, entropy, KL, sampling.

The paper (§5) argues that InfoNCE representations are close to Gaussian, which makes closed-form density
quantities available. :class:`GaussianModel` is that model, fitted by maximum likelihood (optionally with
covariance shrinkage) and decomposed once, at fit time, as :math:`\Sigma = V \Lambda V^\top` (``numpy.linalg.eigh``,
float64). Every quantity below is computed from ``(mu, V, Lambda)``:

- whitening as in Whitened CLIP (Betser, Levi & Gilboa 2025; paper §5.1), row-vector convention:
  :math:`y = (x - \mu)\, V \Lambda^{-1/2}` — on the fitting set ``y`` has zero mean and identity covariance;
- squared Mahalanobis distance :math:`m^2(x) = (x-\mu)^\top \Sigma^{-1} (x-\mu) = \lVert y \rVert^2`;
- log-density :math:`\log p(x) = -\tfrac12\,(d \log 2\pi + \log\lvert\Sigma\rvert + m^2(x))`;
- differential entropy :math:`H = \tfrac12\,(d \log 2\pi e + \log\lvert\Sigma\rvert)` (nats);
- :math:`\mathrm{KL}(p_1 \Vert p_2) = \tfrac12\,[\operatorname{tr}(\Sigma_2^{-1}\Sigma_1)
  + (\mu_2-\mu_1)^\top \Sigma_2^{-1}(\mu_2-\mu_1) - d + \log\lvert\Sigma_2\rvert - \log\lvert\Sigma_1\rvert]`.

Covariance estimates (all divide by ``n``, like ``sklearn.covariance.EmpiricalCovariance``):

- ``shrinkage=None``: the maximum-likelihood covariance :math:`S`; a singular :math:`S` (fewer samples than
  dimensions, collinear or constant "dead" coordinates) is an :class:`~infogauss.errors.InputError`;
- ``"ledoit-wolf"`` / ``"oas"``: scikit-learn's ``LedoitWolf`` / ``OAS`` (Ledoit & Wolf 2004; Chen et al. 2010);
- a float :math:`s \in [0, 1]`: :math:`(1-s)\,S + s\,(\operatorname{tr} S / d)\, I`.

Data larger than memory: :meth:`GaussianModel.fit_stream` (or a :class:`MomentAccumulator`) accumulates mergeable
first, second and the fourth-order moments the Ledoit–Wolf intensity needs, in float64, with the pairwise update
of Chan, Golub & LeVeque (1979) and Pébay (2008); it gives the in-memory model to rounding.

Example::

    >>> import numpy as np
    >>> Z = np.random.default_rng(0).normal(size=(1000, 8))
    >>> g = GaussianModel.fit(Z, shrinkage="ledoit-wolf")
    >>> Y = g.whiten(Z)                       # zero mean, identity covariance
    >>> ll = g.log_likelihood(Z)              # one value per row, nats
    >>> g.save("model.npz"); g2 = GaussianModel.load("model.npz")   # doctest: +SKIP

References: Mahalanobis (1936); Ledoit & Wolf, J. Multivar. Anal. 88 (2004); Chen, Wiesel, Eldar & Hero,
IEEE TSP 58 (2010); Chan, Golub & LeVeque, "Updating formulae and a pairwise algorithm for computing sample
variances" (1979); Pébay, Sandia report SAND2008-6212 (2008); Betser, Levi & Gilboa, "Whitened CLIP as a likelihood
surrogate of images and captions", ICML 2025.
"""

from __future__ import annotations

import argparse
import math
import sys
from collections.abc import Iterable
from pathlib import Path

import numpy as np

from infogauss.errors import InputError
from infogauss.outputs import atomic_write
from infogauss.stats._validate import constant_columns, samples

FORMAT = "infogauss.GaussianModel/1"
SHRINKAGE_METHODS = ("ledoit-wolf", "oas")
BLOCK_BYTES = 64 * 2**20  # float64 bytes per row block when the CLI streams a memory-mapped file
_LOG_2PI = math.log(2.0 * math.pi)


# ---------------------------------------------------------------------------------------------- moments


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


def _shrinkage_from_moments(acc: MomentAccumulator, shrinkage) -> float:
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


def _check_shrinkage(shrinkage):
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


def _dead_coordinates(mean: np.ndarray, variances: np.ndarray) -> np.ndarray:
    """Indices of (numerically) constant coordinates: :func:`infogauss.stats._validate.constant_columns` on the
    standard deviations (variance below ``d * eps * max_k var_k``, or std below ``DEAD_RTOL * max_k |mean_k|``)."""
    return constant_columns(np.sqrt(np.clip(np.asarray(variances, dtype=np.float64), 0.0, None)), mean)


def dead_coordinates(Z) -> np.ndarray:
    """Indices of the (numerically) constant columns of ``Z`` (``(n, d)``): the ones that make an unshrunk
    covariance singular on their own. Drop them (``Z[:, np.setdiff1d(np.arange(d), dead)]``) or fit with shrinkage."""
    x = samples(Z, min_n=2, what="Z")
    if x.ndim != 2:
        raise InputError(f"Z: expected a 2-D (n_samples, dim) array, got shape {x.shape}")
    return _dead_coordinates(x.mean(axis=0), x.var(axis=0))


def _auto(fit, n: int, d: int):
    """``shrinkage="auto"``: ``fit(None)`` when ``n >= 2d`` and the covariance is non-singular, else
    ``fit("ledoit-wolf")``."""
    if n >= 2 * d:
        try:
            return fit(None)
        except InputError:  # singular: rank-deficient features, dead coordinates
            pass
    return fit("ledoit-wolf")


def _shrink(s: np.ndarray, intensity: float) -> np.ndarray:
    from sklearn.covariance import shrunk_covariance

    return s.copy() if intensity == 0.0 else shrunk_covariance(s, intensity)


# ---------------------------------------------------------------------------------------------- model


class GaussianModel:
    r"""A multivariate normal :math:`\mathcal N(\mu, \Sigma)` over ``dim``-dimensional embeddings.

    Build it with :meth:`fit` (in memory), :meth:`fit_stream` (row blocks) or ``GaussianModel(mean, covariance)``.
    Attributes: ``mean`` (``(d,)``), ``covariance`` (``(d, d)``), ``dim``, ``eigenvalues`` (descending) and
    ``eigenvectors`` (columns) of the covariance, ``n_samples`` and ``shrinkage`` (the intensity applied, 0 for
    none) when fitted, ``shrinkage_method`` (``"none"``, ``"ledoit-wolf"``, ``"oas"`` or ``"fixed"``), and
    ``dead_coordinates`` (indices of constant coordinates in the fitting data; only possible with shrinkage).
    Methods take ``(n, d)`` arrays (numpy, memory maps, torch tensors) and return float64 numpy arrays.
    """

    def __init__(
        self,
        mean,
        covariance,
        *,
        n_samples: int | None = None,
        shrinkage: float = 0.0,
        shrinkage_method: str = "none",
        dead_coordinates=(),
    ):
        mean = np.array(mean, dtype=np.float64).reshape(-1)
        cov = np.array(covariance, dtype=np.float64)
        d = mean.size
        if d == 0:
            raise InputError("mean is empty; a Gaussian model needs at least one dimension")
        if cov.shape != (d, d):
            raise InputError(f"covariance has shape {cov.shape} but the mean has {d} entries; expected ({d}, {d})")
        if not (np.isfinite(mean).all() and np.isfinite(cov).all()):
            raise InputError("mean or covariance contains NaN or Inf")
        asym = np.max(np.abs(cov - cov.T))
        if asym > 1e-8 * max(np.max(np.abs(cov)), 1e-300):
            raise InputError(f"covariance is not symmetric (max |S - S^T| = {asym:.3g}); pass a covariance matrix")
        cov = (cov + cov.T) / 2.0
        lam, vec = np.linalg.eigh(cov)
        lam, vec = lam[::-1].copy(), vec[:, ::-1].copy()  # descending: whitened coordinate 0 = top component
        tol = max(lam[0], 0.0) * d * np.finfo(np.float64).eps
        if lam[0] <= 0 or lam[-1] <= tol:
            rank = int(np.sum(lam > tol))
            dead = np.asarray(dead_coordinates, dtype=np.int64)
            if dead.size == 0:
                dead = _dead_coordinates(mean, np.diag(cov))
            shown = ", ".join(str(i) for i in dead[:10]) + (" ..." if dead.size > 10 else "")
            dead_txt = f"; dead (constant) coordinates: {shown}" if dead.size else ""
            if shrinkage_method == "none":
                if dead.size:
                    cause = " or drop the dead coordinates"
                elif n_samples is not None and n_samples <= d:
                    cause = " or give more rows than dimensions"
                else:  # enough rows: the features themselves live in a subspace (e.g. a low-rank projection head)
                    cause = f" or keep the top {rank} principal components"
                fix = "pass shrinkage='ledoit-wolf' or 'auto' (CLI: --shrinkage auto)" + cause
            else:
                fix = "pass a larger fixed shrinkage, e.g. shrinkage=0.1 (CLI: --shrinkage 0.1)"
            raise InputError(f"covariance is singular (rank {rank} of {d}{dead_txt}); {fix}")
        self.mean = mean
        self.covariance = cov
        self.dim = d
        self.eigenvalues = lam
        self.eigenvectors = vec
        self.n_samples = None if n_samples is None else int(n_samples)
        self.shrinkage = float(shrinkage)
        self.shrinkage_method = str(shrinkage_method)
        self.dead_coordinates = np.asarray(dead_coordinates, dtype=np.int64).reshape(-1)
        self._scale = vec / np.sqrt(lam)  # V Lambda^{-1/2}
        self.logdet = float(np.sum(np.log(lam)))

    # ------------------------------------------------------------------------------------------ fitting

    @classmethod
    def fit(cls, Z, shrinkage=None) -> GaussianModel:
        """Fit by maximum likelihood to the rows of ``Z`` (``(n, d)``), with optional covariance shrinkage.

        ``shrinkage``: ``None`` (plain MLE; a singular covariance raises :class:`InputError`), ``"ledoit-wolf"``
        or ``"oas"`` (scikit-learn's estimators), a float in ``[0, 1]`` (convex combination with
        ``(tr S / d) I``), or ``"auto"``: plain MLE when ``n >= 2d`` and it is non-singular, else Ledoit–Wolf
        (``shrinkage_method`` says which). Use :meth:`fit_stream` for data that does not fit in memory.
        """
        method = _check_shrinkage(shrinkage)
        x = samples(Z, min_n=2, what="Z")
        if x.ndim != 2:
            raise InputError(f"Z: expected a 2-D (n_samples, dim) array, got shape {x.shape}")
        if method == "auto":
            return _auto(lambda m: cls.fit(x, m), *x.shape)
        from sklearn.covariance import OAS, EmpiricalCovariance, LedoitWolf

        mean = x.mean(axis=0)
        dead = _dead_coordinates(mean, x.var(axis=0))
        if method == "ledoit-wolf":
            est = LedoitWolf(store_precision=False).fit(x)
        elif method == "oas":
            est = OAS(store_precision=False).fit(x)
        else:
            est = EmpiricalCovariance(store_precision=False).fit(x)
        cov, intensity = est.covariance_, float(getattr(est, "shrinkage_", 0.0))
        if isinstance(method, float):
            cov, intensity = _shrink(cov, method), method
        return cls._build(mean, cov, x.shape[0], method, intensity, dead)

    @classmethod
    def fit_stream(cls, batches: Iterable, shrinkage=None) -> GaussianModel:
        """Fit from an iterable of ``(b, d)`` row blocks (e.g. slices of a memory-mapped ``.npy``).

        Same model as :meth:`fit` on the stacked rows (to ~1e-12 relative), in ``O(d^2)`` memory.
        """
        method = _check_shrinkage(shrinkage)
        acc = MomentAccumulator()
        for b in batches:
            acc.update(b)
        return cls.from_moments(acc, shrinkage=method)

    @classmethod
    def from_moments(cls, acc: MomentAccumulator, shrinkage=None) -> GaussianModel:
        """Fit from a filled :class:`MomentAccumulator` (see :meth:`fit` for ``shrinkage``)."""
        method = _check_shrinkage(shrinkage)
        if acc.n < 2:
            raise InputError(f"needs at least 2 rows to fit a Gaussian, got {acc.n}")
        if method == "auto":
            return _auto(lambda m: cls.from_moments(acc, m), acc.n, acc.dim)
        s = acc.covariance
        dead = _dead_coordinates(acc.mean, np.diag(s))
        intensity = 0.0 if method is None else _shrinkage_from_moments(acc, method)
        return cls._build(acc.mean, _shrink(s, intensity), acc.n, method, intensity, dead)

    @classmethod
    def _build(cls, mean, cov, n, method, intensity, dead) -> GaussianModel:
        name = "none" if method is None else ("fixed" if isinstance(method, float) else method)
        return cls(mean, cov, n_samples=n, shrinkage=intensity, shrinkage_method=name, dead_coordinates=dead)

    # ------------------------------------------------------------------------------------------ scoring

    def _rows(self, Z, what="Z") -> np.ndarray:
        x = samples(Z, min_n=1, what=what)
        if x.ndim == 1 and self.dim == 1:
            x = x[:, None]
        if x.ndim != 2 or x.shape[1] != self.dim:
            shape = x.shape if x.ndim != 2 else f"{x.shape[1]} columns"
            raise InputError(f"{what}: has {shape} but the model has dimension {self.dim}; use matching embeddings")
        return x

    def whiten(self, Z, axes: str = "pca") -> np.ndarray:
        r"""Whitened rows; ``(n, d)`` float64 with identity covariance under the model.

        ``axes="pca"`` (default): :math:`y = (x - \mu) V \Lambda^{-1/2}` (W-CLIP, paper §5.1), coordinates ordered
        by decreasing variance of the fitted covariance (principal components). ``axes="zca"``: the same whitening
        rotated back to the original axes, :math:`y = (x - \mu) V \Lambda^{-1/2} V^\top = (x - \mu)\Sigma^{-1/2}`
        (Mahalanobis / ZCA whitening, the one closest to the input; Kessy, Lewin & Strimmer 2018). Both give the same
        norms, cosines and Mahalanobis distances; per-coordinate tests differ, since they look along other axes.
        """
        y = (self._rows(Z) - self.mean) @ self._scale
        if axes == "pca":
            return y
        if axes == "zca":
            return y @ self.eigenvectors.T
        raise InputError(f"unknown whitening axes {axes!r}; use 'pca' (W-CLIP) or 'zca'")

    def unwhiten(self, Y) -> np.ndarray:
        r"""Inverse of :meth:`whiten` (``axes="pca"``): :math:`x = \mu + y \Lambda^{1/2} V^\top`."""
        y = self._rows(Y, "Y")
        return self.mean + (y * np.sqrt(self.eigenvalues)) @ self.eigenvectors.T

    def mahalanobis_squared(self, Z) -> np.ndarray:
        r"""Squared Mahalanobis distance :math:`(x-\mu)^\top\Sigma^{-1}(x-\mu) = \lVert y\rVert^2` per row.

        Under the model it follows :math:`\chi^2_d` (mean ``d``).
        """
        y = self.whiten(Z)
        return np.einsum("ij,ij->i", y, y)

    def mahalanobis(self, Z) -> np.ndarray:
        r"""Mahalanobis distance :math:`\sqrt{(x-\mu)^\top\Sigma^{-1}(x-\mu)}` per row (not squared; like
        ``scipy.spatial.distance.mahalanobis``). See :meth:`mahalanobis_squared`."""
        return np.sqrt(self.mahalanobis_squared(Z))

    def log_likelihood(self, Z) -> np.ndarray:
        r"""Log-density per row, in nats: :math:`-\tfrac12(d\log 2\pi + \log|\Sigma| + m^2(x))`.

        Equals ``scipy.stats.multivariate_normal(mean, covariance).logpdf(Z)``.
        """
        return -0.5 * (self.dim * _LOG_2PI + self.logdet + self.mahalanobis_squared(Z))

    def entropy(self) -> float:
        r"""Differential entropy in nats: :math:`\tfrac12(d\log(2\pi e) + \log|\Sigma|)`."""
        return 0.5 * (self.dim * (_LOG_2PI + 1.0) + self.logdet)

    def kl(self, other: GaussianModel) -> float:
        r"""Closed-form :math:`\mathrm{KL}(\text{self}\,\Vert\,\text{other})` in nats (see the module docstring)."""
        if not isinstance(other, GaussianModel):
            raise InputError(f"kl: expected a GaussianModel, got {type(other).__name__}")
        if other.dim != self.dim:
            raise InputError(f"kl: the models have dimensions {self.dim} and {other.dim}; they must match")
        # tr(S2^-1 S1) = || Lambda2^-1/2 V2^T V1 Lambda1^1/2 ||_F^2 ; mean term = || (mu1 - mu2) V2 Lambda2^-1/2 ||^2
        a = (self.eigenvectors * np.sqrt(self.eigenvalues)).T @ other._scale
        trace = float(np.sum(a * a))
        dm = (self.mean - other.mean) @ other._scale
        return 0.5 * (trace + float(dm @ dm) - self.dim + other.logdet - self.logdet)

    def sample(self, n: int, seed=None) -> np.ndarray:
        """``n`` draws, ``(n, d)`` float64: :math:`\\mu + \\varepsilon\\Lambda^{1/2}V^\\top`, ``seed`` as
        ``numpy.random.default_rng``."""
        if isinstance(n, bool) or not isinstance(n, int | np.integer) or n < 0:
            raise InputError(f"sample: n must be a non-negative integer, got {n!r}")
        eps = np.random.default_rng(seed).standard_normal((int(n), self.dim))
        return self.mean + (eps * np.sqrt(self.eigenvalues)) @ self.eigenvectors.T

    # ------------------------------------------------------------------------------------------ files

    def save(self, path) -> Path:
        """Write the model to ``path`` (``.npz``, numbers and strings only: loadable with
        ``allow_pickle=False``). Written to a temporary file and renamed, so a failure leaves no partial file."""
        p = Path(path)
        if p.suffix.lower() != ".npz":
            raise InputError(f"{path}: a model file must end in .npz")
        if not p.parent.exists():
            raise InputError(f"{path}: directory {p.parent} does not exist; create it first")
        arrays = dict(
            format=np.array(FORMAT),
            mean=self.mean,
            covariance=self.covariance,
            n_samples=np.array(-1 if self.n_samples is None else self.n_samples, dtype=np.int64),
            shrinkage=np.array(self.shrinkage),
            shrinkage_method=np.array(self.shrinkage_method),
            dead_coordinates=self.dead_coordinates,
        )
        atomic_write(p, lambda fh: np.savez(fh, **arrays))
        return p

    @classmethod
    def load(cls, path) -> GaussianModel:
        """Read a model written by :meth:`save`; a missing, corrupt or foreign file raises :class:`InputError`."""
        p = Path(path)
        if not p.is_file():
            raise InputError(f"{path}: no such model file; create one with `infogauss fit EMB --out {p.name}`")
        try:
            with np.load(p, allow_pickle=False) as z:
                fmt = str(z["format"]) if "format" in z.files else None
                if fmt != FORMAT:
                    raise InputError(f"{path}: not an infogauss Gaussian model file (expected format {FORMAT})")
                a = {k: z[k] for k in z.files}
        except InputError:
            raise
        except Exception as exc:  # zipfile, pickle refusal, truncated data, missing keys ...
            msg = " ".join(str(exc).split())[:160] or type(exc).__name__
            raise InputError(f"{path}: cannot read the model file (corrupt or not a .npz model?): {msg}") from None
        try:
            n = int(a["n_samples"])
            return cls(
                a["mean"],
                a["covariance"],
                n_samples=None if n < 0 else n,
                shrinkage=float(a["shrinkage"]),
                shrinkage_method=str(a["shrinkage_method"]),
                dead_coordinates=a["dead_coordinates"],
            )
        except KeyError as exc:
            raise InputError(f"{path}: model file lacks the entry {exc}; refit it with `infogauss fit`") from None
        except InputError as exc:
            raise InputError(f"{path}: invalid model: {exc}") from None

    def __repr__(self) -> str:
        shr = (
            self.shrinkage_method
            if self.shrinkage_method == "none"
            else f"{self.shrinkage_method}:{self.shrinkage:.3g}"
        )
        return f"GaussianModel(dim={self.dim}, n_samples={self.n_samples}, shrinkage={shr})"


# ---------------------------------------------------------------------------------------------- CLI


def _row_blocks(Z, desc: str):
    """Float64 row blocks of ``Z`` (a memory map stays on disk), with a progress bar when there are several."""
    from tqdm import tqdm

    from infogauss.io import row_block

    step = row_block(Z.shape[1], 8, BLOCK_BYTES)
    starts = range(0, Z.shape[0], step)
    for r0 in tqdm(starts, desc=desc, unit="block", disable=len(starts) < 2, file=sys.stderr):
        yield np.asarray(Z[r0 : r0 + step], dtype=np.float64)


def fit_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("embeddings", metavar="EMB", help="embedding file (.npy, .npz, .pt, .safetensors, .csv, ...)")
    parser.add_argument("--out", required=True, metavar="MODEL", help="where to write the model (.npz)")
    parser.add_argument(
        "--shrinkage",
        default="none",
        help="covariance shrinkage: none (default), ledoit-wolf, oas, auto (none when n >= 2d and non-singular, else "
        "ledoit-wolf), or a number in [0, 1]",
    )
    parser.add_argument("--key", default=None, metavar="NAME", help="array name inside .npz/.pt/.safetensors files")


def fit_run(args) -> int:
    from infogauss.io import load_embeddings

    method = _check_shrinkage(args.shrinkage)
    out = Path(args.out)
    if out.suffix.lower() != ".npz":
        raise InputError(f"--out {args.out}: a model file must end in .npz")
    if not out.parent.exists():
        raise InputError(f"--out {args.out}: directory {out.parent} does not exist; create it first")
    Z = load_embeddings(args.embeddings, key=args.key)
    if isinstance(Z, np.memmap):  # larger than memory: stream row blocks
        model = GaussianModel.fit_stream(_row_blocks(Z, "fit"), shrinkage=method)
    else:
        model = GaussianModel.fit(Z, shrinkage=method)
    model.save(out)
    lam = model.eigenvalues
    shr = "none" if model.shrinkage_method == "none" else f"{model.shrinkage_method} ({model.shrinkage:.4g})"
    print(f"fitted N(mu, Sigma): n={model.n_samples}, d={model.dim}, shrinkage={shr}")
    print(
        f"  entropy {model.entropy():.6g} nats, log|Sigma| {model.logdet:.6g}, condition number {lam[0] / lam[-1]:.4g}"
    )
    if model.dead_coordinates.size:
        print(f"  {model.dead_coordinates.size} dead (constant) coordinate(s): {model.dead_coordinates[:10].tolist()}")
    print(f"wrote {out}")
    return 0


def score_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("model", metavar="MODEL", help="model file written by `infogauss fit` (.npz)")
    parser.add_argument("embeddings", metavar="EMB", help="embedding file to score")
    parser.add_argument(
        "--out",
        required=True,
        metavar="SCORES",
        help="output: .npy ((n, 2) float64: log_likelihood, mahalanobis), .npz (named arrays) or .csv",
    )
    parser.add_argument("--key", default=None, metavar="NAME", help="array name inside .npz/.pt/.safetensors files")


SCORE_COLUMNS = ("log_likelihood", "mahalanobis")


def score_run(args) -> int:
    from infogauss.io import load_embeddings

    out = Path(args.out)
    ext = out.suffix.lower()
    if ext not in (".npy", ".npz", ".csv"):
        raise InputError(f"--out {args.out}: use a .npy, .npz or .csv file for the scores")
    if not out.parent.exists():
        raise InputError(f"--out {args.out}: directory {out.parent} does not exist; create it first")
    model = GaussianModel.load(args.model)
    Z = load_embeddings(args.embeddings, key=args.key)
    if Z.shape[1] != model.dim:
        raise InputError(
            f"{args.embeddings}: has {Z.shape[1]} columns but the model {args.model} has dimension {model.dim}; "
            "score embeddings from the same encoder"
        )
    m2 = np.concatenate([model.mahalanobis_squared(b) for b in _row_blocks(Z, "score")])
    ll = -0.5 * (model.dim * _LOG_2PI + model.logdet + m2)
    scores = np.column_stack([ll, np.sqrt(m2)])
    if ext == ".npy":
        atomic_write(out, lambda fh: np.save(fh, scores))
    elif ext == ".npz":
        atomic_write(out, lambda fh: np.savez(fh, log_likelihood=ll, mahalanobis=scores[:, 1]))
    else:
        atomic_write(
            out,
            lambda fh: np.savetxt(fh, scores, delimiter=",", header=",".join(SCORE_COLUMNS), comments="", fmt="%.17g"),
        )
    q = np.percentile(ll, [5, 50, 95])
    print(f"scored {len(ll)} embeddings (d={model.dim}) under {args.model}")
    print(f"  log-likelihood (nats): mean {ll.mean():.6g}, 5/50/95% {q[0]:.6g} / {q[1]:.6g} / {q[2]:.6g}")
    print(f"  squared Mahalanobis: mean {m2.mean():.6g} (the model's own samples average d = {model.dim})")
    print(f"wrote {out}")
    return 0
