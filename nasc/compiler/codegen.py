"""Code generation: the annotated IR becomes a `torch.fx.GraphModule`.

Every IR node becomes one line of the generated `forward`, named after the
node, so the code reads like PyTorch written by hand:

    layer3_pad2 = torch.nn.functional.pad(layer2_relu, (0, 4, 0, 4))
    layer3_cat = torch.cat([layer1_relu, layer3_pad2], dim = 1)
    layer3_conv = self.layer3_conv(layer3_cat)

Layers with weights (Conv2d, BatchNorm2d, Linear) and pooling are submodules
named after their node (`layer3_conv`, `layer3_bn`, `head_fc`); everything
else is a function call. A cnn module maps (B, C, H, W) -> (B, K); an rnn cell
maps `(x_t, (h, c)) -> (h_t, (h_t, c_t))` with x_t (B, I) and h, c (B, N).
"""

from __future__ import annotations

import operator
from collections.abc import Callable
from typing import Any

import torch
import torch.nn.functional as F
from torch import fx, nn

from nasc.compiler.ir import Graph, IRError
from nasc.errors import NascError

Env = dict[int, fx.Node]


class _Builder:
    """Walks the IR in order and emits one fx node per IR node."""

    def __init__(self, graph: Graph, device: torch.device | str | None) -> None:
        self.ir = graph
        self.root: dict[str, nn.Module] = {}  # fx copies each target once (no double setattr)
        self.fx = fx.Graph()
        self.env: Env = {}
        self.factory: dict[str, Any] = {"device": device}
        self.outputs: dict[str, fx.Node] = {}

    def module(self, n: int, module: nn.Module) -> fx.Node:
        name = self.ir.node(n)["name"]
        self.root[name] = module
        return self.call("call_module", n, name, self.operands(n))

    def call(self, kind: str, n: int, target: Any, args: tuple[Any, ...],
             kwargs: dict[str, Any] | None = None) -> fx.Node:
        return self.fx.create_node(kind, target, args, kwargs or {}, name=self.ir.node(n)["name"])

    def operands(self, n: int) -> tuple[fx.Node, ...]:
        return tuple(self.env[a] for a in self.ir.args(n))

    def in_channels(self, n: int) -> int:
        return self.ir.shape(self.ir.args(n)[0])[0]


def _input(b: _Builder, n: int) -> fx.Node:
    if b.ir.kind == "rnn":
        b.env[-1] = b.fx.placeholder("x")  # x_t (B, I)
        b.env[-2] = b.fx.placeholder("state")  # (h, c), each (B, N)
        return b.env[-1]
    return b.fx.placeholder(b.ir.node(n)["name"])  # (B, C, H, W)


def _state_in(b: _Builder, n: int) -> fx.Node:
    index = 0 if b.ir.attrs(n)["state"] == "h" else 1
    return b.call("call_function", n, operator.getitem, (b.env[-2], index))


def _conv(b: _Builder, n: int) -> fx.Node:
    a = b.ir.attrs(n)
    return b.module(n, nn.Conv2d(b.in_channels(n), a["filters"], a["kernel"], a["stride"],
                                 a["padding"], bias=False, **b.factory))


def _batchnorm(b: _Builder, n: int) -> fx.Node:
    return b.module(n, nn.BatchNorm2d(b.in_channels(n), **b.factory))


def _pool(b: _Builder, n: int) -> fx.Node:
    a = b.ir.attrs(n)
    cls = nn.MaxPool2d if b.ir.op(n) == "maxpool" else nn.AvgPool2d
    return b.module(n, cls(a["kernel"], a["stride"], a["padding"]))


def _pad(b: _Builder, n: int) -> fx.Node:
    return b.call("call_function", n, F.pad, (*b.operands(n), tuple(b.ir.attrs(n)["pad"])))


def _concat(b: _Builder, n: int) -> fx.Node:
    operands = b.operands(n)
    if b.ir.meta.get("padded") is not True and len(b.ir.shape(n)) == 3:
        raise IRError("code generation needs the pads pass: concat operands may differ")
    return b.call("call_function", n, torch.cat, (list(operands),), {"dim": 1})


def _global_avgpool(b: _Builder, n: int) -> fx.Node:
    return b.call("call_method", n, "mean", (*b.operands(n), (2, 3)))  # (B, C)


