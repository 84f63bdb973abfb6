"""`nasc report --plot`: what is drawn per store (`series`) on a hand-made store, and that the
figure renders, with the controller panel."""

from __future__ import annotations

from pathlib import Path

import pytest
from click.testing import CliRunner

from nasc.cli import cli
from nasc.runtime.plots import series
from nasc.runtime.store import Checkpoint, Store


@pytest.fixture
def store_path(tmp_path: Path) -> Path:
    """Six trials: done (accuracy 0.5, 0.8, 0.7, 0.9), one failed, one pruned at 0.3."""
    path = tmp_path / "s.db"
    store = Store.create(path, {"strategy": {"name": "reinforce"}, "data": "digits",
                                "space": "cnn"}, "g")
    ids = store.add_trials([(f"conv 3x3 {i}", f"k{i}", 1, {}) for i in range(6)])
    results = [("done", 0.5), ("done", 0.8), ("failed", None), ("pruned", 0.3), ("done", 0.7),
               ("done", 0.9)]
    for trial_id, (status, acc) in zip(ids, results, strict=True):
        summary = {"accuracy": acc} if acc is not None else {}
        store.finish(trial_id, {"status": status, "reward": (acc or 0.0) ** 3,
                                "summary": summary, "error": "x" if acc is None else None})
    for step, (entropy, baseline) in enumerate([(9.0, 0.1), (8.0, 0.2)], 1):
        store.save_checkpoint(Checkpoint(step, b"state", {"entropy": entropy,
                                                           "baseline": baseline}))
    store.close()
    return path


def test_series_marks_failures_and_pruned_trials(store_path: Path) -> None:
    store = Store.open(store_path, readonly=True)
    s = series(store)
    assert s.kind == "acc"  # accuracy on the axis, not the cubed reward
    assert (s.ids, s.values) == ([1, 2, 5, 6], [0.5, 0.8, 0.7, 0.9])  # by trial id
    assert s.failed == [3] and s.pruned == [(4, 0.3)]
    assert s.best() == [0.5, 0.8, 0.8, 0.9]
    assert s.mean(3) == ([5, 6], [pytest.approx(2.0 / 3), pytest.approx(0.8)])
    assert s.mean(5) == ([], [])  # fewer trials than the window: no running mean
    assert [r["entropy"] for r in s.steps] == [9.0, 8.0]
    assert series(store, "reward").values == pytest.approx([0.125, 0.512, 0.343, 0.729])
    store.close()


def test_the_plot_renders(store_path: Path, tmp_path: Path) -> None:
    pytest.importorskip("matplotlib")
    out = tmp_path / "plot.png"
    result = CliRunner().invoke(cli, ["report", str(store_path), "--plot", str(out)])
    assert result.exit_code == 0, result.output
    data = out.read_bytes()
    assert data[:8] == b"\x89PNG\r\n\x1a\n"
    height = int.from_bytes(data[20:24], "big")  # IHDR: two panels make a taller figure
    assert height == int(1.7 * (3 + 1.4) * 120)


def test_a_multi_objective_search_plots_its_front(tmp_path: Path) -> None:
    """Points on accuracy (max) and params (min): (0.9, 500) and (0.7, 100) form the front,
    (0.6, 300) is dominated by the second."""
    pytest.importorskip("matplotlib")
    from nasc.runtime.plots import front_of

    path = tmp_path / "front.db"
    store = Store.create(path, {"strategy": {"name": "random",
                                             "objectives": "accuracy:max,params:min"}}, "g")
    ids = store.add_trials([(f"a{i}", f"k{i}", 1, {}) for i in range(4)])
    for trial_id, (acc, params) in zip(ids, [(0.9, 500), (0.6, 300), (0.7, 100), (None, 50)],
                                       strict=True):
        summary = {} if acc is None else {"accuracy": acc, "params": params}
        store.finish(trial_id, {"status": "done" if acc else "failed", "reward": 0.0,
                                "summary": summary})
    front = front_of(store)
    assert front is not None
    assert front.axes == [("accuracy", "max"), ("params", "min")]
    assert front.points == {1: (0.9, 500.0), 2: (0.6, 300.0), 3: (0.7, 100.0)}
    assert front.front == [3, 1]  # by accuracy
    store.close()
    out = tmp_path / "front.png"
    result = CliRunner().invoke(cli, ["report", str(path), "--plot", str(out)])
    assert result.exit_code == 0, result.output
    assert int.from_bytes(out.read_bytes()[20:24], "big") == int(1.7 * (3 + 2.4) * 120)
