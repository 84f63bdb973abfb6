"""A space's sampling vocabulary: every (terminal, literal) the controller can emit.

A choice terminal contributes one token per string it matches (`literals()`).
Two unbounded terminals are handled specially: a filtered separator such as
`_SEP` is emitted as a canonical `; ` (or a newline), and the `cnn` rule
`inputs: "from" LAYER_NUMBER ("," LAYER_NUMBER)*` is sampled by anchor points
rather than token by token. Any other unbounded terminal is refused.

`load_grammar()` loads a built-in space, a `cnn`/`rnn` grammar file, or a
validity-only grammar (no compiler semantics: kind "none").
"""

from __future__ import annotations

from collections import deque
from dataclasses import dataclass
from pathlib import Path

from nasc.controller.lalr import END, LRTables, Stack
from nasc.errors import NascError
from nasc.grammar import Space, load_space
from nasc.grammar.spelling import separator_form
from nasc.grammar.terminals import describe, literals, local_name

MAX_CLASSES = 4  # anchor choices: no inputs, or 1, 2, .. inputs (lists that parse alike merge)


@dataclass(frozen=True)
class Token:
    """One vocabulary entry: a terminal and the literal text it stands for."""

    terminal: str
    text: str

    def __repr__(self) -> str:
        return f"{local_name(self.terminal)}:{self.text!r}"


@dataclass(frozen=True)
class AnchorSpec:
    """Where a `cnn` space lists a layer's inputs: `from 1,2`."""

    keyword: str  # the FROM terminal
    number: str  # the LAYER_NUMBER terminal
    comma: str  # the list separator terminal


class Vocabulary:
    """Tokens (index -> Token), each terminal's tokens, separators, anchors."""

    def __init__(self, space: Space, tables: LRTables) -> None:
        self.anchor = _anchor_spec(space, tables)
        self.tokens: list[Token] = []
        self.separators: set[str] = set()
        terminals = space.terminals
        skip = {self.anchor.number, self.anchor.comma} if self.anchor else set()
        for name in tables.terminals:
            if name == END or name in skip:
                continue
            words = _words(name, terminals, self.separators)
            self.tokens += [Token(name, w) for w in words]
        if self.anchor and self.anchor.comma in terminals and not _is_single(
            terminals, self.anchor.comma
        ):
            raise NascError(f"terminal {self.anchor.comma} separating layer numbers must be fixed")
        self.tokens.append(Token(END, ""))
        self.index = {tok: i for i, tok in enumerate(self.tokens)}
        self.by_terminal: dict[str, list[int]] = {}
        for i, tok in enumerate(self.tokens):
            self.by_terminal.setdefault(tok.terminal, []).append(i)
        self.end = len(self.tokens) - 1

    def __len__(self) -> int:
        return len(self.tokens)

    def __repr__(self) -> str:
        return f"Vocabulary({len(self.tokens)} tokens)"

    def names(self) -> list[str]:
        """A stable description of the vocabulary (to check a checkpoint fits a space)."""
        return [f"{local_name(t.terminal)}={t.text}" for t in self.tokens]


def _is_single(terminals: dict, name: str) -> bool:
    words = literals(terminals[name])
    return words is not None and len(words) == 1


def _words(name: str, terminals: dict, separators: set[str]) -> tuple[str, ...]:
    terminal = terminals.get(name)
    if terminal is None:
        raise NascError(f"terminal {name} has no definition")
    words = literals(terminal)
    if words is not None and words and all(words):
        return words
    form = separator_form(name, terminal)
    if form is not None:
        separators.add(name)
        return (form,)
    raise NascError(
        f"terminal {local_name(name)} ({describe(terminal, name)}) matches unboundedly many "
        f"strings: the controller cannot sample it; list its choices, e.g. "
        f'{local_name(name)}: "1" | "2"'
    )


def _anchor_spec(space: Space, tables: LRTables) -> AnchorSpec | None:
    """Where the space lists anchors, as its semantics declare them: the rule whose
    expansion is a keyword, then an anchor terminal (`inputs: "from" LAYER_NUMBER ...`)."""
    anchors = space.anchor_terminals()
    keyword = number = comma = None
    for rule in tables.rules:
        names = [s.name for s in rule.expansion]
        helper = local_name(str(rule.origin.name)).startswith("__")  # Lark's `(...)*` rules
        if (len(names) >= 2 and local_name(names[1]) in anchors and rule.expansion[0].is_term
                and not helper):
            keyword, number = names[0], names[1]
    if keyword is None or number is None:
        return None
    for rule in tables.rules:
        names = [s.name for s in rule.expansion]
        for a, b in zip(names, names[1:], strict=False):
            if b == number and a not in (keyword, number) and a in tables.terminals:
                comma = a
    return AnchorSpec(keyword, number, comma or "COMMA")


def input_classes(tables: LRTables, anchor: AnchorSpec, where: str, limit: int = 20_000
                  ) -> int:
    """K: input lists of K or more layers leave the parser in the same state (so the
    anchor choices are none, 1, .., K-1 and "K or more"). Read on the first stack,
    breadth first from the start, after which the grammar lists inputs (1 if none)."""
    skip = {anchor.keyword, anchor.number, anchor.comma, END}
    stacks: deque[Stack] = deque([(tables.start_state,)])
    seen: set[Stack] = set()
    while stacks and len(seen) < limit:
        stack = stacks.popleft()
        if tables.feed(stack, anchor.keyword) is not None:
            ends = _lists(tables, stack, anchor)
            stable = [k for k in range(1, MAX_CLASSES + 1) if ends[k - 1] == ends[k]]
            if stable and ends[stable[0]] is not None:
                return stable[0]
            break
        for terminal in tables.terminals:
            fed = None if terminal in skip else tables.feed(stack, terminal)
            if fed is not None and fed[0] not in seen:
                seen.add(fed[0])
                stacks.append(fed[0])
        if not stacks:  # the grammar never lists inputs
            return 1
    raise NascError(f'{where}: the inputs rule must be `"from" LAYER_NUMBER ("," LAYER_NUMBER)*`')


def _lists(tables: LRTables, stack: Stack, anchor: AnchorSpec) -> list[Stack | None]:
    """The stacks after `from N`, `from N,N`, .. (MAX_CLASSES + 1 lists)."""
    out: list[Stack | None] = []
    here = tables.feed(stack, anchor.keyword)
    terminals = [anchor.number]
    for _ in range(MAX_CLASSES + 1):
        for terminal in terminals:
            here = tables.feed(here[0], terminal) if here is not None else None
        out.append(here[0] if here is not None else None)
        terminals = [anchor.comma, anchor.number]
    return out


def load_grammar(spec: str | Path | Space) -> Space:
    """A space to sample from: built-in, a cnn/rnn grammar, or a validity-only grammar."""
    return spec if isinstance(spec, Space) else load_space(spec)
