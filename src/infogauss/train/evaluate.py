"""One evaluator for every run: the paper's Gaussianity protocol and the InfoNCE monitors, as typed results.

:func:`evaluate` measures a model on held-out data and returns an :class:`Evaluation`:

- ``backbone`` / ``head`` (:class:`Representation`): the protocol (:func:`infogauss.report.gaussianity_report`) on
  the representation ``z = model.embed(x)`` (and on the projection head's output ``g(z)``, images only), each on
  its unnormalised (``raw``) and L2-normalised (``normalized``) rows — :class:`Scores` with ``cv``, ``ad_mean``,
  ``ad_pass_fraction``, ``dp_mean_p``, ``dp_pass_fraction``, ``paper_verdict``, ``calibrated_verdict`` ...;
- ``views`` (:class:`ViewMonitors`): InfoNCE monitors on two augmented views of test items — the test InfoNCE
  (paper Eq. 2 / NT-Xent as trained), alignment E[u·v] (Eq. 4, 6), the uniformity potential Φ at α = 1/τ (Eq. 4),
  ‖m(μ)‖, cosine summaries, and for synthetic sources with known η₂ the alignment bound η₂ + (1 − η₂)‖m‖²
  (Prop. 1) and the population loss −α·alignment + Φ (Eq. 4);
- ``data`` (synthetic sources): the protocol on the un-augmented test data (:func:`test_data`; Table 1's
  quantity), coordinates only;
- ``test_loss``; images also ``knn_accuracy`` (:func:`knn_accuracy`) and, supervised, ``test_accuracy``.

What the protocol is measured on (``Evaluation.rows``): synthetic sources — the first of two augmented views of the
first ``n`` test items (full report: coordinates, projections, geometry; the second view gives the pairs); images —
the first ``n`` test images of the source's fixed order, **not augmented** (paper §4.2: "representations are
evaluated on the test set"), coordinates only. Every evaluation of a run sees the same inputs (fixed ``seed``).
"""

from __future__ import annotations

import contextlib
import dataclasses
from dataclasses import dataclass, field

import torch

from infogauss.constants import DEFAULT_TEMPERATURE, EVAL_SEED
from infogauss.outputs import to_jsonable

__all__ = ["Scores", "Representation", "ViewMonitors", "Evaluation", "evaluate", "test_data", "knn_accuracy",
           "EVAL_SEED", "KNN_NEIGHBOURS", "KNN_TEMPERATURE"]  # fmt: skip

KNN_NEIGHBOURS = 200  # k of the k-NN monitor (Wu et al. 2018, as in SimCLR/MoCo CIFAR monitors)
KNN_TEMPERATURE = 0.1  # votes weighted by exp(cos / 0.1) (Wu et al. 2018)
EVAL_BLOCK = 1000  # images per forward pass in evaluations
ITEM_BLOCK = 4096  # synthetic items per forward pass
ROWS_VIEWS = "first of two augmented views of the test items"
ROWS_IMAGES = "test images, not augmented"
ROWS_DATA = "test data, not augmented"


# ---------------------------------------------------------------------------------------------- results


@dataclass
class Scores:
    """The paper's protocol (§5) on one set of rows: the scalar entries of one view of a report.

    ``paper_verdict`` = AD avg < 0.752 and DP mean p > 0.05 (paper Table 1); ``calibrated_verdict``: infogauss's
    calibrated reading (:mod:`infogauss.report`). ``more`` holds the report view's other scalars (``tested``,
    ``combined_pvalue``, ``mean_norm`` ...).
    """

    cv: float | None = None
    ad_mean: float | None = None
    ad_pass_fraction: float | None = None
    dp_mean_p: float | None = None
    dp_pass_fraction: float | None = None
    paper_verdict: bool | None = None
    calibrated_verdict: bool | None = None
    more: dict = field(default_factory=dict)

    @classmethod
    def from_dict(cls, view: dict) -> Scores:
        """From a report view (``report.to_dict()["raw"]``) or :meth:`to_dict`; lists and dicts are left out."""
        names = {f.name for f in dataclasses.fields(cls)} - {"more"}
        scalars = {k: v for k, v in view.items() if not isinstance(v, dict | list)}
        return cls(**{k: v for k, v in scalars.items() if k in names},
                   more={k: v for k, v in scalars.items() if k not in names})  # fmt: skip

    def to_dict(self) -> dict:
        out = {f.name: getattr(self, f.name) for f in dataclasses.fields(self) if f.name != "more"}
        return {**out, **self.more}


