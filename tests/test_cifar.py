"""CIFAR-10 loading, the device-resident batcher and its SimCLR augmentations (infogauss.data.cifar).

The batched augmentation ops are checked pixel for pixel against torchvision's per-image functional ops with the
same parameters; the parameter sampler against torchvision's ``RandomResizedCrop.get_params`` (two-sample KS) and
the configured probabilities (binomial 99% intervals).
"""

from pathlib import Path

import numpy as np
import pytest
import torch
from scipy import stats
from torchvision.transforms import RandomResizedCrop
from torchvision.transforms.v2 import functional as TF

from infogauss.data import cifar
from infogauss.data.cifar import (
    CLASS_NAMES,
    MEAN,
    STD,
    CifarViews,
    SimCLRAugment,
    adjust_hue,
    color_jitter,
    load_cifar10,
    resized_crop,
    tiny_cifar,
)
from infogauss.errors import InputError

SHARED = Path(__file__).resolve().parents[1] / ".." / "shared" / "data" / "cifar10.npz"


def _one_line_error(call, match):
    with pytest.raises(InputError, match=match) as info:
        call()
    assert "\n" not in str(info.value)
    return str(info.value)


def _in_binomial_99(k, n, p):
    lo, hi = stats.binom.interval(0.99, n, p)
    return lo <= k <= hi


def _write_npz(path, n_train=20, n_test=10, layout="hwc", seed=0, **override):
    rng = np.random.default_rng(seed)
    shape = (32, 32, 3) if layout == "hwc" else (3, 32, 32)
    arrays = {
        "x_train": rng.integers(0, 256, (n_train, *shape), dtype=np.uint8),
        "y_train": (np.arange(n_train) % 10).astype(np.uint8),
        "x_test": rng.integers(0, 256, (n_test, *shape), dtype=np.uint8),
        "y_test": (np.arange(n_test) % 10).astype(np.uint8),
        "class_names": np.array(CLASS_NAMES),
    }
    arrays.update(override)
    np.savez(path, **{k: v for k, v in arrays.items() if v is not None})
    return arrays


# ----------------------------------------------------------------------------------------------------- loading
def test_load_npz_hwc_to_nchw(tmp_path):
    a = _write_npz(tmp_path / "c.npz")
    d = load_cifar10(tmp_path / "c.npz")
    assert d["x_train"].shape == (20, 3, 32, 32) and d["x_train"].dtype == torch.uint8
    assert d["x_test"].shape == (10, 3, 32, 32)
    assert d["y_train"].dtype == torch.int64 and d["y_train"].tolist() == a["y_train"].tolist()
    # pixel (row 5, column 7) of image 3 keeps its RGB values
    assert d["x_train"][3, :, 5, 7].tolist() == a["x_train"][3, 5, 7, :].tolist()
    assert d["class_names"] == list(CLASS_NAMES)
    assert str(tmp_path) in d["source"]


def test_load_npz_nchw_and_default_class_names(tmp_path):
    a = _write_npz(tmp_path / "c.npz", layout="chw", class_names=None)
    d = load_cifar10(str(tmp_path / "c.npz"))
    assert torch.equal(d["x_test"], torch.from_numpy(a["x_test"]))
    assert d["class_names"] == list(CLASS_NAMES)


def test_env_var_and_default_search(tmp_path, monkeypatch):
    _write_npz(tmp_path / "c.npz")
    monkeypatch.setenv(cifar.ENV_VAR, str(tmp_path / "c.npz"))
    assert load_cifar10()["x_train"].shape[0] == 20
    monkeypatch.setenv(cifar.ENV_VAR, str(tmp_path / "nope.npz"))
    _one_line_error(load_cifar10, "INFOGAUSS_CIFAR10=.*no such file")
    monkeypatch.delenv(cifar.ENV_VAR)
    monkeypatch.setattr(cifar, "default_locations", lambda: [tmp_path / "a" / "cifar10.npz"])
    msg = _one_line_error(load_cifar10, "CIFAR-10 not found")
    assert str(tmp_path / "a" / "cifar10.npz") in msg and "INFOGAUSS_CIFAR10" in msg and "download_root" in msg
    monkeypatch.setattr(cifar, "default_locations", lambda: [tmp_path / "c.npz"])
    assert load_cifar10()["x_test"].shape[0] == 10


