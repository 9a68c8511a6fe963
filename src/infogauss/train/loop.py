"""The training loop of :func:`train` (see :mod:`infogauss.train` for the data flow, the files and resuming).

Read top to bottom: :func:`build` makes the fixed part of a run (:class:`Setup`: source, loss, device, processes)
and its changing part (:class:`TrainState`: model, optimiser, data generator, epoch, history — what a checkpoint
holds); :func:`run_loop` resumes, evaluates at epoch 0, then per epoch calls :func:`train_epoch`, checks for
divergence (:func:`check_divergence`), evaluates and checkpoints; :func:`finish` writes ``report.json``.
"""

from __future__ import annotations

import contextlib
import json
import math
import os
from dataclasses import dataclass, field
from pathlib import Path

import torch

from infogauss.checks import resolve_device
from infogauss.errors import InputError
from infogauss.outputs import dumps_json, write_json, write_text
from infogauss.train.build import (
    DATA_SEED_OFFSET,
    Objective,
    build_model,
    make_optimizer,
    make_training_source,
    steps_per_epoch,
)
from infogauss.train.checkpoint import CHECKPOINT, check_resumable, load_checkpoint, save_checkpoint
from infogauss.train.config import TrainConfig
from infogauss.train.distributed import broadcast_json, distributed_setup, wrap_distributed
from infogauss.train.evaluate import Evaluation, evaluate
from infogauss.train.logs import open_logs, write_metrics_csv

__all__ = ["Run", "TrainState", "Setup", "TrainingDiverged", "train", "build", "train_epoch", "run_loop",
           "build_model", "DATA_SEED_OFFSET"]  # fmt: skip

VIEW_CHUNK_NUMBERS = 2**20  # input numbers per view generated at once (see batches)
EXPLODED = 1e15  # a weight this large (in absolute value) has exploded: Adam at lr 1e-3 moves weights ~1e-3/step
CHANCE_TOLERANCE = 1e-3  # relative distance from the chance loss that counts as "stuck at chance"


class TrainingDiverged(InputError):
    """Training diverged (non-finite loss or weights, or the loss stuck at chance with exploding weights)."""


@dataclass
class Run:
    """What :func:`train` returns. ``history``: one :class:`~infogauss.train.evaluate.Evaluation` per evaluation,
    the first at epoch 0 (before training); every rank of a distributed run holds rank 0's."""

    model: torch.nn.Module
    source: object
    history: list[Evaluation]
    config: TrainConfig
    out: Path | None
    epoch_losses: list[float] = field(default_factory=list)  # mean training loss of every epoch
    rank: int = 0  # this process's rank under torchrun (rank 0 wrote the files)

    @property
    def final(self) -> Evaluation:
        """The last evaluation."""
        return self.history[-1]


@dataclass
class Setup:
    """The fixed part of a run: config, source, loss, device, processes, steps per epoch, output folder."""

    cfg: TrainConfig
    source: object
    objective: Objective
    device: torch.device
    world: int = 1
    rank: int = 0
    steps: int = 1  # batches per epoch
    out: Path | None = None
    logs: list = field(default_factory=list)  # TensorBoard etc. (infogauss.train.logs), rank 0 only

    @property
    def amp(self):
        """bf16 autocast of the encoder's forward pass (``amp="bf16"``, or ``"auto"`` on CUDA), else nothing."""
        bf16 = self.cfg.amp == "bf16" or (self.cfg.amp == "auto" and self.device.type == "cuda")
        return torch.autocast(self.device.type, dtype=torch.bfloat16) if bf16 else contextlib.nullcontext()


@dataclass
class TrainState:
    """The changing part of a run (what a checkpoint stores). ``net`` is what steps call: ``model`` or its DDP
    wrapper; ``epoch`` counts finished epochs."""

    model: torch.nn.Module
    opt: torch.optim.Optimizer
    gen: torch.Generator
    net: torch.nn.Module | None = None
    epoch: int = 0
    history: list[Evaluation] = field(default_factory=list)
    epoch_losses: list[float] = field(default_factory=list)
    last_loss: float | None = None  # the last step's loss (averaged over processes)


# ---------------------------------------------------------------------------------------------- the run


