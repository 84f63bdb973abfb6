"""Lowering, a recurrent [tree] (the `rnn` space's cells): the tree becomes IR for one step.

    W = matmul(x_t)          (I -> base*N)   all leaves' input projections, fused
    U = matmul(h_{t-1})      (N -> base*N)   all leaves' recurrent projections, fused
    leaf i:    a_i = ACT_i(COMBINE_i(slice_i(W), slice_i(U)))
    inner i:   a_i = ACT_i(COMBINE_i(a_l, a_r))        (l, r) = cell.children(i)
    inject N:  a_N := ACT_inj(COMBINE_inj(a_N, c_{t-1}))   a_N = node N's output,
               after its own activation; every reader of node N sees the new a_N
    cell M:    c_t = COMBINE_M(...), node M's value before its activation
    h_t = a_root (after the inject, where the root is the inject node)
"""

from __future__ import annotations

from nasc.compiler.ast import RnnCell
from nasc.compiler.ir import Graph


def lower_tree(cell: RnnCell, input_size: int, hidden_size: int) -> Graph:
    """The IR of one step of `cell` with input size I and hidden size N."""
    graph = Graph("rnn", {"input_size": input_size, "hidden_size": hidden_size,
                          "base": cell.base})
    x = graph.add("input", name="x", shape=(input_size,))
    h = graph.add("state_in", name="h_prev", state="h", shape=(hidden_size,))
    c = graph.add("state_in", name="c_prev", state="c", shape=(hidden_size,))
    width = cell.base * hidden_size
    wx = graph.add("matmul", x, name="wx", weight="W", features=width)
    uh = graph.add("matmul", h, name="uh", weight="U", features=width)
    values: list[int] = []
    c_t: int | None = None
    for i, node in enumerate(cell.nodes):
        children = cell.children(i)
        if children is None:
            left = graph.add("slice", wx, name=f"x_{i}", index=i, size=hidden_size)
            right = graph.add("slice", uh, name=f"h_{i}", index=i, size=hidden_size)
        else:
            left, right = values[children[0]], values[children[1]]
        pre = graph.add(node.combine, left, right, name=f"n{i}_{node.combine}", layer=i)
        out = graph.add(node.activation, pre, name=f"n{i}_{node.activation}", layer=i)
        if i == cell.cell:
            c_t = pre
        if i == cell.inject.node:
            inj = cell.inject
            mixed = graph.add(inj.combine, out, c, name=f"n{i}_inject_{inj.combine}", layer=i)
            out = graph.add(inj.activation, mixed, name=f"n{i}_inject_{inj.activation}",
                            layer=i)
        values.append(out)
    assert c_t is not None, "cell node index out of range (the checks should have caught it)"
    graph.add("state_out", values[-1], name="h_t", state="h")
    graph.add("state_out", c_t, name="c_t", state="c")
    return graph