def test_default_locations_include_shared_folder():
    locs = cifar.default_locations()
    assert any(p.parts[-3:] == ("shared", "data", "cifar10.npz") for p in locs)


@pytest.mark.parametrize(
    ("override", "match"),
    [
        ({"y_test": None}, "missing array.*y_test"),
        ({"x_train": np.zeros((4, 32, 32, 3), np.float32)}, "x_train has dtype float32; expected uint8"),
        ({"x_train": np.zeros((4, 28, 28, 3), np.uint8)}, r"x_train has shape \(4, 28, 28, 3\); expected"),
        ({"x_train": np.zeros((0, 32, 32, 3), np.uint8), "y_train": np.zeros(0, np.uint8)}, "x_train holds no images"),
        ({"y_train": np.arange(20) + 5}, "labels 5..24; CIFAR-10 labels are 0..9"),
        ({"y_train": np.zeros(19, np.uint8)}, r"y_train has shape \(19,\); expected \(20,\)"),
        ({"y_test": np.zeros(10, np.float32)}, "y_test has dtype float32; expected integer"),
        ({"class_names": np.array(["a", "b"])}, "class_names has 2 entries"),
    ],
)
def test_wrong_npz_contents(tmp_path, override, match):
    _write_npz(tmp_path / "c.npz", **override)
    _one_line_error(lambda: load_cifar10(tmp_path / "c.npz"), match)


