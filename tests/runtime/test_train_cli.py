"""`nasc train`: retrain one architecture, save weights that `weights_only=True` loads and that
give the same outputs, and refuse bad input in one line."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
import torch
from click.testing import CliRunner

import nasc
from nasc.cli import cli
from nasc.runtime.data import load_data
from nasc.runtime.retrain import accuracy, load_weights

ARCH = "conv 3x3 24; maxpool 3x3 stride 2 from 1"


@pytest.fixture(autouse=True)
def one_thread() -> None:
    torch.set_num_threads(1)


def run(*args: str) -> object:
    return CliRunner().invoke(cli, list(args))


def test_train_round_trip(tmp_path: Path) -> None:
    """The saved file loads with weights_only=True and rebuilds the trained network: the
    same outputs, so the same test accuracy as reported."""
    out = tmp_path / "model.pt"
    result = run("train", ARCH, "--epochs", "2", "--batch-size", "128", "-o", str(out), "--json")
    assert result.exit_code == 0, result.output
    doc = json.loads(result.output[:result.output.rindex("}") + 1])
    assert [e["epoch"] for e in doc["epochs"]] == [1, 2]
    assert doc["test_split"] == "held-out validation (360 images, never trained on)"
    assert 0.0 <= doc["test_accuracy"] <= 1.0 and doc["weights"] == str(out)

    raw = torch.load(out, weights_only=True)  # plain tensors, strings and numbers only
    assert raw["arch"] == ARCH and raw["input_shape"] == [1, 8, 8] and raw["num_classes"] == 10
    meta, state = load_weights(out)
    model = nasc.compile(meta["arch"], meta["space"], input_shape=tuple(meta["input_shape"]),
                         num_classes=meta["num_classes"])
    model.load_state_dict(state)
    data = load_data("digits")
    assert accuracy(model, data.x_valid, data.y_valid, "cpu") == doc["test_accuracy"]
    fresh = nasc.compile(ARCH, "cnn", input_shape=(1, 8, 8), num_classes=10)
    with torch.no_grad():  # the weights are the trained ones, not a fresh initialisation
        assert not torch.equal(model(data.x_valid[:4]), fresh(data.x_valid[:4]))


def test_train_an_exported_file_uses_its_header_and_a_user_test_split(tmp_path: Path) -> None:
    arch = tmp_path / "best.arch"
    arch.write_text("# exported from s.db: trial 3, rank 1, reward 0.5, space cnn, "
                    "data study_helpers:small_digits\nconv 3x3 24\n")
    result = run("train", str(arch), "--epochs", "1")
    assert result.exit_code == 0, result.output
    assert "test accuracy" in result.output and "on the test (100 images)" in result.output


@pytest.mark.parametrize(("args", "error"), [
    (["conv 4x3 24"], "nasc: error: <arch>:1:6: error: kernel height must be one of 1, 3, 5, 7"),
    (["missing.arch"], "nasc: error: missing.arch: no such architecture file"),
    ([ARCH, "--data", "nosuchsource"], "nasc: error: unknown data source 'nosuchsource'"),
    ([ARCH, "--data", "nosuchmodule:load"], "nasc: error: --data nosuchmodule:load: cannot"),
    ([ARCH, "--device", "tpu"], "nasc: error: --device 'tpu': Expected one of"),
    ([ARCH, "--space", "rnn"], "nasc: error: <arch>:1:1: error:"),
    ([ARCH, "--epochs", "0"], "Error: Invalid value for '--epochs'"),
])
def test_bad_input_is_one_line(tmp_path: Path, args: list[str], error: str) -> None:
    result = run("train", *args, "-o", str(tmp_path / "m.pt"))
    assert result.exit_code != 0
    lines = [line for line in result.output.splitlines() if line.strip()]
    message = next(line for line in lines if "rror" in line)
    assert message.startswith(error), result.output
    assert "Traceback" not in result.output and not (tmp_path / "m.pt").exists()


def test_an_output_that_is_a_store_is_refused(tmp_path: Path) -> None:
    import sqlite3

    store = tmp_path / "s.db"
    sqlite3.connect(store).execute("CREATE TABLE t (x)").connection.close()
    result = run("train", ARCH, "-o", str(store))
    assert result.exit_code == 2 and "is a SQLite database" in result.output


def test_an_rnn_cell_without_space_or_header_is_read_as_rnn(tmp_path: Path) -> None:
    """An rnn .arch with no --space and no export header was read as cnn and failed with
    "expected 'avgpool', 'conv' or 'maxpool', got 'rnn'"."""
    from runtime_helpers import PTB

    cell = tmp_path / "cell.arch"
    cell.write_text("rnn base 2; 0: add tanh; 1: mul relu; 2: mul sigmoid; "
                    "inject 0: add relu; cell 1\n")
    result = run("train", str(cell), "--data", f"ptb:{PTB}", "--epochs", "1",
                 "--hidden-size", "8", "--json")
    assert result.exit_code == 0, result.output
    assert "valid_ppl" in result.output or "perplexity" in result.output
