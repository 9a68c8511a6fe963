r"""Use: :class:`GaussianDensity`, the Gaussian model as a scikit-learn estimator (a density and a whitening transform).

``GaussianDensity(shrinkage=...).fit(X)`` fits a :class:`infogauss.gaussian.GaussianModel` (kept as ``model_``) and
returns itself, so it works in a ``sklearn.pipeline.Pipeline``, with ``clone``, ``GridSearchCV`` (``score`` is the mean
log-likelihood) and ``check_estimator``:

============================  =============================================================================
estimator                     the same quantity on the fitted :class:`~infogauss.gaussian.GaussianModel`
============================  =============================================================================
``score_samples(X)``          ``log_likelihood(X)``: log-density per row, nats
``score(X)``                  its mean (like ``GaussianMixture.score``; ``KernelDensity.score`` is the sum)
``transform(X)``              ``whiten(X, axes)``: zero mean, identity covariance (W-CLIP, paper §5.1)
``inverse_transform(Y)``      ``unwhiten(Y, axes)``
``mahalanobis_squared(X)``    ``mahalanobis_squared(X)``, what ``sklearn.covariance.EmpiricalCovariance.mahalanobis``
                              returns
============================  =============================================================================

There is deliberately **no** ``mahalanobis`` method here: scikit-learn's ``EmpiricalCovariance.mahalanobis`` returns the
*squared* distance and :meth:`GaussianModel.mahalanobis <infogauss.gaussian.GaussianModel.mahalanobis>` the distance,
so that name would change its number when one library is swapped for the other. The distance is
``model_.mahalanobis(X)``; the OOD scores (typicality, χ² p-value) are ``model_.scores(X)``.

Parameters: ``shrinkage`` (as :meth:`GaussianModel.fit <infogauss.gaussian.GaussianModel.fit>`: ``None``,
``"ledoit-wolf"``, ``"oas"``, ``"auto"`` or a float in [0, 1]) and ``axes`` (``"pca"`` or ``"zca"`` whitening).
Fitted attributes: ``model_``, ``mean_``, ``covariance_``, ``shrinkage_`` (the intensity applied), ``n_features_in_``
and, for a DataFrame, ``feature_names_in_``.

Why a class beside :class:`~infogauss.gaussian.GaussianModel`: ``GaussianModel(mean, covariance)`` is built from
fitted parameters and its ``shrinkage`` is the intensity applied, while an estimator's constructor takes
hyper-parameters only (here ``shrinkage`` is the method) and keeps what it learns in trailing-underscore attributes.

scikit-learn is optional (it is not a core dependency): the class follows its estimator protocol (``get_params`` /
``set_params``, ``__sklearn_tags__``, ``__sklearn_is_fitted__``) without inheriting from ``sklearn.base``. With
scikit-learn ≥ 1.6 installed, inputs are checked by ``sklearn.utils.validation.validate_data`` (feature names,
``n_features_in_``) and an unfitted estimator raises ``sklearn.exceptions.NotFittedError``; without it, by
infogauss's own checks (:class:`~infogauss.errors.InputError`, a ``ValueError``). A ``dask.array`` is fitted by the
Dask engine, as :meth:`GaussianModel.fit <infogauss.gaussian.GaussianModel.fit>` does.

Example::

    >>> from sklearn.pipeline import make_pipeline                # doctest: +SKIP
    >>> from sklearn.preprocessing import StandardScaler          # doctest: +SKIP
    >>> pipe = make_pipeline(StandardScaler(), GaussianDensity(shrinkage="ledoit-wolf")).fit(X_train)  # doctest: +SKIP
    >>> pipe.score_samples(X_test)                                # log-density per row   # doctest: +SKIP
"""

from __future__ import annotations

import numpy as np

from infogauss.errors import InputError
from infogauss.gaussian import GaussianModel
from infogauss.moments import check_shrinkage

__all__ = ["GaussianDensity"]

AXES = ("pca", "zca")


