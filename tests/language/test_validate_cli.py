"""`nasc validate` and `nasc spaces` through click's CliRunner."""

import json
import os

import pytest
from click.testing import CliRunner

from nasc.cli import cli


def run(*args: str, stdin: str | bytes | None = None):
    return CliRunner().invoke(cli, list(args), input=stdin)


def test_examples_validate(examples):
    files = sorted(str(p) for p in examples.glob("*.arch"))
    result = run("validate", *files)
    assert result.exit_code == 0, result.output
    assert result.output.splitlines() == [f"{f}: ok" for f in files]


def test_single_valid_file_prints_ok(examples):
    result = run("validate", str(examples / "nascell.arch"))
    assert (result.exit_code, result.output) == (0, "ok\n")


def test_error_is_located_with_caret(tmp_path):
    path = tmp_path / "a.arch"
    path.write_text("conv 3x3 36\nconv 3x3 36 from 5\n")
    result = run("validate", str(path))
    assert result.exit_code == 1
    assert result.stderr.splitlines() == [
        f"{path}:2:18: error: layer 2 cannot read layer 5: `from` names earlier layers only (use 1-1)",
        "  conv 3x3 36 from 5",
        "                   ^",
    ]


def test_stdin_is_named():
    result = run("validate", "-", stdin="conv 3x3 37\n")
    assert result.exit_code == 1
    assert result.stderr.startswith("<stdin>:1:10: error: filter count must be one of")


def test_json_output_schema(examples):
    result = run("validate", "--json", str(examples / "paper_cnn.arch"))
    data = json.loads(result.output)
    assert data["valid"] is True and data["space"] == "cnn" and data["errors"] == []
    assert data["arch"]["layers"][2] == {"op": "conv", "kernel": [5, 5], "filters": 36,
                                        "stride": 2, "inputs": [1, 2]}
    assert data["arch"]["layers"][3]["filters"] is None


def test_json_output_for_invalid_rnn():
    result = run("validate", "--json", "-", stdin="rnn base 2; 0: add tanh; 1: mul gelu")
    data = json.loads(result.output)
    assert result.exit_code == 1 and data["valid"] is False and data["space"] == "rnn"
    assert data["errors"][0] == {"line": 1, "column": 33,
                                 "message": "activation must be one of identity, relu, sigmoid, "
                                            "tanh, got 'gelu'"}


def test_json_for_several_files_is_a_list(examples):
    result = run("validate", "--json", str(examples / "figure5.arch"), str(examples / "nascell.arch"))
    data = json.loads(result.output)
    assert [d["arch"]["base"] for d in data] == [2, 8]


def test_custom_space_option(examples):
    result = run("validate", "--space", str(examples / "small_cnn.lark"), "-", stdin="conv 1x1 24")
    assert result.exit_code == 1 and "kernel height must be one of 3, 5, got '1'" in result.stderr


def test_usage_errors_exit_2():
    assert run("validate").exit_code == 2
    assert run("validate", "--bogus", "x").exit_code == 2


def test_unknown_space_is_one_line():
    result = run("validate", "--space", "nope", "-", stdin="conv 3x3 36")
    assert result.exit_code == 2  # a usage error
    assert result.stderr.splitlines()[-1] == ("Error: Invalid value for '--space': unknown space "
                                              "'nope': use one of cnn, rnn or a path to a .lark file")


def test_broken_grammar_is_one_line(tmp_path):
    bad = tmp_path / "bad.lark"
    bad.write_text("start: (\n")
    result = run("validate", "--space", str(bad), "-", stdin="conv 3x3 36")
    assert result.exit_code == 1 and len(result.stderr.splitlines()) == 1
    assert "grammar does not load" in result.stderr


def test_hostile_files_get_one_line_errors(tmp_path):
    cases = {
        "random.bin": os.urandom(4096) + b"\0",
        "latin1.arch": "conv 3x3 36 # caf\xe9".encode("latin-1"),
        "huge.arch": b"conv 3x3 36\n" * (900_000),
    }
    for name, data in cases.items():
        (tmp_path / name).write_bytes(data)
        result = run("validate", str(tmp_path / name))
        assert result.exit_code == 1, name
        assert len(result.stderr.splitlines()) == 1 and result.stderr.startswith("nasc: error:"), name
        assert "Traceback" not in result.output


