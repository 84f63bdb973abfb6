"""The `nasc` command line: one click group; each command lives in its own module."""

from __future__ import annotations

import functools
import sys
from collections.abc import Callable
from typing import Any, TypeVar

import click

from nasc import __version__
from nasc.errors import NascError

F = TypeVar("F", bound=Callable[..., Any])


@click.group(context_settings={"help_option_names": ["-h", "--help"]})
@click.version_option(__version__, prog_name="nasc")
def cli() -> None:
    """nasc: write, validate, compile and search neural architectures."""


def user_errors(func: F) -> F:
    """Turn user-facing errors into one line on stderr and exit code 1, never a traceback."""

    @functools.wraps(func)
    def wrapper(*args: Any, **kwargs: Any) -> Any:
        try:
            return func(*args, **kwargs)
        except NascError as exc:
            click.echo(f"nasc: error: {exc}", err=True)
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
from nasc.cli import validate as _validate  # noqa: E402,F401
