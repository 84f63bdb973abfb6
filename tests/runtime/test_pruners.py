"""Pruning children early (`nasc.runtime.pruners`): the median rule and successive halving on
hand-checked cases, a user evaluator stopped at the epoch it fell behind, a built-in child
stopped by its bars, the store's 'pruned' status, and bad pruner options."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
import torch
from click.testing import CliRunner

import nasc
from nasc.cli import cli
from nasc.errors import NascError
from nasc.runtime.child import TrainConfig, TrialSpec, run_trial
from nasc.runtime.pruners import (
    EpochLog,
    PruneBars,
    PruneBook,
    PrunerConfig,
    TrialPruned,
    parse_metric,
)
from nasc.runtime.store import Store, Trial

REPORTED: list[tuple[int, int]] = []  # (trial id, epoch) of every report that returned


def epochs(values: list[float], name: str = "valid_acc") -> list[dict[str, Any]]:
    return [{"epoch": i, name: v} for i, v in enumerate(values, 1)]


def done(trial_id: int, values: list[float], status: str = "done") -> Trial:
    return Trial(trial_id, "conv 3x3 24", 1, status=status, metrics=epochs(values))


def test_median_rule_on_a_hand_checked_case() -> None:
    book = PruneBook(PrunerConfig("median", "valid_acc", startup=5), epochs=3)
    for i, v in enumerate([0.5, 0.6, 0.7, 0.8, 0.9], 1):
        book.add(done(i, [v - 0.3, v]))  # epoch 1: 0.2 .. 0.6, epoch 2: 0.5 .. 0.9
    book.add(done(9, [0.0, 0.0], status="failed"))  # failed trials are not counted
    bars = book.bars()
    assert bars.bars == ((1, pytest.approx(0.4), 5), (2, pytest.approx(0.7), 5))
    assert bars.check(epochs([0.4])) is None  # equal to the median: goes on
    reason = bars.check(epochs([0.45, 0.65]))  # best so far 0.65 < 0.7
    assert reason is not None and reason.startswith("pruned at epoch 2 (median): valid_acc 0.65")
    assert "the median 0.7 of 5 completed trials" in reason
    assert bars.check(epochs([0.75, 0.6])) is None  # its best so far (0.75) counts
    assert bars.check(epochs([0.5, 0.7, 0.1])) is None  # no trial reached epoch 3 yet


def test_median_waits_for_startup_trials_and_warmup() -> None:
    book = PruneBook(PrunerConfig("median", "valid_acc", warmup=2, startup=3), epochs=2)
    for i in range(2):
        book.add(done(i + 1, [0.9, 0.9]))
    assert book.bars().bars == ()  # two completed trials, three needed
    book.add(done(3, [0.9, 0.9]))
    book.add(done(4, [0.1, 0.95], status="pruned"))  # pruned trials are not the median's
    assert book.bars().bars == ((2, 0.9, 3),)  # epoch 1 is warm-up


def test_minimised_metric() -> None:
    book = PruneBook(PrunerConfig("median", "valid_ppl", maximise=False, startup=1), epochs=1)
    book.add(Trial(1, "a", 1, status="done", metrics=epochs([100.0], "valid_ppl")))
    bars = book.bars()
    assert bars.check(epochs([90.0], "valid_ppl")) is None
    assert "valid_ppl 120" in str(bars.check(epochs([120.0], "valid_ppl")))


def test_successive_halving_on_a_hand_checked_case() -> None:
    """eta 3, rungs 1, 3, 9; 8 others at rung 1 (0.1 .. 0.8): with itself 9 values, the best
    9 // 3 = 3 go on, so the bar is the third best of the others, 0.6 (Optuna's ASHA rule)."""
    book = PruneBook(PrunerConfig("halving", "valid_acc", eta=3), epochs=9)
    assert book.rungs() == [1, 3, 9]
    for i in range(1, 9):
        book.add(done(i, [i / 10], status="pruned" if i < 5 else "done"))
    bars = book.bars()
    assert bars.bars == ((1, 0.6, 8),)
    assert bars.check(epochs([0.65])) is None
    assert bars.check(epochs([0.6])) is None
    assert "worse than the best 1/3 (0.6 or better) of 9 trials" in str(bars.check(epochs([0.55])))
    assert bars.check(epochs([0.55, 0.1])) is None  # epoch 2 is no rung: not checked
    first = PruneBook(PrunerConfig("halving", "valid_acc", eta=3), epochs=9)
    first.add(done(1, [0.5]))  # two values: fewer than eta, only the better one goes on
    assert first.bars().bars == ((1, 0.5, 1),)
    assert first.bars().check(epochs([0.4])) is not None


def test_epoch_log_raises_when_below_the_bar() -> None:
    log = EpochLog(PruneBars(PrunerConfig("median", "valid_acc"), ((1, 0.5, 5),)))
    with pytest.raises(TrialPruned):
        log.append({"epoch": 1, "valid_acc": 0.4})
    assert list(log) == [{"epoch": 1, "valid_acc": 0.4}]  # the epoch it reached is kept
    with pytest.raises(NascError, match="watches 'valid_acc', which epoch 1 does not report"):
        EpochLog(PruneBars(PrunerConfig("median", "valid_acc"))).append({"epoch": 1, "loss": 1})


def by_trial(model: torch.nn.Module, trial: Any) -> dict[str, float]:
    """Trials 1-3 reach 0.9, later ones 0.2; 4 epochs, reporting each."""
    accuracy = 0.9 if trial.id <= 3 else 0.2
    for epoch in range(1, trial.epochs + 1):
        trial.report(epoch, accuracy=accuracy)
        REPORTED.append((trial.id, epoch))
    return {"accuracy": accuracy}


