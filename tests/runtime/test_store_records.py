"""What the store writes comes back field by field: trials, results, checkpoints.

Written after mutation testing showed that a result's params, MACs, seconds, worker or
`reused_from` could be dropped on the way into SQLite with every test still green.
"""

from __future__ import annotations

import time
from collections.abc import Iterator
from pathlib import Path

import pytest

from nasc.errors import NascError
from nasc.runtime.store import KEEP_CHECKPOINTS, Checkpoint, Store


@pytest.fixture
def store(tmp_path: Path) -> Iterator[Store]:
    created = Store.create(tmp_path / "s.db", {"space": "cnn"}, "grammar")
    yield created
    created.close()


def test_a_result_round_trips_every_field(store: Store) -> None:
    start = time.time()
    [a, b] = store.add_trials([("conv 3x3 24", "k1", 4, {"origin": "random", "n": [1, 2]}),
                               ("conv 5x5 24", None, 4, {})])
    assert (a, b) == (1, 2)
    store.mark_running(a, "local:123")
    running = store.trial(a)
    assert running.status == "running" and running.worker == "local:123"
    assert running.started is not None and running.started >= start
    result = {"status": "done", "reward": 0.5, "metrics": [{"epoch": 1, "valid_acc": 0.8}],
              "params": 1234, "macs": 56789, "seconds": 1.5, "train_seconds": 1.25,
              "worker": "local:456", "error": None, "reused_from": None}
    assert store.finish(a, result)
    t = store.trial(a)
    assert (t.id, t.arch, t.canon, t.step, t.status) == (a, "conv 3x3 24", "k1", 4, "done")
    assert (t.reward, t.metrics, t.params, t.macs) == (0.5, result["metrics"], 1234, 56789)
    assert (t.seconds, t.train_seconds, t.worker, t.error) == (1.5, 1.25, "local:456", None)
    assert t.proposal == {"origin": "random", "n": [1, 2]}
    assert t.finished is not None and t.finished >= t.started >= t.created >= start
    assert store.trial(b).proposal == {} and store.trial(b).canon is None


def test_a_reused_result_names_its_source_and_keeps_the_worker(store: Store) -> None:
    a, b = store.add_trials([("conv 3x3 24", "k", 1, {}), ("conv 3x3 24 stride 1", "k", 1, {})])
    store.mark_running(b, "inline")
    assert store.finish(b, {"status": "failed", "reward": -1.0, "error": "boom",
                            "reused_from": a})  # no worker, no metrics given
    t = store.trial(b)
    assert (t.reused_from, t.worker, t.error, t.metrics) == (a, "inline", "boom", [])
    assert (t.params, t.macs, t.seconds) == (None, None, None)


def test_finished_trials_are_never_overwritten(store: Store) -> None:
    [a] = store.add_trials([("conv 3x3 24", "k", 1, {})])
    assert store.finish(a, {"status": "done", "reward": 0.25})
    assert not store.finish(a, {"status": "failed", "reward": 0.0, "error": "late"})
    assert (store.trial(a).status, store.trial(a).reward) == ("done", 0.25)
    store.mark_running(a, "w")  # only pending trials start
    assert store.trial(a).status == "done"


def test_trials_come_in_id_order_and_by_status(store: Store) -> None:
    ids = store.add_trials([(f"conv 3x3 {f}", None, 1, {}) for f in (24, 36, 48, 64)])
    store.finish(ids[2], {"status": "done", "reward": 1.0})
    store.finish(ids[0], {"status": "failed", "reward": 0.0, "error": "x"})
    store.mark_running(ids[3], "w")
    assert [t.id for t in store.trials()] == ids
    assert [t.id for t in store.trials("pending")] == [ids[1]]
    assert [t.id for t in store.trials("done")] == [ids[2]]
    assert store.counts() == {"pending": 1, "running": 1, "done": 1, "failed": 1, "pruned": 0}
    assert store.reset_unfinished() == 1
    assert store.counts() == {"pending": 2, "running": 0, "done": 1, "failed": 1, "pruned": 0}
    again = store.trial(ids[3])
    assert (again.status, again.started, again.worker) == ("pending", None, None)
    with pytest.raises(NascError, match=r"s\.db: no trial 99$"):
        store.trial(99)


def test_canon_archs_gives_the_first_architecture_of_each_form(store: Store) -> None:
    store.add_trials([("conv 3x3 24", "k1", 1, {}), ("conv 3x3 24 stride 1", "k1", 1, {}),
                      ("maxpool 3x3", "k2", 1, {}), ("junk", None, 1, {})])
    assert store.canon_archs() == {"k1": "conv 3x3 24", "k2": "maxpool 3x3"}


def test_checkpoints_keep_the_latest_with_their_statistics(store: Store) -> None:
    assert store.latest_checkpoint() is None and store.controller_steps() == []
    for step in range(1, 5):
        store.save_checkpoint(Checkpoint(step, bytes([step]) * 3, {"reward": step / 10}))
    latest = store.latest_checkpoint()
    assert (latest.step, latest.state, latest.stats) == (4, b"\x04\x04\x04", {"reward": 0.4})
    kept = [r[0] for r in store.conn.execute("SELECT step FROM checkpoints ORDER BY step")]
    assert kept == list(range(5 - KEEP_CHECKPOINTS, 5))
    assert store.controller_steps() == [{"step": s, "reward": s / 10} for s in range(1, 5)]
    store.save_checkpoint(Checkpoint(4, b"new", {"reward": 1.0}))  # the same step again
    assert store.latest_checkpoint().state == b"new"
    assert store.controller_steps()[-1] == {"step": 4, "reward": 1.0}
