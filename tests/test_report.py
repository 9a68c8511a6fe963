import json

import numpy as np
import pytest
from scipy.stats import binom

import infogauss
from infogauss.errors import InputError
from infogauss.report import AD_THRESHOLD, DP_ALPHA, gaussianity_report, null_calibration, pass_interval
from infogauss.stats import anderson_darling, cauchy_combination, dagostino_pearson

FAST = dict(null_reps=400, geometry=False)  # small null: these tests check the plumbing, not the null


def _json(rep, **kw):
    return json.dumps(rep.to_dict(**kw), allow_nan=False, sort_keys=True)


def test_stable_keys_and_strict_json(rng):
    rep = infogauss.gaussianity_report(rng.normal(size=(300, 12)), projections=5, null_reps=400)
    d = json.loads(_json(rep))
    assert (d["n"], d["d"]) == (300, 12)
    for view in ("raw", "normalized"):
        for key in ("cv", "ad_mean", "ad_pass_fraction", "dp_mean_p", "dp_pass_fraction", "paper_verdict"):
            assert key in d[view]
        for key in ("ad_pass_interval", "dp_pass_interval", "combined_pvalue", "calibrated_verdict"):
            assert key in d[view] and key in d[view]["projections"]
        assert d[view]["projections"]["k"] == 5
    assert d["dead_coordinates"] == {"count": 0, "indices": []}
    assert {"uniformity_t2", "uniformity_potential", "mean_embedding_norm", "isotropy"} <= set(d["geometry"])
    assert "per_coordinate" in json.loads(_json(rep, per_coordinate=True))


def test_numbers_are_the_stats_functions_on_each_column(rng):
    Z = rng.standard_t(6, size=(400, 7))
    rep = gaussianity_report(Z, projections=3, block=2, **FAST)
    ad = anderson_darling(Z, axis=0)
    dp = dagostino_pearson(Z, axis=0)
    pc = rep.per_coordinate["raw"]
    np.testing.assert_allclose(pc["ad_statistic"], ad.statistic, rtol=1e-12)
    np.testing.assert_allclose(pc["dp_pvalue"], dp.pvalue, rtol=1e-10)
    assert rep.raw["ad_mean"] == pytest.approx(np.mean(ad.statistic), rel=1e-12)
    assert rep.raw["ad_pass_fraction"] == np.mean(ad.statistic < AD_THRESHOLD)
    assert rep.raw["dp_mean_p"] == pytest.approx(np.mean(dp.pvalue), rel=1e-12)
    assert rep.raw["dp_pass_fraction"] == np.mean(dp.pvalue > DP_ALPHA)
    both = np.concatenate([ad.pvalue, dp.pvalue])
    assert rep.raw["combined_pvalue"] == pytest.approx(float(cauchy_combination(both).pvalue), rel=1e-9)
    r = np.linalg.norm(Z, axis=1)
    U = Z / r[:, None]
    np.testing.assert_allclose(rep.per_coordinate["normalized"]["ad_statistic"], anderson_darling(U).statistic)
    assert rep.raw["cv"] == pytest.approx(r.std() / r.mean(), rel=1e-12)
    assert rep.normalized["cv"] < 1e-12
    # projections: the same tests on Z @ P with P from stats.random_orthonormal(d, k, seed)
    from infogauss.stats import random_orthonormal

    P = random_orthonormal(7, 3, 0)
    np.testing.assert_allclose(rep.per_projection["raw"]["ad_statistic"], anderson_darling(Z @ P).statistic)
    np.testing.assert_allclose(rep.per_projection["normalized"]["dp_pvalue"], dagostino_pearson(U @ P).pvalue)


