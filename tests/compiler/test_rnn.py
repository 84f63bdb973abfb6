"""Compiled recurrent cells against straightforward implementations of their equations."""

from __future__ import annotations

from pathlib import Path

import pytest
import torch
from torch import Tensor

import nasc
from nasc.api import compile_cell, compile_lm
from nasc.errors import NascError

EXAMPLES = Path(__file__).resolve().parents[2] / "examples"
NASCELL = (EXAMPLES / "nascell.arch").read_text()
FIGURE5 = (EXAMPLES / "figure5.arch").read_text()
I, N, B, T = 5, 6, 3, 7  # noqa: E741  (the issue names them I and N)
sig, tanh, relu = torch.sigmoid, torch.tanh, torch.relu


def nascell_step(x: Tensor, h: Tensor, c: Tensor, W: Tensor, U: Tensor) -> tuple[Tensor, Tensor]:
    """The NASCell equations exactly as the issue writes them."""
    xs, hs = (x @ W).chunk(8, dim=1), (h @ U).chunk(8, dim=1)
    l1 = [sig(xs[0] + hs[0]), relu(xs[1] + hs[1]), sig(xs[2] + hs[2]), relu(xs[3] * hs[3]),
          tanh(xs[4] + hs[4]), sig(xs[5] + hs[5]), tanh(xs[6] + hs[6]), sig(xs[7] + hs[7])]
    l2 = [tanh(l1[0] * l1[1]), tanh(l1[2] + l1[3]), tanh(l1[4] * l1[5]), sig(l1[6] + l1[7])]
    l2_0 = tanh(l2[0] + c)  # inject 8: add tanh
    c_t = l2_0 * l2[1]  # cell 12: node 12 before its (identity) activation
    h_t = tanh(c_t * tanh(l2[2] + l2[3]))
    return h_t, c_t


def figure5_step(x: Tensor, h: Tensor, c: Tensor, W: Tensor, U: Tensor) -> tuple[Tensor, Tensor]:
    """rnn base 2; 0: add tanh; 1: mul relu; 2: mul sigmoid; inject 0: add relu; cell 1"""
    xs, hs = (x @ W).chunk(2, dim=1), (h @ U).chunk(2, dim=1)
    a0 = relu(tanh(xs[0] + hs[0]) + c)  # node 0, then the inject
    c_t = xs[1] * hs[1]  # node 1 before its activation
    a1 = relu(c_t)
    return sig(a0 * a1), c_t


@pytest.mark.parametrize(("text", "step", "base"), [(NASCELL, nascell_step, 8),
                                                   (FIGURE5, figure5_step, 2)],
                         ids=["nascell", "figure5"])
def test_cell_follows_its_equations_step_by_step(text: str, step: object, base: int) -> None:
    torch.manual_seed(0)
    cell = compile_cell(text, input_size=I, hidden_size=N)
    assert sum(p.numel() for p in cell.parameters()) == base * N * (I + N) == cell.nasc.params
    W, U = cell.W.weight.detach().T, cell.U.weight.detach().T  # (I, base*N), (N, base*N)
    h = c = torch.randn(B, N)
    h_ref, c_ref = h, c
    for x in torch.randn(T, B, I):
        out, (h, c) = cell(x, (h, c))
        h_ref, c_ref = step(x, h_ref, c_ref, W, U)  # type: ignore[operator]
        assert out is h
        assert torch.allclose(h, h_ref, atol=1e-6)
        assert torch.allclose(c, c_ref, atol=1e-6)


