"""Vision encoders (infogauss.vision): shapes, the CIFAR stem, width multiplier, heads, autocast, errors."""

import pytest
import torch
import torchvision

from infogauss.errors import InputError
from infogauss.vision import VISION_ENCODERS, CifarResNet, make_vision_encoder


def _one_line_error(call, match):
    with pytest.raises(InputError, match=match) as info:
        call()
    assert "\n" not in str(info.value)
    return str(info.value)


@pytest.fixture
def x():
    return torch.randn(2, 3, 32, 32, generator=torch.Generator().manual_seed(0))


# (name, width, representation dimension); narrow widths keep the tests cheap on a CPU
CASES = [
    ("mlp", None, 128),
    ("resnet18", 8, 64),
    ("resnet34", 8, 64),
    ("resnet50", 8, 256),
    ("vit_tiny", 64, 64),
    ("vit_small", 128, 128),
]


@pytest.mark.parametrize(("name", "width", "dim"), CASES)
def test_shapes_with_and_without_head(name, width, dim, x):
    enc = make_vision_encoder(name, width=width).eval()
    assert enc.out_dim == dim and enc.head is None and enc.num_classes is None
    with torch.no_grad():
        z = enc(x)
        assert z.shape == (2, dim) and torch.isfinite(z).all()
        assert torch.equal(enc.embed(x), z) and torch.equal(enc.project(x), z)
        assert list(enc.representations(x)) == ["backbone"]
    enc = make_vision_encoder(name, width=width, head_dim=16).eval()
    with torch.no_grad():
        reps = enc.representations(x)
        assert reps["backbone"].shape == (2, dim) and reps["head"].shape == (2, 16)
        torch.testing.assert_close(enc(x), reps["head"])
        torch.testing.assert_close(enc.head(enc.embed(x)), reps["head"])


def test_default_widths():
    assert make_vision_encoder("mlp").backbone[1].out_features == 512
    assert make_vision_encoder("resnet18").out_dim == 512
    assert make_vision_encoder("vit_tiny").out_dim == 192
    assert make_vision_encoder("mlp", out_dim=64).out_dim == 64


def test_default_resnet18_forward(x):
    enc = make_vision_encoder("resnet18").eval()
    with torch.no_grad():
        assert enc(x).shape == (2, 512)


def test_cifar_stem_and_torchvision_layout():
    net = CifarResNet("resnet18", 64)
    assert net.conv1.kernel_size == (3, 3) and net.conv1.stride == (1, 1) and net.conv1.padding == (1, 1)
    assert isinstance(net.maxpool, torch.nn.Identity) and isinstance(net.fc, torch.nn.Identity)
    # the same parameters as torchvision's resnet18 apart from the stem convolution and the classifier
    ours = {k: v.shape for k, v in net.state_dict().items()}
    tv = {k: v.shape for k, v in torchvision.models.resnet18().state_dict().items() if not k.startswith("fc.")}
    assert ours.keys() == tv.keys()
    assert [k for k in ours if ours[k] != tv[k]] == ["conv1.weight"]
    # a 32x32 input keeps a 4x4 map before the global pooling (an ImageNet stem would leave 1x1)
    seen = {}

    def hook(module, inputs, output):
        seen["shape"] = tuple(output.shape)

    net.layer4.register_forward_hook(hook)
    net.eval()(torch.zeros(1, 3, 32, 32))
    assert seen["shape"] == (1, 512, 4, 4)


def test_width_multiplier_scales_channels():
    a, b = CifarResNet("resnet18", 8), CifarResNet("resnet18", 16)
    assert a.conv1.out_channels == 8 and b.conv1.out_channels == 16
    assert [b.layer1[0].conv1.out_channels, b.layer4[0].conv2.out_channels] == [16, 128]
    n = [sum(p.numel() for p in m.parameters()) for m in (a, b)]
    assert 3.5 < n[1] / n[0] < 4.1  # parameters grow with width squared
    r50 = CifarResNet("resnet50", 8)
    assert r50.out_dim == 256 and r50.layer4[-1].conv3.out_channels == 256


def test_classifier_for_supervised_baseline(x):
    enc = make_vision_encoder("resnet18", width=8, num_classes=10).eval()
    assert enc.classifier.in_features == 64 and enc.num_classes == 10
    with torch.no_grad():
        assert enc(x).shape == (2, 10)
        assert enc.embed(x).shape == (2, 64)
    enc = make_vision_encoder("mlp", head_dim=32, num_classes=10)
    assert enc.classifier.in_features == 32


def test_backward_and_identical_initialisation(x):
    torch.manual_seed(0)
    a = make_vision_encoder("resnet18", width=8, head_dim=16)
    torch.manual_seed(0)
    b = make_vision_encoder("resnet18", width=8, head_dim=16)
    for pa, pb in zip(a.parameters(), b.parameters(), strict=True):
        assert torch.equal(pa, pb)
    a(x).square().sum().backward()
    grads = [p.grad for p in a.parameters()]
    assert all(g is not None and torch.isfinite(g).all() for g in grads)


def test_channels_last(x):
    enc = make_vision_encoder("resnet18", width=8).eval()
    assert enc.backbone.conv1.weight.is_contiguous(memory_format=torch.channels_last)
    assert make_vision_encoder("resnet18", width=8, channels_last=False).backbone.conv1.weight.is_contiguous()
    with torch.no_grad():
        torch.testing.assert_close(enc(x.contiguous(memory_format=torch.channels_last)), enc(x), atol=1e-5, rtol=1e-4)


@pytest.mark.parametrize(("name", "width"), [("mlp", None), ("resnet18", 8), ("vit_tiny", 64)])
def test_bf16_autocast(name, width, x):
    enc = make_vision_encoder(name, width=width, head_dim=16).eval()
    with torch.no_grad():
        ref = enc.embed(x)
        with torch.autocast("cpu", dtype=torch.bfloat16):
            low = enc.representations(x)
    # convolutions and linear layers return bf16; the ViT's final LayerNorm runs (and returns) fp32
    assert low["head"].dtype == torch.bfloat16
    assert low["backbone"].dtype == (torch.float32 if name.startswith("vit") else torch.bfloat16)
    rel = (low["backbone"].float() - ref).norm() / ref.norm()
    assert rel < 0.05


def test_errors():
    msg = _one_line_error(lambda: make_vision_encoder("densenet"), "unknown vision encoder 'densenet'")
    assert all(n in msg for n in VISION_ENCODERS)
    _one_line_error(lambda: make_vision_encoder("resnet18", width=0), "width must be an integer >= 1")
    _one_line_error(lambda: make_vision_encoder("resnet18", width=2.5), "width must be an integer")
    _one_line_error(lambda: make_vision_encoder("resnet18", out_dim=64), "out_dim only applies to the mlp")
    _one_line_error(lambda: make_vision_encoder("vit_tiny", width=100), "multiple of 64")
    _one_line_error(lambda: make_vision_encoder("mlp", head_dim=1), "head_dim must be an integer >= 2")
    _one_line_error(lambda: make_vision_encoder("mlp", head_hidden=64), "head_hidden needs head_dim")
    _one_line_error(lambda: make_vision_encoder("mlp", num_classes=1), "num_classes must be an integer >= 2")