def test_memory_mapped_file_gives_identical_numbers(tmp_path, rng):
    Z = (rng.normal(size=(500, 9)) * rng.uniform(0.5, 2, size=9)).astype(np.float32)
    Z[:, 4] = 1.5  # a dead column too
    np.save(tmp_path / "z.npy", Z)
    mm = np.load(tmp_path / "z.npy", mmap_mode="r")
    assert isinstance(mm, np.memmap)
    for block, memory, geometry in ((2, 500 * 4 * 3, False), (None, None, True)):  # 3 columns per pass / all
        a = gaussianity_report(Z, projections=4, block=block, memory=memory, null_reps=400, geometry=geometry)
        b = gaussianity_report(mm, projections=4, block=block, memory=memory, null_reps=400, geometry=geometry)
        assert _json(a, per_coordinate=True) == _json(b, per_coordinate=True)
        assert a.settings["column_passes"] == (7 if memory else 2)  # 8 live float32 columns / 3, 4 projections / 1
    # the column blocking changes only the rounding of the tests' vectorised sums
    c = gaussianity_report(Z, projections=4, block=1, null_reps=400, geometry=False)
    for view in ("raw", "normalized"):
        np.testing.assert_allclose(
            c.per_coordinate[view]["ad_statistic"], a.per_coordinate[view]["ad_statistic"], rtol=1e-10
        )
        np.testing.assert_allclose(c.per_projection[view]["dp_pvalue"], a.per_projection[view]["dp_pvalue"], rtol=1e-10)


def test_small_row_blocks_and_many_passes_give_the_same_numbers(rng, monkeypatch):
    import infogauss.report as report

    Z = rng.normal(size=(300, 6))
    a = gaussianity_report(Z, projections=3, **FAST)
    monkeypatch.setattr(report, "ROW_BYTES", 6 * 8 * 7)  # 7 rows per block: many row blocks, ragged last block
    b = gaussianity_report(Z, projections=3, memory=300 * 8, **FAST)  # one column per pass over the rows
    assert b.settings["column_passes"] == 9
    for view in ("raw", "normalized"):  # other blocks round sums differently (~1e-15), nothing more
        for key, v in a.per_coordinate[view].items():
            np.testing.assert_allclose(v, b.per_coordinate[view][key], rtol=1e-12)
        for key, v in a.per_projection[view].items():
            np.testing.assert_allclose(v, b.per_projection[view][key], rtol=1e-12)


def test_dead_coordinates_reported_and_excluded(rng):
    Z = rng.normal(size=(300, 10))
    Z[:, [2, 7]] = 0.0
    Z[:, 5] = -3.0
    rep = gaussianity_report(Z, projections=4, **FAST)
    d = rep.to_dict()
    assert d["dead_coordinates"] == {"count": 3, "indices": [2, 5, 7]}
    assert d["tested_coordinates"] == 7
    assert rep.raw["tested"] == 7 and rep.normalized["tested"] == 7
    assert list(rep.per_coordinate["raw"]["index"]) == [0, 1, 3, 4, 6, 8, 9]
    assert np.isfinite(rep.raw["ad_mean"]) and np.isfinite(rep.raw["combined_pvalue"])
    assert "3 dead" in rep.summary_table()


def test_verdicts_gaussian_heavy_tailed_and_mild(rng):
    n, d = 3000, 40
    gauss = gaussianity_report(rng.normal(size=(n, d)), projections=10, geometry=False)
    assert gauss.raw["paper_verdict"] and gauss.raw["calibrated_verdict"]
    lo, hi = gauss.raw["ad_pass_interval"]
    assert lo <= gauss.raw["ad_pass_fraction"] <= hi
    laplace = gaussianity_report(rng.laplace(size=(n, d)), projections=10, geometry=False)
    assert not laplace.raw["paper_verdict"] and not laplace.raw["calibrated_verdict"]
    assert laplace.raw["combined_pvalue"] < 1e-10
    # Student-t(40): the paper's mean-based rule passes it, the calibrated verdict does not
    mild = gaussianity_report(rng.standard_t(40, size=(n, d)), projections=10, geometry=False)
    assert mild.raw["paper_verdict"] and not mild.raw["calibrated_verdict"]
    assert mild.raw["ad_pass_fraction"] < mild.raw["ad_pass_interval"][0]


