"""Lark tree -> `SpaceArch` for spaces whose semantics declare DAG cells.

Each `[cells.NAME]` of the semantics names the rule whose subtree holds the
cell, the rule (or alias) of a node and of an edge, the terminal whose text is
the edge's op and the terminals whose text is its source. Nodes and edges are
read in the order the text writes them.
"""

from __future__ import annotations

from lark import Token, Tree

from nasc.compiler.ast import Cell, Edge, SpaceArch, Span
from nasc.grammar.semantics import CellSpec, Semantics
from nasc.grammar.terminals import local_name


def read_space_arch(tree: Tree, text: str, semantics: Semantics) -> SpaceArch:
    """The cells of one architecture (the tree's rule names already local)."""
    cells = tuple(_read_cell(tree, spec) for spec in semantics.cells.values())
    return SpaceArch(" ".join(text.split()), cells, semantics)


def _read_cell(tree: Tree, spec: CellSpec) -> Cell:
    root = next((t for t in tree.iter_subtrees_topdown() if t.data == spec.rule), None)
    if root is None:
        return Cell(spec.name, ())
    nodes = [t for t in root.iter_subtrees_topdown() if t.data == spec.node]
    return Cell(spec.name, tuple(tuple(_edges(node, spec)) for node in nodes))


def _edges(node: Tree, spec: CellSpec) -> list[Edge]:
    edges = []
    for edge in node.iter_subtrees_topdown():
        if edge.data != spec.edge:
            continue
        tokens = [t for t in edge.scan_values(lambda v: isinstance(v, Token))]
        op = next(t for t in tokens if local_name(t.type) == spec.op)
        source = next(t for t in tokens if local_name(t.type) in spec.source)
        digits = str(source).strip().lstrip("~")
        edges.append(Edge(str(op), int(digits), Span(op.line or 0, op.column or 0)))
    return edges