def test_missing_file_and_directory(tmp_path):
    for target in (tmp_path / "missing.arch", tmp_path):
        result = run("validate", str(target))
        assert result.exit_code == 1 and result.stderr.startswith("nasc: error:")


@pytest.mark.parametrize("text, first_line", [
    ("conv 3x3 36 from", "<stdin>:1:17: error: unexpected end of input, expected layer number"),
    ("conv 3x3 36 from 1,", "<stdin>:1:20: error: unexpected end of input, expected layer number"),
    ("rnn base 2\n0: add", "<stdin>:2:7: error: activation must be one of identity, relu, sigmoid, tanh"),
    ("\ufeffconv 3x3 36", None),  # a byte-order mark is not text
    ("conv\t3x3\t36\r\n", None),  # tabs and CRLF are white space
])
def test_unterminated_and_odd_text_is_located(text, first_line):
    result = run("validate", "-", stdin=text)
    assert "Traceback" not in result.output
    if first_line is None:
        assert (result.exit_code, result.stdout, result.stderr) == (0, "ok\n", "")
    else:
        assert result.exit_code == 1 and result.stdout == ""
        assert result.stderr.splitlines()[0] == first_line


def test_spaces_lists_builtins_and_examples():
    result = run("spaces")
    lines = result.output.splitlines()
    assert result.exit_code == 0
    assert lines[0].startswith("cnn") and lines[1].startswith("rnn")
    assert any("small_cnn.lark" in line.split()[0] for line in lines)
    assert any(line.split()[0].endswith("spaces/nb201.lark") for line in lines)
    assert "(no compiler semantics)" in result.output  # the whole first sentence


def test_every_listed_space_is_accepted_by_space_option():
    """The name `nasc spaces` prints is what --space takes: a string sampled from each
    space by that name validates in it."""
    listed = json.loads(run("spaces", "--json").output)
    assert len(listed) >= 10  # built-ins, examples/ and examples/spaces/
    for entry in listed:
        option = entry["space_option"]
        sample = run("sample", "--space", option, "-n", "1", "--max-layers", "12")
        if "has no layers" in sample.output:  # rnn, NB201, DARTS: bounded by tokens
            sample = run("sample", "--space", option, "-n", "1", "--max-tokens", "200")
        assert sample.exit_code == 0, (entry, sample.output)
        result = run("validate", "--space", option, "-", stdin=sample.stdout)
        assert result.exit_code == 0, (entry, result.output)


def test_validity_only_space_validates_but_does_not_compile(examples, tmp_path):
    nested = str(examples / "nested.lark")
    result = run("validate", "--space", nested, "--json", "-", stdin="(a (b a) ())\n b")
    data = json.loads(result.output)
    assert result.exit_code == 0 and data["space"] == "nested"
    assert data["arch"] == {"text": "(a (b a) ()) b"}
    result = run("validate", "--space", nested, "-", stdin="(a (b")
    assert result.exit_code == 1 and result.stderr.startswith("<stdin>:1:6: error: unexpected end")
    (tmp_path / "n.arch").write_text("(a)")
    result = run("compile", "--space", nested, str(tmp_path / "n.arch"))
    assert result.exit_code == 1
    assert result.stderr == ("nasc: error: this space declares no semantics (no `//%` lines): "
                             "its strings can be validated and sampled, not compiled; see "
                             "docs/language.md, \"Writing a space\"\n")


def test_end_of_input_is_located_after_the_last_word():
    result = run("validate", "-", stdin="rnn base 2; 0: add tanh; 1: add relu\n")
    assert result.exit_code == 1
    assert result.stderr.splitlines()[0] == \
        "<stdin>:1:37: error: unexpected end of input, expected '2'"
    result = run("validate", "-", stdin="conv 3x3 36 from\n\n\n")
    assert result.stderr.startswith("<stdin>:1:17: error: unexpected end of input")
