"""Semantic checks on the AST: what a grammar cannot say.

`check(arch)` returns (span, message) pairs, empty when the architecture is
valid. For `cnn`: sizes are at least 1 (kernel, filters, stride), and `from`
lists name earlier layers only, once each. For `rnn`
(whose built-in grammar already fixes the tree's shape): the node count, and
`inject` / `cell` node indices in range, for custom grammars that loosen them.
"""

from __future__ import annotations

from functools import singledispatch

from nasc.compiler.ast import CnnArch, Edge, Layer, PlainArch, RnnCell, SpaceArch, Span

Problem = tuple[Span, str]


@singledispatch
def check(arch: object) -> list[Problem]:
    raise TypeError(f"no checks for {type(arch).__name__}")


@check.register
def _check_cnn(arch: CnnArch) -> list[Problem]:
    if not arch.layers:
        return [(Span(1, 1), "an architecture needs at least one layer")]
    problems: list[Problem] = []
    for number, layer in enumerate(arch.layers, start=1):
        problems += _check_sizes(number, layer) + _check_inputs(number, layer)
    return problems


def _check_sizes(number: int, layer: Layer) -> list[Problem]:
    """Sizes a custom grammar may let through but no network has: 0 filters, a 0 kernel."""
    sizes = {"kernel height": layer.kernel[0], "kernel width": layer.kernel[1],
             "stride": layer.stride}
    if layer.filters is not None:
        sizes["filter count"] = layer.filters
    return [(layer.span, f"layer {number}: {what} must be at least 1, got {value}")
            for what, value in sizes.items() if value < 1]


def _check_inputs(number: int, layer: Layer) -> list[Problem]:
    problems: list[Problem] = []
    seen: set[int] = set()
    spans = layer.input_spans or (layer.span,) * len(layer.inputs)
    for ref, span in zip(layer.inputs, spans, strict=True):
        if ref == 0:
            message = ("there is no layer 0: layers are numbered from 1 "
                       "(a layer without `from` reads the image)")
        elif ref == number:
            message = f"layer {number} cannot read itself"
        elif ref > number:
            earlier = "it has no earlier layer" if number == 1 else f"use 1-{number - 1}"
            message = (f"layer {number} cannot read layer {ref}: `from` names earlier "
                       f"layers only ({earlier})")
        elif ref in seen:
            message = f"layer {ref} is listed twice in `from`"
        else:
            seen.add(ref)
            continue
        problems.append((span, message))
    return problems


@check.register
def _check_space(arch: SpaceArch) -> list[Problem]:
    """Every declared cell is present with at least one node; edges read earlier states."""
    problems: list[Problem] = []
    for name, spec in arch.semantics.cells.items():
        cell = arch.cell(name)
        if not cell.nodes:
            problems.append((Span(1, 1), f"cell {name!r} has no nodes"))
        for k, edges in enumerate(cell.nodes):
            index = spec.inputs + k
            if not edges:
                problems.append((Span(1, 1), f"cell {name!r}: node {index} has no edges"))
            problems += [(edge.span, f"cell {name!r}: node {index} cannot read {edge.source}: "
                                     f"an edge reads an earlier state (0-{index - 1})")
                         for edge in edges if edge.source >= index]
            for edge in edges:
                problems += _check_anchors(name, index, edge, spec.first_source)
    return problems


def _check_anchors(cell: str, index: int, edge: Edge, first: int) -> list[Problem]:
    """A layer-mode node's anchors name earlier states, each once."""
    problems: list[Problem] = []
    seen: set[int] = set()
    spans = edge.anchor_spans or (edge.span,) * len(edge.anchors)
    for anchor, span in zip(edge.anchors, spans, strict=True):
        if not first <= anchor < index:
            problems.append((span, f"cell {cell!r}: node {index} cannot read {anchor}: "
                                   f"anchors name earlier nodes only ({first}-{index - 1})"))
        elif anchor in seen:
            problems.append((span, f"cell {cell!r}: node {index} lists {anchor} twice"))
        seen.add(anchor)
    return problems


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
