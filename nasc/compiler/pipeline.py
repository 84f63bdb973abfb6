"""The pipeline: lowering, then a list of named passes, then `verify`.

    build_ir(arch, options)             -> the annotated IR (shapes, pads, counts), no weights
    run_passes(graph, passes, stop_after=None)
    PASSES = [("shapes", annotate_shapes), ("pads", pad_concats), ("counts", annotate_counts)]

The pipeline owns the graph it lowered, so it runs each pass's in-place form
(`infer_shapes`, `insert_pads` and `count` are the same passes on a copy). The
IR is verified after lowering (the passes read only valid nodes) and on the
result; with `ir.DEBUG_CHECKS` (on in the test suite) after every pass too, so
a broken invariant names the pass that broke it.

`--max-params` is checked here, on the IR, before code generation allocates
any weight.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

from nasc.compiler import ir
from nasc.compiler.ast import Arch, PlainArch, RnnCell, SpaceArch
from nasc.compiler.ir import Graph, verify
from nasc.compiler.passes import lower_tree
from nasc.compiler.passes.counts import annotate_counts
from nasc.compiler.passes.lower_space import lower_space
from nasc.compiler.passes.pads import pad_concats
from nasc.compiler.passes.shapes import annotate_shapes
from nasc.errors import NascError

Pass = tuple[str, Callable[[Graph], Graph]]

PASSES: list[Pass] = [
    ("shapes", annotate_shapes),
    ("pads", pad_concats),
    ("counts", annotate_counts),
]
PASS_NAMES = ("lower", *(name for name, _ in PASSES))


@dataclass(frozen=True)
class Options:
    """What an architecture is compiled for.

    cnn: `input_shape` (C, H, W) and `num_classes`. rnn: `input_size` and
    `hidden_size` (default 64; input size defaults to the hidden size).
    `max_params`: refuse larger networks before any weight is allocated.
    """

    input_shape: tuple[int, int, int] = (3, 32, 32)
    num_classes: int = 10
    input_size: int | None = None
    hidden_size: int | None = None
    max_params: int | None = None

    def __post_init__(self) -> None:
        shape = self.input_shape
        if len(shape) != 3 or not all(map(_is_int, shape)) or min(shape) < 1:
            raise NascError(f"input shape must be three positive sizes C, H, W, "
                            f"got {'x'.join(map(str, shape))}")
        for what, value in (("number of classes", self.num_classes),
                            ("input size", self.input_size),
                            ("hidden size", self.hidden_size)):
            positive_int(what, value)
        if self.max_params is not None and (not _is_int(self.max_params)
                                            or self.max_params < 0):
            raise NascError(f"--max-params must be an integer of at least 0, "
                            f"got {self.max_params!r}")

    @property
    def hidden(self) -> int:
        return self.hidden_size or 64

    @property
    def input(self) -> int:
        return self.input_size or self.hidden


def _is_int(value: object) -> bool:
    return isinstance(value, int) and not isinstance(value, bool)


def positive_int(what: str, value: object) -> None:
    """A NascError unless `value` is None or an int of at least 1 (not a float, str, bool)."""
    if value is not None and (not _is_int(value) or value < 1):  # type: ignore[operator]
        raise NascError(f"{what} must be an integer of at least 1, got {value!r}")


def compilable(arch: Arch) -> RnnCell | SpaceArch:
    """`arch` itself, or a NascError for a string of a validity-only space."""
    if isinstance(arch, PlainArch):
        raise NascError("this space declares no semantics (no `//%` lines): its strings can "
                        "be validated and sampled, not compiled; see docs/language.md, "
                        "\"Writing a space\"")
    return arch


def lower(arch: Arch, options: Options) -> Graph:
    """The first pass: AST -> IR."""
    arch = compilable(arch)
    if isinstance(arch, SpaceArch):
        return lower_space(arch, options.input_shape, options.num_classes)
    return lower_tree(arch, options.input, options.hidden)


def run_passes(graph: Graph, passes: list[Pass] | None = None,
               stop_after: str | None = None) -> Graph:
    """Run `passes` (default PASSES) in order, in place; verify the IR before and after
    (and between passes with `ir.DEBUG_CHECKS`)."""
    if stop_after is not None and stop_after not in PASS_NAMES:
        raise NascError(f"unknown pass {stop_after!r}: one of {', '.join(PASS_NAMES)}")
    verify(graph)
    if stop_after == "lower":
        return graph
    for i, (name, run) in enumerate(PASSES if passes is None else passes):
        if i and ir.DEBUG_CHECKS:
            verify(graph)
        graph = run(graph)
        if name == stop_after:
            break
    verify(graph)
    return graph


def build_ir(arch: Arch, options: Options | None = None, stop_after: str | None = None) -> Graph:
    """Lower `arch` and run the passes; enforce `options.max_params`. Allocates no weights."""
    options = options or Options()
    graph = run_passes(lower(arch, options), stop_after=stop_after)
    if "params" in graph.meta:
        check_params(graph.meta["params"], options.max_params)
    return graph


def check_params(total: int, limit: int | None) -> None:
    """The parameter limit (`--max-params`), the one place it is checked."""
    if limit is not None and total > limit:
        raise NascError(f"network has {total:,} parameters, over the limit of {limit:,} "
                        f"(--max-params)")
