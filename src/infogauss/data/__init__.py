"""Data sources for training: synthetic pairs (``infogauss.data.synthetic``, paper §4.1), your own arrays of pairs
(``infogauss.data.pairs``, ``source=pairs``) and image folders (``infogauss.data.folder``, ``source=folder``)."""

from infogauss.data.folder import FOLDER_SOURCES, make_folder_source, read_image_folder
from infogauss.data.pairs import PAIRS_SOURCES, PairsSource, make_pairs_source
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
    "PAIRS_SOURCES",
    "PairsSource",
    "make_pairs_source",
    "FOLDER_SOURCES",
    "make_folder_source",
    "read_image_folder",
]
