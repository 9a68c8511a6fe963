"""Training throughput on CIFAR-10: device-resident batched augmentation vs a per-image torchvision DataLoader.

Both pipelines produce the paper's SimCLR views (§4.2: RandomResizedCrop(32, scale 0.2-1), flip, colour jitter
(0.8, 0.8, 0.8, 0.2) with p = 0.8, grayscale p = 0.2, normalisation), two views per image:

- **device**: :class:`infogauss.data.cifar.CifarViews` — uint8 data on the device, parameters drawn per image,
  ops applied per batch on the device;
- **DataLoader**: ``torch.utils.data.DataLoader`` over PIL images with ``torchvision.transforms`` per image in
  worker processes (the usual SimCLR pipeline), batches copied to the device (pinned memory on CUDA);
- **kornia** (augmentation only): ``kornia.augmentation`` on the device-resident batch, for reference.

Measured in one process: (1) augmentation alone, (2) augmentation + forward/backward + Adam step of a ResNet-18
(CIFAR stem) with a 128-d projection head and InfoNCE (τ = 0.1). img/s counts both views. On CUDA the model runs
in channels_last under bf16 autocast; on a CPU the defaults shrink the run (ResNet-18 at width 16, i.e. 1/16 of
the FLOPs, and 2 timed steps) so it ends in about 1-2 minutes — pass ``--width 64`` for the full model.

    python benchmarks/bench_cifar.py                 # cuda if available, else cpu
    python benchmarks/bench_cifar.py --steps 50 --batch-sizes 256 512 1024
"""

from __future__ import annotations

import argparse
import gc
import os
import sys
import time

import numpy as np
import torch
import torch.nn.functional as F

from infogauss.data.cifar import MEAN, STD, CifarViews, load_cifar10, tiny_cifar
from infogauss.errors import InputError
from infogauss.vision import make_vision_encoder


def info_nce(z1: torch.Tensor, z2: torch.Tensor, tau: float = 0.1) -> torch.Tensor:
    z = F.normalize(torch.cat([z1, z2]).float(), dim=1)
    sim = (z @ z.T / tau).fill_diagonal_(float("-inf"))
    n = z1.shape[0]
    target = torch.cat([torch.arange(n, 2 * n), torch.arange(n)]).to(z.device)
    return F.cross_entropy(sim, target)


class PILPairs(torch.utils.data.Dataset):
    """Two torchvision-transformed views of each PIL image (the per-image baseline)."""

    def __init__(self, x_hwc: np.ndarray, y: np.ndarray):
        from torchvision import transforms as T

        self.x, self.y = x_hwc, y
        self.t = T.Compose(
            [
                T.RandomResizedCrop(32, scale=(0.2, 1.0)),
                T.RandomHorizontalFlip(),
                T.RandomApply([T.ColorJitter(0.8, 0.8, 0.8, 0.2)], p=0.8),
                T.RandomGrayscale(p=0.2),
                T.ToTensor(),
                T.Normalize(MEAN, STD),
            ]
        )

    def __len__(self):
        return len(self.y)

    def __getitem__(self, i):
        from PIL import Image

        img = Image.fromarray(self.x[i])
        return self.t(img), self.t(img), int(self.y[i])


def forever(make_epoch):
    while True:
        yield from make_epoch()


