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
from functools import cached_property
from typing import NamedTuple

from nasc.controller.decisions import ANCHOR, DONE_STATE, Budget, DecisionTable
from nasc.grammar.spelling import Speller
from nasc.grammar.terminals import literals

# chooser(table, state) -> (choice, anchors): anchors are 1-based earlier layers
Chooser = Callable[[DecisionTable, int], tuple[int, tuple[int, ...]]]


@dataclass(frozen=True)
class Sample:
    """One architecture: the decisions that spell it; `text` is rendered on first use."""

    states: tuple[int, ...] = field(repr=False)
    choices: tuple[int, ...] = field(repr=False)
    codes: tuple[int, ...] = field(repr=False)  # per step: bit j-1 set if layer j is an input
    budget: Budget = field(repr=False)
    table: DecisionTable = field(repr=False, compare=False)

    def __repr__(self) -> str:
        return f"Sample({self.text!r})"

    def __len__(self) -> int:
        return len(self.choices)

    def __getstate__(self) -> dict:
        """Pickled without the decision table (for other processes): keeps the text."""
        state = dict(self.__dict__)
        state["text"] = self.text
        state["table"] = None
        return state

    def __setstate__(self, state: dict) -> None:
        self.__dict__.update(state)

    @cached_property
    def anchors(self) -> tuple[tuple[int, ...], ...]:
        """Per step, the earlier layers (1-based) chosen as inputs; () if none."""
        return tuple(_decode(code) if code else () for code in self.codes)

    @cached_property
    def text(self) -> str:
        """The architecture text (layers joined by `; `)."""
        return renderer(self.table).text(self.budget, self.states, self.choices, self.anchors)


def make_sample(table: DecisionTable, budget: Budget, states: tuple[int, ...],
                choices: tuple[int, ...], anchors: tuple[tuple[int, ...], ...]) -> Sample:
    codes = tuple(sum(1 << (j - 1) for j in inputs) for inputs in anchors)
    return Sample(states, choices, codes, budget, table)


def _decode(code: int) -> tuple[int, ...]:
    return tuple(j + 1 for j in range(code.bit_length()) if code >> j & 1)


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
    """The architecture text a decision record spells (reference implementation)."""
    _, prefix = table.root(budget)
    words = words_of(table, prefix, ())
    for state, choice, inputs in zip(states, choices, anchors, strict=True):
        words += words_of(table, table.step(state, choice).tokens, inputs)
    return renderer(table).speller.join(words)


class Fragment(NamedTuple):
    """The text one (state, choice) emits, with what the spelling of its neighbours needs."""

    head: str  # first word
    body: str  # the text
    tail: str  # last word
    lead: str  # the body up to its first separator
    trail: str  # the body after its last separator


class Renderer:
    """Fast text of decision records: each (state, choice) is rendered once and cached."""

    def __init__(self, table: DecisionTable) -> None:
        self.table = table
        self.fragments: dict[tuple[int, int], Fragment | None] = {}
        self.speller = Speller(table.space)
        self.lists: dict[tuple[int, ...], Fragment] = {}  # `from 1,2` by inputs
        anchor = table.vocab.anchor
        self.comma = (literals(table.space.terminals[anchor.comma]) or (",",))[0] if anchor else ","
        self.keyword = table.vocab.tokens[table.vocab.by_terminal[anchor.keyword][0]].text \
            if anchor else "from"

    def __repr__(self) -> str:
        return f"Renderer({self.table.space.name}, {len(self.fragments)} fragments)"

    def _fragment(self, words: list[str]) -> Fragment | None:
        words = [w for w in words if w]
        if not words:
            return None
        body, sep = self.speller.join(words), self.speller.separator
        if sep is None or sep not in body:
            return Fragment(words[0], body, words[-1], body, body)
        return Fragment(words[0], body, words[-1], body.split(sep, 1)[0],
                        body.rsplit(sep, 1)[1])

    def fragment(self, state: int, choice: int) -> Fragment | None:
        key = (state, choice)
        if key not in self.fragments:
            tokens = self.table.step(state, choice).tokens
            self.fragments[key] = self._fragment(words_of(self.table, tokens, ()))
        return self.fragments[key]

    def _inputs(self, inputs: tuple[int, ...]) -> Fragment:
        found = self.lists.get(inputs)
        if found is None:
            if len(self.lists) > 4096:
                self.lists.clear()
            found = self.lists[inputs] = self._list(inputs)
        return found

    def _list(self, inputs: tuple[int, ...]) -> Fragment:
        words = [self.keyword]
        for k, j in enumerate(inputs):
            words += [self.comma, str(j)] if k else [str(j)]
        found = self._fragment(words)
        assert found is not None
        return found

    def text(self, budget: Budget, states: tuple[int, ...], choices: tuple[int, ...],
             anchors: tuple[tuple[int, ...], ...]) -> str:
        table, fragments = self.table, self.fragments
        glue, sep = self.speller.glue, self.speller.separator
        _, prefix = table.root(budget)
        first = self._fragment(words_of(table, prefix, ()))
        parts: list[str] = [first.body] if first else []
        last, run = (first.tail, first.trail) if first else ("", "")
        none = table.no_inputs
        for state, choice, inputs in zip(states, choices, anchors, strict=True):
            pieces: list[Fragment | None] = []
            if inputs:  # `from 1,2` then what the layer-ending token emits
                pieces.append(self._inputs(inputs))
                choice = none
            key = (state, choice)
            pieces.append(fragments[key] if key in fragments else self.fragment(state, choice))
            for piece in pieces:
                if piece is None:
                    continue
                glued = not parts or glue(last, piece.head, run, piece.lead)
                parts.append(piece.body if glued else f"{sep}{piece.body}")
                run = piece.trail if piece.trail is not piece.body else (
                    run + piece.body if glued else piece.body)
                last = piece.tail
        return "".join(parts)


def renderer(table: DecisionTable) -> Renderer:
    """The table's shared renderer."""
    if table.renderer is None:
        table.renderer = Renderer(table)
    return table.renderer  # type: ignore[no-any-return]


def anchor_choice(table: DecisionTable, inputs: tuple[int, ...]) -> int:
    """The anchor choice (NONE + number-of-inputs class) for chosen earlier layers."""
    return table.anchor_class(len(inputs))


Record = tuple[list[int], list[int], list[tuple[int, ...]]]  # states, choices, anchors


def walk(table: DecisionTable, budget: Budget, chooser: Chooser, start: int | None = None,
         record: Record | None = None, limit: int = 100_000) -> Sample:
    """Follow `chooser` to the end; returns the decision record. The one decision walk:
    sampling (random, uniform), parsing a string and repairing a mutation all use it.

    From the root, or from decision state `start` after the decisions in `record`."""
    state = table.root(budget)[0] if start is None else start
    states, choices, anchors = record if record is not None else ([], [], [])
    while state != DONE_STATE:
        if len(states) >= limit:  # pragma: no cover - budgets guarantee termination
            raise RuntimeError("sampling did not terminate")
        choice, inputs = chooser(table, state)
        states.append(state)
        choices.append(choice)
        anchors.append(inputs)
        state = table.step(state, choice).target
    return make_sample(table, budget, tuple(states), tuple(choices), tuple(anchors))


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
    count = choice - table.no_inputs
    if count == table.input_classes:
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
