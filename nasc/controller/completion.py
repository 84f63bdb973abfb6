"""Exact shortest completions of LALR parser stacks, by weighted pre* saturation.

Lark's parser is a pushdown automaton whose stack holds LALR states and whose
moves are read off its (conflict-resolved) tables. Written as a pushdown
system with control states

    N            nothing read ahead (just after a shift)
    t            terminal t read ahead, not shifted yet (END included)
    (t, r, j)    reducing rule r on lookahead t, j more stack entries to pop

its rules are, for a stack top q:

    <N, q>        -> <t, q>          for each terminal t with an action in q
    <t, q>        -> <N, p q>        shift t to p (cost: one token)
    <t, q>        -> <(t,r,m-1), .>  reduce r = A -> X1..Xm, m >= 1: pop q
    <t, q>        -> <t, g q>        reduce r = A -> (empty): push g = goto(q, A)
    <(t,r,j), q>  -> <(t,r,j-1), .>  j >= 1: pop q (q's accessing symbol is Xj)
    <(t,r,0), q>  -> <t, g q>        push g = goto(q, A) (cost: one layer if A is `layer`)

(the top of the stack written first)

and Lark accepts in <END, end_state ...>. The least cost of reaching acceptance
from every configuration is a regular function of the stack: the weighted
pre* of the accepting configurations (Bouajjani, Esparza and Maler 1997;
Reps, Schwoon, Jha and Melski 2005 for weights), built here by saturation in
order of increasing cost (Knuth's 1977 generalisation of Dijkstra's algorithm:
every derived cost is a sum of non-negative costs, so the first time a
transition is taken off the heap its cost is final). A stack's cost is then
one pass down the stack through that automaton, memoised per stack prefix.
Because the rules are the parser's own tables, the costs are exact for the
language Lark's LALR parser accepts, conflicts resolved as Lark resolves them,
whatever the recursion (left, right, mutual) in the grammar.
"""

from __future__ import annotations

import heapq
import math
from collections.abc import Callable, Hashable

from lark.parsers.lalr_analysis import Shift

FINAL = "$final"  # the automaton's accepting state: reads any stack below for free
NOTHING = "$N"  # control state: nothing read ahead
END = "$END"

Control = Hashable
Weights = dict[Control, float]  # automaton state -> least cost to read the rest and accept


