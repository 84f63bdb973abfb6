"""`nasc search`, `nasc report`, `nasc export`: run a search, read its store."""

from __future__ import annotations

import json
import signal
import sys
from pathlib import Path
from typing import Any

import click

from nasc.cli import (
    MAX_LAYERS,
    SEED,
    Finite,
    OutputPath,
    SpaceSpec,
    cli,
    note_ignored,
    user_errors,
)
from nasc.cli.config_file import config_option
from nasc.cli.progress import ProgressLine
from nasc.cli.search_options import front_line, objectives_note, search_config, user_options
from nasc.errors import NascError
from nasc.runtime.strategy_config import StrategyConfig

PLOT_SUFFIXES = (".png", ".svg", ".pdf")


@cli.command()
@click.option("--space", default="cnn", show_default=True, type=SpaceSpec(),
              help="Built-in space or a .lark file.")
@click.option("--data", default="digits", show_default=True,
              help="digits, cifar10:DIR, mnist:DIR, folder:DIR, ptb:DIR, or "
                   "nb201:DIR[:cifar10|cifar100|imagenet16] (the NAS-Bench-201 table: "
                   "trials are looked up, not trained).")
@click.option("--strategy", type=click.Choice(["reinforce", "random", "evolution"]),
              default="reinforce", show_default=True,
              help="reinforce: the paper's controller; random: uniform per decision; "
                   "evolution: regularized evolution.")
@click.option("--trials", type=click.IntRange(min=1), default=20, show_default=True,
              help="Total trials in the store (a resumed search counts the finished ones).")
@click.option("--controller-batch", "batch", type=click.IntRange(min=1),
              default=StrategyConfig.batch, show_default=True,
              help="reinforce: architectures the controller samples per step (m); not "
                   "--batch-size, the children's SGD batch.")
@click.option("--batch", "batch_deprecated", type=click.IntRange(min=1), default=None,
              hidden=True, help="The old name of --controller-batch (deprecated).")
@click.option("--controller-lr", type=Finite(min=0, min_open=True),
              default=StrategyConfig.controller_lr, show_default=True,
              help="reinforce: the controller's learning rate (Adam), tuned for searches of "
                   "hundreds of children; the paper's is 6e-4.")
@click.option("--controller-baseline", type=click.Choice(["rank", "ema"]),
              default=StrategyConfig.controller_baseline, show_default=True,
              help="reinforce: the advantage is the reward's centred rank in its batch "
                   "(rank), or the reward less a moving average of rewards (ema, the "
                   "paper's).")
@click.option("--population", type=click.IntRange(min=2), default=StrategyConfig.population,
              show_default=True, help="evolution: population size.")
@click.option("--tournament", type=click.IntRange(min=1), default=StrategyConfig.tournament,
              show_default=True, help="evolution: tournament size.")
@click.option("--remutate", type=click.IntRange(min=0), default=StrategyConfig.remutate,
              show_default=True,
              help="evolution: a child that repeats an earlier architecture is mutated "
                   "again, up to this many times.")
@click.option("--workers", type=click.IntRange(min=1), default=2, show_default=True,
              help="Trials run at once (processes, or Ray tasks).")
@click.option("--threads", type=click.IntRange(min=1), default=1, show_default=True,
              help="Torch threads (Ray: CPUs) per trial.")
@click.option("--executor", type=click.Choice(["local", "inline", "ray"]), default="local",
              show_default=True,
              help="Where trials run: local worker processes, this process one at a time, "
                   "or a Ray cluster.")
@click.option("--address", default=None, help="Ray cluster: HOST:PORT or auto.")
@click.option("--gpus-per-trial", type=Finite(min=0), default=0.0, show_default=True,
              help="ray: GPUs each trial requests (above 0 trains on cuda).")
@click.option("--epochs", type=click.IntRange(min=1), default=5, show_default=True,
              help="Training epochs per child.")
@click.option("--batch-size", type=click.IntRange(min=1), default=None,
              help="Child batch size [64 cnn, 20 rnn].")
@click.option("--lr", type=Finite(min=0, min_open=True, max=1e4), default=None,
              help="Child learning rate [0.1 cnn, 20 rnn].")
@click.option("--max-batches", type=click.IntRange(min=1), default=None,
              help="Cap on batches per epoch.")
@click.option("--hidden-size", type=click.IntRange(min=1), default=64, show_default=True,
              help="rnn children: hidden and embedding size.")
@click.option("--max-layers", type=click.IntRange(min=1, max=MAX_LAYERS),
              default=StrategyConfig.max_layers, show_default=True,
              help="At most this many layers per sampled architecture (layered spaces).")
@click.option("--max-params", type=click.IntRange(min=1), default=None,
              help="Children over this many parameters fail without training.")
@click.option("--time-limit", type=Finite(min=0, min_open=True), default=None,
              help="Seconds per trial; longer trials fail.")
@click.option("--failure-reward", type=Finite(), default=0.0, show_default=True,
              help="The reward a failed trial gets.")
