"""The training loop of :func:`train`, its evaluations and checkpoints (see :mod:`infogauss.train`)."""

from __future__ import annotations

import contextlib
import json
import os
import sys
import tempfile
from dataclasses import dataclass, field
from pathlib import Path

import torch

from infogauss.errors import InputError
from infogauss.train.config import TrainConfig
from infogauss.train.util import jsonable, resolve_device, write_json, write_text

__all__ = ["Run", "train", "evaluate", "evaluate_images", "load_checkpoint", "build_model", "knn_accuracy"]

EVAL_SEED = 20260227  # views of the test items used by every evaluation (fixed: evaluations are comparable)
DATA_SEED_OFFSET = 1_000_003  # training views/permutations use seed + offset (the source's items use seed)
VIEW_CHUNK_NUMBERS = 2**20  # input numbers per view generated at once (see _epoch)
CHECKPOINT = "checkpoint.pt"
CHECKPOINT_VERSION = 1
# Fields that may differ between an interrupted run and its resumption.
RESUMABLE_CHANGES = ("epochs", "eval_every", "checkpoint_every", "out")
KNN_NEIGHBOURS = 200  # k of the k-NN monitor (Wu et al. 2018, as in SimCLR/MoCo CIFAR monitors)
KNN_TEMPERATURE = 0.1  # votes weighted by exp(cos / 0.1) (Wu et al. 2018)
EVAL_BLOCK = 1000  # images per forward pass in evaluations


@dataclass
class Run:
    """What :func:`train` returns. ``history``: one dict per evaluation, the first at epoch 0 (before training)."""

    model: torch.nn.Module
    source: object
    history: list[dict]
    config: TrainConfig
    out: Path | None
    epoch_losses: list[float] = field(default_factory=list)  # mean training loss of every epoch
    rank: int = 0  # this process's rank under torchrun (every rank holds rank 0's evaluations; rank 0 writes)

    @property
    def final(self) -> dict:
        """The last evaluation."""
        return self.history[-1]


# --------------------------------------------------------------------------------------------------------------


def train(cfg: TrainConfig, progress: bool = True, resume: str | Path | None = None) -> Run:
    """Train ``cfg`` and return the :class:`Run` (see the module docstring for the data flow and the files).

    ``resume``: a checkpoint to start from (default: ``cfg.out/checkpoint.pt`` when it exists).

    Running out of memory (``torch.OutOfMemoryError``, or the CPU allocator failing) raises :class:`InputError`
    naming ``batch_size`` and ``width`` values to try.
    """
    cfg.validate()
    try:
        return _train(cfg, progress, resume)
    except torch.OutOfMemoryError as exc:
        raise _out_of_memory(cfg, exc) from None
    except RuntimeError as exc:
        if "can't allocate memory" not in str(exc):
            raise
        raise _out_of_memory(cfg, exc) from None


def _out_of_memory(cfg: TrainConfig, exc: BaseException) -> InputError:
    if torch.cuda.is_available():
        torch.cuda.empty_cache()
    where = "CUDA" if isinstance(exc, torch.OutOfMemoryError) else "CPU"
    hint = f"reduce batch_size={max(2, cfg.batch_size // 2)}"
    if cfg.images:
        from infogauss.vision import _DEFAULT_WIDTH

        width = cfg.width if cfg.width is not None else _DEFAULT_WIDTH[cfg.encoder]
        hint += f" or width={max(1, width // 2)}" + (" (a multiple of 64 for ViTs)" if "vit" in cfg.encoder else "")
        now = f"batch_size={cfg.batch_size}, {cfg.encoder} width={width}"
    else:
        hint += f" or d={max(2, (cfg.d or 4) // 2)}"
        now = f"batch_size={cfg.batch_size}, d={cfg.d}"
    return InputError(f"{where} out of memory training with {now}; {hint} (or eval_samples/knn_bank)")


