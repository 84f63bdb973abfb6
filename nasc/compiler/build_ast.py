"""Lark tree -> typed AST: one Transformer per kind, one method per grammar rule.

Rules that a custom grammar `%import`s arrive namespaced (`cnn__conv`); the
names are made local first, so a custom space keeps the built-in semantics.
"""

from __future__ import annotations

from typing import Any

from lark import Token, Transformer, Tree, v_args

from nasc.compiler.ast import Arch, CnnArch, Inject, Layer, Node, RnnCell, Span
from nasc.compiler.read_cells import read_space_arch
from nasc.errors import NascError
from nasc.grammar.semantics import Semantics
from nasc.grammar.terminals import local_name


def _span(item: Token | Any) -> Span:
    return Span(getattr(item, "line", 0) or 0, getattr(item, "column", 0) or 0)


@v_args(meta=True)
class CnnBuilder(Transformer):
    """`start`, `conv`, `maxpool`, `avgpool`, `kernel`, `stride`, `inputs` of cnn.lark."""

    def start(self, meta: Any, layers: list[Any]) -> CnnArch:
        for layer in layers:
            if isinstance(layer, Tree):  # a layer kind the cnn semantics does not know
                raise NascError(
                    f"the cnn semantics reads layers conv, maxpool and avgpool, not "
                    f"{layer.data!r}: to add a kind of layer, declare the space's own "
                    f"semantics (docs/language.md, \"Writing a space from scratch\")")
        return CnnArch(tuple(layers))

    def kernel(self, meta: Any, sizes: list[Token]) -> tuple[str, tuple[int, int]]:
        return "kernel", (int(sizes[0]), int(sizes[1]))

    def stride(self, meta: Any, value: list[Token]) -> tuple[str, int]:
        return "stride", int(value[0])

    def inputs(self, meta: Any, refs: list[Token]) -> tuple[str, list[Token]]:
        return "inputs", refs

    def conv(self, meta: Any, children: list[Any]) -> Layer:
        return self._layer("conv", meta, children)

    def maxpool(self, meta: Any, children: list[Any]) -> Layer:
        return self._layer("maxpool", meta, children)

    def avgpool(self, meta: Any, children: list[Any]) -> Layer:
        return self._layer("avgpool", meta, children)

    def _layer(self, op: str, meta: Any, children: list[Any]) -> Layer:
        parts: dict[str, Any] = dict(c for c in children if isinstance(c, tuple))
        filters = [int(c) for c in children if isinstance(c, Token)]
        if op != "conv" and filters:
            raise NascError(f"{op} takes no filter count, but its rule has a token "
                            f"{str(filters[0])!r} the cnn semantics cannot place")
        if "kernel" not in parts:
            raise NascError(f"{op} has no kernel: the cnn semantics reads it from a `kernel` "
                            f"rule (KERNEL_HEIGHT \"x\" KERNEL_WIDTH)")
        refs: list[Token] = parts.get("inputs", [])
        return Layer(
            op=op,
            kernel=parts["kernel"],
            filters=filters[0] if filters else None,
            stride=parts.get("stride", 1),
            inputs=tuple(int(r) for r in refs),
            span=Span(meta.line, meta.column),
            input_spans=tuple(_span(r) for r in refs),
        )


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


BUILDERS: dict[str, type[Transformer]] = {"sequence": CnnBuilder, "tree": RnnBuilder}


def build_ast(tree: Tree, text: str, semantics: Semantics) -> Arch:
    """Turn a parse tree into its AST, as the space's semantics say to read it."""
    for subtree in tree.iter_subtrees():
        subtree.data = local_name(str(subtree.data))
    if semantics.lowering == "skeleton":
        return read_space_arch(tree, text, semantics)
    result: Arch = BUILDERS[semantics.lowering]().transform(tree)
    return result
