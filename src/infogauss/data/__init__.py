"""Data sources for training: synthetic pairs (``infogauss.data.synthetic``, paper §4.1), your own arrays of pairs
(``infogauss.data.pairs``, ``source=pairs``) and image folders (``infogauss.data.folder``, ``source=folder``).

The names below are imported on first use (PEP 562), so ``infogauss.data.text`` and the other torch-free modules
load without torch (``reproduce --list`` runs on the core install)."""

from __future__ import annotations

import importlib

_WHERE = {
    "SOURCES": "infogauss.data.synthetic",
    "Source": "infogauss.data.synthetic",
    "LaplaceSource": "infogauss.data.synthetic",
    "GaussianMixtureSource": "infogauss.data.synthetic",
    "SparseBinarySource": "infogauss.data.synthetic",
    "GaussianChannelSource": "infogauss.data.synthetic",
    "make_source": "infogauss.data.synthetic",
    "make_generator": "infogauss.data.synthetic",
    "source_parameters": "infogauss.data.synthetic",
    "PAIRS_SOURCES": "infogauss.data.pairs",
    "PairsSource": "infogauss.data.pairs",
    "make_pairs_source": "infogauss.data.pairs",
    "FOLDER_SOURCES": "infogauss.data.folder",
    "make_folder_source": "infogauss.data.folder",
    "read_image_folder": "infogauss.data.folder",
}

__all__ = list(_WHERE)


def __getattr__(name):
    if name in _WHERE:
        return getattr(importlib.import_module(_WHERE[name]), name)
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")


def __dir__():
    return sorted(__all__)
