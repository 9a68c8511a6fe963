"""Training configuration: :class:`TrainConfig` (every knob of a run) and the named :data:`PRESETS`.

Where to change a setting: a field's default below (e.g. ``temperature`` τ), a preset in :data:`PRESETS`, or
``infogauss train --preset NAME key=value`` (source parameters as ``source.KEY=VALUE``).
"""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass, field

from infogauss.checks import integer, number, resolve_device
from infogauss.constants import DEFAULT_TEMPERATURE
from infogauss.errors import InputError

__all__ = ["TrainConfig", "PRESETS", "OBJECTIVES", "preset", "source_parameters", "source_names", "field_names",
           "load_config"]

OBJECTIVES = ("infonce", "supervised")


@dataclass
class TrainConfig:
    """Everything that defines a training run. Defaults follow paper §4.1 / §7 (Laplace study)."""

    # laplace | gmm | binary | gaussian (infogauss.data.synthetic) | pairs (your arrays, infogauss.data.pairs) |
    # cifar10 | tiny-cifar (infogauss.data.images) | folder (your images, infogauss.data.folder)
    source: str = "laplace"
    # e.g. {"A": 0.8, "dim": 1024} (synthetic; seed defaults to `seed`), {"path": "cifar10.npz", "augment": "simclr"}
    source_params: dict = field(default_factory=dict)
    # synthetic: linear (the paper's) | mlp; images: mlp | resnet18 | resnet34 | resnet50 | vit_tiny | vit_small
    encoder: str = "linear"
    objective: str = "infonce"  # infonce | supervised (cross-entropy on the labels; image sources only)
    d: int | None = 256  # representation dimension (synthetic encoders, image mlp); None for ResNets/ViTs (by width)
    hidden: int = 512  # hidden width of the synthetic MLP
    width: int | None = None  # image encoders: MLP hidden width, ResNet base channels, ViT dim (None: their default)
    bias: bool = True  # assumed (paper: unknown); synthetic encoders
    head: int | None = None  # projection-head output dimension (None: the loss sees the representation)
    batch_size: int = 128  # N: global batch = number of pairs (supervised: images) per step (negatives: N - 1)
    epochs: int = 150
    steps_per_epoch: int | None = None  # None: a full pass; else the first batches of each epoch's permutation
    temperature: float = DEFAULT_TEMPERATURE  # tau; alpha = 1/tau (infogauss.constants: 0.1, the paper's)
    symmetric: bool = False  # NT-Xent (SimCLR) instead of Eq. 2
    optimizer: str = "adam"  # adam | adamw | sgd
    lr: float = 1e-3
    weight_decay: float = 0.0  # assumed (paper: unknown for the synthetic runs)
    # Route-2 regulariser (paper Eq. 11); off unless beta or beta_scale is set.
    beta: float | None = None
    beta_scale: float | None = None  # beta = beta_scale * alpha (1 - eta2) / (d - 1)  (constant C = 1)
    lam: float = 0.5
    entropy: str = "gaussian"  # gaussian | knn
    knn_k: int = 3
    shrinkage: float = 0.1  # covariance shrinkage of the gaussian entropy estimate
    eta2: float | None = None  # for beta_scale; default: the source's eta2 when known
    # Evaluation and bookkeeping.
    eval_every: int = 10  # epochs (also at epoch 0 and at the end)
    eval_samples: int | None = None  # test items per evaluation (None: all; images: a fixed random subset)
    eval_views: int = 2048  # images: test images whose two augmented views give test_infonce and alignment (0: none)
    knn_bank: int | None = None  # images: training images in the k-NN memory bank (None: all; else a fixed subset)
    seed: int = 0
    device: str = "auto"  # auto | cpu | cuda | cuda:N
    amp: str = "none"  # none | bf16 | auto (bf16 on CUDA): autocast of the encoder; loss and evaluation in float32
    channels_last: bool = False  # image encoders and batches in channels_last memory format (faster convs on CUDA)
    out: str | None = None
    checkpoint_every: int = 1  # epochs

    def validate(self) -> TrainConfig:
        """Check every field; raise :class:`InputError` naming the first bad one. Returns ``self``.

        Integral numbers given as floats (``epochs=2.0``) become ``int``; nothing else is changed.
        """
        self._check_source()
        self._check_model()
        self._check_schedule()
        self._check_optimisation()
        resolve_device(self.device, "device")
        return self

    def _check_source(self) -> None:
        from infogauss.data.images import AUGMENTS

        every = source_names()
        if self.source not in every:
            raise InputError(f"unknown source {self.source!r}; choose from {', '.join(every)}")
        if not isinstance(self.source_params, dict):
            raise InputError("source_params must be a dict of source parameters")
        allowed = source_parameters(self.source)
        for k in self.source_params:
            if k not in allowed or k == "device":
                valid = ", ".join(p for p in allowed if p != "device")
                raise InputError(f"source {self.source!r} has no parameter {k!r}; valid: {valid}")
        augment = self.source_params.get("augment", "simclr")
        if self.images and augment not in AUGMENTS:
            raise InputError(f"unknown augment {augment!r}; choose from {', '.join(AUGMENTS)}")

    def _check_model(self) -> None:
        from infogauss.encoders import ENCODERS
        from infogauss.vision import VISION_ENCODERS

        images = self.images
        encoders = VISION_ENCODERS if images else ENCODERS
        if self.encoder not in encoders:
            kind = "image" if images else "synthetic"
            raise InputError(f"unknown encoder {self.encoder!r} for {kind} source {self.source!r}; "
                             f"choose from {', '.join(encoders)}")  # fmt: skip
        if self.objective not in OBJECTIVES:
            raise InputError(f"unknown objective {self.objective!r}; choose from {', '.join(OBJECTIVES)}")
        if self.objective == "supervised" and not images:
            raise InputError(f"objective 'supervised' needs labelled images; source {self.source!r} has no labels")
        if self.objective == "supervised" and self.source == "folder":
            raise InputError("objective 'supervised' is for CIFAR-10 (10 classes); train source=folder with infonce")
        if images:
            self._check_image_model()
        else:
            self._int("d", 2)
            if self.width is not None:
                raise InputError("width applies to image encoders; synthetic encoders take d=... and hidden=...")
        self._int("hidden", 1)
        self._int("head", 2, optional=True)
        for name in ("bias", "symmetric", "channels_last"):
            if not isinstance(getattr(self, name), bool):
                raise InputError(f"{name} must be true or false, got {getattr(self, name)!r}")

    def _check_image_model(self) -> None:
        if self.encoder == "mlp":
            self._int("d", 2)
        elif self.d is not None:
            raise InputError(f"d is set by width for {self.encoder} (it has no d option); use d=none")
        self._int("width", 1, optional=True)
        if self.hidden != TrainConfig.hidden:
            raise InputError("hidden applies to synthetic encoders; the image encoders take width=...")
        if not self.bias:
            raise InputError("bias=false applies to synthetic encoders only; image encoders keep their biases")
        if self.objective == "supervised" and (self.beta is not None or self.beta_scale is not None):
            raise InputError("the Route-2 regulariser (beta, beta_scale) applies to objective=infonce only")

    def _check_schedule(self) -> None:
        for name, lo in (("batch_size", 2), ("epochs", 0), ("eval_views", 0), ("eval_every", 1),
                         ("checkpoint_every", 1), ("seed", 0), ("knn_k", 1)):  # fmt: skip
            self._int(name, lo)
        for name, lo in (("steps_per_epoch", 1), ("knn_bank", 1), ("eval_samples", 8)):
            self._int(name, lo, optional=True)

    def _check_optimisation(self) -> None:
        number(self.temperature, "temperature (tau)", lo=0, lo_open=True)
        number(self.lr, "lr", lo=0, lo_open=True)
        number(self.weight_decay, "weight_decay", lo=0)
        number(self.lam, "lam", lo=0, lo_open=True)
        number(self.shrinkage, "shrinkage", lo=0, hi=1)
        for name in ("beta", "beta_scale"):
            if getattr(self, name) is not None:
                number(getattr(self, name), name, lo=0)
        if self.beta is not None and self.beta_scale is not None:
            raise InputError("set beta or beta_scale, not both")
        if self.eta2 is not None:
            number(self.eta2, "eta2", lo=0, hi=1)
        if self.optimizer not in ("adam", "adamw", "sgd"):
            raise InputError(f"unknown optimizer {self.optimizer!r}; choose from adam, adamw, sgd")
        if self.entropy not in ("gaussian", "knn"):
            raise InputError(f"unknown entropy estimator {self.entropy!r}; choose gaussian or knn")
        if self.amp not in ("none", "bf16", "auto"):
            raise InputError(f"amp must be 'none', 'bf16' or 'auto', got {self.amp!r}")

    def _int(self, name: str, lo: int, optional: bool = False) -> None:
        value = getattr(self, name)
        if value is None and optional:
            return
        if isinstance(value, str):  # only numbers: "5" is a typo in Python code, not a setting
            raise InputError(f"{name} must be an integer, got {value!r}")
        setattr(self, name, integer(value, name, lo=lo))

    @property
    def images(self) -> bool:
        """Whether the source is an image source (:mod:`infogauss.data.images`)."""
        from infogauss.data.folder import FOLDER_SOURCES
        from infogauss.data.images import IMAGE_SOURCES

        if self.source == "hf":  # a saved Hugging Face dataset: images or vectors, as its column holds
            from infogauss.data.hf import hf_images

            return hf_images(self.source_params)
        return self.source in IMAGE_SOURCES or self.source in FOLDER_SOURCES

    def to_dict(self) -> dict:
        return dataclasses.asdict(self)

    def replace(self, **changes) -> TrainConfig:
        unknown = sorted(set(changes) - {f.name for f in dataclasses.fields(self)})
        if unknown:
            raise InputError(f"unknown training option {unknown[0]!r}; valid: {', '.join(field_names())}")
        return dataclasses.replace(self, **changes)


