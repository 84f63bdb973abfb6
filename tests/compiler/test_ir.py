"""The IR: golden text after each pass, verify's invariants, counting without weights."""

from __future__ import annotations

import os
from pathlib import Path

import pytest
import torch

from nasc.api import compile_ir, summarize_arch
from nasc.compiler.ir import Graph, IRError, verify
from nasc.compiler.pipeline import PASS_NAMES
from nasc.errors import NascError

EXAMPLES = Path(__file__).resolve().parents[2] / "examples"
GOLDEN = Path(__file__).parent / "golden"
UPDATE = os.environ.get("NASC_UPDATE_GOLDEN") == "1"

GOLDEN_CASES = [
    ("deep_skip", {"input_shape": (3, 8, 8)}, "lower"),
    ("deep_skip", {"input_shape": (3, 8, 8)}, "shapes"),
    ("deep_skip", {"input_shape": (3, 8, 8)}, "counts"),
    ("figure5", {"input_size": 3, "hidden_size": 4}, "counts"),
]


@pytest.mark.parametrize(("example", "options", "stop"), GOLDEN_CASES,
                         ids=[f"{e}-{s}" for e, _, s in GOLDEN_CASES])
def test_ir_text_after_pass(example: str, options: dict, stop: str) -> None:
    graph = compile_ir(EXAMPLES / f"{example}.arch", stop_after=stop, **options)
    golden = GOLDEN / f"{example}.{stop}.txt"
    if UPDATE:
        golden.write_text(str(graph) + "\n")
    assert str(graph) + "\n" == golden.read_text()


def test_every_pass_name_can_stop_the_pipeline() -> None:
    sizes = [len(compile_ir("conv 3x3 24; conv 3x3 24 stride 2; conv 1x1 24 from 1,2",
                            stop_after=name)) for name in PASS_NAMES]
    assert sizes == [14, 14, 15, 15]  # the pads pass adds one pad node
    with pytest.raises(NascError, match="unknown pass"):
        compile_ir("conv 3x3 24", stop_after="fuse")


def test_factory_names_nodes_uniquely() -> None:
    graph = Graph("cnn")
    x = graph.add("input", name="x", shape=(3, 4, 4))
    a = graph.add("relu", x, name="act")
    b = graph.add("relu", x, name="act")
    assert graph.node(b)["name"] == "act_1"
    graph.add("output", graph.add("concat", a, b))
    verify(graph)
    with pytest.raises(IRError, match="unknown op"):
        graph.add("softmax", x)
    with pytest.raises(IRError, match="does not exist"):
        graph.add("relu", 99)


@pytest.mark.parametrize("breakage", ["arity", "attr", "cycle", "unused", "edges"])
def test_verify_catches_broken_invariants(breakage: str) -> None:
    graph = compile_ir("conv 3x3 24; conv 3x3 36 from 1", input_shape=(3, 8, 8))
    conv = graph.find("conv")[1]
    if breakage == "arity":
        graph.node(conv)["args"] = ()
    elif breakage == "attr":
        del graph.attrs(conv)["kernel"]
    elif breakage == "cycle":
        graph.nx.add_edge(conv, graph.find("input")[0])
    elif breakage == "unused":
        graph.add("relu", conv)
    else:
        graph.nx.remove_edge(graph.args(conv)[0], conv)
    with pytest.raises(IRError):
        verify(graph)


def test_counting_allocates_no_weights(monkeypatch: pytest.MonkeyPatch) -> None:
    def no_weights(*args: object, **kwargs: object) -> None:
        raise AssertionError("a weight was allocated")

    monkeypatch.setattr(torch.nn.Conv2d, "__init__", no_weights)
    monkeypatch.setattr(torch.nn.Linear, "__init__", no_weights)
    lines = ["conv 7x7 64"] + [f"conv 7x7 64 from {','.join(map(str, range(1, i + 1)))}"
                               for i in range(1, 200)]
    info = summarize_arch("\n".join(lines))
    assert info.params > 10**9  # dense connections: far too large to allocate
    import nasc

    with pytest.raises(NascError, match="over the limit of 1,000,000"):
        nasc.compile("\n".join(lines), max_params=1_000_000)


def test_canonical_graph_ignores_names_and_spelling() -> None:
    from nasc.compiler.canonical import canonical_form, form_hash, isomorphic

    a = canonical_form(compile_ir("conv 3x3 24\nconv 5x5 36 from 1  # comment"))
    b = canonical_form(compile_ir("conv 3x3 24; conv 5x5 36 from 1"))
    c = canonical_form(compile_ir("conv 3x3 24; conv 5x5 48 from 1"))
    assert form_hash(a) == form_hash(b) != form_hash(c)
    assert isomorphic(a, b) and not isomorphic(a, c)


def test_rnn_ir_has_fused_projections() -> None:
    graph = compile_ir(EXAMPLES / "nascell.arch", input_size=3, hidden_size=4)
    matmuls = [graph.attrs(n) for n in graph.find("matmul")]
    assert [(m["weight"], m["features"]) for m in matmuls] == [("W", 32), ("U", 32)]
    assert len(graph.find("slice")) == 16
    assert graph.meta["params"] == 8 * 4 * (3 + 4)


def test_arch_hash() -> None:
    from nasc.api import arch_hash

    same = arch_hash("conv 3x3 24\nconv 5x5 36 from 1  # a comment")
    assert same == arch_hash("conv 3x3 24; conv 5x5 36 from 1")
    assert same != arch_hash("conv 3x3 24; conv 5x5 48 from 1")
    assert arch_hash(EXAMPLES / "nascell.arch") != arch_hash(EXAMPLES / "figure5.arch")
