"""SIGKILL a running `nasc search` at random moments, resume it, and check the store."""

from __future__ import annotations

import os
import random
import signal
import sqlite3
import subprocess
import sys
import time
from pathlib import Path

import pytest
from runtime_helpers import tiny_config

from nasc.runtime.search import run_search
from nasc.runtime.store import Store

TRIALS, BATCH = 12, 3
COMMAND = [sys.executable, "-m", "nasc", "search", "--strategy", "reinforce", "--trials",
           str(TRIALS), "--batch", str(BATCH), "--epochs", "1", "--max-batches", "4",
           "--max-layers", "3", "--seed", "0"]
# the kills hit an inline search, a 2-worker local one (whose workers must exit), inline again
EXECUTORS = (["--executor", "inline"], ["--executor", "local", "--workers", "2"],
             ["--executor", "inline"])


def _finished(path: Path) -> int:
    if not path.exists():
        return 0
    try:
        with sqlite3.connect(path, timeout=5) as conn:
            row = conn.execute("SELECT COUNT(*) FROM trials WHERE status IN ('done', 'failed')")
            return int(row.fetchone()[0])
    except sqlite3.OperationalError:  # the schema is not there yet
        return 0


def _children(pid: int) -> list[int]:
    try:
        text = Path(f"/proc/{pid}/task/{pid}/children").read_text()
    except OSError:
        return []
    return [int(p) for p in text.split()]


def _gone(pids: list[int], timeout: float = 10.0) -> bool:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if not [p for p in pids if Path(f"/proc/{p}").exists() and
                "Z" not in Path(f"/proc/{p}/stat").read_text().split()[2]]:
            return True
        time.sleep(0.1)
    return False


def _run_until_killed(args: list[str], path: Path, after: int, rng: random.Random) -> None:
    proc = subprocess.Popen(args, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    try:
        while _finished(path) < after and proc.poll() is None:
            time.sleep(0.02)
        time.sleep(rng.uniform(0.0, 0.4))  # somewhere inside a trial, an update or a write
        workers = _children(proc.pid)
        proc.send_signal(signal.SIGKILL)
        proc.wait(10)
        assert _gone(workers), "workers outlived the killed search"
    finally:
        if proc.poll() is None:
            proc.kill()


def test_sigkill_and_resume_keeps_every_trial_once(tmp_path: Path) -> None:
    path = tmp_path / "s.db"
    args = COMMAND + ["--store", str(path)]
    rng = random.Random(1234)
    for after, executor in zip((2, 5, 9), EXECUTORS, strict=True):
        resume = ["--resume"] if path.exists() else []
        _run_until_killed(args + executor + resume, path, after, rng)
        assert _finished(path) >= after
    done = subprocess.run(args + ["--resume", "--executor", "inline"], capture_output=True, text=True, timeout=120,
                          env={**os.environ, "PYTHONWARNINGS": "error"})
    assert done.returncode == 0, done.stderr
    assert f"{TRIALS} done" in done.stdout or "failed" in done.stdout

    store = Store.open(path)
    trials = store.trials()
    assert [t.id for t in trials] == list(range(1, TRIALS + 1))  # no lost or extra rows
    assert all(t.status in ("done", "failed") for t in trials)
    counts = store.counts()
    assert counts["done"] + counts["failed"] == TRIALS and counts["pending"] == 0
    assert [t.step for t in trials] == [1 + i // BATCH for i in range(TRIALS)]
    assert store.latest_checkpoint().step == TRIALS // BATCH  # every step learned exactly once
    steps = store.controller_steps()
    assert [s["step"] for s in steps] == list(range(1, TRIALS // BATCH + 1))
    for s in steps:  # each update learned from its own step's finished trials
        rewards = [t.reward or 0.0 for t in trials if t.step == s["step"]]
        assert s["reward"] == pytest.approx(sum(rewards) / BATCH, rel=1e-5)

    # the same search, never interrupted: the same architectures in the same steps
    config = tiny_config(tmp_path / "whole.db", "reinforce", trials=TRIALS, batch=BATCH,
                         epochs=1, max_batches=4, max_layers=3)
    run_search(config)
    whole = Store.open(tmp_path / "whole.db").trials()
    assert [(t.arch, t.step) for t in whole] == [(t.arch, t.step) for t in trials]


def test_ctrl_c_stops_cleanly_and_resumes(tmp_path: Path) -> None:
    path = tmp_path / "s.db"
    args = [a if a != "reinforce" else "random" for a in COMMAND]
    args += ["--store", str(path), "--executor", "local", "--workers", "2"]
    proc = subprocess.Popen(args, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    while _finished(path) < 2 and proc.poll() is None:
        time.sleep(0.02)
    workers = _children(proc.pid)
    proc.send_signal(signal.SIGINT)
    out, err = proc.communicate(timeout=30)
    assert proc.returncode == 130, err
    assert "interrupted; continue with the same command and --resume" in err
    assert "Traceback" not in err
    assert _gone(workers)
    store = Store.open(path)
    assert store.counts()["running"] == 0  # unfinished trials are pending again
    store.close()
    done = subprocess.run(args + ["--resume", "--executor", "inline"], capture_output=True,
                          text=True, timeout=120)
    assert done.returncode == 0, done.stderr
    counts = Store.open(path).counts()
    assert counts["done"] + counts["failed"] == TRIALS and counts["pending"] == 0
