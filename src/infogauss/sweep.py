"""Train many small independent encoders together: the seeds and configurations of a synthetic sweep.

A sweep is a list of :class:`RunSpec` (source, seed, encoder, objective, optimisation). :func:`run_sweep` groups the
runs whose tensors have the same shapes (input dimension, encoder, d, hidden width, batch size, epochs, learning
rate) and trains each group as **one** stack of weights: run ``r`` has its own slice ``W[r]`` of a ``(R, D, d)``
tensor, the forward pass is one batched matmul (:func:`torch.baddbmm`), the loss is the *sum* of the runs' losses
(so each slice's gradient is its own run's gradient) and one Adam steps the stack — Adam is elementwise, so this is
exactly R separate Adams. Every run keeps the data stream the engine (:func:`infogauss.train.train`) would give it:
its source drawn from ``seed``, its own generator seeded ``seed + DATA_SEED_OFFSET`` for permutations and views,
views generated ``chunk`` steps at a time, its encoder initialised by :func:`infogauss.encoders.make_encoder` under
``torch.manual_seed(seed + INIT_SEED_OFFSET)``. A run of this module therefore equals the engine's run of the same
settings to float rounding (tested), without one process, optimiser and Python loop per run.

Measurements (:func:`measure`) follow the synthetic experiments: the paper's protocol
(:func:`infogauss.report.gaussianity_report`) on the unnormalised embeddings of the held-out data — the test items,
or for the GMM one draw from each test item's component (drawn with :data:`infogauss.constants.EVAL_SEED`).

Objectives: ``"infonce"`` (paper Eq. 2, one direction, temperature ``temperature``) and ``"vicreg"``
(:func:`infogauss.losses.vicreg`, the non-InfoNCE control). Encoders: ``"linear"`` (the paper's), ``"mlp"``
(``D -> hidden -> ReLU -> d``) and ``"orthogonal"`` — a random map with orthonormal columns (rows when ``d > D``),
no bias, never trained: the control for "any fixed linear map of these inputs".
"""

from __future__ import annotations

import math
from dataclasses import asdict, dataclass, field

import numpy as np
import torch
import torch.nn.functional as F

from infogauss.constants import DATA_SEED_OFFSET, EVAL_SEED, INIT_SEED_OFFSET
from infogauss.errors import InputError

__all__ = ["RunSpec", "RunResult", "run_sweep", "measure", "DATA_SEED_OFFSET", "INIT_SEED_OFFSET", "ENCODERS",
           "OBJECTIVES"]  # fmt: skip

VIEW_CHUNK_NUMBERS = 2**20  # as the engine: input numbers per view generated at once
ENCODERS = ("linear", "mlp", "orthogonal")
OBJECTIVES = ("infonce", "vicreg")
INITS = ("default", "normal")  # PyTorch's nn.Linear init | N(0, 1/in) weights and biases


@dataclass
class RunSpec:
    """One run of a sweep. ``name`` labels it in results; ``group`` fields must agree within a batch."""

    source: str = "laplace"
    source_params: dict = field(default_factory=dict)
    seed: int = 0
    encoder: str = "linear"
    d: int = 256
    hidden: int = 512
    bias: bool = True
    init: str = "default"
    objective: str = "infonce"
    temperature: float = 0.1
    batch_size: int = 128
    epochs: int = 10
    lr: float = 1e-3
    measure_at: tuple[int, ...] = ()  # epochs measured besides 0 and the last
    name: str = ""
    # The encoder is initialised under torch.manual_seed(seed + init_offset); the default is the engine's. 0 (the
    # engine's old seeding) makes the CPU stream *equal* the source's (make_generator(seed)): the initial weights are
    # then functions of the same uniforms as the first data drawn (e.g. the GMM means), i.e. correlated with them.
    init_offset: int = INIT_SEED_OFFSET

    def validate(self) -> RunSpec:
        if self.encoder not in ENCODERS:
            raise InputError(f"encoder must be one of {', '.join(ENCODERS)}, got {self.encoder!r}")
        if self.objective not in OBJECTIVES:
            raise InputError(f"objective must be one of {', '.join(OBJECTIVES)}, got {self.objective!r}")
        if self.init not in INITS:
            raise InputError(f"init must be one of {', '.join(INITS)}, got {self.init!r}")
        for key in ("d", "hidden", "batch_size"):
            if int(getattr(self, key)) < 2:
                raise InputError(f"{key} must be >= 2, got {getattr(self, key)}")
        if int(self.epochs) < 0:
            raise InputError(f"epochs must be >= 0, got {self.epochs}")
        if not (self.temperature > 0 and self.lr > 0):
            raise InputError(f"temperature and lr must be > 0, got {self.temperature} and {self.lr}")
        return self

    def group_key(self, dim: int) -> tuple:
        epochs = 0 if self.encoder == "orthogonal" else self.epochs
        enc = self.encoder
        hidden = self.hidden if enc == "mlp" else None
        at = tuple(sorted(set(self.measure_at))) if epochs else ()
        return (dim, enc, self.d, hidden, self.bias, self.objective, self.batch_size, epochs, self.lr, at)

    def to_dict(self) -> dict:
        return {**asdict(self), "measure_at": list(self.measure_at)}


