"""The Python search API (`nasc.search`, `nasc.load_study`, `Study`) with user evaluators and
user data, inline and on local workers, on scikit-learn's digits."""

from __future__ import annotations

import math
import sqlite3
from pathlib import Path

import pytest
import study_helpers
import torch

import nasc
from nasc.errors import NascError

TINY = {"max_layers": 2, "epochs": 1, "population": 2, "tournament": 2}


@pytest.fixture(autouse=True)
def one_thread() -> None:
    torch.set_num_threads(1)


def test_user_evaluator_and_data_inline(tmp_path: Path) -> None:
    """A user's training loop on a user's data: metrics per epoch and final, in the store."""
    study = nasc.search("cnn", evaluate=study_helpers.train_eval, data=study_helpers.small_digits,
                        strategy="random", trials=3, objective="accuracy", epochs=2,
                        store=tmp_path / "s.db", max_layers=2)
    assert [t.id for t in study.trials] == [1, 2, 3]
    for t in study.trials:
        assert t.status == "done", t.error
        assert set(t.metrics) >= {"accuracy", "loss", "params", "macs", "seconds"}
        assert t.reward == t.metrics["accuracy"]
        assert [h["epoch"] for h in t.history] == [1, 2]
        assert t.history[-1]["accuracy"] == t.metrics["accuracy"]
        assert t.params == t.metrics["params"] > 0
    assert study.best_trial.reward == max(t.reward or 0.0 for t in study.trials)
    assert study.config.data == "study_helpers:small_digits"
    again = nasc.load_study(tmp_path / "s.db")
    assert again.trials == study.trials and again.best_trial == study.best_trial


def test_local_workers_run_the_same_user_functions(tmp_path: Path) -> None:
    """The evaluator and the data travel to worker processes by reference: same trials as
    inline (random strategy, same seed)."""
    kwargs = dict(evaluate=study_helpers.train_eval, data="study_helpers:small_digits",
                  strategy="random", trials=3, objective="accuracy", **TINY)
    inline = nasc.search(store=tmp_path / "a.db", **kwargs)
    local = nasc.search(store=tmp_path / "b.db", executor="local", workers=2, **kwargs)
    assert [t.arch for t in local.trials] == [t.arch for t in inline.trials]
    for a, b in zip(inline.trials, local.trials, strict=True):
        assert b.status == "done" and b.metrics["accuracy"] == pytest.approx(a.metrics["accuracy"])


def test_a_float_evaluator_is_the_reward_and_the_temporary_store_goes(tmp_path: Path) -> None:
    study = nasc.search("cnn", evaluate=study_helpers.params_only, strategy="random", trials=3,
                        max_layers=2)
    folder = study.path.parent
    assert folder.is_dir() and study.path.name == "study.db"
    for t in study.trials:
        assert t.metrics["value"] == t.reward == pytest.approx(-math.log(t.params))
    del study
    import gc

    gc.collect()
    assert not folder.exists()


def test_a_lambda_runs_inline_and_is_refused_for_workers(tmp_path: Path) -> None:
    study = nasc.search("cnn", evaluate=lambda model, trial: float(trial.id), trials=2,
                        strategy="random", max_layers=2, store=tmp_path / "s.db")
    assert [t.reward for t in study.trials] == [1.0, 2.0]
    with pytest.raises(NascError, match="cannot reach worker processes .* define it at the top "
                                        "level of a module, or use executor='inline'"):
        nasc.search("cnn", evaluate=lambda model, trial: 1.0, executor="local",
                    store=tmp_path / "t.db")
    assert not (tmp_path / "t.db").exists()


@pytest.mark.parametrize(("evaluate", "error"), [
    (study_helpers.raises, "ValueError: user bug in trial 1 (study_helpers.py:"),
    (study_helpers.returns_nan, "the evaluator returned value = nan"),
    (study_helpers.two_metrics, "the evaluator returned 2 metrics (a, b): name the reward with "
                                "--objective (objective=)"),
])
def test_a_failing_evaluator_is_a_failed_trial(tmp_path: Path, evaluate: object,
                                               error: str) -> None:
    study = nasc.search("cnn", evaluate=evaluate, trials=1, strategy="random", max_layers=2,
                        failure_reward=-1.0, store=tmp_path / "s.db")
    (trial,) = study.trials
    assert trial.status == "failed" and trial.reward == -1.0
    assert trial.error is not None and trial.error.startswith(error), trial.error


