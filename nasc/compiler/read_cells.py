"""Lark tree -> `SpaceArch` for spaces whose semantics declare DAG cells.

Each `[cells.NAME]` of the semantics names the rule whose subtree holds the
cell, the rule (or alias) of a node and of an edge, the terminal whose text is
the edge's op and the terminals whose text is its source (none: each node's
edge reads the previous state, a chain of layers). Nodes and edges are read in
the order the text writes them.
"""

from __future__ import annotations

from typing import Any

from lark import Token, Tree

from nasc.compiler.ast import Block, Cell, Edge, SpaceArch, Span
from nasc.errors import NascError
from nasc.grammar.semantics import BlockSpec, CellSpec, OpUse, Semantics, op_name, resolve
from nasc.grammar.terminals import local_name


def read_space_arch(tree: Tree, text: str, semantics: Semantics) -> SpaceArch:
    """The cells of one architecture (the tree's rule names already local)."""
    cells = tuple(_read_cell(tree, spec, text, semantics.ops)
                  for spec in semantics.cells.values())
    blocks = tuple(block for spec in semantics.blocks.values()
                   for block in _read_blocks(tree, spec))
    lines = (" ".join(line.split()) for line in text.splitlines())
    return SpaceArch("\n".join(line for line in lines if line), cells, blocks, semantics)


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


def _read_cell(tree: Tree, spec: CellSpec, text: str, ops: dict[str, OpUse]) -> Cell:
    root = next((t for t in tree.iter_subtrees_topdown() if t.data == spec.rule), None)
    if root is None:
        return Cell(spec.name, ())
    nodes = [t for t in root.iter_subtrees_topdown() if t.data in spec.node]
    if spec.edge is None:
        _no_unknown_layers(root, spec)
        return Cell(spec.name, tuple((_layer(node, spec, spec.inputs + k, text, ops),)
                                     for k, node in enumerate(nodes)))
    return Cell(spec.name, tuple(tuple(_edges(node, spec, spec.inputs + k - 1))
                                 for k, node in enumerate(nodes)))


def _no_unknown_layers(root: Tree, spec: CellSpec) -> None:
    """Every subtree directly under a layer-mode cell's rule is (or holds) a node: a layer
    kind the grammar adds but the semantics do not read is an error, never skipped."""
    for child in root.children:
        if isinstance(child, Tree) and child.data not in spec.node and not any(
                t.data in spec.node for t in child.iter_subtrees()):
            kinds = list(spec.node)
            known = ", ".join(kinds[:-1]) + f" and {kinds[-1]}" if len(kinds) > 1 else kinds[0]
            label = spec.label or "node"
            raise NascError(f"the semantics of cell {spec.name!r} reads {label}s {known}, not "
                            f"{str(child.data)!r}: to add a kind of {label}, declare the "
                            f"space's own semantics (docs/language.md, \"Writing a space\")")


def _unread(node: Tree, spec: CellSpec, op: str, use: OpUse | None,
            tokens: list[Token]) -> None:
    """A token that neither names the op, nor is an anchor, nor is read by an argument."""
    read = {spec.op, *spec.source, *(use.terminals_read() if use else ())}
    for token in tokens:
        if local_name(token.type) not in read:
            raise NascError(f"{op} reads no {local_name(token.type)}, but its rule has a token "
                            f"{str(token)!r} that nothing in the semantics reads")


def _layer(node: Tree, spec: CellSpec, index: int, text: str, ops: dict[str, OpUse]) -> Edge:
    """A layer-mode node: its op (token or rule name), anchors, tokens and text."""
    tokens = [t for t in node.scan_values(lambda v: isinstance(v, Token))]
    op = next((op_name(str(t)) for t in tokens if local_name(t.type) == spec.op),
              str(node.data))
    _unread(node, spec, op, ops.get(op), tokens)
    anchors = [t for t in tokens if local_name(t.type) in spec.source]
    default = index - 1 if spec.default_source == "previous" else 0
    span = Span(node.meta.line, node.meta.column) if not node.meta.empty else Span(1, 1)
    return Edge(op, default, span, tuple(int(str(t)) for t in anchors),
                tuple((local_name(t.type), str(t)) for t in tokens if t.type),
                tuple(Span(t.line or 0, t.column or 0) for t in anchors),
                _text_without(node, set(map(id, anchors)), text))


def _text_without(node: Tree, anchors: set[int], text: str) -> str:
    """The node as written, less the subtrees that hold its anchors (`from 1,2`)."""
    if node.meta.empty:
        return ""
    cut = [(c.meta.start_pos, c.meta.end_pos) for c in node.children
           if isinstance(c, Tree) and not c.meta.empty
           and any(id(t) in anchors for t in c.scan_values(lambda v: isinstance(v, Token)))]
    start, pieces = node.meta.start_pos, []
    for begin, end in cut:
        pieces.append(text[start:begin])
        start = end
    pieces.append(text[start:node.meta.end_pos])
    return " ".join("".join(pieces).split())


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


def layer_json(spec: CellSpec, ops: dict[str, OpUse], edge: Edge) -> dict[str, Any]:
    """A layer-mode node as JSON: its op, every argument the cell's ops read from tokens
    (the op's default where the layer has no such token, None where its op takes none),
    and its anchors as `inputs`: `{"op": "conv", "kernel": [3, 3], ..., "inputs": [1]}`."""
    from nasc.compiler.ops.composites import default_of

    uses = [ops[name] for name in spec.node if name in ops]
    names = list(dict.fromkeys(arg for use in uses for arg in use.read_args()))
    use, tokens = ops[edge.op], dict(edge.tokens)
    out: dict[str, Any] = {"op": edge.op}
    for name in names:
        value = resolve(use.args[name], tokens) if name in use.args else None
        if value is None and name in use.args:
            value = default_of(use.op, name)
        out[name] = list(value) if isinstance(value, tuple) else value
    out["inputs"] = list(edge.anchors)
    return out
