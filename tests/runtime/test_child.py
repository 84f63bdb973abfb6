"""Child training on real data: the rewards and the guard rails."""

from __future__ import annotations

import math

import pytest
import torch
from runtime_helpers import PTB

from nasc.runtime.child import TrainConfig, TrialSpec, run_trial

ARCH = "conv 3x3 24; conv 3x3 24 from 1; maxpool 3x3 stride 2 from 1,2"
FIG5 = "rnn base 2; 0: add tanh; 1: mul relu; 2: mul sigmoid; inject 0: add relu; cell 1"


def test_cnn_reward_is_max_recent_accuracy_cubed() -> None:
    torch.set_num_threads(1)
    cfg = TrainConfig(epochs=3, reward_epochs=2, max_batches=6)
    result = run_trial(TrialSpec(1, ARCH, "cnn", "digits", cfg))
    assert result["status"] == "done", result
    accs = [m["valid_acc"] for m in result["metrics"]]
    assert len(accs) == 3 and all(0.0 <= a <= 1.0 for a in accs)
    assert result["reward"] == pytest.approx(max(accs[-2:]) ** 3)
    assert max(accs) > 0.3  # it learns on real digits
    assert result["params"] > 0 and result["macs"] > 0 and result["seconds"] > 0


def test_cnn_training_is_deterministic_per_seed_and_trial() -> None:
    cfg = TrainConfig(epochs=1, max_batches=3)
    a = run_trial(TrialSpec(7, ARCH, "cnn", "digits", cfg, seed=3))
    b = run_trial(TrialSpec(7, ARCH, "cnn", "digits", cfg, seed=3))
    assert a["metrics"][0]["train_loss"] == b["metrics"][0]["train_loss"]


def test_rnn_reward_is_c_over_perplexity_squared() -> None:
    cfg = TrainConfig(epochs=1, max_batches=3, hidden_size=16)
    result = run_trial(TrialSpec(1, FIG5, "rnn", f"ptb:{PTB}", cfg))
    assert result["status"] == "done", result
    ppl = result["metrics"][0]["valid_ppl"]
    assert 1.0 < ppl < 1e5 and math.isfinite(ppl)
    assert result["reward"] == pytest.approx(80.0 / ppl**2)


@pytest.mark.parametrize("fault, config, reason", [
    ("raise", TrainConfig(epochs=1), "RuntimeError: injected fault"),
    ("nan", TrainConfig(epochs=1), "loss is not finite"),
    ("slow", TrainConfig(epochs=50, time_limit=0.3), "over the time limit of 0.3 s"),
    (None, TrainConfig(epochs=1, max_params=1000), "over the limit of 1,000 (--max-params)"),
])
def test_failures_become_results(fault: str | None, config: TrainConfig, reason: str) -> None:
    cfg = TrainConfig(**{**config.__dict__, "failure_reward": -0.5})
    result = run_trial(TrialSpec(2, ARCH, "cnn", "digits", cfg, fault=fault))
    assert result["status"] == "failed"
    assert reason in result["error"]
    assert result["reward"] == -0.5


def test_invalid_architecture_fails_with_the_located_error() -> None:
    result = run_trial(TrialSpec(3, "conv 3x3 24 from 4", "cnn", "digits", TrainConfig()))
    assert result["status"] == "failed" and "4" in result["error"]
