"""Grammar-aware mutation and seeding from existing architecture strings.

    parse_sample(table, text, budget)  a valid string -> its decision record (seeding)
    mutate(table, sample, rng)         change one decision, repair the rest: still valid
    mutate_text(table, text, budget, rng)   the same on text

Repair replays the parent's later decisions where they are still valid (an
anchor list keeps the inputs that still exist), skips one that no longer fits,
and otherwise chooses uniformly among the valid choices, so the child is in
the space and within the budget for any grammar.
"""

from __future__ import annotations

import random

from lark.exceptions import LarkError

from nasc.controller.decisions import ANCHOR, Budget, DecisionTable
from nasc.controller.samples import Sample, renderer, uniform_anchor, walk
from nasc.controller.vocab import Token
from nasc.errors import NascError

SEP = ("sep",)
Event = tuple


def _events(table: DecisionTable, text: str) -> list[Event]:
    """The string's tokens as ("tok", id), SEP, or ("anchors", (j, ...))."""
    vocab = table.vocab
    anchor = vocab.anchor
    try:
        parser = table.space.parser.parse_interactive(text)
        tokens = [(t.type, t.value) for t in parser.iter_parse()]
    except LarkError as exc:
        raise NascError(f"not in space {table.space.name}: {str(exc).splitlines()[0]}") from exc
    out: list[Event] = []
    for kind, value in tokens:
        if anchor is not None and kind == anchor.keyword:
            out.append(("anchors", ()))
        elif anchor is not None and kind == anchor.number:
            out[-1] = ("anchors", out[-1][1] + (int(value),))
        elif anchor is not None and kind == anchor.comma:
            continue
        elif kind in vocab.separators:
            if out and out[-1] != SEP:
                out.append(SEP)
        elif Token(kind, value) in vocab.index:
            out.append(("tok", vocab.index[Token(kind, value)]))
        else:
            raise NascError(f"{value!r} is not a choice the controller can make")
    return out


class _Reader:
    """Matches a decision walk against a string's events."""

    def __init__(self, table: DecisionTable, events: list[Event]) -> None:
        self.table, self.events, self.pos = table, events, 0
        self.pending: tuple[int, int] | None = None  # the last decision, its tokens unread

    def finish(self) -> None:
        """Read the tokens of the last decision (the string must end with them)."""
        if self.pending is not None:
            self.consume(self.table.step(*self.pending).tokens)
            self.pending = None

    def peek(self) -> Event | None:
        return self.events[self.pos] if self.pos < len(self.events) else None

    def consume(self, tokens: tuple[int, ...]) -> None:
        vocab = self.table.vocab
        for v in tokens:
            if v == vocab.end:
                while self.peek() == SEP:
                    self.pos += 1
                if self.peek() is not None:
                    raise NascError("the string continues past the end of an architecture")
                continue
            if self.peek() == SEP and (v < 0 or vocab.tokens[v].terminal not in vocab.separators):
                self.pos += 1  # a separator the canonical spelling does not need
            event = self.peek()
            want = "anchors" if v < 0 else ("sep" if event == SEP else "tok")
            if event is None or event[0] != want or (want == "tok" and event[1] != v):
                raise NascError("the string leaves the space (or its budget) here: "
                                f"{_show(self.table, self.events[self.pos:])!r}")
            self.pos += 1

    def choose(self, table: DecisionTable, state: int) -> tuple[int, tuple[int, ...]]:
        """A chooser for `walk`: the decision the string makes in `state`."""
        self.finish()  # what the previous decision emitted comes first
        valid = table.choices(state)
        if table.kind[state] == ANCHOR:
            event = self.peek()
            inputs = tuple(sorted(set(event[1]))) if event and event[0] == "anchors" else ()
            if any(j < 1 or j >= table.layer_index(state) for j in inputs):
                raise NascError(f"layer {table.layer_index(state)} reads a layer that is not "
                                f"before it: {inputs}")
            choice = table.anchor_class(len(inputs))
        else:
            choice = self._token_choice(state, valid)
        if choice not in valid:
            raise NascError("the string is not in the space within the budget "
                            f"(at {_show(table, self.events[self.pos:])!r})")
        self.pending = (state, choice)
        return choice, (inputs if table.kind[state] == ANCHOR else ())

    def _token_choice(self, state: int, valid: list[int]) -> int:
        vocab, events = self.table.vocab, self.events
        ahead = self.pos
        if ahead < len(events) and events[ahead][0] == "anchors":
            ahead += 1  # the layer's inputs come before the token that ends it
        first = ahead
        while ahead < len(events) and events[ahead] == SEP:
            ahead += 1
        if ahead >= len(events):
            return vocab.end
        seps = [v for v in valid if vocab.tokens[v].terminal in vocab.separators]
        if ahead > first and seps:
            return seps[0]
        return events[ahead][1]


