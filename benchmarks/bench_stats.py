"""Speed of the paper's coordinate-normality protocol (§4.0, §7) against plain scipy, in the same process.

    python benchmarks/bench_stats.py [--n 50000] [--d 512] [--repeat 3] [--threads T] [--skip-hz] [--device cuda]

What it measures, on ``n × d`` float32 N(0,1) embeddings (seeded) and on their L2-row-normalised copy:

- **protocol** = Anderson–Darling A² and p + D'Agostino–Pearson K² and p of every coordinate, on the raw and
  on the normalised embeddings (4 calls);
- **ours**: ``infogauss.stats.anderson_darling`` + ``dagostino_pearson`` (numpy path, column blocks on
  ``T`` threads; best of ``--repeat`` runs);
- **baseline**: the plain scipy loop of the paper's recipe — ``scipy.stats.anderson(col, "norm")`` on each
  column (cast to float64: on a float32 column scipy computes A² in float32, ~1e-5 relative error) and one
  ``scipy.stats.normaltest(Z, axis=0)`` per embedding matrix (run once);
- **fused**: ``infogauss.stats.normality_protocol`` — both tests in one pass over the columns (one conversion,
  transposition and sort per column block), 2 calls;
- ``--device cuda``: ours and fused also with float64 torch on that device (the data moved there first, not timed;
  ``torch.cuda.synchronize`` before each clock);
- the numbers of both are checked equal (A², K², p to 1e-9 relative) before any time is printed;
- **Henze–Zirkler** (``infogauss.stats.henze_zirkler``) at n = 20,000, d = 64: time and peak extra resident
  memory (``/proc/self/clear_refs`` + ``VmHWM``), next to the 3.2 GB that an n×n float64 distance matrix
  would take. Skipped with a note if that module is not there.
"""

from __future__ import annotations

import argparse
import os
import resource
import time
import warnings

import numpy as np


def _clock(device):
    if device is not None and str(device).startswith("cuda"):
        import torch

        torch.cuda.synchronize()
    return time.perf_counter(), time.process_time()


def _numpy(v):
    return v.detach().cpu().numpy() if hasattr(v, "detach") else np.asarray(v)


def protocol_ours(sets, device=None):
    from infogauss.stats import anderson_darling, dagostino_pearson

    out, times = {}, {}
    for name, z in sets.items():
        t0, c0 = _clock(device)
        ad = anderson_darling(z, device=device)
        t1, c1 = _clock(device)
        dp = dagostino_pearson(z, device=device)
        t2, c2 = _clock(device)
        out[name] = tuple(_numpy(v) for v in (ad.statistic, ad.pvalue, dp.statistic, dp.pvalue))
        times[f"AD {name}"], times[f"DP {name}"] = (t1 - t0, c1 - c0), (t2 - t1, c2 - c1)
    return out, times


def protocol_fused(sets, device=None):
    from infogauss.stats import normality_protocol

    out, times = {}, {}
    for name, z in sets.items():
        t0, c0 = _clock(device)
        ad, dp = normality_protocol(z, device=device)
        t1, c1 = _clock(device)
        out[name] = tuple(_numpy(v) for v in (ad.statistic, ad.pvalue, dp.statistic, dp.pvalue))
        times[f"AD+DP {name}"] = (t1 - t0, c1 - c0)
    return out, times


def protocol_scipy(sets):
    import scipy.stats
    from tqdm import tqdm

    from infogauss.stats.univariate.anderson_darling import ad_pvalue
    from infogauss.stats.univariate.common import NumpyOps

    out, times = {}, {}
    for name, z in sets.items():
        n = z.shape[0]
        t0, c0 = time.perf_counter(), time.process_time()
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", FutureWarning)  # scipy 1.17: "choose a p-value method"
            a2 = np.array(
                [
                    scipy.stats.anderson(z[:, j].astype(np.float64), "norm").statistic
                    for j in tqdm(range(z.shape[1]), desc=f"scipy.stats.anderson per column ({name})", leave=False)
                ]
            )
        t1, c1 = time.perf_counter(), time.process_time()
        dp = scipy.stats.normaltest(z.astype(np.float64), axis=0)
        t2, c2 = time.perf_counter(), time.process_time()
        # nortest's p-value from scipy's A² (scipy offers only a coarse interpolation); not timed
        out[name] = (a2, ad_pvalue(a2, n, NumpyOps), dp.statistic, dp.pvalue)
        times[f"AD {name}"], times[f"DP {name}"] = (t1 - t0, c1 - c0), (t2 - t1, c2 - c1)
    return out, times


def _sum(pairs):
    pairs = list(pairs)
    return sum(w for w, _ in pairs), sum(c for _, c in pairs)


def check_equal(ours, ref):
    worst = 0.0
    for name in ref:
        for a, b, what in zip(ours[name], ref[name], ("A²", "AD p", "K²", "DP p"), strict=True):
            np.testing.assert_allclose(a, b, rtol=1e-9, atol=1e-300, err_msg=f"{what} ({name})")
            worst = max(worst, float(np.max(np.abs(a - b) / np.maximum(np.abs(b), 1e-300))))
    return worst


