"""`nasc search --objective/--objectives/--evaluate/--data module:function`, `--resume` with
the store's options, and `nasc report` on a Pareto front, through click's CliRunner."""

from __future__ import annotations

import json
import math
from pathlib import Path

import pytest
import torch
from click.testing import CliRunner

from nasc.cli import cli
from nasc.runtime.store import Store

TINY = ["--trials", "4", "--epochs", "1", "--max-batches", "2", "--max-layers", "2",
        "--executor", "inline"]


@pytest.fixture(autouse=True)
def one_thread() -> None:
    torch.set_num_threads(1)


def run(*args: str) -> object:
    return CliRunner().invoke(cli, list(args))


def test_objective_expression_is_the_reward(tmp_path: Path) -> None:
    path = tmp_path / "s.db"
    result = run("search", "--store", str(path), *TINY, "--strategy", "random",
                 "--objective", "accuracy * (latency / 0.01) ** -0.07 - 1e-7 * macs")
    assert result.exit_code == 0, result.output
    store = Store.open(path, readonly=True)
    for t in store.trials():
        m = t.summary
        assert m["latency"] > 0 and set(m) >= {"accuracy", "params", "macs", "seconds"}
        expected = m["accuracy"] * (m["latency"] / 0.01) ** -0.07 - 1e-7 * m["macs"]
        assert t.reward == pytest.approx(expected)
    store.close()


def test_without_latency_in_the_objective_none_is_measured(tmp_path: Path) -> None:
    path = tmp_path / "s.db"
    result = run("search", "--store", str(path), *TINY, "--strategy", "random",
                 "--trials", "2")
    assert result.exit_code == 0, result.output
    store = Store.open(path, readonly=True)
    for t in store.trials():
        assert "latency" not in t.summary and t.reward == pytest.approx(t.summary["accuracy"] ** 3)
    store.close()


def test_objectives_pareto_front_in_report(tmp_path: Path) -> None:
    path = tmp_path / "s.db"
    result = run("search", "--store", str(path), *TINY, "--trials", "6", "--strategy",
                 "evolution", "--population", "2", "--tournament", "2",
                 "--objectives", "accuracy:max,params:min")
    assert result.exit_code == 0, result.output
    assert "evolution selects parents by NSGA-II" in result.output
    doc = json.loads(run("report", str(path), "--json").output)
    done = [t for t in doc["trials"] if t["status"] == "done"]
    points = {t["id"]: (t["summary"]["accuracy"], t["summary"]["params"]) for t in done}

    def dominated(i: int) -> bool:
        a, p = points[i]
        return any(b >= a and q <= p and (b, q) != (a, p) for b, q in points.values())

    assert doc["pareto"] == sorted(i for i in points if not dominated(i)) != []
    assert f"trials {', '.join(map(str, doc['pareto']))}" in result.output
    table = run("report", str(path)).output
    assert f"Pareto front (accuracy:max,params:min): {len(doc['pareto'])} trials" in table
    rows = [line.split() for line in table.splitlines() if line.strip()[:1].isdigit()]
    marked = {int(r[1].lstrip("*")) for r in rows if r[1].startswith("*")}
    assert marked == {int(r[1].lstrip("*")) for r in rows} & set(doc["pareto"])


def test_reinforce_says_which_scalarised_reward_it_learns_from(tmp_path: Path) -> None:
    path = tmp_path / "s.db"
    result = run("search", "--store", str(path), *TINY, "--trials", "2", "--controller-batch", "2",
                 "--objectives", "accuracy:max,params:min")
    assert result.exit_code == 0, result.output
    assert ("nasc: note: reinforce learns from one reward: the scalarised objective "
            "(log(max(accuracy, 1e-09)) - log(max(params, 1e-09))) / 2") in result.output
    for t in Store.open(path, readonly=True).trials():
        m = t.summary
        assert t.reward == pytest.approx((math.log(m["accuracy"]) - math.log(m["params"])) / 2)
    assert json.loads(run("report", str(path), "--json").output)["pareto"] != []


