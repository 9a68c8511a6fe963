"""Several processes (``torchrun``): the process group, DDP wrapping, rank 0's results on every rank."""

from __future__ import annotations

import json
import os

import torch

__all__ = ["distributed_setup", "wrap_distributed", "broadcast_json"]


def wrap_distributed(setup, state) -> None:
    """With several processes: SyncBatchNorm on CUDA (batch statistics over the global batch), then DDP around
    ``state.model`` as ``state.net`` (``setup``: a :class:`~infogauss.train.loop.Setup`)."""
    if setup.world == 1:
        return
    from torch.nn.parallel import DistributedDataParallel

    if setup.device.type == "cuda":
        state.model = torch.nn.SyncBatchNorm.convert_sync_batchnorm(state.model)
    ids = [setup.device.index] if setup.device.type == "cuda" else None
    state.net = DistributedDataParallel(state.model, device_ids=ids)


def distributed_setup() -> tuple[int, int]:
    """(world size, rank); initialises the default process group under torchrun."""
    import torch.distributed as dist

    if dist.is_available() and dist.is_initialized():
        return dist.get_world_size(), dist.get_rank()
    if int(os.environ.get("WORLD_SIZE", "1")) > 1:
        dist.init_process_group("nccl" if torch.cuda.is_available() else "gloo")
        return dist.get_world_size(), dist.get_rank()
    return 1, 0


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