#: The optimisation of the paper's CIFAR-10 runs (§4.2): batch 256, 100 epochs, Adam 1e-3 (the default), weight decay
#: 1e-4, bf16 autocast on CUDA.
CIFAR_TRAINING = dict(source="cifar10", batch_size=256, epochs=100, weight_decay=1e-4, eval_every=10, amp="auto")

#: Named starting points (``infogauss train --preset NAME``). Paper settings where stated, else documented guesses.
PRESETS: dict[str, TrainConfig] = {
    # Paper §4.1(a): Laplace 1024-d, A = 0.6 + jitter, linear encoder, tau 0.1, Adam 1e-3, 150 epochs.
    # d and N for Table 1 are not stated; d = 256, N = 128 are the largest of the sweep.
    "laplace": TrainConfig(source="laplace", d=256, batch_size=128, epochs=150, eval_every=10),
    # Paper §4.1(b): 25-component GMM, linear -> 256, 100 epochs; batch 256 assumed (docs/paper-protocol.md §6.3).
    "gmm": TrainConfig(source="gmm", d=256, batch_size=256, epochs=100, eval_every=10),
    # Paper §4.1(c): sparse binary, linear -> 256, 100 epochs, evaluated every 10 epochs; batch 256 assumed.
    "binary": TrainConfig(source="binary", d=256, batch_size=256, epochs=100, eval_every=10),
    # Gaussian channel with eta2 = A^2 exactly (Prop. 1 check); settings as for Laplace.
    "gaussian-channel": TrainConfig(source="gaussian", d=256, batch_size=128, epochs=100, eval_every=10),
    # Route 2 on the Laplace study: beta = 1 x the threshold scale alpha (1 - eta2)/(d - 1); eta2 = 0.36 = A^2
    # (the Gaussian-channel value; for Laplace + jitter eta2 is unknown).
    "laplace-route2": TrainConfig(
        source="laplace", d=256, batch_size=128, epochs=150, eval_every=10, beta_scale=1.0, eta2=0.36
    ),
    # Paper §4.2(b): CIFAR-10 ResNet-18 (CIFAR stem, assumed), SimCLR augmentations, InfoNCE tau 0.1, Adam 1e-3,
    # weight decay 1e-4, batch 256, 100 epochs; SimCLR projection head 512 -> 512 -> 128 (assumed: the paper follows
    # "the SimCLR training protocol"). objective=supervised gives the cross-entropy baseline from the same init.
    "cifar-resnet18": TrainConfig(encoder="resnet18", d=None, head=128, **CIFAR_TRAINING),
    # Paper §4.2(a), Fig. 4: two-layer MLP 3072 -> 512 -> ReLU -> 128 (widths assumed), no head, same optimisation.
    "cifar-mlp": TrainConfig(encoder="mlp", d=128, width=512, **CIFAR_TRAINING),
    # Seconds on a CPU: a 4-wide ResNet-18 with a head on 256 generated images (tiny-cifar), for tests and trying.
    "smoke-cifar": TrainConfig(
        source="tiny-cifar",
        source_params={"n": 256, "n_test": 64},
        encoder="resnet18",
        width=4,
        d=None,
        head=16,
        batch_size=32,
        epochs=2,
        eval_every=1,
        weight_decay=1e-4,
        eval_views=64,
    ),  # fmt: skip
    # Seconds on a CPU: for tests and for trying the command.
    "smoke": TrainConfig(
        source="laplace",
        source_params={"dim": 32, "n_train": 512, "n_test": 256},
        d=8,
        batch_size=32,
        epochs=2,
        eval_every=1,
    ),
}


