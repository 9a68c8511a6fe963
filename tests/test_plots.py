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


def test_sphere_cosine_pdf_is_the_law_of_two_uniform_directions(rng):
    from scipy import integrate

    from infogauss.errors import InputError
    from infogauss.plots import sphere_cosine_pdf

    for d in (2, 3, 5, 32, 384):
        mass = integrate.quad(sphere_cosine_pdf, -1, 1, args=(d,), points=[0.0])[0]
        var = integrate.quad(lambda t, k: t * t * sphere_cosine_pdf(t, k), -1, 1, args=(d,), points=[0.0])[0]
        assert mass == pytest.approx(1.0, abs=1e-6) and var == pytest.approx(1 / d, rel=1e-4)
    assert np.allclose(sphere_cosine_pdf([-0.5, 0.0, 0.7], 3), 0.5)  # d = 3: uniform on (-1, 1) (Archimedes)
    # Monte Carlo: cosines of independent Gaussian directions in R^8 follow it (binned density within noise)
    u, v = rng.normal(size=(2, 200_000, 8))
    t = np.einsum("ij,ij->i", u, v) / np.linalg.norm(u, axis=1) / np.linalg.norm(v, axis=1)
    counts, edges = np.histogram(t, bins=20, range=(-1, 1), density=True)
    mid = 0.5 * (edges[1:] + edges[:-1])
    assert np.max(np.abs(counts - sphere_cosine_pdf(mid, 8))) < 0.03
    for bad in (1, 0, 2.5):
        with pytest.raises(InputError):
            sphere_cosine_pdf(0.0, bad)


def test_cosine_histogram_overlays_the_uniform_density(report):
    ax = figures(report)["cosines.png"].axes[0]
    ref = [line for line in ax.get_lines() if "uniform on S^11" in line.get_label()]
    assert len(ref) == 1 and "exact" in ref[0].get_label()
    assert ax.get_ylabel() == "density"  # histograms and the reference in the same units


def test_qq_panels_keep_their_natural_aspect():
    rng = np.random.default_rng(3)
    Z = rng.normal(size=(2000, 6))
    Z[:, 0] = rng.standard_t(2, size=2000)  # heavy tails: sample quantiles far beyond the normal ones
    fig = figures(gaussianity_report(Z, projections=0, geometry=False, null_reps=200))["qq.png"]
    worst = next(ax for ax in fig.axes if "worst" in ax.get_title() and "coordinate" in ax.get_title())
    (x0, x1), (y0, y1) = worst.get_xlim(), worst.get_ylim()
    assert (y1 - y0) > 1.5 * (x1 - x0)  # not forced square: the y axis follows the heavy tail
    assert "raw (unnormalised)" in fig.get_suptitle()


def test_per_coordinate_panels_say_which_rows(report):
    for name in ("ad_statistics.png", "dp_pvalues.png"):
        titles = [ax.get_title() for ax in figures(report)[name].axes]
        assert titles[0].startswith("raw (unnormalised) embeddings:") and titles[1].startswith("L2-normalised rows:")
