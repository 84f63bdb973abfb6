"""The Python API refuses what a user can get wrong with one-line NascErrors, not deep
torch exceptions (wrong types, unknown devices, paths that are not there)."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

import pytest

import nasc
from nasc.api import compile_cell, compile_lm
from nasc.errors import NascError

CNN = "conv 3x3 36; conv 3x5 48 from 1"
CELL = str(Path(__file__).resolve().parents[2] / "examples" / "nascell.arch")


@pytest.mark.parametrize(("call", "message"), [
    (lambda: nasc.compile(CNN, device="bogus"), "device 'bogus'"),
    (lambda: nasc.compile(CNN, device="ipu"), "networks run on cpu, cuda, mps or meta"),
    (lambda: nasc.compile(CNN, num_classes=2.5), "number of classes must be an integer"),
    (lambda: nasc.compile(CNN, num_classes=True), "number of classes must be an integer"),
    (lambda: nasc.compile(CNN, num_classes="10"), "number of classes must be an integer"),
    (lambda: nasc.compile(CNN, input_shape=(3.0, 32, 32)), "three positive sizes"),
    (lambda: nasc.compile(CNN, max_params="100"), "--max-params must be an integer"),
    (lambda: nasc.compile(CELL, input_size=4, hidden_size=4.5), "hidden size must be an int"),
    (lambda: nasc.compile(CELL, num_layers=2.0), "number of layers must be an integer"),
    (lambda: compile_cell(CELL, device="bogus"), "device 'bogus'"),
    (lambda: nasc.compile(42), "not int"),
    (lambda: nasc.compile(b"conv 3x3 36"), "not bytes"),
    (lambda: nasc.compile("/no/such.arch"), "/no/such.arch: no such file"),
    (lambda: compile_lm(CELL, 0, embedding_size=4, hidden_size=4),
     "vocabulary size must be an integer of at least 1, got 0"),
])
def test_api_misuse_is_a_one_line_nasc_error(call: Callable[[], object], message: str) -> None:
    with pytest.raises(NascError, match=message) as info:
        call()
    assert "\n" not in str(info.value)


def test_cuda_is_refused_in_one_line_where_there_is_none() -> None:
    import torch

    if torch.cuda.is_available():
        pytest.skip("this machine has CUDA")
    with pytest.raises(NascError, match="CUDA is not available on this machine"):
        nasc.compile(CNN, device="cuda")


def test_language_model_limit_counts_embedding_and_decoder() -> None:
    """compile_lm checks --max-params on the whole model (cells, embedding, decoder), before
    any weight exists: the limit one below the real count is refused, the count itself is not."""
    cell = "rnn base 2; 0: add tanh; 1: mul relu; 2: add sigmoid; inject 0: add relu; cell 1"
    model = compile_lm(cell, 50, hidden_size=8, num_layers=2)
    total = sum(p.numel() for p in model.parameters())
    assert compile_lm(cell, 50, hidden_size=8, num_layers=2, max_params=total) is not None
    with pytest.raises(NascError, match=f"network has {total:,} parameters, over the limit"):
        compile_lm(cell, 50, hidden_size=8, num_layers=2, max_params=total - 1)