def source_names() -> tuple[str, ...]:
    """Every training source: synthetic (:mod:`infogauss.data.synthetic`), your arrays (:mod:`infogauss.data.pairs`)
    and images (:mod:`infogauss.data.images`)."""
    from infogauss.data.folder import FOLDER_SOURCES
    from infogauss.data.images import IMAGE_SOURCES
    from infogauss.data.pairs import PAIRS_SOURCES
    from infogauss.data.synthetic import SOURCES

    return (*SOURCES, *PAIRS_SOURCES, *IMAGE_SOURCES, *FOLDER_SOURCES, "hf")  # hf: infogauss.data.hf


def source_parameters(name: str) -> dict:
    from infogauss.data.folder import FOLDER_SOURCES, folder_source_parameters
    from infogauss.data.images import IMAGE_SOURCES, image_source_parameters
    from infogauss.data.pairs import PAIRS_SOURCES, pairs_source_parameters
    from infogauss.data.synthetic import source_parameters

    if name in PAIRS_SOURCES:
        return pairs_source_parameters(name)
    if name in FOLDER_SOURCES:
        return folder_source_parameters(name)
    if name == "hf":
        from infogauss.data.hf import hf_source_parameters

        return hf_source_parameters(name)
    return image_source_parameters(name) if name in IMAGE_SOURCES else source_parameters(name)


