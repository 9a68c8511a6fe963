import numpy as np
import pytest

from infogauss.plots import figures, plot_report
from infogauss.report import gaussianity_report


@pytest.fixture(scope="module")
def report():
    rng = np.random.default_rng(7)
    Z = rng.normal(size=(400, 12))
    Z[:, 3] = 0.0  # a dead coordinate
    V = Z + 0.2 * rng.normal(size=Z.shape)
    return gaussianity_report(Z, V, projections=6, null_reps=400)


def test_every_figure_is_titled_and_labelled(report):
    figs = figures(report)
    assert set(figs) == {"qq.png", "ad_statistics.png", "dp_pvalues.png", "norms.png", "spectrum.png", "cosines.png"}
    for name, fig in figs.items():
        axes = [ax for ax in fig.axes if ax.get_visible()]
        assert axes, name
        titled = fig.get_suptitle() or all(ax.get_title() for ax in axes)
        assert titled, name
        for ax in axes:
            assert ax.get_xlabel() and ax.get_ylabel(), name
            assert ax.has_data(), name


def test_qq_shows_best_median_worst_coordinates_and_projections(report):
    picks = report.samples["qq"]
    assert len(picks) == 6
    assert sum(v["kind"] == "coord" for v in picks.values()) == 3
    assert not any(k.startswith("coordinate 3 ") for k in picks)  # the dead coordinate is not tested
    ad = [v["ad_statistic"] for v in picks.values() if v["kind"] == "coord"]
    assert ad == sorted(ad)  # best, median, worst


def test_plot_report_writes_pngs(tmp_path, report):
    paths = plot_report(report, tmp_path / "figs")
    assert len(paths) == 6
    for p in paths:
        assert p.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
        assert p.stat().st_size > 5000


def test_no_pairs_no_cosine_positive_and_no_geometry_no_spectrum(rng):
    rep = gaussianity_report(rng.normal(size=(200, 8)), projections=0, geometry=False, null_reps=400)
    figs = figures(rep)
    assert "spectrum.png" not in figs and "cosines.png" not in figs
    assert {"qq.png", "ad_statistics.png", "dp_pvalues.png", "norms.png"} <= set(figs)