def test_null_pass_rates_match_the_nominal_level():
    null = null_calibration(1000, 2000)
    # DP p-values are uniform under the null, so P(p > 0.05) = 0.95; 0.752 is AD's 5% point.
    lo, hi = binom.ppf([0.005, 0.995], null.reps, 0.95) / null.reps
    assert lo <= null.dp_passes / null.reps <= hi
    assert lo <= null.ad_passes / null.reps <= hi
    assert null_calibration(1000, 2000) is null  # cached
    assert null_calibration(10**6, 50).n == 20_000  # capped


def test_pass_interval_is_the_binomial_one_when_the_null_is_known():
    m, p = 300, 0.95
    lo, hi = pass_interval(m, passes=950_000, reps=1_000_000)
    blo, bhi = binom.ppf([0.005, 0.995], m, p) / m
    assert abs(lo - blo) <= 1 / m and abs(hi - bhi) <= 1 / m  # equal up to one step of the discrete law
    lo_small, hi_small = pass_interval(m, passes=95, reps=100)  # an uncertain null rate widens it
    assert lo_small <= lo and hi_small >= hi and (lo_small, hi_small) != (lo, hi)


def test_calibrated_verdict_rarely_rejects_gaussian_data(rng):
    # 40 independent Gaussian data sets: the calibrated verdict makes three checks at level 1% each.
    rejections = sum(
        not gaussianity_report(rng.normal(size=(200, 16)), projections=0, **FAST).raw["calibrated_verdict"]
        for _ in range(40)
    )
    assert rejections <= 6  # mean ~1.2; P(X > 6) < 1e-3 under Binomial(40, 0.03)


def test_input_errors(rng):
    Z = rng.normal(size=(50, 4))
    bad = Z.copy()
    bad[31, 1] = np.nan
    with pytest.raises(InputError, match="row 31"):
        gaussianity_report(bad, **FAST)
    zero = Z.copy()
    zero[3] = 0
    with pytest.raises(InputError, match="all zero.*row 3"):
        gaussianity_report(zero, **FAST)
    with pytest.raises(InputError, match="same shape"):
        gaussianity_report(Z, Z[:40], **FAST)
    with pytest.raises(InputError, match="projections"):
        gaussianity_report(Z, projections=5, **FAST)
    with pytest.raises(InputError, match="constant"):
        gaussianity_report(np.ones((20, 3)), **FAST)
    with pytest.raises(InputError, match="at least 8 rows"):
        gaussianity_report(Z[:5], **FAST)
    with pytest.raises(InputError, match="2-D"):
        gaussianity_report(Z[:, 0], **FAST)


def test_torch_input_and_pairs(rng):
    import torch

    Z = rng.normal(size=(300, 16))
    V = Z + 0.1 * rng.normal(size=Z.shape)
    a = gaussianity_report(Z, V, projections=4, null_reps=400)
    b = gaussianity_report(torch.from_numpy(Z), torch.from_numpy(V), projections=4, null_reps=400)
    assert _json(a) == _json(b)
    g = a.to_dict()["geometry"]
    assert 0 < g["alignment"] < 0.1
    assert g["cosine"]["positive"]["mean"] > 0.9
    assert abs(g["cosine"]["negative"]["mean"]) < 0.05
    assert 0 <= g["maxwell_poincare"]["pvalue"] <= 1
    assert a.samples["spectrum"].shape == (16,)


def test_uniform_sphere_references():
    from infogauss.report import phi_uniform as _phi_uniform

    # d = 3: u·v is uniform on [-1, 1] (Archimedes), so E exp(alpha t) = sinh(alpha) / alpha
    assert _phi_uniform(3, 10.0) == pytest.approx(np.log(np.sinh(10.0) / 10.0), rel=1e-12)
    # large d: u·v ≈ N(0, 1/d), Φ ≈ alpha² / (2d); the Bessel form underflowed here
    assert _phi_uniform(1024, 4.0) == pytest.approx(4.0**2 / (2 * 1024), rel=1e-3)
    assert _phi_uniform(65536, 10.0) == pytest.approx(10.0**2 / (2 * 65536), rel=1e-4)


