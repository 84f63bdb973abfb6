"""The built-in `cnn` written as data (tests/spaces/fixtures/cnn_as_data.lark: layer-mode
cells, no cnn-specific lowering) compiles every architecture to the same network as the
built-in cnn lowering: equal parameter counts and equal outputs with the weights copied.
This is the path by which the built-in spaces move onto the generic lowering."""

from __future__ import annotations

from pathlib import Path

import torch
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

import nasc

from .references import copy_by_order

AS_DATA = str(Path(__file__).parent / "fixtures" / "cnn_as_data.lark")

LAYER = st.tuples(st.sampled_from(["conv", "maxpool", "avgpool"]),
                  st.sampled_from([1, 3, 5, 7]), st.sampled_from([1, 3, 5, 7]),
                  st.sampled_from([24, 36]), st.sampled_from([1, 2, 3]))


@st.composite
def cnn_texts(draw: st.DrawFn) -> str:
    layers = draw(st.lists(LAYER, min_size=1, max_size=5))
    lines = []
    for i, (op, h, w, filters, stride) in enumerate(layers, start=1):
        line = f"{op} {h}x{w}" + (f" {filters}" if op == "conv" else "")
        line += f" stride {stride}" if stride != 1 else ""
        inputs = draw(st.lists(st.integers(1, i - 1), unique=True, max_size=3)) if i > 1 else []
        lines.append(line + (" from " + ",".join(map(str, inputs)) if inputs else ""))
    return "; ".join(lines)


@settings(max_examples=25, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(text=cnn_texts())
def test_cnn_as_data_equals_the_builtin_cnn(text: str) -> None:
    builtin = nasc.compile(text, space="cnn", input_shape=(3, 12, 12), num_classes=5)
    as_data = nasc.compile(text, space=AS_DATA, input_shape=(3, 12, 12), num_classes=5)
    assert as_data.nasc.params == builtin.nasc.params
    assert as_data.nasc.macs == builtin.nasc.macs
    copy_by_order(builtin, as_data)
    builtin.eval()
    as_data.eval()
    x = torch.randn(2, 3, 12, 12)
    with torch.no_grad():
        torch.testing.assert_close(as_data(x), builtin(x))
