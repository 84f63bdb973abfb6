"""Canonical forms of architectures: equal forms are trained once, their result reused.

The form is computed on the compiled IR (no weights): each node labelled by its
op and attributes (names and weight names left out), edges labelled by operand
position except into commutative ops (`add`, `mul`, `concat`, whose operand
order only permutes weights), and an rnn `slice` loses its block index (which
block of the shared projection a leaf reads is a weight permutation). The key
is networkx's Weisfeiler-Lehman hash of that graph; two graphs with the same
hash are compared by an exact isomorphism check, and a non-isomorphic one gets
a suffixed key (`HASH-1`). Text that does not compile gets `text:SHA1`.
"""

from __future__ import annotations

import hashlib
import itertools
import warnings
from typing import Any

import networkx as nx
from networkx.algorithms.isomorphism import categorical_edge_match, categorical_node_match

COMMUTATIVE = {"add", "mul", "concat"}
_DROP_ATTRS = {"weight", "name"}


def canonical_graph(arch: str, space: Any, options: dict[str, Any]) -> nx.DiGraph:
    """The labelled DiGraph of `arch` compiled in `space` (raises on invalid text)."""
    from nasc.api import compile_ir

    graph = compile_ir(arch, space, **options)
    out = nx.DiGraph()
    for n in graph.order():
        op = graph.op(n)
        attrs = {k: v for k, v in graph.attrs(n).items() if k not in _DROP_ATTRS}
        if op == "slice":
            attrs.pop("index", None)
        text = " ".join(f"{k}={v}" for k, v in sorted(attrs.items()))
        out.add_node(n, label=f"{op} {text}".strip())
    for n in graph.order():
        commutative = graph.op(n) in COMMUTATIVE
        for port, arg in enumerate(graph.args(n)):
            out.add_edge(arg, n, port=0 if commutative else port)
    return out


def wl_hash(graph: nx.DiGraph) -> str:
    """Weisfeiler-Lehman hash over node labels and edge ports (in and out edges)."""
    with warnings.catch_warnings():  # networkx 3.5 notes its directed hashes changed
        warnings.simplefilter("ignore", UserWarning)
        return str(nx.weisfeiler_lehman_graph_hash(graph, node_attr="label", edge_attr="port",
                                                   iterations=4, digest_size=16))


def isomorphic(a: nx.DiGraph, b: nx.DiGraph) -> bool:
    return bool(nx.is_isomorphic(a, b, node_match=categorical_node_match("label", None),
                                 edge_match=categorical_edge_match("port", None)))


class Canonicalizer:
    """Maps architecture text to canonical keys, consistent with keys already stored.

    `known` maps each stored key to one architecture of it (graphs are rebuilt
    lazily, only when a hash collides).
    """

    def __init__(self, space: Any, options: dict[str, Any],
                 known: dict[str, str] | None = None) -> None:
        self.space = space
        self.options = options
        self._archs = dict(known or {})
        self._graphs: dict[str, nx.DiGraph] = {}
        self.collisions = 0

    def __repr__(self) -> str:
        return f"Canonicalizer({len(self._archs)} forms, {self.collisions} collisions)"

    def key(self, arch: str) -> str:
        """The canonical key of `arch`."""
        try:
            graph = canonical_graph(arch, self.space, self.options)
        except Exception:  # noqa: BLE001 - invalid children are trained (and fail) once
            return "text:" + hashlib.sha1(arch.encode()).hexdigest()
        base = wl_hash(graph)
        for i in itertools.count():
            key = base if i == 0 else f"{base}-{i}"
            if key not in self._archs:
                self._archs[key], self._graphs[key] = arch, graph
                return key
            if isomorphic(graph, self._graph(key)):
                return key
            self.collisions += 1
        raise AssertionError("unreachable")

    def _graph(self, key: str) -> nx.DiGraph:
        if key not in self._graphs:
            self._graphs[key] = canonical_graph(self._archs[key], self.space, self.options)
        return self._graphs[key]
