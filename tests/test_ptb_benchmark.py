"""benchmarks/ptb_search.py: its LSTM string is an LSTM, its table and search summary."""

from __future__ import annotations

import importlib.util
import sys
from pathlib import Path
from types import SimpleNamespace

import pytest
import torch

import nasc.api as api

SCRIPT = Path(__file__).resolve().parents[1] / "benchmarks" / "ptb_search.py"


@pytest.fixture(scope="module")
def bench():
    spec = importlib.util.spec_from_file_location("ptb_search", SCRIPT)
    module = importlib.util.module_from_spec(spec)
    sys.modules["ptb_search"] = module  # its dataclasses look their module up
    spec.loader.exec_module(module)
    yield module
    sys.modules.pop("ptb_search", None)


def test_lstm_string_computes_an_lstm(bench):
    """The rnn-language LSTM equals torch's LSTMCell (no biases: the language has none),
    with the gates' weights the sums of the leaves that feed them."""
    torch.manual_seed(0)
    n = 4
    cell = api.compile_cell(bench.LSTM, input_size=3, hidden_size=n)
    w, u = cell.W.weight.detach(), cell.U.weight.detach()

    def gates(m):  # torch's order i, f, g, o from leaves 2, 0+1, 3, 4+5+6+7
        leaf = [m[k * n:(k + 1) * n] for k in range(8)]
        return torch.cat([leaf[2], leaf[0] + leaf[1], leaf[3], sum(leaf[4:])])

    ref = torch.nn.LSTMCell(3, n, bias=False)
    with torch.no_grad():
        ref.weight_ih.copy_(gates(w))
        ref.weight_hh.copy_(gates(u))
    x, h, c = torch.randn(5, 3), torch.randn(5, n), torch.randn(5, n)
    h_t, (_, c_t) = cell(x, (h, c))
    h_ref, c_ref = ref(x, (h, c))
    torch.testing.assert_close(h_t, h_ref)
    torch.testing.assert_close(c_t, c_ref)


def test_nascell_is_the_example(bench):
    assert bench.NASCELL.strip().splitlines()[-1].startswith("rnn base 8; 0: add sigmoid")


def test_table_statistics(bench):
    runs = [{"cell": "a", "valid_ppl": p, "params": 10, "seconds": 2.0} for p in (100, 110, 120)]
    runs.append({"cell": "b", "valid_ppl": 90.0, "params": 7, "seconds": 1.0})
    rows = bench.table(runs)
    assert [r["cell"] for r in rows] == ["a", "b"]
    assert rows[0]["mean_ppl"] == 110 and rows[0]["std_ppl"] == 10
    assert (rows[0]["min_ppl"], rows[0]["max_ppl"], rows[0]["seeds"]) == (100, 120, 3)
    assert rows[1]["std_ppl"] == 0.0 and rows[1]["failed"] == 0


def test_table_counts_a_diverged_run_apart(bench):
    runs = [{"cell": "a", "valid_ppl": p, "params": 10, "seconds": 2.0} for p in (100, 120)]
    runs.append({"cell": "a", "valid_ppl": float("inf"), "params": None, "seconds": None})
    runs.append({"cell": "b", "valid_ppl": float("inf"), "params": None, "seconds": None})
    a, b = bench.table(runs)
    assert (a["seeds"], a["failed"], a["mean_ppl"], a["params"]) == (2, 1, 110, 10)
    assert (b["seeds"], b["failed"], b["params"], b["seconds"]) == (0, 1, None, None)


def test_search_summary_picks_by_validation_perplexity(bench):
    def trial(id, status, ppl=None, reused=None, error=None):
        metrics = {} if ppl is None else {"perplexity": ppl}
        return SimpleNamespace(id=id, arch=f"cell {id}", status=status, metrics=metrics,
                               reused_from=reused, error=error, params=id)

    trials = [trial(1, "done", 300.0), trial(2, "failed", error="loss is not finite"),
              trial(3, "done", 200.0, reused=4), trial(4, "done", 200.0), trial(5, "done", 250.0)]
    found = bench.summarize_search(trials, 12.5)
    assert [t["id"] for t in found["top"]] == [4, 5, 1]  # the reused copy is not a pick
    assert (found["done"], found["failed"], found["reused"]) == (4, 1, 1)
    assert found["errors"] == ["loss is not finite"] and found["wall_seconds"] == 12.5
