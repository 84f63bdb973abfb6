"""Exact counting by dynamic programming, checked against brute-force enumeration."""

from __future__ import annotations

import itertools
from collections import Counter as Tally
from pathlib import Path

import pytest
from lark.exceptions import LarkError

from nasc.controller import Budget, DecisionTable, UniformSampler, count
from nasc.grammar.spelling import Speller

ROOT = Path(__file__).resolve().parents[2]
NESTED = str(ROOT / "examples/nested.lark")


def _brute_force(table: DecisionTable, max_tokens: int) -> set[str]:
    """Every token sequence of length <= max_tokens that the grammar accepts."""
    words = [t.text for t in table.vocab.tokens if t.text]
    speller = Speller(table.space)
    found = set()
    for length in range(1, max_tokens + 1):
        for combo in itertools.product(words, repeat=length):
            text = speller.join(list(combo))
            try:
                table.space.parser.parse(text)
            except LarkError:
                continue
            found.add(text)
    return found


@pytest.mark.parametrize("max_tokens", [1, 2, 3, 4, 5, 6])
def test_count_matches_enumeration(max_tokens: int) -> None:
    table = DecisionTable(NESTED)
    assert count(table, Budget(max_tokens=max_tokens)) == len(_brute_force(table, max_tokens))


def test_uniform_sampler_covers_the_space_evenly() -> None:
    table = DecisionTable(NESTED)
    budget = Budget(max_tokens=4)
    space = _brute_force(table, 4)
    sampler = UniformSampler(table, budget, seed=0)
    assert sampler.total == len(space)
    draws = 60 * len(space)
    tally = Tally(s.text for s in sampler.sample(draws))
    assert set(tally) == space
    assert max(tally.values()) < 2.0 * min(tally.values())


def test_cnn_counts_by_hand() -> None:
    table = DecisionTable("cnn")
    one_layer = 4 * 4 * 4 * 4 + 2 * (4 * 4 * 4)  # conv k k f [stride s]; pools k k [stride s]
    assert count(table, Budget(1)) == one_layer == 384
    # the second layer may also read layer 1 (`from 1`) or not
    assert count(table, Budget(2)) == one_layer + one_layer * one_layer * 2
    # exactly 3 layers: layer 3 has 2^2 input sets
    assert count(table, Budget(3, None, 3)) == one_layer**3 * 2 * 4


def test_rnn_count_by_hand() -> None:
    def trees(nodes: int) -> int:  # 8 (combine, activation) per node, inject node x 8, cell node
        return 8**nodes * (nodes * 8) * nodes

    assert count(DecisionTable("rnn"), Budget()) == trees(3) + trees(15)


def test_uniform_sampler_draws_inputs_by_their_number() -> None:
    table = DecisionTable("cnn")
    sampler = UniformSampler(table, Budget(6, None, 6), seed=1)
    sizes = Tally(s.text.rsplit("; ", 1)[-1].count(",") + ("from" in s.text.rsplit("; ", 1)[-1])
                  for s in sampler.sample(400))
    # layer 6 has 5 earlier layers: C(5, k) lists of size k; sizes 2 and 3 are the most common
    assert sizes[2] > sizes[0] and sizes[3] > sizes[5]


LIST_GRAMMAR = """
start: _SEP? item (_SEP item)* _SEP?
item: "a" | "b" SIZE
SIZE: "1" | "2"
_SEP: /(;[ ]*)+/
%ignore " "
"""


@pytest.mark.parametrize("max_tokens", [1, 3, 5, 8])
def test_separators_are_counted_once(tmp_path: Path, max_tokens: int) -> None:
    """Optional leading/trailing separators spell no new architecture."""
    grammar = tmp_path / "items.lark"
    grammar.write_text(LIST_GRAMMAR)
    table = DecisionTable(str(grammar))
    items = {"a": 1, "b 1": 2, "b 2": 2}  # an item and its tokens
    expected = set()
    for length in range(1, max_tokens + 1):
        for combo in itertools.product(items, repeat=length):
            if sum(items[c] for c in combo) + len(combo) - 1 <= max_tokens:
                expected.add("; ".join(combo))
    budget = Budget(max_tokens=max_tokens)
    assert count(table, budget) == len(expected)
    assert {s.text for s in UniformSampler(table, budget, seed=0).sample(300)} <= expected


def test_a_token_limit_that_cannot_bind_is_dropped() -> None:
    table = DecisionTable("cnn")
    loose, tight = Budget(3, 512), Budget(3, 12)
    state, _ = table.root(loose)
    assert table.keys[state].budget == Budget(3)  # no token bookkeeping: fewer states
    assert table.keys[table.root(tight)[0]].budget == tight
    assert count(table, loose) == count(table, Budget(3)) > count(table, tight)


def test_fold_visits_a_deep_chain_without_recursion_and_bounds_its_work() -> None:
    from nasc.controller.fold import fold
    from nasc.errors import NascError

    def children(n: int) -> list[int]:
        return [n + 1] if n < 50_000 else []

    memo: dict[int, int] = {}
    assert fold(0, children, lambda n: memo.get(n + 1, 0) + 1, memo, 100_000, "chain") == 50_001
    with pytest.raises(NascError, match="chain: over 1,000 decision states"):
        fold(0, children, lambda n: 0, {}, 1_000, "chain")
