"""Peak memory of :func:`infogauss.gaussianity_report` on a memory-mapped ``.npy`` several times larger than the
memory the process is allowed.

How the limit is imposed: ``RLIMIT_DATA`` (``resource.setrlimit``, like ``prlimit --data``) on a child process. Since
Linux 4.7 it caps the process's *data* memory: the heap and every private writable mapping, i.e. all anonymous memory
numpy, torch and Python allocate (virtual size, so it is stricter than a cap on resident memory). A read-only
``np.load(mmap_mode="r")`` mapping is shared and file-backed, so it is not counted: its pages live in the page cache,
the kernel drops them under pressure, and they are not the process's memory. (cgroup v2 ``memory.max`` would be the
other way; this machine has the v1 memory controller, owned by the session's own cgroup, so we leave it alone.)

What is measured, in the child, by a thread reading ``/proc/self/status`` every 5 ms:

- ``RssAnon`` peak: resident anonymous memory, the memory the report itself needs (and the number to compare with the
  file size). Sampling can miss a spike shorter than 5 ms; the hard ``RLIMIT_DATA`` cap bounds it regardless;
- ``VmHWM``: the kernel's peak resident set; it also counts file-backed pages of the mapped ``.npy`` (reclaimable)
  and of the shared libraries;
- ``RssFile`` peak: the mapped file and library pages resident at once.

Two children run under the same limit: the report on the memory map, and a baseline that loads the same file
into memory (``np.load`` without ``mmap_mode``), which must fail with ``MemoryError`` if the limit is real.

Usage (the file is written first, in row blocks, and deleted at the end unless ``--keep``)::

    python benchmarks/bench_memory.py --rows 1500000 --dim 1024 --limit-mib 1536 --memory-mib 256 --projections 16 \
        --dir /work/bench_tmp

Measured on the 2-core development machine (shared, load average ~8; 24 GiB RAM), 2026-11-28, that command: a
5.72 GiB float32 file (3.8 x the 1536 MiB limit). Baseline ``np.load``: ``MemoryError`` (the limit is real). Report:
25 column passes + 1 norm pass, wall 491 s, CPU 328 s; RssAnon 283 MiB after imports, peak RssAnon 879 MiB
(0.15 x the file), peak VmData 1513 MiB (under the cap), VmHWM 7239 MiB and peak RssFile 6360 MiB (the mapped file's
page-cache pages, reclaimable, plus shared libraries).
"""

from __future__ import annotations

import argparse
import json
import os
import re
import resource
import subprocess
import sys
import threading
import time
from pathlib import Path

import numpy as np


def _status() -> dict:
    text = Path("/proc/self/status").read_text()
    return {k: int(v) * 1024 for k, v in re.findall(r"^(VmHWM|VmRSS|RssAnon|RssFile|VmData):\s+(\d+) kB", text, re.M)}


class _Sampler(threading.Thread):
    def __init__(self, every: float = 0.005):
        super().__init__(daemon=True)
        self.every, self.stop, self.peak = every, False, {"RssAnon": 0, "RssFile": 0, "VmData": 0}

    def run(self):
        while not self.stop:
            s = _status()
            for k in self.peak:
                self.peak[k] = max(self.peak[k], s[k])
            time.sleep(self.every)


def child(kind: str, path: str, memory_mib: int, projections: int) -> None:
    """Runs under RLIMIT_DATA; prints one JSON line."""
    import torch  # noqa: F401  (imported before the baseline numbers, like any real run)

    from infogauss.io import load_embeddings
    from infogauss.report import gaussianity_report

    base = _status()
    sampler = _Sampler()
    sampler.start()
    t0, c0 = time.perf_counter(), time.process_time()
    out = {"kind": kind, "base_rss_anon": base["RssAnon"], "base_vm_data": base["VmData"]}
    try:
        if kind == "load":
            Z = np.load(path)  # the whole file into memory: must not fit
            out["ok"] = True
            out["shape"] = list(Z.shape)
        else:
            Z = load_embeddings(path, check_finite=False)  # a memmap: the report checks NaN/Inf in its first pass
            assert isinstance(Z, np.memmap)
            rep = gaussianity_report(Z, projections=projections, memory=memory_mib * 2**20, progress=True)
            out["ok"] = True
            out["settings"] = rep.settings
            out["raw"] = {k: rep.raw[k] for k in ("cv", "ad_mean", "ad_pass_fraction", "dp_mean_p", "dp_pass_fraction")}
    except MemoryError as exc:
        out["ok"] = False
        out["error"] = f"MemoryError: {exc}"
    sampler.stop = True
    sampler.join()
    end = _status()
    out.update(
        wall_s=time.perf_counter() - t0,
        cpu_s=time.process_time() - c0,
        peak_rss_anon=sampler.peak["RssAnon"],
        peak_rss_file=sampler.peak["RssFile"],
        peak_vm_data=sampler.peak["VmData"],
        vm_hwm=end["VmHWM"],
    )
    print("RESULT " + json.dumps(out), flush=True)


