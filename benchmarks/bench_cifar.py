"""SimCLR training throughput on CIFAR-10: device-resident batched augmentation vs a torchvision DataLoader.

Model and step (the paper's CIFAR-10 setting, §4.2): ResNet-18 with the CIFAR stem (3×3 conv, no max-pool), base
width 64 (``--width``), a 128-d projection head, InfoNCE (τ = 0.1, :func:`infogauss.losses.info_nce`), Adam;
batch 512 (``--batch``), two views per image: RandomResizedCrop(32, scale 0.2-1), flip, colour jitter
(0.8, 0.8, 0.8, 0.2) with p = 0.8, grayscale p = 0.2, normalisation. Two input pipelines, timed in one process:

- **device**: :class:`infogauss.data.cifar.CifarViews` — uint8 images on the device, parameters drawn per image,
  the ops applied to the whole batch on the device (what ``infogauss train`` uses);
- **DataLoader** (baseline): ``torch.utils.data.DataLoader`` over PIL images with ``torchvision.transforms`` per
  image in worker processes (the usual SimCLR pipeline), batches copied to the device (pinned memory on CUDA).

Printed: augmentation alone; the training step (augmentation + forward/backward + Adam) with both pipelines, with
their ratio, seconds per epoch of 50,000 images, and peak memory (CUDA: ``torch.cuda.max_memory_allocated`` of the
step; CPU: the process's peak resident set, which only grows). img/s counts **both views** (one CIFAR image = 2 img).
Each number is the best of ``--repeat`` timed blocks (use 3 or more on a shared machine; the medians are in the JSON).
``--variants`` also times the device pipeline in float32, bf16 autocast, channels_last and both, as ratios to
float32. ``--json PATH`` writes every number (``scripts/gpu_check.sh`` reads it).

Defaults: on CUDA width 64, bf16 autocast and channels_last (as ``infogauss train`` on CUDA), 30 timed steps after
5 warm-up steps; on a CPU the same model at ``--width 16`` (1/16 of the FLOPs), float32, 2 timed steps.

    python benchmarks/bench_cifar.py --device cuda --json bench_cifar.json      # the GPU check (issue 12)
    python benchmarks/bench_cifar.py --device cpu --width 16 --batch 128 --steps 3 --variants

Reproducibility across devices (CPU vs CUDA):

- bit-identical on every device: the encoder's initial weights (seeded with ``torch.manual_seed`` and built on the
  CPU before moving), CIFAR-10 shuffles and augmentation parameters (a CPU ``torch.Generator`` seeded from
  ``(seed, epoch)``), and everything numpy draws in the statistics (projections, subsamples);
- equal up to float rounding: the augmented pixels (the same formulas run by different kernels) and the statistics'
  torch path on CUDA vs numpy;
- only statistically comparable: synthetic sources draw their items and views with a ``torch.Generator`` *on the
  device* — CUDA's Philox stream and the CPU's Mersenne Twister give different numbers for the same seed, so a
  synthetic run on CUDA sees different samples than on the CPU (and a checkpoint's generator state only resumes on
  the device type that wrote it); and every trained network on CUDA: bf16 autocast, TF32/cuDNN kernel choice
  (``cudnn.benchmark``) and atomic-add reductions in backward make weights differ run to run even on one GPU.
  Compare CUDA and CPU results across seeds (mean ± std), never digit for digit.
"""

from __future__ import annotations

import argparse
import gc
import json
import os
import resource
import sys
import time

import numpy as np
import torch

from infogauss.data.cifar import MEAN, STD, CifarViews, load_cifar10, tiny_cifar
from infogauss.errors import InputError
from infogauss.losses import info_nce
from infogauss.vision import make_vision_encoder

EPOCH_IMAGES = 50_000


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


