"""Lark tree -> `SpaceArch` for spaces whose semantics declare DAG cells.

Each `[cells.NAME]` of the semantics names the rule whose subtree holds the
cell, the rule (or alias) of a node and of an edge, the terminal whose text is
the edge's op and the terminals whose text is its source (none: each node's
edge reads the previous state, a chain of layers). Nodes and edges are read in
the order the text writes them.
"""

from __future__ import annotations

from lark import Token, Tree

from nasc.compiler.ast import Block, Cell, Edge, SpaceArch, Span
from nasc.grammar.semantics import BlockSpec, CellSpec, Semantics, op_name
from nasc.grammar.terminals import local_name


def read_space_arch(tree: Tree, text: str, semantics: Semantics) -> SpaceArch:
    """The cells of one architecture (the tree's rule names already local)."""
    cells = tuple(_read_cell(tree, spec) for spec in semantics.cells.values())
    blocks = tuple(block for spec in semantics.blocks.values()
                   for block in _read_blocks(tree, spec))
    return SpaceArch(" ".join(text.split()), cells, blocks, semantics)


def _read_blocks(tree: Tree, spec: BlockSpec) -> list[Block]:
    """Each subtree of `spec.rule` is one block; a bound terminal gives its number, or
    True where its text is a word (a flag such as `se`); an absent one gives nothing."""
    blocks = []
    subtrees = [t for t in tree.iter_subtrees_topdown() if t.data == spec.rule]
    for position, sub in enumerate(subtrees):
        values = sub.scan_values(lambda v: isinstance(v, Token))
        tokens = {local_name(t.type): str(t) for t in values}
        args = dict(spec.fixed[position]) if position < len(spec.fixed) else {}
        for arg, terminal in spec.args.items():
            if terminal in tokens:
                args[arg] = _value(tokens[terminal])
        op = op_name(tokens[spec.op]) if spec.op in tokens else spec.op
        repeat = int(tokens[spec.repeat]) if spec.repeat in tokens else 1
        blocks.append(Block(spec.name, op, tuple(sorted(args.items())), repeat))
    return blocks


def _value(text: str) -> int | bool:
    return int(text) if text.strip().isdigit() else True


def _read_cell(tree: Tree, spec: CellSpec) -> Cell:
    root = next((t for t in tree.iter_subtrees_topdown() if t.data == spec.rule), None)
    if root is None:
        return Cell(spec.name, ())
    nodes = [t for t in root.iter_subtrees_topdown() if t.data in spec.node]
    if spec.edge is None:
        return Cell(spec.name, tuple((_layer(node, spec, spec.inputs + k),)
                                     for k, node in enumerate(nodes)))
    return Cell(spec.name, tuple(tuple(_edges(node, spec, spec.inputs + k - 1))
                                 for k, node in enumerate(nodes)))


def _layer(node: Tree, spec: CellSpec, index: int) -> Edge:
    """A layer-mode node: its op (token or rule name), anchors and tokens."""
    tokens = [t for t in node.scan_values(lambda v: isinstance(v, Token))]
    op = next((op_name(str(t)) for t in tokens if local_name(t.type) == spec.op),
              str(node.data))
    anchors = [t for t in tokens if local_name(t.type) in spec.source]
    default = index - 1 if spec.default_source == "previous" else 0
    span = Span(node.meta.line, node.meta.column) if not node.meta.empty else Span(1, 1)
    return Edge(op, default, span, tuple(int(str(t)) for t in anchors),
                tuple((local_name(t.type), str(t)) for t in tokens if t.type),
                tuple(Span(t.line or 0, t.column or 0) for t in anchors))


def _edges(node: Tree, spec: CellSpec, previous: int) -> list[Edge]:
    """The edges of one node; without source terminals, an edge reads the previous state."""
    edges = []
    for edge in node.iter_subtrees_topdown():
        if edge.data != spec.edge:
            continue
        tokens = [t for t in edge.scan_values(lambda v: isinstance(v, Token))]
        op = next(t for t in tokens if local_name(t.type) == spec.op)
        sources = [t for t in tokens if local_name(t.type) in spec.source]
        index = int(str(sources[0]).strip().lstrip("~")) if sources else previous
        edges.append(Edge(op_name(str(op)), index, Span(op.line or 0, op.column or 0)))
    return edges