def _train(cfg: TrainConfig, progress: bool, resume) -> Run:
    from tqdm.auto import tqdm

    world, rank = _distributed_setup()
    device = resolve_device(cfg.device, rank if world > 1 else None)
    if cfg.batch_size % world:
        raise InputError(f"batch_size {cfg.batch_size} must divide by the number of processes {world}")
    source, model, opt, criterion, reg, gen = _build(cfg, device, world)
    steps_per_epoch = source.n_train // cfg.batch_size
    if cfg.steps_per_epoch is not None:
        if cfg.steps_per_epoch > steps_per_epoch:
            raise InputError(
                f"steps_per_epoch={cfg.steps_per_epoch} is more than one pass over the training set "
                f"({steps_per_epoch} batches of {cfg.batch_size}); use at most {steps_per_epoch} or none"
            )
        steps_per_epoch = cfg.steps_per_epoch

    out = Path(cfg.out) if cfg.out is not None else None
    history: list[dict] = []
    epoch_losses: list[float] = []
    start = 0
    ckpt_path = Path(resume) if resume is not None else (out / CHECKPOINT if out is not None else None)
    if resume is not None and not ckpt_path.is_file():
        raise InputError(f"checkpoint {ckpt_path} does not exist; check the path or drop --resume")
    if ckpt_path is not None and ckpt_path.is_file():
        state = load_checkpoint(ckpt_path)
        _check_resumable(state, cfg, ckpt_path, device)
        model.load_state_dict(state["model"])
        opt.load_state_dict(state["optimizer"])
        gen.set_state(state["generator"])
        start = int(state["epoch"])
        history = json.loads(state["history"])
        epoch_losses = [float(x) for x in state["epoch_losses"]]
        if progress and rank == 0:
            print(f"infogauss: resuming from {ckpt_path} at epoch {start}", file=sys.stderr)
        if start > cfg.epochs:
            raise InputError(
                f"{ckpt_path} is at epoch {start}, past epochs={cfg.epochs}; raise epochs or use a fresh output folder"
            )
    if out is not None and rank == 0:
        out.mkdir(parents=True, exist_ok=True)
        write_json(out / "config.json", {**cfg.to_dict(), "device_resolved": str(device), "world_size": world})
        if history:  # drop evaluations made after the checkpoint by an interrupted run
            write_text(out / "metrics.jsonl", "".join(json.dumps(h) + "\n" for h in history))

    net = model
    if world > 1:
        from torch.nn.parallel import DistributedDataParallel

        if device.type == "cuda":  # batch statistics over the global batch, as in one process
            model = torch.nn.SyncBatchNorm.convert_sync_batchnorm(model)
            net = model

        net = DistributedDataParallel(model, device_ids=[device.index] if device.type == "cuda" else None)

    def record(epoch: int, step: int) -> None:
        entry = None
        if rank == 0:
            entry = {"epoch": epoch, "step": step}
            entry["train_loss"] = epoch_losses[-1] if epoch_losses and epoch > 0 else None
            entry.update(evaluate(model, source, cfg=cfg))
        if world > 1:  # every rank gets rank 0's evaluation (and waits for it)
            entry = broadcast_json(entry, device)
        history.append(entry)
        if out is not None and rank == 0:
            write_text(out / "metrics.jsonl", "".join(json.dumps(h) + "\n" for h in history))

    if not history:
        record(0, 0)
    bf16 = cfg.amp == "bf16" or (cfg.amp == "auto" and device.type == "cuda")
    amp = torch.autocast(device.type, dtype=torch.bfloat16, enabled=bf16)
    desc = f"train {cfg.source}" + (f" {cfg.encoder} {cfg.objective}" if cfg.images else "")
    bar = tqdm(
        total=cfg.epochs, initial=min(start, cfg.epochs), desc=desc, unit="epoch",
        disable=not progress or rank != 0, dynamic_ncols=True,
    )  # fmt: skip
    net.train()
    for epoch in range(start, cfg.epochs):
        total = _epoch(net, model, source, gen, opt, criterion, reg, cfg.batch_size, steps_per_epoch, world, rank, amp,
                       epoch=epoch)  # fmt: skip
        if world > 1:
            torch.distributed.all_reduce(total)
            total /= world
        epoch_losses.append(float(total) / steps_per_epoch)
        done = epoch + 1
        bar.update(1)
        bar.set_postfix(loss=f"{epoch_losses[-1]:.4f}")
        if done % cfg.eval_every == 0 or done == cfg.epochs:
            record(done, done * steps_per_epoch)
            net.train()
        if out is not None and rank == 0 and (done % cfg.checkpoint_every == 0 or done == cfg.epochs):
            _save_checkpoint(out / CHECKPOINT, model, opt, gen, done, history, epoch_losses, cfg, device)
    bar.close()
    if out is not None and rank == 0:
        write_json(out / "report.json", {"config": cfg.to_dict(), **history[-1]})
    return Run(model, source, history, cfg, out, epoch_losses, rank)


