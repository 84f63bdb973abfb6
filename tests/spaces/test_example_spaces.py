"""Every example space under examples/spaces/ samples strings its grammar accepts, that
validate and compile, exactly like a built-in space (`nasc check-space`)."""

from __future__ import annotations

from pathlib import Path

import pytest
from click.testing import CliRunner

from nasc.cli import cli

from .references import all_nb201_archs

SPACES = sorted((Path(__file__).parents[2] / "examples" / "spaces").glob("*.lark"))


@pytest.mark.parametrize("space", SPACES, ids=lambda p: p.stem)
def test_check_space_samples_validate_and_compile(space: Path) -> None:
    budget = ["--max-layers", "12"] if space.stem == "enas_macro" else []  # 12 fixed layers
    result = CliRunner().invoke(cli, ["check-space", str(space), "-n", "12", "--seed", "3",
                                      *budget])
    assert result.exit_code == 0, result.output
    assert f"{space}: sampled 12 strings, 12 compiled" in result.output


def test_nb201_samples_are_literal_benchmark_strings() -> None:
    space = str(SPACES[0].with_name("nb201.lark"))
    result = CliRunner().invoke(cli, ["sample", "--space", space, "-n", "40", "--seed", "0"])
    assert result.exit_code == 0, result.output
    lines = result.output.splitlines()
    assert len(lines) == 40 and set(lines) <= set(all_nb201_archs())
    assert len(set(lines)) > 30  # sampled, not one string repeated
