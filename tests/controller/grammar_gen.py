"""Random grammars and brute-force truth about them, for the sampler's property tests.

`random_grammar(seed)` writes a grammar like those of issue 14: a start rule
and up to three more, each with 1-3 alternatives of 1-4 items (literals
`"a"`..`"h"`, the finite terminals T1 and T2, rule references, each possibly
`?`, `*` or `+`), so left, right and mutual recursion and Lark's repetition
helpers all occur. `Truth` enumerates what Lark's own LALR parser (what
`nasc validate` uses) accepts, token by token with its interactive parser,
up to a length: the reference the sampler, the counter and the budget checks
are held to. Used by tests/controller/test_random_grammars.py and
benchmarks/bench_grammars.py.
"""

from __future__ import annotations

import random
from pathlib import Path

from lark import Lark, Token
from lark.exceptions import UnexpectedInput

from nasc.grammar.terminals import literals

LETTERS = "abcdefgh"
TAIL = """T1: "x" | "y" | "z"
T2: "1" | "2"
WS: /[ \\t]+/
%ignore WS
"""


def random_grammar(seed: int) -> str:
    """The text of a random grammar (it may or may not load as LALR)."""
    rng = random.Random(seed)
    names = ["start"] + [f"r{k}" for k in range(1, rng.randint(1, 3) + 1)]
    lines = [f"{name}: " + " | ".join(_alternative(rng, names)
                                     for _ in range(rng.randint(1, 3))) for name in names]
    return "\n".join(lines) + "\n" + TAIL


def _alternative(rng: random.Random, names: list[str]) -> str:
    items = []
    for _ in range(rng.randint(1, 4)):
        pick = rng.random()
        if pick < 0.45:
            item = f'"{rng.choice(LETTERS)}"'
        elif pick < 0.6:
            item = rng.choice(["T1", "T2"])
        else:
            item = rng.choice(names[1:] or names)
        items.append(item + rng.choice(["", "", "", "", "", "", "?", "*", "+", "+"]))
    return " ".join(items)


def write(tmp: Path, seed: int) -> Path:
    path = tmp / f"g{seed}.lark"
    path.write_text(random_grammar(seed), encoding="utf-8")
    return path


class Truth:
    """Brute force over token sequences with Lark's interactive LALR parser."""

    def __init__(self, parser: Lark, max_tokens: int) -> None:
        self.parser = parser
        terminals = {t.name: t for t in parser.terminals}
        names = sorted({s.name for r in parser.rules for s in r.expansion if s.is_term})
        self.values = {n: literals(terminals[n]) or ("?",) for n in names}
        self.counts: list[int] = [0] * (max_tokens + 1)  # strings accepted, by length
        self.shortest_tokens: tuple[tuple[str, str], ...] | None = None
        self._walk(parser.parse_interactive(""), (), max_tokens)

    def __repr__(self) -> str:
        return f"Truth({self.counts})"

    def _walk(self, state: object, prefix: tuple[tuple[str, str], ...], left: int) -> None:
        if _accepts(state):
            weight = 1
            for name, _ in prefix:
                weight *= len(self.values[name])
            self.counts[len(prefix)] += weight
            if self.shortest_tokens is None or len(prefix) < len(self.shortest_tokens):
                self.shortest_tokens = prefix
        if left == 0:
            return
        for name, values in self.values.items():
            trial = state.copy()  # type: ignore[attr-defined]
            try:
                trial.feed_token(Token(name, values[0]))
            except UnexpectedInput:
                continue
            self._walk(trial, prefix + ((name, values[0]),), left - 1)

    def total(self, max_tokens: int) -> int:
        """How many strings of at most `max_tokens` tokens the parser accepts."""
        return sum(self.counts[: max_tokens + 1])


def _accepts(state: object) -> bool:
    try:
        state.copy().feed_eof()  # type: ignore[attr-defined]
    except UnexpectedInput:
        return False
    return True
