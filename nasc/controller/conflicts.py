"""Conflicts Lark resolved in a grammar's LALR tables, and a string they cost.

Where an LALR state may both shift a terminal and reduce a rule on it, Lark
silently shifts (reduce/reduce conflicts refuse to load). The parser, which
`nasc validate` uses and the sampler follows, then accepts a smaller language
than the grammar as written. `conflicts(space)` names each such conflict;
`lost_string(space, tables)` finds a shortest string the grammar derives but
the parser rejects, by enumerating the grammar's strings by length (only run
where there are conflicts, so the built-in spaces pay nothing for it).
"""

from __future__ import annotations

import re
from dataclasses import dataclass

from lark.parsers.lalr_analysis import LALR_Analyzer

from nasc.controller.cycles import written_in
from nasc.controller.lalr import END, LRTables, Stack
from nasc.grammar import Space
from nasc.grammar.terminals import literals, local_name

MAX_LENGTH = 6  # longest string tried (in terminals)
MAX_STRINGS = 20_000  # strings of the grammar generated at most


@dataclass(frozen=True)
class Conflict:
    """Shift/reduce conflicts of one rule: on `terminals`, the parser shifts instead of
    reducing `rule`."""

    rule: str
    terminals: tuple[str, ...]

    def __str__(self) -> str:
        return (f"shift/reduce conflict on {', '.join(self.terminals)}: Lark shifts where "
                f"`{self.rule}` could end")


def conflicts(space: Space) -> list[Conflict]:
    """The shift/reduce conflicts of the grammar's LALR tables, one per rule, in order."""
    inner = space.parser.parser.parser  # type: ignore[attr-defined]
    analyzer = LALR_Analyzer(inner.parser_conf)
    analyzer.compute_lr0_states()
    analyzer.compute_reads_relations()
    analyzer.compute_includes_lookback()
    analyzer.compute_lookaheads()
    found: dict[str, set[str]] = {}
    for itemset in analyzer.lr0_itemsets:
        for lookahead, rules in itemset.lookaheads.items():
            if lookahead not in itemset.transitions:
                continue
            ranked = sorted(rules, key=lambda r: -(r.options.priority or 0))
            rule = _show_rule(space, ranked[0])
            found.setdefault(rule, set()).add(_show_terminal(space, lookahead.name))
    return [Conflict(rule, tuple(sorted(terms))) for rule, terms in sorted(found.items())]


def _show_terminal(space: Space, name: str) -> str:
    words = literals(space.terminals[name]) if name in space.terminals else None
    return repr(words[0]) if words and len(words) == 1 else local_name(name)


def _show_rule(space: Space, rule: object) -> str:
    """`r1: r1 (..)* r2`, as close to the grammar's text as Lark's rules allow."""
    origin = written_in(str(rule.origin.name))  # type: ignore[attr-defined]
    body = []
    for symbol in rule.expansion:  # type: ignore[attr-defined]
        helper = re.match(r"^__.+_(star|plus)_\d+$", symbol.name)
        if symbol.is_term:
            body.append(_show_terminal(space, symbol.name))
        else:
            body.append(("(..)*" if helper[1] == "star" else "(..)+") if helper
                        else local_name(symbol.name))
    return f"{origin}: {' '.join(body) or '<empty>'}"


def lost_string(tables: LRTables, max_length: int = MAX_LENGTH) -> tuple[str, ...] | None:
    """A shortest terminal sequence the grammar derives that the parser rejects, if short."""
    strings = _Strings(tables)
    for length in range(max_length + 1):
        found = strings.of(tables.start_name, length)
        if found is None:
            return None  # too many strings to try
        for terminals in sorted(found):
            if not _accepts(tables, terminals):
                return terminals
    return None


def _accepts(tables: LRTables, terminals: tuple[str, ...]) -> bool:
    stack: Stack | None = (tables.start_state,)
    for terminal in terminals + (END,):
        fed = tables.feed(stack, terminal)  # type: ignore[arg-type]
        if fed is None:
            return False
        stack = fed[0]
    return True


class _Strings:
    """The terminal sequences of each length every nonterminal derives (a fixed point per
    length, so left, right and empty recursion all terminate)."""

    def __init__(self, tables: LRTables) -> None:
        self.rules = tables.rules
        self.table: dict[tuple[str, int], set[tuple[str, ...]]] = {}
        self.size = 0
        self.done = -1

    def of(self, symbol: str, length: int) -> set[tuple[str, ...]] | None:
        while self.done < length:
            if not self._fill(self.done + 1):
                return None
            self.done += 1
        return self.table.get((symbol, length), set())

    def _fill(self, length: int) -> bool:
        changed = True
        while changed:
            changed = False
            for rule in self.rules:
                key = (rule.origin.name, length)
                new = self._derive(rule.expansion, length) - self.table.get(key, set())
                if new:
                    self.table.setdefault(key, set()).update(new)
                    self.size += len(new)
                    changed = True
                if self.size > MAX_STRINGS:
                    return False
        return True

    def _derive(self, expansion: list, length: int) -> set[tuple[str, ...]]:
        partial: dict[int, set[tuple[str, ...]]] = {0: {()}}
        for symbol in expansion:
            grown: dict[int, set[tuple[str, ...]]] = {}
            for used, heads in partial.items():
                for part in range(length - used + 1):
                    tails = self._symbol(symbol, part)
                    if tails and heads:
                        grown.setdefault(used + part, set()).update(
                            h + t for h in heads for t in tails)
            partial = grown
        return partial.get(length, set())

    def _symbol(self, symbol: object, length: int) -> set[tuple[str, ...]]:
        name = symbol.name  # type: ignore[attr-defined]
        if symbol.is_term:  # type: ignore[attr-defined]
            return {(name,)} if length == 1 else set()
        return self.table.get((name, length), set())
