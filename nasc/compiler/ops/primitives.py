"""The built-in primitive ops: shape rule, count rule and code generation for each.

    conv        out = (in + 2*pad - dilation*(kernel-1) - 1) // stride + 1,
                params c_in/groups * F * KH * KW (+ F bias), macs weights * H_out * W_out
    batchnorm   params 2*C when affine (running statistics are buffers)
    linear      params C*K (+ K bias), macs C*K;   matmul: x @ W, no bias
    pools       the window rule of conv, channels unchanged, no parameters
    concat      channels add up; height and width are the largest (the pads pass
                zero-pads smaller operands at the bottom and right)
    pad         (left, right, top, bottom); negative amounts crop
    zero        zeros of the operand's shape, subsampled by `stride`
    scale       an image (C, H, W) times per-channel weights (C,) (squeeze-excite)
    sum         the sum of two or more operands of one shape

Elementwise ops (relu, tanh, sigmoid, identity, add, mul) keep the shape and
count nothing. `input`, `state_in`, `output` and `state_out` are the graph's
sources and sinks; `discard` is the sink of a value computed but never read.
"""

from __future__ import annotations

import operator
from typing import TYPE_CHECKING, Any

from nasc.compiler.ops.registry import Op, Shape, ShapeError, register

if TYPE_CHECKING:  # torch loads only when code is generated: counting needs none of it
    from torch import fx, nn

    from nasc.compiler.codegen import Builder

Attrs = dict[str, Any]


# --- shape and count rules -----------------------------------------------------
def _source(attrs: Attrs, shapes: list[Shape]) -> Shape:
    return tuple(attrs["shape"])


def _first(attrs: Attrs, shapes: list[Shape]) -> Shape:
    return shapes[0]


def _window(attrs: Attrs, shapes: list[Shape], channels: int | None = None) -> Shape:
    if len(shapes[0]) != 3:
        raise ShapeError(f"needs an image (C, H, W), got shape {list(shapes[0])}")
    c, height, width = shapes[0]
    (kh, kw), (ph, pw), stride = attrs["kernel"], attrs["padding"], attrs["stride"]
    dilation = attrs.get("dilation", 1)
    out_h = (height + 2 * ph - dilation * (kh - 1) - 1) // stride + 1
    out_w = (width + 2 * pw - dilation * (kw - 1) - 1) // stride + 1
    if out_h < 1 or out_w < 1:
        raise ShapeError(f"a {kh}x{kw} window does not fit a {height}x{width} input")
    return (c if channels is None else channels), out_h, out_w


def _conv_shape(attrs: Attrs, shapes: list[Shape]) -> Shape:
    groups = attrs.get("groups", 1)
    if shapes[0] and (shapes[0][0] % groups or attrs["filters"] % groups):
        raise ShapeError(f"{shapes[0][0]} input channels and {attrs['filters']} filters "
                         f"do not split into {groups} groups")
    return _window(attrs, shapes, attrs["filters"])


def _conv_count(attrs: Attrs, shapes: list[Shape], out: Shape) -> tuple[int, int]:
    kh, kw = attrs["kernel"]
    weights = shapes[0][0] // attrs.get("groups", 1) * attrs["filters"] * kh * kw
    bias = attrs["filters"] if attrs.get("bias") else 0
    return weights + bias, weights * out[1] * out[2]


def _bn_count(attrs: Attrs, shapes: list[Shape], out: Shape) -> tuple[int, int]:
    return (2 * out[0] if attrs.get("affine", True) else 0), 0


def _linear_count(attrs: Attrs, shapes: list[Shape], out: Shape) -> tuple[int, int]:
    weights = shapes[0][0] * attrs["features"]
    return weights + (attrs["features"] if attrs.get("bias") else 0), weights


def _features(attrs: Attrs, shapes: list[Shape]) -> Shape:
    return (attrs["features"],)


def _concat_shape(attrs: Attrs, shapes: list[Shape]) -> Shape:
    if any(len(s) != len(shapes[0]) for s in shapes):
        raise ShapeError(f"concat of different ranks {[list(s) for s in shapes]}")
    if len(shapes[0]) == 1:
        return (sum(s[0] for s in shapes),)
    return (sum(s[0] for s in shapes), max(s[1] for s in shapes), max(s[2] for s in shapes))


def _pad_shape(attrs: Attrs, shapes: list[Shape]) -> Shape:
    left, right, top, bottom = attrs["pad"]
    channels, height, width = shapes[0]
    return channels, height + top + bottom, width + left + right