def train(cfg: TrainConfig, progress: bool = True, resume: str | Path | None = None, log=()) -> Run:
    """Train ``cfg`` and return the :class:`Run` (see :mod:`infogauss.train` for the data flow and the files).

    ``resume``: a checkpoint to start from (default: ``cfg.out/checkpoint.pt`` when it exists). ``log``: extra
    metric loggers (``("tensorboard",)``, :mod:`infogauss.train.logs`); ``metrics.csv`` is always written.

    Running out of memory (``torch.OutOfMemoryError``, or the CPU allocator failing) raises :class:`InputError`
    naming ``batch_size`` and ``width`` values to try; divergence raises :class:`TrainingDiverged`.
    """
    cfg.validate()
    try:
        setup, state = build(cfg)
        if setup.rank == 0:
            setup.logs = open_logs(log, setup.out)
        return run_loop(setup, state, progress, resume)
    except torch.OutOfMemoryError as exc:
        raise _out_of_memory(cfg, exc) from None
    except RuntimeError as exc:
        if "can't allocate memory" not in str(exc):
            raise
        raise _out_of_memory(cfg, exc) from None


def run_loop(setup: Setup, state: TrainState, progress: bool = True, resume=None) -> Run:
    """Resume (if a checkpoint is there), evaluate at epoch 0, train every epoch; returns the :class:`Run`."""
    from tqdm.auto import tqdm

    cfg = setup.cfg
    resume_from(setup, state, resume)
    start_files(setup, state)
    wrap_distributed(setup, state)
    if not state.history:
        record(setup, state)
    desc = f"train {cfg.source}" + (f" {cfg.encoder} {cfg.objective}" if cfg.images else "")
    if state.epoch:  # resumed from a checkpoint (resume_from)
        desc += f" (from epoch {state.epoch})"
    bar = tqdm(total=cfg.epochs, initial=min(state.epoch, cfg.epochs), desc=desc, unit="epoch",
               disable=not progress or setup.rank != 0 or state.epoch >= cfg.epochs,  # nothing to train: no bar
               dynamic_ncols=True)  # fmt: skip
    state.net.train()
    while state.epoch < cfg.epochs:
        state.epoch_losses.append(train_epoch(setup, state))
        state.epoch += 1
        check_divergence(setup, state)
        bar.update(1)
        bar.set_postfix(loss=f"{state.epoch_losses[-1]:.4f}")
        if state.epoch % cfg.eval_every == 0 or state.epoch == cfg.epochs:
            record(setup, state)
            state.net.train()
        if setup.out is not None and setup.rank == 0 and (state.epoch % cfg.checkpoint_every == 0
                                                           or state.epoch == cfg.epochs):  # fmt: skip
            save_checkpoint(setup.out / CHECKPOINT, state, cfg, setup.device)
    bar.close()
    finish(setup, state)
    return Run(state.model, setup.source, state.history, cfg, setup.out, state.epoch_losses, setup.rank)


def build(cfg: TrainConfig) -> tuple[Setup, TrainState]:
    """The :class:`Setup` and the step-0 :class:`TrainState` of ``cfg`` (joins the torchrun process group)."""
    from infogauss.data.synthetic import make_generator

    world, rank = distributed_setup()
    device = torch.device(resolve_device(cfg.device, "device"))
    if device.type == "cuda" and world > 1:
        device = torch.device("cuda", int(os.environ.get("LOCAL_RANK", rank)))
    elif device.type == "cuda" and device.index is None:
        device = torch.device("cuda", torch.cuda.current_device())
    if cfg.batch_size % world:
        raise InputError(f"batch_size {cfg.batch_size} must divide by the number of processes {world}")
    source = make_training_source(cfg, device)
    model = build_model(cfg, source.dim).to(device)
    setup = Setup(cfg, source, Objective(cfg, source, world), device, world, rank, steps_per_epoch(cfg, source),
                  Path(cfg.out) if cfg.out is not None else None)  # fmt: skip
    state = TrainState(model, make_optimizer(cfg, model), make_generator(cfg.seed + DATA_SEED_OFFSET, device))
    state.net = model
    return setup, state


# ---------------------------------------------------------------------------------------------- epochs


