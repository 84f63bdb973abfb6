"""The controller's house (issue 10, item 6): one table per strategy, choice names known
from construction, anchors without a rollout, and the one decision walk."""

from __future__ import annotations

import ast
import random
from pathlib import Path

from nasc.controller import Budget, Controller, DecisionTable, RandomSampler, mutate, parse_sample
from nasc.controller.samples import walk
from nasc.runtime.strategies import ReinforceStrategy, StrategyConfig

CONTROLLER = Path(__file__).resolve().parents[2] / "nasc" / "controller"


def test_the_reinforce_strategy_builds_its_decision_table_once() -> None:
    strategy = ReinforceStrategy("cnn", StrategyConfig(seed=0))
    assert strategy.controller.table is strategy.table
    table = DecisionTable("cnn")
    assert Controller(table, seed=0).table is table


def test_choice_names_are_known_when_the_table_is_built() -> None:
    table = DecisionTable("cnn")
    assert table.input_classes == 3  # `from 3,4,5` parses like `from 3,4,5,6`
    assert table.no_inputs == table.vocab_size
    assert table.choice_count == table.vocab_size + 5
    assert DecisionTable("rnn").input_classes == 1  # no inputs rule


def test_anchors_import_neither_the_policy_nor_the_rollout() -> None:
    tree = ast.parse((CONTROLLER / "anchors.py").read_text(encoding="utf-8"))
    imported = {node.module for node in ast.walk(tree) if isinstance(node, ast.ImportFrom)}
    assert not imported & {"nasc.controller.rollout", "nasc.controller.policy"}


def test_one_walk_resumes_from_a_record() -> None:
    table = DecisionTable("cnn")
    budget = Budget(max_layers=4)
    sample = RandomSampler(table, budget, seed=3).sample(1)[0]
    k = len(sample) // 2
    record = (list(sample.states[: k + 1]), list(sample.choices[: k + 1]),
              list(sample.anchors[: k + 1]))
    follow = iter(zip(sample.choices[k + 1:], sample.anchors[k + 1:], strict=True))
    start = table.step(sample.states[k], sample.choices[k]).target
    again = walk(table, budget, lambda t, s: next(follow), start, record)
    assert again.text == sample.text
    child = mutate(table, sample, random.Random(0))
    assert parse_sample(table, child.text, budget).text == child.text
