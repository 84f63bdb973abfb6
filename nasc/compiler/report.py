"""What a compilation reports: per-layer rows, totals, the table and the JSON form.

`summarize(arch, graph, space)` reads an annotated IR (after the counts pass),
so it needs no weights. `CompiledInfo` is what `nasc.compile(...).nasc` holds.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from nasc.compiler.ast import Arch, RnnCell, SpaceArch
from nasc.compiler.ir import Graph


@dataclass
class CompiledInfo:
    """The IR, generated code and counts of one compiled architecture."""

    space: str
    arch: Arch
    ir: Graph
    layers: list[dict[str, Any]]
    code: str = ""
    extra: dict[str, Any] = field(default_factory=dict)

    def __repr__(self) -> str:
        return f"CompiledInfo({self.space}: {self.params:,} params, {self.macs:,} MACs)"

    @property
    def params(self) -> int:
        return int(self.ir.meta["params"])

    @property
    def macs(self) -> int:
        return int(self.ir.meta["macs"])

    @property
    def input_shape(self) -> list[int]:
        return list(self.ir.shape(self.ir.find("input")[0]))

    @property
    def output_shape(self) -> list[int]:
        sinks = self.ir.find("output") or self.ir.find("state_out")
        return list(self.ir.shape(sinks[0]))

    def to_json(self) -> dict[str, Any]:
        out: dict[str, Any] = {"space": self.space, "params": self.params, "macs": self.macs,
                               "input_shape": self.input_shape,
                               "output_shape": self.output_shape}
        out.update(self.extra)
        out["layers"] = strip_text(self.layers)
        return out

    def table(self) -> str:
        """A fixed-width table: layer, op, inputs, output shape, params, MACs; then totals."""
        rows = [("layer", "op", "inputs", "output", "params", "MACs")]
        for row in self.layers:
            inputs = ",".join(str(i) for i in row["inputs"]) or "image"
            shape = "x".join(str(d) for d in row["output_shape"])
            rows.append((str(row["index"]), row.get("text", row["op"]), inputs, shape,
                         f"{row['params']:,}", f"{row['macs']:,}"))
        rows.append(("total", "", "", "x".join(map(str, self.output_shape)),
                     f"{self.params:,}", f"{self.macs:,}"))
        widths = [max(len(r[i]) for r in rows) for i in range(6)]
        lines = []
        for r in rows:
            left = [r[i].ljust(widths[i]) for i in range(4)]
            right = [r[i].rjust(widths[i]) for i in range(4, 6)]
            lines.append("  ".join(left + right).rstrip())
        lines.insert(1, "-" * len(lines[0]))
        lines.insert(len(lines) - 1, "-" * len(lines[0]))
        return "\n".join(lines)


def summarize(arch: Arch, graph: Graph, space: str) -> CompiledInfo:
    """The report of an IR that went through the counts pass."""
    if isinstance(arch, SpaceArch):
        return CompiledInfo(space, arch, graph, _block_rows(graph))
    assert isinstance(arch, RnnCell)
    extra = {"input_size": graph.meta["input_size"], "hidden_size": graph.meta["hidden_size"]}
    return CompiledInfo(space, arch, graph, _rnn_rows(arch, graph), extra=extra)


def _by_layer(graph: Graph) -> dict[int | None, list[int]]:
    groups: dict[int | None, list[int]] = {}
    for n in graph.order():
        groups.setdefault(graph.node(n)["layer"], []).append(n)
    return groups


def _row(index: int, op: str, inputs: list[Any], nodes: list[int], graph: Graph,
         shape_of: int) -> dict[str, Any]:
    return {"index": index, "op": op, "inputs": inputs,
            "output_shape": list(graph.shape(shape_of)),
            "params": sum(graph.meta_of(n)["params"] for n in nodes),
            "macs": sum(graph.meta_of(n)["macs"] for n in nodes)}


def _block_rows(graph: Graph) -> list[dict[str, Any]]:
    """One row per block the lowering recorded: each op step, each cell, each layer of a
    layer-mode cell; a row's inputs are the rows it reads."""
    groups = _by_layer(graph)
    rows = []
    for index, (block, op, inputs, text) in enumerate(graph.meta["blocks"], start=1):
        nodes = groups[block]
        row = _row(index, op, list(inputs), nodes, graph, _result(graph, nodes))
        if text:
            row["text"] = text
        rows.append(row)
    return rows


def _result(graph: Graph, nodes: list[int]) -> int:
    """The block's value: its last node that is not a sink."""
    return next(n for n in reversed(nodes) if graph.op(n) not in ("discard", "output"))


def _rnn_rows(cell: RnnCell, graph: Graph) -> list[dict[str, Any]]:
    groups = _by_layer(graph)
    leaf_params = graph.meta["params"] // cell.base
    rows = []
    for i, node in enumerate(cell.nodes):
        children = cell.children(i)
        inputs: list[Any] = [f"x_{i}", f"h_{i}"] if children is None else list(children)
        row = _row(i, f"{node.combine} {node.activation}", inputs, groups[i], graph,
                   groups[i][-1])
        if children is None:  # a leaf owns its slices of W and U
            row["params"] = row["macs"] = leaf_params
        text = row["op"]
        if i == cell.inject.node:
            row["inject"] = f"{cell.inject.combine} {cell.inject.activation}"
            text += f" +inject {row['inject']}"
        if i == cell.cell:
            row["cell"] = True
            text += " (c_t)"
        row["text"] = text
        rows.append(row)
    return rows


def strip_text(rows: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """The rows without the table-only `text` key (for JSON)."""
    return [{k: v for k, v in row.items() if k != "text"} for row in rows]
