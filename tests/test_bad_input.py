"""Bad input across the CLI: one line and a non-zero exit, no traceback, no stray store."""

from __future__ import annotations

import pickle
import socket
from pathlib import Path

import pytest
import torch
from click.testing import CliRunner, Result

from nasc.cli import cli

TINY = ["--trials", "1", "--epochs", "1", "--max-batches", "1", "--max-layers", "1",
        "--executor", "inline", "--strategy", "random"]
CNN = "conv 3x3 24\n"


def run(*args: str) -> Result:
    return CliRunner().invoke(cli, list(args))


def one_line_error(result: Result, code: int = 1) -> str:
    """The error line of a failed command; asserts there was no traceback."""
    assert result.exit_code == code, result.output
    assert isinstance(result.exception, SystemExit), result.exception  # not a crash
    assert "Traceback" not in result.output
    return result.output.strip().splitlines()[-1]


@pytest.fixture
def arch(tmp_path: Path) -> Path:
    path = tmp_path / "a.arch"
    path.write_text(CNN)
    return path


@pytest.mark.parametrize("command, option", [
    ("search", "--lr"), ("search", "--controller-lr"), ("search", "--failure-reward"),
    ("search", "--time-limit"), ("search", "--gpus-per-trial"), ("sample", "--temperature"),
])
@pytest.mark.parametrize("value", ["nan", "inf", "-inf"])
def test_non_finite_numbers_are_usage_errors(tmp_path: Path, command: str, option: str,
                                             value: str) -> None:
    store = tmp_path / "s.db"
    extra = ["--store", str(store)] if command == "search" else []
    line = one_line_error(run(command, option, value, *extra), code=2)
    assert line.startswith(f"Error: Invalid value for '{option}': ")  # refused, by name
    assert f"'{value}' is not a finite number" in line or "not in the range" in line
    assert not store.exists()


@pytest.mark.parametrize("args", [
    ["compile", "{arch}", "--emit", "exported", "-o", "{missing}/x.pt2"],
    ["compile", "{arch}", "--emit", "python", "-o", "{missing}/x.py"],
    ["compile", "{arch}", "--graph", "{missing}/g.dot"],
    ["search", "--store", "{missing}/s.db", *TINY],
    ["report", "{arch}", "--plot", "{missing}/p.png"],
    ["export", "{arch}", "-o", "{missing}/best.arch"],
    ["export", "{arch}", "--controller", "-o", "{missing}/ctl.pt"],
])
def test_output_in_a_missing_folder_fails_before_any_work(tmp_path: Path, arch: Path,
                                                          args: list[str]) -> None:
    missing = tmp_path / "no" / "such"
    argv = [a.format(arch=arch, missing=missing) for a in args]
    line = one_line_error(run(*argv), code=2)
    assert f"folder '{missing}' does not exist" in line
    assert not (tmp_path / "no").exists()


def test_plot_needs_an_image_suffix(tmp_path: Path, arch: Path) -> None:
    line = one_line_error(run("report", str(arch), "--plot", str(tmp_path / "p.txt")), code=2)
    assert line.endswith("the file name must end in .png, .svg, .pdf")


def test_data_errors_name_the_problem_and_leave_no_store(tmp_path: Path) -> None:
    store = tmp_path / "s.db"
    line = one_line_error(run("search", "--data", f"digits:{tmp_path}", "--store", str(store)))
    assert "digits is bundled with scikit-learn and takes no directory" in line
    for label in ("a", "b"):
        (tmp_path / "img" / label).mkdir(parents=True)
    (tmp_path / "img" / "a" / "x.png").write_text("not an image")
    line = one_line_error(run("search", "--data", f"folder:{tmp_path / 'img'}",
                              "--store", str(store), *TINY))
    assert line.startswith(f"nasc: error: {tmp_path / 'img' / 'a' / 'x.png'}: not a readable")
    assert not store.exists()


def test_a_corpus_smaller_than_one_batch_is_refused(tmp_path: Path) -> None:
    # Without a single step the perplexity reads exp(0) = 1 and every child scores 80.
    (tmp_path / "ptb.train.txt").write_text("the cat sat\n" * 10)  # 40 tokens
    (tmp_path / "ptb.valid.txt").write_text("the cat\n")  # 3 tokens
    store = tmp_path / "s.db"
    line = one_line_error(run("search", "--space", "rnn", "--data", f"ptb:{tmp_path}",
                              "--store", str(store), *TINY))
    assert line.endswith("ptb.valid.txt has 3 tokens; a batch of 10 columns needs at least 20")
    assert not store.exists()