def test_geometry_of_uniform_sphere_points_matches_the_references(rng):
    u = rng.normal(size=(3000, 64))
    g = gaussianity_report(u / np.linalg.norm(u, axis=1, keepdims=True), projections=0, null_reps=200,
                           view_null="bonferroni").geometry  # fmt: skip
    assert g["uniformity_t2"]["value"] == pytest.approx(g["uniformity_t2"]["uniform_sphere"], abs=0.01)
    assert g["uniformity_potential"]["value"] == pytest.approx(g["uniformity_potential"]["uniform_sphere"], abs=0.05)
    assert g["isotropy"]["effective_rank_fraction"] > 0.95


def test_text_outputs(rng):
    rep = gaussianity_report(rng.normal(size=(300, 12)), projections=4, null_reps=400)
    table = rep.summary_table()
    assert "raw coordinates" in table and "normalized projections" in table
    assert f"{rep.raw['ad_mean']:.3f}" in table
    md = rep.to_markdown()
    assert "AD avg (<0.752)" in md and "calibrated verdict" in md and "Φ" in md


def test_progress_bar_runs(rng, capsys):
    gaussianity_report(rng.normal(size=(100, 5)), projections=2, progress=True, **FAST)
    assert "column tests" in capsys.readouterr().err


def test_typed_blocks_keep_dict_access(rng):
    rep = gaussianity_report(rng.normal(size=(200, 6)), projections=3, **FAST)
    assert rep.raw.ad_mean == rep.raw["ad_mean"] == rep.raw.get("ad_mean")
    assert rep.raw.projections.k == rep.raw["projections"]["k"] == 3
    assert "calibrated_pvalue" in rep.raw and "calibrated_pvalue" in rep.raw.keys()
    assert rep.raw.get("no_such_key", 7) == 7
    with pytest.raises(KeyError):
        rep.raw["no_such_key"]
    d = rep.raw.to_dict()
    assert isinstance(d, dict) and isinstance(d["projections"], dict) and d["ad_mean"] == rep.raw.ad_mean
    full = json.loads(_json(rep))
    assert full["raw"]["projections"]["calibrated_verdict"] == rep.raw.projections.calibrated_verdict
    assert full["verdict"]["pvalue"] == pytest.approx(rep.verdict.pvalue)
    assert rep.verdict.method == "monte-carlo" and 0 < rep.verdict.pvalue <= 1 and len(rep.verdict.views) == 4
    bonf = gaussianity_report(rng.normal(size=(200, 6)), projections=3, view_null="bonferroni", **FAST)
    views = [bonf.raw, bonf.raw.projections, bonf.normalized, bonf.normalized.projections]
    assert bonf.verdict.method == "bonferroni"
    assert bonf.verdict.pvalue == pytest.approx(min(1.0, 4 * min(v.calibrated_pvalue for v in views)))


def test_uniformity_potential_at_the_runs_temperature(rng):
    from infogauss.stats import uniformity_potential

    x = rng.normal(size=(300, 8))
    for tau in (0.1, 0.5):
        rep = gaussianity_report(x, projections=0, null_reps=100, temperature=tau)
        phi = rep.geometry["uniformity_potential"]
        assert phi["alpha"] == pytest.approx(1 / tau)
        assert phi["value"] == pytest.approx(uniformity_potential(x, 1 / tau), rel=1e-12)
    with pytest.raises(InputError, match="temperature"):
        gaussianity_report(x, temperature=0.0)


@pytest.mark.parametrize("scale", [1e300, 1e-300, 2.0**-1060])
def test_extreme_overall_scales(rng, scale):
    import warnings

    x = rng.normal(size=(300, 10))
    ref = gaussianity_report(x, projections=4, null_reps=100)
    with warnings.catch_warnings():
        warnings.simplefilter("error")  # no overflow / underflow warnings
        rep = gaussianity_report(x * scale, projections=4, null_reps=100)
    exact = scale == 2.0**-1060  # a power of two, but subnormal: the input itself lost digits
    rtol = 1e-3 if exact else 1e-9
    np.testing.assert_allclose(rep.per_coordinate["raw"]["ad_statistic"], ref.per_coordinate["raw"]["ad_statistic"],
                               rtol=rtol)  # fmt: skip
    assert rep.raw.cv == pytest.approx(ref.raw.cv, rel=rtol) and rep.dead_coordinates.size == 0
    assert rep.normalized.ad_mean == pytest.approx(ref.normalized.ad_mean, rel=rtol)
    assert rep.geometry["isotropy"]["effective_rank"] == pytest.approx(ref.geometry["isotropy"]["effective_rank"])