class Completion:
    """Least completion cost of any stack of one LALR table under one cost model.

    `token_cost(terminal)` is what shifting a terminal costs, `reduce_cost(origin)`
    what reducing a rule of that nonterminal costs (0 or 1 each).
    """

    def __init__(self, states: dict[int, dict[str, tuple]], end_state: int, terminals: set[str],
                 token_cost: Callable[[str], int], reduce_cost: Callable[[str], int]) -> None:
        self.states, self.end_state, self.terminals = states, end_state, terminals
        self.token_cost, self.reduce_cost = token_cost, reduce_cost
        self.access = _accessing_symbols(states)
        # rules by what they lead to: (control, top) -> [(control, top, extra symbol, cost)]
        self.pushes: dict[tuple[Control, int], list[tuple[Control, int, int | None, float]]] = {}
        self.pops: list[tuple[Control, int, Control, float]] = []
        self._rules()
        self.by_label = self._saturate()  # top -> [(from, to, cost)]
        self.memo: dict[tuple[int, ...], Weights] = {(): {FINAL: 0.0}}

    def __repr__(self) -> str:
        return f"Completion({sum(map(len, self.by_label.values()))} transitions)"

    def cost(self, stack: tuple[int, ...]) -> float:
        """Least cost of a run from `stack` (just after a shift) to acceptance; inf if none."""
        return self.weights(stack).get(NOTHING, math.inf)

    def weights(self, stack: tuple[int, ...]) -> Weights:
        """For every automaton state, the least cost of reading `stack` top-down to FINAL."""
        known = len(stack)
        while stack[:known] not in self.memo:
            known -= 1
        below = self.memo[stack[:known]]
        for depth in range(known, len(stack)):
            below = self._read(stack[depth], below)
            self.memo[stack[: depth + 1]] = below
        return below

    def _read(self, top: int, below: Weights) -> Weights:
        out: Weights = {FINAL: 0.0}
        for source, target, cost in self.by_label.get(top, ()):
            rest = below.get(target)
            if rest is not None and cost + rest < out.get(source, math.inf):
                out[source] = cost + rest
        return out

    # -- the pushdown system ------------------------------------------------------------

    def _push(self, lhs: tuple[Control, int], control: Control, top: int, extra: int | None,
              cost: float) -> None:
        """Rule <lhs> -> <control, top extra>: `top` is pushed onto `extra` (None: `top`
        replaces lhs's top)."""
        self.pushes.setdefault((control, top), []).append((lhs[0], lhs[1], extra, cost))

    def _rules(self) -> None:
        reductions: set[tuple[str, object]] = set()
        for q, actions in self.states.items():
            for symbol, (kind, arg) in actions.items():
                if symbol not in self.terminals:
                    continue
                self._push((NOTHING, q), symbol, q, None, 0)
                if kind is Shift:
                    self._push((symbol, q), NOTHING, arg, q, self.token_cost(symbol))
                    continue
                size = len(arg.expansion)
                if size:
                    self.pops.append((symbol, q, (symbol, arg, size - 1), 0))
                    reductions.add((symbol, arg))
                else:
                    self._goto(symbol, arg, (symbol, q), q)
        for lookahead, rule in reductions:
            size = len(rule.expansion)  # type: ignore[attr-defined]
            for j in range(1, size):
                wanted = rule.expansion[j - 1].name  # type: ignore[attr-defined]
                for q, symbol in self.access.items():
                    if symbol == wanted:
                        self.pops.append(((lookahead, rule, j), q, (lookahead, rule, j - 1), 0))
            for q in self.states:
                self._goto(lookahead, rule, ((lookahead, rule, 0), q), q)

    def _goto(self, lookahead: str, rule: object, lhs: tuple[Control, int], q: int) -> None:
        origin = rule.origin.name  # type: ignore[attr-defined]
        target = self.states[q].get(origin)
        if target is not None:
            self._push(lhs, lookahead, target[1], q, self.reduce_cost(origin))

    # -- saturation ------------------------------------------------------------------

    def _saturate(self) -> dict[int, list[tuple[Control, Control, float]]]:
        """Every automaton transition (from, top, to) with its least cost."""
        final: dict[tuple[Control, int], dict[Control, float]] = {}
        heap: list[tuple[float, int, Control, int, Control]] = []
        tie = iter(range(1 << 62))  # controls are not ordered: break ties by insertion

        def add(cost: float, source: Control, top: int, target: Control) -> None:
            if target not in final.get((source, top), {}):
                heapq.heappush(heap, (cost, next(tie), source, top, target))

        add(0.0, END, self.end_state, FINAL)
        for source, top, target, cost in self.pops:
            add(cost, source, top, target)
        while heap:
            cost, _, source, top, target = heapq.heappop(heap)
            done = final.setdefault((source, top), {})
            if target in done:
                continue
            done[target] = cost
            for lhs_control, lhs_top, extra, rule_cost in list(self.pushes.get((source, top), ())):
                base = cost + rule_cost
                if extra is None or target == FINAL:
                    add(base, lhs_control, lhs_top, target)
                    continue
                # <lhs> -> <source, top extra>: from `target` the automaton must read `extra`
                self._push((lhs_control, lhs_top), target, extra, None, base)
                for after, more in final.get((target, extra), {}).items():
                    add(base + more, lhs_control, lhs_top, after)
        by_label: dict[int, list[tuple[Control, Control, float]]] = {}
        for (source, top), targets in final.items():
            by_label.setdefault(top, []).extend((source, t, c) for t, c in targets.items())
        return by_label


def _accessing_symbols(states: dict[int, dict[str, tuple]]) -> dict[int, str]:
    """The symbol every state is entered on (LR states have exactly one)."""
    out: dict[int, str] = {}
    for actions in states.values():
        for symbol, (kind, arg) in actions.items():
            if kind is Shift:
                out[arg] = symbol
    return out
