"""Data sources for training: synthetic pairs (``infogauss.data.synthetic``, paper §4.1)."""

from infogauss.data.synthetic import (
    SOURCES,
    GaussianChannelSource,
    GaussianMixtureSource,
    LaplaceSource,
    Source,
    SparseBinarySource,
    make_generator,
    make_source,
    source_parameters,
)

__all__ = [
    "SOURCES",
    "Source",
    "LaplaceSource",
    "GaussianMixtureSource",
    "SparseBinarySource",
    "GaussianChannelSource",
    "make_source",
    "make_generator",
    "source_parameters",
]
