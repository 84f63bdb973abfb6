"""The command line's options: help on every one, --controller-batch (and the old --batch),
one --max-layers default for search and sample, and `sample --controller` keeping the
controller's own budget."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import click
from click.testing import CliRunner

from nasc.cli import cli
from nasc.compiler.frontend import parse
from nasc.runtime.strategy_config import StrategyConfig


def commands(group: click.Group, path: str = "nasc") -> list[tuple[str, click.Command]]:
    out: list[tuple[str, click.Command]] = []
    for name, command in sorted(group.commands.items()):
        if isinstance(command, click.Group):
            out += commands(command, f"{path} {name}")
        else:
            out.append((f"{path} {name}", command))
    return out


def test_every_option_of_every_command_has_help() -> None:
    found = commands(cli)
    assert len(found) >= 8 and any(name == "nasc search" for name, _ in found)
    missing = [f"{name} {max(p.opts, key=len)}" for name, command in found
               for p in command.params
               if isinstance(p, click.Option) and not p.hidden and not (p.help or "").strip()]
    assert missing == []
    assert [name for name, command in found if not (command.help or "").strip()] == []


def test_no_option_shows_a_range_of_none() -> None:
    for name, _ in commands(cli):
        text = CliRunner().invoke(cli, [*name.split()[1:], "--help"], terminal_width=200).output
        assert "None" not in text.replace("[default: None]", ""), name


def test_controller_batch_and_its_old_name(tmp_path: Path, captured: list[Any]) -> None:
    store = ["--store", str(tmp_path / "s.db")]
    CliRunner().invoke(cli, ["search", "--controller-batch", "3", *store])
    old = CliRunner().invoke(cli, ["search", "--batch", "5", *store])
    assert [c.strategy.batch for c in captured] == [3, 5]
    assert "nasc: note: --batch is now --controller-batch" in old.output
    assert "--batch " not in CliRunner().invoke(cli, ["search", "--help"]).output  # hidden
    both = CliRunner().invoke(cli, ["search", "--batch", "5", "--controller-batch", "3", *store])
    assert both.exit_code == 2
    assert both.output.strip().splitlines()[-1] == \
        "Error: --batch is the old name of --controller-batch: give one"


def test_search_and_sample_share_the_max_layers_default(tmp_path: Path,
                                                        captured: list[Any]) -> None:
    CliRunner().invoke(cli, ["search", "--store", str(tmp_path / "s.db")])
    assert captured[0].strategy.max_layers == StrategyConfig.max_layers == 4
    out = CliRunner().invoke(cli, ["sample", "-n", "300", "--seed", "2"]).output.splitlines()
    depths = {len(parse(line, "cnn").arch.layers) for line in out}
    assert max(depths) == 4  # at most the default, and it is reached
    counted = [CliRunner().invoke(cli, ["sample", "--count", *extra]).output
               for extra in ([], ["--max-layers", "4"])]
    assert counted[0] == counted[1]


def test_sample_keeps_the_controllers_budget(tmp_path: Path) -> None:
    from nasc.controller.decisions import Budget
    from nasc.controller.reinforce import Controller

    path = tmp_path / "ctl.pt"
    Controller("cnn", budget=Budget(2), seed=0).save(path)
    own = CliRunner().invoke(cli, ["sample", "--controller", str(path), "-n", "200"])
    assert own.exit_code == 0, own.output
    assert max(len(parse(s, "cnn").arch.layers) for s in own.output.splitlines()) == 2
    wider = CliRunner().invoke(cli, ["sample", "--controller", str(path), "-n", "200",
                                     "--max-layers", "5"])
    assert wider.exit_code == 0, wider.output
    assert max(len(parse(s, "cnn").arch.layers) for s in wider.output.splitlines()) > 2
    exact = CliRunner().invoke(cli, ["sample", "--controller", str(path), "-n", "20",
                                     "--min-layers", "2"])
    assert {len(parse(s, "cnn").arch.layers) for s in exact.output.splitlines()} == {2}