@dataclass
class Representation:
    """One representation measured with the protocol: ``raw`` and L2-``normalized`` rows, and the full report."""

    d: int
    raw: Scores
    normalized: Scores
    zero_norm_rows: int = 0  # rows of zero norm, left out (they cannot be normalised; normally 0)
    report: dict | None = None  # the full report (JSON form)

    @classmethod
    def from_report(cls, report: dict, zero_norm_rows: int = 0) -> Representation:
        raw, norm = Scores.from_dict(report["raw"]), Scores.from_dict(report["normalized"])
        return cls(int(report["d"]), raw, norm, int(zero_norm_rows), report)

    @classmethod
    def from_dict(cls, d: dict) -> Representation:
        return cls(d["d"], Scores.from_dict(d["raw"]), Scores.from_dict(d["normalized"]), d["zero_norm_rows"],
                   d.get("report"))  # fmt: skip

    def to_dict(self) -> dict:
        return {"d": self.d, "raw": self.raw.to_dict(), "normalized": self.normalized.to_dict(),
                "zero_norm_rows": self.zero_norm_rows, "report": self.report}  # fmt: skip


@dataclass
class ViewMonitors:
    """InfoNCE monitors on ``n_pairs`` pairs of augmented test views (see the module docstring)."""

    n_pairs: int
    test_infonce: float
    alignment: float
    pos_cos_std: float
    neg_cos_mean: float
    neg_cos_std: float
    uniformity_potential: float
    mean_embedding_norm: float
    mean_norm: float
    population_loss: float
    alignment_bound: float | None = None

    @classmethod
    def from_dict(cls, d: dict) -> ViewMonitors:
        return cls(**d)

    def to_dict(self) -> dict:
        return dataclasses.asdict(self)


@dataclass
class Evaluation:
    """One evaluation of a run (an element of ``Run.history``); :meth:`to_dict` is its ``metrics.jsonl`` line."""

    backbone: Representation
    n: int  # rows measured
    rows: str  # what ``backbone`` / ``head`` were measured on
    head: Representation | None = None  # the projection head's output (image encoders with a head)
    data: Representation | None = None  # synthetic: the un-augmented test data (Table 1's quantity), coordinates
    views: ViewMonitors | None = None
    test_loss: float | None = None  # test InfoNCE, or cross-entropy for objective=supervised
    knn_accuracy: float | None = None
    test_accuracy: float | None = None
    epoch: int = 0
    step: int = 0
    train_loss: float | None = None  # mean training loss of the epoch before (None at epoch 0)

    def to_dict(self) -> dict:
        out = {f.name: getattr(self, f.name) for f in dataclasses.fields(self)}
        for k in ("backbone", "head", "data", "views"):
            out[k] = None if out[k] is None else out[k].to_dict()
        return to_jsonable(out)

    @classmethod
    def from_dict(cls, d: dict) -> Evaluation:
        rep = Representation.from_dict
        parts = {"backbone": rep, "head": rep, "data": rep, "views": ViewMonitors.from_dict}
        return cls(**{k: (parts[k](v) if k in parts and v is not None else v) for k, v in d.items()})

    def headline(self) -> dict:
        """The numbers of a one-line summary: the protocol on the unnormalised test data (synthetic: ``data``,
        Table 1's quantity; images: the backbone on the test images) and on the head, the view monitors, the
        losses and accuracies (``None`` left out); ``measured_on`` says which rows the protocol's numbers describe."""
        keys = ("cv", "ad_mean", "ad_pass_fraction", "dp_mean_p", "dp_pass_fraction", "paper_verdict")
        main = self.data if self.data is not None else self.backbone
        out = {"epoch": self.epoch, **{k: getattr(main.raw, k) for k in keys}}
        if self.head is not None:
            out.update({"head_" + k: getattr(self.head.raw, k) for k in keys})
        if self.views is not None:
            out.update(alignment=self.views.alignment, uniformity_potential=self.views.uniformity_potential,
                       mean_embedding_norm=self.views.mean_embedding_norm)  # fmt: skip
        out.update(test_loss=self.test_loss, knn_accuracy=self.knn_accuracy, test_accuracy=self.test_accuracy)
        out["measured_on"] = ROWS_DATA if self.data is not None else self.rows
        return {k: v for k, v in out.items() if v is not None}

    # Read-only mapping view of :meth:`headline` (``ev["cv"]``, ``ev.get("knn_accuracy")``), for one-line summaries.
    def __getitem__(self, key: str):
        return self.headline()[key]

    def __contains__(self, key: str) -> bool:
        return key in self.headline()

    def get(self, key: str, default=None):
        return self.headline().get(key, default)