def test_unknown_or_absent_device_is_refused_up_front(tmp_path: Path) -> None:
    store = tmp_path / "s.db"
    line = one_line_error(run("search", "--device", "gpu0", "--store", str(store), *TINY))
    assert line.startswith("nasc: error: --device 'gpu0':")
    if not torch.cuda.is_available():
        line = one_line_error(run("search", "--device", "cuda", "--store", str(store), *TINY))
        assert line == "nasc: error: --device cuda: CUDA is not available on this machine"
    assert not store.exists()


def test_a_dead_ray_address_fails_fast_and_leaves_no_store(tmp_path: Path) -> None:
    pytest.importorskip("ray")
    with socket.socket() as sock:  # a loopback port nobody listens on
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]
    store = tmp_path / "s.db"
    line = one_line_error(run("search", *TINY[:-4], "--executor", "ray", "--address",
                              f"127.0.0.1:{port}", "--store", str(store)))
    assert line == f"nasc: error: no Ray cluster answers at 127.0.0.1:{port} (Connection refused)"
    assert not list(tmp_path.iterdir())  # the store was made, then removed: a re-run works


def test_more_workers_than_cpus_are_capped(tmp_path: Path) -> None:
    result = run("search", *TINY[:-4], "--executor", "local", "--workers", "100000",
                 "--store", str(tmp_path / "s.db"))
    assert result.exit_code == 0, result.output
    assert "--workers 100000 x --threads 1 is more than this machine's" in result.output
    assert "1 done, 0 failed" in result.output


def test_resume_accepts_another_path_to_the_same_grammar(tmp_path: Path, examples: Path) -> None:
    text = (examples / "small_cnn.lark").read_text()
    (tmp_path / "a").mkdir()
    first, second = tmp_path / "small.lark", tmp_path / "a" / "small.lark"
    first.write_text(text)
    second.write_text(text)
    store = str(tmp_path / "s.db")
    assert run("search", "--space", str(first), "--store", store, *TINY).exit_code == 0
    more = [*TINY[2:], "--trials", "2"]
    result = run("search", "--space", str(second), "--store", store, "--resume", *more)
    assert result.exit_code == 0, result.output
    second.write_text(text.replace("36", "24"))
    line = one_line_error(run("search", "--space", str(second), "--store", store, "--resume",
                              *TINY[2:], "--trials", "3"))
    assert line.endswith("was created with a different grammar text")


def test_sample_uses_the_controllers_own_space(tmp_path: Path) -> None:
    from nasc.controller.reinforce import Controller

    Controller("rnn").save(tmp_path / "rnn.pt")
    result = run("sample", "--controller", str(tmp_path / "rnn.pt"), "-n", "2")
    assert result.exit_code == 0, result.output
    assert all(line.startswith("rnn base") for line in result.output.splitlines())
    with open(tmp_path / "other.pt", "wb") as f:
        pickle.dump({"weights": [1, 2]}, f)
    line = one_line_error(run("sample", "--controller", str(tmp_path / "other.pt")))
    assert line.endswith("other.pt: not a nasc controller checkpoint "
                         "(torch cannot load it: UnpicklingError)")


def test_weights_too_large_to_allocate_are_one_line(arch: Path) -> None:
    # 36 x 10^13 float32 weights: more than any address space, so allocation always fails.
    line = one_line_error(run("compile", str(arch), "--classes", str(10**13), "--emit", "python"))
    assert line.startswith("nasc: error: out of memory allocating the network's weights")
    assert "--max-params" in line


def test_small_usage_cases(tmp_path: Path, arch: Path) -> None:
    bom = tmp_path / "bom.arch"
    bom.write_bytes(b"\xef\xbb\xbf" + CNN.encode())  # as some editors save UTF-8
    assert run("validate", str(bom)).output == "ok\n"
    result = run("compile", str(arch), "--emit", "ir", "-o", "-")
    assert result.exit_code == 0 and result.output.startswith("# nasc ir (cnn)")
    assert "-o" not in result.output and not Path("-").exists()
    line = one_line_error(run("compile", str(arch), "--input", "3x32"), code=2)
    assert "--input: must look like CxHxW" in line
    line = one_line_error(run("compile", str(arch), "--input", "0x8x8"), code=2)
    assert "--input: sizes must be at least 1" in line
    line = one_line_error(CliRunner().invoke(cli, ["validate", "-", "-"], input=CNN), code=2)
    assert line.endswith("stdin ('-') can be read once")


