"""`nasc validate` and `nasc spaces`."""

from __future__ import annotations

import json
import sys
from pathlib import Path
from typing import Any

import click

from nasc.api import ArchError, read_source, resolve_space
from nasc.api import validate as parse
from nasc.cli import SpaceSpec, cli, user_errors
from nasc.errors import NascError
from nasc.grammar import Space, list_spaces, load_space

EXAMPLES = Path(__file__).resolve().parents[2] / "examples"


def _validate_one(path: str, space: str | None) -> dict[str, Any]:
    """Validate one file; the result is the `--json` object."""
    result: dict[str, Any] = {"file": "<stdin>" if path == "-" else path, "valid": False,
                              "space": space, "arch": None, "errors": []}
    try:
        text, name = read_source(path)
        loaded = resolve_space(space, text)
        result["space"] = loaded.name
        parsed = parse(text, loaded, filename=name)
    except ArchError as exc:
        result["errors"] = [d.to_json() for d in exc.diagnostics]
        result["_text"] = str(exc)
        return result
    except NascError as exc:
        result["errors"] = [{"line": None, "column": None, "message": str(exc)}]
        result["_text"] = f"nasc: error: {exc}"
        return result
    result.update(valid=True, space=parsed.space.name, _arch=parsed.arch)
    return result


def _json_of(result: dict[str, Any]) -> dict[str, Any]:
    """The `--json` object of one result (the AST's JSON form built only here)."""
    shown = {k: v for k, v in result.items() if not k.startswith("_")}
    if "_arch" in result:
        shown["arch"] = result["_arch"].to_json()
    return shown


@cli.command()
@click.argument("files", nargs=-1, required=True)
@click.option("--space", metavar="NAME|PATH.lark", type=SpaceSpec(),
              help="Search space to read in (default: recognised from the text).")
@click.option("--json", "as_json", is_flag=True, help="Print a JSON object per file.")
@user_errors
def validate(files: tuple[str, ...], space: str | None, as_json: bool) -> None:
    """Check architecture FILES ('-' for stdin): print ok, or every error found.

    Errors read FILE:LINE:COL: error: MESSAGE, with the line and a caret.
    Exit status: 0 all valid, 1 some invalid, 2 usage error.
    """
    if files.count("-") > 1:
        raise click.BadParameter("stdin ('-') can be read once", param_hint="FILES")
    if space is not None:
        load_space(space)  # an unknown space or a broken grammar fails once, up front
    results = [_validate_one(path, space) for path in files]
    if as_json:
        shown = [_json_of(r) for r in results]
        click.echo(json.dumps(shown[0] if len(shown) == 1 else shown, indent=2))
    else:
        for result in results:
            if result["valid"]:
                click.echo("ok" if len(results) == 1 else f"{result['file']}: ok")
            else:
                click.echo(result["_text"], err=True)
    sys.exit(0 if all(r["valid"] for r in results) else 1)


@cli.command()
@click.option("--json", "as_json", is_flag=True, help="Print the list as JSON.")
@user_errors
def spaces(as_json: bool) -> None:
    """List the built-in search spaces and the example spaces shipped with nasc.

    The first column is what `--space` takes."""
    found = list_spaces(EXAMPLES)
    if as_json:
        click.echo(json.dumps([{"name": s.name, "kind": s.kind, "path": str(s.path),
                                "space_option": _space_option(s),
                                "description": s.description} for s in found], indent=2))
        return
    options = [_space_option(s) for s in found]
    width = max(len(o) for o in options)
    for s, option in zip(found, options, strict=True):
        click.echo(f"{option:<{width}}  {s.kind:<4}  {s.description}")


def _space_option(space: Space) -> str:
    """What `--space` takes for this space: a built-in's name, else its path (relative
    to the working directory where it lies below it)."""
    if space.path.parent.name == "grammar":
        return space.name
    try:
        return str(space.path.relative_to(Path.cwd()))
    except ValueError:
        return str(space.path)
