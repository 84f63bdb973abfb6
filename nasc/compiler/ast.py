"""The typed AST of the built-in languages.

The front end (`frontend.py`) turns a Lark tree into these frozen dataclasses;
everything after it (semantic checks, lowering to the graph IR, the JSON form
of `nasc validate --json`) reads only these. Source positions ride along in
`Span` fields that take no part in equality, so two architectures compare equal
when they mean the same thing, however they were written.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any


@dataclass(frozen=True)
class Span:
    """Where a piece of the AST came from: 1-based line and column."""

    line: int
    column: int

    def __repr__(self) -> str:
        return f"{self.line}:{self.column}"


NO_SPAN = Span(0, 0)


# --- rnn ---------------------------------------------------------------------

COMBINES = ("add", "mul")
ACTIVATIONS = ("identity", "tanh", "relu", "sigmoid")


@dataclass(frozen=True)
class Node:
    """One tree node: how it combines its two inputs, then its activation."""

    combine: str  # "add" | "mul"
    activation: str  # "identity" | "tanh" | "relu" | "sigmoid"
    span: Span = field(default=NO_SPAN, compare=False)

    def __str__(self) -> str:
        return f"{self.combine} {self.activation}"

    def to_json(self) -> dict[str, Any]:
        return {"combine": self.combine, "activation": self.activation}


@dataclass(frozen=True)
class Inject:
    """`inject N: COMBINE ACT`: node N's output a_N becomes ACT(COMBINE(a_N, c_{t-1}))."""

    node: int
    combine: str
    activation: str
    span: Span = field(default=NO_SPAN, compare=False)

    def __str__(self) -> str:
        return f"inject {self.node}: {self.combine} {self.activation}"

    def to_json(self) -> dict[str, Any]:
        return {"node": self.node, "combine": self.combine, "activation": self.activation}


@dataclass(frozen=True)
class RnnCell:
    """An `rnn` cell: a complete binary tree with `base` leaves (2*base - 1 nodes).

    Nodes are numbered leaves first, then each level left to right, root last.
    `cell` names the node whose pre-activation value becomes c_t.
    """

    base: int
    nodes: tuple[Node, ...]
    inject: Inject
    cell: int
    span: Span = field(default=NO_SPAN, compare=False)
    cell_span: Span = field(default=NO_SPAN, compare=False)

    space = "rnn"

    def __str__(self) -> str:
        parts = [f"rnn base {self.base}"]
        parts += [f"{i}: {node}" for i, node in enumerate(self.nodes)]
        parts += [str(self.inject), f"cell {self.cell}"]
        return "; ".join(parts)

    def __repr__(self) -> str:
        return f"RnnCell(base {self.base}, {len(self.nodes)} nodes)"

    def children(self, index: int) -> tuple[int, int] | None:
        """The two nodes that node `index` combines, or None for a leaf."""
        if index < self.base:
            return None
        level_start, width = 0, self.base
        while index >= level_start + width:
            level_start, width = level_start + width, width // 2
        left = level_start - 2 * width + 2 * (index - level_start)
        return left, left + 1

    def to_json(self) -> dict[str, Any]:
        return {
            "base": self.base,
            "nodes": [node.to_json() for node in self.nodes],
            "inject": self.inject.to_json(),
            "cell": self.cell,
        }


# --- spaces with declared semantics (a skeleton filled with cells) ---------------
@dataclass(frozen=True)
class Edge:
    """One edge of a DAG cell: op `op` applied to state `source`. In a layer-mode cell a
    node is one edge whose `anchors` are the states its token list names (the op reads
    them, or they are added to its output), `source` the state read without anchors;
    `tokens` are the node's tokens by terminal, for arguments read from them (`@NAME`)."""

    op: str
    source: int
    span: Span = field(default=NO_SPAN, compare=False)
    anchors: tuple[int, ...] = ()
    tokens: tuple[tuple[str, str], ...] = ()
    anchor_spans: tuple[Span, ...] = field(default=(), compare=False)
    text: str = field(default="", compare=False)  # layer mode: as written, less the anchors

    def __str__(self) -> str:
        if self.anchors:
            return f"{self.op}<-{','.join(map(str, self.anchors))}"
        return f"{self.op}~{self.source}"

    def to_json(self) -> dict[str, Any]:
        out: dict[str, Any] = {"op": self.op, "source": self.source}
        if self.anchors:
            out["anchors"] = list(self.anchors)
        return out