@click.option("--device", default="cpu", show_default=True, help="Torch device for children.")
@click.option("--devices", default=None, metavar="DEV,DEV,...",
              help="local: one device per worker, round robin (e.g. cuda:0,cuda:1); "
                   "instead of --device.")
@click.option("--store", "store_path", default="nasc-search.db", show_default=True,
              type=OutputPath(store=True),
              help="The SQLite file every trial is recorded in (never overwritten).")
@click.option("--resume", is_flag=True,
              help="Continue the search in --store with the options it was created with "
                   "(--trials, --executor, --workers, --threads, --address, "
                   "--gpus-per-trial, --device and --devices may change).")
@click.option("--seed", type=SEED, default=0, show_default=True,
              help="Random seed of the strategy and of every trial's training.")
@click.option("--top", type=click.IntRange(min=1), default=5, show_default=True,
              help="Best architectures printed at the end.")
@user_options
@config_option
@user_errors
def search(**opts: Any) -> None:
    """Search the space: sample, train each child, learn from its reward.

    Every trial is recorded in the SQLite --store as it happens. Ctrl-C (or
    SIGTERM) stops cleanly; the same command with --resume continues where it
    stopped, as it does after a crash or SIGKILL.
    """
    from nasc.runtime.search import run_search

    config = _config(opts)
    objectives_note(config)
    progress = ProgressLine(config.trials, 1 if config.executor == "inline" else config.workers)
    previous = signal.signal(signal.SIGTERM, _interrupt)  # a scheduler's stop: like Ctrl-C
    try:
        summary = run_search(config, opts["resume"], progress)
    finally:
        signal.signal(signal.SIGTERM, previous)
        progress.close()
    _print_summary(config, summary, opts["top"])
    front_line(config)
    if summary.interrupted:
        click.echo(f"nasc: interrupted; continue with the same command and --resume "
                   f"(store {config.store})", err=True)
        sys.exit(130)
    finished = summary.counts["done"] + summary.counts["failed"] + summary.counts["pruned"]
    if opts["resume"] and not summary.trained + summary.reused and finished >= config.trials:
        click.echo(f"nasc: note: nothing to run: the store holds {finished} finished trials "
                   f"and --trials is {config.trials}; raise --trials to go on", err=True)
    if summary.counts["failed"]:
        _print_failures(config.store, every=not summary.counts["done"])


def _print_failures(store_path: Path, every: bool) -> None:
    """Why trials failed, most common reason first; every trial failing is an error."""
    from collections import Counter

    from nasc.runtime.store import Store

    store = Store.open(store_path, readonly=True)
    try:
        reasons = Counter((t.error or "no reason recorded").splitlines()[0]
                          for t in store.trials("failed"))
    finally:
        store.close()
    for reason, times in reasons.most_common(3):
        click.echo(f"nasc: {times} failed: {reason}", err=True)
    if every:
        raise NascError(f"every trial failed; `nasc report {store_path} --json` has each error")


def _interrupt(signum: int, frame: Any) -> None:
    raise KeyboardInterrupt


def _config(opts: dict[str, Any]) -> Any:
    """The search's configuration (with --resume, the store's: see `search_options`)."""
    _old_batch(opts)
    if not opts["resume"]:  # resumed: the store's options decide what applies
        note_ignored({name: where for name, (applies, where) in APPLIES.items()
                      if not applies(opts)})
    return search_config(opts)


def _old_batch(opts: dict[str, Any]) -> None:
    """--batch, the old name of --controller-batch: still read, with a note."""
    old = opts.pop("batch_deprecated", None)
    if old is None:
        return
    source = click.get_current_context().get_parameter_source("batch")
    if source == click.core.ParameterSource.COMMANDLINE:
        raise click.UsageError("--batch is the old name of --controller-batch: give one")
    click.echo("nasc: note: --batch is now --controller-batch (the controller's samples "
               "per step)", err=True)
    opts["batch"] = old


# Options that only some settings read: (option, setting that reads it, its description).
APPLIES = {
    "batch": (lambda o: o["strategy"] == "reinforce", "--strategy reinforce"),
    "controller_lr": (lambda o: o["strategy"] == "reinforce", "--strategy reinforce"),
    "controller_baseline": (lambda o: o["strategy"] == "reinforce", "--strategy reinforce"),
    "remutate": (lambda o: o["strategy"] == "evolution", "--strategy evolution"),
    "population": (lambda o: o["strategy"] == "evolution", "--strategy evolution"),
    "tournament": (lambda o: o["strategy"] == "evolution", "--strategy evolution"),
    "address": (lambda o: o["executor"] == "ray", "--executor ray"),
    "workers": (lambda o: o["executor"] != "inline", "--executor local or ray"),
    "hidden_size": (lambda o: o["data"].startswith("ptb:"), "rnn children (--data ptb:DIR)"),
    **{name: (lambda o: not o["data"].startswith("nb201:"), "trained children (not --data nb201)")
       for name in ("epochs", "batch_size", "lr", "max_batches", "max_params", "time_limit")},
    **{name: (lambda o: o["pruner"] != "none", "--pruner median or halving")
       for name in ("prune_metric", "prune_warmup", "prune_startup", "prune_eta")},
}


