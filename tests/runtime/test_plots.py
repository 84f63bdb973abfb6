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
    assert height == int(6.5 * 120)
