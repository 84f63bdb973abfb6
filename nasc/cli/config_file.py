"""`--config FILE.toml`: a command's options from a TOML file; the command line overrides it.

    config_option(command)     adds --config to a click command (read before its options)
    read_config(path, command) -> {parameter name: value}   (unknown keys: one error line)

Keys are option names with dashes or underscores (`max-layers` or `max_layers`; `store`
for --store), at the top level or in a `[search]` table. The values become the
options' defaults (click's `default_map`), so they are converted and checked as if
typed, and anything typed on the command line wins.
"""

from __future__ import annotations

import sys
from collections.abc import Callable
from pathlib import Path
from typing import Any

import click

if sys.version_info >= (3, 11):
    import tomllib
else:  # pragma: no cover - Python 3.10
    import tomli as tomllib


def option_names(command: click.Command) -> dict[str, str]:
    """Every spelling a config key may use -> the parameter's name."""
    names: dict[str, str] = {}
    for param in command.params:
        if not isinstance(param, click.Option) or param.hidden \
                or param.name in (None, "config", "help"):
            continue
        spellings = {param.name, *(o.lstrip("-") for o in param.opts if o.startswith("--"))}
        for spelling in spellings:
            names[spelling] = names[spelling.replace("-", "_")] = str(param.name)
            names[spelling.replace("_", "-")] = str(param.name)
    return names


def read_config(path: str, command: click.Command) -> dict[str, Any]:
    """The options in the TOML file at `path` by parameter name; `click.BadParameter` (one
    line) for a file that cannot be read or parsed, an unknown key or a table value."""
    try:
        doc = tomllib.loads(Path(path).read_text(encoding="utf-8"))
    except OSError as exc:
        raise click.BadParameter(f"{path}: {exc.strerror or exc}") from None
    except (tomllib.TOMLDecodeError, UnicodeDecodeError) as exc:
        raise click.BadParameter(f"{path}: not TOML ({exc})") from None
    table = doc["search"] if set(doc) == {"search"} and isinstance(doc["search"], dict) else doc
    names, out = option_names(command), {}
    for key, value in table.items():
        if key not in names:
            known = ", ".join(sorted(o[2:] for p in command.params for o in p.opts
                                     if o.startswith("--") and p.name in names.values()))
            raise click.BadParameter(f"{path}: unknown option {key!r} (options: {known})")
        if isinstance(value, dict | list):
            raise click.BadParameter(f"{path}: {key} must be a single value, not a "
                                     f"{'table' if isinstance(value, dict) else 'list'}")
        if names[key] in out:
            raise click.BadParameter(f"{path}: {key} is given twice")
        out[names[key]] = value
    return out


def _load(ctx: click.Context, param: click.Parameter, value: str | None) -> str | None:
    if value is not None:
        ctx.default_map = {**(ctx.default_map or {}), **read_config(value, ctx.command)}
    return value


def config_option(command: Callable[..., Any]) -> Callable[..., Any]:
    """Add `--config FILE` (read first: its values are the other options' defaults)."""
    return click.option("--config", type=click.Path(dir_okay=False), default=None,
                        is_eager=True, expose_value=False, callback=_load,
                        metavar="FILE.toml",
                        help="Read options from a TOML file (keys: option names, e.g. "
                             "max-layers = 3); options on the command line override it.")(command)
