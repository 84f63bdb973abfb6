"""Writing a compiled module out: torch.export programs, ONNX files, Graphviz drawings.

Modules are exported in eval mode (BatchNorm uses its running statistics) with
a dynamic batch dimension. Anything that fails is a `NascError` with one line.
"""

from __future__ import annotations

import contextlib
import io
import logging
import shutil
import subprocess
import warnings
from pathlib import Path
from typing import Any

import torch
from torch import nn

from nasc.compiler.ir import Graph
from nasc.errors import NascError


def example_inputs(graph: Graph, batch: int = 2) -> tuple[Any, ...]:
    """Random inputs for the module generated from `graph`: (x,) or (x_t, (h, c))."""
    if graph.kind == "cnn":
        return (torch.randn(batch, *graph.meta["input_shape"]),)
    n = graph.meta["hidden_size"]
    x = torch.randn(batch, graph.meta["input_size"])
    return (x, (torch.randn(batch, n), torch.randn(batch, n)))


def _dynamic_shapes(graph: Graph) -> Any:
    batch = torch.export.Dim("batch", min=1, max=65536)
    if graph.kind == "cnn":
        return ({0: batch},)
    return ({0: batch}, ({0: batch}, {0: batch}))


def export_program(module: nn.Module, graph: Graph) -> torch.export.ExportedProgram:
    """`torch.export` of `module` in eval mode, batch dimension dynamic."""
    module.eval()
    try:
        with _quiet():
            return torch.export.export(module, example_inputs(graph),
                                       dynamic_shapes=_dynamic_shapes(graph))
    except Exception as exc:  # torch raises many types here; the user sees one line
        raise NascError(f"torch.export failed: {_first_line(exc)}") from exc


def save_exported(module: nn.Module, graph: Graph, out: Path) -> None:
    program = export_program(module, graph)
    try:
        torch.export.save(program, str(out))
    except OSError as exc:
        raise NascError(f"{out}: cannot write: {exc.strerror or exc}") from exc


def save_onnx(module: nn.Module, graph: Graph, out: Path) -> None:
    """An ONNX file of `module` (eval mode) that onnxruntime can run."""
    program = export_program(module, graph)
    try:
        with _quiet():
            onnx_program = torch.onnx.export(program, example_inputs(graph), dynamo=True,
                                             verbose=False)
            assert onnx_program is not None
            onnx_program.save(str(out))
    except OSError as exc:
        raise NascError(f"{out}: cannot write: {exc.strerror or exc}") from exc
    except Exception as exc:
        raise NascError(f"ONNX export failed: {_first_line(exc)}") from exc


@contextlib.contextmanager
def _quiet() -> Any:
    """Keep exporters' progress chatter and warnings off the user's terminal."""
    logger = logging.getLogger("torch.onnx")
    level = logger.level
    logger.setLevel(logging.ERROR)
    try:
        with warnings.catch_warnings(), contextlib.redirect_stdout(io.StringIO()):
            warnings.simplefilter("ignore")
            yield
    finally:
        logger.setLevel(level)


def _first_line(exc: BaseException) -> str:
    text = str(exc).strip().splitlines()
    return text[0] if text else type(exc).__name__


def to_dot(graph: Graph) -> str:
    """The IR as Graphviz text: one box per node (name, op, shape), edges in operand order."""
    lines = ["digraph nasc {", "  rankdir=TB;",
             '  node [shape=box, style=rounded, fontname="Helvetica", fontsize=10];']
    for n in graph.order():
        data = graph.node(n)
        shape = data["meta"].get("shape")
        label = f"{data['name']}\\n{data['op']}"
        if shape is not None:
            label += " [" + ",".join(map(str, shape)) + "]"
        lines.append(f'  n{n} [label="{label}"];')
    for n in graph.order():
        for arg in graph.args(n):
            lines.append(f"  n{arg} -> n{n};")
    lines.append("}")
    return "\n".join(lines) + "\n"


def write_graph(graph: Graph, out: Path) -> None:
    """Write `.dot` text, or render `.png` / `.svg` with Graphviz's `dot` program."""
    suffix = out.suffix.lower()
    if suffix not in (".dot", ".gv", ".png", ".svg"):
        raise NascError(f"--graph {out}: write a .dot, .png or .svg file")
    text = to_dot(graph)
    if suffix in (".dot", ".gv"):
        _write_text(out, text)
        return
    dot = shutil.which("dot")
    if dot is None:
        raise NascError(f"--graph {out}: rendering {suffix} needs Graphviz's `dot` program, "
                        f"which is not installed; write a .dot file instead")
    done = subprocess.run([dot, f"-T{suffix[1:]}", "-o", str(out)], input=text, text=True,
                          capture_output=True, check=False)
    if done.returncode != 0:
        raise NascError(f"dot failed: {_first_line(RuntimeError(done.stderr))}")


def _write_text(out: Path, text: str) -> None:
    try:
        out.write_text(text)
    except OSError as exc:
        raise NascError(f"{out}: cannot write: {exc.strerror or exc}") from exc
