"""What a run is built from: the source, the encoder at step 0, the optimiser and the loss (:class:`Objective`)."""

from __future__ import annotations

import math

import torch

from infogauss.constants import DATA_SEED_OFFSET, INIT_SEED_OFFSET
from infogauss.errors import InputError
from infogauss.train.config import TrainConfig

__all__ = ["Objective", "make_training_source", "steps_per_epoch", "build_model", "make_optimizer",
           "DATA_SEED_OFFSET", "INIT_SEED_OFFSET"]  # fmt: skip




class Objective:
    """The loss of one batch: InfoNCE (paper Eq. 2, or NT-Xent when ``symmetric``) plus, when ``beta`` or
    ``beta_scale`` is set, the Route-2 regulariser (paper Eq. 11) averaged over the two views; or, with
    ``objective="supervised"``, cross-entropy on the labels (one view per image)."""

    def __init__(self, cfg: TrainConfig, source, world: int = 1):
        from infogauss.losses import InfoNCE, Route2Regularizer

        self.supervised = cfg.objective == "supervised"
        self.views = 1 if self.supervised else 2
        n = cfg.batch_size
        classes = getattr(source, "num_classes", 10)
        self.chance = math.log(classes if self.supervised else (2 * n - 1 if cfg.symmetric else n))
        self.criterion = torch.nn.CrossEntropyLoss() if self.supervised else InfoNCE(
            cfg.temperature, cfg.symmetric, gather_distributed=world > 1)  # fmt: skip
        self.reg = None
        if cfg.beta is not None or cfg.beta_scale is not None:
            eta2 = cfg.eta2 if cfg.eta2 is not None else source.eta2
            if cfg.beta_scale is not None and eta2 is None:
                raise InputError(
                    f"beta_scale needs eta2, unknown for source {cfg.source!r}; set eta2=... (0 gives the largest "
                    "threshold) or set beta directly"
                )
            self.reg = Route2Regularizer(cfg.beta, cfg.beta_scale, cfg.lam, cfg.entropy, cfg.knn_k, cfg.shrinkage,
                                         cfg.temperature, eta2)  # fmt: skip

    def __call__(self, state, xs: tuple, y, amp) -> torch.Tensor:
        x = xs[0] if len(xs) == 1 else torch.cat(xs)
        with amp:
            h = state.net(x)
        if self.supervised:
            return self.criterion(h.float(), y)
        local = xs[0].shape[0]
        loss = self.criterion(h[:local], h[local:])
        if self.reg is not None:
            z = state.model.embed(x) if state.model.head is not None else h
            loss = loss + 0.5 * (self.reg(z[:local]) + self.reg(z[local:]))
        return loss


def make_training_source(cfg: TrainConfig, device: torch.device):
    """The source of ``cfg`` on ``device``: synthetic items (seeded with ``seed``), your arrays or images."""
    from infogauss.data.folder import FOLDER_SOURCES, make_folder_source
    from infogauss.data.pairs import PAIRS_SOURCES, make_pairs_source
    from infogauss.data.synthetic import make_source

    if cfg.source in PAIRS_SOURCES:
        source = make_pairs_source(cfg.source, **{"seed": cfg.seed, **cfg.source_params, "device": device})
    elif cfg.source in FOLDER_SOURCES:
        source = make_folder_source(cfg.source, seed=cfg.seed + DATA_SEED_OFFSET, device=device,
                                    channels_last=cfg.channels_last, **cfg.source_params)  # fmt: skip
    elif cfg.source == "hf":  # a saved Hugging Face dataset: images or vectors (infogauss.data.hf)
        from infogauss.data.hf import make_hf_source

        source = make_hf_source(cfg.source, seed=cfg.seed, device=device, channels_last=cfg.channels_last,
                                **cfg.source_params)  # fmt: skip
    elif cfg.images:
        from infogauss.data.images import make_image_source

        source = make_image_source(cfg.source, seed=cfg.seed + DATA_SEED_OFFSET, device=device,
                                   channels_last=cfg.channels_last, **cfg.source_params)  # fmt: skip
    else:
        source = make_source(cfg.source, **{"seed": cfg.seed, **cfg.source_params, "device": device})
    if cfg.batch_size > source.n_train:
        what = "images" if cfg.images else "items"
        raise InputError(
            f"batch_size {cfg.batch_size} is larger than the training set ({source.n_train} {what}); "
            f"use batch_size <= {source.n_train}"
        )
    return source


