"""``reproduce ood`` and ``reproduce whitening`` at smoke scale, and their pieces (loader, corruptions, scores)."""

import gzip
import json

import numpy as np
import pytest
import torch

from infogauss.errors import InputError
from infogauss.experiments import EXPERIMENTS, SCALES, experiment, reproduce
from infogauss.experiments._output import REPORT_KEYS
from infogauss.experiments.ood import auroc, corrupt, load_fashion_mnist, to_cifar_format


@pytest.fixture(scope="module")
def ood_rows(tmp_path_factory):
    out = tmp_path_factory.mktemp("ood") / "run"
    reproduce("ood", "smoke", 1, out, progress=False)
    return json.loads((out / "results.json").read_text()), out


def test_ood_registered_with_every_scale():
    assert "ood" in EXPERIMENTS
    assert set(experiment("ood").SCALES) == set(SCALES)


def test_ood_smoke_writes_rows_with_report_keys_and_aurocs(ood_rows):
    rows, out = ood_rows
    assert [r["name"] for r in rows] == ["supervised", "contrastive"]
    assert (out / "ood_shift.png").is_file() and (out / "results.md").is_file()
    for r in rows:
        for key in REPORT_KEYS:
            assert key in r
        aurocs = {k: v for k, v in r.items() if "_auroc_" in k}
        assert len(aurocs) == 12  # near/far x 3 scores x 2 representations
        assert all(0.0 <= v <= 1.0 for v in aurocs.values())
        for pre in ("", "backbone_"):
            for w in ("near", "far"):  # one Gaussian: -log p is increasing in the Mahalanobis distance
                assert r[f"{pre}{w}_auroc_loglik"] == pytest.approx(r[f"{pre}{w}_auroc_mahalanobis"])
            for kind in ("noise", "blur", "contrast"):
                assert -1.0 <= r[f"{pre}shift_{kind}_spearman"] <= 1.0
                assert np.isfinite(r[f"{pre}shift_{kind}_mean_loglik_5"])


def test_fashion_mnist_missing_file_names_the_package(tmp_path):
    with pytest.raises(InputError, match="dataset-fashion-mnist"):
        load_fashion_mnist(tmp_path / "absent.gz")


def test_fashion_mnist_reads_idx3_and_rejects_other_files(tmp_path):
    x = np.arange(2 * 28 * 28, dtype=np.uint64).reshape(2, 28, 28).astype(np.uint8)
    head = b"".join(int(v).to_bytes(4, "big") for v in (2051, 2, 28, 28))
    p = tmp_path / "t10k-images-idx3-ubyte.gz"
    with gzip.open(p, "wb") as f:
        f.write(head + x.tobytes())
    np.testing.assert_array_equal(load_fashion_mnist(p), x)
    np.testing.assert_array_equal(load_fashion_mnist(p, n=1), x[:1])
    rgb = to_cifar_format(load_fashion_mnist(p))
    assert rgb.shape == (2, 3, 32, 32) and rgb.dtype == torch.uint8
    assert torch.equal(rgb[:, 0], rgb[:, 2])
    bad = tmp_path / "bad.gz"
    with gzip.open(bad, "wb") as f:
        f.write(b"\x00" * 32)
    with pytest.raises(InputError, match="IDX3"):
        load_fashion_mnist(bad)


def test_corruptions():
    g = torch.Generator().manual_seed(0)
    x = torch.rand(4, 3, 32, 32, generator=g)
    for kind in ("noise", "blur", "contrast"):
        assert torch.equal(corrupt(x, kind, 0), x)
        y = corrupt(x, kind, 3)
        assert y.shape == x.shape and float(y.min()) >= 0 and float(y.max()) <= 1
    flat = torch.full((1, 3, 32, 32), 0.3)
    torch.testing.assert_close(corrupt(flat, "blur", 5), flat)  # a blur kernel sums to one
    stds = [float(corrupt(x, "contrast", s).std()) for s in range(6)]
    assert all(a > b for a, b in zip(stds, stds[1:], strict=False))
    assert float((corrupt(x, "noise", 5) - x).std()) > float((corrupt(x, "noise", 1) - x).std())


def test_auroc_orientation():
    assert auroc(np.array([0.0, 1.0]), np.array([2.0, 3.0])) == 1.0
    assert auroc(np.array([2.0, 3.0]), np.array([0.0, 1.0])) == 0.0
