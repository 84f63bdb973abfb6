"""Failure injection: a child that raises, one that returns NaN, one over its time limit,
a worker process killed mid-trial; each is recorded as failed and the search finishes."""

from __future__ import annotations

from dataclasses import replace
from pathlib import Path

from runtime_helpers import tiny_config

from nasc.runtime.search import run_search
from nasc.runtime.store import Store


def test_local_search_survives_every_kind_of_failure(tmp_path: Path) -> None:
    faults = {2: "raise", 3: "nan", 4: "hang", 5: "kill", 6: "slow"}
    config = replace(tiny_config(tmp_path / "s.db", "random", trials=8, time_limit=3.0,
                                 executor="local", workers=2, max_batches=8, max_layers=1),
                     faults=faults)
    config = replace(config, train=replace(config.train, failure_reward=-1.0))
    summary = run_search(config)
    assert summary.counts == {"pending": 0, "running": 0, "done": 3, "failed": 5,
                              "pruned": 0}
    store = Store.open(tmp_path / "s.db")
    trials = {t.id: t for t in store.trials()}
    errors = {i: trials[i].error for i in faults}
    assert "RuntimeError: injected fault" in errors[2]
    assert "loss is not finite" in errors[3]
    assert "over the time limit of 3 s (worker killed)" in errors[4]
    assert "worker process died (exit code -9)" in errors[5]
    assert "over the time limit of 3 s" in errors[6]
    assert all(trials[i].reward == -1.0 and trials[i].status == "failed" for i in faults)
    assert all(trials[i].status == "done" for i in (1, 7, 8))


def test_reinforce_learns_from_failures(tmp_path: Path) -> None:
    """A failed child is a reward like any other: the controller step still completes."""
    config = replace(tiny_config(tmp_path / "s.db", "reinforce", trials=4, batch=2),
                     faults={1: "raise", 2: "nan"})
    summary = run_search(config)
    assert summary.counts["failed"] >= 2 and summary.counts["done"] + summary.counts["failed"] == 4
    store = Store.open(tmp_path / "s.db")
    assert store.latest_checkpoint().step == 2  # both steps learned