def steps_per_epoch(cfg: TrainConfig, source) -> int:
    """Batches per epoch: a full pass (the last incomplete batch dropped), or ``cfg.steps_per_epoch``."""
    full = source.n_train // cfg.batch_size
    if cfg.steps_per_epoch is None:
        return full
    if cfg.steps_per_epoch > full:
        raise InputError(
            f"steps_per_epoch={cfg.steps_per_epoch} is more than one pass over the training set "
            f"({full} batches of {cfg.batch_size}); use at most {full} or none"
        )
    return cfg.steps_per_epoch


def build_model(cfg: TrainConfig, in_dim: int = 3 * 32 * 32) -> torch.nn.Module:
    """The encoder of ``cfg`` at step 0, seeded with ``cfg.seed + INIT_SEED_OFFSET`` (a stream independent of the
    source's data; torch's global RNG is left untouched).

    Synthetic sources: :func:`infogauss.encoders.make_encoder` (input dimension ``in_dim``). Images:
    :func:`infogauss.vision.make_vision_encoder` (``width``, ``head`` as ``head_dim``, ``d`` as the MLP's
    ``out_dim``, ``channels_last``). For ``objective="supervised"`` the model gets a linear classifier (10 classes)
    on the head output (or the representation without a head), and every other weight is *copied* from the model
    that ``objective="infonce"`` builds with the same seed: the two objectives start from the same initialisation
    (paper §4.2(b): "identical initialization and capacity"), whatever order the layers are created in. The model
    is returned on the CPU.
    """
    with torch.random.fork_rng(devices=[]):
        torch.manual_seed(cfg.seed + INIT_SEED_OFFSET)
        if not cfg.images:
            from infogauss.encoders import make_encoder

            return make_encoder(cfg.encoder, in_dim, cfg.d, hidden=cfg.hidden, bias=cfg.bias, head=cfg.head)
        from infogauss.vision import make_vision_encoder

        kw = dict(width=cfg.width, head_dim=cfg.head, out_dim=cfg.d if cfg.encoder == "mlp" else None,
                  channels_last=cfg.channels_last)  # fmt: skip
        model = make_vision_encoder(cfg.encoder, **kw)
        if cfg.objective != "supervised":
            return model
        torch.manual_seed(cfg.seed + INIT_SEED_OFFSET)
        supervised = make_vision_encoder(cfg.encoder, **kw, num_classes=10)
    missing, unexpected = supervised.load_state_dict(model.state_dict(), strict=False)
    if unexpected or any(not k.startswith("classifier.") for k in missing):  # pragma: no cover - vision.py contract
        raise RuntimeError(f"supervised model differs from the contrastive one beyond the classifier: {missing}")
    return supervised


def make_optimizer(cfg: TrainConfig, model: torch.nn.Module) -> torch.optim.Optimizer:
    """Adam / AdamW (fused kernels where available: the same update in one pass) or SGD with momentum 0.9."""
    p = list(model.parameters())
    fused = all(q.device.type in ("cpu", "cuda") and q.is_floating_point() for q in p) or None
    if cfg.optimizer == "adam":
        return torch.optim.Adam(p, lr=cfg.lr, weight_decay=cfg.weight_decay, fused=fused)
    if cfg.optimizer == "adamw":
        return torch.optim.AdamW(p, lr=cfg.lr, weight_decay=cfg.weight_decay, fused=fused)
    return torch.optim.SGD(p, lr=cfg.lr, momentum=0.9, weight_decay=cfg.weight_decay)