def _build(cfg: TrainConfig, device: torch.device, world: int = 1):
    """Source, seeded encoder on ``device``, optimiser, loss, regulariser (or None) and the data generator."""
    from infogauss.data.synthetic import make_generator, make_source
    from infogauss.losses import InfoNCE, Route2Regularizer

    if cfg.images:
        from infogauss.data.images import make_image_source

        source = make_image_source(cfg.source, seed=cfg.seed + DATA_SEED_OFFSET, device=device,
                                   channels_last=device.type == "cuda", **cfg.source_params)  # fmt: skip
        what = "images"
    else:
        source = make_source(cfg.source, **{"seed": cfg.seed, **cfg.source_params, "device": device})
        what = "items"
    if cfg.batch_size > source.n_train:
        raise InputError(
            f"batch_size {cfg.batch_size} is larger than the training set ({source.n_train} {what}); "
            f"use batch_size <= {source.n_train}"
        )
    model = build_model(cfg, source.dim, device).to(device)
    opt = _optimizer(cfg, model)
    if cfg.objective == "supervised":
        criterion = torch.nn.CrossEntropyLoss()
    else:
        criterion = InfoNCE(cfg.temperature, cfg.symmetric, gather_distributed=world > 1)
    reg = None
    if cfg.beta is not None or cfg.beta_scale is not None:
        eta2 = cfg.eta2 if cfg.eta2 is not None else source.eta2
        if cfg.beta_scale is not None and eta2 is None:
            raise InputError(
                f"beta_scale needs eta2, unknown for source {cfg.source!r}; set eta2=... (0 gives the largest "
                "threshold) or set beta directly"
            )
        reg = Route2Regularizer(cfg.beta, cfg.beta_scale, cfg.lam, cfg.entropy, cfg.knn_k, cfg.shrinkage,
                                cfg.temperature, eta2)  # fmt: skip
    gen = make_generator(cfg.seed + DATA_SEED_OFFSET, device)
    return source, model, opt, criterion, reg, gen


def build_model(cfg: TrainConfig, in_dim: int = 3 * 32 * 32, device="cpu") -> torch.nn.Module:
    """The encoder of ``cfg`` at step 0, seeded with ``cfg.seed`` (torch's global RNG is left untouched).

    Synthetic sources: :func:`infogauss.encoders.make_encoder` (input dimension ``in_dim``). Images:
    :func:`infogauss.vision.make_vision_encoder` (``width``, ``head`` as ``head_dim``, ``d`` as the MLP's
    ``out_dim``). For ``objective="supervised"`` the model gets a linear classifier (10 classes) on the head output
    (or the representation without a head), and every other weight is *copied* from the model that
    ``objective="infonce"`` builds with the same seed: the two objectives start from the same initialisation
    (paper §4.2(b): "identical initialization and capacity"), whatever order the layers are created in.
    ``device`` only decides ResNets' memory format (``channels_last`` on CUDA); the model is returned on the CPU.
    """
    with torch.random.fork_rng(devices=[]):
        torch.manual_seed(cfg.seed)
        if not cfg.images:
            from infogauss.encoders import make_encoder

            return make_encoder(cfg.encoder, in_dim, cfg.d, hidden=cfg.hidden, bias=cfg.bias, head=cfg.head)
        from infogauss.vision import make_vision_encoder

        kw = dict(width=cfg.width, head_dim=cfg.head, out_dim=cfg.d if cfg.encoder == "mlp" else None,
                  channels_last=torch.device(device).type == "cuda")  # fmt: skip
        model = make_vision_encoder(cfg.encoder, **kw)
        if cfg.objective != "supervised":
            return model
        torch.manual_seed(cfg.seed)
        supervised = make_vision_encoder(cfg.encoder, **kw, num_classes=10)
    missing, unexpected = supervised.load_state_dict(model.state_dict(), strict=False)
    if unexpected or any(not k.startswith("classifier.") for k in missing):  # pragma: no cover - vision.py contract
        raise RuntimeError(f"supervised model differs from the contrastive one beyond the classifier: {missing}")
    return supervised