def test_options_the_search_does_not_read_get_a_note(tmp_path: Path) -> None:
    result = run("search", *TINY, "--population", "8", "--workers", "3",
                 "--store", str(tmp_path / "s.db"))
    assert result.exit_code == 0, result.output
    assert "nasc: note: --population applies to --strategy evolution only; ignored" \
        in result.output
    assert "nasc: note: --workers applies to --executor local or ray only; ignored" \
        in result.output
    notes = [line for line in result.output.splitlines() if line.startswith("nasc: note:")]
    assert len(notes) == 2  # --trials, --epochs, --max-layers, ... are read: no note


def test_compile_never_writes_over_its_input(tmp_path: Path) -> None:
    source = tmp_path / "net.arch"
    source.write_text(CNN)
    for option in ("-o", "--graph"):
        extra = ["--emit", "ir"] if option == "-o" else []
        line = one_line_error(run("compile", str(source), *extra, option, str(source)), code=2)
        assert "is also an input" in line
    assert source.read_text() == CNN


@pytest.mark.parametrize(("override", "text", "message"), [
    ('FILTER_COUNT: "0"', "conv 3x3 0", "layer 1: filter count must be at least 1, got 0"),
    ('KERNEL_HEIGHT: "0" | "3"', "conv 0x3 36", "layer 1: kernel height must be at least 1"),
])
def test_a_custom_grammar_cannot_make_empty_layers(tmp_path: Path, override: str, text: str,
                                                   message: str) -> None:
    grammar = tmp_path / "zero.lark"
    name = override.split(":")[0]
    grammar.write_text(f"//% extends = \"cnn\"\n%import cnn (start, {name}, WS, COMMENT)\n%ignore WS\n"
                       f"%override {override}\n")
    source = tmp_path / "net.arch"
    source.write_text(text + "\n")
    for command in ("validate", "compile"):
        result = run(command, "--space", str(grammar), str(source))
        assert result.exit_code == 1 and f"net.arch:1:1: error: {message}" in result.output


def test_sizes_past_torch_integers_are_one_line(tmp_path: Path) -> None:
    source = tmp_path / "net.arch"
    source.write_text(CNN)
    line = one_line_error(run("compile", str(source), "--classes", str(10**20), "--emit",
                              "python", "-o", str(tmp_path / "net.py")))
    assert "too large for torch" in line


def test_a_search_where_every_trial_fails_says_why_and_exits_1(tmp_path: Path) -> None:
    store = tmp_path / "s.db"
    result = CliRunner().invoke(cli, ["search", *TINY, "--trials", "2", "--max-params", "1",
                                      "--store", str(store)])
    assert result.exit_code == 1 and store.exists()  # the store keeps the failed trials
    assert "over the limit of 1 (--max-params)" in result.stderr
    assert result.stderr.strip().splitlines()[-1].startswith("nasc: error: every trial failed")


def test_text_that_is_not_utf8_is_located(tmp_path: Path) -> None:
    latin = tmp_path / "latin.arch"
    latin.write_bytes(b"conv 3x3 24\nconv 3x3 24 # caf\xe9\n")
    line = one_line_error(run("validate", str(latin)))
    assert line == f"nasc: error: {latin}:2:18: not UTF-8 text (byte 0xe9 at offset 29)"


def test_old_mac_line_endings_separate_lines(tmp_path: Path) -> None:
    source = tmp_path / "cr.arch"
    source.write_bytes(b"conv 3x3 24\rconv 3x3 24 from 1\r")
    assert run("validate", str(source)).output == "ok\n"
    assert one_line_error(run("diff", "-", "-"), code=2).endswith("stdin ('-') can be read once")


def test_devices_torch_knows_but_children_cannot_use_and_seeds_out_of_range(tmp_path: Path
                                                                             ) -> None:
    store = tmp_path / "s.db"
    line = one_line_error(run("search", "--device", "meta", "--store", str(store), *TINY))
    assert "networks train on cpu, cuda or mps" in line and not store.exists()
    for command in (["sample"], ["search", "--store", str(store), *TINY]):
        result = run(*command, "--seed", str(2**70))
        assert result.exit_code == 2 and "--seed" in result.output
    assert not store.exists()


def test_resuming_a_finished_search_says_there_is_nothing_to_run(tmp_path: Path) -> None:
    store = str(tmp_path / "s.db")
    assert run("search", "--store", store, *TINY).exit_code == 0
    again = run("search", "--store", store, "--resume", *TINY)
    assert again.exit_code == 0 and "nothing to run: the store holds 1 finished" in again.stderr
