"""Located errors in architecture text: `FILE:LINE:COL: error: MESSAGE`, the line, a caret."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

MAX_SHOWN = 120  # characters of the offending line shown around the caret


@dataclass(frozen=True)
class Diagnostic:
    """One error at a 1-based line and column of a named source."""

    file: str
    line: int
    column: int
    message: str
    source_line: str = ""

    def __repr__(self) -> str:
        return f"Diagnostic({self.file}:{self.line}:{self.column}: {self.message})"

    def format(self) -> str:
        head = f"{self.file}:{self.line}:{self.column}: error: {self.message}"
        if not self.source_line.strip():
            return head
        shown, caret_at = _window(self.source_line, self.column - 1)
        pad = "".join("\t" if ch == "\t" else " " for ch in shown[:caret_at])
        return f"{head}\n  {shown}\n  {pad}^"

    def to_json(self) -> dict[str, Any]:
        return {"line": self.line, "column": self.column, "message": self.message}


def _window(line: str, index: int) -> tuple[str, int]:
    """Cut a long line to MAX_SHOWN characters around `index`; printable only."""
    line = "".join(ch if ch.isprintable() or ch == "\t" else "?" for ch in line)
    index = max(0, min(index, len(line)))
    if len(line) <= MAX_SHOWN:
        return line, index
    start = max(0, min(index - MAX_SHOWN // 2, len(line) - MAX_SHOWN))
    cut = line[start : start + MAX_SHOWN]
    prefix = "..." if start else ""
    suffix = "..." if start + MAX_SHOWN < len(line) else ""
    return prefix + cut + suffix, index - start + len(prefix)


class ArchError(Exception):
    """Architecture text that is not valid: one or more located diagnostics."""

    def __init__(self, diagnostics: list[Diagnostic]):
        super().__init__(diagnostics[0].message if diagnostics else "invalid architecture")
        self.diagnostics = diagnostics

    def __str__(self) -> str:
        return "\n".join(d.format() for d in self.diagnostics)