def _write(path: Path, n: int, d: int, seed: int = 0) -> float:
    t0 = time.perf_counter()
    mm = np.lib.format.open_memmap(path, mode="w+", dtype=np.float32, shape=(n, d))
    rng = np.random.default_rng(seed)
    step = max(1, (64 * 2**20) // (4 * d))
    for r0 in range(0, n, step):
        r1 = min(r0 + step, n)
        mm[r0:r1] = rng.standard_normal((r1 - r0, d), dtype=np.float32)
    mm.flush()
    del mm
    return time.perf_counter() - t0


def _run_child(kind: str, path: Path, args) -> dict:
    limit = args.limit_mib * 2**20

    def cap():
        resource.setrlimit(resource.RLIMIT_DATA, (limit, limit))

    cmd = [sys.executable, __file__, "--child", kind, str(path), str(args.memory_mib), str(args.projections)]
    proc = subprocess.run(cmd, preexec_fn=cap, capture_output=True, text=True)
    lines = [ln for ln in proc.stdout.splitlines() if ln.startswith("RESULT ")]
    if not lines:
        return {"kind": kind, "ok": False, "error": f"exit {proc.returncode}: {proc.stderr.strip()[-400:]}"}
    return json.loads(lines[-1][len("RESULT ") :])


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--rows", type=int, default=4_000_000)
    p.add_argument("--dim", type=int, default=256)
    p.add_argument("--limit-mib", type=int, default=1536, help="RLIMIT_DATA of the child processes")
    p.add_argument("--memory-mib", type=int, default=256, help="gaussianity_report(memory=...) staging budget")
    p.add_argument("--projections", type=int, default=16)
    p.add_argument("--dir", default=".", help="where the temporary .npy goes (needs rows*dim*4 bytes free)")
    p.add_argument("--keep", action="store_true", help="keep the .npy file")
    p.add_argument("--child", nargs=4, help=argparse.SUPPRESS)
    args = p.parse_args()
    if args.child:
        kind, path, mem, k = args.child
        child(kind, path, int(mem), int(k))
        return

    path = Path(args.dir) / f"bench_memory_{args.rows}x{args.dim}.npy"
    gib = 2**30
    try:
        if not path.exists():
            print(f"writing {path} ...", flush=True)
            took = _write(path, args.rows, args.dim)
            print(f"  wrote {path.stat().st_size / gib:.2f} GiB in {took:.0f} s")
        size = path.stat().st_size
        print(
            f"file {size / gib:.2f} GiB (n={args.rows}, d={args.dim}, float32); child RLIMIT_DATA {args.limit_mib} MiB "
            f"(file = {size / (args.limit_mib * 2**20):.1f} x the limit); staging memory {args.memory_mib} MiB; "
            f"{args.projections} projections; {os.cpu_count()} CPUs"
        )
        base = _run_child("load", path, args)
        print(f"baseline np.load (no mmap) under the limit: {'loaded' if base['ok'] else base['error']}")
        res = _run_child("report", path, args)
        if not res["ok"]:
            print(f"report FAILED: {res['error']}")
            sys.exit(1)
        mib = 2**20
        print(
            f"report: wall {res['wall_s']:.0f} s, CPU {res['cpu_s']:.0f} s, "
            f"{res['settings']['column_passes']} column passes + 1 norm pass over the file, "
            f"block {res['settings']['block_columns']} columns"
        )
        print(f"  RssAnon after imports     {res['base_rss_anon'] / mib:8.0f} MiB")
        print(
            f"  peak RssAnon (sampled)    {res['peak_rss_anon'] / mib:8.0f} MiB"
            f"  = {res['peak_rss_anon'] / size:.3f} x file"
        )
        print(f"  peak VmData (virtual)     {res['peak_vm_data'] / mib:8.0f} MiB  (capped at {args.limit_mib})")
        print(f"  VmHWM (incl. file pages)  {res['vm_hwm'] / mib:8.0f} MiB")
        print(
            f"  peak RssFile (sampled)    {res['peak_rss_file'] / mib:8.0f} MiB  (mapped file + libraries, reclaimable)"
        )
        print(f"  raw: {json.dumps(res['raw'])}")
        print(
            "RESULT " + json.dumps({"file_bytes": size, "limit_mib": args.limit_mib, "baseline": base, "report": res})
        )
    finally:
        if not args.keep and path.exists():
            path.unlink()
            print(f"deleted {path}")


if __name__ == "__main__":
    main()
