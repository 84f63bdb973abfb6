"""`nasc compile` and `nasc diff` through click's CliRunner."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import numpy as np
import pytest
import torch
from click.testing import CliRunner, Result

import nasc
from nasc.cli import cli

EXAMPLES = Path(__file__).resolve().parents[2] / "examples"
PAPER = str(EXAMPLES / "paper_cnn.arch")
DEEP = str(EXAMPLES / "deep_skip.arch")
NASCELL = str(EXAMPLES / "nascell.arch")
FIGURE5 = str(EXAMPLES / "figure5.arch")


def run(*args: str, stdin: str | None = None) -> Result:
    return CliRunner().invoke(cli, list(args), input=stdin)


def assert_one_line_error(result: Result, text: str) -> None:
    assert result.exit_code == 1
    assert result.exception is None or isinstance(result.exception, SystemExit)
    assert result.stderr.strip().splitlines() == [result.stderr.strip()]
    assert text in result.stderr and "Traceback" not in result.output


def test_table_by_default() -> None:
    result = run("compile", DEEP)
    assert result.exit_code == 0, result.output
    lines = result.output.splitlines()
    assert lines[0].split() == ["layer", "op", "inputs", "output", "params", "MACs"]
    assert lines[2].split()[:5] == ["1", "conv", "3x3", "24", "image"]
    assert lines[-1].split() == ["total", "10", "34,174", "31,044,040"]


def test_json_schema() -> None:
    result = run("compile", PAPER, "--json", "--input", "1x8x8", "--classes", "4")
    data = json.loads(result.output)
    assert set(data) == {"space", "params", "macs", "input_shape", "output_shape", "layers"}
    assert (data["space"], data["input_shape"], data["output_shape"]) == ("cnn", [1, 8, 8], [4])
    assert data["params"] == sum(p.numel() for p in nasc.compile(
        PAPER, input_shape=(1, 8, 8), num_classes=4).parameters())
    assert [row["index"] for row in data["layers"]] == [1, 2, 3, 4, 5, 6]
    assert data["layers"][2] == {"index": 3, "op": "conv", "inputs": [1, 2],
                                 "output_shape": [36, 4, 4], "params": 75600 + 72,
                                 "macs": 75600 * 16}
    for row in data["layers"]:
        assert set(row) == {"index", "op", "inputs", "output_shape", "params", "macs"}


def test_json_rnn() -> None:
    result = run("compile", NASCELL, "--json", "--input-size", "5", "--hidden-size", "6")
    data = json.loads(result.output)
    assert (data["space"], data["params"], data["input_size"], data["hidden_size"]) == \
        ("rnn", 8 * 6 * (5 + 6), 5, 6)
    assert len(data["layers"]) == 15 and data["layers"][8]["inject"] == "add tanh"
    assert data["layers"][12]["cell"] is True


def test_emit_ir_and_python(tmp_path: Path) -> None:
    ir = run("compile", PAPER, "--emit", "ir")
    assert ir.output.startswith("# nasc ir (cnn)\n%0 = input()")
    out = tmp_path / "net.py"
    result = run("compile", PAPER, "--emit", "python", "-o", str(out))
    assert result.exit_code == 0 and "total" in result.stdout  # the table still prints
    assert "    def forward(self, x):" in out.read_text()
    cell = run("compile", FIGURE5, "--emit", "python", "--hidden-size", "4")
    assert "n0_inject_add = n0_tanh + c_prev" in cell.output


@pytest.mark.parametrize(("arch", "args"), [(DEEP, ["--input", "3x8x8"]),
                                            (NASCELL, ["--input-size", "3", "--hidden-size", "4"])])
def test_emitted_python_is_a_standalone_module(tmp_path: Path, arch: str, args: list[str]
                                               ) -> None:
    source = run("compile", arch, *args, "--emit", "python").output
    namespace: dict[str, object] = {}
    exec(compile(source, "generated.py", "exec"), namespace)
    compiled = nasc.compile(arch, input_shape=(3, 8, 8), input_size=3, hidden_size=4)
    if arch == DEEP:
        hand, ref, inputs = namespace["NascNet"](), compiled, (torch.randn(2, 3, 8, 8),)
    else:
        hand, ref = namespace["NascCell"](), compiled.cells[0]
        inputs = (torch.randn(2, 3), (torch.randn(2, 4), torch.randn(2, 4)))
    hand.load_state_dict(ref.state_dict())
    torch.testing.assert_close(hand(*inputs), ref(*inputs))


def test_emit_exported(tmp_path: Path) -> None:
    out = tmp_path / "net.pt2"
    result = run("compile", PAPER, "--input", "1x8x8", "--emit", "exported", "-o", str(out))
    assert result.exit_code == 0, result.output
    program = torch.export.load(str(out))
    assert program.module()(torch.randn(5, 1, 8, 8)).shape == (5, 10)


def test_emit_onnx_of_a_cell_runs_in_onnxruntime(tmp_path: Path) -> None:
    onnxruntime = pytest.importorskip("onnxruntime")  # an extra: nasc[test]

    out = tmp_path / "cell.onnx"
    result = run("compile", FIGURE5, "--input-size", "3", "--hidden-size", "4",
                 "--emit", "onnx", "-o", str(out))
    assert result.exit_code == 0, result.output
    session = onnxruntime.InferenceSession(str(out))
    sizes = [3, 4, 4]  # x_t, h, c
    feeds = {i.name: np.random.randn(2, size).astype(np.float32)
             for i, size in zip(session.get_inputs(), sizes, strict=True)}
    h_t = session.run(None, feeds)[0]
    assert h_t.shape == (2, 4) and np.isfinite(h_t).all()


def test_onnx_matches_pytorch(tmp_path: Path) -> None:
    onnxruntime = pytest.importorskip("onnxruntime")  # an extra: nasc[test]

    from nasc.compiler.export import save_onnx

    module = nasc.compile(DEEP, input_shape=(3, 8, 8)).eval()
    out = tmp_path / "net.onnx"
    save_onnx(module, module.nasc.ir, out)
    x = torch.randn(4, 3, 8, 8)
    session = onnxruntime.InferenceSession(str(out))
    got = session.run(None, {session.get_inputs()[0].name: x.numpy()})[0]
    np.testing.assert_allclose(got, module(x).detach().numpy(), atol=1e-5)


def test_graph_dot(tmp_path: Path) -> None:
    out = tmp_path / "net.dot"
    assert run("compile", DEEP, "--graph", str(out)).exit_code == 0
    text = out.read_text()
    assert text.startswith("digraph nasc {") and "n7 -> n8;" in text
    assert 'label="layer3_pad2\\npad [36,32,32]"' in text


@pytest.mark.skipif(shutil.which("dot") is not None, reason="Graphviz is installed")
def test_graph_png_without_graphviz_is_one_line(tmp_path: Path) -> None:
    assert_one_line_error(run("compile", DEEP, "--graph", str(tmp_path / "n.png")), "Graphviz")


def test_max_params_refuses() -> None:
    assert_one_line_error(run("compile", PAPER, "--max-params", "1000"),
                          "103,102 parameters, over the limit of 1,000")
    assert run("compile", PAPER, "--max-params", "103102").exit_code == 0


def test_invalid_text_gets_located_errors_like_validate() -> None:
    result = run("compile", "-", stdin="conv 3x3 24\nconv 3x3 24 from 3\n")
    assert result.exit_code == 1
    assert result.stderr.startswith("<stdin>:2:18: error: layer 2 cannot read layer 3")
    assert run("validate", "-", stdin="conv 3x3 24\nconv 3x3 24 from 3\n").stderr == \
        result.stderr


@pytest.mark.parametrize(("args", "message"), [
    (["--graph", "net.pdf"], "write a .dot, .png or .svg file"),
])
def test_bad_options_are_one_line(args: list[str], message: str) -> None:
    assert_one_line_error(run("compile", PAPER, *args), message)


@pytest.mark.parametrize(("args", "message"), [
    (["--emit", "onnx"], "give -o OUT"),
    (["--emit", "ir", "--json"], "give -o OUT"),
    (["-o", "out.txt"], "-o is where --emit writes"),
    (["--space", "nosuchspace"], "unknown space 'nosuchspace'"),
])
def test_option_conflicts_are_usage_errors(args: list[str], message: str) -> None:
    result = run("compile", PAPER, *args)
    assert result.exit_code == 2 and message in result.stderr, result.output


def test_missing_file_is_one_line() -> None:
    assert_one_line_error(run("compile", "no/such.arch"), "cannot read")


def test_diff_cnn() -> None:
    result = run("diff", PAPER, DEEP)
    assert result.exit_code == 0
    lines = result.output.splitlines()
    assert "layer 2: from: 1 -> image" in lines
    assert "layer 5: only in B: conv 1x1 64 from 3" in lines
    assert "head: reads: 4 -> 4,5,6" in lines
    assert "total: params: 103,102 -> 34,174 (-68,928)" in lines
    assert run("diff", PAPER, PAPER).output == "identical\n"


def test_diff_json_and_rnn(tmp_path: Path) -> None:
    other = tmp_path / "b.arch"
    other.write_text(Path(FIGURE5).read_text().replace("cell 1", "cell 0"))
    data = json.loads(run("diff", FIGURE5, str(other), "--json").output)
    assert data["identical"] is False
    assert {"where": "cell", "what": "c_t from node", "a": 1, "b": 0} in data["changes"]
    text = run("diff", FIGURE5, str(other)).output.splitlines()
    assert "cell: c_t from node: 1 -> 0" in text  # an index: no "(-1)" arithmetic
    assert_one_line_error(run("diff", PAPER, NASCELL), "diff compares architectures of one kind")


def test_options_for_the_other_kind_of_network_get_a_note() -> None:
    result = run("compile", NASCELL, "--classes", "5")
    assert result.exit_code == 0
    assert "nasc: note: --classes applies to cnn networks only; ignored" in result.stderr
    cnn = run("compile", PAPER, "--hidden-size", "8", "--classes", "5")
    assert cnn.stderr.strip() == "nasc: note: --hidden-size applies to rnn networks only; ignored"