def _print_summary(config: Any, summary: Any, top: int) -> None:
    counts = summary.counts
    pruned = f"{counts['pruned']} pruned, " if counts["pruned"] else ""
    click.echo(f"{counts['done']} done, {counts['failed']} failed, {pruned}"
               f"{counts['pending'] + counts['running']} unfinished; this run trained "
               f"{summary.trained}, reused {summary.reused} in {summary.seconds:.1f} s")
    from nasc.runtime.report import metric_text

    for rank, t in enumerate(summary.best[:top], 1):
        metric = metric_text(t)
        click.echo(f"{rank:>3}. reward {t.reward:.4f}{'  ' + metric if metric else ''}  "
                   f"trial {t.id:<5} {t.arch}")
    if summary.best and not summary.interrupted:
        from nasc.runtime.nb201 import pick_line

        line = pick_line(summary.best[0])
        if line is not None:  # a table lookup: no network was built
            click.echo(line)
            return
        click.echo(f"\nbest architecture (trial {summary.best[0].id}):")
        click.echo(_compiled_summary(config, summary.best[0].arch))


def _compiled_summary(config: Any, arch: str) -> str:
    from nasc.api import summarize_arch
    from nasc.runtime.data import ImageData, load_data

    data = load_data(config.data)
    if isinstance(data, ImageData):
        info = summarize_arch(arch, config.space, input_shape=data.shape,
                              num_classes=data.num_classes)
    else:
        info = summarize_arch(arch, config.space, hidden_size=config.train.hidden_size)
    return str(info.table())


@cli.command()
@click.argument("stores", nargs=-1, required=True, type=click.Path(dir_okay=False))
@click.option("--top", type=click.IntRange(min=1), default=10, show_default=True,
              help="Trials in each store's leaderboard.")
@click.option("--plot", "plot_path", type=OutputPath(), default=None,
              help="Write reward per trial and best so far, one curve per store "
                   "(.png, .svg or .pdf).")
@click.option("--json", "as_json", is_flag=True,
              help="Every trial as JSON (times in ISO 8601, UTC).")
@click.option("--csv", "as_csv", is_flag=True,
              help="Every trial as CSV, one row each (a store column when several).")
@user_errors
def report(stores: tuple[str, ...], top: int, plot_path: str | None, as_json: bool,
           as_csv: bool) -> None:
    """Leaderboard of one or more search stores (and the reward plot)."""
    from nasc.runtime import report as rpt
    from nasc.runtime.store import Store

    if plot_path and Path(plot_path).suffix.lower() not in PLOT_SUFFIXES:
        raise click.BadParameter(f"{plot_path}: the file name must end in "
                                 f"{', '.join(PLOT_SUFFIXES)}", param_hint="--plot")
    if as_json and as_csv:
        raise click.UsageError("give --json or --csv, not both")
    opened = [Store.open(s, readonly=True) for s in stores]
    try:
        if as_csv:
            click.echo(rpt.report_csv(opened), nl=False)
        elif as_json:
            docs = [rpt.report_json(s) for s in opened]
            click.echo(json.dumps(docs[0] if len(docs) == 1 else {"stores": docs}, indent=2))
        else:
            click.echo("\n\n".join(rpt.leaderboard(s, top) for s in opened))
        if plot_path:
            path = rpt.plot(opened, plot_path)
            click.echo(f"wrote {path}", err=True)
    finally:
        for s in opened:
            s.close()


@cli.command()
@click.argument("store_path", type=click.Path(dir_okay=False))
@click.option("--rank", type=click.IntRange(min=1), default=1, show_default=True,
              help="Which architecture: 1 is the best by reward.")
@click.option("--controller", is_flag=True,
              help="Export the trained controller (reinforce) instead, for "
                   "`nasc sample --controller`; needs -o.")
@click.option("-o", "--output", type=OutputPath(dash=True), default=None,
              help="Write here (default, or '-': stdout).")
@user_errors
def export(store_path: str, rank: int, controller: bool, output: str | None) -> None:
    """Write the rank-th best architecture of a search store as an .arch file, or with
    --controller the search's latest controller."""
    from nasc.runtime.report import export_arch, export_controller
    from nasc.runtime.store import Store

    if controller and output is None:
        raise click.UsageError("--controller writes a binary file: give it with -o PATH")
    store = Store.open(store_path, readonly=True)
    try:
        if controller:
            body, step = export_controller(store)
        else:
            text, _ = export_arch(store, rank)
            text = text if text.endswith("\n") else text + "\n"
    finally:
        store.close()
    if controller:
        Path(str(output)).write_bytes(body)
        click.echo(f"wrote {output} (controller after update {step})", err=True)
    elif output is None:
        click.echo(text, nl=False)
    else:
        Path(output).write_text(text)
        click.echo(f"wrote {output}", err=True)
