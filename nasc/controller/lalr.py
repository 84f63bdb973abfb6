"""The exact next-token automaton, run directly on Lark's LALR tables.

A parser configuration is the LALR state stack (a tuple of ints). `feed()`
simulates what Lark's parser does with one terminal: the reductions it
triggers, then a shift (or, for `$END`, acceptance). A terminal is acceptable
exactly when that simulation ends in a shift, so the next-token sets are exact
(Lark's `choices()` is only a superset: LALR merges lookaheads).

Minimal completion costs (in tokens, and in `layer` reductions) are exact for
every stack: `completion.py` computes them from the same tables.
"""

from __future__ import annotations

import math

from lark.parsers.lalr_analysis import Shift

from nasc.controller.completion import Completion
from nasc.grammar.terminals import local_name

END = "$END"
Stack = tuple[int, ...]


class LRTables:
    """Lark's LALR table for one grammar, with feeding and completion costs."""

    def __init__(self, lark_parser: object, layer_rules: tuple[str, ...] = ("layer",),
                 anchor_terminals: tuple[str, ...] = ()) -> None:
        inner = lark_parser.parser.parser  # type: ignore[attr-defined]
        table = inner._parse_table
        conf = inner.parser_conf
        self.start_name: str = conf.start[0]
        self.states: dict[int, dict[str, tuple]] = table.states
        self.start_state: int = table.start_states[self.start_name]
        self.end_state: int = table.end_states[self.start_name]
        self.rules = list(conf.rules)
        self.terminals = sorted(self._terminal_names())
        self.layer_origins = {  # a reduction of one of these adds a layer
            r.origin.name for r in self.rules
            if local_name(str(r.alias or r.origin.name)) in layer_rules
        }
        self.anchor_rules = {  # the rules that list anchors (`inputs: "from" LAYER_NUMBER ...`)
            r.origin.name for r in self.rules
            if any(s.is_term and local_name(s.name) in anchor_terminals for s in r.expansion)
        }
        self.min_tokens = _min_yields(self.rules, lambda name: 1, set())
        self.min_layers = _min_yields(self.rules, lambda name: 0, self.layer_origins)
        self.free: set[str] = set()
        self._costs: dict[bool, Completion] = {}

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

    # -- completion costs -------------------------------------------------------

    def set_free(self, terminals: set[str]) -> None:
        """Terminals that cost no token (a `cnn` layer's `from` list); before any cost."""
        self.free = set(terminals)
        self._costs.clear()

    def _model(self, layers: bool) -> Completion:
        model = self._costs.get(layers)
        if model is None:
            token = (lambda t: 0) if layers else (lambda t: int(t not in self.free))
            reduce = (lambda a: int(a in self.layer_origins)) if layers else (lambda a: 0)
            model = Completion(self.states, self.end_state, set(self.terminals), token, reduce)
            self._costs[layers] = model
        return model

    def completion(self, stack: Stack, layers: bool = False) -> float:
        """Fewest tokens (or `layer` reductions) that complete `stack`; inf if none.

        Exact for the language of Lark's parser: see `completion.py`. A stack that
        `feed(.., END)` accepted costs nothing more."""
        if len(stack) == 2 and stack[-1] == self.end_state:
            return 0.0
        return self._model(layers).cost(stack)

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
                if terminal == END or terminal in self.free:  # free ones could repeat forever
                    continue
                fed = self.feed(stack, terminal)
                if fed and self.completion(fed[0]) == need - 1:
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
