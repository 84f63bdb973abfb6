"""Resuming a store that a killed search left behind: trials it left `running` run again."""

from __future__ import annotations

import sqlite3
from dataclasses import replace
from pathlib import Path

import torch
from runtime_helpers import tiny_config

from nasc.runtime.search import run_search
from nasc.runtime.store import Store


def _leave_running(path: Path, trial_id: int) -> None:
    """Put the store in the state a SIGKILL leaves: the trial started, no result written."""
    with sqlite3.connect(path) as conn:
        conn.execute("UPDATE trials SET status='running', reward=NULL, metrics='[]', "
                     "params=NULL, macs=NULL, seconds=NULL, finished=NULL, worker='inline' "
                     "WHERE id=?", (trial_id,))
    conn.close()


def test_resume_reruns_the_trials_a_killed_search_left_running(tmp_path: Path) -> None:
    """Guards against a resume that does not reset `running` trials: they would stay
    running forever, never trained, and the search would end short of its trials."""
    torch.set_num_threads(1)
    config = tiny_config(tmp_path / "s.db", "random", trials=4)
    run_search(config)
    before = {t.id: t for t in Store.open(config.store).trials()}
    _leave_running(Path(config.store), 3)
    assert Store.open(config.store).counts()["running"] == 1

    summary = run_search(replace(config, trials=4), resume=True)
    after = {t.id: t for t in Store.open(config.store).trials()}
    assert summary.counts["running"] == 0 and summary.counts["pending"] == 0
    assert summary.trained + summary.reused == 1  # trial 3, and nothing else, ran again
    assert after[3].status in ("done", "failed") and after[3].reward is not None
    assert after[3].finished is not None and after[3].finished > before[4].finished
    assert after[3].arch == before[3].arch
    for i in (1, 2, 4):  # finished trials kept as they were
        assert (after[i].reward, after[i].finished) == (before[i].reward, before[i].finished)
