"""Column groups that several experiments' tables share, defined once (:class:`~infogauss.experiments.tables.Column`).

- :data:`GRID`: ``d`` and the batch size ``N`` of the synthetic grids (fig2, fig3);
- :data:`PROTOCOL`: the paper's protocol with short headers (the report keys of :data:`REPORT_COLUMNS`);
- :data:`COSINES`: negative-pair cosine mean and std beside ``1/sqrt(d)``, the std for uniform directions;
- :func:`prefixed`: the same columns for prefixed keys (``normalized_``, ``views_``, ``backbone_`` …).
"""

from __future__ import annotations

from infogauss.experiments.tables import REPORT_COLUMNS, Column

GRID = [Column("d", "d", "int"), Column("batch_size", "N", "int")]
#: :data:`REPORT_COLUMNS` with the thresholds left out of the headers ("AD avg", "DP avg p", …).
PROTOCOL = [Column(c.key, c.header.split(" (")[0], c.kind) for c in REPORT_COLUMNS]


def prefixed(columns, key_prefix: str, header_prefix: str = "", skip=()) -> list[Column]:
    """``columns`` for the keys ``key_prefix + key`` (headers ``header_prefix + header``), without the keys in
    ``skip`` (e.g. ``cv``, which is 0 on L2-normalised rows)."""
    return [Column(key_prefix + c.key, header_prefix + c.header, c.kind) for c in columns if c.key not in skip]


def cosines(uniform_header: str = "uniform 1/√d") -> list[Column]:
    """Negative-pair cosine mean and std, and ``1/sqrt(d)``, their std for directions uniform on the sphere."""
    return [Column("neg_cos_mean", "neg cos mean"), Column("neg_cos_std", "neg cos std"),
            Column("uniform_cos_std", uniform_header)]  # fmt: skip
