"""Runs per minute of a sweep: :func:`infogauss.sweep.run_sweep` (runs batched) against one run at a time.

Same process, same runs (R seeds of one configuration, InfoNCE, Adam), training only (the Gaussianity report of each
run costs the same either way and is left out: every run is measured by a cheap norm CV):

- **engine, one at a time**: :func:`infogauss.train.train` once per seed (what an experiment loop does today);
- **sweep, one at a time**: :func:`run_sweep` with one run per call (same code, batch of 1);
- **sweep, batched**: :func:`run_sweep` on all R runs at once (one stacked encoder, one Adam).

Two settings: *small* (64-d Laplace inputs, d = 16, N = 64, 2,048 training items — the sensitivity sweeps' small
inputs) and *paper* (1024-d inputs, d = 256, N = 256, 10,000 items — Table 1's size). Usage::

    python benchmarks/bench_sweep.py [--runs 12] [--epochs 2] [--threads N] [--only small|paper]
"""

from __future__ import annotations

import argparse
import time

import numpy as np
import torch

SETTINGS = {
    "small": dict(source_params={"dim": 64, "n_train": 2048, "n_test": 512}, d=16, batch_size=64),
    "paper": dict(source_params={"dim": 1024, "n_train": 10000, "n_test": 512}, d=256, batch_size=256),
}


def cheap(z, source=None):
    r = np.linalg.norm(z, axis=1)
    return {"cv": float(r.std() / r.mean())}


def specs(setting: str, runs: int, epochs: int):
    from infogauss.sweep import RunSpec

    return [RunSpec(source="laplace", seed=s, epochs=epochs, **SETTINGS[setting]) for s in range(runs)]


def engine(specs) -> float:
    from infogauss.train import preset, train

    t0 = time.perf_counter()
    for s in specs:
        cfg = preset("laplace").replace(source_params=dict(s.source_params), seed=s.seed, d=s.d,
                                        batch_size=s.batch_size, epochs=s.epochs, eval_every=s.epochs,
                                        eval_samples=64, device="cpu", out=None)  # fmt: skip
        train(cfg, progress=False)
    return time.perf_counter() - t0


def sweep_single(specs) -> float:
    from infogauss.sweep import run_sweep

    t0 = time.perf_counter()
    for s in specs:
        run_sweep([s], progress=False, measure_fn=cheap)
    return time.perf_counter() - t0


def sweep_batched(specs) -> float:
    from infogauss.sweep import run_sweep

    t0 = time.perf_counter()
    run_sweep(specs, progress=False, measure_fn=cheap)
    return time.perf_counter() - t0


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--runs", type=int, default=12)
    ap.add_argument("--epochs", type=int, default=2)
    ap.add_argument("--threads", type=int, default=None)
    ap.add_argument("--only", choices=sorted(SETTINGS), default=None)
    args = ap.parse_args()
    if args.threads:
        torch.set_num_threads(args.threads)
    print(f"torch {torch.__version__}, {torch.get_num_threads()} threads, {args.runs} runs x {args.epochs} epochs")
    for name in [args.only] if args.only else list(SETTINGS):
        sp = specs(name, args.runs, args.epochs)
        sweep_batched(sp[:2])  # warm-up
        times = {"engine, one at a time": engine(sp), "sweep, one at a time": sweep_single(sp),
                 "sweep, batched": sweep_batched(sp)}  # fmt: skip
        base = times["engine, one at a time"]
        print(f"\n[{name}] {SETTINGS[name]}")
        for label, t in times.items():
            print(f"  {label:24s} {t:8.2f} s  {60 * args.runs / t:8.1f} runs/min  {base / t:5.2f}x vs engine")


if __name__ == "__main__":
    main()