class GaussianDensity:
    """A multivariate normal density estimator and whitening transformer (see the module docstring)."""

    def __init__(self, shrinkage=None, axes="pca"):
        self.shrinkage = shrinkage
        self.axes = axes

    # ------------------------------------------------------------------------------------------ protocol

    def get_params(self, deep: bool = True) -> dict:
        """The constructor's parameters (``deep`` is accepted for scikit-learn; there are no sub-estimators)."""
        return {"shrinkage": self.shrinkage, "axes": self.axes}

    def set_params(self, **params) -> GaussianDensity:
        """Set constructor parameters by name; checked at :meth:`fit`, as scikit-learn does. Returns ``self``."""
        valid = self.get_params()
        for name, value in params.items():
            if name not in valid:
                raise ValueError(f"Invalid parameter {name!r} for estimator {self!r}; valid parameters: {list(valid)}")
            setattr(self, name, value)
        return self

    def __repr__(self) -> str:
        return f"{type(self).__name__}(" + ", ".join(f"{k}={v!r}" for k, v in self.get_params().items()) + ")"

    def __sklearn_tags__(self):
        from sklearn.utils import Tags, TargetTags, TransformerTags

        return Tags(estimator_type="density_estimator", target_tags=TargetTags(required=False),
                    transformer_tags=TransformerTags())  # fmt: skip

    def __sklearn_is_fitted__(self) -> bool:
        return hasattr(self, "model_")

    def _check_fitted(self) -> None:
        if hasattr(self, "model_"):
            return
        msg = f"This {type(self).__name__} instance is not fitted yet; call fit(X) before using this method"
        try:
            from sklearn.exceptions import NotFittedError
        except ImportError:
            raise InputError(msg) from None
        raise NotFittedError(msg)

    def _rows(self, X, reset: bool = False):
        """``X`` checked by scikit-learn's ``validate_data`` when it is installed; else as is (GaussianModel checks)."""
        if not reset:
            self._check_fitted()
        if type(X).__module__.startswith("dask"):
            return X
        try:
            from sklearn.utils.validation import validate_data
        except ImportError:  # scikit-learn absent (or older than 1.6)
            return X
        return validate_data(self, X, reset=reset, dtype=np.float64, ensure_min_samples=2 if reset else 1)

    # ------------------------------------------------------------------------------------------ estimator

    def fit(self, X, y=None) -> GaussianDensity:
        """Fit the model to the rows of ``X`` (``(n, d)``); ``y`` is ignored. Returns ``self``."""
        method = check_shrinkage(self.shrinkage)
        if self.axes not in AXES:
            raise InputError(f"unknown whitening axes {self.axes!r}; use 'pca' (W-CLIP) or 'zca'")
        model = GaussianModel.fit(self._rows(X, reset=True), shrinkage=method)
        self.model_ = model
        self.mean_, self.covariance_, self.shrinkage_ = model.mean, model.covariance, model.shrinkage
        self.n_features_in_ = model.dim
        return self

    def score_samples(self, X) -> np.ndarray:
        """Log-density of each row under the fitted model, in nats."""
        x = self._rows(X)
        return self.model_.log_likelihood(x)

    def score(self, X, y=None) -> float:
        """Mean log-density of the rows of ``X`` (nats); ``y`` is ignored."""
        return float(np.mean(self.score_samples(X)))

    def mahalanobis_squared(self, X) -> np.ndarray:
        """Squared Mahalanobis distance of each row (the number ``EmpiricalCovariance.mahalanobis`` gives)."""
        x = self._rows(X)
        return self.model_.mahalanobis_squared(x)

    def transform(self, X) -> np.ndarray:
        """Whitened rows (``axes``): zero mean and identity covariance under the fitted model."""
        x = self._rows(X)
        return self.model_.whiten(x, axes=self.axes)

    def fit_transform(self, X, y=None) -> np.ndarray:
        return self.fit(X).transform(X)

    def inverse_transform(self, X) -> np.ndarray:
        """Rows in the input's space whose :meth:`transform` is ``X``."""
        self._check_fitted()  # whitened columns carry no feature names: GaussianModel checks the shape
        return self.model_.unwhiten(X, axes=self.axes)