def _zero_shape(attrs: Attrs, shapes: list[Shape]) -> Shape:
    stride = attrs.get("stride", 1)
    if stride == 1 or len(shapes[0]) != 3:
        return shapes[0]
    c, h, w = shapes[0]
    return c, -(-h // stride), -(-w // stride)


def _pool_shape(attrs: Attrs, shapes: list[Shape]) -> Shape:
    return (shapes[0][0],)


def _scale_shape(attrs: Attrs, shapes: list[Shape]) -> Shape:
    if len(shapes[0]) != 3 or shapes[1] != shapes[0][:1]:
        raise ShapeError(f"scale needs an image (C, H, W) and C weights, got "
                         f"{list(shapes[0])} and {list(shapes[1])}")
    return shapes[0]


def _slice_shape(attrs: Attrs, shapes: list[Shape]) -> Shape:
    if (attrs["index"] + 1) * attrs["size"] > shapes[0][0]:
        raise ShapeError(f"slice {attrs['index']} of size {attrs['size']} is out of range")
    return (attrs["size"],)


# --- code generation ---------------------------------------------------------
def _input(b: Builder, n: int) -> fx.Node:
    if b.ir.kind == "rnn":
        b.env[-1] = b.fx.placeholder("x")  # x_t (B, I)
        b.env[-2] = b.fx.placeholder("state")  # (h, c), each (B, N)
        return b.env[-1]
    return b.fx.placeholder(b.ir.node(n)["name"])  # (B, C, H, W)


def _state_in(b: Builder, n: int) -> fx.Node:
    index = 0 if b.ir.attrs(n)["state"] == "h" else 1
    return b.call("call_function", n, operator.getitem, (b.env[-2], index))


def _output(b: Builder, n: int) -> fx.Node:
    return b.fx.output(b.operands(n)[0])


def _state_out(b: Builder, n: int) -> fx.Node:
    b.outputs[b.ir.attrs(n)["state"]] = b.operands(n)[0]
    if len(b.outputs) == 2:
        h_t, c_t = b.outputs["h"], b.outputs["c"]
        b.fx.output((h_t, (h_t, c_t)))
    return b.operands(n)[0]


def _discard(b: Builder, n: int) -> fx.Node:
    """A value the network computes but nothing reads (DARTS's unread cell input)."""
    return b.operands(n)[0]


def _identity(b: Builder, n: int) -> fx.Node:
    return b.operands(n)[0]


def _pad(b: Builder, n: int) -> fx.Node:
    import torch.nn.functional as F

    return b.call("call_function", n, F.pad, (*b.operands(n), tuple(b.ir.attrs(n)["pad"])))


def _concat(b: Builder, n: int) -> fx.Node:
    import torch

    from nasc.compiler.ir import IRError

    if b.ir.meta.get("padded") is not True and len(b.ir.shape(n)) == 3:
        raise IRError("code generation needs the pads pass: concat operands may differ")
    return b.call("call_function", n, torch.cat, (list(b.operands(n)),), {"dim": 1})


def _sum(b: Builder, n: int) -> fx.Node:
    """`a + b + c`: one fx add per operand after the first, the last named after the node."""
    first, *rest = b.operands(n)
    name = b.ir.node(n)["name"]
    total = first
    for i, term in enumerate(rest, start=1):
        last = i == len(rest)
        total = b.fx.create_node("call_function", operator.add, (total, term), {},
                                 name=name if last else f"{name}_{i}")
    return total


def _zero(b: Builder, n: int) -> fx.Node:
    """Zeros of the operand's (subsampled) shape: `torch.zeros_like`, no multiply."""
    import torch

    (x,) = b.operands(n)
    stride = b.ir.attrs(n).get("stride", 1)
    if stride != 1:
        step = slice(None, None, stride)
        x = b.fx.create_node("call_function", operator.getitem,
                             (x, (slice(None), slice(None), step, step)), {})
    return b.call("call_function", n, torch.zeros_like, (x,))


def _scale(b: Builder, n: int) -> fx.Node:
    """x * s[:, :, None, None]: per-channel weights (B, C) applied to an image (B, C, H, W)."""
    x, weights = b.operands(n)
    name = b.ir.node(n)["name"]
    wide = b.fx.create_node("call_function", operator.getitem,
                            (weights, (slice(None), slice(None), None, None)), {},
                            name=f"{name}_weights")
    return b.call("call_function", n, operator.mul, (x, wide))


def _global_avgpool(b: Builder, n: int) -> fx.Node:
    return b.call("call_method", n, "mean", (*b.operands(n), (2, 3)))  # (B, C)


def _matmul(b: Builder, n: int) -> fx.Node:
    from torch import nn

    a = b.ir.attrs(n)
    b.root[a["weight"]] = nn.Linear(b.in_channels(n), a["features"], bias=False, **b.factory)
    return b.call("call_module", n, a["weight"], b.operands(n))


def _slice(b: Builder, n: int) -> fx.Node:
    a = b.ir.attrs(n)
    return b.call("call_method", n, "narrow", (*b.operands(n), 1, a["index"] * a["size"],
                                                a["size"]))


# --- module factories (weights exist only here) --------------------------------
def _conv_module(a: Attrs, shapes: list[Shape]) -> nn.Module:
    from torch import nn

    return nn.Conv2d(shapes[0][0], a["filters"], a["kernel"], a["stride"], a["padding"],
                     dilation=a.get("dilation", 1), groups=a.get("groups", 1),
                     bias=a.get("bias", False))


def _bn_module(a: Attrs, shapes: list[Shape]) -> nn.Module:
    from torch import nn

    return nn.BatchNorm2d(shapes[0][0], affine=a.get("affine", True))


def _maxpool_module(a: Attrs, shapes: list[Shape]) -> nn.Module:
    from torch import nn

    return nn.MaxPool2d(a["kernel"], a["stride"], a["padding"])


def _avgpool_module(a: Attrs, shapes: list[Shape]) -> nn.Module:
    from torch import nn

    return nn.AvgPool2d(a["kernel"], a["stride"], a["padding"],
                        count_include_pad=a.get("count_include_pad", True))


def _linear_module(a: Attrs, shapes: list[Shape]) -> nn.Module:
    from torch import nn

    return nn.Linear(shapes[0][0], a["features"], bias=a["bias"])


_WINDOW = {"kernel": "tuple", "stride": "int", "padding": "tuple"}

BUILTIN_OPS = [
    Op("input", 0, _source, attrs={"shape": "tuple"}, emit=_input),
    Op("state_in", 0, _source, attrs={"state": "str", "shape": "tuple"}, emit=_state_in),
    Op("output", 1, _first, emit=_output),
    Op("state_out", 1, _first, attrs={"state": "str"}, emit=_state_out),
    Op("discard", 1, _first, emit=_discard),
    Op("relu", 1, function="torch.nn.functional.relu"),
    Op("relu6", 1, function="torch.nn.functional.relu6"),
    Op("tanh", 1, function="torch.tanh"),
    Op("sigmoid", 1, function="torch.sigmoid"),
    Op("identity", 1, emit=_identity),
    Op("add", 2, function="operator.add"),
    Op("mul", 2, function="operator.mul"),
    Op("sum", None, emit=_sum),
    Op("scale", 2, _scale_shape, emit=_scale),
    Op("zero", 1, _zero_shape, defaults={"stride": 1}, attrs={"stride": "int"}, emit=_zero),
    Op("conv", 1, _conv_shape, _conv_count, attrs={**_WINDOW, "filters": "int",
       "dilation": "int", "groups": "int", "bias": "bool"},
       defaults={"stride": 1, "dilation": 1, "groups": 1, "bias": False}, module=_conv_module),
    Op("batchnorm", 1, _first, _bn_count, attrs={"affine": "bool"},
       defaults={"affine": True}, module=_bn_module),
    Op("maxpool", 1, _window, attrs=_WINDOW, defaults={"stride": 1}, module=_maxpool_module),
    Op("avgpool", 1, _window, attrs={**_WINDOW, "count_include_pad": "bool"},
       defaults={"stride": 1, "count_include_pad": True}, module=_avgpool_module),
    Op("pad", 1, _pad_shape, attrs={"pad": "tuple"}, emit=_pad),
    Op("concat", None, _concat_shape, emit=_concat),
    Op("global_avgpool", 1, _pool_shape, emit=_global_avgpool),
    Op("linear", 1, _features, _linear_count, attrs={"features": "int", "bias": "bool"},
       module=_linear_module),
    Op("matmul", 1, _features, _linear_count, attrs={"weight": "str", "features": "int"},
       emit=_matmul),
    Op("slice", 1, _slice_shape, attrs={"index": "int", "size": "int"}, emit=_slice),
]

for _op in BUILTIN_OPS:
    register(_op)