def test_unreadable_files(tmp_path):
    (tmp_path / "junk.npz").write_bytes(b"not a zip file at all" * 10)
    _one_line_error(lambda: load_cifar10(tmp_path / "junk.npz"), "is not a .npz archive")
    (tmp_path / "random.npz").write_bytes(np.random.default_rng(1).bytes(300))  # np.load: "pickled (object) data"
    _one_line_error(lambda: load_cifar10(tmp_path / "random.npz"), "is not a .npz archive")
    _write_npz(tmp_path / "c.npz")
    data = (tmp_path / "c.npz").read_bytes()
    (tmp_path / "cut.npz").write_bytes(data[: len(data) // 2])
    _one_line_error(lambda: load_cifar10(tmp_path / "cut.npz"), "is not a .npz archive .not a zip file, or one cut")
    np.save(tmp_path / "one.npy", np.zeros((2, 32, 32, 3), np.uint8))
    _one_line_error(lambda: load_cifar10(tmp_path / "one.npy"), "single array, not a .npz")
    _one_line_error(lambda: load_cifar10(tmp_path / "missing.npz"), "no such file")
    _one_line_error(lambda: load_cifar10(tmp_path), "folder without cifar-10-batches-py")
    (tmp_path / "cifar-10-batches-py").mkdir()
    _one_line_error(lambda: load_cifar10(tmp_path), "torchvision CIFAR10 in .*download_root")
    _one_line_error(lambda: load_cifar10(tmp_path / "c.npz", download_root=tmp_path), "not both")


@pytest.mark.skipif(not SHARED.is_file(), reason="shared CIFAR-10 file not present")
def test_shared_cifar10_file():
    d = load_cifar10(SHARED)
    assert d["x_train"].shape == (50000, 3, 32, 32) and d["x_test"].shape == (10000, 3, 32, 32)
    assert torch.bincount(d["y_train"]).tolist() == [5000] * 10
    assert torch.bincount(d["y_test"]).tolist() == [1000] * 10
    assert bool((d["y_train"].diff() >= 0).all())  # sorted by class, as documented
    assert d["class_names"] == list(CLASS_NAMES)
    assert "JPEG q75" in d["source"]
    # Normalised with the standard constants, the (JPEG) test set is close to zero mean, unit variance.
    test = CifarViews(d["x_test"], d["y_test"], device="cpu")
    x = torch.cat([xb for xb, _ in test.plain(5000)])
    assert x.mean(dim=(0, 2, 3)).abs().max() < 0.03
    assert (x.std(dim=(0, 2, 3)) - 1).abs().max() < 0.03


# ------------------------------------------------------------------------------------------------- tiny_cifar
def test_tiny_cifar_structure_and_learnable():
    d = tiny_cifar(300, n_test=100, seed=3)
    assert d["x_train"].shape == (300, 3, 32, 32) and d["x_train"].dtype == torch.uint8
    assert d["y_test"].dtype == torch.int64 and torch.bincount(d["y_test"]).tolist() == [10] * 10
    assert bool((d["y_train"].diff() >= 0).all())
    assert torch.equal(tiny_cifar(300, n_test=100, seed=3)["x_train"], d["x_train"])
    assert not torch.equal(tiny_cifar(300, n_test=100, seed=4)["x_train"], d["x_train"])
    # nearest class mean on the pixels separates the classes well above chance (10%)
    xtr, xte = d["x_train"].flatten(1).float(), d["x_test"].flatten(1).float()
    means = torch.stack([xtr[d["y_train"] == c].mean(0) for c in range(10)])
    acc = (torch.cdist(xte, means).argmin(1) == d["y_test"]).float().mean()
    assert acc > 0.5
    _one_line_error(lambda: tiny_cifar(5), "n must be an integer >= 10")


# ----------------------------------------------------------------------------------------------- augmentation
@pytest.fixture(scope="module")
def images():
    return tiny_cifar(64, n_test=10, seed=1)["x_train"].float() / 255


@pytest.fixture(scope="module")
def params(images):
    return SimCLRAugment().sample(images.shape[0], 32, 32, torch.Generator().manual_seed(5))


def _torchvision_reference(x, p, aug=None):
    """Per-image torchvision functional ops with the given parameters (the pipeline the batch ops reproduce)."""
    aug = aug or SimCLRAugment()
    ops = [TF.adjust_brightness, TF.adjust_contrast, TF.adjust_saturation, TF.adjust_hue]
    out = []
    for i in range(x.shape[0]):
        im = TF.resized_crop(x[i], *(int(t[i]) for t in (p.top, p.left, p.height, p.width)), [aug.size] * 2)
        if p.flip[i]:
            im = TF.horizontal_flip(im)
        if p.jitter[i] and aug.jitter_p > 0:
            for o in p.order[i].tolist():
                im = ops[o](im, float(p.factors[i, o]))
        if p.gray[i] and aug.gray_p > 0:
            im = TF.rgb_to_grayscale(im, num_output_channels=3)
        out.append(im)
    return torch.stack(out)


def test_resized_crop_matches_torchvision(images, params):
    p = params
    out = resized_crop(images, p.top, p.left, p.height, p.width, 32, flip=p.flip)
    ref = _torchvision_reference(images, p, SimCLRAugment(jitter_p=0, gray_p=0))
    torch.testing.assert_close(out, ref, atol=1e-5, rtol=0)
    # the whole image as the box, unflipped, is the identity
    full = torch.full((64,), 32)
    small = resized_crop(images, torch.zeros(64), torch.zeros(64), full, full, 32)
    torch.testing.assert_close(small, images, atol=1e-6, rtol=0)


def test_hue_and_color_jitter_match_torchvision(images, params):
    p = params
    shift = torch.linspace(-0.5, 0.5, 64)
    ref = torch.stack([TF.adjust_hue(images[i], float(shift[i])) for i in range(64)])
    torch.testing.assert_close(adjust_hue(images, shift), ref, atol=1e-5, rtol=0)
    # grey, black, white and saturated pixels
    special = torch.tensor([[0.5, 0.5, 0.5], [0, 0, 0], [1, 1, 1], [1, 0, 0], [0, 1, 0], [0, 0, 1], [1, 1, 0]])
    sp = special.T.reshape(1, 3, 1, 7).expand(4, 3, 1, 7).contiguous()
    shifts = torch.tensor([0.1, -0.3, 0.5, 0.0])
    ref = torch.stack([TF.adjust_hue(sp[i], float(shifts[i])) for i in range(4)])
    torch.testing.assert_close(adjust_hue(sp, shifts), ref, atol=1e-6, rtol=0)

    out = color_jitter(images, p.factors, p.order, p.jitter)
    ops = [TF.adjust_brightness, TF.adjust_contrast, TF.adjust_saturation, TF.adjust_hue]
    ref = []
    for i in range(64):
        im = images[i]
        if p.jitter[i]:
            for o in p.order[i].tolist():
                im = ops[o](im, float(p.factors[i, o]))
        ref.append(im)
    torch.testing.assert_close(out, torch.stack(ref), atol=1e-5, rtol=0)


def test_full_augmentation_matches_torchvision(images, params):
    aug = SimCLRAugment()
    out = aug.apply(images, params)
    assert out.shape == images.shape and out.min() >= 0 and out.max() <= 1
    torch.testing.assert_close(out, _torchvision_reference(images, params), atol=1e-5, rtol=0)


def test_parameter_statistics():
    n = 20000
    aug = SimCLRAugment()
    p = aug.sample(n, 32, 32, torch.Generator().manual_seed(0))
    h, w = p.height.double(), p.width.double()
    # scale and ratio ranges, up to the rounding of w and h to whole pixels
    assert bool(((h + 0.5) * (w + 0.5) >= 0.2 * 1024).all()) and bool(((h - 0.5) * (w - 0.5) <= 1024).all())
    assert bool(((w + 0.5) / (h - 0.5) >= 3 / 4).all()) and bool(((w - 0.5) / (h + 0.5) <= 4 / 3).all())
    area = h * w / 1024
    assert area.min() < 0.21 and area.max() == 1.0  # the whole range is used
    assert bool((p.top >= 0).all() and (p.top + p.height <= 32).all() and (p.left >= 0).all())
    assert bool((p.left + p.width <= 32).all())
    # same distribution as torchvision's sampler (which uses the global RNG)
    torch.manual_seed(0)
    tv = np.array([RandomResizedCrop.get_params(torch.empty(3, 32, 32), [0.2, 1.0], [3 / 4, 4 / 3]) for _ in range(n)])
    assert stats.ks_2samp(area.numpy(), tv[:, 2] * tv[:, 3] / 1024).pvalue > 1e-3
    assert stats.ks_2samp(p.height.numpy(), tv[:, 2]).pvalue > 1e-3
    assert stats.ks_2samp(p.top.numpy(), tv[:, 0]).pvalue > 1e-3
    # probabilities
    assert _in_binomial_99(int(p.flip.sum()), n, 0.5)
    assert _in_binomial_99(int(p.jitter.sum()), n, 0.8)
    assert _in_binomial_99(int(p.gray.sum()), n, 0.2)
    # factor ranges and a uniform random order
    lo, hi = torch.tensor([0.2, 0.2, 0.2, -0.2]), torch.tensor([1.8, 1.8, 1.8, 0.2])
    assert bool(((p.factors >= lo) & (p.factors <= hi)).all())
    assert torch.equal(p.order.sort(dim=1).values, torch.arange(4).expand(n, 4))
    assert _in_binomial_99(int((p.order[:, 0] == 3).sum()), n, 0.25)  # hue first in a quarter of the images


def test_augmentation_options_validated():
    _one_line_error(lambda: SimCLRAugment(scale=(0.0, 1.0)), "scale must satisfy")
    _one_line_error(lambda: SimCLRAugment(gray_p=1.5), "gray_p must be in")
    _one_line_error(lambda: SimCLRAugment(jitter=(0.8, 0.8, 0.8, 0.7)), "jitter needs")


# ----------------------------------------------------------------------------------------------------- batches
@pytest.fixture(scope="module")
def tiny():
    return tiny_cifar(400, n_test=40, seed=0)


def _unnormalise(x):
    return x * torch.tensor(STD).view(1, 3, 1, 1) + torch.tensor(MEAN).view(1, 3, 1, 1)


def test_batches_shapes_views_and_labels(tiny):
    v = CifarViews(tiny["x_train"], tiny["y_train"], device="cpu", seed=0)
    assert len(v) == 400 and v.num_batches(128) == 3 and v.num_batches(128, drop_last=False) == 4
    out = list(v.batches(128))
    assert len(out) == 3
    x1, x2, y = out[0]
    assert x1.shape == x2.shape == (128, 3, 32, 32) and x1.dtype == torch.float32 and y.dtype == torch.int64
    assert not torch.allclose(x1, x2)  # independent views
    assert len(set(y.tolist())) == 10  # shuffled although the data are sorted by class
    x, y1 = next(iter(v.batches(64, views=1)))  # supervised: one augmented view
    assert x.shape == (64, 3, 32, 32) and y1.shape == (64,)
    xa, xb, _ = next(iter(v.batches(64, augment=False)))
    assert torch.equal(xa, xb)


def test_every_image_once_per_epoch(tiny):
    ids = torch.arange(400)
    v = CifarViews(tiny["x_train"], ids, device="cpu", seed=1)
    seen = torch.cat([b[-1] for b in v.batches(96, drop_last=False)])
    assert sorted(seen.tolist()) == list(range(400))
    seen2 = torch.cat([b[-1] for b in v.batches(96, drop_last=False)])
    assert not torch.equal(seen, seen2)  # next epoch, new order


def test_plain_is_normalised_and_in_order(tiny):
    v = CifarViews(tiny["x_test"], tiny["y_test"], device="cpu")
    xs, ys = zip(*v.plain(16), strict=True)
    assert [len(y) for y in ys] == [16, 16, 8]
    x = torch.cat(xs)
    torch.testing.assert_close(_unnormalise(x), tiny["x_test"].float() / 255, atol=1e-6, rtol=0)
    assert torch.equal(torch.cat(ys), tiny["y_test"])
    assert len(list(v.plain(1000))) == 1


def test_reproducible_and_resumable():
    small = tiny_cifar(60, n_test=10, seed=5)

    def run(seed, epochs=2, **kw):
        v = CifarViews(small["x_train"], small["y_train"], device="cpu", seed=seed, **kw)
        return [torch.cat([torch.cat(b[:2]) for b in v.batches(20)]) for _ in range(epochs)], v

    (a0, a1), va = run(7)
    (b0, b1), _ = run(7)
    assert torch.equal(a0, b0) and torch.equal(a1, b1)
    assert not torch.equal(a0, a1)
    (c0, _), _ = run(8)
    assert not torch.equal(a0, c0)
    # resume at epoch 1 from the saved state (or by naming the epoch) gives the same batches
    state = va.state_dict()
    assert state == {"seed": 7, "epoch": 2}
    w = CifarViews(small["x_train"], small["y_train"], device="cpu", seed=0)
    w.load_state_dict({"seed": 7, "epoch": 1})
    assert torch.equal(torch.cat([torch.cat(b[:2]) for b in w.batches(20)]), a1)
    assert torch.equal(torch.cat([torch.cat(b[:2]) for b in w.batches(20, epoch=0)]), a0)
    assert w.epoch == 2  # an explicit epoch does not advance the counter
    # torch's global RNG is neither used nor changed
    torch.manual_seed(123)
    before = torch.get_rng_state()
    next(iter(w.batches(20)))
    assert torch.equal(torch.get_rng_state(), before)


def test_views_hook_for_external_shuffling(tiny):
    v = CifarViews(tiny["x_train"], tiny["y_train"], device="cpu")
    idx = torch.tensor([3, 1, 4, 1, 5])
    x1, x2 = v.views(v.x[idx], torch.Generator().manual_seed(0))
    assert x1.shape == x2.shape == (5, 3, 32, 32) and not torch.allclose(x1, x2)
    again = v.views(v.x[idx], torch.Generator().manual_seed(0))
    assert torch.equal(again[0], x1) and torch.equal(again[1], x2)
    assert len(v.views(v.x[idx], torch.Generator().manual_seed(0), n=3)) == 3
    _one_line_error(lambda: v.views(v.x[idx].float(), torch.Generator()), "x must be uint8 images")


def test_grayscale_and_flip_rates_on_images():
    d = tiny_cifar(1000, n_test=10, seed=2)
    v = CifarViews(d["x_train"], d["y_train"], device="cpu", seed=3)
    x1, x2, _ = next(iter(v.batches(1000)))
    x = _unnormalise(torch.cat([x1, x2]))
    gray = ((x[:, 0] - x[:, 1]).abs().amax(dim=(1, 2)) < 1e-5) & ((x[:, 1] - x[:, 2]).abs().amax(dim=(1, 2)) < 1e-5)
    assert _in_binomial_99(int(gray.sum()), 2000, 0.2)
    # with scale (1, 1) and no colour changes a view is the image or its mirror image
    only_flip = SimCLRAugment(scale=(1.0, 1.0), jitter_p=0, gray_p=0)
    f = CifarViews(d["x_train"], d["y_train"], device="cpu", seed=4, augment=only_flip)
    (xf,) = next(iter(f.batches(1000, views=1, epoch=0)))[:1]
    idx = f.generator(0)  # the same shuffle as the batch
    orig = (d["x_train"].float() / 255)[torch.randperm(1000, generator=idx)]
    xf = _unnormalise(xf)
    same = (xf - orig).abs().amax(dim=(1, 2, 3)) < 1e-5
    mirrored = (xf - orig.flip(-1)).abs().amax(dim=(1, 2, 3)) < 1e-5
    assert bool((same | mirrored).all())
    assert _in_binomial_99(int((mirrored & ~same).sum()), 1000, 0.5)


def test_channels_last_output(tiny):
    v = CifarViews(tiny["x_train"], tiny["y_train"], device="cpu", channels_last=True)
    x1, _, _ = next(iter(v.batches(32)))
    assert x1.is_contiguous(memory_format=torch.channels_last)
    x, _ = next(iter(v.plain(8)))
    assert x.is_contiguous(memory_format=torch.channels_last)


def test_batch_errors(tiny):
    v = CifarViews(tiny["x_test"], tiny["y_test"], device="cpu")
    msg = _one_line_error(lambda: v.batches(41), "batch size 41 is larger than the data set")
    assert "40 images" in msg
    _one_line_error(lambda: v.batches(0), "positive integer")
    _one_line_error(lambda: v.batches(8, views=3), "views must be 1")
    _one_line_error(lambda: CifarViews(tiny["x_test"], tiny["y_test"][:5]), "one integer label per image")
    _one_line_error(lambda: CifarViews(tiny["x_test"].float(), tiny["y_test"]), "expected uint8")
    # HWC numpy input is accepted and converted
    hwc = tiny["x_test"].permute(0, 2, 3, 1).numpy()
    assert torch.equal(CifarViews(hwc, tiny["y_test"].numpy(), device="cpu").x, tiny["x_test"])


@pytest.mark.skipif(not torch.cuda.is_available(), reason="needs a CUDA device")
def test_cuda_matches_cpu_without_synchronising(tiny):
    cpu = CifarViews(tiny["x_train"], tiny["y_train"], device="cpu", seed=9)
    gpu = CifarViews(tiny["x_train"], tiny["y_train"], device="cuda", seed=9)
    torch.cuda.synchronize()
    torch.cuda.set_sync_debug_mode("error")  # any host-device synchronisation in the batch loop raises
    try:
        got = [[t.clone() for t in b] for b in gpu.batches(64)]
    finally:
        torch.cuda.set_sync_debug_mode(0)
    x1, x2 = gpu.views(gpu.x[:8], torch.Generator(device="cuda").manual_seed(0))  # a CUDA generator seeds a CPU one
    assert x1.device.type == "cuda" and x1.shape == (8, 3, 32, 32)
    want = list(cpu.batches(64))
    for g, w in zip(got, want, strict=True):
        assert torch.equal(g[-1].cpu(), w[-1])
        for a, b in zip(g[:-1], w[:-1], strict=True):
            torch.testing.assert_close(a.cpu(), b, atol=1e-4, rtol=0)
