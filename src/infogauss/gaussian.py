r"""Use: a Gaussian model of embeddings — likelihood, Mahalanobis distance, whitening, entropy, KL, sampling.

The paper (§5) argues that InfoNCE representations are close to Gaussian, which makes closed-form density
quantities available. :class:`GaussianModel` is that model, fitted by maximum likelihood (optionally with
covariance shrinkage). Whitening uses the eigen-decomposition :math:`\Sigma = V \Lambda V^\top` (``numpy.linalg.eigh``,
float64); the densities use the scale-free form described under *Numerics*:

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
- ``"ledoit-wolf"`` / ``"oas"``: the intensities of Ledoit & Wolf (2004) and Chen et al. (2010), computed from the
  moments by :func:`infogauss.moments.shrinkage_intensity` (equal to scikit-learn's ``LedoitWolf`` / ``OAS``);
- a float :math:`s \in [0, 1]`: :math:`(1-s)\,S + s\,(\operatorname{tr} S / d)\, I`.

Numerics: the fit works on columns shifted to their mid-range and divided by one overall scale, and every density
quantity (Mahalanobis distance, log-density, entropy, KL, the singularity check) is computed from the correlation
matrix of those columns, so data at 1e±300, or columns whose scales differ by 1e12, neither overflow nor look
singular. Dead (constant) columns follow the one rule of :mod:`infogauss.columns`: relative to each column's own
magnitude. A singular covariance is reported from the shape alone when there are no more rows than dimensions.

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

import math
from collections.abc import Iterable
from pathlib import Path

import numpy as np

from infogauss.columns import column_ranges, constant_columns, data_dtype, dead_coordinates, standardisation
from infogauss.errors import InputError
from infogauss.io import row_blocks
from infogauss.model_file import FORMAT, FORMATS, is_model_file, model_arguments, write_model_file
from infogauss.moments import (
    SHRINKAGE_METHODS,
    MomentAccumulator,
    auto_shrinkage,
    check_shrinkage,
    shape_refusal,
    shrink,
    shrinkage_intensity,
    singular_message,
)
from infogauss.stats.validate import samples
from infogauss.typicality import chi2_pvalue, typicality

__all__ = ["GaussianModel", "MomentAccumulator", "dead_coordinates", "is_model_file", "SHRINKAGE_METHODS", "SCORES",
           "FORMAT", "FORMATS"]  # fmt: skip

SCORES = ("log_likelihood", "mahalanobis", "typicality", "chi2_pvalue")  # GaussianModel.scores, in this order
BLOCK_BYTES = 64 * 2**20  # float64 bytes per row block when a memory-mapped file is streamed
_LOG_2PI = math.log(2.0 * math.pi)
_EPS = np.finfo(np.float64).eps


# ---------------------------------------------------------------------------------------------- model


class GaussianModel:
    r"""A multivariate normal :math:`\mathcal N(\mu, \Sigma)` over ``dim``-dimensional embeddings.

    Build it with :meth:`fit` (in memory), :meth:`fit_stream` (row blocks), :meth:`fit_large` (an array read in
    blocks, e.g. a memory map) or ``GaussianModel(mean, covariance)``. Attributes: ``mean`` (``(d,)``),
    ``covariance`` (``(d, d)``), ``dim``, ``eigenvalues`` (descending) and ``eigenvectors`` (columns) of the
    covariance, ``logdet``, ``n_samples`` and ``shrinkage`` (the intensity applied, 0 for none) when fitted,
    ``shrinkage_method`` (``"none"``, ``"ledoit-wolf"``, ``"oas"`` or ``"fixed"``), and ``dead_coordinates``
    (indices of constant coordinates in the fitting data; only possible with shrinkage).
    Methods take ``(n, d)`` arrays (numpy, memory maps, torch tensors) and return float64 numpy arrays.

    Inside, the model is held for the standardised variable :math:`\tilde x = (x - c)/u` (``c`` a centre per column,
    ``u`` one overall scale): :math:`\tilde x \sim \mathcal N(m, S)`, :math:`\mu = c + u\,m`, :math:`\Sigma = u^2 S`;
    densities use :math:`S = D R D` with :math:`D = \operatorname{diag}(S)^{1/2}` and the correlation matrix
    :math:`R = U \rho U^\top`, which does not depend on the columns' scales.
    """

    def __init__(self, mean, covariance, *, n_samples=None, shrinkage=0.0, shrinkage_method="none",
                 dead_coordinates=()):  # fmt: skip
        mean = np.array(mean, dtype=np.float64).reshape(-1)
        cov = np.array(covariance, dtype=np.float64)
        d = mean.size
        if d == 0:
            raise InputError("mean is empty; a Gaussian model needs at least one dimension")
        if cov.shape != (d, d):
            raise InputError(f"covariance has shape {cov.shape} but the mean has {d} entries; expected ({d}, {d})")
        if not (np.isfinite(mean).all() and np.isfinite(cov).all()):
            raise InputError("mean or covariance contains NaN or Inf")
        top = float(np.max(np.abs(cov)))
        if np.max(np.abs(cov - cov.T)) > 1e-8 * max(top, 1e-300):
            raise InputError("covariance is not symmetric; pass a covariance matrix")
        unit = math.sqrt(float(np.max(np.diag(cov)))) if np.max(np.diag(cov)) > 0 else 1.0
        meta = (n_samples, shrinkage, shrinkage_method, dead_coordinates)
        self._setup(mean, unit, np.zeros(d), cov / unit / unit, *meta)

    @classmethod
    def standardized(cls, centre, unit, mean, covariance, *, n_samples=None, shrinkage=0.0,
                     shrinkage_method="none", dead_coordinates=()) -> GaussianModel:  # fmt: skip
        r"""The model of ``x = centre + unit * x̃`` with ``x̃ ~ N(mean, covariance)``: how :meth:`fit` builds it, for
        data whose covariance in the original units would overflow (``unit`` up to 1e±300)."""
        self = cls.__new__(cls)
        meta = (n_samples, shrinkage, shrinkage_method, dead_coordinates)
        self._setup(np.asarray(centre, np.float64), float(unit), np.asarray(mean, np.float64),
                    np.asarray(covariance, np.float64), *meta)  # fmt: skip
        return self

    def _setup(self, centre, unit, m, S, n_samples, shrinkage, shrinkage_method, dead) -> None:
        d = centre.size
        S = (S + S.T) / 2.0
        if not (np.isfinite(S).all() and np.isfinite(m).all() and np.isfinite(centre).all()) or not unit > 0:
            raise InputError("mean or covariance contains NaN or Inf")
        dead = np.asarray(dead, dtype=np.int64).reshape(-1)
        D = np.sqrt(np.clip(np.diag(S), 0.0, None))
        live = D > 0
        rho, U = np.linalg.eigh(S / np.outer(np.where(live, D, 1.0), np.where(live, D, 1.0)))
        tol = d * _EPS * max(float(rho[-1]), 0.0)
        if not live.all() or rho[0] <= tol or (shrinkage_method == "none" and dead.size):
            live_rank = np.linalg.matrix_rank(S[np.ix_(live, live)] / np.outer(D[live], D[live])) if live.any() else 0
            if dead.size == 0:
                dead = np.flatnonzero(~live)
            raise InputError(singular_message(int(live_rank), d, dead, n_samples, shrinkage_method, shrinkage))
        self._centre, self._unit, self._m, self._S, self._D = centre, unit, m, S, D
        self._K = U / np.sqrt(rho)  # standardised, scaled rows @ K = whitened (correlation axes)
        self._U, self._rho = U, rho
        self.dim = d
        self.mean = centre + unit * m
        self.logdet = float(2 * d * math.log(unit) + 2 * np.sum(np.log(D)) + np.sum(np.log(rho)))
        self.n_samples = None if n_samples is None else int(n_samples)
        self.shrinkage = float(shrinkage)
        self.shrinkage_method = str(shrinkage_method)
        self.dead_coordinates = dead
        self._pca_cache = None

    @property
    def covariance(self) -> np.ndarray:
        """:math:`\\Sigma = u^2 S` in the data's units (entries overflow to ±inf beyond ~1e308)."""
        with np.errstate(over="ignore"):
            return (self._S * self._unit) * self._unit

    def _pca(self, axes: str = "pca"):
        """``(lam_n, V, dmax)``: eigen-decomposition of ``S / dmax²`` (descending), cached; ``axes`` checked."""
        if axes not in ("pca", "zca"):
            raise InputError(f"unknown whitening axes {axes!r}; use 'pca' (W-CLIP) or 'zca'")
        if self._pca_cache is None:
            dmax = float(np.max(self._D))
            lam, V = np.linalg.eigh(self._S / dmax / dmax)
            lam, V = lam[::-1].copy(), V[:, ::-1].copy()
            if lam[-1] <= self.dim * _EPS * lam[0]:
                raise InputError(
                    "the principal axes of this covariance are not resolvable in float64 (its columns' scales "
                    "differ too much); Mahalanobis distances and log-likelihoods still are, or rescale the columns"
                )
            self._pca_cache = (lam, V, dmax)
        return self._pca_cache

    @property
    def eigenvalues(self) -> np.ndarray:
        """Eigenvalues of the covariance, descending (entries overflow to inf beyond ~1e308)."""
        lam, _, dmax = self._pca()
        with np.errstate(over="ignore"):
            return lam * np.float64(self._unit * dmax) ** 2

    @property
    def condition_number(self) -> float:
        """Largest over smallest eigenvalue of the covariance (scale-free; inf when not resolvable in float64)."""
        try:
            lam = self._pca()[0]
        except InputError:
            return float("inf")
        return float(lam[0] / lam[-1])

    @property
    def eigenvectors(self) -> np.ndarray:
        return self._pca()[1]

    # ------------------------------------------------------------------------------------------ fitting

    @classmethod
    def fit(cls, Z, shrinkage=None) -> GaussianModel:
        """Fit by maximum likelihood to the rows of ``Z`` (``(n, d)``; a ``dask.array`` is fitted by
        :func:`infogauss.dask_engine.fit_gaussian`), with optional covariance shrinkage: ``None`` (plain MLE; a singular
        covariance raises :class:`InputError`, at once from the shape when ``n <= d``), ``"ledoit-wolf"`` or ``"oas"``
        (see the module docstring), a float in ``[0, 1]``, or ``"auto"``: plain MLE when ``n >= 2d`` and it is
        non-singular, else Ledoit–Wolf (``shrinkage_method`` says which). The sklearn estimator (``fit(X)`` returning
        itself, pipelines) is :class:`infogauss.density.GaussianDensity`; data larger than memory: :meth:`fit_large`.
        """
        if type(Z).__module__.startswith("dask"):  # a dask.array: tree-reduced moments (infogauss.dask_engine)
            from infogauss.dask_engine import fit_gaussian

            return fit_gaussian(Z, shrinkage)
        method = check_shrinkage(shrinkage)
        dtype = data_dtype(Z)
        x = samples(Z, min_n=2, what="Z")
        if x.ndim != 2:
            raise InputError(f"Z: expected a 2-D (n_samples, dim) array, got shape {x.shape}")
        return cls._fit_ranged(x.min(axis=0), x.max(axis=0), dtype, [x], method)  # one block: in-memory moments

    @classmethod
    def fit_stream(cls, batches: Iterable, shrinkage=None) -> GaussianModel:
        """Fit from an iterable of ``(b, d)`` row blocks: the model of :meth:`fit` on the stacked rows (to ~1e-12
        relative) in ``O(d^2)`` memory. The moments are accumulated in the data's units; :meth:`fit_large`
        standardises first (two passes) and so also works at scales near the float64 limits."""
        method = check_shrinkage(shrinkage)
        acc = MomentAccumulator()
        for b in batches:
            acc.update(b)
        return cls.from_moments(acc, shrinkage=method)

    @classmethod
    def fit_large(cls, Z, shrinkage=None, progress: bool = True) -> GaussianModel:
        """Fit to an ``(n, d)`` array read one row block (:data:`BLOCK_BYTES`) at a time, e.g. a memory map:
        a first pass finds every column's range (the dead-column rule and the standardisation), a second
        accumulates the moments of the standardised rows. Same model as :meth:`fit`."""
        method = check_shrinkage(shrinkage)
        n, d = Z.shape
        if method is None and n <= d:
            raise shape_refusal(n, d)
        lo, hi = column_ranges(Z, BLOCK_BYTES)
        if not (np.isfinite(lo).all() and np.isfinite(hi).all()):
            raise InputError("Z: contains NaN or Inf values; remove or impute them first")
        return cls._fit_ranged(lo, hi, data_dtype(Z), row_blocks(Z, "fit", progress, BLOCK_BYTES), method)

    @classmethod
    def _fit_ranged(cls, lo, hi, dtype, blocks, method) -> GaussianModel:
        """The fit of row ``blocks`` whose columns span ``lo..hi``: dead columns (:mod:`infogauss.columns`), the
        standardisation, and the moments of the standardised rows."""
        centre, unit = standardisation(lo, hi, lo.size)
        acc = MomentAccumulator()
        for b in blocks:
            acc.update(b / unit - centre / unit)
        return cls.from_moments(acc, method, standardized=(centre, unit), dead=constant_columns(lo, hi, dtype))

    @classmethod
    def from_moments(cls, acc: MomentAccumulator, shrinkage=None, *, standardized=None, dead=None) -> GaussianModel:
        """Fit from a filled :class:`MomentAccumulator` (see :meth:`fit` for ``shrinkage``). ``standardized =
        (centre, unit)`` says the rows were ``(x - centre) / unit``; ``dead`` gives the dead columns (default: the
        rule of :mod:`infogauss.columns` applied to mean ± standard deviation)."""
        method = check_shrinkage(shrinkage)
        if acc.n < 2:
            raise InputError(f"needs at least 2 rows to fit a Gaussian, got {acc.n}")
        if method == "auto":
            return auto_shrinkage(
                lambda m: cls.from_moments(acc, m, standardized=standardized, dead=dead), acc.n, acc.dim
            )
        if method is None and acc.n <= acc.dim:
            raise shape_refusal(acc.n, acc.dim)
        s = acc.covariance
        if dead is None:
            sd = np.sqrt(np.clip(np.diag(s), 0.0, None))
            dead = constant_columns(acc.mean - sd, acc.mean + sd)
        centre, unit = standardized if standardized is not None else (np.zeros(acc.dim), 1.0)
        intensity = 0.0 if method is None else shrinkage_intensity(acc, method)
        name = "none" if method is None else ("fixed" if isinstance(method, float) else method)
        return cls.standardized(centre, unit, acc.mean, shrink(s, intensity), n_samples=acc.n, shrinkage=intensity,
                                shrinkage_method=name, dead_coordinates=dead)  # fmt: skip

    # ------------------------------------------------------------------------------------------ scoring

    def _rows(self, Z, what="Z") -> np.ndarray:
        x = samples(Z, min_n=1, what=what)
        if x.ndim == 1 and self.dim == 1:
            x = x[:, None]
        if x.ndim != 2 or x.shape[1] != self.dim:
            shape = x.shape if x.ndim != 2 else f"{x.shape[1]} columns"
            raise InputError(f"{what}: has {shape} but the model has dimension {self.dim}; use matching embeddings")
        return x

    def _centred(self, Z) -> np.ndarray:
        """``x̃ - m``: rows standardised by the model's centre and scale, then centred (no overflow)."""
        return self._rows(Z) / self._unit - self._centre / self._unit - self._m

    def whiten(self, Z, axes: str = "pca") -> np.ndarray:
        r"""Whitened rows; ``(n, d)`` float64 with identity covariance under the model.

        ``axes="pca"`` (default): :math:`y = (x - \mu) V \Lambda^{-1/2}` (W-CLIP, paper §5.1), coordinates ordered
        by decreasing variance of the fitted covariance (principal components). ``axes="zca"``: the same whitening
        rotated back to the original axes, :math:`y = (x - \mu) V \Lambda^{-1/2} V^\top = (x - \mu)\Sigma^{-1/2}`
        (Mahalanobis / ZCA whitening, the one closest to the input; Kessy, Lewin & Strimmer 2018). Both give the same
        norms, cosines and Mahalanobis distances; per-coordinate tests differ, since they look along other axes.
        For features that span a subspace only, see :func:`infogauss.whitening.whiten` (rank-aware).
        """
        lam, V, dmax = self._pca(axes)
        y = self._centred(Z) @ (V / (np.sqrt(lam) * dmax))
        return y if axes == "pca" else y @ V.T

    def unwhiten(self, Y, axes: str = "pca") -> np.ndarray:
        r"""Inverse of :meth:`whiten` with the same ``axes``: :math:`x = \mu + y \Lambda^{1/2} V^\top` (PCA)."""
        lam, V, dmax = self._pca(axes)
        y = self._rows(Y, "Y")
        y = y if axes == "pca" else y @ V
        return self._centre + self._unit * (self._m + (y * (np.sqrt(lam) * dmax)) @ V.T)

    def mahalanobis_squared(self, Z) -> np.ndarray:
        r"""Squared Mahalanobis distance :math:`m^2(x) = (x-\mu)^\top\Sigma^{-1}(x-\mu) = \lVert y\rVert^2` per row
        (what scikit-learn's ``EmpiricalCovariance.mahalanobis`` returns).

        Under the model it follows :math:`\chi^2_d` (mean ``d``). Computed on standardised columns through the
        correlation matrix, so it is exact at any scale.
        """
        w = (self._centred(Z) / self._D) @ self._K
        return np.einsum("ij,ij->i", w, w)

    def mahalanobis(self, Z) -> np.ndarray:
        r"""Mahalanobis **distance** :math:`m(x) = \sqrt{(x-\mu)^\top\Sigma^{-1}(x-\mu)}` per row, like
        ``scipy.spatial.distance.mahalanobis``. **Not** scikit-learn's ``EmpiricalCovariance.mahalanobis``, which
        returns the *squared* distance: that is :meth:`mahalanobis_squared` here."""
        return np.sqrt(self.mahalanobis_squared(Z))

    def log_likelihood(self, Z) -> np.ndarray:
        r"""Log-density per row, in nats: :math:`-\tfrac12(d\log 2\pi + \log|\Sigma| + m^2(x))`.

        Equals ``scipy.stats.multivariate_normal(mean, covariance).logpdf(Z)``.
        """
        return self._log_density(self.mahalanobis_squared(Z))

    def _log_density(self, m2: np.ndarray) -> np.ndarray:
        return -0.5 * (self.dim * _LOG_2PI + self.logdet + m2)

    def scores(self, Z) -> dict[str, np.ndarray]:
        """Per-row OOD scores from one pass, keyed as :data:`SCORES`: ``log_likelihood``, ``mahalanobis`` (the
        distance), ``typicality`` (distance from the thin shell), ``chi2_pvalue`` (see :mod:`infogauss.typicality`)."""
        m2 = self.mahalanobis_squared(Z)
        return dict(zip(SCORES, (self._log_density(m2), np.sqrt(m2), typicality(m2, self.dim),
                                 chi2_pvalue(m2, self.dim)), strict=True))  # fmt: skip

    def entropy(self) -> float:
        r"""Differential entropy in nats: :math:`\tfrac12(d\log(2\pi e) + \log|\Sigma|)`."""
        return 0.5 * (self.dim * (_LOG_2PI + 1.0) + self.logdet)

    def kl(self, other: GaussianModel) -> float:
        r"""Closed-form :math:`\mathrm{KL}(\text{self}\,\Vert\,\text{other})` in nats (see the module docstring)."""
        if not isinstance(other, GaussianModel):
            raise InputError(f"kl: expected a GaussianModel, got {type(other).__name__}")
        if other.dim != self.dim:
            raise InputError(f"kl: the models have dimensions {self.dim} and {other.dim}; they must match")
        # Sigma_1 = L1 L1^T with L1 = diag(u1 D1) U1 rho1^1/2; Sigma_2^-1 = K K^T with K = diag(1/(u2 D2)) U2 rho2^-1/2
        ratio = (self._unit / other._unit) * (self._D / other._D)
        a = ((self._U * np.sqrt(self._rho)).T * ratio) @ other._K
        dm = (self._centre - other._centre) / other._unit + (self._unit / other._unit) * self._m - other._m
        w = (dm / other._D) @ other._K
        return 0.5 * (float(np.sum(a * a)) + float(w @ w) - self.dim + other.logdet - self.logdet)

    def sample(self, n: int, seed=None) -> np.ndarray:
        """``n`` draws, ``(n, d)`` float64: :math:`\\mu + u\\,D\\,(\\varepsilon\\rho^{1/2}U^\\top)`, ``seed`` as
        ``numpy.random.default_rng``."""
        if isinstance(n, bool) or not isinstance(n, int | np.integer) or n < 0:
            raise InputError(f"sample: n must be a non-negative integer, got {n!r}")
        eps = np.random.default_rng(seed).standard_normal((int(n), self.dim))
        return self._centre + self._unit * (self._m + ((eps * np.sqrt(self._rho)) @ self._U.T) * self._D)

    # ------------------------------------------------------------------------------------------ files

    def save(self, path) -> Path:
        """Write the model to ``path`` (``.npz``, numbers and strings only: loadable with ``allow_pickle=False``).
        Written to a temporary file and renamed, so a failure leaves no partial file. Besides ``mean`` and
        ``covariance`` the file holds the standardised form (``centre``, ``unit``, ``std_mean``, ``std_covariance``)
        that :meth:`load` reads, so models of data near the float64 limits round-trip exactly."""
        return write_model_file(path, mean=self.mean, covariance=self.covariance, centre=self._centre,
                                unit=self._unit, std_mean=self._m, std_covariance=self._S, n_samples=self.n_samples,
                                shrinkage=self.shrinkage, shrinkage_method=self.shrinkage_method,
                                dead_coordinates=self.dead_coordinates)  # fmt: skip

    @classmethod
    def load(cls, path) -> GaussianModel:
        """Read a model written by :meth:`save`; a missing, corrupt or foreign file raises :class:`InputError`."""
        args, meta = model_arguments(path)
        try:
            return cls.standardized(*args, **meta) if len(args) == 4 else cls(*args, **meta)
        except (InputError, ValueError, TypeError) as exc:
            raise InputError(f"{path}: invalid model: {exc}") from None

    def __repr__(self) -> str:
        shr = "none" if self.shrinkage_method == "none" else f"{self.shrinkage_method}:{self.shrinkage:.3g}"
        return f"GaussianModel(dim={self.dim}, n_samples={self.n_samples}, shrinkage={shr})"
