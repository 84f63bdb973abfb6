"""Lark tree -> typed AST, as the space's semantics say to read it.

Rules that a custom grammar `%import`s arrive namespaced (`cnn__conv`); the
names are made local first, so a custom space keeps the built-in semantics.
"""

from __future__ import annotations

from typing import Any

from lark import Token, Transformer, Tree, v_args

from nasc.compiler.ast import Arch, Inject, Node, RnnCell, Span
from nasc.compiler.read_cells import read_space_arch
from nasc.grammar.semantics import Semantics
from nasc.grammar.terminals import local_name


def _span(item: Token | Any) -> Span:
    return Span(getattr(item, "line", 0) or 0, getattr(item, "column", 0) or 0)


@v_args(meta=True)
class RnnBuilder(Transformer):
    """`start`, `tree2`/`tree8`, `node`, `inject`, `cell` of rnn.lark."""

    def start(self, meta: Any, children: list[Any]) -> RnnCell:
        return children[0]

    def tree2(self, meta: Any, children: list[Any]) -> RnnCell:
        return self._tree(2, meta, children)

    def tree8(self, meta: Any, children: list[Any]) -> RnnCell:
        return self._tree(8, meta, children)

    def node(self, meta: Any, children: list[Token]) -> Node:
        return Node(str(children[0]), str(children[1]), span=Span(meta.line, meta.column))

    def inject(self, meta: Any, children: list[Token]) -> Inject:
        node, combine, activation = children
        return Inject(int(node), str(combine), str(activation), span=_span(node))

    def cell(self, meta: Any, children: list[Token]) -> tuple[str, int, Span]:
        return "cell", int(children[0]), _span(children[0])

    def _tree(self, base: int, meta: Any, children: list[Any]) -> RnnCell:
        nodes = tuple(c for c in children if isinstance(c, Node))
        inject = next(c for c in children if isinstance(c, Inject))
        _, cell, cell_span = next(c for c in children if isinstance(c, tuple))
        return RnnCell(base, nodes, inject, cell, Span(meta.line, meta.column), cell_span)


BUILDERS: dict[str, type[Transformer]] = {"tree": RnnBuilder}


def build_ast(tree: Tree, text: str, semantics: Semantics) -> Arch:
    """Turn a parse tree into its AST, as the space's semantics say to read it."""
    for subtree in tree.iter_subtrees():
        subtree.data = local_name(str(subtree.data))
    if semantics.lowering == "skeleton":
        return read_space_arch(tree, text, semantics)
    result: Arch = BUILDERS[semantics.lowering]().transform(tree)
    return result
