"""Composite ops: named expansions into primitives, applied during lowering.

A composite is a function `(b: Emit, x: int, **args) -> int` that adds nodes
through `b` and returns the node of its result; counting, shapes and code
generation then see only primitives, so a composite needs no rules of its own.

    conv_bn_relu     conv -> batchnorm -> relu               (Zoph & Le's layers)
    relu_conv_bn     relu -> conv -> batchnorm               (NAS-Bench-201, DARTS)
    dw_conv          depthwise conv (groups = channels)
    sep_conv         relu-dw-pw-bn twice, stride on the first (DARTS)
    dil_conv         relu-dw(dilation 2)-pw-bn (DARTS)
    factorized_reduce  relu; two 1x1 stride-2 convs, the second a pixel off; concat; bn
    skip             identity, or factorized_reduce when strided (DARTS's skip_connect)
    resblock         the NAS-Bench-201 residual block between stages
    squeeze_excite   global pool -> 1x1 conv -> relu -> 1x1 conv -> sigmoid -> scale
    mbconv           MobileNetV2/MnasNet inverted bottleneck, optional squeeze-excite

`expand(b, op, x, **args)` applies a composite or a primitive (`kernel=3` is
sugar for (3, 3) with "same" padding); it is the one way lowering applies an op.
"""

from __future__ import annotations

import functools
import inspect
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any, Protocol

from nasc.compiler.ops.registry import OPS, get_op
from nasc.errors import NascError


class Emit(Protocol):
    """What an expansion needs: add a node (named under the current prefix), read shapes."""

    def add(self, op: str, *args: int, name: str, **attrs: Any) -> int: ...

    def channels(self, node: int) -> int: ...


Composite = Callable[..., int]
COMPOSITES: dict[str, Composite] = {}


@dataclass(frozen=True)
class _Param:
    name: str
    required: bool


def register_composite(name: str) -> Callable[[Composite], Composite]:
    """Decorator: `@register_composite("my_op") def my_op(b, x, *, filters, ...) -> int`."""
    def add(fn: Composite) -> Composite:
        if name in OPS:
            raise NascError(f"composite {name!r} would hide the primitive op of that name")
        COMPOSITES[name] = fn
        return fn

    return add


def accepts(op: str) -> dict[str, bool]:
    """The arguments `op` takes: name -> required."""
    if op in COMPOSITES:
        return dict(_parameters(COMPOSITES[op]))
    spec = get_op(op)
    taken = {name: name not in spec.defaults for name in spec.attrs}
    if spec.attrs.get("kernel") == "tuple":
        taken["padding"] = False  # "same" padding by default
    return taken


@functools.cache  # inspect.signature is slow, and lowering asks once per op applied
def _parameters(fn: Composite) -> tuple[tuple[str, bool], ...]:
    """A composite's keyword arguments after `(b, x)`: (name, required) pairs."""
    params = list(inspect.signature(fn).parameters.values())[2:]
    return tuple((p.name, p.default is inspect.Parameter.empty) for p in params)


def default_of(op: str, arg: str) -> Any:
    """The value `op` gives argument `arg` when none is passed (None: required or unknown)."""
    if op in COMPOSITES:
        param = inspect.signature(COMPOSITES[op]).parameters.get(arg)
        empty = param is None or param.default is inspect.Parameter.empty
        return None if empty else param.default  # type: ignore[union-attr]
    return get_op(op).defaults.get(arg)


def expand(b: Emit, op: str, x: int, name: str, **args: Any) -> int:
    """Apply op `op` (composite or primitive) to node `x`; its nodes are named `name_*`."""
    if op in COMPOSITES:
        return COMPOSITES[op](b, x, name=name, **args)
    spec = get_op(op)
    if "kernel" in args and spec.attrs.get("kernel") == "tuple":  # the built-in windows
        kernel = _pair(args["kernel"])
        args["kernel"] = kernel
        padding = _padding(args.pop("padding", "same"), kernel, args.get("dilation", 1))
        args.setdefault("stride", 1)
        args["padding"] = padding
    if "filters" in spec.attrs and "filters" not in args:
        args["filters"] = b.channels(x)
    return b.add(op, x, name=name, **args)