def test_sequence_module_has_the_lstm_convention() -> None:
    torch.manual_seed(0)
    rnn = nasc.compile(NASCELL, input_size=I, hidden_size=N, num_layers=2)
    assert rnn.nasc.params == 8 * N * (I + N)  # one cell of the first layer
    total = 8 * N * (I + N) + 8 * N * (N + N)
    assert sum(p.numel() for p in rnn.parameters()) == total == rnn.nasc.to_json()["total_params"]
    seq = torch.randn(T, B, I)
    h0, c0 = torch.randn(2, B, N), torch.randn(2, B, N)
    output, (h_n, c_n) = rnn(seq, (h0, c0))
    assert output.shape == (T, B, N) and h_n.shape == c_n.shape == (2, B, N)
    # the same by hand: layer by layer, step by step
    inputs = seq
    for layer, cell in enumerate(rnn.cells):
        h, c, steps = h0[layer], c0[layer], []
        for x in inputs:
            h_ref, c_ref = nascell_step(x, h, c, cell.W.weight.T, cell.U.weight.T)
            h, c = h_ref, c_ref
            steps.append(h)
        inputs = torch.stack(steps)
        assert torch.allclose(h_n[layer], h, atol=1e-6)
        assert torch.allclose(c_n[layer], c, atol=1e-6)
    assert torch.allclose(output, inputs, atol=1e-6)


def test_sequence_defaults_zero_state_and_batch_first() -> None:
    from nasc.compiler.rnn_modules import NascRNN

    rnn = nasc.compile(FIGURE5, input_size=I, hidden_size=N)
    seq = torch.randn(T, B, I)
    zeros = torch.zeros(1, B, N)
    assert torch.allclose(rnn(seq)[0], rnn(seq, (zeros, zeros))[0])
    first = NascRNN(list(rnn.cells), N, batch_first=True)
    assert torch.allclose(first(seq.transpose(0, 1))[0].transpose(0, 1), rnn(seq)[0])


def test_language_model_ties_weights_and_trains() -> None:
    torch.manual_seed(0)
    lm = compile_lm(FIGURE5, vocab_size=11, hidden_size=8, num_layers=2, dropout=0.1,
                    tie_weights=True)
    assert lm.decoder.weight is lm.embedding.weight
    tokens = torch.randint(0, 11, (T, B))
    logits, (h_n, _) = lm(tokens)
    assert logits.shape == (T, B, 11) and h_n.shape == (2, B, 8)
    loss = torch.nn.functional.cross_entropy(logits.reshape(-1, 11), tokens.reshape(-1))
    loss.backward()
    assert lm.rnn.cells[0].W.weight.grad is not None
    with pytest.raises(NascError, match="tied weights"):
        compile_lm(FIGURE5, vocab_size=11, embedding_size=4, hidden_size=8, tie_weights=True)


def test_rnn_max_params_counts_every_layer() -> None:
    one = 2 * N * (I + N)
    nasc.compile(FIGURE5, input_size=I, hidden_size=N, max_params=one)
    with pytest.raises(NascError, match="over the limit"):
        nasc.compile(FIGURE5, input_size=I, hidden_size=N, num_layers=2, max_params=one)


def test_cell_exports() -> None:
    cell = compile_cell(NASCELL, input_size=I, hidden_size=N)
    x, h, c = torch.randn(B, I), torch.randn(B, N), torch.randn(B, N)
    program = torch.export.export(cell, (x, (h, c)))
    ours, theirs = program.module()(x, (h, c)), cell(x, (h, c))
    assert torch.allclose(ours[0], theirs[0], atol=1e-6)
    assert torch.allclose(ours[1][1], theirs[1][1], atol=1e-6)


def test_device_is_passed_through() -> None:
    rnn = nasc.compile(NASCELL, hidden_size=N, num_layers=2, device="meta")
    assert {p.device.type for p in rnn.parameters()} == {"meta"}
    output, (h_n, _) = rnn(torch.empty(T, B, N, device="meta"))
    assert output.shape == (T, B, N) and h_n.device.type == "meta"
    cnn = nasc.compile("conv 3x3 24; maxpool 3x3 stride 2", device="meta")
    assert {p.device.type for p in cnn.parameters()} == {"meta"}
    assert cnn(torch.empty(2, 3, 32, 32, device="meta")).shape == (2, 10)
