"""`nasc search`'s user functions, objectives and `--resume`: options to a `SearchConfig`.

    user_options(command)      adds --evaluate, --objective, --objectives, --pruner ...
    search_config(opts) -> SearchConfig   fresh (`make_config`) or from the store (--resume)

A resumed search reads every defining option from its store; an option given on
the command line must agree with it, except the execution options (`EXECUTION`:
--trials, --executor, --workers, --threads, --address, --gpus-per-trial, --device,
--devices),
which may change and are noted when they do.
"""

from __future__ import annotations

import os
import sys
from collections.abc import Callable
from typing import Any

import click

from nasc.errors import NascError

# CLI parameter -> configuration name, where they differ
_RENAMED = {"store_path": None, "resume": None, "top": None, "batch_deprecated": None}


def user_options(command: Callable[..., Any]) -> Callable[..., Any]:
    """The options for user evaluators, objectives and pruning (added to `nasc search`)."""
    options = [
        click.option("--evaluate", default=None, metavar="MODULE:FUNCTION",
                     help="Your evaluator instead of the built-in training: "
                          "evaluate(model, trial) -> float or {metric: float}."),
        click.option("--objective", default=None, metavar="EXPR",
                     help="The reward as an expression over the final metrics (accuracy, "
                          "perplexity, params, macs, latency, seconds, your evaluator's), "
                          "e.g. 'accuracy * (latency / 0.01) ** -0.07'."),
        click.option("--objectives", default=None, metavar="NAME:max|min,...",
                     help="Two or more objectives for a Pareto front, e.g. "
                          "accuracy:max,params:min (random and evolution rank by NSGA-II; "
                          "reinforce learns from a scalarised reward)."),
        click.option("--pruner", type=click.Choice(["none", "median", "halving"]),
                     default="none", show_default=True,
                     help="Stop weak children early on their per-epoch metric: the median "
                          "rule or successive halving (biases reinforce's rewards)."),
        click.option("--prune-metric", default=None, metavar="NAME:max|min",
                     help="The per-epoch metric pruning watches [valid_acc cnn, valid_ppl "
                          "rnn, accuracy for --evaluate]."),
        click.option("--prune-warmup", type=click.IntRange(min=1), default=1,
                     show_default=True,
                     help="median: the first epoch that may prune; halving: the first rung."),
        click.option("--prune-startup", type=click.IntRange(min=1), default=5,
                     show_default=True,
                     help="median: completed trials an epoch needs before it prunes."),
        click.option("--prune-eta", type=click.IntRange(min=2), default=3, show_default=True,
                     help="halving: the best 1/eta go on at each rung (epochs warmup*eta^k)."),
    ]
    for option in reversed(options):
        command = option(command)
    return command


PRUNE_OPTIONS = ("pruner", "prune_metric", "prune_warmup", "prune_startup", "prune_eta")


def _given(opts: dict[str, Any]) -> dict[str, Any]:
    """The options typed on the command line or read from --config, by configuration name."""
    ctx = click.get_current_context()
    given = (click.core.ParameterSource.COMMANDLINE, click.core.ParameterSource.DEFAULT_MAP)
    out = {}
    for name, value in opts.items():
        if name in _RENAMED or ctx.get_parameter_source(name) not in given:
            continue
        out[name] = value
    if out.get("pruner") == "none":
        out["pruner"] = None
    if out.get("objectives") is not None:
        from nasc.runtime.pareto import parse_objectives

        out["objectives"] = ",".join(f"{n}:{d}" for n, d in parse_objectives(out["objectives"]))
    return out


def _user_paths(opts: dict[str, Any]) -> None:
    """`--evaluate mymodule:fn` finds `mymodule.py` in the current folder, as `python -m`
    would (worker processes inherit the path)."""
    if os.getcwd() not in sys.path:
        sys.path.insert(0, os.getcwd())


def search_config(opts: dict[str, Any]) -> Any:
    """The `SearchConfig` for `nasc search` (from the store with --resume), checked."""
    from nasc.runtime.config import make_config, resume_config

    _user_paths(opts)
    if opts["resume"]:
        config, notes = resume_config(str(opts["store_path"]), _given(opts))
        for note in notes:
            click.echo(f"nasc: note: {note}", err=True)
    else:
        names = ("batch", "population", "tournament", "remutate", "max_layers",
                 "controller_lr", "controller_baseline", "epochs",
                 "batch_size", "lr", "hidden_size", "max_batches", "max_params", "time_limit",
                 "failure_reward", "device", "devices", "threads", "address",
                 "gpus_per_trial", *PRUNE_OPTIONS)
        config = make_config(str(opts["store_path"]), opts["space"], opts["data"],
                             opts["strategy"], opts["trials"], opts["objective"],
                             opts["objectives"], opts["evaluate"], opts["executor"],
                             opts["workers"], opts["seed"], **{k: opts[k] for k in names})
    return _checked(config)


def _checked(config: Any) -> Any:
    """Ray needs an address; local workers x threads fit the CPUs; the device exists;
    the evaluator imports."""
    from dataclasses import replace

    if config.executor == "ray" and config.address is None:
        raise NascError("--executor ray needs --address HOST:PORT (or auto)")
    cpus = os.cpu_count() or 1
    if config.executor == "local" and config.workers * config.threads > cpus:
        workers = max(1, cpus // config.threads)
        click.echo(f"nasc: note: --workers {config.workers} x --threads {config.threads} "
                   f"is more than this machine's {cpus} CPUs; using {workers} workers", err=True)
        config = replace(config, workers=workers)
    from nasc.device import TRAIN, check_device  # torch: only when a search runs

    check_device(config.train.device, here=config.executor != "ray", what="--device",
                 allowed=TRAIN)
    if config.devices is not None:
        from nasc.runtime.devices import parse_devices

        if config.executor != "local":
            raise NascError(f"--devices gives local workers their devices; with --executor "
                            f"{config.executor} use --device")
        devices = parse_devices(config.devices)
        if len(devices) > config.workers:
            click.echo(f"nasc: note: {len(devices)} --devices for {config.workers} workers: "
                       f"{', '.join(devices[config.workers:])} unused", err=True)
    if config.train.evaluate is not None:
        from nasc.runtime.user import resolve

        resolve(config.train.evaluate, "evaluate")
    return config


def objectives_note(config: Any) -> None:
    """Say how a multi-objective search turns its objectives into choices."""
    objectives = config.strategy.objectives
    if objectives is None:
        return
    if config.strategy.name == "reinforce":
        click.echo(f"nasc: note: reinforce learns from one reward: the scalarised objective "
                   f"{config.train.objective} (the front over {objectives} is in "
                   f"`nasc report`)", err=True)
    else:
        how = ("parents by NSGA-II" if config.strategy.name == "evolution"
               else "nothing (random), the front is reported")
        click.echo(f"nasc: note: objectives {objectives}: {config.strategy.name} selects "
                   f"{how}; rewards are the scalarised {config.train.objective}", err=True)


def front_line(config: Any) -> None:
    """The Pareto front's trial ids, for a multi-objective search."""
    if config.strategy.objectives is None:
        return
    from nasc.runtime.multi import pareto_trials
    from nasc.runtime.store import Store

    store = Store.open(config.store, readonly=True)
    try:
        front = pareto_trials(store.trials(), config.strategy.objectives)
    finally:
        store.close()
    ids = ", ".join(str(t.id) for t in front) or "none yet"
    click.echo(f"Pareto front ({config.strategy.objectives}): trials {ids}")