def _padding(padding: Any, kernel: tuple[int, int], dilation: int) -> tuple[int, int]:
    """A window's padding: sizes, "same" (dilation*(k-1)//2: the output keeps the input's
    size for odd kernels) or "half" (k//2, Zoph & Le's rule, also for even kernels)."""
    if padding == "same":
        return (dilation * (kernel[0] - 1) // 2, dilation * (kernel[1] - 1) // 2)
    if padding == "half":
        return (kernel[0] // 2, kernel[1] // 2)
    return _pair(padding)


def _pair(value: Any) -> tuple[int, int]:
    return (value, value) if isinstance(value, int) else tuple(value)  # type: ignore[return-value]


@register_composite("conv_bn_relu")
def conv_bn_relu(b: Emit, x: int, *, name: str, kernel: Any, filters: int | None = None,
                 stride: int = 1, padding: Any = "same") -> int:
    """conv -> batchnorm -> relu: the layers of Zoph & Le (with `padding = "half"`)."""
    conv = expand(b, "conv", x, f"{name}_conv", kernel=kernel, filters=filters or b.channels(x),
                  stride=stride, padding=padding)
    return b.add("relu", b.add("batchnorm", conv, name=f"{name}_bn"), name=f"{name}_relu")


@register_composite("relu_conv_bn")
def relu_conv_bn(b: Emit, x: int, *, name: str, kernel: Any, filters: int | None = None,
                 stride: int = 1, dilation: int = 1, affine: bool = True) -> int:
    """relu -> conv -> batchnorm (NAS-Bench-201's and DARTS's ReLUConvBN)."""
    relu = b.add("relu", x, name=f"{name}_relu")
    conv = expand(b, "conv", relu, f"{name}_conv", kernel=kernel, stride=stride,
                  dilation=dilation, filters=filters or b.channels(x))
    return b.add("batchnorm", conv, name=f"{name}_bn", affine=affine)


@register_composite("dw_conv")
def dw_conv(b: Emit, x: int, *, name: str, kernel: Any, stride: int = 1,
            dilation: int = 1) -> int:
    """A depthwise convolution: one filter per channel (groups = channels)."""
    channels = b.channels(x)
    return expand(b, "conv", x, name, kernel=kernel, stride=stride, dilation=dilation,
                  filters=channels, groups=channels)


def _relu_dw_pw_bn(b: Emit, x: int, name: str, kernel: Any, filters: int, stride: int,
                   dilation: int, affine: bool) -> int:
    relu = b.add("relu", x, name=f"{name}_relu")
    dw = dw_conv(b, relu, name=f"{name}_dw", kernel=kernel, stride=stride, dilation=dilation)
    pw = expand(b, "conv", dw, f"{name}_pw", kernel=1, filters=filters)
    return b.add("batchnorm", pw, name=f"{name}_bn", affine=affine)


@register_composite("sep_conv")
def sep_conv(b: Emit, x: int, *, name: str, kernel: Any, filters: int | None = None,
             stride: int = 1, affine: bool = True) -> int:
    """DARTS's separable conv: relu-dw-pw-bn (stride here, C -> C), then again (C -> F)."""
    channels = b.channels(x)
    first = _relu_dw_pw_bn(b, x, f"{name}1", kernel, channels, stride, 1, affine)
    return _relu_dw_pw_bn(b, first, f"{name}2", kernel, filters or channels, 1, 1, affine)


@register_composite("dil_conv")
def dil_conv(b: Emit, x: int, *, name: str, kernel: Any, filters: int | None = None,
             stride: int = 1, dilation: int = 2, affine: bool = True) -> int:
    """DARTS's dilated conv: relu -> depthwise conv (dilation 2) -> pointwise conv -> bn."""
    return _relu_dw_pw_bn(b, x, name, kernel, filters or b.channels(x), stride, dilation,
                          affine)


@register_composite("factorized_reduce")
def factorized_reduce(b: Emit, x: int, *, name: str, filters: int | None = None,
                      affine: bool = True) -> int:
    """Halve height and width: relu; two 1x1 stride-2 convs to F/2 each, the second on
    the input shifted by one pixel; concat; batchnorm (DARTS's FactorizedReduce)."""
    filters = filters or b.channels(x)
    if filters % 2:
        raise NascError(f"{name}: factorized_reduce needs an even filter count, got {filters}")
    relu = b.add("relu", x, name=f"{name}_relu")
    left = expand(b, "conv", relu, f"{name}_conv1", kernel=1, stride=2, filters=filters // 2)
    shifted = b.add("pad", relu, name=f"{name}_shift", pad=(-1, 0, -1, 0))
    right = expand(b, "conv", shifted, f"{name}_conv2", kernel=1, stride=2,
                   filters=filters // 2)
    cat = b.add("concat", left, right, name=f"{name}_cat")
    return b.add("batchnorm", cat, name=f"{name}_bn", affine=affine)


@register_composite("skip")
def skip(b: Emit, x: int, *, name: str, filters: int | None = None, stride: int = 1) -> int:
    """Identity; factorized_reduce when strided or when the channels change."""
    if stride == 1 and (filters is None or filters == b.channels(x)):
        return b.add("identity", x, name=name)
    return factorized_reduce(b, x, name=name, filters=filters)


@register_composite("resblock")
def resblock(b: Emit, x: int, *, name: str, filters: int, stride: int = 2) -> int:
    """NAS-Bench-201's residual block: relu-conv3x3(stride)-bn, relu-conv3x3-bn; shortcut
    2x2 average pool (stride 2) + 1x1 conv when strided or widened; the two added."""
    a = relu_conv_bn(b, x, name=f"{name}_a", kernel=3, filters=filters, stride=stride)
    branch = relu_conv_bn(b, a, name=f"{name}_b", kernel=3, filters=filters)
    shortcut = x
    if stride != 1:
        shortcut = b.add("avgpool", x, name=f"{name}_pool", kernel=(2, 2), stride=2,
                         padding=(0, 0))
    if stride != 1 or filters != b.channels(x):
        shortcut = expand(b, "conv", shortcut, f"{name}_down", kernel=1, filters=filters)
    return b.add("add", shortcut, branch, name=f"{name}_add")


@register_composite("squeeze_excite")
def squeeze_excite(b: Emit, x: int, *, name: str, reduced: int | None = None,
                   ratio: float = 0.25) -> int:
    """Squeeze-and-excitation: global pool -> linear (C -> R) -> relu -> linear (R -> C)
    -> sigmoid, the result scaling the channels; R = `reduced` or max(1, C * ratio)."""
    channels = b.channels(x)
    reduced = reduced or max(1, int(channels * ratio))
    pooled = b.add("global_avgpool", x, name=f"{name}_pool")
    squeeze = b.add("linear", pooled, name=f"{name}_reduce", features=reduced, bias=True)
    relu = b.add("relu", squeeze, name=f"{name}_relu")
    excite = b.add("linear", relu, name=f"{name}_expand", features=channels, bias=True)
    gate = b.add("sigmoid", excite, name=f"{name}_gate")
    return b.add("scale", x, gate, name=f"{name}_scale")


@register_composite("mbconv")
def mbconv(b: Emit, x: int, *, name: str, filters: int | None = None, expansion: int = 6,
           kernel: int = 3, stride: int = 1, se: bool = False, se_ratio: float = 0.25) -> int:
    """The inverted bottleneck of MobileNetV2 / MnasNet: 1x1 conv to C*expansion (none at
    expansion 1) -> bn -> relu6; depthwise kxk conv (stride) -> bn -> relu6;
    squeeze-excite (reduced to C_in*se_ratio) when `se`; 1x1 conv to F -> bn; plus the
    input when the stride is 1 and F = C_in."""
    channels = b.channels(x)
    filters = filters or channels
    h = x
    if expansion != 1:
        h = _pointwise_relu6(b, h, f"{name}_expand", channels * expansion)
    dw = dw_conv(b, h, name=f"{name}_dw", kernel=kernel, stride=stride)
    h = b.add("relu6", b.add("batchnorm", dw, name=f"{name}_dw_bn"), name=f"{name}_dw_relu")
    if se:
        h = squeeze_excite(b, h, name=f"{name}_se", reduced=max(1, int(channels * se_ratio)))
    project = expand(b, "conv", h, f"{name}_project", kernel=1, filters=filters)
    out = b.add("batchnorm", project, name=f"{name}_project_bn")
    if stride == 1 and filters == channels:
        out = b.add("add", x, out, name=f"{name}_add")
    return out


def _pointwise_relu6(b: Emit, x: int, name: str, filters: int) -> int:
    """1x1 conv -> bn -> relu6: the expansion of an inverted bottleneck."""
    conv = expand(b, "conv", x, name, kernel=1, filters=filters)
    return b.add("relu6", b.add("batchnorm", conv, name=f"{name}_bn"), name=f"{name}_relu")