def _epoch(net, model, source, gen, opt, criterion, reg, batch_size, steps, world=1, rank=0, amp=None, epoch=0):
    """One epoch (number ``epoch``): ``steps`` batches of a fresh permutation; returns the summed loss (a tensor).

    Contrastive: both views of the local batch go through ``net`` in one call and the loss is ``criterion`` on the
    two halves (plus the regulariser ``reg`` on the representations). Supervised (``criterion`` is a
    ``CrossEntropyLoss``): one view per image, cross-entropy on the labels. Batches come from :func:`_batches`.
    """
    if not 1 <= steps <= source.n_train // batch_size:
        raise ValueError(f"steps must be in [1, {source.n_train // batch_size}] for one epoch, got {steps}")
    supervised = isinstance(criterion, torch.nn.CrossEntropyLoss)
    local = batch_size // world
    amp = amp if amp is not None else contextlib.nullcontext()
    total = None
    for xs, y in _batches(source, gen, batch_size, steps, world, rank, epoch, views=1 if supervised else 2):
        x = xs[0] if len(xs) == 1 else torch.cat(xs)
        with amp:
            h = net(x)
        if supervised:
            loss = criterion(h.float(), y)
        else:
            loss = criterion(h[:local], h[local:])
            if reg is not None:
                z = model.embed(x) if model.head is not None else h
                loss = loss + 0.5 * (reg(z[:local]) + reg(z[local:]))
        opt.zero_grad(set_to_none=True)
        loss.backward()
        opt.step()
        total = loss.detach() if total is None else total + loss.detach()
    return total


