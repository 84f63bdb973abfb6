"""What differs between two architectures of one space, for reading search results.

`diff(a, b)` compares two compilation reports (`CompiledInfo`, no weights
needed) and returns a list of `Change`s: per layer (cnn) or tree node (rnn)
the op, the connections, the output shape and the parameter count; then the
head's inputs (cnn) or inject/cell (rnn); then the totals.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from nasc.compiler.ast import RnnCell
from nasc.compiler.report import CompiledInfo

COUNTS = {"params", "MACs"}  # quantities whose difference means something (not node indices)


@dataclass(frozen=True)
class Change:
    """One difference: `where` (e.g. "layer 3", "head", "total"), `what`, and the two values."""

    where: str
    what: str
    a: Any
    b: Any

    def __str__(self) -> str:
        if self.what == "only in A" or self.what == "only in B":
            shown = _show(self.a if self.b is None else self.b, self.what)
            return f"{self.where}: {self.what}: {shown}"
        old, new = _show(self.a, self.what), _show(self.b, self.what)
        text = f"{self.where}: {self.what}: {old} -> {new}"
        if isinstance(self.a, int) and isinstance(self.b, int) and self.what in COUNTS:
            text += f" ({self.b - self.a:+,})"
        return text

    def to_json(self) -> dict[str, Any]:
        return {"where": self.where, "what": self.what, "a": self.a, "b": self.b}


def _show(value: Any, what: str = "") -> str:
    if isinstance(value, list):
        if "shape" in what:
            return "x".join(map(str, value))
        return ",".join(map(str, value)) or "image"
    if isinstance(value, int):
        return f"{value:,}"
    return str(value)


def diff(a: CompiledInfo, b: CompiledInfo) -> list[Change]:
    """The differences between two reports of the same kind of space."""
    rnn = isinstance(a.arch, RnnCell)
    changes = _rows(a, b, "node" if rnn else "layer", head=not rnn)
    if isinstance(a.arch, RnnCell) and isinstance(b.arch, RnnCell):
        changes += _pair("cell", "inject", str(a.arch.inject), str(b.arch.inject))
        changes += _pair("cell", "c_t from node", a.arch.cell, b.arch.cell)
    changes += _pair("total", "params", a.params, b.params)
    changes += _pair("total", "MACs", a.macs, b.macs)
    changes += _pair("total", "output shape", a.output_shape, b.output_shape)
    return changes


def _pair(where: str, what: str, x: Any, y: Any) -> list[Change]:
    return [] if x == y else [Change(where, what, x, y)]


def _rows(a: CompiledInfo, b: CompiledInfo, unit: str, head: bool) -> list[Change]:
    extra = 2 if head else 0  # a cnn report ends with the head's pool and linear rows
    count_a, count_b = len(a.layers) - extra, len(b.layers) - extra
    changes: list[Change] = []
    for i in range(max(count_a, count_b)):
        row_a = a.layers[i] if i < count_a else None
        row_b = b.layers[i] if i < count_b else None
        where = f"{unit} {(row_a or row_b or {})['index']}"
        if row_a is None or row_b is None:
            side, row = ("only in B", row_b) if row_a is None else ("only in A", row_a)
            assert row is not None
            text = row["text"] + (" from " + _show(row["inputs"]) if row["inputs"] else "")
            changes.append(Change(where, side, text if row_a else None, text if row_b else None))
            continue
        changes += _pair(where, "op", row_a["text"], row_b["text"])
        changes += _pair(where, "from", row_a["inputs"], row_b["inputs"])
        changes += _pair(where, "shape", row_a["output_shape"], row_b["output_shape"])
        changes += _pair(where, "params", row_a["params"], row_b["params"])
    if head:
        changes += _pair("head", "reads", a.layers[count_a]["inputs"],
                         b.layers[count_b]["inputs"])
    return changes
