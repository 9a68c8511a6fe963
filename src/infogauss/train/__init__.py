"""Induce: train an encoder with InfoNCE (or the supervised baseline) and measure its Gaussianity as it trains.

One function does the work: :func:`train` (``TrainConfig -> Run``), one loop for synthetic sources and images.
The data flow, nanoGPT-style:

1. build the source on the training device: synthetic base items (:mod:`infogauss.data.synthetic`), your own
   arrays of pairs (``source="pairs"``, :mod:`infogauss.data.pairs`) or images
   (``source="cifar10"`` / ``"tiny-cifar"``, :mod:`infogauss.data.images`);
2. build the encoder (:func:`build_model`: :mod:`infogauss.encoders` for synthetic sources,
   :mod:`infogauss.vision` for images; seeded, each library's default init) and Adam;
3. every epoch: a random permutation of the training items, cut into batches of ``batch_size`` (the last
   incomplete batch is dropped; ``steps_per_epoch`` keeps only the first batches, i.e. a fresh random subset of
   the training set every epoch); for each batch the two views are generated *on the device* (synthetic: from one
   ``torch.Generator``; images: SimCLR augmentations drawn from ``(seed, epoch)``), both views go through the
   encoder in one call, and the loss is InfoNCE (paper Eq. 2, or NT-Xent when ``symmetric``) plus, when ``beta``
   or ``beta_scale`` is set, the Route-2 regulariser (paper Eq. 11) averaged over the two views. With
   ``objective="supervised"`` (images) each batch is one augmented view per image and the loss is cross-entropy
   on the labels, from the *same initialisation* as the contrastive model (:func:`build_model`);
4. at epoch 0 (before training), every ``eval_every`` epochs and at the end: :func:`evaluate` — synthetic: held-out
   views of the test items; images: the un-augmented test images (the paper's "evaluated on the test set") —
   the Gaussianity report (:func:`infogauss.report.gaussianity_report`) plus alignment, uniformity potential,
   ‖m(μ)‖ and cosine summaries; for images also k-NN accuracy and, supervised, test accuracy — one typed
   :class:`~infogauss.train.evaluate.Evaluation` (``ev.backbone.raw.cv``, ``ev.head.normalized.ad_mean``,
   ``ev.views.alignment``; ``ev.to_dict()`` is its JSON);
5. after every epoch, a divergence check: a non-finite loss or weight, or the loss stuck at chance (log N) with
   exploding weights, stops the run with :class:`TrainingDiverged` (an ``InputError`` naming lr, τ and the epoch;
   no ``report.json``);
6. with ``out``: ``config.json`` (the settings, plus the source's resolved parameters), ``metrics.jsonl`` (one
   nested JSON line per evaluation; ``metrics.csv`` the same scalars as flat columns, and TensorBoard with
   ``log=("tensorboard",)``: :mod:`~infogauss.train.logs`), ``checkpoint.pt`` (model,
   optimiser, generator state, epoch, history; loaded with ``weights_only=True``) every ``checkpoint_every``
   epochs, and ``report.json`` (the last evaluation) at the end. Every file is written to a temporary name and
   renamed, so nothing is ever half-written.

Resume: calling :func:`train` again with the same ``out`` continues from the checkpoint there and ends with
exactly the numbers of an uninterrupted run (same device). Only ``epochs``, ``eval_every``,
``checkpoint_every`` and ``out`` may change between the two calls.

Distributed: launched under ``torchrun`` (``WORLD_SIZE > 1``), the model is wrapped in DDP; ``batch_size`` is
the *global* batch (it must divide by the number of processes), every rank draws the same global batch and
views from the same generator and keeps its slice, and the loss gathers the other ranks' embeddings with
gradients, so a distributed run computes the same loss and gradients as one process on the whole batch.
Rank 0 evaluates and writes; every rank's :class:`Run` holds rank 0's evaluations (sent as JSON).

Images: ``channels_last=True`` puts batches and ResNet weights in ``torch.channels_last`` (faster convolutions on
CUDA; default off); ``amp="auto"`` (the CIFAR presets) trains under
bf16 autocast on CUDA and in float32 on the CPU. Under autocast the convolutions and linear layers of the training
steps compute in bf16 (float32 accumulation), so a CUDA run is not bit-comparable with a float32 run; the loss
(InfoNCE, cross-entropy) and every evaluation are computed in float32. With ``WORLD_SIZE > 1`` on CUDA, BatchNorm
layers become ``SyncBatchNorm`` so batch statistics are over the global batch, as in one process.

Errors: bad settings, missing or malformed data, a batch larger than the training set and running out of memory
(``torch.OutOfMemoryError``) raise :class:`~infogauss.errors.InputError` with one line saying what to change.

CLI: ``infogauss train --preset laplace [--device cuda] [--out runs/laplace] [key=value ...]``;
``infogauss train --preset cifar-resnet18 [--data cifar10.npz] [objective=supervised] [width=32] ...``.

Layout: :mod:`~infogauss.train.config` (``TrainConfig``: every knob, e.g. ``temperature`` τ; the presets),
:mod:`~infogauss.train.loop` (the loop, divergence checks), :mod:`~infogauss.train.build` (source, encoder,
optimiser, loss), :mod:`~infogauss.train.evaluate` (the evaluator and its typed results),
:mod:`~infogauss.train.checkpoint`, :mod:`~infogauss.train.distributed` (torchrun), :mod:`~infogauss.train.cli`
(``infogauss train``).
"""

from infogauss.train.checkpoint import CHECKPOINT, load_checkpoint
from infogauss.train.cli import add_arguments, parse_overrides, run
from infogauss.train.config import OBJECTIVES, PRESETS, TrainConfig, preset
from infogauss.train.evaluate import EVAL_SEED, Evaluation, Representation, Scores, ViewMonitors, evaluate, knn_accuracy
from infogauss.train.loop import Run, TrainingDiverged, TrainState, build_model, train

__all__ = [
    "TrainConfig",
    "PRESETS",
    "OBJECTIVES",
    "Run",
    "TrainState",
    "TrainingDiverged",
    "train",
    "evaluate",
    "Evaluation",
    "Representation",
    "Scores",
    "ViewMonitors",
    "preset",
    "load_checkpoint",
    "build_model",
    "knn_accuracy",
    "parse_overrides",
    "add_arguments",
    "run",
    "CHECKPOINT",
    "EVAL_SEED",
]
