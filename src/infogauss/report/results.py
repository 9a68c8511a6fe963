"""Typed results of :func:`~infogauss.report.gaussianity_report`: one small dataclass per block, with ``to_dict()``.

``report.raw.ad_mean`` is the typed access; ``report.raw["ad_mean"]``, ``.get`` and ``.keys()`` keep working (the
blocks read like the dicts they replaced).
"""

from __future__ import annotations

import dataclasses
import math
from dataclasses import dataclass, field

import numpy as np


class _Fields:
    """Read-only mapping access to a dataclass's fields (``block["ad_mean"]``, ``get``, ``keys``, ``items``)."""

    def __getitem__(self, key):
        if key not in self.keys():
            raise KeyError(key)
        return getattr(self, key)

    def get(self, key, default=None):
        return getattr(self, key) if key in self.keys() else default

    def keys(self):
        return [f.name for f in dataclasses.fields(self)]

    def items(self):
        return [(k, getattr(self, k)) for k in self.keys()]

    def __contains__(self, key):
        return key in self.keys()

    def to_dict(self) -> dict:
        """Plain Python values (nested blocks as dicts)."""
        return {k: v.to_dict() if isinstance(v, _Fields) else v for k, v in self.items()}


@dataclass
class TestBlock(_Fields):
    """The paper's aggregates and the calibrated check on one set of tested columns (coordinates or projections).

    ``calibrated_pvalue`` is the p-value of the view's calibrated check (see :mod:`infogauss.report`);
    ``calibrated_null`` says how it was calibrated: ``"bonferroni"`` (``2 · min`` of the Cauchy combination of the
    per-column AD p-values and the AD pass count's p-value) or ``"monte-carlo"`` (that minimum's simulated null at the
    sample's own (n, d))."""

    __test__ = False  # not a pytest class
    tested: int
    untestable: int
    ad_mean: float
    ad_pass_fraction: float
    dp_mean_p: float
    dp_pass_fraction: float
    paper_verdict: bool
    null_ad_pass_rate: float
    null_dp_pass_rate: float
    ad_pass_interval: list
    dp_pass_interval: list
    ad_combined_pvalue: float
    dp_combined_pvalue: float
    combined_pvalue: float
    calibrated_pvalue: float
    calibrated_null: str
    calibrated_verdict: bool


@dataclass
class ProjectionBlock(TestBlock):
    """:class:`TestBlock` on ``k`` random orthonormal directions."""

    k: int = 0


@dataclass
class ViewSummary(TestBlock):
    """One view (``raw`` or L2-``normalized`` rows): the thin-shell CV (paper Eq. 20), the mean norm, the coordinate
    block's fields and the ``projections`` block."""

    cv: float = math.nan
    mean_norm: float = math.nan
    projections: ProjectionBlock | None = None


@dataclass
class Verdict(_Fields):
    """The whole report's calibrated verdict over raw / normalised × coordinates / projections: ``pvalue`` is the
    Monte-Carlo p-value of the smallest view p-value against the same minimum in the views' joint simulated null
    (``method="monte-carlo"``), or ``min(1, 4 · min of the views' p-values)`` (``"bonferroni"``, when the views are
    not simulated); ``gaussian = pvalue > alpha``."""

    pvalue: float
    alpha: float
    gaussian: bool
    views: dict = field(default_factory=dict)  # view name -> its calibrated p-value
    method: str = "bonferroni"


def plain(x):
    """numpy / torch scalars and arrays, blocks and named tuples -> Python floats, ints, bools, lists, dicts."""
    if isinstance(x, _Fields):
        return plain(x.to_dict())
    if isinstance(x, dict):
        return {str(k): plain(v) for k, v in x.items()}
    if isinstance(x, list | tuple) and not hasattr(x, "_asdict"):
        return [plain(v) for v in x]
    if type(x).__module__.startswith("torch"):
        x = x.detach().cpu().numpy()
    if isinstance(x, np.ndarray):
        return x.item() if x.ndim == 0 else [plain(v) for v in x.tolist()]
    if isinstance(x, np.bool_):
        return bool(x)
    if isinstance(x, np.integer):
        return int(x)
    if isinstance(x, np.floating):
        return float(x)
    if hasattr(x, "_asdict"):
        return plain(x._asdict())
    return x


def json_safe(x):
    """NaN / ±Inf -> None, so ``json.dumps(..., allow_nan=False)`` works (strict JSON)."""
    if isinstance(x, dict):
        return {k: json_safe(v) for k, v in x.items()}
    if isinstance(x, list):
        return [json_safe(v) for v in x]
    if isinstance(x, float) and not math.isfinite(x):
        return None
    return x


