"""Knowing a space: how many architectures fit a budget, and uniform sampling over them.

`count(table, budget)` is exact: a dynamic program over the decision states
(each choice leads to one state; an anchor step with i-1 earlier layers has
C(i-1, k) lists of k inputs). What is counted are distinct strings in the
canonical spelling the sampler emits (no leading/trailing separators, inputs
sorted), within the budget. `UniformSampler` draws every one of them with
equal probability by walking the states with probabilities proportional to
the counts below each choice.
"""

from __future__ import annotations

import random
from math import comb

from nasc.controller.decisions import ANCHOR, DONE_STATE, Budget, DecisionTable
from nasc.controller.fold import fold
from nasc.controller.samples import Sample, walk

MAX_STATES = 100_000  # about 3,000 cnn layers; a few seconds of work


class Counter:
    """Memoised number of completions below each decision state."""

    def __init__(self, table: DecisionTable) -> None:
        self.table = table
        self.memo: dict[int, int] = {DONE_STATE: 1}

    def __repr__(self) -> str:
        return f"Counter({self.table.space.name}, {len(self.memo)} states)"

    def weights(self, state: int) -> list[tuple[int, int]]:
        """(choice, number of architectures through it) for every valid choice."""
        table = self.table
        out = []
        for choice in table.choices(state):
            below = self.count(table.step(state, choice).target)
            out.append((choice, below * self.lists(state, choice)))
        return out

    def lists(self, state: int, choice: int) -> int:
        """How many input lists an anchor choice stands for (1 for tokens)."""
        table = self.table
        if self.table.kind[state] != ANCHOR or choice == table.no_inputs:
            return 1
        earlier, k = int(table.layer[state]), choice - table.no_inputs
        if k < (table.input_classes):
            return comb(earlier, k)
        return sum(comb(earlier, c) for c in range(k, earlier + 1))

    def count(self, state: int) -> int:
        return fold(state, self._targets, self._total, self.memo, MAX_STATES,
                    "the space is too large to count within this budget")

    def _targets(self, state: int) -> list[int]:
        return [self.table.step(state, choice).target for choice in self.table.choices(state)]

    def _total(self, state: int) -> int:
        return sum(w for _, w in self.weights(state))  # the targets are counted by now


def count(table: DecisionTable, budget: Budget) -> int:
    """The exact number of architectures of the space within `budget`."""
    state, _ = table.root(budget)
    return Counter(table).count(state)


class UniformSampler:
    """Every architecture within the budget equally likely (not just uniform per step)."""

    def __init__(self, table: DecisionTable, budget: Budget, seed: int | None = None) -> None:
        self.table = table
        self.budget = budget
        self.counter = Counter(table)
        self.rng = random.Random(seed)
        self.total = self.counter.count(table.root(budget)[0])

    def __repr__(self) -> str:
        return f"UniformSampler({self.table.space.name}, {self.total} architectures)"

    def choose(self, table: DecisionTable, state: int) -> tuple[int, tuple[int, ...]]:
        weights = self.counter.weights(state)
        pick = self.rng.randrange(sum(w for _, w in weights))
        for choice, weight in weights:
            if pick < weight:
                return choice, self._inputs(state, choice)
            pick -= weight
        raise AssertionError("unreachable")  # pragma: no cover

    def _inputs(self, state: int, choice: int) -> tuple[int, ...]:
        table = self.table
        if table.kind[state] != ANCHOR or choice == table.no_inputs:
            return ()
        earlier, k = int(table.layer[state]), choice - table.no_inputs
        if k == table.input_classes:  # "k or more": the size itself is weighted by C(earlier, size)
            sizes = list(range(k, earlier + 1))
            k = self.rng.choices(sizes, weights=[comb(earlier, c) for c in sizes])[0]
        return tuple(sorted(self.rng.sample(range(1, earlier + 1), k)))

    def sample(self, n: int) -> list[Sample]:
        return [walk(self.table, self.budget, self.choose) for _ in range(n)]
