"""Lark tree -> `RnnCell` for spaces whose semantics declare a recurrent [tree].

The nodes are the subtrees of the declared `node` rule in the order the text
writes them (leaves first, the root last); each reads its combine and
activation from the declared terminals, mapped through [ops] where the space
renames them. The `inject` and `cell` rules name nodes by an `index` token.
"""

from __future__ import annotations

from lark import Token, Tree

from nasc.compiler.ast import Inject, Node, RnnCell, Span
from nasc.errors import NascError
from nasc.grammar.semantics import Semantics, TreeSpec
from nasc.grammar.terminals import local_name


def read_tree_cell(tree: Tree, semantics: Semantics) -> RnnCell:
    """The cell one architecture's parse tree spells (rule names already local)."""
    spec = semantics.tree
    assert spec is not None
    nodes = tuple(_node(t, spec, semantics) for t in tree.iter_subtrees_topdown()
                  if t.data == spec.node)
    inject, cell = _one(tree, spec.inject), _one(tree, spec.cell)
    index, combine, activation = _token(inject, spec.index), _token(inject, (spec.combine,)), \
        _token(inject, (spec.activation,))
    cell_index = _token(cell, spec.index)
    base = (len(nodes) + 1) // 2
    return RnnCell(base, nodes, Inject(int(index), _op(combine, semantics),
                                       _op(activation, semantics), span=_span(index)),
                   int(cell_index), _span(tree), _span(cell_index))


def _node(node: Tree, spec: TreeSpec, semantics: Semantics) -> Node:
    combine = _token(node, (spec.combine,))
    activation = _token(node, (spec.activation,))
    return Node(_op(combine, semantics), _op(activation, semantics), span=_span(node))


def _one(tree: Tree, rule: str) -> Tree:
    found = [t for t in tree.iter_subtrees_topdown() if t.data == rule]
    if len(found) != 1:
        raise NascError(f"a recurrent cell has one `{rule}`, this text has {len(found)}")
    return found[0]


def _token(tree: Tree, terminals: tuple[str, ...]) -> Token:
    for token in tree.scan_values(lambda v: isinstance(v, Token)):
        if local_name(token.type) in terminals:
            return token
    raise NascError(f"rule {tree.data!r} has no {' or '.join(terminals)} token")


def _op(token: Token, semantics: Semantics) -> str:
    word = str(token)
    return semantics.ops[word].op if word in semantics.ops else word


def _span(item: Tree | Token) -> Span:
    if isinstance(item, Token):
        return Span(item.line or 0, item.column or 0)
    return Span(1, 1) if item.meta.empty else Span(item.meta.line, item.meta.column)
