"""Shape inference: `meta["shape"]` on every node, per sample (no batch dimension).

No weights are allocated: each op's shape rule (`nasc.compiler.ops`) computes
its output shape from its attributes and its operands' shapes. A rule that
cannot apply (a window larger than its input, a sum of different shapes) is a
NascError naming the node: in a user's space that is the space's error.

A shape lowering already set is kept: the space lowering computes each node's
shape by these same rules as it adds the node (its composites read channels).
"""

from __future__ import annotations

from nasc.compiler.ir import Graph
from nasc.compiler.ops import OPS, ShapeError
from nasc.errors import NascError


def infer_shapes(graph: Graph) -> Graph:
    """A copy of `graph` with every node's output shape in `meta["shape"]`."""
    return annotate_shapes(graph.copy())


def annotate_shapes(graph: Graph) -> Graph:
    """`infer_shapes` in place (the pipeline's form: it owns the graph); returns `graph`."""
    for n in graph.order():
        meta = graph.meta_of(n)
        if "shape" in meta:
            continue
        op = OPS[graph.op(n)]
        shapes = [graph.shape(a) for a in graph.args(n)]
        try:
            meta["shape"] = tuple(op.shape(op.with_defaults(graph.attrs(n)), shapes))
        except ShapeError as exc:
            raise NascError(f"{graph.node(n)['name']} ({op.name}): {exc}") from None
    return graph