def test_a_user_evaluator_is_stopped_at_the_epoch_it_falls_behind(tmp_path: Path) -> None:
    REPORTED.clear()
    study = nasc.search("cnn", evaluate=by_trial, strategy="random", trials=5, epochs=4,
                        pruner="median", prune_startup=3, max_layers=2,
                        store=tmp_path / "s.db")
    first, late = study.trials[:3], [t for t in study.trials[3:] if t.reused_from is None]
    assert [t.status for t in first] == ["done"] * 3 and late, [t.error for t in first]
    for t in late:
        assert t.status == "pruned", t.error
        assert [h["epoch"] for h in t.history] == [1]  # stopped after its first report
        assert (t.id, 1) not in REPORTED  # report raised: the evaluator went no further
        assert t.reward == 0.2 and t.metrics["accuracy"] == 0.2
        assert t.error is not None and "median 0.9 of 3 completed trials" in t.error
    assert [e for i, e in REPORTED if i <= 3] == [1, 2, 3, 4] * 3
    assert study.best_trial.status == "done"


def test_pruning_is_off_by_default(tmp_path: Path) -> None:
    study = nasc.search("cnn", evaluate=by_trial, strategy="random", trials=5, epochs=2,
                        prune_startup=1, max_layers=2, store=tmp_path / "s.db")
    assert {t.status for t in study.trials} == {"done"}


def test_a_built_in_child_is_pruned_with_its_partial_reward() -> None:
    torch.set_num_threads(1)
    config = TrainConfig(epochs=3, max_batches=2, pruner="median")
    bars = PruneBars(PrunerConfig("median", "valid_acc"), ((2, 1.01, 5),))  # out of reach
    result = run_trial(TrialSpec(1, "conv 3x3 24", "cnn", "digits", config, prune=bars))
    assert result["status"] == "pruned", result.get("error")
    assert [m["epoch"] for m in result["metrics"]] == [1, 2]  # epoch 3 never ran
    accuracy = max(m["valid_acc"] for m in result["metrics"])
    assert result["summary"]["accuracy"] == accuracy
    assert result["reward"] == pytest.approx(accuracy ** 3)
    assert type(result["metrics"]) is list  # crosses processes as a plain list


def test_the_store_records_pruned_trials(tmp_path: Path) -> None:
    store = Store.create(tmp_path / "s.db", {}, "g")
    (trial_id,) = store.add_trials([("conv 3x3 24", "k", 1, {})])
    assert store.finish(trial_id, {"status": "pruned", "reward": 0.1, "metrics": epochs([0.4])})
    assert not store.finish(trial_id, {"status": "done", "reward": 1.0})  # finished already
    assert store.trial(trial_id).status == "pruned"
    assert store.counts()["pruned"] == 1
    assert store.finished_with_canon("k") is None  # a pruned result is not reused
    store.close()


def test_parse_metric() -> None:
    assert parse_metric("valid_ppl") == ("valid_ppl", False)
    assert parse_metric("f1:max") == ("f1", True)
    with pytest.raises(NascError, match="say whether it is maximised or minimised"):
        parse_metric("f1")


@pytest.mark.parametrize("args, message", [
    (["--pruner", "median", "--prune-metric", "f1"], "nasc: error: --prune-metric 'f1': say"),
    (["--pruner", "median", "--prune-metric", "1x:max"], "nasc: error: --prune-metric '1x:max'"),
    (["--pruner", "median", "--data", "nb201:/nonexistent"], "nasc: error: "),
    (["--pruner", "bogus"], "Error: Invalid value for '--pruner'"),
    (["--pruner", "halving", "--prune-eta", "1"], "Error: Invalid value for '--prune-eta'"),
])
def test_bad_pruner_options_are_one_line(tmp_path: Path, args: list[str], message: str) -> None:
    store = tmp_path / "s.db"
    result = CliRunner().invoke(cli, ["search", "--store", str(store), "--trials", "1",
                                      "--executor", "inline", *args])
    assert result.exit_code in (1, 2), result.output
    assert "Traceback" not in result.output
    assert result.output.strip().splitlines()[-1].startswith(message), result.output
    assert not store.exists()


def test_pruner_on_nb201_data_is_refused() -> None:
    from nasc.runtime.config import make_config

    with pytest.raises(NascError, match="--pruner stops trained children early"):
        make_config("s.db", "cnn", "nb201:x", pruner="median")


def test_a_store_from_before_pruning_migrates_and_takes_pruned_trials(tmp_path: Path) -> None:
    from test_store_migrations import old_store

    path = old_store(tmp_path / "old.db")
    store = Store.open(path)
    assert [t.status for t in store.trials()] == ["done", "failed"]  # kept through the copy
    assert store.trials()[0].metrics == [{"epoch": 1, "accuracy": 0.79}]
    (trial_id,) = store.add_trials([("conv 3x3 36", "k3", 2, {})])
    assert store.finish(trial_id, {"status": "pruned", "reward": 0.2})
    assert store.counts() == {"pending": 0, "running": 0, "done": 1, "failed": 1, "pruned": 1}
    store.close()


def test_pruning_on_local_workers(tmp_path: Path) -> None:
    """The bars travel to a worker process with the trial; the result comes back pruned."""
    study = nasc.search("cnn", evaluate=by_trial, strategy="random", trials=5, epochs=3,
                        pruner="halving", prune_eta=2, max_layers=2, executor="local",
                        workers=1, store=tmp_path / "s.db")
    statuses = {t.id: t.status for t in study.trials if t.reused_from is None}
    assert [statuses[i] for i in (1, 2, 3)] == ["done"] * 3, [t.error for t in study.trials]
    late = [t for t in study.trials[3:] if t.reused_from is None]
    assert late and all(t.status == "pruned" and len(t.history) == 1 for t in late)
