"""Two CPU processes (gloo): the gathered InfoNCE and DDP training equal one process on the whole batch."""

import json
import os
import socket
import subprocess
import sys

import pytest
import torch
import torch.distributed as dist
import torch.multiprocessing as mp

from infogauss.losses import info_nce
from infogauss.train import Evaluation, Representation, Scores, preset, train

N_LOCAL, D, WORLD = 6, 5, 2


def _batch():
    g = torch.Generator().manual_seed(0)
    z1 = torch.randn(WORLD * N_LOCAL, D, generator=g)
    return z1, z1 + 0.7 * torch.randn(WORLD * N_LOCAL, D, generator=g)


def _config(tmp):
    return preset(
        "smoke",
        source_params={"dim": 12, "n_train": 128, "n_test": 32},
        d=4,
        batch_size=16,
        epochs=2,
        eval_every=2,
        device="cpu",
        out=str(tmp),
    )


def _no_evaluation(*args, **kwargs):
    return Evaluation(Representation(0, Scores(), Scores()), 0, "not evaluated")


def _worker(rank, port, tmp):
    os.environ.update(MASTER_ADDR="127.0.0.1", MASTER_PORT=str(port), WORLD_SIZE=str(WORLD), RANK=str(rank))
    os.environ["LOCAL_RANK"] = str(rank)
    torch.set_num_threads(1)
    dist.init_process_group("gloo", rank=rank, world_size=WORLD)
    try:
        z1, z2 = _batch()
        sl = slice(rank * N_LOCAL, (rank + 1) * N_LOCAL)
        out = {}
        for sym in (False, True):
            a, b = z1[sl].clone().requires_grad_(True), z2[sl].clone().requires_grad_(True)
            loss = info_nce(a, b, 0.2, sym, gather=True)
            loss.backward()
            out[f"loss_{sym}"], out[f"g1_{sym}"], out[f"g2_{sym}"] = loss.detach(), a.grad, b.grad
        import infogauss.train.loop

        infogauss.train.loop.evaluate = _no_evaluation  # evaluation is tested elsewhere; keeps this test short
        run = train(_config(os.path.join(tmp, "ddp")), progress=False)
        out["state"] = run.model.state_dict()
        out["losses"] = torch.tensor(run.epoch_losses)
        torch.save(out, os.path.join(tmp, f"rank{rank}.pt"))
    finally:
        dist.destroy_process_group()


def _free_port():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@pytest.mark.skipif(not dist.is_available(), reason="torch.distributed not available")
def test_two_processes_equal_one(tmp_path, monkeypatch):
    # fork: the children inherit the imported modules (spawn would re-import torch, seconds per process)
    mp.start_processes(_worker, args=(_free_port(), str(tmp_path)), nprocs=WORLD, join=True, start_method="fork")
    ranks = [torch.load(tmp_path / f"rank{r}.pt", weights_only=True) for r in range(WORLD)]
    z1, z2 = _batch()
    for sym in (False, True):
        a, b = z1.clone().requires_grad_(True), z2.clone().requires_grad_(True)
        loss = info_nce(a, b, 0.2, sym)
        loss.backward()
        # The global loss is the mean of the per-rank losses (equal local batch sizes) ...
        mean = sum(r[f"loss_{sym}"] for r in ranks) / WORLD
        assert torch.allclose(mean, loss.detach(), rtol=1e-6, atol=1e-7)
        # ... and each rank's gradient, averaged over ranks as DDP does, is the global gradient of its slice:
        # the differentiable all_gather sums the other ranks' contributions back into this rank's embeddings.
        for r, res in enumerate(ranks):
            sl = slice(r * N_LOCAL, (r + 1) * N_LOCAL)
            assert torch.allclose(res[f"g1_{sym}"] / WORLD, a.grad[sl], rtol=1e-5, atol=1e-7)
            assert torch.allclose(res[f"g2_{sym}"] / WORLD, b.grad[sl], rtol=1e-5, atol=1e-7)
    # DDP training (global batch 16 = 2 x 8) ends where one process with batch 16 ends.
    monkeypatch.setattr("infogauss.train.loop.evaluate", _no_evaluation)
    single = train(_config(tmp_path / "single"), progress=False)
    for k, v in single.model.state_dict().items():
        assert torch.allclose(ranks[0]["state"][k], v, rtol=1e-4, atol=1e-6), k
        assert torch.equal(ranks[0]["state"][k], ranks[1]["state"][k]), k  # replicas stay in sync
    assert torch.allclose(ranks[0]["losses"], torch.tensor(single.epoch_losses), rtol=1e-5)
    assert (tmp_path / "ddp" / "report.json").is_file()


def _cli_train(out, *prefix):
    env = {**os.environ, "OMP_NUM_THREADS": "1", "PYTHONWARNINGS": "default"}
    cmd = [*prefix, "-m", "infogauss.cli", "train", "--preset", "smoke", "--device", "cpu", "--quiet"]
    cmd += ["--out", str(out)]
    return subprocess.run(cmd, capture_output=True, text=True, env=env, timeout=300)


@pytest.mark.skipif(not dist.is_available(), reason="torch.distributed not available")
def test_torchrun_cli_equals_one_process(tmp_path):
    # The README's command: torchrun --nproc_per_node=2 -m infogauss.cli train --preset smoke --out ... (gloo, CPU).
    torchrun = [sys.executable, "-m", "torch.distributed.run", "--nproc_per_node=2", f"--master_port={_free_port()}"]
    two = _cli_train(tmp_path / "ddp", *torchrun)
    assert two.returncode == 0, two.stderr[-3000:]
    for word in ("Traceback", "DeprecationWarning", "FutureWarning", "deprecated"):
        assert word not in two.stderr, two.stderr[-3000:]
    one = _cli_train(tmp_path / "one", sys.executable)
    assert one.returncode == 0, one.stderr[-3000:]
    # rank 0 alone prints the last line: the same numbers as one process with batch 32
    lines = [ln for ln in two.stdout.splitlines() if ln.startswith("epoch ")]
    assert len(lines) == 1 and two.stderr.count("results written to") == 1, two.stdout + two.stderr[-3000:]
    assert all(_numbers(ln) == pytest.approx(_numbers(one.stdout.splitlines()[-1]), rel=1e-4) for ln in lines)
    a, b = (json.loads((tmp_path / d / "report.json").read_text()) for d in ("ddp", "one"))
    assert a["epoch"] == b["epoch"] == 2
    for key in ("cv", "ad_mean", "dp_mean_p"):
        assert a["backbone"]["raw"][key] == pytest.approx(b["backbone"]["raw"][key], rel=1e-4, abs=1e-6), key
    for key in ("alignment", "uniformity_potential", "test_infonce"):
        assert a["views"][key] == pytest.approx(b["views"][key], rel=1e-4, abs=1e-6), key
    assert a["train_loss"] == pytest.approx(b["train_loss"], rel=1e-5)
    assert json.loads((tmp_path / "ddp" / "config.json").read_text())["world_size"] == 2


def _numbers(line):
    """The numeric values of a ``key=value, ...`` line (the elapsed seconds left out)."""
    values = [kv.split("=", 1)[1] for kv in line.split(": ", 1)[1].split(", ")]
    return [float(v) for v in values if v not in ("True", "False", "None")]