@dataclass
class GaussianityReport:
    """Result of :func:`~infogauss.report.gaussianity_report`. ``raw`` / ``normalized`` are :class:`ViewSummary`
    blocks (``report.raw.ad_mean``, ``report.raw.projections.calibrated_verdict``; ``report.raw["ad_mean"]`` still
    works); ``verdict`` the whole report's calibrated :class:`Verdict`; ``geometry`` a dict; ``per_coordinate`` /
    ``per_projection`` the per-column numpy arrays (``index``, ``ad_statistic``, ``ad_pvalue``, ``dp_statistic``,
    ``dp_pvalue`` for each view); ``null`` the simulated reference; ``samples`` small arrays for plots (row-subsample
    values of a few columns, norms, the covariance spectrum). :meth:`to_dict` gives JSON types."""

    n: int
    d: int
    raw: ViewSummary
    normalized: ViewSummary
    dead_coordinates: np.ndarray
    geometry: dict
    settings: dict
    source: str = "Z"
    dtype: str = "float64"
    per_coordinate: dict = field(default_factory=dict, repr=False)
    per_projection: dict = field(default_factory=dict, repr=False)
    null: object = field(default=None, repr=False)
    samples: dict = field(default_factory=dict, repr=False)
    verdict: Verdict | None = None

    def to_dict(self, per_coordinate: bool = False) -> dict:
        """Plain JSON types with stable keys: ``n``, ``d``, ``raw`` / ``normalized`` (each with ``cv``, ``ad_mean``,
        ``ad_pass_fraction``, ``dp_mean_p``, ``dp_pass_fraction``, ``paper_verdict``, the calibrated fields and a
        ``projections`` sub-dict), ``verdict``, ``dead_coordinates``, ``geometry``, ``calibration``, ``settings``.
        ``per_coordinate=True`` adds the per-coordinate and per-projection statistics as lists. Undefined numbers
        (NaN, e.g. when no coordinate could be tested) become ``None``, so the result is strict JSON."""
        import infogauss
        from infogauss.constants import CALIBRATED_ALPHA

        out = {
            "n": self.n,
            "d": self.d,
            "source": self.source,
            "dtype": self.dtype,
            "tested_coordinates": int(self.d - len(self.dead_coordinates)),
            "dead_coordinates": {
                "count": int(len(self.dead_coordinates)),
                "indices": [int(i) for i in self.dead_coordinates],
            },
            "raw": self.raw.to_dict(),
            "normalized": self.normalized.to_dict(),
            "verdict": self.verdict.to_dict() if self.verdict else None,
            "geometry": self.geometry,
            "calibration": {
                "null_n": getattr(self.null, "n", None),
                "null_reps": getattr(self.null, "reps", None),
                "null_seed": getattr(self.null, "seed", None),
                "interval_level": 1 - CALIBRATED_ALPHA,
                "alpha": CALIBRATED_ALPHA,
                "interval_method": "beta-binomial predictive, Jeffreys posterior of the simulated null pass rate; "
                "assumes independent coordinates (dependence widens it); descriptive, not part of the verdict",
                "view_check": "Cauchy combination (Liu & Xie 2020) of the view's per-column AD p-values; for the "
                "normalised views its Monte-Carlo null under rows uniform on the sphere at the sample's (n, d)",
                "report_check": "Monte-Carlo p-value of the smallest of the views' calibrated p-values, or Bonferroni "
                "over them (verdict.method says which)",
            },
            "settings": self.settings,
            "version": infogauss.__version__,
        }
        if per_coordinate:
            out["per_coordinate"] = _lists(self.per_coordinate)
            out["per_projection"] = _lists(self.per_projection)
        return json_safe(plain(out))

    def summary_table(self) -> str:
        """A short fixed-width table for the terminal."""
        from infogauss.report.format import summary_table

        return summary_table(self)

    def to_markdown(self, figures=()) -> str:
        """A readable Markdown report: the paper's table, the calibrated checks, geometry, how to read them, and a
        link to each PNG named in ``figures`` (files beside the Markdown)."""
        from infogauss.report.format import to_markdown

        return to_markdown(self, figures)

    def to_html(self, figures: bool | dict = True, full_page: bool = True) -> str:
        """Self-contained HTML (inline CSS, figures as data URIs): ``figures=True`` renders the figures of
        :mod:`infogauss.plots` in memory, a ``{name: PNG bytes}`` dict embeds those, ``False`` none;
        ``full_page=False`` gives the body only (what :meth:`_repr_html_` shows)."""
        from infogauss.report import html

        images = html.render_images(self) if figures is True else dict(figures or {})
        return html.report_page(self, images) if full_page else html.report_body(self, images)

    def _repr_html_(self) -> str:
        """Notebook display: the HTML report body with its figures (rendered once, then cached)."""
        from infogauss.report import html

        if "_html_images" not in self.__dict__:
            self.__dict__["_html_images"] = html.render_images(self)
        return html.report_body(self, self.__dict__["_html_images"])

    def to_dataframe(self):
        """A pandas DataFrame with one row per view (raw / normalized × coordinates / projections) and one column per
        quantity of the report (``cv``, ``ad_mean``, ..., ``calibrated_verdict``; intervals as ``*_low`` /
        ``*_high``). Needs pandas (a one-line :class:`~infogauss.errors.InputError` when it is missing)."""
        try:
            import pandas as pd
        except ModuleNotFoundError:
            from infogauss.errors import InputError

            raise InputError("GaussianityReport.to_dataframe needs pandas, which is not installed: pip install "
                             "pandas") from None  # fmt: skip
        return pd.DataFrame(self.view_rows()).set_index(["view", "columns"])

    def view_rows(self) -> list[dict]:
        """One flat dict per view (the rows of :meth:`to_dataframe`), plain Python values."""
        rows = []
        for name, view in (("raw", self.raw), ("normalized", self.normalized)):
            for kind, block in (("coordinates", view), ("projections", view.projections)):
                row = {"view": name, "columns": kind, "n": self.n, "d": self.d, "source": self.source,
                       "cv": view.cv, "mean_norm": view.mean_norm}  # fmt: skip
                for key, value in block.items():
                    if key == "projections":
                        continue
                    if key.endswith("_interval"):
                        row[f"{key}_low"], row[f"{key}_high"] = (float(x) for x in value)
                    else:
                        row[key] = value
                rows.append(plain(row))
        return rows


def _lists(per: dict) -> dict:
    return {view: {k: v.tolist() for k, v in arr.items()} for view, arr in per.items()}
