"""infogauss — measure, induce and use the Gaussian structure of contrastive representations.

Companion toolkit to "InfoNCE Induces Gaussian Distribution" (Betser, Gofer, Levi, Gilboa; ICLR 2026,
arXiv 2602.24012).

- **measure** — :mod:`infogauss.stats` (tests and geometry), :func:`gaussianity_report` (the paper's protocol).
- **induce** — :mod:`infogauss.losses`, :mod:`infogauss.data`, :mod:`infogauss.train`.
- **use** — :class:`GaussianModel` (whitening, likelihood, OOD scores) and :class:`GaussianDensity`, the same model
  as a scikit-learn estimator.
- **experiments** — :mod:`infogauss.experiments`, one module per table or figure (``infogauss reproduce``).
"""

from importlib import import_module

__version__ = "0.1.0"

_WHERE = {
    "gaussianity_report": "infogauss.report",
    "GaussianityReport": "infogauss.report",
    "InfoNCE": "infogauss.losses",
    "info_nce": "infogauss.losses",
    "GaussianModel": "infogauss.gaussian",
    "GaussianDensity": "infogauss.density",
    "InputError": "infogauss.errors",
    "load_encoder": "infogauss.embed",
}

__all__ = ["__version__", *_WHERE]


def __getattr__(name):
    if name in _WHERE:
        return getattr(import_module(_WHERE[name]), name)
    raise AttributeError(f"module 'infogauss' has no attribute {name!r}")