def _linear(b: _Builder, n: int) -> fx.Node:
    a = b.ir.attrs(n)
    return b.module(n, nn.Linear(b.in_channels(n), a["features"], bias=a["bias"], **b.factory))


def _matmul(b: _Builder, n: int) -> fx.Node:
    a = b.ir.attrs(n)
    linear = nn.Linear(b.in_channels(n), a["features"], bias=False, **b.factory)
    b.root[a["weight"]] = linear
    return b.call("call_module", n, a["weight"], b.operands(n))


def _slice(b: _Builder, n: int) -> fx.Node:
    a = b.ir.attrs(n)
    start = a["index"] * a["size"]
    return b.call("call_method", n, "narrow", (*b.operands(n), 1, start, a["size"]))


def _function(target: Callable[..., Any]) -> Callable[[_Builder, int], fx.Node]:
    def emit(b: _Builder, n: int) -> fx.Node:
        return b.call("call_function", n, target, b.operands(n))

    return emit


def _identity(b: _Builder, n: int) -> fx.Node:
    return b.operands(n)[0]


def _output(b: _Builder, n: int) -> fx.Node:
    return b.fx.output(b.operands(n)[0])


def _state_out(b: _Builder, n: int) -> fx.Node:
    b.outputs[b.ir.attrs(n)["state"]] = b.operands(n)[0]
    if len(b.outputs) == 2:
        h_t, c_t = b.outputs["h"], b.outputs["c"]
        b.fx.output((h_t, (h_t, c_t)))
    return b.operands(n)[0]


_EMIT: dict[str, Callable[[_Builder, int], fx.Node]] = {
    "input": _input,
    "state_in": _state_in,
    "conv": _conv,
    "batchnorm": _batchnorm,
    "relu": _function(F.relu),
    "maxpool": _pool,
    "avgpool": _pool,
    "pad": _pad,
    "concat": _concat,
    "global_avgpool": _global_avgpool,
    "linear": _linear,
    "output": _output,
    "matmul": _matmul,
    "slice": _slice,
    "add": _function(operator.add),
    "mul": _function(operator.mul),
    "identity": _identity,
    "tanh": _function(torch.tanh),
    "sigmoid": _function(torch.sigmoid),
    "state_out": _state_out,
}


def generate(graph: Graph, device: torch.device | str | None = None,
             class_name: str | None = None) -> fx.GraphModule:
    """The `torch.fx.GraphModule` of an IR that went through the shapes and pads passes."""
    builder = _Builder(graph, device)
    try:
        for n in graph.order():
            builder.env[n] = _EMIT[graph.op(n)](builder, n)
    except (MemoryError, RuntimeError) as exc:  # torch's CPU allocator raises RuntimeError
        if not isinstance(exc, MemoryError | torch.OutOfMemoryError) \
                and "allocate" not in str(exc):
            raise
        raise NascError(f"out of memory allocating the network's weights at node {n!r} "
                        f"(limit networks with --max-params)") from None
    except (TypeError, OverflowError) as exc:  # a size past torch's 64-bit integers
        if "overflow" not in str(exc).lower():
            raise
        raise NascError(f"node {n!r}: a size is too large for torch "
                        f"(limit networks with --max-params)") from None
    builder.fx.lint()
    name = class_name or ("NascCell" if graph.kind == "rnn" else "NascNet")
    return fx.GraphModule(builder.root, builder.fx, class_name=name)


def python_source(module: fx.GraphModule, title: str = "") -> str:
    """A standalone Python file defining `module`'s class: `__init__` builds the layers,
    `forward` is the generated code. Loading the compiled module's state dict into an
    instance of it gives the same network.
    """
    name = type(module).__name__
    lines = [f"# Generated by nasc{': ' + title if title else ''}", "import torch",
             "from torch import nn", "", "", f"class {name}(nn.Module):",
             "    def __init__(self):", "        super().__init__()"]
    for child, layer in module.named_children():
        lines.append(f"        self.{child} = nn.{layer!r}")
    lines.append("")
    body = module.code.strip("\n").splitlines()
    lines += ["    " + line if line.strip() else "" for line in body]
    return "\n".join(lines).rstrip() + "\n"