def test_a_hanging_evaluator_is_killed_at_the_time_limit(tmp_path: Path) -> None:
    study = nasc.search("cnn", evaluate="study_helpers:sleeps", trials=1, strategy="random",
                        executor="local", max_layers=2, time_limit=0.5, store=tmp_path / "s.db")
    (trial,) = study.trials
    assert trial.status == "failed"
    assert trial.error == "over the time limit of 0.5 s (worker killed)"


def test_objectives_give_a_pareto_front(tmp_path: Path) -> None:
    study = nasc.search("cnn", strategy="evolution", trials=6, objectives="accuracy:max,params:min",
                        max_batches=2, store=tmp_path / "s.db", **TINY)
    done = [t for t in study.trials if t.status == "done"]
    front = study.pareto_front()
    assert front and {t.id for t in front} <= {t.id for t in done}
    for t in done:  # every trial off the front is dominated by one on it, and none on it is
        dominated = [f for f in front if f.metrics["accuracy"] >= t.metrics["accuracy"]
                     and f.metrics["params"] <= t.metrics["params"]
                     and (f.metrics["accuracy"], f.metrics["params"])
                     != (t.metrics["accuracy"], t.metrics["params"])]
        assert bool(dominated) == (t not in front)
    for t in done:  # the reward is the scalarised objective
        expected = (math.log(t.metrics["accuracy"]) - math.log(t.metrics["params"])) / 2
        assert t.reward == pytest.approx(expected)


def test_trials_dataframe(tmp_path: Path) -> None:
    pytest.importorskip("pandas")
    study = nasc.search("cnn", strategy="random", trials=2, max_batches=2, store=tmp_path / "s.db",
                        **TINY)
    frame = study.trials_dataframe()
    assert list(frame["id"]) == [1, 2] and "metrics_accuracy" in frame.columns


def test_resume_through_the_api_keeps_the_stored_options(tmp_path: Path) -> None:
    path = tmp_path / "s.db"
    nasc.search("cnn", strategy="random", trials=2, max_batches=2, store=path, **TINY)
    study = nasc.search(trials=3, store=path, resume=True)
    assert len(study.trials) == 3 and study.config.strategy.name == "random"
    assert study.config.train.max_batches == 2
    with pytest.raises(NascError, match=r"created with --strategy random, not evolution"):
        nasc.search(strategy="evolution", trials=4, store=path, resume=True)


@pytest.mark.parametrize(("kwargs", "error"), [
    ({"bogus": 1}, "unknown search option 'bogus' (options: "),
    ({"objective": "accuracy ^ 2"}, "objective:1:10: error: '^' is not a power: write **"),
    ({"objectives": "accuracy:max"}, "objectives 'accuracy:max': give two or more"),
    ({"objective": "accuracy", "objectives": "accuracy:max,params:min"},
     "give --objective (one reward) or --objectives (a Pareto front), not both"),
    ({"evaluate": "no_such_module:f"}, "evaluate no_such_module:f: cannot import module"),
    ({"evaluate": "study_helpers:nothing"}, "evaluate study_helpers:nothing: module "
                                           "'study_helpers' has no 'nothing'"),
    ({"evaluate": 3}, "evaluate must be a function or 'module:function', got int"),
    ({"data": "study_helpers:not_data"}, "--data study_helpers:not_data must return"),
    ({"data": "study_helpers:flat_images"}, "--data study_helpers:flat_images: train must be "
                                            "images (N, C, H, W) and N labels, got (300, 64)"),
    ({"data": "study_helpers:too_few_classes"}, "--data study_helpers:too_few_classes train: "
                                                "labels must be 0-4, found 0..9"),
    ({"data": "study_helpers:raises"}, "--data study_helpers:raises: the function raised "
                                       "TypeError: raises() missing 2 required"),
])
def test_bad_arguments_are_one_line_and_leave_no_store(tmp_path: Path, kwargs: dict,
                                                       error: str) -> None:
    path = tmp_path / "s.db"
    with pytest.raises(NascError) as info:
        nasc.search("cnn", trials=1, store=path, **kwargs)
    assert str(info.value).startswith(error), str(info.value)
    assert not path.exists()


def test_load_study_of_a_missing_or_foreign_file(tmp_path: Path) -> None:
    with pytest.raises(NascError, match="does not exist"):
        nasc.load_study(tmp_path / "none.db")
    sqlite3.connect(tmp_path / "other.db").execute("CREATE TABLE t (x)").connection.close()
    with pytest.raises(NascError, match="not a nasc store"):
        nasc.load_study(tmp_path / "other.db")
