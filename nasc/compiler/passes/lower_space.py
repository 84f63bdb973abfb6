"""Lowering, spaces with declared semantics: a skeleton whose cells the genotype fills.

    [network] body, step by step, from the image:
      { op = NAME, ... }          apply a registered op (composite or primitive)
      { cell = NAME, repeat = R } R one-input cells in a row (NAS-Bench-201)
      { stack = N, normal = A, reduce = B, channels = C, reductions = [i, ...] }
                                  N two-input cells (DARTS): cell k reads the outputs
                                  of cells k-2 and k-1, preprocessed to C channels;
                                  a reduction cell doubles C and strides its inputs
    a cell                        states = its inputs; node j = merge(op(states[src]))
                                  over its edges; output = the last node or the concat
                                  of all nodes

Every edge op receives the cell's channel count as `filters` and, on a
reduction cell's inputs, `stride = 2`. The string "classes" as an argument is
the number of classes. Nodes are named after where they sit: `cell3_n2_from1_conv`.
"""

from __future__ import annotations

from typing import Any

from nasc.compiler.ast import Cell, Edge, SpaceArch
from nasc.compiler.ir import Graph
from nasc.compiler.ops import OPS, ShapeError
from nasc.compiler.ops.composites import accepts, expand
from nasc.errors import NascError
from nasc.grammar.semantics import CellSpec, OpUse, Semantics, resolve


class Emitter:
    """Adds nodes to the graph with their shapes known at once (composites read channels)."""

    def __init__(self, graph: Graph, num_classes: int, ops: dict[str, OpUse]) -> None:
        self.graph, self.num_classes, self.ops, self.block = graph, num_classes, ops, 0
        self.last_rows: list[int] = []  # the report rows the current value comes from

    def __repr__(self) -> str:
        return f"Emitter(block {self.block}, {len(self.graph)} nodes)"

    def row(self, op: str, inputs: list[int] | None = None, text: str | None = None) -> int:
        """Close the current block as one row of the report: (block, op, inputs, text),
        its inputs the rows given, else the rows the block's input came from."""
        rows = self.graph.meta["blocks"]
        rows.append((self.block, op, self.last_rows if inputs is None else inputs, text))
        self.last_rows = [len(rows)]
        return len(rows)

    def add(self, op: str, *args: int, name: str, **attrs: Any) -> int:
        node = self.graph.add(op, *args, name=name, layer=self.block, **attrs)
        spec = OPS[op]
        shapes = [self.graph.shape(a) for a in args]
        try:
            shape = spec.shape(spec.with_defaults(attrs), shapes)
        except ShapeError as exc:
            raise NascError(f"{self.graph.node(node)['name']} ({op}): {exc}") from None
        self.graph.meta_of(node)["shape"] = tuple(shape)
        return node

    def channels(self, node: int) -> int:
        return self.graph.shape(node)[0]

    def apply(self, use: OpUse, x: int, name: str, filters: int | None = None,
              stride: int = 1, tokens: dict[str, str] | None = None) -> int:
        """Apply an op (or a chain) of the space, passing the cell's channels and stride
        where it takes them, and arguments read from the node's `tokens` (`@NAME`)."""
        steps = use.steps()
        for i, step in enumerate(steps):
            label = name if len(steps) == 1 else f"{name}_{i + 1}"
            x = self._apply_one(step, x, label, filters, stride if i == 0 else 1, tokens or {})
        return x

    def _apply_one(self, use: OpUse, x: int, name: str, filters: int | None, stride: int,
                   tokens: dict[str, str]) -> int:
        taken = accepts(use.op)
        args = {k: resolve(v, tokens, self.num_classes) for k, v in use.args.items()}
        args = {k: v for k, v in args.items() if v is not None}
        if filters is not None and "filters" in taken:
            args.setdefault("filters", filters)
        if stride != 1:
            if "stride" not in taken:
                raise NascError(f"{name}: op {use.op!r} takes no stride, but it reads a "
                                f"reduction cell's input (use an op that can stride, "
                                f"e.g. `skip` for identity)")
            args["stride"] = stride
        return expand(self, use.op, x, name, **args)


