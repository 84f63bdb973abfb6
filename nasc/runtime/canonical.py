"""Dedup keys: architectures with one canonical form are trained once, their result reused.

The form is the compiler's (`nasc.compiler.canonical`, reached through
`nasc.api.canonical`): the one meaning of "same architecture". The key is its
Weisfeiler-Lehman hash; two forms with the same hash are compared by an exact
isomorphism check, and a non-isomorphic one gets a suffixed key (`HASH-1`).
Text that does not compile gets `text:SHA1`.
"""

from __future__ import annotations

import hashlib
import itertools
from typing import Any

import networkx as nx

from nasc.compiler.canonical import form_hash, isomorphic

__all__ = ["Canonicalizer", "canonical_graph", "isomorphic", "wl_hash"]


def canonical_graph(arch: str, space: Any, options: dict[str, Any]) -> nx.DiGraph:
    """The canonical form of `arch` compiled in `space` (raises on invalid text)."""
    from nasc.api import canonical

    return canonical(arch, space, **options)


def wl_hash(graph: nx.DiGraph) -> str:
    """The key of a canonical form (before any collision suffix)."""
    return form_hash(graph)


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
