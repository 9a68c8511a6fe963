"""report.html, index.html, the verdict-aware reading text, _repr_html_ and to_dataframe."""

import base64
import dataclasses
import json
import re
import sys
import types

import numpy as np
import pytest

from infogauss import gaussianity_report
from infogauss.cli import main
from infogauss.errors import InputError
from infogauss.experiments import EXPERIMENTS, reproduce
from infogauss.experiments.tables import REPORT_COLUMNS, Table
from infogauss.report import html
from infogauss.report.reading import reading_points

FAST = dict(null_reps=400, geometry=False, progress=False)
PNG_MAGIC = b"\x89PNG\r\n\x1a\n"


def assert_self_contained(page: str) -> None:
    """No external resource (http(s) src/href, stylesheet links, scripts) and every <img> a decodable data: URI."""
    assert not re.search(r"""(src|href)\s*=\s*["']?\s*(https?:)?//""", page, re.I)
    assert "<link" not in page and "<script" not in page and "@import" not in page
    srcs = re.findall(r"<img[^>]*\ssrc=\"([^\"]+)\"", page)
    assert len(srcs) == page.count("<img")
    for src in srcs:
        assert src.startswith("data:image/png;base64,")
        assert base64.b64decode(src.split(",", 1)[1]).startswith(PNG_MAGIC)


@pytest.fixture(scope="module")
def analyzed(tmp_path_factory):
    """``infogauss analyze`` of Student-t(5) coordinates (clearly not Gaussian) with its figures."""
    tmp = tmp_path_factory.mktemp("analyze")
    np.save(tmp / "t.npy", np.random.default_rng(0).standard_t(5, size=(600, 8)))
    assert main(["analyze", str(tmp / "t.npy"), "--out", str(tmp / "out"), "--quiet"]) == 0
    return tmp / "out"


def test_report_html_is_self_contained_with_verdict_tables_and_figures(analyzed):
    page = (analyzed / "report.html").read_text()
    assert page.startswith("<!DOCTYPE html>") and "<style>" in page
    assert_self_contained(page)
    d = json.loads((analyzed / "report.json").read_text())
    assert d["verdict"]["gaussian"] is False and "✗ Not Gaussian" in page and "verdict bad" in page
    assert f"{d['raw']['ad_mean']:.4g}" in page and f"{d['normalized']['dp_mean_p']:.4g}" in page
    assert f"{d['raw']['calibrated_pvalue']:.3g}" in page and "[" in page  # calibrated p, null intervals
    assert f"{d['geometry']['uniformity_potential']['uniform_sphere']:.4g} for uniform on the sphere" in page
    pngs = sorted(p.name for p in analyzed.glob("*.png"))
    assert len(pngs) >= 5 and page.count("<img") == len(pngs)
    for name in pngs:
        assert f"<code>{name}</code>" in page
        assert html.data_uri((analyzed / name).read_bytes()) in page


def test_report_md_links_its_pngs_and_they_exist(analyzed):
    md = (analyzed / "report.md").read_text()
    links = re.findall(r"!\[[^\]]*\]\(([^)]+)\)", md)
    assert sorted(links) == sorted(p.name for p in analyzed.glob("*.png"))
    assert all((analyzed / link).is_file() for link in links)


def test_no_plots_gives_no_figures_and_no_dangling_links(tmp_path, rng):
    np.save(tmp_path / "z.npy", rng.normal(size=(200, 6)))
    assert main(["analyze", str(tmp_path / "z.npy"), "--out", str(tmp_path / "o"), "--no-plots", "--quiet"]) == 0
    assert "![" not in (tmp_path / "o" / "report.md").read_text()
    page = (tmp_path / "o" / "report.html").read_text()
    assert "<img" not in page and "Figures" not in page and "How to read this" in page


