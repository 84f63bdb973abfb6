"""Seeding from strings and grammar-aware mutation keep every architecture valid."""

from __future__ import annotations

import random
from pathlib import Path

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from nasc.compiler.frontend import parse
from nasc.controller import Budget, DecisionTable, RandomSampler, mutate, parse_sample
from nasc.errors import NascError

ROOT = Path(__file__).resolve().parents[2]
SPACES = {
    "cnn": Budget(8),
    "rnn": Budget(),
    str(ROOT / "examples/small_cnn.lark"): Budget(5),
    str(ROOT / "examples/nested.lark"): Budget(max_tokens=16),
}
TABLES = {name: DecisionTable(name) for name in SPACES}


def _valid(table: DecisionTable, text: str) -> None:
    if table.space.kind == "none":
        table.space.parser.parse(text)
    else:
        parse(text, table.space)


@pytest.mark.parametrize("name", SPACES)
@settings(max_examples=30, deadline=None)
@given(seed=st.integers(min_value=0, max_value=2**30))
def test_mutants_are_valid_different_and_within_budget(name: str, seed: int) -> None:
    table, budget = TABLES[name], SPACES[name]
    rng = random.Random(seed)
    parent = RandomSampler(table, budget, seed=seed).sample(1)[0]
    for _ in range(5):
        child = mutate(table, parent, rng)
        _valid(table, child.text)
        assert child.text != parent.text or len(parent) == 0
        assert parse_sample(table, child.text, budget).text == child.text
        parent = child


@pytest.mark.parametrize("name", SPACES)
def test_parse_sample_recovers_the_decisions(name: str) -> None:
    table, budget = TABLES[name], SPACES[name]
    for sample in RandomSampler(table, budget, seed=5).sample(100):
        again = parse_sample(table, sample.text, budget)
        assert (again.states, again.choices, again.anchors) == (
            sample.states, sample.choices, sample.anchors)


def test_seeding_from_hand_written_files() -> None:
    table = DecisionTable("cnn")
    text = (ROOT / "examples/paper_cnn.arch").read_text()
    sample = parse_sample(table, text, Budget(15))
    assert sample.text == str(parse(text, "cnn").arch)
    cell = (ROOT / "examples/nascell.arch").read_text()
    assert parse_sample(DecisionTable("rnn"), cell, Budget()).text == str(parse(cell, "rnn").arch)


@pytest.mark.parametrize("text,message", [
    ("conv 3x3 24; conv 3x3 24 from 2", "not before it"),
    ("conv 3x3 24; conv 3x3 24; conv 3x3 24", "budget"),
    ("conv 3x3 25", "not in space"),
])
def test_parse_sample_errors(text: str, message: str) -> None:
    with pytest.raises(NascError, match=message):
        parse_sample(DecisionTable("cnn"), text, Budget(2))


def test_mutate_text() -> None:
    from nasc.controller import mutate_text

    table = DecisionTable("rnn")
    text = (ROOT / "examples/figure5.arch").read_text()
    child = mutate_text(table, text, Budget(), random.Random(0))
    assert child != str(parse(text, "rnn").arch)
    parse(child, "rnn")