@dataclass(frozen=True)
class Cell:
    """A DAG cell as the genotype spells it: per node (after the inputs), its edges."""

    name: str
    nodes: tuple[tuple[Edge, ...], ...]

    def __str__(self) -> str:
        return f"{self.name}: " + " + ".join(" ".join(map(str, n)) for n in self.nodes)

    def to_json(self) -> dict[str, Any]:
        return {"nodes": [[edge.to_json() for edge in node] for node in self.nodes]}


@dataclass(frozen=True)
class Block:
    """One block of a block sequence: its op, the arguments its tokens gave, its repeats."""

    name: str  # the [blocks.NAME] it belongs to
    op: str
    args: tuple[tuple[str, Any], ...]
    repeat: int = 1

    def __str__(self) -> str:
        args = " ".join(f"{k}={v}" for k, v in self.args)
        return f"{self.op}({args}) x{self.repeat}"

    def to_json(self) -> dict[str, Any]:
        return {"op": self.op, "args": dict(self.args), "repeat": self.repeat}


@dataclass(frozen=True)
class Layer:
    """A node of a layer-mode cell, with the arguments its tokens give, readable as
    attributes: `conv 3x5 48 from 1` is op "conv", kernel (3, 5), filters 48, stride 1,
    inputs (1,)."""

    op: str
    args: tuple[tuple[str, Any], ...]
    inputs: tuple[int, ...] = ()

    def __getattr__(self, name: str) -> Any:
        for key, value in self.args:
            if key == name:
                return value
        raise AttributeError(f"layer {self.op!r} has no argument {name!r}")

    def __repr__(self) -> str:
        return f"Layer({self.op}, {dict(self.args)}, inputs={list(self.inputs)})"


@dataclass(frozen=True)
class SpaceArch:
    """An architecture of a space with declared semantics: its cells, read from the text.

    `semantics` (not compared) says how it lowers: the skeleton the cells fill.
    """

    text: str = field(compare=False)  # as written (layout normalised)
    cells: tuple[Cell, ...]
    blocks: tuple[Block, ...] = ()
    semantics: Any = field(default=None, compare=False, repr=False)
    spell: Any = field(default=None, compare=False, repr=False)  # () -> canonical text
    space = "cnn"  # the kind of network: an image classifier

    def __str__(self) -> str:
        """The text spelled as samples are (`conv 3x3 36; conv 5x5 48 from 1`)."""
        return (self.spell() if self.spell else None) or self.text

    def __repr__(self) -> str:
        return f"SpaceArch({self.text!r})"

    def cell(self, name: str) -> Cell:
        return next(c for c in self.cells if c.name == name)

    @property
    def layers(self) -> list[Layer]:
        """The nodes of its labelled layer-mode cells (`cnn`'s layers), in order."""
        rows = [row for listed in self._labelled_rows().values() for row in listed]
        return [Layer(row["op"], tuple((k, tuple(v) if isinstance(v, list) else v)
                                       for k, v in row.items() if k not in ("op", "inputs")),
                      tuple(row["inputs"])) for row in rows]

    def to_json(self) -> dict[str, Any]:
        """Text, cells and blocks; a labelled layer-mode cell also lists its nodes with their
        arguments under the label's plural (`cnn`: `"layers"`)."""
        out: dict[str, Any] = {"text": str(self),
                               "cells": {c.name: c.to_json() for c in self.cells},
                               "blocks": [b.to_json() for b in self.blocks]}
        out.update(self._labelled_rows())
        return out

    def _labelled_rows(self) -> dict[str, list[dict[str, Any]]]:
        """The label's plural -> each node's JSON row, for labelled layer-mode cells."""
        from nasc.compiler.read_cells import layer_json

        cells = self.semantics.cells.values() if self.semantics else ()
        return {f"{spec.label}s": [layer_json(spec, self.semantics.ops, node)
                                   for (node,) in self.cell(spec.name).nodes]
                for spec in cells if spec.label and spec.edge is None}


# --- validity-only spaces ----------------------------------------------------


@dataclass(frozen=True)
class PlainArch:
    """A string of a validity-only space (kind "none"): valid, with nothing to compile."""

    text: str

    space = "none"

    def __str__(self) -> str:
        return self.text

    def __repr__(self) -> str:
        return f"PlainArch({self.text!r})"

    def to_json(self) -> dict[str, Any]:
        return {"text": self.text}


Arch = RnnCell | SpaceArch | PlainArch