def lower_space(arch: SpaceArch, input_shape: tuple[int, int, int], num_classes: int) -> Graph:
    """The IR of `arch` for images `input_shape` (C, H, W) and `num_classes` classes."""
    semantics: Semantics = arch.semantics
    graph = Graph("cnn", {"input_shape": tuple(input_shape), "num_classes": num_classes,
                          "blocks": []})
    emit = Emitter(graph, num_classes, semantics.ops)
    x = emit.add("input", name="x", shape=tuple(input_shape))
    cells = 0
    for step in semantics.body:
        if "op" in step:
            x = _op_step(emit, step, x, "stem" if cells == 0 else f"after{cells}")
        elif "blocks" in step:
            x = _blocks_step(emit, arch, step["blocks"], x)
        elif "cell" in step:
            for _ in range(step.get("repeat", 1)):
                cells += 1
                spec = semantics.cells[step["cell"]]
                if spec.edge is not None:  # a layer-mode cell makes a block per node
                    emit.block += 1
                x = _cell(emit, spec, arch.cell(spec.name), [x], f"cell{cells}",
                          emit.channels(x), 1)
        else:
            x, cells = _stack(emit, step, x, arch, cells)
    emit.block += 1
    graph.add("output", x, name="output", layer=emit.block)
    return graph


def _op_step(emit: Emitter, step: dict[str, Any], x: int, prefix: str) -> int:
    emit.block += 1
    args = {k: v for k, v in step.items() if k not in ("op", "name")}
    name = step.get("name", f"{prefix}_{step['op']}")
    out = emit.apply(OpUse(step["op"], args), x, name)
    emit.row(step["op"])
    return out


def _blocks_step(emit: Emitter, arch: SpaceArch, name: str, x: int) -> int:
    """Each block's op, `repeat` times in a row; a stride applies to the first only."""
    for i, block in enumerate(b for b in arch.blocks if b.name == name):
        emit.block += 1
        use = emit.ops.get(block.op, OpUse(block.op, {}))
        args = {**use.args, **dict(block.args)}
        for r in range(block.repeat):
            stride = args.get("stride", 1) if r == 0 else 1
            x = emit.apply(OpUse(use.op, {**args, "stride": stride}), x,
                           f"{name}{i + 1}_{r + 1}")
        emit.row(f"{name} {i + 1}")
    return x


def _cell(emit: Emitter, spec: CellSpec, cell: Cell, inputs: list[int], prefix: str,
          channels: int, stride: int) -> int:
    if spec.edge is None:
        return _layer_cell(emit, spec, cell, inputs, prefix, channels)
    states = list(inputs)
    for k, edges in enumerate(cell.nodes):
        index = len(inputs) + k
        terms = [emit.apply(emit.ops[edge.op], states[edge.source],
                            f"{prefix}_n{index}_from{edge.source}", channels,
                            stride if edge.source < len(inputs) else 1)
                 for edge in edges]
        if len(terms) == 1:
            states.append(terms[0])
        else:
            merge = "sum" if spec.merge == "sum" else "concat"
            states.append(emit.add(merge, *terms, name=f"{prefix}_n{index}"))
    nodes = states[len(inputs):]
    if spec.output == "last" or len(nodes) == 1:
        out = nodes[-1]
    else:
        out = emit.add("concat", *nodes, name=f"{prefix}_out")
    _discard_unread(emit, states, out, prefix)
    emit.row(spec.name)
    return out


def _layer_cell(emit: Emitter, spec: CellSpec, cell: Cell, inputs: list[int], prefix: str,
                channels: int) -> int:
    """Layer mode: node k is one op on the merge of its anchors (or its default source),
    or, with `anchors = "skip"`, on the previous state with its anchors added after.
    Each node is a block of its own (a row of the report)."""
    states, read, made = list(inputs), set(), list(inputs)
    rows = [emit.last_rows] * len(inputs)  # the report rows each state comes from
    for k, (node,) in enumerate(cell.nodes):
        index = len(inputs) + k
        name = f"{spec.label}{index}" if spec.label else f"{prefix}_n{index}"
        emit.block += 1
        anchors = list(node.anchors)
        sources = anchors if spec.anchors == "merge" and anchors else [node.source]
        read.update(sources + anchors)
        out = _layer(emit, spec, node, [states[i] for i in sources], name, channels)
        if spec.anchors == "skip" and anchors:
            out = emit.add("sum", out, *(states[i] for i in anchors), name=f"{name}_skip")
        if spec.after:
            out = emit.apply(OpUse(spec.after), out, f"{name}_after", channels)
        states.append(out)
        if index - len(inputs) + 1 in spec.reductions:
            first = len(inputs)  # the cell's inputs are read by no later node
            states[first:] = [emit.apply(OpUse(spec.reduction), s, f"{name}_reduce{i}",
                                         channels) for i, s in enumerate(states[first:], first)]
        made += states
        shown = sorted({r for i in sources + anchors for r in rows[i]})
        rows.append([emit.row(node.op, shown, node.text)])
    return _layer_output(emit, spec, states, read, made, rows, len(inputs), prefix)