def test_reading_text_follows_the_verdict(rng):
    good = gaussianity_report(rng.normal(size=(1000, 16)), projections=8, **FAST)
    bad = gaussianity_report(rng.standard_t(8, size=(1500, 16)), projections=8, **FAST)
    assert good.verdict.gaussian and not bad.verdict.gaussian
    g, b = reading_points(good), reading_points(bad)
    assert g[0].startswith("**Consistent with a Gaussian**") and "Failed" not in g[0]
    assert b[0].startswith("**Not Gaussian**") and "raw coordinates (p = " in b[0].split("Passed")[0]
    assert g != b
    assert "Here the coordinates fail and the projections pass" in " ".join(b)  # heavy tails average out (CLT)
    assert "✓ Consistent with a Gaussian" in html.report_body(good) and "verdict ok" in html.report_body(good)


def test_normalised_coordinates_at_large_n_point_to_the_sphere_law(rng):
    # d = 4: the sphere's coordinates are far from Gaussian (excess kurtosis -1), so n = 3000 is already "large n"
    rep = gaussianity_report(rng.normal(size=(3000, 4)), projections=0, view_null="bonferroni", **FAST)
    assert rep.raw.calibrated_verdict and not rep.normalized.calibrated_verdict
    text = " ".join(reading_points(rep))
    assert "Beta((d-1)/2, (d-1)/2)" in text and "normalised views fail while the raw coordinates pass" in text
    assert "n ≳ 10⁶" in text and "maxwell_poincare" in text and "view_null='monte-carlo'" in text
    sphere = rng.normal(size=(1000, 32))
    ok = gaussianity_report(sphere, projections=0, **FAST)
    assert "Beta(" in " ".join(reading_points(ok)) and "maxwell_poincare" not in " ".join(reading_points(ok))


def test_subsample_fact_is_printed(rng):
    rep = gaussianity_report(rng.normal(size=(200, 6)), projections=2, **FAST)
    rep.settings["subsample"] = {"rows": 200, "of": 5000, "seed": 7}
    assert "Tested on a subsample of 200 of 5000 rows, seed 7." in rep.to_markdown()
    assert "subsample of 200 of 5000 rows, seed 7" in rep.to_html(figures=False)


def test_repr_html_is_the_body_with_figures(rng):
    rep = gaussianity_report(rng.normal(size=(300, 6)), projections=3, null_reps=400, progress=False)
    body = rep._repr_html_()
    assert body.startswith('<div class="ig-report">') and "<html" not in body and "<style" not in body
    assert "Whole report" in body and body.count("<img") >= 5
    assert_self_contained(body)
    assert rep._repr_html_() == body  # cached figures: the same bytes
    page = rep.to_html(figures=False)
    assert page.startswith("<!DOCTYPE html>") and "<img" not in page


def test_to_dataframe_one_row_per_view(rng):
    pytest.importorskip("pandas")
    rep = gaussianity_report(rng.normal(size=(300, 6)), projections=3, **FAST)
    df = rep.to_dataframe()
    assert df.shape[0] == 4 and list(df.index.names) == ["view", "columns"]
    assert {"cv", "ad_mean", "ad_pass_fraction", "dp_mean_p", "calibrated_pvalue", "calibrated_verdict",
            "ad_pass_interval_low", "ad_pass_interval_high"} <= set(df.columns)  # fmt: skip
    assert df.loc[("raw", "coordinates"), "ad_mean"] == rep.raw.ad_mean
    assert df.loc[("normalized", "projections"), "calibrated_pvalue"] == rep.normalized.projections.calibrated_pvalue
    assert df.loc[("raw", "projections"), "k"] == 3


def test_to_dataframe_without_pandas_is_one_line(rng, monkeypatch):
    rep = gaussianity_report(rng.normal(size=(100, 4)), projections=2, **FAST)
    monkeypatch.setitem(sys.modules, "pandas", None)
    with pytest.raises(InputError, match="needs pandas") as err:
        rep.to_dataframe()
    assert "\n" not in str(err.value)