@dataclass
class RunResult:
    """What one run gave: its spec, the measurements (one dict per measured epoch, epoch 0 first), the mean training
    loss of every epoch, and the final parameters (``{"W1", "b1", ...}`` as CPU tensors, ``W`` shaped (in, out))."""

    spec: RunSpec
    history: list[dict]
    losses: list[float]
    params: dict

    @property
    def before(self) -> dict:
        return self.history[0]

    @property
    def after(self) -> dict:
        return self.history[-1]


# -- building ---------------------------------------------------------------------------------------------------


def _source(spec: RunSpec, device):
    from infogauss.data.synthetic import make_source

    return make_source(spec.source, **{"seed": spec.seed, **spec.source_params, "device": device})


def _init_params(spec: RunSpec, dim: int) -> list[torch.Tensor]:
    """Initial parameters of one run, ``[W1, b1(, W2, b2)]`` with ``W`` shaped (in, out) and ``b`` (1, out)."""
    with torch.random.fork_rng(devices=[]):
        torch.manual_seed(spec.seed + spec.init_offset)
        if spec.encoder == "orthogonal":
            a = torch.randn(max(dim, spec.d), min(dim, spec.d), dtype=torch.float64)
            q, r = torch.linalg.qr(a)
            q = (q * torch.sign(torch.diagonal(r))).float()  # Haar-distributed orthonormal columns
            w = q if dim >= spec.d else q.T
            return [w.contiguous(), torch.zeros(1, spec.d)]
        from infogauss.encoders import make_encoder

        enc = make_encoder(spec.encoder, dim, spec.d, hidden=spec.hidden, bias=spec.bias)
        layers = [m for m in enc.backbone.modules() if isinstance(m, torch.nn.Linear)]
        out = []
        for lin in layers:
            if spec.init == "normal":  # N(0, 1/in) weights, and the same law for the bias when there is one
                w = torch.randn(lin.in_features, lin.out_features) / math.sqrt(lin.in_features)
                b = torch.randn(1, lin.out_features) / math.sqrt(lin.in_features) * float(spec.bias)
            else:
                w = lin.weight.detach().T.contiguous()
                b = lin.bias.detach().reshape(1, -1) if lin.bias is not None else torch.zeros(1, lin.out_features)
            out += [w, b]
        return out


def forward(params: list[torch.Tensor], x: torch.Tensor) -> torch.Tensor:
    """Stacked encoders on stacked inputs: ``x`` (R, n, D) -> (R, n, d); ReLU between layers (the MLP)."""
    h = x
    for i in range(0, len(params), 2):
        if i:
            h = torch.relu(h)
        h = torch.baddbmm(params[i + 1], h, params[i])
    return h


def batched_info_nce(z1: torch.Tensor, z2: torch.Tensor, temperature: torch.Tensor) -> torch.Tensor:
    """Eq. 2 for each leading index of (R, N, d) views; ``temperature`` (R,): returns the R losses."""
    u, v = F.normalize(z1, dim=-1), F.normalize(z2, dim=-1)
    logits = u @ v.transpose(-1, -2) / temperature[:, None, None]
    r, n = logits.shape[:2]
    target = torch.arange(n, device=z1.device).repeat(r)
    return F.cross_entropy(logits.reshape(r * n, n), target, reduction="none").view(r, n).mean(1)


# -- training ---------------------------------------------------------------------------------------------------


