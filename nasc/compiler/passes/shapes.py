"""Shape inference: `meta["shape"]` on every node, per sample (no batch dimension).

No weights are allocated: each op's shape rule (`nasc.compiler.ops`) computes
its output shape from its attributes and its operands' shapes. A rule that
cannot apply (a window larger than its input, a sum of different shapes) is a
NascError naming the node: in a user's space that is the space's error.
"""

from __future__ import annotations

from nasc.compiler.ir import Graph
from nasc.compiler.ops import OPS, ShapeError
from nasc.errors import NascError


def infer_shapes(graph: Graph) -> Graph:
    """A copy of `graph` with every node's output shape in `meta["shape"]`."""
    out = graph.copy()
    for n in out.order():
        op = OPS[out.op(n)]
        shapes = [out.shape(a) for a in out.args(n)]
        try:
            out.meta_of(n)["shape"] = tuple(op.shape(op.with_defaults(out.attrs(n)), shapes))
        except ShapeError as exc:
            raise NascError(f"{out.node(n)['name']} ({op.name}): {exc}") from None
    return out
