"""Shape inference: `meta["shape"]` on every node, per sample (no batch dimension).

No weights are allocated: shapes follow from the attributes alone.

    conv, pools   out = (in + 2*pad - kernel) // stride + 1   per spatial dimension
    concat        channels add up; height and width are the largest among the operands
                  (smaller operands get zero padding at the bottom and right)
    pad           grows height and width by its amounts
"""

from __future__ import annotations

from collections.abc import Callable

from nasc.compiler.ir import Graph, IRError

Shape = tuple[int, ...]


def infer_shapes(graph: Graph) -> Graph:
    """A copy of `graph` with every node's output shape in `meta["shape"]`."""
    out = graph.copy()
    for n in out.order():
        op = out.op(n)
        rule = _RULES.get(op, _same)
        shapes = [out.shape(a) for a in out.args(n)]
        out.meta_of(n)["shape"] = rule(out, n, shapes)
    return out


def _same(graph: Graph, n: int, shapes: list[Shape]) -> Shape:
    return shapes[0]


def _source(graph: Graph, n: int, shapes: list[Shape]) -> Shape:
    return tuple(graph.attrs(n)["shape"])


def _window(graph: Graph, n: int, shapes: list[Shape]) -> Shape:
    attrs = graph.attrs(n)
    channels, height, width = shapes[0]
    if graph.op(n) == "conv":
        channels = attrs["filters"]
    (kh, kw), (ph, pw), stride = attrs["kernel"], attrs["padding"], attrs["stride"]
    out_h = (height + 2 * ph - kh) // stride + 1
    out_w = (width + 2 * pw - kw) // stride + 1
    if out_h < 1 or out_w < 1:
        raise IRError(f"%{n}: a {kh}x{kw} window does not fit a {height}x{width} input")
    return channels, out_h, out_w


def _concat(graph: Graph, n: int, shapes: list[Shape]) -> Shape:
    if any(len(s) != len(shapes[0]) for s in shapes):
        raise IRError(f"%{n}: concat of different ranks {shapes}")
    if len(shapes[0]) == 1:
        return (sum(s[0] for s in shapes),)
    return (sum(s[0] for s in shapes), max(s[1] for s in shapes), max(s[2] for s in shapes))


def _pad(graph: Graph, n: int, shapes: list[Shape]) -> Shape:
    left, right, top, bottom = graph.attrs(n)["pad"]
    channels, height, width = shapes[0]
    return channels, height + top + bottom, width + left + right


def _global_pool(graph: Graph, n: int, shapes: list[Shape]) -> Shape:
    return (shapes[0][0],)


def _features(graph: Graph, n: int, shapes: list[Shape]) -> Shape:
    return (graph.attrs(n)["features"],)


def _slice(graph: Graph, n: int, shapes: list[Shape]) -> Shape:
    attrs = graph.attrs(n)
    if (attrs["index"] + 1) * attrs["size"] > shapes[0][0]:
        raise IRError(f"%{n}: slice {attrs['index']} of size {attrs['size']} is out of range")
    return (attrs["size"],)


def _elementwise(graph: Graph, n: int, shapes: list[Shape]) -> Shape:
    if len(set(shapes)) > 1:
        raise IRError(f"%{n}: {graph.op(n)} of different shapes {shapes}")
    return shapes[0]


_RULES: dict[str, Callable[[Graph, int, list[Shape]], Shape]] = {
    "input": _source,
    "state_in": _source,
    "conv": _window,
    "maxpool": _window,
    "avgpool": _window,
    "concat": _concat,
    "pad": _pad,
    "global_avgpool": _global_pool,
    "linear": _features,
    "matmul": _features,
    "slice": _slice,
    "add": _elementwise,
    "mul": _elementwise,
}