def test_evaluator_and_data_from_the_command_line(tmp_path: Path) -> None:
    path = tmp_path / "s.db"
    result = run("search", "--store", str(path), *TINY, "--trials", "2", "--strategy", "random",
                 "--evaluate", "study_helpers:train_eval", "--data", "study_helpers:small_digits",
                 "--objective", "accuracy", "--executor", "local", "--workers", "2")
    assert result.exit_code == 0, result.output
    trials = Store.open(path, readonly=True).trials()
    assert [t.status for t in trials] == ["done", "done"]
    assert all(t.reward == t.summary["accuracy"] and "loss" in t.summary for t in trials)


def test_resume_needs_no_options_and_refuses_different_ones(tmp_path: Path) -> None:
    path = tmp_path / "s.db"
    first = run("search", "--store", str(path), *TINY, "--trials", "2", "--strategy",
                "evolution", "--population", "2", "--tournament", "2", "--seed", "3")
    assert first.exit_code == 0, first.output
    again = run("search", "--store", str(path), "--resume", "--trials", "3", "--executor",
                "inline")
    assert again.exit_code == 0, again.output
    assert "3 done, 0 failed" in again.output and "this run trained 1" in again.output
    config = Store.open(path, readonly=True).experiment()["config"]
    assert (config["strategy"]["name"], config["strategy"]["seed"]) == ("evolution", 3)
    different = run("search", "--store", str(path), "--resume", "--trials", "4", "--epochs", "3")
    assert different.exit_code == 1
    assert different.output == (
        f"nasc: error: store {path} was created with --epochs 1, not 3: a resumed search keeps "
        f"the options it was created with (only --trials, --executor, --workers, --threads, "
        f"--address, --gpus-per-trial, --device, --devices may change)\n")
    moved = run("search", "--store", str(path), "--resume", "--trials", "3", "--workers", "1")
    assert moved.exit_code == 0, moved.output
    assert ("nasc: note: resuming with --workers 1 (the store was started with 2)"
            in moved.output)


@pytest.mark.parametrize(("args", "error"), [
    (["--objective", "accuracy ^ 2"], "nasc: error: objective:1:10: error: '^' is not a power"),
    (["--objective", "__import__('os')"], "nasc: error: objective:1:12: error: strings are not"),
    (["--objectives", "accuracy:max"], "nasc: error: objectives 'accuracy:max': give two or more"),
    (["--objectives", "accuracy:up,params:min"],
     "nasc: error: objectives 'accuracy:up,params:min': the direction of accuracy must be"),
    (["--objective", "accuracy", "--objectives", "accuracy:max,params:min"],
     "nasc: error: give --objective (one reward) or --objectives (a Pareto front), not both"),
    (["--evaluate", "nosuchmodule:f"], "nasc: error: evaluate nosuchmodule:f: cannot import"),
    (["--evaluate", "not a reference"], "nasc: error: evaluate 'not a reference': expected "
                                        "module:function"),
    (["--data", "study_helpers:not_data"], "nasc: error: --data study_helpers:not_data must "
                                           "return"),
    (["--data", "nosuchmodule:load"], "nasc: error: --data nosuchmodule:load: cannot import"),
    (["--objective", "accuracy", "--data", "nb201:/nonexistent"],
     "nasc: error: --objective and --objectives read a trained child's metrics; nb201 data"),
])
def test_bad_new_options_are_one_line(tmp_path: Path, args: list[str], error: str) -> None:
    path = tmp_path / "s.db"
    result = run("search", "--store", str(path), *TINY, *args)
    assert result.exit_code == 1, result.output
    lines = [line for line in result.output.splitlines() if not line.startswith("nasc: note:")]
    first, *rest = lines
    assert first.startswith(error) and "Traceback" not in result.output, result.output
    assert not rest or first.startswith("nasc: error: objective:1:")  # a located caret after
    assert not path.exists()


def test_resume_of_a_missing_store_is_one_line(tmp_path: Path) -> None:
    result = run("search", "--store", str(tmp_path / "none.db"), "--resume")
    assert result.exit_code == 1
    assert result.output == f"nasc: error: store {tmp_path / 'none.db'} does not exist\n"
