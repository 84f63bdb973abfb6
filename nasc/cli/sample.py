"""`nasc sample` and `nasc check-space`: draw architectures from a space, lint a grammar."""

from __future__ import annotations

import sys
from collections.abc import Callable
from typing import TYPE_CHECKING

import click

from nasc.cli import MAX_LAYERS, MAX_TOKENS, SEED, Finite, SpaceSpec, cli, user_errors
from nasc.errors import NascError
from nasc.runtime.strategy_config import StrategyConfig

CHUNK = 1_000  # architectures drawn, then printed, at a time
DEFAULT_LAYERS = StrategyConfig.max_layers or 4  # the same default as `nasc search`

if TYPE_CHECKING:  # the controller package imports torch: loaded when a command runs, so
    # that every other command (`nasc validate`) starts without it
    from nasc.controller.decisions import Budget, DecisionTable
    from nasc.controller.reinforce import Controller


def _budget(table: DecisionTable, max_layers: int | None, min_layers: int,
            max_tokens: int | None) -> Budget:
    from nasc.controller.cycles import needs_tokens
    from nasc.controller.decisions import Budget

    layered = bool(table.lalr.layer_origins)
    if not layered and max_layers is not None:
        raise NascError(f"space {table.space.name} has no layers: use --max-tokens")
    if max_layers is not None and min_layers > max_layers:
        raise click.UsageError(f"--min-layers {min_layers} is above --max-layers {max_layers}")
    if max_tokens is None and needs_tokens(table.lalr):  # only tokens bound the strings
        max_tokens = 64
    if layered:
        return Budget(max_layers or DEFAULT_LAYERS, max_tokens, min_layers)
    return Budget(None, max_tokens, 0)


def _controller_budget(ctl: Controller, max_layers: int | None, min_layers: int | None,
                       max_tokens: int | None) -> Budget:
    """The controller's own budget (what it was trained with), each bound the command
    line gives overriding it."""
    saved = ctl.current_budget()
    if max_layers is None and min_layers is None and max_tokens is None:
        return saved
    return _budget(ctl.table, max_layers if max_layers is not None else saved.max_layers,
                   min_layers if min_layers is not None else max(saved.min_layers, 1),
                   max_tokens if max_tokens is not None else saved.max_tokens)


@cli.command()
@click.option("--space", default=None, metavar="NAME|PATH.lark", type=SpaceSpec(),
              help="Search space: a built-in name or a grammar file [default: cnn, or the "
                   "--controller's own space].")
@click.option("-n", "--num", default=10, show_default=True, type=click.IntRange(min=1),
              help="How many architectures.")
@click.option("--seed", default=0, show_default=True, type=SEED, help="Random seed.")
@click.option("--max-layers", type=click.IntRange(min=1, max=MAX_LAYERS), default=None,
              help=f"At most this many layers (layered spaces) [default: {DEFAULT_LAYERS}, "
                   f"as nasc search; a --controller's own budget].")
@click.option("--min-layers", type=click.IntRange(min=0, max=MAX_LAYERS), default=None,
              help="At least this many layers [default: 1; a --controller's own].")
@click.option("--max-tokens", type=click.IntRange(min=1, max=MAX_TOKENS), default=None,
              help="At most this many tokens (default: 64 where only tokens bound the strings).")
@click.option("--controller", "checkpoint", type=click.Path(dir_okay=False), default=None,
              help="Sample from a trained controller checkpoint instead of at random.")
@click.option("--temperature", default=1.0, show_default=True,
              type=Finite(min=0, min_open=True), help="Controller softmax temperature.")
@click.option("--uniform", is_flag=True,
              help="Uniform over architectures (exact counting), not uniform per decision.")
@click.option("--count", "count_only", is_flag=True,
              help="Print how many architectures the space holds within the budget.")
