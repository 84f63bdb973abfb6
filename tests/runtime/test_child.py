"""Child training on real data: the rewards and the guard rails."""

from __future__ import annotations

import math

import pytest
import torch
from runtime_helpers import PTB

from nasc.runtime.child import TrainConfig, TrialSpec, run_trial
from nasc.runtime.data import load_data

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


def test_cnn_reward_reads_only_the_last_reward_epochs() -> None:
    """Guards against taking the best accuracy over all epochs (or the first ones, the last
    alone, or their mean): a learning rate of 2 makes this child's accuracy peak at
    epoch 2 of 4 and fall, so each of those gives another reward."""
    torch.set_num_threads(1)
    cfg = TrainConfig(epochs=4, reward_epochs=2, max_batches=6, lr=2.0)
    result = run_trial(TrialSpec(1, ARCH, "cnn", "digits", cfg))
    assert result["status"] == "done", result
    accs = [m["valid_acc"] for m in result["metrics"]]
    assert [m["epoch"] for m in result["metrics"]] == [1, 2, 3, 4]
    # the premise: the best epoch lies outside the last two, and they differ
    assert max(accs[:2]) > max(accs[2:]) and accs[2] != accs[3]
    assert result["reward"] == pytest.approx(max(accs[2:]) ** 3, rel=1e-12)


def test_cnn_training_is_deterministic_per_seed_and_trial() -> None:
    cfg = TrainConfig(epochs=1, max_batches=3)
    a = run_trial(TrialSpec(7, ARCH, "cnn", "digits", cfg, seed=3))
    b = run_trial(TrialSpec(7, ARCH, "cnn", "digits", cfg, seed=3))
    assert a["metrics"][0]["train_loss"] == b["metrics"][0]["train_loss"]


def test_rnn_reward_is_c_over_perplexity_squared() -> None:
    """Zoph & Le's 80 / ppl^2 on the last epoch's validation perplexity, trained on the small
    PTB-format corpus the tests carry."""
    torch.set_num_threads(1)
    cfg = TrainConfig(epochs=2, max_batches=3, hidden_size=16, bptt=10, lr=1.0)
    result = run_trial(TrialSpec(1, FIG5, "rnn", f"ptb:{PTB}", cfg))
    assert result["status"] == "done", result
    first, last = (m["valid_ppl"] for m in result["metrics"])
    vocab = len(load_data(f"ptb:{PTB}").vocab)
    assert math.isfinite(last) and 1.0 < last < vocab  # better than chance: it learns
    assert first != last
    assert result["reward"] == pytest.approx(80.0 / last**2, rel=1e-9)


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
    assert result["status"] == "failed" and result["reward"] == 0.0
    assert result["error"].startswith("ArchError: <string>:1:18: error: layer 1 cannot read "
                                      "layer 4: `from` names earlier layers only")
