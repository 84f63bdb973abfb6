"""Sampling's guarantee on grammars nobody wrote: random grammars against brute force.

For every random grammar Lark loads as LALR (see grammar_gen.py): sampling
within a token budget succeeds exactly when Lark's parser accepts some string
within it; every sample is accepted and within the budget; `count` equals the
number of accepted strings; and uniform sampling's frequencies fit the counts.
"""

from __future__ import annotations

import math
from collections import Counter as Tally
from pathlib import Path

import pytest
from grammar_gen import Truth, write

from nasc.controller import Budget, DecisionTable, RandomSampler, UniformSampler, count
from nasc.errors import NascError
from nasc.grammar import Space, load_space

SMALL = 5  # budget at which everything is enumerated
LARGE = 25  # the budget: samples are checked, not enumerated
CHUNKS, PER_CHUNK = 8, 75


def tokens_of(space: Space, text: str) -> int:
    """How many tokens Lark's parser reads in `text`; it must accept the whole of it."""
    interactive = space.parser.parse_interactive(text)
    found = sum(1 for _ in interactive.iter_parse())
    interactive.feed_eof()
    return found


def check_grammar(path: Path, seed: int) -> str | None:
    """Every property for one grammar; None if it does not load as LALR."""
    try:
        space = load_space(path)
    except NascError:
        return None
    table = DecisionTable(space)
    truth = Truth(space.parser, SMALL)
    for budget_tokens in (2, SMALL):
        budget = Budget(max_tokens=budget_tokens)
        exists = truth.total(budget_tokens) > 0
        try:
            samples = RandomSampler(table, budget, seed).sample(6)
        except NascError as exc:
            assert not exists, f"sampling failed though a string exists: {exc}"
            assert "\n" not in str(exc)
            continue
        assert exists, "sampled a string the parser's brute force did not find"
        for sample in samples:
            assert tokens_of(space, sample.text) <= budget_tokens, sample.text
        assert count(table, budget) == truth.total(budget_tokens)
    if truth.total(SMALL):
        for sample in RandomSampler(table, Budget(max_tokens=LARGE), seed).sample(6):
            assert tokens_of(space, sample.text) <= LARGE, sample.text
    return "loaded"


@pytest.mark.parametrize("chunk", range(CHUNKS))
def test_random_grammars_sample_exactly_what_the_parser_accepts(chunk: int,
                                                                tmp_path: Path) -> None:
    loaded = 0
    for seed in range(chunk * PER_CHUNK, (chunk + 1) * PER_CHUNK):
        path = write(tmp_path, seed)
        try:
            loaded += check_grammar(path, seed) is not None
        except AssertionError as exc:
            raise AssertionError(f"seed {seed}:\n{path.read_text()}\n{exc}") from None
    assert loaded >= PER_CHUNK // 4  # about 45% of these random grammars are LALR


def chi_square_limit(df: int, z: float = 3.09) -> float:
    """The chi-square value exceeded with probability ~0.001 (Wilson-Hilferty)."""
    return df * (1 - 2 / (9 * df) + z * math.sqrt(2 / (9 * df))) ** 3


@pytest.mark.parametrize("seed", [3, 11, 42])
def test_uniform_sampling_frequencies_fit_the_counts(seed: int, tmp_path: Path) -> None:
    """Over the strings of the first grammars with 5-40 strings within the budget."""
    found = 0
    for candidate in range(seed * 100, seed * 100 + 400):
        try:
            space = load_space(write(tmp_path, candidate))
        except NascError:
            continue
        table = DecisionTable(space)
        total = Truth(space.parser, 4).total(4)
        if not 5 <= total <= 40:
            continue
        draws = 60 * total
        tally = Tally(s.text for s in UniformSampler(table, Budget(max_tokens=4), seed)
                      .sample(draws))
        assert len(tally) == total  # every string is reachable
        chi = sum((seen - draws / total) ** 2 / (draws / total) for seen in tally.values())
        assert chi < chi_square_limit(total - 1), (candidate, tally)
        found += 1
        if found == 3:
            return
    raise AssertionError("no grammar with 5-40 strings found")