def parse(argv):
    cuda = torch.cuda.is_available()
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--device", default="cuda" if cuda else "cpu")
    ap.add_argument("--batch", type=int, default=512, help="images per step (each gives two views); default 512")
    ap.add_argument("--steps", type=int, default=None, help="timed steps per measurement (cuda 30, cpu 2)")
    ap.add_argument("--warmup", type=int, default=None, help="untimed steps first (cuda 5, cpu 1)")
    ap.add_argument("--repeat", type=int, default=None, help="timed blocks, best reported (cuda 3, cpu 1)")
    ap.add_argument("--width", type=int, default=None, help="ResNet-18 base width (cuda 64, cpu 16)")
    ap.add_argument("--bf16", action=argparse.BooleanOptionalAction, default=None, help="bf16 autocast (cuda: on)")
    ap.add_argument("--channels-last", action=argparse.BooleanOptionalAction, default=None, help="(cuda: on)")
    ap.add_argument("--variants", action="store_true", help="also time fp32 / bf16 / channels_last / both (device)")
    ap.add_argument("--no-loader", action="store_true", help="skip the DataLoader baseline")
    ap.add_argument("--workers", type=int, default=None, help="DataLoader workers (default: cores - 1, at most 16)")
    ap.add_argument("--data", default=None, help="CIFAR-10 .npz (default: load_cifar10's search, else generated)")
    ap.add_argument("--tiny", type=int, default=None, metavar="N", help="N generated images, not CIFAR-10")
    ap.add_argument("--json", default=None, metavar="PATH", help="write the results as JSON")
    args = ap.parse_args(argv)
    args.device = torch.device(args.device)
    on_cuda = args.device.type == "cuda"
    args.steps = args.steps or (30 if on_cuda else 2)
    args.warmup = args.warmup if args.warmup is not None else (5 if on_cuda else 1)
    args.repeat = args.repeat or (3 if on_cuda else 1)
    args.width = args.width or (64 if on_cuda else 16)
    args.bf16 = on_cuda if args.bf16 is None else args.bf16
    args.channels_last = on_cuda if args.channels_last is None else args.channels_last
    args.workers = args.workers if args.workers is not None else max(1, min(16, (os.cpu_count() or 2) - 1))
    return args


class Bench:
    """Times ``steps`` steps of one pipeline (after ``warmup``); returns img/s (both views) and peak memory."""

    def __init__(self, args, views: CifarViews):
        self.args, self.views, self.device = args, views, args.device

    def model(self, channels_last: bool):
        torch.manual_seed(0)  # every measurement starts from the same weights
        enc = make_vision_encoder("resnet18", width=self.args.width, head_dim=128, channels_last=channels_last)
        enc = enc.to(self.device).train()
        return enc, torch.optim.Adam(enc.parameters(), lr=1e-3, weight_decay=1e-4)

    def step_fn(self, bf16: bool, channels_last: bool):
        model, opt = self.model(channels_last)
        amp = torch.autocast(self.device.type, dtype=torch.bfloat16, enabled=bf16)
        fmt = torch.channels_last if channels_last else torch.contiguous_format

        def step(x1, x2):
            x1, x2 = x1.contiguous(memory_format=fmt), x2.contiguous(memory_format=fmt)
            with amp:
                z1, z2 = model(x1), model(x2)
            loss = info_nce(z1.float(), z2.float(), 0.1)
            opt.zero_grad(set_to_none=True)
            loss.backward()
            opt.step()
            return loss

        return step

    def sync(self):
        if self.device.type == "cuda":
            torch.cuda.synchronize(self.device)

    def rate(self, batches, step=None) -> dict:
        """img/s of the best of ``--repeat`` timed blocks (and their median), after ``--warmup`` steps."""
        if self.device.type == "cuda":
            torch.cuda.reset_peak_memory_stats(self.device)
        loss = None
        for _ in range(self.args.warmup):
            x1, x2, _ = next(batches)
            loss = step(x1, x2) if step else None
        rates = []
        for _ in range(self.args.repeat):
            self.sync()
            t0 = time.perf_counter()
            for _ in range(self.args.steps):
                x1, x2, _ = next(batches)
                loss = step(x1, x2) if step else None
            self.sync()
            rates.append(2 * self.args.batch * self.args.steps / (time.perf_counter() - t0))
        if loss is not None and not torch.isfinite(loss):
            raise RuntimeError(f"bench_cifar: the loss is {loss.item()} (not finite)")
        if self.device.type == "cuda":
            peak = torch.cuda.max_memory_allocated(self.device) / 2**20
        else:
            peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024  # KiB on Linux -> MiB
        return {"img_per_s": max(rates), "img_per_s_median": float(np.median(rates)), "peak_mib": peak}

    def device_batches(self):
        return forever(lambda: self.views.batches(self.args.batch))

    def loader_batches(self, x_hwc, y):
        cuda = self.device.type == "cuda"
        dl = torch.utils.data.DataLoader(
            PILPairs(x_hwc, y), batch_size=self.args.batch, shuffle=True, drop_last=True,
            num_workers=self.args.workers, pin_memory=cuda, persistent_workers=True, prefetch_factor=4,
        )  # fmt: skip
        for x1, x2, yb in forever(lambda: iter(dl)):
            yield (x1.to(self.device, non_blocking=True), x2.to(self.device, non_blocking=True),
                   yb.to(self.device, non_blocking=True))  # fmt: skip