def sync(device):
    if device.type == "cuda":
        torch.cuda.synchronize(device)


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--device", default="cuda" if torch.cuda.is_available() else "cpu")
    ap.add_argument("--batch-sizes", type=int, nargs="+", default=[256, 512])
    ap.add_argument("--steps", type=int, default=None, help="timed steps per measurement (cuda 30, cpu 2)")
    ap.add_argument("--warmup", type=int, default=None, help="untimed steps first (cuda 5, cpu 1)")
    ap.add_argument("--width", type=int, default=None, help="ResNet-18 base width (cuda 64, cpu 16)")
    ap.add_argument("--workers", type=int, default=None, help="DataLoader workers (default: cores - 1, at most 8)")
    ap.add_argument("--data", default=None, help="CIFAR-10 .npz (default: load_cifar10's search, else generated)")
    args = ap.parse_args(argv)
    device = torch.device(args.device)
    cuda = device.type == "cuda"
    steps = args.steps or (30 if cuda else 2)
    warmup = args.warmup if args.warmup is not None else (5 if cuda else 1)
    width = args.width or (64 if cuda else 16)
    workers = args.workers if args.workers is not None else max(1, min(8, (os.cpu_count() or 2) - 1))
    if cuda:
        torch.backends.cudnn.benchmark = True

    try:
        data = load_cifar10(args.data)
    except InputError as exc:
        if args.data:
            print(f"bench_cifar: error: {exc}", file=sys.stderr)
            return 2
        data = tiny_cifar(4096, n_test=10)
    need = max(args.batch_sizes)
    if need > len(data["y_train"]):
        print(f"bench_cifar: error: batch size {need} is larger than the data set", file=sys.stderr)
        return 2
    x_hwc = data["x_train"].permute(0, 2, 3, 1).contiguous().numpy()
    y_np = data["y_train"].numpy()

    torch.manual_seed(0)
    model = make_vision_encoder("resnet18", width=width, head_dim=128, channels_last=True).to(device).train()
    opt = torch.optim.Adam(model.parameters(), lr=1e-3, weight_decay=1e-4)
    amp = torch.autocast(device.type, dtype=torch.bfloat16, enabled=cuda)
    views = CifarViews(data["x_train"], data["y_train"], device=device, seed=0, channels_last=cuda)

    name = torch.cuda.get_device_name(device) if cuda else f"cpu ({torch.get_num_threads()} threads)"
    print(
        f"bench_cifar: {name}; ResNet-18 (CIFAR stem) width {width} + 128-d head, InfoNCE, Adam; "
        f"{'bf16 autocast, channels_last' if cuda else 'fp32'}; data: {data['source']}; "
        f"{warmup} warm-up + {steps} timed steps; DataLoader: {workers} workers; torch {torch.__version__}"
    )

    def train_step(x1, x2):
        with amp:
            loss = info_nce(model(x1), model(x2))
        opt.zero_grad(set_to_none=True)
        loss.backward()
        opt.step()

    def device_batches(b):
        return forever(lambda: views.batches(b))

    def loader_batches(b):
        dl = torch.utils.data.DataLoader(
            PILPairs(x_hwc, y_np),
            batch_size=b,
            shuffle=True,
            drop_last=True,
            num_workers=workers,
            pin_memory=cuda,
            persistent_workers=True,
            prefetch_factor=4,
        )

        def gen():
            for x1, x2, y in forever(lambda: iter(dl)):
                yield (
                    x1.to(device, non_blocking=True).contiguous(memory_format=torch.channels_last),
                    x2.to(device, non_blocking=True).contiguous(memory_format=torch.channels_last),
                    y.to(device, non_blocking=True),
                )

        return gen()

    def kornia_batches(b):
        import kornia.augmentation as K

        aug = torch.nn.Sequential(
            K.RandomResizedCrop((32, 32), scale=(0.2, 1.0)),
            K.RandomHorizontalFlip(),
            K.ColorJitter(0.8, 0.8, 0.8, 0.2, p=0.8),
            K.RandomGrayscale(p=0.2),
        )
        mean, std = views.mean, views.std  # normalised by hand: the same constants, already on the device

        def gen():
            n = len(views)
            while True:
                perm = torch.randperm(n, device=device)
                for start in range(0, n - b + 1, b):
                    idx = perm[start : start + b]
                    out = (aug(views.x[idx].float().div(255).repeat(2, 1, 1, 1)) - mean) / std
                    yield (*out.split(b), views.y[idx])

        return gen()

    def rate(batches, b, n_steps, n_warm, train):
        for _ in range(n_warm):
            x1, x2, _ = next(batches)
            if train:
                train_step(x1, x2)
        sync(device)
        t0 = time.perf_counter()
        for _ in range(n_steps):
            x1, x2, _ = next(batches)
            if train:
                train_step(x1, x2)
        sync(device)
        return 2 * b * n_steps / (time.perf_counter() - t0)

    aug_steps = steps
    rows = []
    for b in args.batch_sizes:
        res = {}
        print(f"batch {b}: augmentation only ...", file=sys.stderr, flush=True)
        loader = loader_batches(b)
        res["aug_device"] = rate(device_batches(b), b, aug_steps, 1, False)
        res["aug_kornia"] = rate(kornia_batches(b), b, aug_steps, 1, False)
        res["aug_loader"] = rate(loader, b, aug_steps, 1, False)
        print(f"batch {b}: training ...", file=sys.stderr, flush=True)
        res["train_device"] = rate(device_batches(b), b, steps, warmup, True)
        res["train_loader"] = rate(loader, b, steps, warmup, True)
        del loader
        gc.collect()
        rows.append((b, res))

    print("\naugmentation only (two views; img/s counts both)")
    print(f"{'batch':>6} {'device':>10} {'kornia':>10} {'DataLoader':>11} {'device/DataLoader':>18}")
    for b, r in rows:
        print(
            f"{b:>6} {r['aug_device']:>10.0f} {r['aug_kornia']:>10.0f} {r['aug_loader']:>11.0f} "
            f"{r['aug_device'] / r['aug_loader']:>17.2f}x"
        )
    print("\ntraining step (augmentation + forward/backward + Adam; img/s counts both views)")
    print(f"{'batch':>6} {'device':>10} {'DataLoader':>11} {'device/DataLoader':>18}")
    for b, r in rows:
        print(
            f"{b:>6} {r['train_device']:>10.0f} {r['train_loader']:>11.0f} "
            f"{r['train_device'] / r['train_loader']:>17.2f}x"
        )
    if not cuda:
        print(
            "note: on a CPU the DataLoader's worker processes augment while the main process trains, whereas the "
            "device path augments and trains in turn on the same cores; the device path is built for GPUs."
        )
    return 0


if __name__ == "__main__":
    sys.exit(main())
