"""The operation registry: the IR's set of ops, open to users.

An op is a name, typed attributes, a shape rule, a parameter/MAC rule and a
way to emit it in code generation (a module factory, a function, or a custom
emitter). Shapes and counts are computed from the attributes alone, so
counting, hashing and `--max-params` never allocate a weight; only code
generation calls the module factory.

    @register("dilconv", attrs={"kernel": int, "filters": int, "dilation": int})
    class DilConv:                       # or Op(...) built by hand
        ...

`Op.check(attrs)` is what `verify` runs on every node: each attribute the op
names is present (or has a default) with the declared type. Composite ops
(`relu_conv_bn`, `sep_conv`, ...) live in `composites.py`: they expand into
these primitives during lowering.
"""

from __future__ import annotations

import importlib
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from nasc.errors import NascError

if TYPE_CHECKING:
    from torch import fx, nn

    from nasc.compiler.codegen import Builder

Shape = tuple[int, ...]
ShapeRule = Callable[[dict[str, Any], list[Shape]], Shape]
CountRule = Callable[[dict[str, Any], list[Shape], Shape], tuple[int, int]]
ModuleFactory = Callable[[dict[str, Any], list[Shape]], "nn.Module"]
Emitter = Callable[["Builder", int], "fx.Node"]

_TYPES = {"int": int, "bool": bool, "float": float, "str": str, "tuple": tuple}


class ShapeError(NascError):
    """An op cannot take operands of these shapes (raised by shape rules)."""


def same_shape(attrs: dict[str, Any], shapes: list[Shape]) -> Shape:
    """The shape rule of elementwise ops: all operands agree, the result has their shape."""
    if len(set(shapes)) > 1:
        raise ShapeError(f"operands differ in shape {[list(s) for s in shapes]}")
    return shapes[0]


def no_count(attrs: dict[str, Any], shapes: list[Shape], out: Shape) -> tuple[int, int]:
    return 0, 0


@dataclass(frozen=True)
class Op:
    """One operation of the IR.

    arity: operand count (None: two or more; 0 for sources). attrs: required
    attribute name -> type name ("int", "bool", "float", "str", "tuple", "any").
    defaults: optional attributes and their values. Exactly one of `module`,
    `function`, `emit` says how code generation writes the op.
    """

    name: str
    arity: int | None
    shape: ShapeRule = same_shape
    count: CountRule = no_count
    attrs: dict[str, str] = field(default_factory=dict)
    defaults: dict[str, Any] = field(default_factory=dict)
    module: ModuleFactory | None = None
    function: Callable[..., Any] | str | None = None  # a callable or its dotted path
    emit: Emitter | None = None
    doc: str = ""

    def __repr__(self) -> str:
        return f"Op({self.name}, arity={self.arity}, attrs={sorted(self.attrs)})"

    def target(self) -> Callable[..., Any]:
        """The function a `function` op calls (a dotted path is imported on first use)."""
        if isinstance(self.function, str):
            module, _, name = self.function.rpartition(".")
            return getattr(importlib.import_module(module), name)  # type: ignore[no-any-return]
        assert self.function is not None
        return self.function

    def with_defaults(self, attrs: dict[str, Any]) -> dict[str, Any]:
        return {**self.defaults, **attrs}

    def check(self, attrs: dict[str, Any], operands: int) -> str | None:
        """What is wrong with a node of this op, or None."""
        if self.arity is None and operands < 2:
            return f"needs two or more operands, got {operands}"
        if self.arity is not None and operands != self.arity:
            return f"needs {self.arity} operand(s), got {operands}"
        for name, kind in self.attrs.items():
            if name not in attrs and name not in self.defaults:
                return f"missing attribute {name}"
            value = attrs.get(name, self.defaults.get(name))
            if not _is_type(value, kind):
                return f"attribute {name}={value!r} is not of type {kind}"
        unknown = set(attrs) - set(self.attrs) - set(self.defaults)
        if unknown:
            return f"unknown attribute(s) {', '.join(sorted(unknown))}"
        return None


def _is_type(value: Any, kind: str) -> bool:
    if kind == "any":
        return True
    if kind == "int":
        return isinstance(value, int) and not isinstance(value, bool)
    if kind == "float":
        return isinstance(value, int | float) and not isinstance(value, bool)
    return isinstance(value, _TYPES[kind])


OPS: dict[str, Op] = {}


def register(op: Op, *, replace: bool = False) -> Op:
    """Add `op` to the registry (a user op: see docs/compiler.md). Returns it."""
    if not op.name.isidentifier():
        raise NascError(f"op name {op.name!r} is not an identifier")
    if op.name in OPS and not replace and OPS[op.name] is not op:
        raise NascError(f"op {op.name!r} is already registered (pass replace=True to change it)")
    ways = [w for w in (op.module, op.function, op.emit) if w is not None]
    if len(ways) != 1:
        raise NascError(f"op {op.name!r}: give exactly one of module=, function=, emit=")
    for kind in op.attrs.values():
        if kind not in _TYPES and kind != "any":
            raise NascError(f"op {op.name!r}: unknown attribute type {kind!r}")
    OPS[op.name] = op
    return op


def get_op(name: str) -> Op:
    """The registered op `name`, or a NascError listing the known ones."""
    try:
        return OPS[name]
    except KeyError:
        raise NascError(f"unknown op {name!r}: registered ops are "
                        f"{', '.join(sorted(OPS))}") from None
