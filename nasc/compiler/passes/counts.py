"""Parameter and MAC counting: `meta["params"]`, `meta["macs"]` per node, totals in graph.meta.

Counted without allocating weights, by each op's count rule
(`nasc.compiler.ops`). Parameters are trainable tensors only (BatchNorm's
running statistics are buffers and do not count). MACs are the
multiply-accumulates of conv, linear and matmul for one sample; elementwise
ops, pooling and normalisation count zero.
"""

from __future__ import annotations

from nasc.compiler.ir import Graph
from nasc.compiler.ops import OPS


def count(graph: Graph) -> Graph:
    """A copy of `graph` with per-node params and MACs, and totals in `meta`."""
    return annotate_counts(graph.copy())


def annotate_counts(graph: Graph) -> Graph:
    """`count` in place (the pipeline's form: it owns the graph); returns `graph`."""
    total_params = total_macs = 0
    for n in graph.order():
        op = OPS[graph.op(n)]
        shapes = [graph.shape(a) for a in graph.args(n)]
        meta = graph.meta_of(n)
        params, macs = op.count(op.with_defaults(graph.attrs(n)), shapes, meta["shape"])
        meta["params"], meta["macs"] = params, macs
        total_params += params
        total_macs += macs
    graph.meta["params"], graph.meta["macs"] = total_params, total_macs
    return graph