# ---------------------------------------------------------------------------------------------- measuring


@dataclass
class EvalSettings:
    """The evaluation's knobs, from the run's config (or the defaults of a run without one)."""

    temperature: float = DEFAULT_TEMPERATURE
    batch_size: int = 128
    symmetric: bool = False
    n: int | None = None
    n_views: int = 2048
    knn_bank: int | None = None

    @classmethod
    def of(cls, cfg, temperature=None, batch_size=None, n=None) -> EvalSettings:
        s = cls() if cfg is None else cls(cfg.temperature, cfg.batch_size, cfg.symmetric, cfg.eval_samples,
                                          cfg.eval_views, cfg.knn_bank)  # fmt: skip
        return dataclasses.replace(s, **{k: v for k, v in dict(temperature=temperature, batch_size=batch_size,
                                                                n=n).items() if v is not None})  # fmt: skip


@contextlib.contextmanager
def eval_mode(model: torch.nn.Module, device_type: str):
    """``model`` in eval mode, float32 (no autocast) and without gradients; its mode is restored afterwards."""
    was = model.training
    model.eval()
    try:
        with torch.no_grad(), torch.autocast(device_type, enabled=False):
            yield model
    finally:
        model.train(was)


def forward_blocks(fn, x: torch.Tensor, block: int) -> torch.Tensor:
    """``fn`` over row blocks of ``x``, concatenated, as float32."""
    return torch.cat([fn(x[i : i + block]).float() for i in range(0, x.shape[0], block)])


def evaluate(model, source, *, cfg=None, temperature=None, batch_size=None, n=None, seed: int = EVAL_SEED):
    """Measure ``model`` on held-out data of ``source`` (see the module docstring); returns an :class:`Evaluation`.

    ``cfg`` (the run's :class:`~infogauss.train.TrainConfig`) supplies ``temperature``, ``batch_size``,
    ``symmetric``, ``eval_samples`` (``n``), ``eval_views`` and ``knn_bank`` unless given here.
    """
    s = EvalSettings.of(cfg, temperature, batch_size, n)
    device = next(model.parameters()).device
    with eval_mode(model, device.type):
        if getattr(source, "kind", None) == "images":
            return _evaluate_images(model, source, s, seed)
        return _evaluate_items(model, source, s, seed)


def _evaluate_items(model, source, s: EvalSettings, seed: int) -> Evaluation:
    from infogauss.data.synthetic import make_generator

    x0 = source.test if s.n is None else source.test[: s.n]
    x1, x2 = source.views(x0, make_generator(seed, x0.device))
    z1, z2 = forward_blocks(model.embed, x1, ITEM_BLOCK), forward_blocks(model.embed, x2, ITEM_BLOCK)
    h1, h2 = (z1, z2) if model.head is None else (model.head(z1).float(), model.head(z2).float())
    views = view_monitors(z1, z2, h1, h2, s, getattr(source, "eta2", None))
    rep = _report(z1, pairs=z2, temperature=s.temperature)  # the report's Φ at the run's own α = 1/τ
    z0 = forward_blocks(model.embed, test_data(source, s.n, seed), ITEM_BLOCK)
    data = Representation.from_report(_report(z0.double(), projections=0, geometry=False))
    return Evaluation(Representation.from_report(rep), int(z1.shape[0]), ROWS_VIEWS, views=views, data=data,
                      test_loss=views.test_infonce)  # fmt: skip


def test_data(source, n: int | None = None, seed: int = EVAL_SEED) -> torch.Tensor:
    """The first ``n`` held-out *data* of a synthetic source (default all), not augmented: what "evaluated on the
    test set" means for Table 1. A datum is a test item, except for the GMM, whose base item is its component's
    mean: there one draw from the item's component (one view, drawn with ``seed``) is the datum. A source with a
    ``datum`` method (:class:`infogauss.data.pairs.PairsSource`) says itself what its datum is."""
    from infogauss.data.synthetic import make_generator

    x0 = source.test if n is None else source.test[:n]
    if hasattr(source, "datum"):
        return source.datum(x0)
    return source.view(x0, make_generator(seed, x0.device)) if source.name == "gmm" else x0


