"""The exact next-token automaton, run directly on Lark's LALR tables.

A parser configuration is the LALR state stack (a tuple of ints). `feed()`
simulates what Lark's parser does with one terminal: the reductions it
triggers, then a shift (or, for `$END`, acceptance). A terminal is acceptable
exactly when that simulation ends in a shift, so the next-token sets are exact
(Lark's `choices()` is only a superset: LALR merges lookaheads).

Minimal completion costs (in tokens, and in `layer` reductions) come from the
LR(0) items of each state, rebuilt here from the grammar's rules and matched to
Lark's state numbers: a stack is completed by finishing one of its top state's
kernel items `A -> a . b` (cost: the cheapest yield of `b`), popping `a` and
taking the goto on `A`. Results are memoised per stack.
"""

from __future__ import annotations

import heapq
import math
from collections.abc import Sequence
from dataclasses import dataclass

from lark.parsers.lalr_analysis import Shift

from nasc.grammar.terminals import local_name

END = "$END"
Stack = tuple[int, ...]


@dataclass(frozen=True)
class Item:
    """A kernel item `origin -> ... . rest`, reduced to what completion needs."""

    origin: str
    popped: int  # symbols before the dot (>= 1 for kernel items, 0 for the root)
    rest: tuple[str, ...]


class LRTables:
    """Lark's LALR table for one grammar, with feeding and completion costs."""

    def __init__(self, lark_parser: object, layer_rule: str = "layer") -> None:
        inner = lark_parser.parser.parser  # type: ignore[attr-defined]
        table = inner._parse_table
        conf = inner.parser_conf
        self.start_name: str = conf.start[0]
        self.states: dict[int, dict[str, tuple]] = table.states
        self.start_state: int = table.start_states[self.start_name]
        self.end_state: int = table.end_states[self.start_name]
        self.rules = list(conf.rules)
        self.terminals = sorted(self._terminal_names())
        self.layer_origins = {
            r.origin.name for r in self.rules if local_name(str(r.origin.name)) == layer_rule
        }
        self.min_tokens = _min_yields(self.rules, lambda name: 1, set())
        self.min_layers = _min_yields(self.rules, lambda name: 0, self.layer_origins)
        self.kernels = self._kernels()
        self._cost_memo: dict[tuple[Stack, bool], float] = {}

    def __repr__(self) -> str:
        return f"LRTables({len(self.states)} states, {len(self.terminals)} terminals)"

    def _terminal_names(self) -> set[str]:
        names = {s.name for r in self.rules for s in r.expansion if s.is_term}
        return names | {END}

    # -- feeding -------------------------------------------------------------

    def feed(self, stack: Stack, terminal: str) -> tuple[Stack, int] | None:
        """The stack after `terminal` and how many `layer` reductions it made, or None."""
        states = self.states
        work = list(stack)
        layers = 0
        while True:
            action = states[work[-1]].get(terminal)
            if action is None:
                return None
            kind, arg = action
            if kind is Shift:
                work.append(arg)
                return tuple(work), layers
            size = len(arg.expansion)
            if size:
                del work[-size:]
            origin = arg.origin.name
            layers += origin in self.layer_origins
            work.append(states[work[-1]][origin][1])
            if terminal == END and work[-1] == self.end_state and len(work) == 2:
                return tuple(work), layers

    def candidates(self, stack: Stack) -> list[str]:
        """Terminals with any action in the top state (acceptable ones are a subset)."""
        return [t for t in self.states[stack[-1]] if t in self._term_set]

    @property
    def _term_set(self) -> set[str]:
        cached = getattr(self, "_terms_cache", None)
        if cached is None:
            cached = set(self.terminals)
            self._terms_cache = cached
        return cached

    # -- LR(0) items ----------------------------------------------------------

    def _kernels(self) -> dict[int, list[Item]]:
        by_origin: dict[str, list[int]] = {}
        for index, rule in enumerate(self.rules):
            by_origin.setdefault(rule.origin.name, []).append(index)
        root = ("$root", 0)
        kernels: dict[int, frozenset] = {self.start_state: frozenset({root})}
        todo = [self.start_state]
        while todo:
            state = todo.pop()
            closure = self._closure(kernels[state], by_origin)
            for symbol, (kind, target) in self.states[state].items():
                if kind is not Shift:
                    continue
                moved = frozenset(
                    (r, d + 1) for r, d in closure if self._next_symbol(r, d) == symbol
                )
                if target not in kernels:
                    kernels[target] = moved
                    todo.append(target)
        return {state: [self._item(r, d) for r, d in items] for state, items in kernels.items()}

    def _closure(self, kernel: frozenset, by_origin: dict[str, list[int]]) -> set:
        items = set(kernel)
        todo = list(kernel)
        while todo:
            rule, dot = todo.pop()
            symbol = self._next_symbol(rule, dot)
            for index in by_origin.get(symbol or "", ()):
                if (index, 0) not in items:
                    items.add((index, 0))
                    todo.append((index, 0))
        return items

    def _next_symbol(self, rule: int | str, dot: int) -> str | None:
        if rule == "$root":
            return self.start_name if dot == 0 else None
        expansion = self.rules[rule].expansion  # type: ignore[index]
        return expansion[dot].name if dot < len(expansion) else None

    def _item(self, rule: int | str, dot: int) -> Item:
        if rule == "$root":
            return Item("$root", dot, () if dot else (self.start_name,))
        r = self.rules[rule]  # type: ignore[index]
        return Item(r.origin.name, dot, tuple(s.name for s in r.expansion[dot:]))

    # -- completion costs -------------------------------------------------------

    def completion(self, stack: Stack, layers: bool = False) -> float:
        """Fewest tokens (or `layer` reductions) that complete `stack`; inf if none."""
        key = (stack, layers)
        cached = self._cost_memo.get(key)
        if cached is None:
            cached = self._complete(stack, layers)
            self._cost_memo[key] = cached
        return cached

    def _yield(self, symbols: Sequence[str], layers: bool) -> float:
        table = self.min_layers if layers else self.min_tokens
        unit = 0 if layers else 1
        return sum(table.get(s, unit) for s in symbols)

    def _complete(self, stack: Stack, layers: bool) -> float:
        if len(stack) == 1:
            return self._yield((self.start_name,), layers)
        prefix = stack[:-1]
        dist = {stack[-1]: 0.0}
        heap = [(0.0, stack[-1])]
        best = math.inf
        while heap:
            d, top = heapq.heappop(heap)
            if d >= best or d > dist.get(top, math.inf):
                continue
            for item in self.kernels.get(top, ()):
                if item.origin == "$root":
                    if len(prefix) == 1 and not item.rest:
                        best = min(best, d)
                    continue
                cost = d + self._yield(item.rest, layers)
                if layers and item.origin in self.layer_origins:
                    cost += 1
                if cost >= best:
                    continue
                goto_from = (prefix + (top,))[-item.popped - 1]
                target = self.states[goto_from][item.origin][1]
                if item.popped == 1:
                    if cost < dist.get(target, math.inf):
                        dist[target] = cost
                        heapq.heappush(heap, (cost, target))
                else:
                    shorter = stack[: len(stack) - item.popped] + (target,)
                    best = min(best, cost + self.completion(shorter, layers))
        return best

    def shortest(self, stack: Stack) -> list[str] | None:
        """One cheapest terminal sequence completing `stack` (greedy on costs)."""
        out: list[str] = []
        while True:
            need = self.completion(stack)
            if need == math.inf:
                return None
            if need == 0 and self.feed(stack, END) is not None:
                return out
            for terminal in self.candidates(stack):
                fed = self.feed(stack, terminal)
                if fed and terminal != END and self.completion(fed[0]) == need - 1:
                    out.append(terminal)
                    stack = fed[0]
                    break
            else:  # pragma: no cover - costs are exact, so a step always exists
                return None


def _min_yields(rules: list, unit_cost: object, counted: set[str]) -> dict[str, float]:
    """Cheapest yield of every nonterminal (terminals cost `unit_cost(name)`)."""
    best: dict[str, float] = {r.origin.name: math.inf for r in rules}
    changed = True
    while changed:
        changed = False
        for rule in rules:
            total = float(rule.origin.name in counted)
            for sym in rule.expansion:
                total += unit_cost(sym.name) if sym.is_term else best[sym.name]  # type: ignore[operator]
            if total < best[rule.origin.name]:
                best[rule.origin.name] = total
                changed = True
    return best