def train_epoch(setup: Setup, state: TrainState, steps: int | None = None) -> float:
    """One epoch (number ``state.epoch``): the first ``steps`` (default ``setup.steps``) batches of a fresh
    permutation; returns the mean loss over steps and processes (``state.last_loss``: the last step's)."""
    steps = setup.steps if steps is None else steps
    total = torch.zeros((), device=setup.device)
    for xs, y in batches(setup, state, steps):
        loss = setup.objective(state, xs, y, setup.amp)
        state.opt.zero_grad(set_to_none=True)
        loss.backward()
        state.opt.step()
        total += loss.detach()
    sums = torch.stack([total, loss.detach()])
    if setup.world > 1:
        torch.distributed.all_reduce(sums)
        sums /= setup.world
    total, state.last_loss = sums.tolist()
    return total / steps


def batches(setup: Setup, state: TrainState, steps: int):
    """Yield ``(views, labels)`` for this rank's slice of the first ``steps`` global batches of this epoch.

    ``views`` is ``(x1, x2)`` or ``(x,)`` (supervised); ``labels`` is None for synthetic sources. Every rank draws
    the same global batch and keeps its slice ``[rank·N/W, (rank+1)·N/W)``.

    Synthetic sources: a permutation from the generator; views are generated on the device for ``chunk``
    consecutive steps at once (about 2**20 input numbers per view), which saves kernel launches at small batch
    sizes; the permutation and chunking restart every epoch, so an epoch's random stream depends only on the
    generator state at its start (what a checkpoint stores). Images:
    :meth:`infogauss.data.images.ImageSource.batches`, drawn from ``(seed, epoch)``.
    """
    source, n = setup.source, setup.cfg.batch_size
    if not 1 <= steps <= source.n_train // n:
        raise ValueError(f"steps must be in [1, {source.n_train // n}] for one epoch, got {steps}")
    local = n // setup.world
    lo = setup.rank * local
    if getattr(source, "kind", None) == "images":
        for *xs, y in source.batches(n, state.epoch, views=setup.objective.views, steps=steps):
            yield tuple(x[lo : lo + local] for x in xs), y[lo : lo + local]
        return
    perm = torch.randperm(source.n_train, generator=state.gen, device=source.train.device)
    chunk = max(1, min(steps, VIEW_CHUNK_NUMBERS // (n * source.dim)))
    for c0 in range(0, steps, chunk):
        c1 = min(steps, c0 + chunk)
        x1s, x2s = source.views(source.train[perm[c0 * n : c1 * n]], state.gen)
        for i in range(c1 - c0):
            s0 = i * n + lo
            yield (x1s[s0 : s0 + local], x2s[s0 : s0 + local]), None


def check_divergence(setup: Setup, state: TrainState) -> None:
    """Raise :class:`TrainingDiverged` when the last epoch's loss or any weight is not finite, or when the loss is
    stuck at its chance value (log N for InfoNCE, paper Eq. 2) while the weights exploded (|w| > 1e15)."""
    cfg, loss, last = setup.cfg, state.epoch_losses[-1], state.last_loss
    biggest = max(float(p.detach().abs().max()) for p in state.model.parameters())
    chance = setup.objective.chance
    if not (math.isfinite(loss) and math.isfinite(last)):
        why = "the training loss is not finite"
    elif not math.isfinite(biggest):
        why = "the weights are not finite"
    elif biggest > EXPLODED and abs(last - chance) <= CHANCE_TOLERANCE * chance:
        why = f"the loss is stuck at chance, {last:.4g} = log {math.exp(chance):.0f}, and the weights exploded"
    else:
        return
    raise TrainingDiverged(  # report.json was removed when the run started (start_files): none claims success
        f"training diverged in epoch {state.epoch} ({why}) with lr={cfg.lr:g} and temperature tau={cfg.temperature:g}"
        f"; lower lr (the presets use {TrainConfig.lr:g}) or raise the temperature; no report was written"
    )


# ---------------------------------------------------------------------------------------------- bookkeeping


def record(setup: Setup, state: TrainState) -> None:
    """Evaluate (rank 0; every rank gets the result) and append it to the history and ``metrics.jsonl``."""
    entry = None
    if setup.rank == 0:
        entry = evaluate(state.model, setup.source, cfg=setup.cfg).to_dict()
        after = state.epoch > 0 and state.epoch_losses
        entry.update(epoch=state.epoch, step=state.epoch * setup.steps,
                     train_loss=state.epoch_losses[-1] if after else None)  # fmt: skip
    if setup.world > 1:
        entry = broadcast_json(entry, setup.device)
    state.history.append(Evaluation.from_dict(entry))
    if setup.out is not None and setup.rank == 0:
        _write_metrics(setup.out, state.history)
    for lg in setup.logs:
        lg.log(entry)


def _write_metrics(out: Path, history: list[Evaluation]) -> None:
    entries = [h.to_dict() for h in history]
    write_text(out / "metrics.jsonl", "".join(dumps_json(e, indent=None) for e in entries))
    write_metrics_csv(out / "metrics.csv", entries)


def resume_from(setup: Setup, state: TrainState, resume) -> None:
    """Load ``resume`` (default ``OUT/checkpoint.pt`` when it exists) into ``state``."""
    out, cfg = setup.out, setup.cfg
    path = Path(resume) if resume is not None else (out / CHECKPOINT if out is not None else None)
    if resume is not None and not path.is_file():
        raise InputError(f"checkpoint {path} does not exist; check the path or drop --resume")
    if path is None or not path.is_file():
        return
    saved = load_checkpoint(path)
    check_resumable(saved, cfg, path, setup.device)
    state.model.load_state_dict(saved["model"])
    state.opt.load_state_dict(saved["optimizer"])
    state.gen.set_state(saved["generator"])
    state.epoch = int(saved["epoch"])
    state.history = [Evaluation.from_dict(h) for h in json.loads(saved["history"])]
    state.epoch_losses = [float(x) for x in saved["epoch_losses"]]
    if state.epoch > cfg.epochs:
        raise InputError(f"{path} is at epoch {state.epoch}, past epochs={cfg.epochs}; raise epochs or use a fresh "
                         "output folder")  # fmt: skip


def start_files(setup: Setup, state: TrainState) -> None:
    """``config.json`` (and, resuming, ``metrics.jsonl`` cut back to the checkpoint's evaluations)."""
    if setup.out is None or setup.rank != 0:
        return
    setup.out.mkdir(parents=True, exist_ok=True)
    (setup.out / "report.json").unlink(missing_ok=True)  # a run in progress has no report yet
    info = {"device_resolved": str(setup.device), "world_size": setup.world, "source_resolved": _source_params(setup)}
    write_json(setup.out / "config.json", {**setup.cfg.to_dict(), **info})
    if state.history:  # drop evaluations made after the checkpoint by an interrupted run
        _write_metrics(setup.out, state.history)


def _source_params(setup: Setup) -> dict:
    params = getattr(setup.source, "params", None)
    return dict(params() if callable(params) else params or {})


def finish(setup: Setup, state: TrainState) -> None:
    """``report.json``: the config and the last evaluation (rank 0)."""
    if setup.out is not None and setup.rank == 0:
        write_json(setup.out / "report.json", {"config": setup.cfg.to_dict(), **state.history[-1].to_dict()})
    for lg in setup.logs:
        lg.close()


def _out_of_memory(cfg: TrainConfig, exc: BaseException) -> InputError:
    from infogauss.vision import DEFAULT_WIDTH

    if torch.cuda.is_available():
        torch.cuda.empty_cache()
    where = "CUDA" if isinstance(exc, torch.OutOfMemoryError) else "CPU"
    hint = f"reduce batch_size={max(2, cfg.batch_size // 2)}"
    if cfg.images:
        width = cfg.width if cfg.width is not None else DEFAULT_WIDTH[cfg.encoder]
        hint += f" or width={max(1, width // 2)}" + (" (a multiple of 64 for ViTs)" if "vit" in cfg.encoder else "")
        now = f"batch_size={cfg.batch_size}, {cfg.encoder} width={width}"
    else:
        hint += f" or d={max(2, (cfg.d or 4) // 2)}"
        now = f"batch_size={cfg.batch_size}, d={cfg.d}"
    return InputError(f"{where} out of memory training with {now}; {hint} (or eval_samples/knn_bank)")
