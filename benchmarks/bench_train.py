"""Training throughput of ``infogauss.train`` against a plain PyTorch loop, in the same process.

Setting: the paper's Laplace study (1024-d inputs, A = 0.6 + jitter, linear encoder, InfoNCE with tau = 0.1, Adam
1e-3) at (d=256, N=128) and (d=32, N=8).

- **ours**: the epoch loop of :func:`infogauss.train.train` (``train_epoch``: views generated on the device from a
  ``torch.Generator``, a chunk of steps at a time; both views in one encoder call; float32 loss);
- **baseline**: the obvious loop — per step, draw the indices and generate both views on the host with numpy,
  copy them to the device, run the encoder on each view, compute the loss and read ``loss.item()``.

Both run the same number of optimisation steps after a warm-up; the script prints steps/s and the ratio
ours / baseline. Usage::

    python benchmarks/bench_train.py [--device cpu|cuda] [--steps 300] [--threads N]
"""

from __future__ import annotations

import argparse
import math
import time

import numpy as np
import torch
import torch.nn.functional as F


def ours(d: int, n: int, steps: int, device: str, n_train: int) -> float:
    from infogauss.train import preset
    from infogauss.train.loop import build, train_epoch

    cfg = preset("laplace", d=d, batch_size=n, device=device, source_params={"n_train": n_train, "n_test": 16})
    setup, state = build(cfg)
    state.model.train()
    per_epoch = setup.steps
    train_epoch(setup, state, min(20, per_epoch))  # warm-up
    _sync(device)
    t0 = time.perf_counter()
    done = 0
    while done < steps:
        k = min(per_epoch, steps - done)
        train_epoch(setup, state, k)  # reads the loss once per epoch, as train() does
        done += k
    _sync(device)
    return steps / (time.perf_counter() - t0)


def baseline(d: int, n: int, steps: int, device: str, n_train: int) -> float:
    rng = np.random.default_rng(0)
    dim, a = 1024, 0.6
    x_train = rng.laplace(size=(n_train, dim)).astype(np.float32)

    def view(x0):
        x = a * x0 + math.sqrt(1 - a * a) * rng.standard_normal(x0.shape, dtype=np.float32)
        x = x + 0.2 * rng.standard_normal(x0.shape, dtype=np.float32)
        x = x * (rng.random(x0.shape, dtype=np.float32) >= 0.1)
        return x * np.exp(0.1 * rng.standard_normal((len(x0), 1), dtype=np.float32))

    torch.manual_seed(0)
    model = torch.nn.Linear(dim, d).to(device)
    opt = torch.optim.Adam(model.parameters(), lr=1e-3)
    labels = torch.arange(n, device=device)

    def step():
        idx = rng.integers(0, n_train, n)
        x0 = x_train[idx]
        x1 = torch.from_numpy(view(x0)).to(device)
        x2 = torch.from_numpy(view(x0)).to(device)
        z1, z2 = F.normalize(model(x1), dim=1), F.normalize(model(x2), dim=1)
        loss = F.cross_entropy(z1 @ z2.T / 0.1, labels)
        opt.zero_grad()
        loss.backward()
        opt.step()
        return loss.item()

    for _ in range(20):
        step()
    _sync(device)
    t0 = time.perf_counter()
    for _ in range(steps):
        step()
    _sync(device)
    return steps / (time.perf_counter() - t0)


def _sync(device: str) -> None:
    if device.startswith("cuda"):
        torch.cuda.synchronize()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--device", default="cuda" if torch.cuda.is_available() else "cpu")
    parser.add_argument("--steps", type=int, default=300, help="timed optimisation steps per configuration")
    parser.add_argument("--threads", type=int, default=None, help="torch CPU threads (default: torch's)")
    parser.add_argument("--repeats", type=int, default=3, help="alternating repeats; the best of each is kept")
    args = parser.parse_args()
    if args.threads:
        torch.set_num_threads(args.threads)
    print(f"device={args.device} torch={torch.__version__} threads={torch.get_num_threads()} steps={args.steps}")
    print(f"{'d':>4} {'N':>4} {'ours steps/s':>13} {'baseline steps/s':>17} {'ratio':>6}")
    for d, n in ((256, 128), (32, 8)):
        n_train = max(2000, 4 * n)
        a, b = [], []
        for _ in range(args.repeats):  # alternate so that load changes hit both alike
            a.append(ours(d, n, args.steps, args.device, n_train))
            b.append(baseline(d, n, args.steps, args.device, n_train))
        print(f"{d:>4} {n:>4} {max(a):>13.0f} {max(b):>17.0f} {max(a) / max(b):>6.2f}")


if __name__ == "__main__":
    main()
