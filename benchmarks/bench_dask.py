"""Benchmark the Dask engine: the report of one memory-mapped ``.npy`` in memory and on 1 and 2 Dask workers, then a
cost model (per-stage seconds per row x column measured here) extrapolated to 10⁹ x 768 on N workers.

Usage::

    nice -n 10 python benchmarks/bench_dask.py [--rows 200000] [--dim 256] [--workers 1,2] [--nodes 16,64,256]

Every process runs one thread (OMP_NUM_THREADS=1, INFOGAUSS_NUM_THREADS=1, one thread per worker), so "1 worker" and
the in-memory run use one core each; the workers are those of ``analyze --dask local:N``
(:func:`infogauss.dask_engine.local_client`). The report's simulated nulls depend on (n, d) only and run on the
client: they are computed once, before the timed runs (the first in-memory report), so the Dask runs (after a warm-up
report that makes the workers import infogauss) measure the data-dependent work. CPU seconds (client + workers) are
printed beside wall seconds: on a shared machine only the former are reproducible.
"""

from __future__ import annotations

import os

os.environ.setdefault("OMP_NUM_THREADS", "1")  # before numpy: one BLAS thread here and in the workers
os.environ.setdefault("INFOGAUSS_NUM_THREADS", "1")  # one thread for the statistics too: "1 core" means one core

import argparse  # noqa: E402
import math  # noqa: E402
import tempfile  # noqa: E402
import time  # noqa: E402
import warnings  # noqa: E402
from pathlib import Path  # noqa: E402

import numpy as np  # noqa: E402

from infogauss.report import gaussianity_report  # noqa: E402
from infogauss.report.compute import GEOMETRY_ROWS, MEMORY  # noqa: E402
from infogauss.report.null import TEST_COPIES  # noqa: E402

TARGET = (10**9, 768)  # the cost model's data
ASSUME = {"read_gbps": 1.0, "net_gbps": 1.0, "worker_gib": 128}  # per worker: disk/object-store read, network, RAM


def make_data(path: Path, n: int, d: int) -> None:
    """Student-t(30) float32 rows written block by block (the file is memory-mapped, never held whole)."""
    out = np.lib.format.open_memmap(path, mode="w+", dtype=np.float32, shape=(n, d))
    rng = np.random.default_rng(0)
    for r0 in range(0, n, 20_000):
        out[r0 : r0 + 20_000] = rng.standard_t(30, size=(min(20_000, n - r0), d))
    out.flush()
    del out


def timed(fn, *args, **kw):
    t0 = time.perf_counter()
    out = fn(*args, **kw)
    return time.perf_counter() - t0, out


def cpu_timed(client, fn, *args, **kw):
    """``(wall s, client CPU s, [CPU s of each worker], result)``: CPU seconds do not depend on what else the
    machine runs, wall seconds do."""
    w0, c0 = client.run(time.process_time), time.process_time()
    wall, out = timed(fn, *args, **kw)
    c1, w1 = time.process_time(), client.run(time.process_time)
    return wall, c1 - c0, sorted((w1[k] - w0[k] for k in w0), reverse=True), out


def stages(Z, k: int) -> dict:
    """In-memory per-stage CPU seconds (one thread) on the memory map: first pass, coordinate tests (raw and
    normalised), projection matmul."""
    n, d = Z.shape
    sub = np.sort(np.random.default_rng(0).choice(n, size=min(n, GEOMETRY_ROWS), replace=False))
    t0 = time.process_time()
    first = MEMORY.first_pass(Z, sub, "Z", False)
    t1 = time.process_time()
    MEMORY.column_tests(Z, np.arange(d), np.zeros((d, 0)), first.norms, 2**30, 64, None, False)
    t2 = time.process_time()
    P = np.linalg.qr(np.random.default_rng(1).standard_normal((d, k)))[0]
    for r0 in range(0, n, 8192):
        np.asarray(Z[r0 : r0 + 8192], dtype=np.float64) @ P
    t_first, t_cols, t_proj = t1 - t0, t2 - t1, time.process_time() - t2
    return {"first": t_first / (n * d), "tests": t_cols / (n * d), "proj": t_proj / (n * d * k), "n": n}


def dask_report(path: Path, workers: int, k: int):
    from infogauss.dask_engine import from_npy, local_client

    with local_client(workers) as client:  # what analyze --dask local:N starts
        gaussianity_report(from_npy(path)[:2000, :8], projections=2)  # warm-up: the workers import infogauss
        return cpu_timed(client, gaussianity_report, from_npy(path), projections=k, progress=False)