def run_sweep(
    specs: list[RunSpec], progress: bool = True, device="cpu", measure_fn=None, max_batch: int = 16
) -> list[RunResult]:
    """Train and measure every run of ``specs``, grouped into batches of equal shapes; results in ``specs`` order.

    ``measure_fn(z, source) -> dict`` (default :func:`measure`) turns an embedding of the held-out data into numbers.
    At most ``max_batch`` runs are trained at once (their sources are built per batch, so memory stays bounded).
    """
    from tqdm.auto import tqdm

    from infogauss.data.synthetic import source_parameters

    specs = [s.validate() for s in specs]
    device = torch.device(device)
    groups: dict[tuple, list[int]] = {}
    for i, s in enumerate(specs):
        dim = int(s.source_params.get("dim", source_parameters(s.source)["dim"]))
        groups.setdefault(s.group_key(dim), []).append(i)
    batches = [idx[k : k + max_batch] for idx in groups.values() for k in range(0, len(idx), max_batch)]
    results: list[RunResult | None] = [None] * len(specs)
    total = sum(max(1, 0 if specs[b[0]].encoder == "orthogonal" else specs[b[0]].epochs) for b in batches)
    bar = tqdm(total=total, desc=f"sweep ({len(specs)} runs, {len(batches)} batches)", disable=not progress)
    for idx in batches:
        sources = [_source(specs[i], device) for i in idx]
        out = _train_group([specs[i] for i in idx], sources, device, measure_fn or measure, bar)
        for i, res in zip(idx, out, strict=True):
            results[i] = res
    bar.close()
    return results  # type: ignore[return-value]


def _train_group(specs, sources, device, measure_fn, bar) -> list[RunResult]:
    """One batch of runs with equal shapes, trained together (the engine's loop, batched over runs)."""
    from infogauss.data.synthetic import make_generator

    s0, src0 = specs[0], sources[0]
    epochs = 0 if s0.encoder == "orthogonal" else s0.epochs
    steps = _steps_per_epoch(specs, sources, s0.batch_size)
    per_run = [_init_params(s, src0.dim) for s in specs]
    # without bias the (zero) bias slices stay fixed: only weights (and biases when ``bias``) are trained
    params = [torch.stack([p[k] for p in per_run]).to(device) for k in range(len(per_run[0]))]
    trained = [p.requires_grad_(True) for k, p in enumerate(params) if k % 2 == 0 or s0.bias]
    tau = torch.tensor([float(s.temperature) for s in specs], device=device)
    gens = [make_generator(s.seed + DATA_SEED_OFFSET, device) for s in specs]
    opt = torch.optim.Adam(trained, lr=s0.lr, fused=device.type in ("cpu", "cuda"))
    histories = [[] for _ in specs]
    losses = [[] for _ in specs]
    measure_at = {0, epochs, *[e for e in s0.measure_at if 0 <= e <= epochs]}

    def record(epoch):
        for r, src in enumerate(sources):
            z = embed_data([p[r] for p in params], src)
            histories[r].append({"epoch": epoch, **measure_fn(z, src)})

    record(0)
    for epoch in range(epochs):
        total = _train_epoch(s0, sources, gens, params, opt, tau, steps)
        for r in range(len(specs)):
            losses[r].append(float(total[r]) / steps)
        bar.update(1)
        if epoch + 1 in measure_at:
            record(epoch + 1)
    if epochs == 0:
        bar.update(1)
    names = ["W1", "b1", "W2", "b2"]
    return [
        RunResult(s, histories[r], losses[r], {names[k]: p[r].detach().cpu().clone() for k, p in enumerate(params)})
        for r, s in enumerate(specs)
    ]