def _show(table: DecisionTable, events: list[Event]) -> str:
    words = []
    for event in events[:6]:
        if event == SEP:
            words.append(";")
        elif event[0] == "anchors":
            words.append("from " + ",".join(map(str, event[1])))
        else:
            words.append(table.vocab.tokens[event[1]].text)
    return renderer(table).speller.join(words)


def parse_sample(table: DecisionTable, text: str, budget: Budget) -> Sample:
    """The decision record of an existing architecture string (to seed a search)."""
    reader = _Reader(table, _events(table, text))
    reader.consume(table.root(budget)[1])
    sample = walk(table, budget, reader.choose)
    reader.finish()
    return sample


def mutate(table: DecisionTable, sample: Sample, rng: random.Random) -> Sample:
    """Change one decision of `sample` and repair the rest; the result stays valid."""
    open_steps = [k for k, s in enumerate(sample.states) if _alternatives(table, s)]
    if not open_steps:
        return sample
    k = rng.choice(open_steps)
    choice, inputs = _change(table, sample.states[k], sample.choices[k], sample.anchors[k], rng)
    record = (list(sample.states[:k + 1]), list(sample.choices[:k]) + [choice],
              list(sample.anchors[:k]) + [inputs])
    repair = _Repair(list(zip(sample.choices[k + 1:], sample.anchors[k + 1:], strict=True)),
                     rng)
    return walk(table, sample.budget, repair.choose, table.step(record[0][-1], choice).target,
                record)


def mutate_text(table: DecisionTable, text: str, budget: Budget, rng: random.Random) -> str:
    """`mutate` on architecture text: the child's text (valid, within `budget`)."""
    return mutate(table, parse_sample(table, text, budget), rng).text


def _alternatives(table: DecisionTable, state: int) -> bool:
    if table.kind[state] == ANCHOR:
        return table.layer_index(state) > 1 and len(table.choices(state)) > 1
    return len(table.choices(state)) > 1


def _change(table: DecisionTable, state: int, choice: int, inputs: tuple[int, ...],
            rng: random.Random) -> tuple[int, tuple[int, ...]]:
    valid = table.choices(state)
    if table.kind[state] != ANCHOR:
        return rng.choice([c for c in valid if c != choice]), ()
    earlier = list(range(1, table.layer_index(state)))
    for j in rng.sample(earlier, len(earlier)):  # flip one input, if the result is valid
        flipped = tuple(sorted(set(inputs) ^ {j}))
        if table.anchor_class(len(flipped)) in valid:
            return table.anchor_class(len(flipped)), flipped
    return choice, inputs  # pragma: no cover - an anchor step with alternatives can flip


class _Repair:
    """A chooser for `walk`: the parent's next (or next-but-one) decision where it still
    fits, else a uniform choice."""

    def __init__(self, old: list[tuple[int, tuple[int, ...]]], rng: random.Random) -> None:
        self.old, self.p, self.rng = old, 0, rng

    def choose(self, table: DecisionTable, state: int) -> tuple[int, tuple[int, ...]]:
        valid = table.choices(state)
        anchor = table.kind[state] == ANCHOR
        for skip in (0, 1):
            if self.p + skip >= len(self.old):
                break
            choice, inputs = self.old[self.p + skip]
            if anchor and choice >= table.no_inputs:
                kept = tuple(j for j in inputs if j < table.layer_index(state))
                if table.anchor_class(len(kept)) in valid:
                    self.p += skip + 1
                    return table.anchor_class(len(kept)), kept
            elif not anchor and choice in valid:
                self.p += skip + 1
                return choice, ()
        if anchor:
            return uniform_anchor(table, state, self.rng)
        return self.rng.choice(valid), ()