def hz_benchmark(n=20_000, d=64):
    try:
        from infogauss.stats import henze_zirkler
    except (ImportError, AttributeError) as exc:
        return f"skipped: infogauss.stats.henze_zirkler not importable ({exc})"
    x = np.random.default_rng(1).standard_normal((n, d))
    henze_zirkler(x[:500])  # warm-up (imports, thread pools)
    reset = _reset_peak_rss()
    before = _rss_kib()
    t0 = time.perf_counter()
    res = henze_zirkler(x)
    dt = time.perf_counter() - t0
    peak = (_peak_rss_kib() - before) / 1024 if reset else float("nan")
    return dt, peak, float(res.statistic), float(res.pvalue)


def _reset_peak_rss() -> bool:
    try:
        with open("/proc/self/clear_refs", "w") as f:
            f.write("5")  # resets VmHWM to the current RSS (Linux >= 4.0)
        return True
    except OSError:
        return False


def _status_kib(key):
    with open("/proc/self/status") as f:
        for line in f:
            if line.startswith(key):
                return int(line.split()[1])
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss


def _rss_kib():
    return _status_kib("VmRSS:")


def _peak_rss_kib():
    return _status_kib("VmHWM:")


def print_table(args, base, best, extra, worst, runs):
    from infogauss.stats.univariate.common import n_threads

    cpus = len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else os.cpu_count()
    print(
        f"\ncoordinate normality, {args.n} x {args.d} float32, raw + L2-normalised; {n_threads()} threads for "
        f"ours, {cpus} CPUs usable, load average {os.getloadavg()[0]:.1f} (1 min)"
    )
    print(f"{'':<16}{'wall time (s)':^34}{'CPU time (s, all threads)':^34}")
    print(f"{'step':<16}" + f"{'scipy':>10}{'infogauss':>12}{'ratio':>10}" * 2)
    rows = [(k, base[k], best[k]) for k in base]
    rows.append(("protocol total", _sum(base.values()), _sum(best.values())))
    total = _sum(base.values())
    rows += [(f"total, {label}", total, t) for label, t in extra.items()]
    for k, (bw, bc), (ow, oc) in rows:
        print(f"{k:<16}{bw:>10.3f}{ow:>12.3f}{bw / ow:>9.1f}x{bc:>10.3f}{oc:>12.3f}{bc / max(oc, 1e-9):>9.1f}x")
    print(f"results equal: max relative difference {worst:.1e} (A², K², p-values; checked at 1e-9)")
    print(
        f"ours, wall time of each of the {len(runs)} runs (s): "
        + ", ".join(f"{_sum(r[1].values())[0]:.3f}" for r in runs)
    )


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--n", type=int, default=50_000)
    ap.add_argument("--d", type=int, default=512)
    ap.add_argument("--repeat", type=int, default=3, help="runs of ours; the best is reported")
    ap.add_argument("--threads", type=int, default=None, help="threads for ours (default: all usable CPUs)")
    ap.add_argument("--skip-hz", action="store_true")
    ap.add_argument("--device", default=None, help="also time ours and fused with torch on this device (e.g. cuda)")
    args = ap.parse_args()
    if args.threads:
        os.environ["INFOGAUSS_NUM_THREADS"] = str(args.threads)

    hz = None if args.skip_hz else hz_benchmark()  # first: its peak memory is measured from a small RSS

    rng = np.random.default_rng(0)
    z = rng.standard_normal((args.n, args.d), dtype=np.float32)
    sets = {"raw": z, "normalised": z / np.linalg.norm(z, axis=1, keepdims=True)}

    runs = [protocol_ours(sets) for _ in range(max(1, args.repeat))]
    ours, _ = runs[0]
    best = min(runs, key=lambda r: sum(w for w, _ in r[1].values()))[1]
    fused_runs = [protocol_fused(sets) for _ in range(max(1, args.repeat))]
    fused = min(fused_runs, key=lambda r: sum(w for w, _ in r[1].values()))[1]
    extra = {"fused (1 pass)": _sum(fused.values())}
    if args.device:
        import torch

        dev_sets = {k: torch.from_numpy(v).to(args.device) for k, v in sets.items()}
        protocol_fused(dev_sets, args.device)  # warm-up (kernels, allocator)
        for label, fn in ((f"ours ({args.device})", protocol_ours), (f"fused ({args.device})", protocol_fused)):
            rs = [fn(dev_sets, args.device) for _ in range(max(1, args.repeat))]
            check_equal(rs[0][0], ours)
            extra[label] = min((_sum(r[1].values()) for r in rs), key=lambda t: t[0])
    ref, base = protocol_scipy(sets)
    worst = check_equal(ours, ref)
    worst = max(worst, check_equal(fused_runs[0][0], ref))

    print_table(args, base, best, extra, worst, runs)

    if hz is not None:
        print("\nHenze-Zirkler, n = 20,000, d = 64 (float64, blocks of 1024 rows)")
        if isinstance(hz, str):
            print(f"  {hz}")
        else:
            dt, peak, stat, p = hz
            print(
                f"  time {dt:.2f} s, peak extra memory {peak:.0f} MiB (an n x n float64 matrix: "
                f"{20_000**2 * 8 / 2**20:.0f} MiB); HZ = {stat:.6f}, p = {p:.3g}"
            )


if __name__ == "__main__":
    main()
