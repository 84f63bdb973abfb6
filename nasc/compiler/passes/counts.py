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
    out = graph.copy()
    total_params = total_macs = 0
    for n in out.order():
        op = OPS[out.op(n)]
        shapes = [out.shape(a) for a in out.args(n)]
        params, macs = op.count(op.with_defaults(out.attrs(n)), shapes, out.shape(n))
        meta = out.meta_of(n)
        meta["params"], meta["macs"] = params, macs
        total_params += params
        total_macs += macs
    out.meta["params"], out.meta["macs"] = total_params, total_macs
    return out
