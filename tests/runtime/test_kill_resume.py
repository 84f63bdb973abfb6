"""SIGKILL a running `nasc search` mid-search, resume it, and check the store.

The kill is timed by the store, not the clock: the test polls the SQLite file until it
shows the wanted number of finished trials *and* one running, freezes the search's
process group (SIGSTOP), reads the store again (what it reads now is what the kill
leaves), and kills the search, or lets it go on if the running trial had just finished.
Workers are found through the process group the search runs in (portable: no `/proc`).
"""

from __future__ import annotations

import contextlib
import os
import signal
import sqlite3
import subprocess
import sys
import time
from dataclasses import dataclass
from pathlib import Path

import pytest
from click.testing import CliRunner
from runtime_helpers import tiny_config

from nasc.cli import cli
from nasc.runtime.search import run_search
from nasc.runtime.store import Store

pytestmark = pytest.mark.skipif(not hasattr(signal, "SIGKILL") or not hasattr(os, "killpg"),
                                reason="needs POSIX signals and process groups")

TRIALS, BATCH = 9, 3
COMMAND = [sys.executable, "-m", "nasc", "search", "--strategy", "reinforce", "--trials",
           str(TRIALS), "--controller-batch", str(BATCH), "--epochs", "1", "--max-batches", "2",
           "--max-layers", "2", "--seed", "0",
           "--controller-lr", "6e-4"]  # slow learning: repeats (answered at once) stay rare
INLINE = ["--executor", "inline"]
LOCAL = ["--executor", "local", "--workers", "2"]


@dataclass
class Snapshot:
    """The store as a killed search left it: finished trials (id -> row) and running ids."""

    finished: dict[int, tuple]  # type: ignore[type-arg]
    running: set[int]
    at: float


def _snapshot(path: Path) -> Snapshot | None:
    """The store read-only (None while it or its tables do not exist yet)."""
    if not path.exists():
        return None
    try:
        conn = sqlite3.connect(f"file:{path}?mode=ro", uri=True, timeout=5)
        try:
            rows = conn.execute("SELECT id, status, arch, reward, finished, metrics "
                                "FROM trials").fetchall()
        finally:
            conn.close()
    except sqlite3.OperationalError:  # the schema is not there yet
        return None
    finished = {r[0]: r[2:] for r in rows if r[1] in ("done", "failed")}
    return Snapshot(finished, {r[0] for r in rows if r[1] == "running"}, time.time())


