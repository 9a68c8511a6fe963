"""Small pieces the experiments' ``figures`` hooks share (matplotlib's pyplot, imported when a figure is drawn).

The reference curves themselves (the uniform law of a cosine on the sphere, …) are the library's, in
:mod:`infogauss.plots`; this file only saves figures and lays out grids.
"""

from __future__ import annotations

from pathlib import Path


def subplots(rows: int = 1, cols: int = 1, **kw):
    """``pyplot.subplots`` (the experiments draw with pyplot on the Agg backend :func:`reproduce` selects)."""
    import matplotlib.pyplot as plt

    return plt.subplots(rows, cols, **kw)


def save(fig, folder, name: str, dpi: int = 120) -> Path:
    """Lay out ``fig`` (``tight_layout``), write it to ``folder / name`` at ``dpi`` and close it; returns the path."""
    import matplotlib.pyplot as plt

    path = Path(folder) / name
    fig.tight_layout()
    fig.savefig(path, dpi=dpi)
    plt.close(fig)
    return path


def grid_keys(pairs) -> tuple[list, list]:
    """The sorted distinct first and second members of ``(a, b)`` keys: the two axes of a grid such as (d, N)."""
    pairs = list(pairs)
    return sorted({a for a, _ in pairs}), sorted({b for _, b in pairs})
