"""The `nasc` command line: one click group; each command lives in its own module."""

from __future__ import annotations

import functools
import math
import os
import sys
from collections.abc import Callable, Iterable
from pathlib import Path
from typing import Any, TypeVar

import click

from nasc import __version__
from nasc.errors import NascError

F = TypeVar("F", bound=Callable[..., Any])
MAX_LAYERS = 2_000  # budgets past these are no architecture search (and cost minutes to plan)
MAX_TOKENS = 20_000
SEED = click.IntRange(0, 2**32 - 1)  # numpy's and torch's seeds; trial seeds derive from it


@click.group(context_settings={"help_option_names": ["-h", "--help"]})
@click.version_option(__version__, prog_name="nasc")
def cli() -> None:
    """nasc: write, validate, compile and search neural architectures."""


class Finite(click.FloatRange):
    """A float option that refuses nan and inf (a NaN learning rate would poison a store
    that can then never be resumed); `min`/`max` as in click.FloatRange."""

    name = "finite float"

    def convert(self, value: Any, param: click.Parameter | None,
                ctx: click.Context | None) -> Any:
        number = super().convert(value, param, ctx)
        if not math.isfinite(number):
            self.fail(f"{value!r} is not a finite number", param, ctx)
        return number

    def _describe_range(self) -> str:
        if self.min is None and self.max is None:
            return "finite"  # click would print 'x<=None'
        return str(super()._describe_range())


class OutputPath(click.Path):
    """A file nasc will write: checked before any work is done, so that a typo in a folder
    name fails at once instead of after a compile or a search (exit status 2)."""

    name = "output file"

    def __init__(self, path_type: Any = None, dash: bool = False, store: bool = False) -> None:
        super().__init__(dir_okay=False, writable=True, path_type=path_type)
        self.dash = dash  # "-" means stdout (converted to None); else it is refused
        self.store = store  # a search store: the search decides (--resume), not this check

    def convert(self, value: Any, param: click.Parameter | None,
                ctx: click.Context | None) -> Any:
        if value == "-":
            if not self.dash:
                self.fail("'-' (stdout) cannot be written here: give a file name", param, ctx)
            return None
        path = super().convert(value, param, ctx)
        folder = Path(os.fsdecode(path)).absolute().parent
        if not folder.is_dir():
            self.fail(f"folder {str(folder)!r} does not exist", param, ctx)
        if not os.access(folder, os.W_OK | os.X_OK):
            self.fail(f"folder {str(folder)!r} is not writable", param, ctx)
        from nasc.runtime.store import is_sqlite

        if not self.store and is_sqlite(Path(os.fsdecode(path))):
            self.fail(f"{os.fsdecode(path)!r} is a SQLite database (a search store?): "
                      f"not overwritten; remove it first or choose another name", param, ctx)
        return path


def refuse_same_file(output: str | Path | None, inputs: Iterable[str], option: str) -> None:
    """Usage error (exit 2) when the file to write is one of the files read."""
    if output is None or not Path(output).exists():
        return
    for source in inputs:
        if source != "-" and Path(source).exists() and os.path.samefile(source, output):
            raise click.UsageError(f"{option} {output} is also an input: it would be overwritten")


def note_ignored(unread: dict[str, str]) -> None:
    """A note for each option in `unread` (parameter name -> what it applies to) that was
    given on the command line: it is accepted, and ignored."""
    ctx = click.get_current_context(silent=True)
    if ctx is None:
        return
    flags = {p.name: max(p.opts, key=len) for p in ctx.command.params}
    for name, where in unread.items():
        if ctx.get_parameter_source(name) in (click.core.ParameterSource.COMMANDLINE,
                                              click.core.ParameterSource.DEFAULT_MAP):
            click.echo(f"nasc: note: {flags[name]} applies to {where} only; ignored", err=True)


class SpaceSpec(click.ParamType):
    """--space: a built-in space's name or the path of a .lark file (else exit status 2)."""

    name = "space"

    def convert(self, value: Any, param: click.Parameter | None,
                ctx: click.Context | None) -> Any:
        from nasc.grammar import builtin_names

        text = str(value)
        if text in builtin_names() or Path(text).is_file():
            return text
        if Path(text).is_dir():
            self.fail(f"{text!r} is a directory, not a .lark file", param, ctx)
        if text.endswith(".lark") or os.sep in text:
            self.fail(f"{text}: no such grammar file", param, ctx)
        known = ", ".join(builtin_names())
        self.fail(f"unknown space {text!r}: use one of {known} or a path to a .lark file",
                  param, ctx)


def user_errors(func: F) -> F:
    """Turn user-facing errors into one line on stderr and exit code 1, never a traceback:
    nasc's own errors, files that cannot be read or written, and running out of memory."""

    @functools.wraps(func)
    def wrapper(*args: Any, **kwargs: Any) -> Any:
        try:
            return func(*args, **kwargs)
        except BrokenPipeError:  # `nasc sample -n 1000000 | head`: the reader has all it wants
            os.dup2(os.open(os.devnull, os.O_WRONLY), sys.stdout.fileno())
            sys.exit(1)
        except NascError as exc:
            click.echo(f"nasc: error: {exc}", err=True)
            sys.exit(1)
        except OSError as exc:
            where = f"{exc.filename}: " if exc.filename else ""
            click.echo(f"nasc: error: {where}{exc.strerror or exc}", err=True)
            sys.exit(1)
        except MemoryError:
            click.echo("nasc: error: out of memory (a network this large needs --max-params "
                       "or smaller options)", err=True)
            sys.exit(1)
        except KeyboardInterrupt:
            click.echo("nasc: interrupted", err=True)
            sys.exit(130)

    return wrapper  # type: ignore[return-value]


def main() -> None:
    cli()


# Commands register themselves on `cli` when their module is imported.
from nasc.cli import compile as _compile  # noqa: E402,F401
from nasc.cli import sample as _sample  # noqa: E402,F401
from nasc.cli import search as _search  # noqa: E402,F401
from nasc.cli import train as _train  # noqa: E402,F401
from nasc.cli import validate as _validate  # noqa: E402,F401
