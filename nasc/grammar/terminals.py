"""What a terminal of a search-space grammar can spell.

A choice in a search space is a terminal such as `KERNEL_HEIGHT: "1" | "3"`.
Lark compiles it to a regular expression; `literals()` turns a finite regular
expression back into the sorted list of strings it matches, and
returns None for an unbounded one (such as `/[0-9]+/`). `describe()` gives the
words error messages use for a terminal.
"""

from __future__ import annotations

import itertools
import re
from functools import lru_cache
from typing import Any

from lark.lexer import PatternStr, TerminalDef

try:  # Python >= 3.11
    from re import _constants as sre_constants
    from re import _parser as sre_parse
except ImportError:  # pragma: no cover - Python 3.10
    import sre_constants  # type: ignore[no-redef]
    import sre_parse  # type: ignore[no-redef]

MAX_LITERALS = 4096

# Friendlier words for the built-in terminals; others are named after themselves.
_WORDS = {
    "LAYER_NUMBER": "layer number",
    "COMBINE": "combine method",
    "_SEP": "a new line",
    "$END": "end of input",
}


@lru_cache(maxsize=4096)
def local_name(name: str) -> str:
    """`cnn__KERNEL_HEIGHT` -> `KERNEL_HEIGHT`: drop the namespace `%import` adds."""
    if name.startswith("__") or "__" not in name.lstrip("_"):
        return name
    underscore = "_" if name.startswith("_") else ""
    return underscore + name.rsplit("__", 1)[1]


class Unbounded(Exception):
    """The pattern matches infinitely many strings (or too many to list)."""


def _expand(parsed: Any) -> list[str]:
    results = [""]
    for op, arg in parsed:
        results = [a + b for a, b in itertools.product(results, _expand_op(op, arg))]
        if len(results) > MAX_LITERALS:
            raise Unbounded
    return results


def _expand_op(op: object, arg: Any) -> list[str]:
    c = sre_constants
    if op is c.LITERAL:
        return [chr(arg)]
    if op is c.SUBPATTERN:
        return _expand(arg[-1])
    if op is c.BRANCH:
        return [s for branch in arg[1] for s in _expand(branch)]
    if op is c.IN:
        return _expand_set(arg)
    if op in (c.MAX_REPEAT, c.MIN_REPEAT):
        low, high, body = arg
        if high is c.MAXREPEAT or high > 64:
            raise Unbounded
        inner = _expand(body)
        return [
            "".join(parts)
            for n in range(low, high + 1)
            for parts in itertools.product(inner, repeat=n)
        ]
    if op in (c.ASSERT, c.ASSERT_NOT, c.AT):
        return [""]  # zero-width: lookarounds and anchors spell nothing
    raise Unbounded


def _expand_set(items: Any) -> list[str]:
    c = sre_constants
    out: list[str] = []
    for op, arg in items:
        if op is c.LITERAL:
            out.append(chr(arg))
        elif op is c.RANGE:
            out += [chr(i) for i in range(arg[0], arg[1] + 1)]
        else:  # NEGATE, CATEGORY (\d, \w): too many to list
            raise Unbounded
    return out


@lru_cache(maxsize=1024)
def _regex_literals(pattern: str, flags: tuple[str, ...]) -> tuple[str, ...] | None:
    if flags:
        return None
    try:
        words = _expand(sre_parse.parse(pattern))
    except (Unbounded, re.error, TypeError, ValueError):
        return None
    unique = list(dict.fromkeys(words))
    numeric = all(w.isdigit() for w in unique)
    return tuple(sorted(unique, key=lambda w: (int(w), w) if numeric else (0, w)))


def literals(terminal: TerminalDef) -> tuple[str, ...] | None:
    """Every string `terminal` matches (numbers in numeric order, words sorted), or None."""
    pattern = terminal.pattern
    if isinstance(pattern, PatternStr):
        return (pattern.value,)
    return _regex_literals(pattern.value, tuple(pattern.flags))


def describe(terminal: TerminalDef | None, name: str) -> str:
    """The words for a terminal in a message: `'conv'`, `kernel height`, `end of input`."""
    base = local_name(name)
    if base in _WORDS:
        return _WORDS[base]
    if terminal is not None and isinstance(terminal.pattern, PatternStr):
        return repr(terminal.pattern.value)
    words = re.sub(r"(_\d+)+$", "", base).strip("_").lower().replace("_", " ")
    return words or base