def _group_gone(pgid: int, timeout: float = 15.0) -> bool:
    """True once no process of the group is left (exited workers are reaped by init)."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        try:
            os.killpg(pgid, 0)
        except ProcessLookupError:
            return True
        time.sleep(0.05)
    return False


def _kill_mid_search(args: list[str], path: Path, finished: int) -> Snapshot:
    """Run `args` in its own process group; SIGKILL it once the store shows at least
    `finished` finished trials and one running; the store as the kill left it."""
    proc = subprocess.Popen(args, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE,
                            start_new_session=True)
    pgid = proc.pid
    try:
        while proc.poll() is None:
            seen = _snapshot(path)
            if seen is None or len(seen.finished) < finished or not seen.running:
                time.sleep(0.02)
                continue
            os.killpg(pgid, signal.SIGSTOP)  # freeze the search and its workers
            seen = _snapshot(path)
            if seen is not None and seen.running and len(seen.finished) >= finished:
                proc.kill()  # the search only: its workers must notice and exit
                proc.wait(10)
                with contextlib.suppress(ProcessLookupError):  # inline: nothing left
                    os.killpg(pgid, signal.SIGCONT)  # let the frozen workers run, and exit
                assert _group_gone(pgid), "workers outlived the killed search"
                return seen
            os.killpg(pgid, signal.SIGCONT)
        raise AssertionError(f"the search ended before the kill: {proc.stderr.read()!r}")
    finally:
        if proc.poll() is None:
            os.killpg(pgid, signal.SIGKILL)
            proc.wait(10)
        proc.stderr.close()  # type: ignore[union-attr]


def test_sigkill_mid_search_and_resume_keeps_every_trial_once(tmp_path: Path) -> None:
    """Three kills at different moments (inline, 2 local workers, inline), each with a
    trial running and trials finished before it; then a resume to the end. Guards
    against a resume that re-runs or loses finished trials, leaves `running` ones
    behind, learns a step twice, or a search whose workers outlive it."""
    path = tmp_path / "s.db"
    args = COMMAND + ["--store", str(path)]
    kills: list[Snapshot] = []
    for more, executor in ((1, INLINE), (2, LOCAL), (2, INLINE)):
        before = len(kills[-1].finished) if kills else 0
        resume = ["--resume"] if kills else []
        kills.append(_kill_mid_search(args + executor + resume, path, before + more))
        assert len(kills[-1].finished) >= before + more and kills[-1].running
        assert len(kills[-1].finished) + len(kills[-1].running) < TRIALS  # mid-search
    done = CliRunner().invoke(cli, args[3:] + ["--resume"] + INLINE)  # in-process: faster
    assert done.exit_code == 0, done.output

    store = Store.open(path)
    trials = store.trials()
    assert [t.id for t in trials] == list(range(1, TRIALS + 1))  # no lost or extra rows
    counts = store.counts()
    assert counts["done"] + counts["failed"] == TRIALS, counts
    assert f"{counts['done']} done, {counts['failed']} failed" in done.output
    final = _snapshot(path)
    assert final is not None
    for kill in kills:
        for tid, row in kill.finished.items():  # kept once: never trained again
            assert final.finished[tid] == row, tid
        for tid in kill.running:  # re-run after the kill that caught it running
            assert final.finished[tid][2] > kill.at, tid
    assert max(row[2] for row in final.finished.values()) > kills[-1].at  # finished after

    assert [t.step for t in trials] == [1 + i // BATCH for i in range(TRIALS)]
    assert store.latest_checkpoint().step == TRIALS // BATCH  # every step learned exactly once
    steps = store.controller_steps()
    assert [s["step"] for s in steps] == list(range(1, TRIALS // BATCH + 1))
    for s in steps:  # each update learned from its own step's finished trials
        rewards = [t.reward or 0.0 for t in trials if t.step == s["step"]]
        assert s["reward"] == pytest.approx(sum(rewards) / BATCH, rel=1e-5)
    store.close()

    # the same search, never interrupted: the same architectures in the same steps
    config = tiny_config(tmp_path / "whole.db", "reinforce", trials=TRIALS, batch=BATCH,
                         epochs=1, max_batches=2, max_layers=2)
    run_search(config)
    whole = Store.open(tmp_path / "whole.db").trials()
    assert [(t.arch, t.step) for t in whole] == [(t.arch, t.step) for t in trials]


def test_ctrl_c_stops_cleanly_and_resumes(tmp_path: Path) -> None:
    path = tmp_path / "s.db"
    args = [a if a != "reinforce" else "random" for a in COMMAND]
    args += ["--store", str(path)] + LOCAL
    proc = subprocess.Popen(args, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
                            start_new_session=True)
    while proc.poll() is None:
        seen = _snapshot(path)
        if seen is not None and len(seen.finished) >= 2 and seen.running:
            break
        time.sleep(0.02)
    proc.send_signal(signal.SIGINT)
    out, err = proc.communicate(timeout=30)
    assert proc.returncode == 130, err
    assert "interrupted; continue with the same command and --resume" in err
    assert "Traceback" not in err
    assert _group_gone(proc.pid)
    store = Store.open(path)
    counts = store.counts()
    assert counts["running"] == 0 and counts["pending"] >= 1  # unfinished: pending again
    assert counts["done"] + counts["failed"] < TRIALS  # interrupted mid-search
    store.close()
    done = CliRunner().invoke(cli, args[3:] + ["--resume"] + INLINE)
    assert done.exit_code == 0, done.output
    counts = Store.open(path).counts()
    assert counts["done"] + counts["failed"] == TRIALS and counts["pending"] == 0
