"""Semantic checks on the AST: what a grammar cannot say.

`check(arch)` returns (span, message) pairs, empty when the architecture is
valid. For spaces with declared cells: numbers a layer reads into its op's
arguments are at least 1 (kernel, filters, stride), and anchor lists (`cnn`'s
`from`) name earlier layers only, once each. For `rnn`
(whose built-in grammar already fixes the tree's shape): the node count, and
`inject` / `cell` node indices in range, for custom grammars that loosen them.
"""

from __future__ import annotations

from functools import singledispatch

from nasc.compiler.ast import Edge, PlainArch, RnnCell, SpaceArch, Span
from nasc.grammar.semantics import CellSpec
from nasc.grammar.terminals import describe

Problem = tuple[Span, str]


@singledispatch
def check(arch: object) -> list[Problem]:
    raise TypeError(f"no checks for {type(arch).__name__}")


@check.register
def _check_space(arch: SpaceArch) -> list[Problem]:
    """Every declared cell is present with at least one node; edges read earlier states."""
    problems: list[Problem] = []
    for name, spec in arch.semantics.cells.items():
        cell = arch.cell(name)
        if not cell.nodes:
            what = f"an architecture needs at least one {spec.label}" if spec.label else \
                f"cell {name!r} has no nodes"
            problems.append((Span(1, 1), what))
        for k, edges in enumerate(cell.nodes):
            index = spec.inputs + k
            if not edges:
                problems.append((Span(1, 1), f"{spec.what(index)} has no edges"))
            problems += [(edge.span, f"{spec.what(index)} cannot read {edge.source}: "
                                     f"an edge reads an earlier state (0-{index - 1})")
                         for edge in edges if edge.source >= index]
            for edge in edges:
                problems += _check_sizes(spec, index, edge) + _check_anchors(spec, index, edge)
    return problems


def _check_sizes(spec: CellSpec, index: int, edge: Edge) -> list[Problem]:
    """Sizes a custom grammar may let through but no network has: a layer's numbers read
    into its op's arguments (`@NAME`: kernel, filters, stride) are at least 1."""
    return [(edge.span, f"{spec.what(index)}: {describe(None, terminal)} must be "
                        f"at least 1, got {value}")
            for terminal, value in edge.tokens
            if terminal not in spec.source and value.isdigit() and int(value) < 1]


def _check_anchors(spec: CellSpec, index: int, edge: Edge) -> list[Problem]:
    """A layer-mode node's anchors name earlier nodes, each once."""
    problems: list[Problem] = []
    seen: set[int] = set()
    spans = edge.anchor_spans or (edge.span,) * len(edge.anchors)
    for anchor, span in zip(edge.anchors, spans, strict=True):
        message = _anchor_problem(spec, index, anchor, seen)
        if message:
            problems.append((span, message))
        seen.add(anchor)
    return problems


def _anchor_problem(spec: CellSpec, index: int, anchor: int, seen: set[int]) -> str | None:
    first, word = spec.first_source, spec.anchor_word or "an anchor list"
    label = spec.label or "node"
    if anchor < first:
        reads = "the image" if spec.default_source == "input" else "the previous one"
        return (f"there is no {label} {anchor}: {label}s are numbered from {first} "
                f"(a {label} without {word} reads {reads})")
    if anchor == index:
        return f"{spec.what(index)} cannot read itself"
    if anchor > index:
        earlier = f"it has no earlier {label}" if index == first else f"use {first}-{index - 1}"
        return (f"{spec.what(index)} cannot read {label} {anchor}: {word} names earlier "
                f"{label}s only ({earlier})")
    if anchor in seen:
        return f"{label} {anchor} is listed twice in {word}"
    return None


@check.register
def _check_plain(arch: PlainArch) -> list[Problem]:
    return []  # a validity-only space: the grammar says it all


@check.register
def _check_rnn(arch: RnnCell) -> list[Problem]:
    base, size = arch.base, 2 * arch.base - 1
    if base < 2 or base & (base - 1):
        return [(arch.span, f"base must be a power of two, at least 2, got {base}")]
    problems: list[Problem] = []
    if len(arch.nodes) != size:
        problems.append((arch.span, f"a base-{base} tree has {size} nodes, got {len(arch.nodes)}"))
    for what, index, span in (("inject", arch.inject.node, arch.inject.span),
                              ("cell", arch.cell, arch.cell_span)):
        if not 0 <= index < size:
            problems.append((span, f"{what} node index {index} out of range: "
                                   f"a base-{base} tree has nodes 0-{size - 1}"))
    return problems