def test_markdown_subset():
    out = html.markdown_html(
        "# T\n\nline one  \nline **two** `a<b`\n\n- x *y*\n  more\n- z\n\n| a | b |\n|---|---|\n| 1 | ✓ |\n\n"
        "see [r](results.md) and [p](https://example.org/x)\n\n```\n<raw>\n```"
    )
    assert "<h1>T</h1>" in out and "line one<br>" in out and "<strong>two</strong>" in out
    assert "<code>a&lt;b</code>" in out and "<li>x <em>y</em> more</li>" in out and "<li>z</li>" in out
    assert '<td class="num">1</td>' in out and '<td class="yes">✓</td>' in out
    assert '<a href="results.md">r</a>' in out and "p (https://example.org/x)" in out and 'href="https' not in out
    assert "<pre>&lt;raw&gt;</pre>" in out
    assert "<h2>T</h2>" in html.markdown_html("# T", shift=1)


def _fake_experiment():
    mod = types.ModuleType("infogauss.experiments._fake_html")
    mod.TITLE = "fake <title>"
    mod.SCALES = {s: {"about": s} for s in ("smoke", "cpu", "paper")}
    mod.run_seed = lambda ctx: ([{"name": "r", "cv": 0.5, "ad_mean": 0.25, "paper_verdict": True}], {})

    def figures(rows, extras, folder):
        import matplotlib.pyplot as plt

        fig, ax = plt.subplots()
        ax.plot([0, 1])
        fig.savefig(folder / "f.png")
        plt.close(fig)

    mod.figures = figures
    mod.tables = lambda rows: [Table("t", REPORT_COLUMNS[:2], rows, {"r": {"cv": 0.08}}, caption="cap")]
    mod.notes = lambda rows, per_seed, settings: "A note with `code`.\n\n- point"
    return mod


def test_reproduce_writes_index_html(tmp_path, monkeypatch):
    monkeypatch.setitem(sys.modules, "infogauss.experiments._fake_html", _fake_experiment())
    monkeypatch.setitem(EXPERIMENTS, "fake", "infogauss.experiments._fake_html")
    reproduce("fake", "smoke", 1, tmp_path / "o", progress=False)
    page = (tmp_path / "o" / "index.html").read_text()
    assert_self_contained(page)
    assert "<h1>fake &lt;title&gt;</h1>" in page and "<h3>t</h3>" in page and "<p>cap</p>" in page
    assert '0.5<span class="paper">paper: 0.08</span>' in page and ">0.25</td>" in page  # ours, the paper's beneath
    assert "<code>code</code>" in page and "<li>point</li>" in page and "&quot;experiment&quot;: &quot;fake" in page
    assert page.count("<img") == 1 and html.data_uri((tmp_path / "o" / "f.png").read_bytes()) in page


def test_reproduce_smoke_index_html(tmp_path):
    rows = reproduce("fig3", "smoke", 1, tmp_path / "fig3", progress=False)
    page = (tmp_path / "fig3" / "index.html").read_text()
    assert_self_contained(page)
    pngs = sorted((tmp_path / "fig3").glob("*.png"))
    assert pngs and page.count("<img") == len(pngs)
    assert f">{rows[0]['name']}</td>" in page and "<h2>Notes</h2>" in page and "<h2>Settings</h2>" in page


def test_blocks_round_trip_through_replace(rng):
    # the reading text reads the typed blocks only: a report changed with dataclasses.replace reads differently
    rep = gaussianity_report(rng.normal(size=(300, 6)), projections=3, **FAST)
    assert rep.raw.paper_verdict and rep.raw.calibrated_verdict
    flipped = dataclasses.replace(rep, raw=dataclasses.replace(rep.raw, calibrated_verdict=False))
    assert "says ✓ but the calibrated check says ✗" in " ".join(reading_points(flipped))