def cost_model(c: dict, nodes, k: int, overhead: float) -> str:
    """The extrapolation to :data:`TARGET` on N workers (assumptions in :data:`ASSUME`), as text; ``overhead``: the
    Dask run's total CPU over the in-memory run's, applied to the compute stages."""
    n, d = TARGET
    grow = math.log(n) / math.log(c["n"])  # AD sorts each column: n log n
    bytes_in, shuffle = n * d * 4, n * d * 4 + n * k * 8  # float32 input; coordinates + float64 projections moved
    mem = ASSUME["worker_gib"] * 2**30
    b = max(0, int((mem - 8 * n) // (TEST_COPIES * 8 * n)))
    lines = [
        f"cost model for {n:.0e} x {d} float32 ({bytes_in / 1e12:.2f} TB), K = {k} projections, on N workers:",
        f"  measured here (CPU s of one core, n = {c['n']}): first pass {c['first'] * 1e9:.2f} s per 1e9 row x "
        f"column, column tests {c['tests'] * 1e9:.2f} s per 1e9 (x log n / log {c['n']} = {grow:.2f} at n = 1e9), "
        f"projection matmul {c['proj'] * 1e9:.3f} s per 1e9 row x column x K; x {overhead:.2f}, the Dask engine's CPU "
        "over the in-memory engine's (measured above: tasks, shuffle, serialisation)",
        f"  assumed per worker: read {ASSUME['read_gbps']} GB/s, network {ASSUME['net_gbps']} GB/s, "
        f"{ASSUME['worker_gib']} GiB RAM; the rechunk moves the whole array once ({shuffle / 1e12:.2f} TB: the "
        f"coordinates and the float64 projections)",
        f"  memory per column task: {TEST_COPIES} x 8 x n x b + 8 n bytes = {(TEST_COPIES * 8 + 8) * n / 2**30:.0f} GiB"
        f" at b = 1: b = {b} column(s) per task fit {ASSUME['worker_gib']} GiB"
        + ("" if b else " -- NONE: a worker needs more memory, or AD a smaller n (--max-rows)"),
        "  N workers | read s | first pass s | projections s | shuffle s | column tests s | total h",
    ]
    for N in nodes:
        read = bytes_in / (N * ASSUME["read_gbps"] * 1e9)
        first = overhead * c["first"] * n * d / N
        proj = overhead * c["proj"] * n * d * k / N
        shuf = shuffle / (N * ASSUME["net_gbps"] * 1e9)
        tests = overhead * c["tests"] * grow * n * (d + k) / N
        total = max(read, first) + proj + shuf + tests
        lines.append(f"  {N:9d} | {read:6.0f} | {first:12.0f} | {proj:13.0f} | {shuf:9.0f} | {tests:14.0f} | "
                     f"{total / 3600:7.2f}")  # fmt: skip
    lines.append("  (read and first pass overlap: the larger counts; the client adds the (n, d) nulls and a 5000-row "
                 "geometry sample)")  # fmt: skip
    return "\n".join(lines)


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--rows", type=int, default=200_000)
    ap.add_argument("--dim", type=int, default=256)
    ap.add_argument("--workers", default="1,2")
    ap.add_argument("--nodes", default="16,64,256")
    args = ap.parse_args()
    n, d, k = args.rows, args.dim, args.dim
    warnings.simplefilter("ignore")
    with tempfile.TemporaryDirectory() as tmp:
        path = Path(tmp) / "z.npy"
        make_data(path, n, d)
        Z = np.load(path, mmap_mode="r")
        t_cold, _ = timed(gaussianity_report, Z, projections=k, progress=False)  # also fills the (n, d) null caches
        c0 = time.process_time()
        t_mem, rep = timed(gaussianity_report, Z, projections=k, progress=False)
        cpu_mem = time.process_time() - c0
        print(f"data {n} x {d} float32 memory-mapped, K = {k}; machine: {os.cpu_count()} cores, load average "
              f"{os.getloadavg()[0]:.1f} (wall times depend on it; CPU seconds do not)")  # fmt: skip
        print(f"in memory (numpy engine, 1 core): {t_mem:.1f} s wall, {cpu_mem:.1f} CPU s ({t_cold:.1f} s the first "
              "time, with the simulated nulls for (n, d), computed once per process on the client)")  # fmt: skip
        runs = {}
        for w in (int(x) for x in args.workers.split(",")):
            wall, client_cpu, workers, drep = dask_report(path, w, k)
            runs[w] = (wall, max(workers) + client_cpu, sum(workers) + client_cpu)
            same = abs(drep.raw["ad_mean"] - rep.raw["ad_mean"]) <= 1e-12 * abs(rep.raw["ad_mean"])
            print(f"dask, {w} worker(s): {wall:.1f} s wall; CPU s: client {client_cpu:.1f}, workers "
                  f"{', '.join(f'{x:.1f}' for x in workers)} (same ad_mean as in memory: {same})")  # fmt: skip
        if 1 in runs and 2 in runs:
            print(f"ratio 2 workers / 1 worker: wall {runs[2][0] / runs[1][0]:.2f}; critical path (busiest worker + "
                  f"client CPU s) {runs[2][1] / runs[1][1]:.2f}; total CPU {runs[2][2] / runs[1][2]:.2f} (ideal 0.50, "
                  "0.50, 1.00)")  # fmt: skip
        c = stages(Z, k)
        overhead = runs[1][2] / cpu_mem if 1 in runs else 1.0
        print(cost_model(c, [int(x) for x in args.nodes.split(",")], k, overhead))


if __name__ == "__main__":
    main()
