"""Repetition in a grammar: what only a budget can bound.

`repeating_rules(tables)` names the rules on a cycle that adds no `layer`
(nested brackets, a list of tokens): only a token budget bounds them.
`any_recursion(tables)` says whether anything can repeat at all. The `cnn`
`inputs` list is left out: the anchor points bound it.
"""

from __future__ import annotations

import re

import networkx as nx

from nasc.controller.lalr import LRTables
from nasc.grammar.terminals import local_name


def _graph(tables: LRTables, free_only: bool) -> nx.DiGraph:
    """Nonterminal A -> B when A's rule uses B (and, if `free_only`, adds no layer)."""
    graph = nx.DiGraph()
    skip = descendants(tables, tables.anchor_rules)
    for rule in tables.rules:
        origin = rule.origin.name
        if origin in skip or (free_only and origin in tables.layer_origins):
            continue
        names = [s.name for s in rule.expansion]
        for k, sym in enumerate(rule.expansion):
            if sym.is_term:
                continue
            others = names[:k] + names[k + 1:]
            if not free_only or sum(tables.min_layers.get(o, 0) for o in others) == 0:
                graph.add_edge(origin, sym.name)
    return graph


def _cyclic(graph: nx.DiGraph) -> set[str]:
    out: set[str] = set()
    for component in nx.strongly_connected_components(graph):
        if len(component) > 1 or any(graph.has_edge(r, r) for r in component):
            out |= {str(r) for r in component}
    return out


def repeating_rules(tables: LRTables) -> set[str]:
    """Nonterminals that can repeat without adding a layer."""
    return _cyclic(_graph(tables, free_only=True))


def any_recursion(tables: LRTables) -> bool:
    """Whether some rule can repeat (so strings are unboundedly long)."""
    return bool(_cyclic(_graph(tables, free_only=False)))


def needs_tokens(tables: LRTables) -> bool:
    """Whether only a token budget bounds the strings (not the number of layers)."""
    return bool(repeating_rules(tables)) or (not tables.layer_origins and any_recursion(tables))


def descendants(tables: LRTables, roots: set[str]) -> set[str]:
    """Every nonterminal reachable from the rules `roots` (themselves included)."""
    graph = nx.DiGraph()
    for rule in tables.rules:
        for sym in rule.expansion:
            if not sym.is_term:
                graph.add_edge(rule.origin.name, sym.name)
    found = [n for n in graph if n in roots]
    return {d for r in found for d in nx.descendants(graph, r)} | set(found)


def written_in(rule: str) -> str:
    """`__start_plus_0` -> `start`: the rule a Lark repetition helper comes from."""
    found = re.match(r"^__(.+?)_(star|plus)_\d+$", rule)
    return local_name(found[1] if found else rule)