def _batches(source, gen, batch_size, steps, world, rank, epoch, views=2):
    """Yield ``(views, labels)`` for this rank's slice of the first ``steps`` global batches of epoch ``epoch``.

    ``views`` is ``(x1, x2)`` or ``(x,)``; ``labels`` is None for synthetic sources. Every rank draws the same
    global batch and keeps its slice ``[rank·N/W, (rank+1)·N/W)``.

    Synthetic sources: a permutation from ``gen``; views are generated on the device for ``chunk`` consecutive
    steps at once (about 2**20 input numbers per view), which saves kernel launches at small batch sizes; the
    permutation and chunking restart every epoch, so an epoch's random stream depends only on the generator state
    at its start (what a checkpoint stores). Images: :meth:`infogauss.data.images.ImageSource.batches`, drawn from
    ``(seed, epoch)``.
    """
    local = batch_size // world
    lo = rank * local
    if getattr(source, "kind", None) == "images":
        for *xs, y in source.batches(batch_size, epoch, views=views, steps=steps):
            yield tuple(x[lo : lo + local] for x in xs), y[lo : lo + local]
        return
    device = source.train.device
    perm = torch.randperm(source.n_train, generator=gen, device=device)
    chunk = max(1, min(steps, VIEW_CHUNK_NUMBERS // (batch_size * source.dim)))
    for c0 in range(0, steps, chunk):
        c1 = min(steps, c0 + chunk)
        x1s, x2s = source.views(source.train[perm[c0 * batch_size : c1 * batch_size]], gen)
        for i in range(c1 - c0):
            s0 = i * batch_size + lo
            yield (x1s[s0 : s0 + local], x2s[s0 : s0 + local]), None


@torch.no_grad()
def evaluate(
    model,
    source,
    *,
    cfg: TrainConfig | None = None,
    temperature: float | None = None,
    batch_size: int | None = None,
    n: int | None = None,
    seed: int = EVAL_SEED,
) -> dict:
    """Measure ``model`` on held-out views of ``source.test``: the Gaussianity report and the InfoNCE monitors.

    Two views of each of the first ``n`` test items are drawn with a fixed generator (``seed``), so every
    evaluation of a run sees the same inputs. ``Z`` (first view) and ``Z2`` (second view) are the
    *representations* ``model.embed(x)`` (before any projection head, unnormalised).

    Returns a flat dict of floats:

    - the keys of ``gaussianity_report(Z, pairs=Z2).to_dict()["raw"]`` at top level (``cv``, ``ad_mean``,
      ``ad_pass_fraction``, ``dp_mean_p``, ``dp_pass_fraction``, ``paper_verdict``, ...) and the full report
      under ``"report"``;
    - ``alignment`` = E[u·v] over positive pairs (paper Eq. 4, 6), ``alignment_bound`` =
      η₂ + (1 − η₂)‖m‖² when the source's η₂ is known (Prop. 1), ``uniformity_potential`` Φ with
      α = 1/τ (Eq. 4), ``mean_embedding_norm`` ‖m(μ)‖, ``population_loss`` = −α·alignment + Φ (Eq. 4);
    - ``pos_cos_std``, ``neg_cos_mean``, ``neg_cos_std`` (cosine summaries), ``mean_norm``;
    - ``test_loss``: the InfoNCE loss (Eq. 2 / NT-Xent as trained) averaged over consecutive test batches of
      ``batch_size`` pairs.

    ``cfg`` supplies ``temperature``, ``batch_size``, ``symmetric`` and ``eval_samples`` unless given.

    Image sources: see :func:`evaluate_images`.
    """
    if getattr(source, "kind", None) == "images":
        return evaluate_images(model, source, cfg=cfg, temperature=temperature, batch_size=batch_size, n=n, seed=seed)
    from infogauss.data.synthetic import make_generator
    from infogauss.losses import info_nce
    from infogauss.stats import cosine_summary, mean_embedding_norm, mean_norm, uniformity_potential

    temperature = temperature if temperature is not None else (cfg.temperature if cfg else 0.1)
    batch_size = batch_size if batch_size is not None else (cfg.batch_size if cfg else 128)
    symmetric = cfg.symmetric if cfg else False
    n = n if n is not None else (cfg.eval_samples if cfg else None)
    x0 = source.test if n is None else source.test[:n]
    was_training = model.training
    model.eval()
    try:
        g = make_generator(seed, x0.device)
        x1, x2 = source.views(x0, g)
        z1, z2, h1, h2 = [], [], [], []
        for i in range(0, x0.shape[0], 4096):
            for x, zs, hs in ((x1, z1, h1), (x2, z2, h2)):
                z = model.embed(x[i : i + 4096])
                zs.append(z.float())
                hs.append((z if model.head is None else model.head(z)).float())
        Z1, Z2, H1, H2 = (torch.cat(t) for t in (z1, z2, h1, h2))
    finally:
        model.train(was_training)

    nb = max(1, Z1.shape[0] // batch_size)
    bs = min(batch_size, Z1.shape[0])
    test_loss = float(
        torch.stack(
            [info_nce(H1[i * bs : (i + 1) * bs], H2[i * bs : (i + 1) * bs], temperature, symmetric) for i in range(nb)]
        ).mean()
    )
    report = _gaussianity_report(Z1, Z2)
    cos = cosine_summary(Z1, Z2)
    align = float(cos.positive.mean)
    phi = float(uniformity_potential(Z1, 1.0 / temperature))
    m = float(mean_embedding_norm(Z1))
    eta2 = getattr(source, "eta2", None)
    entry = {k: v for k, v in report.get("raw", {}).items() if not isinstance(v, dict | list)}
    entry.update(
        test_loss=test_loss,
        alignment=align,
        alignment_bound=None if eta2 is None else eta2 + (1 - eta2) * m**2,
        uniformity_potential=phi,
        population_loss=-align / temperature + phi,
        mean_embedding_norm=m,
        mean_norm=float(mean_norm(Z1)),
        pos_cos_std=float(cos.positive.std),
        neg_cos_mean=float(cos.negative.mean),
        neg_cos_std=float(cos.negative.std),
        report=report,
    )
    return jsonable(entry)


@torch.no_grad()
def evaluate_images(
    model,
    source,
    *,
    cfg: TrainConfig | None = None,
    temperature: float | None = None,
    batch_size: int | None = None,
    n: int | None = None,
    seed: int = EVAL_SEED,
) -> dict:
    """Measure an image encoder on the test images (paper §4.2: "representations are evaluated on the test set").

    The model runs in eval mode (BatchNorm running statistics) and in float32 (never under autocast) on the first
    ``n`` test images of the source's fixed random order (default ``cfg.eval_samples``, else all 10,000),
    **not augmented**. Two representations are measured, each with the paper's protocol on its unnormalised and
    L2-normalised rows (:func:`infogauss.report.gaussianity_report` on coordinates — ``projections=0``,
    ``geometry=False``):

    - the backbone ``z = model.embed(x)``: report keys at top level (``cv``, ``ad_mean``, ``ad_pass_fraction``,
      ``dp_mean_p``, ``dp_pass_fraction``, ``paper_verdict``, ...), ``normalized_<key>``, full report ``report``;
    - with a projection head, its output ``g(z)`` (what InfoNCE sees): ``head_<key>``, ``head_normalized_<key>``,
      ``head_report``.

    Rows of zero norm cannot be normalised; they are left out of that representation's report and counted in
    ``zero_norm_rows`` / ``head_zero_norm_rows`` (normally 0). Also:

    - ``knn_accuracy``: weighted k-NN classification of the test images from backbone features of
      ``cfg.knn_bank`` un-augmented training images (default all): cosine similarity, the
      :data:`KNN_NEIGHBOURS` = 200 nearest, votes weighted by ``exp(cos / 0.1)`` (Wu et al. 2018);
    - with a classifier (supervised): ``test_accuracy`` and ``test_loss`` (cross-entropy) on the test images;
    - with ``cfg.eval_views > 0``: two augmented views (fixed ``seed``) of the first ``eval_views`` test images,
      pushed through ``project`` (the loss-facing output): ``test_infonce`` (InfoNCE at ``temperature`` averaged
      over batches of ``batch_size`` pairs), ``alignment`` (mean positive cosine), ``pos_cos_std``,
      ``neg_cos_mean``, ``neg_cos_std``, ``uniformity_potential`` (α = 1/τ), ``mean_embedding_norm``; for the
      contrastive objective ``test_loss = test_infonce``.
    """
    import torch.nn.functional as F

    from infogauss.losses import info_nce
    from infogauss.stats import cosine_summary, mean_embedding_norm, uniformity_potential

    temperature = temperature if temperature is not None else (cfg.temperature if cfg else 0.1)
    batch_size = batch_size if batch_size is not None else (cfg.batch_size if cfg else 256)
    symmetric = cfg.symmetric if cfg else False
    n = n if n is not None else (cfg.eval_samples if cfg else None)
    n_views = cfg.eval_views if cfg else 2048
    bank_n = cfg.knn_bank if cfg else None
    classifier = getattr(model, "classifier", None)
    was_training = model.training
    model.eval()
    try:
        with torch.autocast(source.device.type, enabled=False):
            zs, hs, logits, labels = [], [], [], []
            for x, y in source.test_images(n, EVAL_BLOCK):
                r = model.representations(x)
                zs.append(r["backbone"].float())
                if "head" in r:
                    hs.append(r["head"].float())
                if classifier is not None:
                    logits.append(classifier(r.get("head", r["backbone"])).float())
                labels.append(y)
            bank, bank_y = [], []
            for x, y in source.bank_images(bank_n, EVAL_BLOCK):
                bank.append(model.embed(x).float())
                bank_y.append(y)
            v1, v2 = [], []
            if n_views > 0:
                for x1, x2 in source.test_views(n_views, batch_size, seed):
                    v1.append(model.project(x1).float())
                    v2.append(model.project(x2).float())
    finally:
        model.train(was_training)
    Z, Y = torch.cat(zs), torch.cat(labels)
    entry: dict = {"n_eval": int(Z.shape[0])}
    entry.update(_image_report(Z, ""))
    if hs:
        entry.update(_image_report(torch.cat(hs), "head_"))
    entry["knn_accuracy"] = knn_accuracy(torch.cat(bank), torch.cat(bank_y), Z, Y)
    if classifier is not None:
        L = torch.cat(logits)
        entry["test_accuracy"] = float((L.argmax(1) == Y).float().mean())
        entry["test_loss"] = float(F.cross_entropy(L, Y))
    if v1:
        H1, H2 = torch.cat(v1), torch.cat(v2)
        bs = max(2, min(batch_size, H1.shape[0]))
        nb = max(1, H1.shape[0] // bs)
        losses = [info_nce(H1[i * bs : (i + 1) * bs], H2[i * bs : (i + 1) * bs], temperature, symmetric)
                  for i in range(nb)]  # fmt: skip
        cos = cosine_summary(H1, H2)
        entry.update(
            test_infonce=float(torch.stack(losses).mean()),
            alignment=float(cos.positive.mean),
            pos_cos_std=float(cos.positive.std),
            neg_cos_mean=float(cos.negative.mean),
            neg_cos_std=float(cos.negative.std),
            uniformity_potential=float(uniformity_potential(H1, 1.0 / temperature)),
            mean_embedding_norm=float(mean_embedding_norm(H1)),
        )
        if classifier is None:
            entry["test_loss"] = entry["test_infonce"]
    return jsonable(entry)


def _image_report(Z: torch.Tensor, prefix: str) -> dict:
    """Report keys of ``Z`` (raw at ``prefix``, normalised at ``prefix + "normalized_"``) and the full report."""
    from infogauss.report import gaussianity_report

    keep = Z.norm(dim=1) > 0
    zero = int((~keep).sum())
    rep = gaussianity_report(Z[keep].double().cpu().numpy(), projections=0, geometry=False, progress=False).to_dict()
    out = {f"{prefix}d": rep["d"], f"{prefix}zero_norm_rows": zero}
    for part, pre in (("raw", prefix), ("normalized", prefix + "normalized_")):
        out.update({pre + k: v for k, v in rep[part].items() if not isinstance(v, dict | list)})
    out[prefix + "report" if prefix else "report"] = rep
    return out


@torch.no_grad()
def knn_accuracy(
    bank: torch.Tensor,
    bank_labels: torch.Tensor,
    queries: torch.Tensor,
    labels: torch.Tensor,
    k: int = KNN_NEIGHBOURS,
    temperature: float = KNN_TEMPERATURE,
    num_classes: int | None = None,
    block: int = 1024,
) -> float:
    r"""Accuracy of weighted k-NN classification with cosine similarity (Wu et al. 2018, the SimCLR/MoCo monitor).

    Each query takes the ``k`` bank rows of largest cosine similarity :math:`s_j` (``min(k, len(bank))``) and
    predicts :math:`\arg\max_c \sum_{j: y_j = c} \exp(s_j / T)`; returns the fraction predicted right.

    Wu, Xiong, Yu, Lin (2018), "Unsupervised Feature Learning via Non-Parametric Instance Discrimination", CVPR.
    """
    import torch.nn.functional as F

    c = int(num_classes if num_classes is not None else max(int(bank_labels.max()), int(labels.max())) + 1)
    b = F.normalize(bank.float(), dim=1)
    q = F.normalize(queries.float(), dim=1)
    kk = min(int(k), b.shape[0])
    right = 0
    for i in range(0, q.shape[0], block):
        sim, idx = (q[i : i + block] @ b.T).topk(kk, dim=1)
        votes = torch.zeros(sim.shape[0], c, device=q.device)
        votes.scatter_add_(1, bank_labels[idx], (sim / temperature).exp())
        right += int((votes.argmax(1) == labels[i : i + block]).sum())
    return right / q.shape[0]


def _gaussianity_report(z1: torch.Tensor, z2: torch.Tensor) -> dict:
    from infogauss.report import gaussianity_report

    return gaussianity_report(z1.cpu().numpy(), pairs=z2.cpu().numpy(), progress=False).to_dict()


# -- checkpoints ------------------------------------------------------------------------------------------------


def load_checkpoint(path: str | Path) -> dict:
    """Read a checkpoint written by :func:`train` (``torch.load(weights_only=True)``; InputError if unreadable)."""
    path = Path(path)
    if not path.is_file():
        raise InputError(f"checkpoint {path} does not exist")
    try:
        state = torch.load(path, map_location="cpu", weights_only=True)
    except Exception as exc:
        msg = str(exc).splitlines()[0][:160] if str(exc) else type(exc).__name__
        raise InputError(f"checkpoint {path} is unreadable ({msg}); delete it or use a fresh output folder") from None
    keys = {"version", "model", "optimizer", "generator", "epoch", "history", "epoch_losses", "config"}
    if not isinstance(state, dict) or not keys <= set(state):
        raise InputError(f"{path} is not an infogauss training checkpoint; delete it or use a fresh output folder")
    if state["version"] != CHECKPOINT_VERSION:
        raise InputError(f"checkpoint {path} has version {state['version']}, expected {CHECKPOINT_VERSION}")
    return state


def _save_checkpoint(path, model, opt, gen, epoch, history, epoch_losses, cfg, device) -> None:
    state = {
        "version": CHECKPOINT_VERSION,
        "model": model.state_dict(),
        "optimizer": opt.state_dict(),
        "generator": gen.get_state(),
        "epoch": int(epoch),
        "history": json.dumps(history),
        "epoch_losses": [float(x) for x in epoch_losses],
        "config": json.dumps({**cfg.to_dict(), "device_type": device.type}),
    }
    fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.", suffix=".tmp")
    os.close(fd)
    try:
        torch.save(state, tmp)
        os.replace(tmp, path)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise


def _check_resumable(state: dict, cfg: TrainConfig, path: Path, device: torch.device) -> None:
    saved = json.loads(state["config"])
    if saved.pop("device_type", device.type) != device.type:
        raise InputError(f"checkpoint {path} was written on another device type; resume on the same device")
    now = cfg.to_dict()
    for key in now:
        if key in RESUMABLE_CHANGES or key == "device":
            continue
        if saved.get(key) != json.loads(json.dumps(now[key])):
            raise InputError(
                f"checkpoint {path} belongs to a run with {key}={saved.get(key)!r}, not {now[key]!r}; "
                "use the same settings or a fresh output folder"
            )


# -- helpers ----------------------------------------------------------------------------------------------------


def _optimizer(cfg: TrainConfig, model: torch.nn.Module) -> torch.optim.Optimizer:
    p = list(model.parameters())
    # The fused kernels (CPU and CUDA) compute the same update in one pass: ~15% more steps/s on small models.
    fused = all(q.device.type in ("cpu", "cuda") and q.is_floating_point() for q in p) or None
    if cfg.optimizer == "adam":
        return torch.optim.Adam(p, lr=cfg.lr, weight_decay=cfg.weight_decay, fused=fused)
    if cfg.optimizer == "adamw":
        return torch.optim.AdamW(p, lr=cfg.lr, weight_decay=cfg.weight_decay, fused=fused)
    return torch.optim.SGD(p, lr=cfg.lr, momentum=0.9, weight_decay=cfg.weight_decay)


def broadcast_json(obj, device: torch.device):
    """Rank 0's ``obj`` (JSON-serialisable) on every rank, sent as UTF-8 bytes (no pickle)."""
    dist = torch.distributed
    data = json.dumps(obj).encode() if dist.get_rank() == 0 else b""
    size = torch.tensor([len(data)], dtype=torch.int64, device=device)
    dist.broadcast(size, 0)
    buf = torch.zeros(int(size), dtype=torch.uint8, device=device)
    if dist.get_rank() == 0:
        buf.copy_(torch.frombuffer(bytearray(data), dtype=torch.uint8))
    dist.broadcast(buf, 0)
    return json.loads(buf.cpu().numpy().tobytes().decode())


def _distributed_setup() -> tuple[int, int]:
    """(world size, rank); initialises the default process group under torchrun."""
    import torch.distributed as dist

    if dist.is_available() and dist.is_initialized():
        return dist.get_world_size(), dist.get_rank()
    if int(os.environ.get("WORLD_SIZE", "1")) > 1:
        backend = "nccl" if torch.cuda.is_available() else "gloo"
        dist.init_process_group(backend)
        return dist.get_world_size(), dist.get_rank()
    return 1, 0
