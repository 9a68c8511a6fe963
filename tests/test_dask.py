"""The Dask engine on a 2-worker LocalCluster: the report, the Gaussian fit and ``analyze --dask`` equal the in-memory
results on the same data (1e-12 relative); bad input gives the in-memory engine's one-line errors."""

import json
import sys

import numpy as np
import pytest

da = pytest.importorskip("dask.array")
distributed = pytest.importorskip("distributed")

from infogauss import GaussianModel, gaussianity_report  # noqa: E402
from infogauss.cli import main  # noqa: E402
from infogauss.dask_engine import fit_gaussian, from_npy  # noqa: E402
from infogauss.errors import InputError  # noqa: E402

TOL = 1e-12


@pytest.fixture(scope="module")
def client():
    with distributed.LocalCluster(n_workers=2, threads_per_worker=1, processes=True, dashboard_address=None) as lc:
        with distributed.Client(lc) as c:
            yield c


@pytest.fixture(scope="module")
def data():
    rng = np.random.default_rng(11)
    Z = np.concatenate([rng.standard_normal((2000, 24)), rng.standard_t(6, (2000, 7)), np.full((2000, 1), 3.0)], 1)
    return Z.astype(np.float32)  # 32 columns: Gaussian, heavy-tailed and one dead


def rel(a, b) -> float:
    a, b = np.asarray(a, dtype=np.float64), np.asarray(b, dtype=np.float64)
    return float(np.max(np.abs(a - b)) / max(np.max(np.abs(b)), 1e-300)) if a.size else 0.0


def assert_same_report(a, b):
    for view in ("raw", "normalized"):
        for key, v in a.to_dict()[view].items():
            w = b.to_dict()[view][key]
            if key == "cv" and view == "normalized":  # ~1e-16: rounding noise of norms that are 1 by construction
                assert abs(v - w) < TOL
            elif isinstance(v, float):
                assert v == pytest.approx(w, rel=TOL, abs=0.0, nan_ok=True), (view, key)
            elif not isinstance(v, dict):
                assert v == w, (view, key)
        for kind in ("per_coordinate", "per_projection"):
            for key, v in getattr(a, kind)[view].items():
                assert rel(getattr(b, kind)[view][key], v) <= TOL, (kind, view, key)
    assert a.verdict.pvalue == pytest.approx(b.verdict.pvalue, rel=TOL)
    assert list(a.dead_coordinates) == list(b.dead_coordinates) == [31]
    assert rel(b.samples["norms"], a.samples["norms"]) <= TOL
    for key, q in a.samples["qq"].items():
        assert rel(b.samples["qq"][key]["raw"], q["raw"]) <= TOL


def test_report_equals_in_memory(client, data):
    Zd = da.from_array(data, chunks=(300, 32))  # uneven row chunks; several per worker
    mem = gaussianity_report(data, projections=16, seed=3)
    dsk = gaussianity_report(Zd, projections=16, seed=3)
    assert dsk.settings["engine"] == "dask" and mem.settings["engine"] == "numpy"
    assert_same_report(mem, dsk)
    assert dsk.raw["cv"] == pytest.approx(mem.raw["cv"], rel=TOL) and dsk.raw["tested"] == 31
    assert rel(dsk.geometry["isotropy"]["effective_rank"], mem.geometry["isotropy"]["effective_rank"]) <= TOL


@pytest.mark.parametrize("shrinkage", [None, "ledoit-wolf", 0.3])
def test_fit_equals_in_memory(client, data, shrinkage):
    Z = data[:, :31]  # the fit without the dead column (plain MLE would be singular)
    ref = GaussianModel.fit(Z, shrinkage=shrinkage)
    fits = fit_gaussian(da.from_array(Z, chunks=(300, 16)), shrinkage), GaussianModel.fit(da.from_array(Z), shrinkage)
    scale = np.sqrt(np.diag(ref.covariance))  # a mean near 0 is compared in the data's units (its std)
    for got in fits:
        assert np.max(np.abs(got.mean - ref.mean) / scale) <= TOL and rel(got.covariance, ref.covariance) <= TOL
        assert got.shrinkage == pytest.approx(ref.shrinkage, rel=TOL, abs=TOL)


def test_bad_rows_are_one_line_errors(client, data):
    Z = data.astype(np.float64)
    Z[1234, 5] = np.nan
    with pytest.raises(InputError, match="first in row 1234"):
        gaussianity_report(da.from_array(Z, chunks=(500, 32)))
    Z[1234, 5], Z[[40, 1700]] = 0.0, 0.0
    with pytest.raises(InputError, match=r"2 row\(s\) are all zero \(first: row 40\)"):
        gaussianity_report(da.from_array(Z, chunks=(500, 32)))


def test_analyze_cli_dask_and_max_rows(client, data, tmp_path):
    path = tmp_path / "z.npy"
    np.save(path, data)
    assert rel(from_npy(path, rows=333).compute(), data) == 0
    common = [str(path), "--no-plots", "--quiet", "--projections", "8", "--max-rows", "1500"]
    assert main(["analyze", *common, "--out", str(tmp_path / "mem")]) == 0
    assert main(["analyze", *common, "--out", str(tmp_path / "dask"), "--dask", client.scheduler.address]) == 0
    mem, dsk = (json.loads((tmp_path / k / "report.json").read_text()) for k in ("mem", "dask"))
    assert mem["settings"]["subsample"] == dsk["settings"]["subsample"] == {"rows": 1500, "of": 2000,
                                                                              "seed": 20260227}  # fmt: skip
    assert mem["n"] == dsk["n"] == 1500
    for key in ("ad_mean", "dp_mean_p", "cv", "calibrated_pvalue"):
        assert dsk["raw"][key] == pytest.approx(mem["raw"][key], rel=TOL)
    assert "subsample of 1500 of 2000 rows, seed 20260227" in (tmp_path / "dask" / "report.md").read_text()
    np.savez(tmp_path / "z.npz", emb=data)  # not a .npy: read here, then split into row chunks for the cluster
    argv = [str(tmp_path / "z.npz"), *common[1:], "--out", str(tmp_path / "npz"), "--dask", client.scheduler.address]
    assert main(["analyze", *argv]) == 0
    assert json.loads((tmp_path / "npz" / "report.json").read_text())["raw"]["ad_mean"] == dsk["raw"]["ad_mean"]


def test_missing_dask_is_one_line(monkeypatch, data):
    from infogauss.dask_engine import as_dask

    monkeypatch.setitem(sys.modules, "dask.array", None)
    with pytest.raises(InputError, match=r"\[dask\] extra"):
        as_dask(data)