def _layer(emit: Emitter, spec: CellSpec, node: Edge, sources: list[int], name: str,
           channels: int) -> int:
    """One layer: its op on the merge of its sources; a primitive op's node is `NAME_op`."""
    x = _merge(emit, sources, spec.merge, name)
    use = emit.ops[node.op]
    if not use.then and use.op in OPS:
        name = f"{name}_{use.op}"
    return emit.apply(use, x, name, channels, tokens=dict(node.tokens))


def _layer_output(emit: Emitter, spec: CellSpec, states: list[int], read: set[int],
                  made: list[int], rows: list[list[int]], first: int, prefix: str) -> int:
    """The cell's output (`last`, `concat` of all, or `unread` nodes), counted in the
    report row that reads it next."""
    nodes = list(range(first, len(states)))
    if spec.output == "unread":
        nodes = [i for i in nodes if i not in read]
    elif spec.output == "last":
        nodes = nodes[-1:]
    emit.block += 1  # the merge belongs to the next block, which reads it
    out = _merge(emit, [states[i] for i in nodes], "concat",
                 spec.name if spec.label else f"{prefix}_out")
    _discard_unread(emit, made, out, prefix)
    emit.block -= 1
    emit.last_rows = sorted({r for i in nodes for r in rows[i]})
    return out


def _discard_unread(emit: Emitter, values: list[int], out: int, prefix: str) -> None:
    """Values the network computes but nothing reads (as the published networks do)."""
    for i, value in enumerate(dict.fromkeys(values)):
        if value != out and not emit.graph.users(value):
            emit.add("discard", value, name=f"{prefix}_unread{i}")


def _merge(emit: Emitter, values: list[int], how: str, name: str) -> int:
    """One value, or the sum or concat of several (named `NAME_sum` / `NAME_cat`)."""
    if len(values) == 1:
        return values[0]
    op = "sum" if how == "sum" else "concat"
    return emit.add(op, *values, name=f"{name}_{'sum' if op == 'sum' else 'cat'}")


def _stack(emit: Emitter, step: dict[str, Any], x: int, arch: SpaceArch,
           cells: int) -> tuple[int, int]:
    """Two-input cells in a row, reductions doubling the channels (DARTS's network)."""
    semantics: Semantics = arch.semantics
    count, channels = step["stack"], step["channels"]
    reductions = set(step.get("reductions", (count // 3, 2 * count // 3)))
    pre = OpUse(step.get("preprocess", "relu_conv_bn"), {"kernel": 1})
    reduced_pre = OpUse(step.get("reduced_preprocess", "factorized_reduce"), {})
    s0 = s1 = x
    reduced = False
    for k in range(count):
        cells += 1
        emit.block += 1
        reduce = k in reductions
        channels *= 2 if reduce else 1
        spec = semantics.cells[step["reduce" if reduce else "normal"]]
        prefix = f"cell{cells}"
        p0 = emit.apply(reduced_pre if reduced else pre, s0, f"{prefix}_pre0", channels)
        p1 = emit.apply(pre, s1, f"{prefix}_pre1", channels)
        out = _cell(emit, spec, arch.cell(spec.name), [p0, p1], prefix, channels,
                    2 if reduce else 1)
        s0, s1, reduced = s1, out, reduce
    return s1, cells


def lower_cells(arch: SpaceArch, channels: int = 16, size: int = 8) -> Graph:
    """Each declared cell lowered once on its own, on nominal (channels, size, size) inputs.

    The skeleton is fixed by the space, so two architectures whose cells compute
    alike are the same network: this small graph is what their canonical form is
    taken over (`nasc.compiler.canonical`). A cell's inputs are `state_in` nodes
    (`s0`, `s1`), its output a `state_out` named after the cell; cells used as
    reduction cells are lowered with their strided inputs.
    """
    semantics: Semantics = arch.semantics
    strides = {step["reduce"]: 2 for step in semantics.body if "stack" in step}
    graph = Graph("cnn", {"blocks": []})
    emit = Emitter(graph, 10, semantics.ops)
    for name, spec in semantics.cells.items():
        inputs = [emit.add("state_in", name=f"{name}_s{i}", state=f"s{i}",
                           shape=(channels, size, size)) for i in range(spec.inputs)]
        out = _cell(emit, spec, arch.cell(name), inputs, name, channels, strides.get(name, 1))
        emit.add("state_out", out, name=f"{name}_out", state=name)
    return graph
