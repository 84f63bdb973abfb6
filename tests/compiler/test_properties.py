"""Property tests: any valid architecture compiles, and agrees with its IR and with a reference."""

from __future__ import annotations

import hypothesis.strategies as st
import torch
from hypothesis import HealthCheck, given, settings
from torch import Tensor

import nasc
from nasc.api import compile_cell, summarize_arch
from nasc.compiler.ast import Inject, Node, RnnCell

SETTINGS = settings(max_examples=20, deadline=None,
                    suppress_health_check=[HealthCheck.too_slow])


@st.composite
def cnn_texts(draw: st.DrawFn) -> str:
    lines = []
    for number in range(1, draw(st.integers(1, 6)) + 1):
        op = draw(st.sampled_from(["conv", "conv", "maxpool", "avgpool"]))
        kh, kw = draw(st.sampled_from([1, 3, 5, 7])), draw(st.sampled_from([1, 3, 5, 7]))
        line = f"{op} {kh}x{kw}"
        if op == "conv":
            line += f" {draw(st.sampled_from([24, 36]))}"
        line += f" stride {draw(st.integers(1, 3))}"
        sources = draw(st.lists(st.integers(1, number - 1), unique=True, max_size=3)
                       if number > 1 else st.just([]))
        if sources:
            line += " from " + ",".join(map(str, sources))
        lines.append(line)
    return "\n".join(lines)


@SETTINGS
@given(text=cnn_texts(), channels=st.integers(1, 3), height=st.integers(1, 12),
       width=st.integers(1, 12))
def test_any_cnn_compiles_and_matches_its_counts(text: str, channels: int, height: int,
                                                 width: int) -> None:
    shape = (channels, height, width)
    info = summarize_arch(text, input_shape=shape, num_classes=3)
    net = nasc.compile(text, input_shape=shape, num_classes=3)
    assert sum(p.numel() for p in net.parameters()) == info.params == net.nasc.params
    shapes: dict[str, tuple[int, ...]] = {}
    hooks = [module.register_forward_hook(
        lambda m, i, o, name=name: shapes.__setitem__(name, tuple(o.shape[1:])))
        for name, module in net.named_children()]
    out = net(torch.randn(2, *shape))
    for hook in hooks:
        hook.remove()
    assert out.shape == (2, 3)
    ir = net.nasc.ir
    for n in ir.order():  # every submodule's real output shape is the one the IR inferred
        if ir.node(n)["name"] in shapes:
            assert shapes[ir.node(n)["name"]] == ir.shape(n)


ACTS = {"identity": lambda v: v, "tanh": torch.tanh, "relu": torch.relu,
        "sigmoid": torch.sigmoid}
COMBINE = {"add": torch.add, "mul": torch.mul}


def reference_step(cell: RnnCell, x: Tensor, h: Tensor, c: Tensor, W: Tensor, U: Tensor
                   ) -> tuple[Tensor, Tensor]:
    """The cell rules read off the language reference, evaluated recursively from the root."""
    xs, hs = (x @ W).chunk(cell.base, dim=1), (h @ U).chunk(cell.base, dim=1)
    pre: dict[int, Tensor] = {}

    def value(i: int) -> Tensor:
        node, kids = cell.nodes[i], cell.children(i)
        left, right = (xs[i], hs[i]) if kids is None else (value(kids[0]), value(kids[1]))
        pre[i] = COMBINE[node.combine](left, right)
        out = ACTS[node.activation](pre[i])
        if i == cell.inject.node:
            out = ACTS[cell.inject.activation](COMBINE[cell.inject.combine](out, c))
        return out

    h_t = value(len(cell.nodes) - 1)
    return h_t, pre[cell.cell]


@st.composite
def cells(draw: st.DrawFn) -> RnnCell:
    base = draw(st.sampled_from([2, 8]))
    node = st.builds(Node, st.sampled_from(list(COMBINE)), st.sampled_from(list(ACTS)))
    nodes = tuple(draw(st.lists(node, min_size=2 * base - 1, max_size=2 * base - 1)))
    index = st.integers(0, 2 * base - 2)
    inject = Inject(draw(index), draw(st.sampled_from(list(COMBINE))),
                    draw(st.sampled_from(list(ACTS))))
    return RnnCell(base, nodes, inject, draw(index))


@SETTINGS
@given(cell=cells())
def test_any_cell_matches_the_reference(cell: RnnCell) -> None:
    module = compile_cell(str(cell), input_size=3, hidden_size=4)
    W, U = module.W.weight.detach().T, module.U.weight.detach().T
    torch.manual_seed(0)
    h = c = torch.randn(2, 4) * 0.5
    h_ref, c_ref = h, c
    for x in torch.randn(4, 2, 3):
        _, (h, c) = module(x, (h, c))
        h_ref, c_ref = reference_step(cell, x, h_ref, c_ref, W, U)
        assert torch.allclose(h, h_ref, atol=1e-5) and torch.allclose(c, c_ref, atol=1e-5)
