"""`nasc train`: retrain one architecture with the full recipe and save its weights."""

from __future__ import annotations

import json
import re
from typing import Any

import click

from nasc.cli import SEED, Finite, OutputPath, SpaceSpec, cli, user_errors
from nasc.errors import NascError

_HEADER = re.compile(r"^#.*\bspace (?P<space>[^,\s]+), data (?P<data>\S+)", re.MULTILINE)


def _defaults(text: str, space: str | None, data: str | None) -> tuple[str, str]:
    """--space and --data, else those an exported file's header names, else the built-in
    space the text is written in (as `nasc validate` reads it) and digits."""
    from nasc.grammar import detect_space

    header = _HEADER.search(text)
    if header is not None:
        space = space or header["space"]
        data = data or header["data"]
    return space or detect_space(text), data or "digits"


@cli.command()
@click.argument("arch", metavar="ARCH")
@click.option("--space", default=None, type=SpaceSpec(),
              help="Built-in space or a .lark file [the exported file's, else cnn].")
@click.option("--data", default=None,
              help="digits, cifar10:DIR, mnist:DIR, folder:DIR, ptb:DIR or module:function "
                   "[the exported file's, else digits].")
@click.option("--epochs", type=click.IntRange(min=1), default=20, show_default=True,
              help="Training epochs (every batch of the training split each epoch).")
@click.option("--batch-size", type=click.IntRange(min=1), default=None,
              help="Batch size [64 cnn, 20 rnn].")
@click.option("--lr", type=Finite(min=0, min_open=True, max=1e4), default=None,
              help="Learning rate [0.1 cnn, 20 rnn].")
@click.option("--hidden-size", type=click.IntRange(min=1), default=64, show_default=True,
              help="rnn: hidden and embedding size.")
@click.option("--device", default="cpu", show_default=True, help="Torch device.")
@click.option("--seed", type=SEED, default=0, show_default=True,
              help="Random seed of the initial weights and the batch order.")
@click.option("-o", "--output", type=OutputPath(), default=None,
              help="Write the weights here (torch.load(..., weights_only=True) reads them).")
@click.option("--json", "as_json", is_flag=True, help="Print the result as JSON.")
@user_errors
def train(arch: str, space: str | None, data: str | None, epochs: int, batch_size: int | None,
          lr: float | None, hidden_size: int, device: str, seed: int, output: str | None,
          as_json: bool) -> None:
    """Train ARCH (an .arch file, '-' for stdin, or the architecture text itself) for
    --epochs with the search's recipe on every batch, report its test accuracy (or
    validation perplexity) and save the weights with -o."""
    import nasc.api as api
    from nasc.device import TRAIN, check_device
    from nasc.runtime.child import TrainConfig
    from nasc.runtime.retrain import retrain, save_weights

    text = _read(arch)
    space, data = _defaults(text, space, data)
    _user_paths(data)
    check_device(device, what="--device", allowed=TRAIN)
    config = TrainConfig(epochs=epochs, batch_size=batch_size, lr=lr, hidden_size=hidden_size,
                         reward_epochs=1, device=device)
    try:
        api.validate(text, space, filename="<arch>" if arch == text else arch)
    except api.ArchError as exc:
        raise NascError(str(exc)) from None
    model, result = retrain(text, space, data, config, seed)
    if output is not None:
        save_weights(model, output, _meta(model, text, space, data, config))
    _print(result, as_json, output)


def _read(arch: str) -> str:
    """The architecture text: a file, stdin ('-'), or ARCH itself."""
    from pathlib import Path

    import nasc.api as api

    if arch == "-" or Path(arch).is_file():
        return str(api.read_source(arch)[0])
    if Path(arch).is_dir():
        raise NascError(f"{arch} is a directory, not an architecture file")
    if arch.endswith(".arch") or not arch.strip():
        raise NascError(f"{arch or repr(arch)}: no such architecture file")
    return arch


def _user_paths(data: str) -> None:
    import os
    import sys

    if os.getcwd() not in sys.path:  # --data mymodule:fn in the current folder
        sys.path.insert(0, os.getcwd())


def _meta(model: Any, text: str, space: str, data: str, config: Any) -> dict[str, Any]:
    from nasc.runtime.data import ImageData, load_data

    loaded = load_data(data)
    meta: dict[str, Any] = {"arch": text, "space": space, "data": data}
    if isinstance(loaded, ImageData):
        meta.update(input_shape=list(loaded.shape), num_classes=loaded.num_classes)
    else:
        meta.update(hidden_size=config.hidden_size, vocab_size=len(loaded.vocab))  # type: ignore[union-attr]
    return meta


def _print(result: Any, as_json: bool, output: str | None) -> None:
    if as_json:
        click.echo(json.dumps({**result.to_json(), "weights": output}, indent=2))
    else:
        for m in result.epochs:
            score = (f"valid acc {m['valid_acc']:.4f}" if "valid_acc" in m
                     else f"valid ppl {m['valid_ppl']:.1f}")
            click.echo(f"epoch {m['epoch']:>3}: train loss {m['train_loss']:.4f}, {score}")
        if result.test_accuracy is not None:
            click.echo(f"test accuracy {result.test_accuracy:.4f} on the "
                       f"{result.test_split}")
        click.echo(f"{result.params:,} parameters, {result.seconds:.1f} s")
    if output is not None:
        click.echo(f"wrote {output}", err=True)
