"""The pipeline's checks: what a normal compile verifies, what the debug mode adds."""

from __future__ import annotations

import pytest

from nasc.compiler import ir
from nasc.compiler.ir import Graph, IRError, verify
from nasc.compiler.pipeline import run_passes


def _graph(**conv: object) -> Graph:
    graph = Graph("cnn")
    x = graph.add("input", name="x", shape=(3, 8, 8))
    c = graph.add("conv", x, kernel=(3, 3), padding=(1, 1), stride=1, filters=4, **conv)
    graph.add("output", c)
    return graph


def test_remembered_checks_tell_true_from_one() -> None:
    verify(_graph(bias=True))  # passes, and is remembered
    with pytest.raises(IRError, match="bias=1 is not of type bool"):
        verify(_graph(bias=1))  # equal to True as a key, but not a bool


@pytest.mark.parametrize("debug", [False, True])
def test_a_pass_that_breaks_the_ir_is_caught(monkeypatch: pytest.MonkeyPatch,
                                             debug: bool) -> None:
    def breaks(graph: Graph) -> Graph:
        graph.add("relu", graph.find("conv")[0])  # a result nobody reads
        return graph

    monkeypatch.setattr(ir, "DEBUG_CHECKS", debug)
    with pytest.raises(IRError, match="never used"):
        run_passes(_graph(), [("breaks", breaks), ("fine", lambda g: g)])


def test_order_puts_inserted_nodes_before_their_user() -> None:
    graph = _graph()
    conv, out = graph.find("conv")[0], graph.find("output")[0]
    assert graph.order() == [0, conv, out]
    relu = graph.add("relu", conv, before=out)
    assert graph.order() == [0, conv, relu, out]
