"""`nasc sample` and `nasc check-space` through click's CliRunner."""

from __future__ import annotations

from pathlib import Path

import pytest
from click.testing import CliRunner

from nasc.cli import cli
from nasc.compiler.frontend import parse
from nasc.controller import Budget, Controller

ROOT = Path(__file__).resolve().parents[2]


def _run(*args: str) -> tuple[int, str, str]:
    result = CliRunner().invoke(cli, list(args))
    return result.exit_code, result.stdout, result.stderr


@pytest.mark.parametrize("space", ["cnn", "rnn", str(ROOT / "examples/small_cnn.lark")])
def test_sample_prints_valid_lines_and_is_reproducible(space: str) -> None:
    code, out, _ = _run("sample", "--space", space, "-n", "20", "--seed", "3",
                        "--max-layers", "5") if space != "rnn" else _run(
        "sample", "--space", space, "-n", "20", "--seed", "3")
    assert code == 0
    lines = out.splitlines()
    assert len(lines) == 20
    for line in lines:
        parse(line, space)
    again = _run("sample", "--space", space, "-n", "20", "--seed", "3",
                 *(["--max-layers", "5"] if space != "rnn" else []))[1]
    assert again == out


def test_sample_layers_and_uniform_and_count() -> None:
    code, out, _ = _run("sample", "-n", "10", "--max-layers", "3", "--min-layers", "3",
                        "--uniform")
    assert code == 0
    assert all(len(parse(line, "cnn").arch.layers) == 3 for line in out.splitlines())
    assert _run("sample", "--count", "--max-layers", "1")[1].strip() == "384"


def test_sample_nested_needs_tokens_not_layers() -> None:
    nested = str(ROOT / "examples/nested.lark")
    code, out, _ = _run("sample", "--space", nested, "-n", "5", "--max-tokens", "10")
    assert code == 0 and len(out.splitlines()) == 5
    code, _, err = _run("sample", "--space", nested, "--max-layers", "3")
    assert code == 1 and "has no layers" in err


def test_sample_from_a_controller_checkpoint(tmp_path: Path) -> None:
    path = tmp_path / "ctl.pt"
    Controller("cnn", budget=Budget(4), seed=0).save(path)
    args = ("sample", "--controller", str(path), "-n", "6", "--max-layers", "4",
            "--temperature", "0.5")
    code, out, _ = _run(*args)
    assert code == 0 and len(out.splitlines()) == 6
    assert _run(*args)[1] == out
    code, _, err = _run("sample", "--space", "rnn", "--controller", str(path))
    assert code == 1 and "vocabulary" in err


@pytest.mark.parametrize("args,message", [
    (("--controller", "/nonexistent.pt"), "cannot read"),
])
def test_sample_errors_are_one_line(args: tuple[str, ...], message: str) -> None:
    code, _, err = _run("sample", *args)
    assert code == 1 and message in err and "Traceback" not in err
    assert err.startswith("nasc: error:")


@pytest.mark.parametrize("args,message", [
    (("--space", "nope"), "unknown space 'nope'"),
    (("--space", "no/such.lark"), "no such grammar file"),
    (("--max-layers", "2", "--min-layers", "3"), "above"),
    (("--uniform", "--controller", "x.pt"), "exclude"),
])
def test_sample_usage_errors_exit_2(args: tuple[str, ...], message: str) -> None:
    code, _, err = _run("sample", *args)
    assert code == 2 and message in err and "Traceback" not in err


def test_check_space_ok_and_errors(tmp_path: Path) -> None:
    code, out, _ = _run("check-space", str(ROOT / "examples/small_cnn.lark"), "-n", "40")
    assert code == 0 and "sampled 40 strings, 40 compiled (IR, shapes checked)" in out
    code, out, _ = _run("check-space", str(ROOT / "examples/nested.lark"), "-n", "40")
    assert code == 0 and "token budget" in out and "40 parsed" in out
    bad = tmp_path / "bad.lark"
    bad.write_text('start: item+\nitem: "a" NUM | loop\nloop: "(" loop ")"\nunused: "z"\n'
                   'NUM: /[0-9]+/\n%ignore " "\n')
    code, out, _ = _run("check-space", str(bad))
    assert code == 1
    assert "NUM" in out and "never finish" in out and "unused is never used" in out


def test_check_space_unreadable_grammar(tmp_path: Path) -> None:
    broken = tmp_path / "broken.lark"
    broken.write_text("start: (\n")
    code, _, err = _run("check-space", str(broken))
    assert code == 1 and err.startswith("nasc: error:")


def test_nasc_validate_accepts_every_sampled_line(tmp_path: Path) -> None:
    for space in ("cnn", "rnn"):
        code, out, _ = _run("sample", "--space", space, "-n", "25", "--seed", "11")
        assert code == 0
        files = []
        for k, line in enumerate(out.splitlines()):
            path = tmp_path / f"{space}{k}.arch"
            path.write_text(line + "\n")
            files.append(str(path))
        code, out, err = _run("validate", "--space", space, *files)
        assert code == 0, out + err


def test_rnn_defaults_cover_both_tree_sizes() -> None:
    assert _run("sample", "--space", "rnn", "--count")[1].strip() == "63331869759934464"
    code, out, _ = _run("sample", "--space", "rnn", "-n", "40", "--seed", "0")
    assert code == 0 and "rnn base 8" in out and "rnn base 2" in out


def test_deep_budgets_need_no_recursion() -> None:
    code, out, _ = _run("sample", "--count", "--max-layers", "300")
    assert code == 0 and len(out.strip()) > 4300  # past Python's default int->str limit
    code, out, _ = _run("sample", "--uniform", "-n", "1", "--max-layers", "120",
                        "--min-layers", "120", "--seed", "1")
    assert code == 0 and len(parse(out.strip(), "cnn").arch.layers) == 120


def test_sample_streams_in_chunks_and_stays_reproducible() -> None:
    code, out, _ = _run("sample", "-n", "1500", "--max-layers", "2", "--seed", "4")
    lines = out.splitlines()
    assert code == 0 and len(lines) == 1500
    assert _run("sample", "-n", "1500", "--max-layers", "2", "--seed", "4")[1] == out


def test_budgets_past_the_limits_are_usage_errors() -> None:
    code, _, err = _run("sample", "--max-layers", "100000")
    assert code == 2 and "1<=x<=2000" in err


def test_check_space_applies_a_token_budget_it_is_given() -> None:
    code, _, err = _run("check-space", "cnn", "--max-tokens", "1", "-n", "5")
    assert code == 1 and "token budget 1 is too small" in err