def _steps_per_epoch(specs, sources, n: int) -> int:
    """Steps per epoch of a batch of runs (the same for all of them, else :class:`InputError`)."""
    for s, src in zip(specs, sources, strict=True):
        if n > src.n_train:
            raise InputError(f"batch_size {n} is larger than the training set ({src.n_train} items) of run {s.name!r}")
    steps = min(src.n_train // n for src in sources)
    if any(src.n_train // n != steps for src in sources):
        raise InputError("runs batched together must have the same number of steps per epoch (n_train // batch_size)")
    return steps


def _train_epoch(s0, sources, gens, params, opt, tau, steps) -> torch.Tensor:
    """One epoch of every run of the batch; the summed loss of each run (its views drawn in chunks)."""
    n, dim = s0.batch_size, sources[0].dim
    total = torch.zeros(len(sources), device=tau.device)
    perms = [torch.randperm(src.n_train, generator=g, device=tau.device) for src, g in zip(sources, gens, strict=True)]
    chunk = max(1, min(steps, VIEW_CHUNK_NUMBERS // (n * dim)))
    for c0 in range(0, steps, chunk):
        c1 = min(steps, c0 + chunk)
        pairs = [src.views(src.train[p[c0 * n : c1 * n]], g) for src, p, g in zip(sources, perms, gens, strict=True)]
        x1s, x2s = torch.stack([a for a, _ in pairs]), torch.stack([b for _, b in pairs])
        for i in range(c1 - c0):
            x = torch.cat([x1s[:, i * n : (i + 1) * n], x2s[:, i * n : (i + 1) * n]], dim=1)
            h = forward(params, x)
            if s0.objective == "infonce":
                per = batched_info_nce(h[:, :n], h[:, n:], tau)
            else:
                from infogauss.losses import vicreg

                per = vicreg(h[:, :n], h[:, n:])
            opt.zero_grad(set_to_none=True)
            per.sum().backward()
            opt.step()
            total += per.detach()
    return total


# -- measuring --------------------------------------------------------------------------------------------------


@torch.no_grad()
def held_out_data(source) -> torch.Tensor:
    """The held-out data the synthetic experiments test: the test items (GMM: one draw per item's component)."""
    from infogauss.data.synthetic import make_generator

    x0 = source.test
    if source.name == "gmm":
        x0 = source.view(x0, make_generator(EVAL_SEED, x0.device))
    return x0


@torch.no_grad()
def embed_data(params: list[torch.Tensor], source, block: int = 4096) -> np.ndarray:
    """One run's unnormalised embedding of :func:`held_out_data`, float64 numpy."""
    x = held_out_data(source)
    ps = [p.detach()[None] for p in params]
    parts = [forward(ps, x[None, i : i + block])[0].double().cpu() for i in range(0, x.shape[0], block)]
    return torch.cat(parts).numpy()


MEASURED = ("cv", "ad_mean", "ad_pass_fraction", "dp_mean_p", "dp_pass_fraction", "paper_verdict", "calibrated_verdict")


def measure(z: np.ndarray, source=None) -> dict:
    """The paper's protocol on unnormalised rows ``z`` (and the AD average of the L2-normalised rows).

    Rows mapped exactly to 0 (e.g. an all-zero binary item through a map without bias) cannot be L2-normalised,
    which the report refuses. Then the paper's numbers come from :mod:`infogauss.stats` on *all* rows (the point
    mass at 0 included), ``zero_rows`` counts them, and the calibrated verdict is False (a point mass is not
    Gaussian) — never silently dropped.
    """
    from infogauss.report import gaussianity_report

    zero = int((np.abs(z).max(axis=1) == 0).sum())
    if zero:
        return _measure_with_zero_rows(z, zero)
    rep = gaussianity_report(z, projections=0, geometry=False, progress=False).to_dict()
    raw = rep["raw"]
    out = {k: raw.get(k) for k in MEASURED}
    out["normalized_ad_mean"] = rep["normalized"]["ad_mean"]
    return out


def _measure_with_zero_rows(z: np.ndarray, zero: int) -> dict:
    from infogauss.constants import AD_THRESHOLD, DP_ALPHA
    from infogauss.stats import anderson_darling, dagostino_pearson

    live = z.std(axis=0) > 0
    ad = np.asarray(anderson_darling(z[:, live], axis=0).statistic)
    dp = np.asarray(dagostino_pearson(z[:, live], axis=0).pvalue)
    r = np.linalg.norm(z, axis=1)
    out = {
        "cv": float(r.std() / r.mean()),
        "ad_mean": float(ad.mean()),
        "ad_pass_fraction": float((ad < AD_THRESHOLD).mean()),
        "dp_mean_p": float(dp.mean()),
        "dp_pass_fraction": float((dp > DP_ALPHA).mean()),
    }
    out["paper_verdict"] = bool(out["ad_mean"] < AD_THRESHOLD and out["dp_mean_p"] > DP_ALPHA)
    out["calibrated_verdict"] = False
    out["normalized_ad_mean"] = None
    out["zero_rows"] = zero
    return out