def measure(args, data) -> dict:
    views = CifarViews(data["x_train"], data["y_train"], device=args.device, seed=0, channels_last=args.channels_last)
    bench = Bench(args, views)
    res: dict = {}
    print("augmentation only ...", file=sys.stderr, flush=True)
    res["aug_device"] = bench.rate(bench.device_batches())
    if not args.no_loader:
        x_hwc = data["x_train"].permute(0, 2, 3, 1).contiguous().numpy()
        loader = bench.loader_batches(x_hwc, data["y_train"].numpy())
        res["aug_loader"] = bench.rate(loader)
    print("training step ...", file=sys.stderr, flush=True)
    if not args.no_loader:  # first, so that its worker processes are gone before the device pipeline is timed
        res["train_loader"] = bench.rate(loader, bench.step_fn(args.bf16, args.channels_last))
        loader.close()
        del loader
        gc.collect()
    res["train_device"] = bench.rate(bench.device_batches(), bench.step_fn(args.bf16, args.channels_last))
    if args.variants:
        for name, bf16, cl in (("fp32", False, False), ("bf16", True, False), ("channels_last", False, True),
                               ("bf16+channels_last", True, True)):  # fmt: skip
            print(f"variant {name} ...", file=sys.stderr, flush=True)
            res[f"variant_{name}"] = bench.rate(bench.device_batches(), bench.step_fn(bf16, cl))
    return res


def report(args, res: dict, header: str) -> dict:
    print(header)
    ratios = {}
    rows = [("augmentation only", "aug"), ("training step", "train")]
    print(f"\n{'':18} {'device img/s':>13} {'DataLoader img/s':>17} {'device/DataLoader':>18} {'s/epoch (device)':>17}")
    for label, key in rows:
        dev, dl = res[f"{key}_device"], res.get(f"{key}_loader")
        ratio = dev["img_per_s"] / dl["img_per_s"] if dl else None
        ratios[f"{key}_device_over_loader"] = ratio
        print(
            f"{label:18} {dev['img_per_s']:>13.0f} {dl['img_per_s'] if dl else float('nan'):>17.0f} "
            f"{ratio if ratio else float('nan'):>17.2f}x {2 * EPOCH_IMAGES / dev['img_per_s']:>17.1f}"
        )
    what = "GPU peak allocated" if args.device.type == "cuda" else "process peak RSS"
    mem = ", ".join(f"{k} {v['peak_mib']:.0f} MiB" for k, v in res.items() if k.startswith("train_"))
    print(f"memory ({what}): {mem}")
    if args.variants:
        base = res["variant_fp32"]["img_per_s"]
        print("\ndevice pipeline, training step, vs float32 (same process):")
        for k, v in res.items():
            if k.startswith("variant_"):
                ratios[f"{k[8:]}_over_fp32"] = v["img_per_s"] / base
                print(f"  {k[8:]:20} {v['img_per_s']:>9.0f} img/s  {v['img_per_s'] / base:>5.2f}x  "
                      f"peak {v['peak_mib']:.0f} MiB")  # fmt: skip
    if args.device.type == "cpu" and not args.no_loader:
        print(
            "note: on a CPU the DataLoader's worker processes augment while the main process trains, whereas the "
            "device path augments and trains in turn on the same cores; the device path is built for GPUs."
        )
    return ratios


def main(argv=None) -> int:
    args = parse(argv)
    if args.device.type == "cuda":
        if not torch.cuda.is_available():
            print("bench_cifar: error: --device cuda but no CUDA device is visible", file=sys.stderr)
            return 2
        torch.backends.cudnn.benchmark = True
    try:
        data = tiny_cifar(args.tiny, n_test=10) if args.tiny else load_cifar10(args.data)
    except InputError as exc:
        if args.data or args.tiny:
            print(f"bench_cifar: error: {exc}", file=sys.stderr)
            return 2
        data = tiny_cifar(max(4096, 2 * args.batch), n_test=10)
    if args.batch < 2 or args.batch > len(data["y_train"]):
        print(f"bench_cifar: error: --batch {args.batch} must be 2 .. {len(data['y_train'])}", file=sys.stderr)
        return 2
    name = torch.cuda.get_device_name(args.device) if args.device.type == "cuda" else "cpu"
    load = os.getloadavg()
    header = (
        f"bench_cifar: {name} ({torch.get_num_threads()} CPU threads, load average {load[0]:.2f}); ResNet-18 (CIFAR "
        f"stem) width {args.width} + 128-d head, InfoNCE, Adam, batch {args.batch} x 2 views; "
        f"{'bf16 autocast' if args.bf16 else 'fp32'}{', channels_last' if args.channels_last else ''}; "
        f"data: {data['source']}; {args.warmup} warm-up + best of {args.repeat} x {args.steps} timed steps; "
        f"DataLoader: {args.workers} workers; torch {torch.__version__}"
    )
    res = measure(args, data)
    ratios = report(args, res, header)
    if args.json:
        cfg = {k: (str(v) if isinstance(v, torch.device) else v) for k, v in vars(args).items() if k != "json"}
        out = {"device_name": name, "load_average": load, "torch": torch.__version__, "data": data["source"],
               "config": cfg, "results": res, "ratios": ratios}  # fmt: skip
        with open(args.json, "w") as f:
            json.dump(out, f, indent=2)
    return 0


if __name__ == "__main__":
    sys.exit(main())