def preset(name: str, **changes) -> TrainConfig:
    """A copy of preset ``name`` with ``changes`` applied (InputError for an unknown preset or option)."""
    if name not in PRESETS:
        raise InputError(f"unknown preset {name!r}; choose from {', '.join(PRESETS)}")
    return PRESETS[name].replace(**changes)


@dataclass
class Run:
    """What :func:`train` returns. ``history``: one dict per evaluation, the first at epoch 0 (before training)."""


def field_names() -> list[str]:
    """The names of :class:`TrainConfig`'s fields, in order."""
    return [f.name for f in dataclasses.fields(TrainConfig)]


#: What a run adds to its ``config.json`` beside the :class:`TrainConfig` fields (ignored when read back).
RUN_EXTRAS = ("device_resolved", "world_size", "source_resolved")


def load_config(path) -> TrainConfig:
    """The :class:`TrainConfig` a run wrote to ``path`` (``RUN/config.json``, or the run folder), validated.

    ``infogauss train --config RUN/config.json [key=value ...]`` replays the run; what a run adds beside the settings
    (:data:`RUN_EXTRAS`) is ignored, and a field the file lacks (an older run) keeps its default.
    """
    import json
    from pathlib import Path

    p = Path(path)
    if p.is_dir():
        p = p / "config.json"
    if not p.is_file():
        raise InputError(f"--config {path}: no such file; give a run's config.json")
    try:
        raw = json.loads(p.read_text(encoding="utf-8"))
    except (ValueError, UnicodeDecodeError) as exc:
        raise InputError(f"--config {p}: not JSON ({' '.join(str(exc).split())[:120]})") from None
    if not isinstance(raw, dict):
        raise InputError(f"--config {p}: expected a JSON object of training settings")
    names = field_names()
    unknown = sorted(k for k in raw if k not in names and k not in RUN_EXTRAS)
    if unknown:
        raise InputError(f"--config {p}: unknown training option {unknown[0]!r}; valid: {', '.join(names)}")
    return TrainConfig(**{k: v for k, v in raw.items() if k in names}).validate()