@user_errors
def sample(space: str | None, num: int, seed: int, max_layers: int | None,
           min_layers: int | None,
           max_tokens: int | None, checkpoint: str | None, temperature: float, uniform: bool,
           count_only: bool) -> None:
    """Print NUM architectures of a space, one per line (layers joined by '; ').

    By default each decision is uniform over the grammar's valid choices (the
    paper's random search); --controller samples a trained controller. Every
    line is valid in the space and within the budget; the same seed gives the
    same output. A controller samples within the budget it was trained with
    unless --max-layers, --min-layers or --max-tokens say otherwise.
    """
    from nasc.controller.counting import count
    from nasc.controller.decisions import DecisionTable

    ctl = _load_controller(checkpoint, space, uniform) if checkpoint is not None else None
    table = ctl.table if ctl is not None else DecisionTable(space or "cnn")
    budget = (_controller_budget(ctl, max_layers, min_layers, max_tokens) if ctl is not None
              else _budget(table, max_layers, 1 if min_layers is None else min_layers,
                           max_tokens))
    if count_only:
        click.echo(_digits(count(table, budget)))
        return
    draw = _drawer(ctl, table, budget, seed, temperature, uniform)
    for start in range(0, num, CHUNK):  # lines stream out: -n 10**8 | head works
        click.echo("\n".join(draw(min(CHUNK, num - start))))


def _drawer(ctl: Controller | None, table: DecisionTable, budget: Budget, seed: int,
            temperature: float, uniform: bool) -> Callable[[int], list[str]]:
    """A function that draws the next n architectures' texts."""
    from nasc.controller.counting import UniformSampler
    from nasc.controller.samples import RandomSampler

    if ctl is not None:
        ctl.generator.manual_seed(seed)
        return lambda n: [s.text for s in ctl.sample(n, temperature=temperature,
                                                     budget=budget).samples]
    sampler = UniformSampler(table, budget, seed) if uniform else RandomSampler(table, budget,
                                                                               seed)
    return lambda n: [s.text for s in sampler.sample(n)]


def _digits(number: int) -> str:
    """Every digit of a count, however long (past Python's default 4,300-digit limit)."""
    limit = getattr(sys, "get_int_max_str_digits", lambda: 0)()
    if limit:
        sys.set_int_max_str_digits(0)
    try:
        return str(number)
    finally:
        if limit:
            sys.set_int_max_str_digits(limit)


def _load_controller(path: str, space: str | None, uniform: bool) -> Controller:
    """The trained controller at `path`, on its own space unless --space names another."""
    from nasc.controller.reinforce import Controller

    if uniform:
        raise click.UsageError("--uniform and --controller exclude each other")
    return Controller.load(path, space)


@cli.command("check-space")
@click.argument("grammar", metavar="NAME|PATH.lark", type=SpaceSpec())
@click.option("-n", "--num", default=300, show_default=True, type=click.IntRange(min=0),
              help="How many sampled strings to push through the compiler.")
@click.option("--seed", default=0, show_default=True, type=SEED, help="Random seed.")
@click.option("--max-layers", default=6, show_default=True,
              type=click.IntRange(min=1, max=MAX_LAYERS),
              help="Layer budget for the samples.")
@click.option("--max-tokens", default=None, type=click.IntRange(min=1, max=MAX_TOKENS),
              help="Token budget for the samples [64 where only tokens bound the strings].")
@user_errors
def check_space_command(grammar: str, num: int, seed: int, max_layers: int,
                        max_tokens: int | None) -> None:
    """Lint a search-space grammar and check that its sampled strings compile.

    Reports unbounded choice terminals, rules that can never finish, unreachable
    rules and repetitions that need a token budget. Exit status 1 on errors.
    """
    from nasc.controller.lint import check_space

    report = check_space(grammar, num, seed, max_layers, max_tokens)
    for finding in report.findings:
        click.echo(f"{grammar}: {finding}")
    if report.sampled:
        click.echo(f"{grammar}: sampled {report.sampled} strings, {report.passed} "
                   f"{report.how}")
    if report.ok:
        click.echo(f"{grammar}: ok")
    else:
        raise SystemExit(1)