def test_columns_on_very_different_scales(rng):
    x = rng.normal(size=(400, 12))
    y = x.copy()
    y[:, 0] *= 1e10
    y[:, 1] += 1e12
    rep = gaussianity_report(y, projections=4, null_reps=100)  # no "covariance is singular", no dead columns
    assert rep.dead_coordinates.size == 0 and rep.raw.tested == 12
    ref = anderson_darling(x, axis=0).statistic
    np.testing.assert_allclose(rep.per_coordinate["raw"]["ad_statistic"][[0, *range(2, 12)]], np.delete(ref, 1),
                               rtol=1e-9)  # fmt: skip
    assert rep.per_coordinate["raw"]["ad_statistic"][1] == pytest.approx(ref[1], rel=1e-3)  # 1e12 + z: ulp 1e-4
    mp = rep.geometry["maxwell_poincare"]
    assert "skipped" in mp or 0 <= mp["pvalue"] <= 1


def test_view_null_option(rng):
    x = rng.normal(size=(60, 5))
    mc = gaussianity_report(x, **FAST)
    assert mc.normalized.calibrated_null == "monte-carlo" == mc.raw.calibrated_null
    plain = gaussianity_report(x, view_null="bonferroni", **FAST)
    assert plain.normalized.calibrated_null == "bonferroni" == plain.raw.calibrated_null
    with pytest.raises(InputError, match="view_null"):
        gaussianity_report(x, view_null="exact")


def test_column_bank_caps_the_simulated_rows_at_huge_n(monkeypatch):
    # n·d beyond BANK_MAX_NUMBERS: samples of BANK_MAX_NUMBERS // d rows (a 10⁹-row report must not simulate 10⁹ rows)
    from infogauss.report import null

    monkeypatch.setattr(null, "BANK_MAX_NUMBERS", 16 * 300)
    null.column_bank.cache_clear()
    with pytest.warns(UserWarning, match="uses samples of 300 rows"):
        a_raw, p_raw, a_norm, p_norm = null.column_bank(10**12, 16, cols=64)
    assert a_raw.size == p_norm.size >= 64 and np.all((p_raw >= 0) & (p_raw <= 1))
    null.column_bank.cache_clear()
    small = null.column_bank(300, 16, cols=64)  # the same rows simulated whole: the same draws
    np.testing.assert_array_equal(small[0], a_raw)
    null.column_bank.cache_clear()


def test_normalised_views_read_against_the_spheres_pass_rate():
    # L2-normalised coordinates of an exact Gaussian are Beta, not Gaussian: at (5000, 4) they all fail AD. The
    # normalised view's null pass rate and interval are the sphere's (what its calibrated check uses), so the
    # fraction it shows sits inside the interval beside it; the raw view keeps the Gaussian columns' interval.
    from infogauss.report import sphere_passes

    rep = gaussianity_report(np.random.default_rng(3).standard_normal((5000, 4)), geometry=False)
    passes, cols = sphere_passes(5000, 4)
    assert rep.normalized.ad_pass_interval == list(pass_interval(4, passes, cols))
    assert rep.normalized.null_ad_pass_rate == passes / cols < 0.05
    lo, hi = rep.normalized.ad_pass_interval
    assert lo <= rep.normalized.ad_pass_fraction <= hi
    assert rep.raw.ad_pass_interval == list(pass_interval(4, rep.null.ad_passes, rep.null.reps))
    assert rep.raw.ad_pass_interval[1] == 1.0 and rep.raw.ad_pass_interval[0] > hi
