"""Compiled CNNs against hand-written PyTorch: parameters, shapes and outputs agree."""

from __future__ import annotations

from pathlib import Path

import pytest
import torch
from cnn_handwritten import (
    Asymmetric,
    DeepSkip,
    EvenKernel,
    Paper,
    PoolFirst,
    StridePad,
    UnconnectedHead,
)
from torch import nn

import nasc

EXAMPLES = Path(__file__).resolve().parents[2] / "examples"

CASES = [
    ("conv 3x3 24; conv 5x5 36 stride 2; conv 3x3 48 from 1,2", StridePad),
    ((EXAMPLES / "deep_skip.arch").read_text(), DeepSkip),
    ("conv 1x7 24; conv 7x1 36 from 1; conv 1x1 48 from 1,2", Asymmetric),
    ("conv 3x3 24 stride 3; maxpool 3x3 stride 2 from 1; conv 5x5 36; "
     "avgpool 5x5 stride 3 from 3", UnconnectedHead),
    ("maxpool 3x3 stride 2; conv 3x3 24 from 1; avgpool 1x1 from 2; "
     "conv 3x5 36 stride 2 from 1,3", PoolFirst),
    ((EXAMPLES / "paper_cnn.arch").read_text(), Paper),
]
SHAPES = [(3, 9, 9), (1, 16, 11)]


def n_params(module: nn.Module) -> int:
    return sum(p.numel() for p in module.parameters())


def assert_equivalent(compiled: nn.Module, hand: nn.Module, shape: tuple[int, ...]) -> None:
    assert n_params(compiled) == n_params(hand) == compiled.nasc.params
    hand.load_state_dict(compiled.state_dict())  # strict: same names, same shapes
    torch.manual_seed(1)
    x = torch.randn(4, *shape)
    for train in (True, False):
        compiled.train(train)
        hand.train(train)
        ours, theirs = compiled(x), hand(x)
        assert ours.shape == theirs.shape
        assert torch.allclose(ours, theirs, atol=1e-6), (ours - theirs).abs().max()


@pytest.mark.parametrize("shape", SHAPES, ids=lambda s: "x".join(map(str, s)))
@pytest.mark.parametrize(("text", "cls"), CASES, ids=lambda c: getattr(c, "__name__", ""))
def test_matches_handwritten(text: str, cls: type[nn.Module], shape: tuple[int, int, int]
                             ) -> None:
    torch.manual_seed(0)
    compiled = nasc.compile(text, input_shape=shape, num_classes=7)
    assert compiled.nasc.output_shape == [7]
    assert_equivalent(compiled, cls(shape[0], 7), shape)


def test_even_kernels_from_a_custom_grammar(tmp_path: Path) -> None:
    grammar = tmp_path / "even.lark"
    grammar.write_text(
        "//% extends = \"cnn\"\n%import cnn (start, KERNEL_HEIGHT, KERNEL_WIDTH, WS, COMMENT)\n"
        "%ignore WS\n%ignore COMMENT\n"
        '%override KERNEL_HEIGHT: "1" | "2" | "3"\n'
        '%override KERNEL_WIDTH: "1" | "2" | "3"\n'
    )
    text = "conv 2x2 24; conv 3x3 24 stride 2 from 1; conv 1x1 36 from 1,2; maxpool 2x2 stride 2 from 1"
    compiled = nasc.compile(text, space=grammar, input_shape=(3, 8, 8), num_classes=5)
    rows = compiled.nasc.layers
    assert rows[0]["output_shape"] == [24, 9, 9]  # (8 + 2*1 - 2) // 1 + 1
    assert rows[1]["output_shape"] == [24, 5, 5]
    assert_equivalent(compiled, EvenKernel(3, 5), (3, 8, 8))


def test_layer_table_matches_the_rules() -> None:
    info = nasc.compile(CASES[1][0], input_shape=(3, 9, 9)).nasc
    shapes = [row["output_shape"] for row in info.layers]
    assert shapes == [[24, 9, 9], [36, 5, 5], [48, 9, 9], [48, 5, 5], [64, 9, 9], [36, 5, 5],
                      [148], [10]]
    assert info.layers[6]["inputs"] == [4, 5, 6]  # the layers no later layer reads
    assert sum(row["params"] for row in info.layers) == info.params
    conv1 = info.layers[0]
    assert conv1["macs"] == 3 * 24 * 9 * 9 * 9


def test_compiles_from_an_ast_and_a_path() -> None:
    from nasc.compiler.frontend import parse

    arch = parse(CASES[5][0]).arch
    by_ast = nasc.compile(arch)
    by_path = nasc.compile(str(EXAMPLES / "paper_cnn.arch"))
    assert by_ast.nasc.params == by_path.nasc.params == n_params(by_path)


def test_generated_code_reads_like_pytorch() -> None:
    code = nasc.compile(CASES[0][0], input_shape=(3, 9, 9)).nasc.code
    assert "layer3_pad2 = torch.nn.functional.pad(layer2_relu, (0, 4, 0, 4))" in code
    assert "layer3_cat = torch.cat([layer1_relu, layer3_pad2], dim = 1)" in code
    assert "layer1_bn = self.layer1_bn(layer1_conv)" in code


def test_torch_export_and_compile_run() -> None:
    torch.set_num_threads(1)
    compiled = nasc.compile(CASES[2][0], input_shape=(1, 8, 8)).eval()
    x = torch.randn(3, 1, 8, 8)
    program = torch.export.export(compiled, (x,))
    assert torch.allclose(program.module()(x), compiled(x), atol=1e-6)
    # inductor (the default backend) takes ~30 s to build C++ kernels on this CPU; aot_eager
    # still runs dynamo tracing and AOT autograd over the generated code
    fast = torch.compile(compiled, backend="aot_eager")
    assert torch.allclose(fast(x), compiled(x), atol=1e-6)
