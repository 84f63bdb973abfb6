"""`nasc compile` and `nasc diff`."""

from __future__ import annotations

import json
import re
import sys
from pathlib import Path
from typing import Any

import click

from nasc import api
from nasc.cli import OutputPath, SpaceSpec, cli, note_ignored, refuse_same_file, user_errors
from nasc.errors import NascError

EMITS = ("ir", "python", "exported", "onnx")
BINARY = ("exported", "onnx")


def _parse_input(text: str | None) -> tuple[int, int, int]:
    if text is None:
        return (3, 32, 32)
    match = re.fullmatch(r"\s*(\d+)\s*[xX,]\s*(\d+)\s*[xX,]\s*(\d+)\s*", text)
    if not match:
        raise click.BadParameter(f"must look like CxHxW (e.g. 3x32x32), got {text!r}",
                                 param_hint="--input")
    shape = tuple(int(g) for g in match.groups())
    if min(shape) < 1:
        raise click.BadParameter(f"sizes must be at least 1, got {text!r}",
                                 param_hint="--input")
    return shape  # type: ignore[return-value]


def _summarize(path: str, space: str | None, options: dict[str, Any]) -> Any:
    """The report of one file (no weights); located errors printed as by `nasc validate`."""
    text, name = api.read_source(path)
    try:
        return api.summarize_arch(text, space, filename=name, **options)
    except api.ArchError as exc:
        click.echo(str(exc), err=True)
        sys.exit(1)


def _shape_options(input_: str | None, classes: int, input_size: int | None,
                   hidden_size: int | None, max_params: int | None = None) -> dict[str, Any]:
    return {"input_shape": _parse_input(input_), "num_classes": classes,
            "input_size": input_size, "hidden_size": hidden_size, "max_params": max_params}


def _shape_flags(func: Any) -> Any:
    func = click.option("--hidden-size", type=click.IntRange(min=1), metavar="N",
                        help="rnn: hidden (and cell) size N (default 64).")(func)
    func = click.option("--input-size", type=click.IntRange(min=1), metavar="I",
                        help="rnn: input size I (default: the hidden size).")(func)
    func = click.option("--classes", type=click.IntRange(min=1), default=10, show_default=True,
                        help="cnn: number of classes K.")(func)
    func = click.option("--input", "input_", metavar="CxHxW",
                        help="cnn: input image shape (default 3x32x32).")(func)
    return click.option("--space", metavar="NAME|PATH.lark", type=SpaceSpec(),
                        help="Search space to read in (default: recognised from the text).")(func)


@cli.command("compile")
@click.argument("file")
@_shape_flags
@click.option("--json", "as_json", is_flag=True, help="Print the report as JSON.")
@click.option("--emit", type=click.Choice(EMITS),
              help="Emit the IR, a Python file defining the network, a torch.export "
              "program or ONNX.")
@click.option("-o", "--output", type=OutputPath(Path, dash=True),
              help="Where --emit writes (default, or '-': stdout; a file for exported and onnx).")
@click.option("--graph", "graph_out", type=OutputPath(Path),
              metavar="OUT.dot|.png|.svg", help="Draw the IR (png/svg need Graphviz).")
@click.option("--max-params", type=click.IntRange(min=0), metavar="N",
              help="Refuse a network with more than N parameters (before allocating weights).")
@user_errors
def compile_command(file: str, space: str | None, input_: str | None, classes: int,
                    input_size: int | None, hidden_size: int | None, as_json: bool,
                    emit: str | None, output: Path | None, graph_out: Path | None,
                    max_params: int | None) -> None:
    """Compile architecture FILE ('-' for stdin) and report its layers.

    Prints a table (layer, op, inputs, output shape, params, MACs) and the
    totals, or JSON with --json. Invalid text gets the located errors of
    `nasc validate`; every failure is one line on stderr and exit status 1.
    """
    if emit in BINARY and output is None:
        raise click.UsageError(f"--emit {emit} writes a binary file: give -o OUT")
    if emit is not None and output is None and as_json:
        raise click.UsageError(f"--emit {emit} and --json both print to stdout: give -o OUT")
    if emit is None and output is not None:
        raise click.UsageError("-o is where --emit writes: give --emit ir|python|exported|onnx")
    refuse_same_file(output, [file], "-o")
    refuse_same_file(graph_out, [file], "--graph")
    options = _shape_options(input_, classes, input_size, hidden_size, max_params)
    info = _summarize(file, space, options)
    note_ignored({name: f"{kind} networks" for name, kind in KIND_OPTIONS.items()
                  if kind != info.ir.kind})
    if graph_out is not None:
        api.write_graph(info, graph_out)
    if emit is not None:
        text = _emit(info, emit, output)
        if output is None:
            click.echo(text, nl=not text.endswith("\n"))
            return
        click.echo(f"wrote {output}", err=True)
    if as_json:
        click.echo(json.dumps(info.to_json(), indent=2))
    else:
        click.echo(info.table())


KIND_OPTIONS = {"input_": "cnn", "classes": "cnn", "input_size": "rnn", "hidden_size": "rnn"}


def _emit(info: Any, emit: str, output: Path | None) -> str:
    """Produce the --emit artefact: text returned (and written to -o), binaries written."""
    if emit == "ir":
        text = str(info.ir) + "\n"
    elif emit == "python":
        text = api.python_source(info)
    else:
        assert output is not None
        api.save_artifact(info, emit, output)
        return ""
    if output is not None:
        try:
            output.write_text(text)
        except OSError as exc:
            raise NascError(f"{output}: cannot write: {exc.strerror or exc}") from exc
    return text


@cli.command()
@click.argument("file_a", metavar="A")
@click.argument("file_b", metavar="B")
@_shape_flags
@click.option("--json", "as_json", is_flag=True, help="Print the differences as JSON.")
@user_errors
def diff(file_a: str, file_b: str, space: str | None, input_: str | None, classes: int,
         input_size: int | None, hidden_size: int | None, as_json: bool) -> None:
    """Show what differs between architectures A and B of one space.

    Per layer (cnn) or tree node (rnn): op, connections, output shape and
    parameters; then the head's inputs (or inject and cell) and the totals.
    Prints `identical` when nothing differs. Exit status 0 either way.
    """
    if file_a == file_b == "-":
        raise click.BadParameter("stdin ('-') can be read once", param_hint="A, B")
    options = _shape_options(input_, classes, input_size, hidden_size)
    info_a = _summarize(file_a, space, options)
    info_b = _summarize(file_b, space, options)
    if info_a.ir.kind != info_b.ir.kind:
        raise NascError(f"{file_a} is {info_a.ir.kind} and {file_b} is {info_b.ir.kind}: "
                        f"diff compares architectures of one kind")
    changes = api.diff(info_a, info_b)
    if as_json:
        click.echo(json.dumps({"a": file_a, "b": file_b, "space": [info_a.space, info_b.space],
                               "identical": not changes,
                               "changes": [c.to_json() for c in changes]}, indent=2))
        return
    click.echo("\n".join(str(c) for c in changes) if changes else "identical")
