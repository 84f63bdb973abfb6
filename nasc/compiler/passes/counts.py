"""Parameter and MAC counting: `meta["params"]`, `meta["macs"]` per node, totals in graph.meta.

Counted without allocating weights. Parameters are trainable tensors only
(BatchNorm's running statistics are buffers and do not count). MACs are the
multiply-accumulates of conv, linear and matmul for one sample; elementwise
ops, pooling and normalisation count zero.

    conv       params c_in*F*KH*KW            macs params * H_out * W_out
    batchnorm  params 2*C (scale, shift)
    linear     params C*K + K (bias)          macs C*K
    matmul     params in*features             macs in*features
"""

from __future__ import annotations

from nasc.compiler.ir import Graph


def count(graph: Graph) -> Graph:
    """A copy of `graph` with per-node params and MACs, and totals in `meta`."""
    out = graph.copy()
    total_params = total_macs = 0
    for n in out.order():
        params, macs = _count_node(out, n)
        meta = out.meta_of(n)
        meta["params"], meta["macs"] = params, macs
        total_params += params
        total_macs += macs
    out.meta["params"], out.meta["macs"] = total_params, total_macs
    return out


def _count_node(graph: Graph, n: int) -> tuple[int, int]:
    op, attrs = graph.op(n), graph.attrs(n)
    if op == "conv":
        c_in = graph.shape(graph.args(n)[0])[0]
        _, h_out, w_out = graph.shape(n)
        kh, kw = attrs["kernel"]
        params = c_in * attrs["filters"] * kh * kw
        return params, params * h_out * w_out
    if op == "batchnorm":
        return 2 * graph.shape(n)[0], 0
    if op in ("linear", "matmul"):
        c_in = graph.shape(graph.args(n)[0])[0]
        weights = c_in * attrs["features"]
        return weights + (attrs["features"] if attrs.get("bias") else 0), weights
    return 0, 0
