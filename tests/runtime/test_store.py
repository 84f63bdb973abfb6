"""The SQLite store and canonical forms."""

from __future__ import annotations

import sqlite3
from pathlib import Path

import pytest

from nasc.errors import NascError
from nasc.runtime.canonical import Canonicalizer, canonical_graph, isomorphic, wl_hash
from nasc.runtime.store import Checkpoint, Store

OPTIONS = {"input_shape": (1, 8, 8), "num_classes": 10}


def test_create_refuses_existing_store(tmp_path: Path) -> None:
    path = tmp_path / "s.db"
    Store.create(path, {"a": 1}, "grammar text").close()
    with pytest.raises(NascError, match="already exists: pass --resume"):
        Store.create(path, {"a": 2}, "other")
    store = Store.open(path)
    assert store.experiment()["config"] == {"a": 1}
    assert store.experiment()["grammar"] == "grammar text"
    assert store.conn.execute("PRAGMA journal_mode").fetchone()[0] == "wal"


def test_open_rejects_missing_and_foreign_files(tmp_path: Path) -> None:
    with pytest.raises(NascError, match="does not exist"):
        Store.open(tmp_path / "nope.db")
    (tmp_path / "junk.db").write_text("not a database at all" * 100)
    with pytest.raises(NascError, match="is not a nasc store"):
        Store.open(tmp_path / "junk.db")


def test_trial_lifecycle_and_exactly_once(tmp_path: Path) -> None:
    store = Store.create(tmp_path / "s.db", {}, "")
    a, b = store.add_trials([("conv 3x3 24", "k1", 1, {"x": 1}), ("conv 1x1 24", "k2", 1, {})])
    store.mark_running(a, "w1")
    store.mark_running(b, "w2")
    assert store.finish(a, {"status": "done", "reward": 0.5, "metrics": [{"epoch": 1}],
                            "params": 10, "macs": 20, "seconds": 1.0})
    assert not store.finish(a, {"status": "failed", "reward": 0.0})  # never twice
    assert store.trial(a).reward == 0.5 and store.trial(a).metrics == [{"epoch": 1}]
    assert store.trial(a).proposal == {"x": 1}
    assert store.reset_unfinished() == 1
    assert store.trial(b).status == "pending" and store.trial(b).worker is None
    assert store.counts() == {"pending": 1, "running": 0, "done": 1, "failed": 0, "pruned": 0}
    assert store.finished_with_canon("k1").id == a
    assert store.finished_with_canon("k2") is None
    for step, state in enumerate((b"one", b"two", b"three"), 1):
        store.save_checkpoint(Checkpoint(step, state, {"loss": -step}))
    latest = store.latest_checkpoint()
    assert (latest.step, latest.state, latest.stats) == (3, b"three", {"loss": -3})
    kept = [s for (s,) in store.conn.execute("SELECT step FROM checkpoints")]
    assert kept == [2, 3]  # KEEP_CHECKPOINTS: older states are dropped ...
    assert store.controller_steps() == [{"step": s, "loss": -s} for s in (1, 2, 3)]  # ... stats kept


def test_a_transaction_left_open_by_ctrl_c_is_undone_not_fatal(tmp_path: Path) -> None:
    """Ctrl-C between BEGIN and the block left a transaction open; the search's cleanup
    then failed with 'cannot start a transaction within a transaction' (exit 1, not 130)."""
    store = Store.create(tmp_path / "s.db", {}, "")
    (a,) = store.add_trials([("conv 3x3 24", "k1", 1, {})])
    store.mark_running(a, "w1")
    store.conn.execute("BEGIN IMMEDIATE")  # as an interrupted `transaction` leaves it
    store.conn.execute("UPDATE trials SET worker = 'half-written' WHERE id = ?", (a,))
    assert store.reset_unfinished() == 1  # rolls the open one back, then runs its own
    assert store.trial(a).status == "pending" and store.trial(a).worker is None
    assert not store.conn.in_transaction


def test_store_is_durable_across_connections(tmp_path: Path) -> None:
    store = Store.create(tmp_path / "s.db", {}, "")
    (tid,) = store.add_trials([("conv 3x3 24", None, 0, {})])
    store.finish(tid, {"status": "done", "reward": 1.0})
    other = sqlite3.connect(tmp_path / "s.db")  # a reader sees committed rows at once
    assert other.execute("SELECT status, reward FROM trials").fetchall() == [("done", 1.0)]


def test_commutative_operands_give_one_form() -> None:
    canon = Canonicalizer("cnn", OPTIONS)
    a = canon.key("conv 3x3 24; conv 3x3 36 from 1; maxpool 3x3 stride 2 from 1,2")
    b = canon.key("conv 3x3 24\nconv 3x3 36 from 1\nmaxpool 3x3 stride 2 from 2,1  # same")
    c = canon.key("conv 3x3 24; conv 3x3 36; maxpool 3x3 stride 2 from 1,2")
    assert a == b != c


def test_rnn_sibling_swap_is_the_same_cell() -> None:
    canon = Canonicalizer("rnn", {})
    a = canon.key("rnn base 2; 0: add tanh; 1: mul relu; 2: mul sigmoid; inject 0: add relu; cell 1")
    b = canon.key("rnn base 2; 0: mul relu; 1: add tanh; 2: mul sigmoid; inject 1: add relu; cell 0")
    c = canon.key("rnn base 2; 0: mul relu; 1: add tanh; 2: mul sigmoid; inject 0: add relu; cell 0")
    assert a == b != c


def test_hash_collision_is_settled_by_isomorphism() -> None:
    x, y = "conv 3x3 24", "conv 5x5 24"
    gx, gy = canonical_graph(x, "cnn", OPTIONS), canonical_graph(y, "cnn", OPTIONS)
    assert not isomorphic(gx, gy)
    # a store whose key for hash(x) holds a different architecture: a collision
    canon = Canonicalizer("cnn", OPTIONS, known={wl_hash(gx): y})
    assert canon.key(x) == wl_hash(gx) + "-1"
    assert canon.key(x) == wl_hash(gx) + "-1" and canon.collisions == 2
    assert canon.key(y) == wl_hash(gy)


def test_invalid_text_gets_a_text_key() -> None:
    canon = Canonicalizer("cnn", OPTIONS)
    assert canon.key("conv 3x3 24 from 5").startswith("text:")


def test_only_lasting_results_are_reused(tmp_path: Path) -> None:
    store = Store.create(tmp_path / "s.db", {}, "")
    a, b, c = store.add_trials([("x", "k", 0, {}), ("x", "k", 0, {}), ("y", "j", 0, {})])
    store.finish(a, {"status": "failed", "reward": 0.0, "error": "worker process died (exit code -9)"})
    assert store.finished_with_canon("k") is None  # a dead worker says nothing of the net
    store.finish(b, {"status": "failed", "reward": 0.0, "error": "network has 9 parameters, over"})
    assert store.finished_with_canon("k").id == b
    store.finish(c, {"status": "failed", "reward": 0.0, "error": "over the time limit of 1 s"})
    assert store.finished_with_canon("j") is None
