"""Sampled architectures as decision records, their text, and random sampling.

A `Sample` keeps the decision states it visited and the choice made at each,
plus the earlier layers chosen at each anchor step; that is enough to render
its text, replay it through a policy (log-probability with gradients), and
mutate it. `RandomSampler` is the paper's control: uniform over the valid
choices at every step (each earlier layer an input with probability 1/2).
"""

from __future__ import annotations

import random
from collections.abc import Callable
from dataclasses import dataclass, field

from nasc.controller.decisions import ANCHOR, DONE_STATE, Budget, DecisionTable
from nasc.controller.vocab import render
from nasc.grammar.terminals import literals

# chooser(table, state) -> (choice, anchors): anchors are 1-based earlier layers
Chooser = Callable[[DecisionTable, int], tuple[int, tuple[int, ...]]]


@dataclass(frozen=True)
class Sample:
    """One architecture: its text and the decisions that spell it."""

    text: str
    states: tuple[int, ...] = field(repr=False)
    choices: tuple[int, ...] = field(repr=False)
    anchors: tuple[tuple[int, ...], ...] = field(repr=False)  # per step; () if none
    budget: Budget = field(repr=False)
    log_prob: float = 0.0
    entropy: float = 0.0

    def __repr__(self) -> str:
        return f"Sample({self.text!r}, log_prob={self.log_prob:.3f})"

    def __len__(self) -> int:
        return len(self.choices)


def words_of(table: DecisionTable, tokens: tuple[int, ...], inputs: tuple[int, ...]) -> list[str]:
    """Literal words for emitted tokens; -1 expands to `from j1,j2`."""
    vocab = table.vocab
    out: list[str] = []
    for v in tokens:
        if v >= 0:
            out.append(vocab.tokens[v].text)
            continue
        anchor = vocab.anchor
        assert anchor is not None
        keyword = vocab.tokens[vocab.by_terminal[anchor.keyword][0]].text
        comma = (literals(table.space.terminals[anchor.comma]) or (",",))[0]
        out.append(keyword)
        for k, j in enumerate(inputs):
            out += [comma, str(j)] if k else [str(j)]
    return out


def text_of(
    table: DecisionTable, budget: Budget, states: tuple[int, ...], choices: tuple[int, ...],
    anchors: tuple[tuple[int, ...], ...],
) -> str:
    """The architecture text a decision record spells."""
    _, prefix = table.root(budget)
    words = words_of(table, prefix, ())
    for state, choice, inputs in zip(states, choices, anchors, strict=True):
        words += words_of(table, table.step(state, choice).tokens, inputs)
    return render(words)


def anchor_choice(table: DecisionTable, inputs: tuple[int, ...]) -> int:
    """The anchor choice (NONE + number-of-inputs class) for chosen earlier layers."""
    return table.anchor_class(len(inputs))


def walk(table: DecisionTable, budget: Budget, chooser: Chooser, limit: int = 100_000) -> Sample:
    """Follow `chooser` from the root to the end; returns the decision record."""
    state, _ = table.root(budget)
    states: list[int] = []
    choices: list[int] = []
    anchors: list[tuple[int, ...]] = []
    while state != DONE_STATE:
        if len(states) >= limit:  # pragma: no cover - budgets guarantee termination
            raise RuntimeError("sampling did not terminate")
        choice, inputs = chooser(table, state)
        states.append(state)
        choices.append(choice)
        anchors.append(inputs)
        state = table.step(state, choice).target
    record = (tuple(states), tuple(choices), tuple(anchors))
    return Sample(text_of(table, budget, *record), *record, budget=budget)


def uniform_anchor(
    table: DecisionTable, state: int, rng: random.Random, p: float = 0.5
) -> tuple[int, tuple[int, ...]]:
    """Each earlier layer is an input with probability p, within the valid options."""
    options = table.choices(state)
    earlier = table.layer_index(state) - 1
    for _ in range(64):
        inputs = tuple(j for j in range(1, earlier + 1) if rng.random() < p)
        choice = anchor_choice(table, inputs)
        if choice in options:
            return choice, inputs
    choice = rng.choice(options)  # budget rules out the likely outcome: pick a valid class
    count = choice - table.NONE
    if count == table.K:
        count = rng.randint(count, max(count, earlier))
    return choice, tuple(sorted(rng.sample(range(1, earlier + 1), count)))


class RandomSampler:
    """Uniform over the valid choices at each step (the paper's random search)."""

    def __init__(self, table: DecisionTable, budget: Budget, seed: int | None = None) -> None:
        self.table = table
        self.budget = budget
        self.rng = random.Random(seed)

    def __repr__(self) -> str:
        return f"RandomSampler({self.table.space.name}, {self.budget})"

    def choose(self, table: DecisionTable, state: int) -> tuple[int, tuple[int, ...]]:
        if table.kind[state] == ANCHOR:
            return uniform_anchor(table, state, self.rng)
        return self.rng.choice(table.choices(state)), ()

    def sample(self, n: int) -> list[Sample]:
        return [walk(self.table, self.budget, self.choose) for _ in range(n)]
