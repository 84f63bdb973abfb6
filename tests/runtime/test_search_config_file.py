"""`nasc search --config FILE.toml`: options from a TOML file, the command line overriding it,
and one error line for an unknown key, bad TOML or a bad value."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
from click.testing import CliRunner, Result

from nasc.cli import cli


def search(tmp_path: Path, toml: str, *args: str) -> Result:
    path = tmp_path / "search.toml"
    path.write_text(toml)
    return CliRunner().invoke(cli, ["search", "--config", str(path), *args])


def last_line(result: Result) -> str:
    assert "Traceback" not in result.output
    return result.output.strip().splitlines()[-1]


def test_options_come_from_the_file(tmp_path: Path, captured: list[Any]) -> None:
    store = tmp_path / "s.db"
    result = search(tmp_path, f'strategy = "random"\nepochs = 3\nmax-layers = 2\n'
                              f'batch_size = 16\ncontroller-lr = 0.01\nstore = "{store}"\n'
                              f'executor = "inline"\npruner = "median"\n')
    assert last_line(result) == "nasc: error: stopped before the search"
    (config,) = captured
    assert (config.strategy.name, config.train.epochs, config.strategy.max_layers) == \
        ("random", 3, 2)
    assert (config.train.batch_size, config.strategy.controller_lr) == (16, 0.01)
    assert (config.store, config.executor, config.train.pruner) == (str(store), "inline", "median")
    assert config.trials == 20  # not in the file: the option's default


def test_the_command_line_overrides_the_file(tmp_path: Path, captured: list[Any]) -> None:
    search(tmp_path, "[search]\nepochs = 3\ntrials = 7\n", "--epochs", "4",
           "--store", str(tmp_path / "s.db"))
    (config,) = captured
    assert (config.train.epochs, config.trials) == (4, 7)


@pytest.mark.parametrize("toml, message", [
    ("epoch = 3\n", "unknown option 'epoch' (options: "),
    ("epochs = \n", "not TOML ("),
    ("epochs = [1, 2]\n", "epochs must be a single value, not a list"),
    ("epochs = 3\nepochs_x = 1\n", "unknown option 'epochs_x'"),
    ("max-layers = 2\nmax_layers = 3\n", "max_layers is given twice"),
    ("[train]\nepochs = 3\n", "unknown option 'train'"),
])
def test_bad_files_are_one_line(tmp_path: Path, captured: list[Any], toml: str,
                                message: str) -> None:
    result = search(tmp_path, toml, "--store", str(tmp_path / "s.db"))
    assert result.exit_code == 2
    line = last_line(result)
    assert line.startswith("Error: Invalid value for '--config': ") and message in line, line
    assert not captured and not (tmp_path / "s.db").exists()


def test_a_bad_value_names_its_option(tmp_path: Path, captured: list[Any]) -> None:
    result = search(tmp_path, 'epochs = "many"\n', "--store", str(tmp_path / "s.db"))
    assert result.exit_code == 2
    assert last_line(result).startswith("Error: Invalid value for '--epochs': ")
    assert not captured


def test_a_missing_file_is_one_line(tmp_path: Path, captured: list[Any]) -> None:
    result = CliRunner().invoke(cli, ["search", "--config", str(tmp_path / "no.toml")])
    assert result.exit_code == 2
    assert "no.toml: No such file or directory" in last_line(result)


def test_resume_checks_the_file_against_the_store(tmp_path: Path) -> None:
    """With --resume the file's options are given options: a defining one that differs from
    the store's is the usual error."""
    store = tmp_path / "s.db"
    tiny = ["--trials", "1", "--epochs", "1", "--max-batches", "1", "--max-layers", "1",
            "--executor", "inline", "--strategy", "random", "--store", str(store)]
    assert CliRunner().invoke(cli, ["search", *tiny]).exit_code == 0
    result = search(tmp_path, "epochs = 2\n", "--store", str(store), "--resume")
    assert result.exit_code == 1
    assert last_line(result).startswith(f"nasc: error: store {store} was created with "
                                        f"--epochs 1, not 2")