def _evaluate_images(model, source, s: EvalSettings, seed: int) -> Evaluation:
    """The image case: the un-augmented test images, plus the k-NN monitor and, supervised, the test accuracy."""
    import torch.nn.functional as F

    classifier = getattr(model, "classifier", None)
    parts: dict[str, list] = {"backbone": [], "head": [], "logits": [], "labels": []}
    for x, y in source.test_images(s.n, EVAL_BLOCK):
        r = model.representations(x)
        parts["backbone"].append(r["backbone"].float())
        if "head" in r:
            parts["head"].append(r["head"].float())
        if classifier is not None:
            parts["logits"].append(classifier(r.get("head", r["backbone"])).float())
        parts["labels"].append(y)
    z, y = torch.cat(parts["backbone"]), torch.cat(parts["labels"])
    bank = [(model.embed(x).float(), yb) for x, yb in source.bank_images(s.knn_bank, EVAL_BLOCK)]
    ev = Evaluation(_image_representation(z), int(z.shape[0]), ROWS_IMAGES)
    ev.head = _image_representation(torch.cat(parts["head"])) if parts["head"] else None
    ev.knn_accuracy = knn_accuracy(torch.cat([b for b, _ in bank]), torch.cat([b for _, b in bank]), z, y)
    if s.n_views > 0:
        pairs = [
            (model.project(a).float(), model.project(b).float())
            for a, b in source.test_views(s.n_views, s.batch_size, seed)
        ]
        h1, h2 = torch.cat([a for a, _ in pairs]), torch.cat([b for _, b in pairs])
        ev.views = view_monitors(h1, h2, h1, h2, s)
        ev.test_loss = ev.views.test_infonce
    if classifier is not None:
        logits = torch.cat(parts["logits"])
        ev.test_accuracy = float((logits.argmax(1) == y).float().mean())
        ev.test_loss = float(F.cross_entropy(logits, y))
    return ev


def view_monitors(z1, z2, h1, h2, s: EvalSettings, eta2: float | None = None) -> ViewMonitors:
    """Monitors of view pairs: the loss on what the loss sees (``h``), geometry on the representation (``z``)."""
    from infogauss.losses import info_nce
    from infogauss.stats import cosine_summary, mean_embedding_norm, mean_norm, uniformity_potential

    bs = max(2, min(s.batch_size, h1.shape[0]))
    nb = max(1, h1.shape[0] // bs)
    losses = [info_nce(h1[i * bs : (i + 1) * bs], h2[i * bs : (i + 1) * bs], s.temperature, s.symmetric)
              for i in range(nb)]  # fmt: skip
    cos = cosine_summary(z1, z2)
    align = float(cos.positive.mean)
    phi = float(uniformity_potential(z1, 1.0 / s.temperature))
    m = float(mean_embedding_norm(z1))
    return ViewMonitors(
        n_pairs=int(z1.shape[0]),
        test_infonce=float(torch.stack(losses).mean()),
        alignment=align,
        pos_cos_std=float(cos.positive.std),
        neg_cos_mean=float(cos.negative.mean),
        neg_cos_std=float(cos.negative.std),
        uniformity_potential=phi,
        mean_embedding_norm=m,
        mean_norm=float(mean_norm(z1)),
        population_loss=-align / s.temperature + phi,
        alignment_bound=None if eta2 is None else eta2 + (1 - eta2) * m**2,
    )


def _report(z: torch.Tensor, **kw) -> dict:
    from infogauss.report import gaussianity_report

    pairs = kw.pop("pairs", None)
    pairs = None if pairs is None else pairs.cpu().numpy()
    return to_jsonable(gaussianity_report(z.cpu().numpy(), pairs=pairs, progress=False, **kw).to_dict())


def _image_representation(z: torch.Tensor) -> Representation:
    """The protocol on coordinates (no projections, no geometry) of the rows of nonzero norm."""
    keep = z.norm(dim=1) > 0
    return Representation.from_report(_report(z[keep].double(), projections=0, geometry=False), int((~keep).sum()))


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
