"""The LALR automaton is exact: it agrees with Lark's own parser on random prefixes."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from lark import Token
from lark.exceptions import UnexpectedInput

from nasc.controller.decisions import Budget, DecisionTable
from nasc.controller.lalr import END, LRTables
from nasc.controller.vocab import load_grammar
from nasc.errors import NascError
from nasc.grammar.terminals import literals

ROOT = Path(__file__).resolve().parents[2]
SPACES = ["cnn", "rnn", str(ROOT / "examples/small_cnn.lark"), str(ROOT / "examples/nested.lark")]
TABLES = {name: LRTables(load_grammar(name).parser) for name in SPACES}


def _value(space, terminal: str) -> str:
    """Some string the terminal matches (for feeding Lark)."""
    words = literals(space.terminals[terminal])
    return words[0] if words else ("1" if "LAYER_NUMBER" in terminal else "; ")


@pytest.mark.parametrize("name", SPACES)
@settings(max_examples=40, deadline=None)
@given(picks=st.lists(st.integers(min_value=0, max_value=10_000), max_size=40))
def test_next_terminals_match_lark_accepts(name: str, picks: list[int]) -> None:
    space = load_grammar(name)
    tables = TABLES[name]
    stack = (tables.start_state,)
    interactive = space.parser.parse_interactive("")
    for pick in picks:
        ours = {t for t in tables.terminals if tables.feed(stack, t) is not None}
        assert ours == _lark_accepts(interactive, tables.terminals)
        shiftable = sorted(ours - {END})
        if not shiftable:
            break
        terminal = shiftable[pick % len(shiftable)]
        stack = tables.feed(stack, terminal)[0]  # type: ignore[index]
        interactive.feed_token(Token(terminal, _value(space, terminal)))


def _lark_accepts(interactive, terminals: list[str]) -> set[str]:
    """Lark's `accepts()`, for every terminal (Lark's skips names with lower case)."""
    out = set()
    for terminal in terminals:
        trial = interactive.copy()
        try:
            if terminal == END:
                trial.feed_eof()
            else:
                trial.feed_token(Token(terminal, ""))
        except UnexpectedInput:
            continue
        out.add(terminal)
    assert out & {t for t in terminals if t.isupper()} == set(interactive.accepts())
    return out


@pytest.mark.parametrize("name", SPACES)
@settings(max_examples=25, deadline=None)
@given(picks=st.lists(st.integers(min_value=0, max_value=10_000), max_size=30))
def test_shortest_completion_is_minimal_and_parses(name: str, picks: list[int]) -> None:
    tables = TABLES[name]
    stack = (tables.start_state,)
    for pick in picks:
        shiftable = sorted(t for t in tables.terminals
                           if t != END and tables.feed(stack, t) is not None)
        if not shiftable:
            break
        stack = tables.feed(stack, shiftable[pick % len(shiftable)])[0]  # type: ignore[index]
    completion = tables.shortest(stack)
    assert completion is not None
    assert len(completion) == tables.completion(stack)
    for terminal in completion:
        stack = tables.feed(stack, terminal)[0]  # type: ignore[index]
    assert tables.feed(stack, END) is not None


@pytest.mark.parametrize("name", ["cnn", "rnn", str(ROOT / "examples/nested.lark")])
def test_completion_cost_matches_breadth_first_search(name: str) -> None:
    tables = TABLES[name]
    seen = {(tables.start_state,)}
    frontier = [(tables.start_state,)]
    for _ in range(6):  # every configuration within 6 tokens of the start
        nxt = []
        for stack in frontier:
            assert tables.completion(stack) == _brute_completion(tables, stack, 120)
            for t in tables.terminals:
                fed = tables.feed(stack, t) if t != END else None
                if fed and fed[0] not in seen:
                    seen.add(fed[0])
                    nxt.append(fed[0])
        frontier = nxt[:40]


def _brute_completion(tables: LRTables, stack: tuple[int, ...], limit: int) -> float:
    level = {stack}
    for depth in range(limit):
        if any(tables.feed(s, END) is not None for s in level):
            return depth
        level = {fed[0] for s in level for t in tables.terminals if t != END
                 for fed in [tables.feed(s, t)] if fed and len(fed[0]) < 200}
    return float("inf")


def test_unbounded_terminal_is_refused_by_name(tmp_path: Path) -> None:
    grammar = tmp_path / "free.lark"
    grammar.write_text('start: "conv" SIZE\nSIZE: /[0-9]+/\n%ignore " "\n')
    with pytest.raises(NascError, match="SIZE"):
        DecisionTable(str(grammar))


def test_layer_number_outside_cnn_inputs_is_refused(tmp_path: Path) -> None:
    grammar = tmp_path / "loose.lark"
    grammar.write_text('start: "cell" LAYER_NUMBER\nLAYER_NUMBER: /[0-9]+/\n%ignore " "\n')
    with pytest.raises(NascError, match="LAYER_NUMBER"):
        DecisionTable(str(grammar))


def test_forced_tokens_are_not_decisions() -> None:
    table = DecisionTable("rnn")
    state, prefix = table.root(Budget())
    words = [table.vocab.tokens[v].text for v in prefix]
    assert words == ["rnn", "base"]  # forced: emitted before the first decision
    assert {table.vocab.tokens[v].text for v in table.choices(state)} == {"2", "8"}


def test_budget_too_small_is_a_clear_error() -> None:
    table = DecisionTable(str(ROOT / "examples/nested.lark"))
    with pytest.raises(NascError, match="token budget 0"):
        table.root(Budget(max_tokens=0))


@pytest.mark.parametrize("space,budget,message", [
    ("cnn", Budget(), "layer budget"),
    (str(ROOT / "examples/nested.lark"), Budget(max_layers=5), "rule block, start"),
])
def test_unbounded_budgets_are_refused(space: str, budget: Budget, message: str) -> None:
    with pytest.raises(NascError, match=message):
        DecisionTable(space).root(budget)
    table = DecisionTable("rnn")  # a finite space needs no budget: `rnn base`, then 2 or 8
    state, forced = table.root(Budget())
    names = table.vocab.names()
    assert [names[t] for t in forced] == ["RNN=rnn", "BASE=base"]
    assert [names[t] for t in np.flatnonzero(table.mask[state])] == ["__ANON_0=2", "__ANON_1=8"]
