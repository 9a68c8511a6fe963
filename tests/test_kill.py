"""``kill -9`` at random moments of ``analyze`` and ``train``: the output is never partial, and the next run leaves
no temporary folder, temporary file or lock behind (issue 10, items 4 and 7)."""

from __future__ import annotations

import json
import os
import signal
import stat
import subprocess
import sys
import time
from pathlib import Path

import numpy as np

from infogauss import outputs
from infogauss.cli import main

KILL_SEED = 20260227  # the random kill times are reproducible


def _cli(*argv) -> subprocess.Popen:
    env = {**os.environ, "OMP_NUM_THREADS": "1"}
    return subprocess.Popen([sys.executable, "-m", "infogauss.cli", *argv], stdout=subprocess.DEVNULL,
                            stderr=subprocess.DEVNULL, env=env)  # fmt: skip


def _kill_after(proc: subprocess.Popen, seconds: float) -> None:
    try:
        proc.wait(timeout=seconds)
    except subprocess.TimeoutExpired:
        proc.send_signal(signal.SIGKILL)
        proc.wait()


def _leftovers(folder: Path) -> list[str]:
    return sorted(p.name for p in folder.rglob("*") if outputs.TMP_TAG in p.name or outputs.LOCK_SUFFIX in p.name)


def _complete_report(out: Path) -> bool:
    return json.loads((out / "report.json").read_text())["n"] == 3000


def test_analyze_killed_at_random_points(tmp_path):
    rng = np.random.default_rng(KILL_SEED)
    np.save(tmp_path / "emb.npy", rng.normal(size=(3000, 32)))
    out = tmp_path / "runs" / "emb"
    for delay in rng.uniform(0.5, 3.0, size=3):
        _kill_after(_cli("analyze", str(tmp_path / "emb.npy"), "--out", str(out), "--no-plots"), delay)
        assert not out.exists() or _complete_report(out)  # never a partial folder
    assert main(["analyze", str(tmp_path / "emb.npy"), "--out", str(out), "--no-plots"]) == 0
    assert _complete_report(out)
    assert _leftovers(tmp_path) == []


def test_train_killed_then_resumed_leaves_nothing_behind(tmp_path):
    rng = np.random.default_rng(KILL_SEED + 1)
    out = tmp_path / "run"
    argv = ["train", "--preset", "smoke", "epochs=3", "--out", str(out), "--device", "cpu", "--quiet"]
    proc = _cli(*argv)
    deadline = time.monotonic() + 120
    while not (out / "config.json").exists() and proc.poll() is None and time.monotonic() < deadline:
        time.sleep(0.05)  # wait for training to start, then kill at a random moment of it
    _kill_after(proc, float(rng.uniform(0.0, 3.0)))
    old = os.umask(0o022)
    try:
        assert main(argv) == 0
    finally:
        os.umask(old)
    report = json.loads((out / "report.json").read_text())
    assert report["epoch"] == 3
    assert _leftovers(tmp_path) == []
    for f in ("config.json", "metrics.jsonl", "report.json", "checkpoint.pt"):  # umask 022: 0644 files
        assert stat.S_IMODE((out / f).stat().st_mode) == 0o644, f
